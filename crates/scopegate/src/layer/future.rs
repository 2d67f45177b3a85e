//! [`ResponseFuture`]: a token's first-sight validation, then the inner service's call or the
//! refusal; the verdict is settled by the response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{Covering, Validated, Validation};
use crate::body::AuthBody;
use crate::dpop::DPOP_NONCE_HEADER;
use crate::error::{AuthError, ErrorResponder, ForLayer, Refusal};
use crate::telemetry::PendingVerdict;
use crate::validate::Validator;

pin_project! {
    /// The response future of [`BearerAuthService`].
    ///
    /// # Panics
    /// When polled again after it completed, like every future (tower-http's rule).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // The slow states' payloads are boxed: the future is moved several times per request
        // on its way to the executor, and a cache hit should move a small one.
        Validating {
            validation: Validation,
            pending: Option<Box<(Request<B>, S, Validator)>>,
            responder: Arc<ErrorResponder>,
        },
        Calling {
            #[pin]
            future: S::Future,
            // Settled by the response; `None` once it is.
            verdict: Option<PendingVerdict>,
            // A `DPoP-Nonce` for the response.
            nonce: Option<HeaderValue>,
            // Answers what a guard or extractor refused without the layer's responder.
            covering: Covering,
        },
        Refused {
            response: Option<Box<Response<Full<Bytes>>>>,
        },
    }
}

impl<S: Service<Request<B>>, B> fmt::Debug for ResponseFuture<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S: Service<Request<B>>, B> ResponseFuture<S, B> {
    pub(super) fn validating(
        validation: Validation,
        pending: (Request<B>, S, Validator),
        responder: Arc<ErrorResponder>,
    ) -> Self {
        ResponseFuture {
            state: State::Validating {
                validation,
                pending: Some(Box::new(pending)),
                responder,
            },
        }
    }

    /// Calls through; `verdict` is `None` where an outer layer counts the request.
    pub(super) fn calling(
        future: S::Future,
        verdict: Option<PendingVerdict>,
        covering: Covering,
    ) -> Self {
        ResponseFuture {
            state: State::Calling {
                future,
                verdict,
                nonce: None,
                covering,
            },
        }
    }

    /// Refused at once, in the shape `request` (the request's headers) is answered in.
    pub(super) fn refused(
        responder: &ErrorResponder,
        error: &AuthError,
        request: &HeaderMap,
    ) -> Self {
        ResponseFuture {
            state: State::Refused {
                response: Some(Box::new(responder.respond_to(error, request))),
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<AuthBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Validating {
                    validation,
                    pending,
                    responder,
                } => {
                    let outcome = ready!(validation.as_mut().poll(cx));
                    #[allow(clippy::expect_used)] // left only by a state change: cannot be None
                    let (mut request, mut service, validator) = *pending
                        .take()
                        .expect("ResponseFuture polled after completion");
                    match outcome {
                        Ok(Validated { context, nonce }) => {
                            let covering = Covering::of(responder, request.headers());
                            request.extensions_mut().insert(context);
                            let future = service.call(request);
                            this.state.set(State::Calling {
                                future,
                                verdict: Some(validator.pending_verdict(false)),
                                nonce,
                                covering,
                            });
                        }
                        Err(error) => {
                            let response = responder.respond_to(&error, request.headers());
                            this.state.set(State::Refused {
                                response: Some(Box::new(response)),
                            });
                        }
                    }
                }
                StateProj::Calling {
                    future,
                    verdict,
                    nonce,
                    covering: Covering(responder, shape),
                } => {
                    let mut response = ready!(future.poll(cx)).map(|mut inner| {
                        match inner.extensions_mut().remove::<ForLayer>() {
                            Some(ForLayer(error)) => {
                                responder.respond_as(&error, *shape).map(AuthBody::refusal)
                            }
                            None => inner.map(AuthBody::inner),
                        }
                    });
                    if let (Ok(response), Some(verdict)) = (&response, verdict.take()) {
                        verdict.settle(response.extensions().get::<Refusal>().map(|r| r.0));
                    }
                    if let (Ok(response), Some(nonce)) = (&mut response, nonce.take()) {
                        response.headers_mut().insert(DPOP_NONCE_HEADER, nonce);
                    }
                    return Poll::Ready(response);
                }
                StateProj::Refused { response } => {
                    #[allow(clippy::expect_used)] // polled after completion: a caller bug
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response.map(AuthBody::refusal)));
                }
            }
        }
    }
}
