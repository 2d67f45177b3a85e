//! Per-route scope guards: layers for axum's `route_layer` (or any tower stack behind a
//! [`BearerAuthLayer`](crate::BearerAuthLayer)).
//!
//! ```
//! use axum::{Router, routing::get};
//! use scopegate::guard::{require_any_scope, require_scopes};
//!
//! let app: Router = Router::new()
//!     .route("/products", get(|| async { "[]" }))
//!     .route_layer(require_scopes(["read:products"]))
//!     .route("/reports", get(|| async { "…" }).route_layer(require_any_scope(["admin", "audit"])));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::claims::AuthContext;
use crate::error::{AuthError, ErrorResponder};
use crate::layer::Covered;

/// Requires every one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_scopes<I, S>(scopes: I) -> RequireScopesLayer
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    RequireScopesLayer::new(scopes, Match::All)
}

/// Requires at least one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_any_scope<I, S>(scopes: I) -> RequireScopesLayer
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    RequireScopesLayer::new(scopes, Match::Any)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    All,
    Any,
}

/// A scope requirement, as a tower layer. Build it with [`require_scopes`] or
/// [`require_any_scope`].
#[derive(Clone)]
pub struct RequireScopesLayer {
    requirement: Arc<Requirement>,
}

struct Requirement {
    scopes: Box<[String]>,
    mode: Match,
    /// The `scope` attribute of the challenge: what a client should ask for.
    challenge: Arc<str>,
}

impl Requirement {
    fn is_met(&self, context: &AuthContext) -> bool {
        match self.mode {
            Match::All => context.scopes().contains_all(&self.scopes),
            Match::Any => context.scopes().contains_any(&self.scopes),
        }
    }
}

impl fmt::Debug for RequireScopesLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesLayer")
            .field("scopes", &self.requirement.scopes)
            .field("mode", &self.requirement.mode)
            .finish()
    }
}

impl RequireScopesLayer {
    fn new<I, S>(scopes: I, mode: Match) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Box<[String]> = scopes.into_iter().map(Into::into).collect();
        let challenge = Arc::from(scopes.join(" "));
        RequireScopesLayer {
            requirement: Arc::new(Requirement {
                scopes,
                mode,
                challenge,
            }),
        }
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service of [`RequireScopesLayer`].
#[derive(Clone)]
pub struct RequireScopes<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S: fmt::Debug> fmt::Debug for RequireScopes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopes")
            .field("inner", &self.inner)
            .field("scopes", &self.requirement.scopes)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopes<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let extensions = request.extensions();
        let covered = extensions.get::<Covered>();
        let verdict = match extensions.get::<Arc<AuthContext>>() {
            Some(context) if self.requirement.is_met(context) => Ok(()),
            Some(_) => Err(AuthError::InsufficientScope {
                required: Arc::clone(&self.requirement.challenge),
            }),
            // Anonymous request let through by an optional layer: a token is needed here.
            None if covered.is_some() => Err(AuthError::MissingToken),
            None => Err(not_configured()),
        };
        match verdict {
            Ok(()) => GuardFuture {
                state: GuardState::Calling {
                    future: self.inner.call(request),
                },
            },
            Err(error) => {
                let response = match covered {
                    Some(Covered(responder)) => responder.respond(&error),
                    None => ErrorResponder::new().respond(&error),
                };
                GuardFuture {
                    state: GuardState::Refused {
                        response: Some(response),
                    },
                }
            }
        }
    }
}

/// A guard or extractor ran where no [`BearerAuthLayer`](crate::BearerAuthLayer) did: say so in
/// the log, once, and refuse as if no token had been sent.
pub(crate) fn not_configured() -> AuthError {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        tracing::error!(
            target: "scopegate::config",
            "a scope guard or extractor ran on a route without BearerAuthLayer; \
             refusing every request on it (add the layer with Router::layer)"
        );
    }
    AuthError::NotConfigured
}

pin_project! {
    /// The response future of [`RequireScopes`].
    pub struct GuardFuture<F> {
        #[pin]
        state: GuardState<F>,
    }
}

pin_project! {
    #[project = GuardStateProj]
    enum GuardState<F> {
        Calling { #[pin] future: F },
        Refused { response: Option<Response<Full<Bytes>>> },
    }
}

impl<F> GuardFuture<F> {
    pub(crate) fn calling(future: F) -> Self {
        GuardFuture {
            state: GuardState::Calling { future },
        }
    }

    pub(crate) fn refused(response: Response<Full<Bytes>>) -> Self {
        GuardFuture {
            state: GuardState::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F> fmt::Debug for GuardFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<AuthBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            GuardStateProj::Calling { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(AuthBody::inner)))
            }
            GuardStateProj::Refused { response } => {
                let response = response
                    .take()
                    .unwrap_or_else(|| ErrorResponder::new().respond(&AuthError::NotConfigured));
                Poll::Ready(Ok(response.map(AuthBody::refusal)))
            }
        }
    }
}
