//! Per-route guards: layers for axum's `route_layer` (or any tower stack behind a
//! [`BearerAuthLayer`](crate::BearerAuthLayer)) that refuse requests whose token does not meet a
//! [`Requirement`]: scopes, the organization the request addresses, or your own.
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
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::claims::AuthContext;
use crate::error::{AuthError, Shape, respond_covered};
use crate::layer::{Covered, not_configured};
pub use crate::route::ScopeRequirement;
use crate::route::ScopeRule;

mod organization;
mod route;
mod scoped;
pub use organization::{OrganizationFrom, OrganizationRequirement};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use organization::{OrganizationLayer, OrganizationMatches, require_organization};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use route::GuardedRouterExt;
pub use scoped::ScopedAuthLayer;

/// What a guard requires of a request that carries a verified token.
///
/// A requirement reads the token's [`AuthContext`] and the request's head (method, URI,
/// headers, extensions); the body is never its business.
///
/// ```
/// use http::{Method, request::Parts};
/// use scopegate::{AuthContext, AuthError, GuardLayer, Requirement};
///
/// /// Reads are open to every token; writes need `write:products`.
/// struct WritesNeedWriteScope;
///
/// impl Requirement for WritesNeedWriteScope {
///     fn check(&self, context: &AuthContext, parts: &Parts) -> Result<(), AuthError> {
///         if parts.method == Method::GET || context.has_scope("write:products") {
///             Ok(())
///         } else {
///             Err(AuthError::InsufficientScope { required: "write:products".into() })
///         }
///     }
/// }
///
/// let guard = GuardLayer::new(WritesNeedWriteScope);
/// ```
pub trait Requirement {
    /// `Ok` lets the request through; the error is the refusal, answered by the layer's
    /// responder and counted as the request's verdict.
    fn check(&self, context: &AuthContext, parts: &Parts) -> Result<(), AuthError>;
}

/// Requires every one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_scopes<I, S>(scopes: I) -> GuardLayer<ScopeRequirement>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    GuardLayer::new(ScopeRequirement::new(scopes, ScopeRule::AllOf))
}

/// Requires at least one of `scopes`; answers 403 `insufficient_scope` otherwise.
pub fn require_any_scope<I, S>(scopes: I) -> GuardLayer<ScopeRequirement>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    GuardLayer::new(ScopeRequirement::new(scopes, ScopeRule::AnyOf))
}

impl Requirement for ScopeRequirement {
    fn check(&self, context: &AuthContext, _parts: &Parts) -> Result<(), AuthError> {
        self.check_scopes(context)
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

impl<S, R> Guard<S, R> {
    scopegate_http::inner_service_accessors!();
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
        let (parts, body) = request.into_parts();
        let covered = parts.extensions.get::<Covered>();
        let verdict = match (parts.extensions.get::<Arc<AuthContext>>(), covered) {
            (Some(context), _) => self.requirement.check(context, &parts),
            // Anonymous request let through by an optional layer: a token is needed here.
            (None, Some(_)) => Err(AuthError::MissingToken),
            (None, None) => Err(not_configured()),
        };
        match verdict {
            Ok(()) => GuardFuture {
                state: GuardState::Calling {
                    future: self.inner.call(Request::from_parts(parts, body)),
                },
            },
            Err(error) => {
                // A verified token's request does not carry the layer's responder: the layer
                // answers this refusal again with it.
                let responder = covered.map(|Covered(responder, _)| &**responder);
                let shape = Shape::of(&parts.headers);
                let response = Some(respond_covered(responder, &error, shape));
                GuardFuture {
                    state: GuardState::Refused { response },
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`Guard`].
    ///
    /// # Panics
    /// When polled again after it completed, like every future (tower-http's rule).
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
                #[allow(clippy::expect_used)] // polled after completion: a caller bug
                let response = response
                    .take()
                    .expect("GuardFuture polled after completion");
                Poll::Ready(Ok(response.map(AuthBody::refusal)))
            }
        }
    }
}
