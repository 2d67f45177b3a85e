//! Per-route guards: layers for axum's `route_layer` (or any tower stack behind a
//! [`BearerAuthLayer`](crate::BearerAuthLayer)) that refuse requests whose token does not meet a
//! [`Requirement`]: scopes here, a Logto organization in [`logto`](crate::logto).
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

/// What a guard requires of a request that carries a verified token.
pub trait Requirement {
    /// `Ok` lets the request through; the error is the refusal. The request is handed over and
    /// back because some checks (axum path parameters) need its parts.
    fn check<B>(
        &self,
        context: &AuthContext,
        request: Request<B>,
    ) -> (Request<B>, Result<(), AuthError>);
}

/// Requires every one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_scopes<I, S>(scopes: I) -> GuardLayer<ScopeRequirement>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    GuardLayer::new(ScopeRequirement::new(scopes, Match::All))
}

/// Requires at least one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_any_scope<I, S>(scopes: I) -> GuardLayer<ScopeRequirement>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    GuardLayer::new(ScopeRequirement::new(scopes, Match::Any))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    All,
    Any,
}

/// Scopes a route requires: all of them ([`require_scopes`]) or any ([`require_any_scope`]).
#[derive(Debug)]
pub struct ScopeRequirement {
    scopes: Box<[String]>,
    mode: Match,
    /// The `scope` attribute of the challenge: what a client should ask for.
    challenge: Arc<str>,
}

impl ScopeRequirement {
    fn new<I, S>(scopes: I, mode: Match) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Box<[String]> = scopes.into_iter().map(Into::into).collect();
        let challenge = Arc::from(scopes.join(" "));
        ScopeRequirement {
            scopes,
            mode,
            challenge,
        }
    }
}

impl Requirement for ScopeRequirement {
    fn check<B>(
        &self,
        context: &AuthContext,
        request: Request<B>,
    ) -> (Request<B>, Result<(), AuthError>) {
        let met = match self.mode {
            Match::All => context.scopes().contains_all(&self.scopes),
            Match::Any => context.scopes().contains_any(&self.scopes),
        };
        let verdict = if met {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope {
                required: Arc::clone(&self.challenge),
            })
        };
        (request, verdict)
    }
}

/// A guard, as a tower layer.
pub struct GuardLayer<R> {
    requirement: Arc<R>,
}

impl<R> GuardLayer<R> {
    /// A guard for any [`Requirement`].
    pub fn new(requirement: R) -> Self {
        GuardLayer {
            requirement: Arc::new(requirement),
        }
    }
}

impl<R> Clone for GuardLayer<R> {
    fn clone(&self) -> Self {
        GuardLayer {
            requirement: Arc::clone(&self.requirement),
        }
    }
}

impl<R: fmt::Debug> fmt::Debug for GuardLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GuardLayer")
            .field(&self.requirement)
            .finish()
    }
}

impl<S, R> Layer<S> for GuardLayer<R> {
    type Service = Guard<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service of [`GuardLayer`].
pub struct Guard<S, R> {
    inner: S,
    requirement: Arc<R>,
}

impl<S: Clone, R> Clone for Guard<S, R> {
    fn clone(&self) -> Self {
        Guard {
            inner: self.inner.clone(),
            requirement: Arc::clone(&self.requirement),
        }
    }
}

impl<S: fmt::Debug, R: fmt::Debug> fmt::Debug for Guard<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .field("requirement", &self.requirement)
            .finish()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: Requirement,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let extensions = request.extensions();
        let responder = extensions.get::<Covered>().map(|Covered(r)| Arc::clone(r));
        let (request, verdict) = match (extensions.get::<Arc<AuthContext>>().cloned(), &responder) {
            (Some(context), _) => self.requirement.check(&context, request),
            // Anonymous request let through by an optional layer: a token is needed here.
            (None, Some(_)) => (request, Err(AuthError::MissingToken)),
            (None, None) => (request, Err(not_configured())),
        };
        match verdict {
            Ok(()) => GuardFuture {
                state: GuardState::Calling {
                    future: self.inner.call(request),
                },
            },
            Err(error) => {
                let responder = responder.unwrap_or_default();
                let response = Some(responder.respond(&error));
                GuardFuture {
                    state: GuardState::Refused { response },
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
    /// The response future of [`Guard`].
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
                // Polled after completion (a caller bug): still never an accidental 200.
                let response = response
                    .take()
                    .unwrap_or_else(|| ErrorResponder::new().respond(&AuthError::NotConfigured));
                Poll::Ready(Ok(response.map(AuthBody::refusal)))
            }
        }
    }
}
