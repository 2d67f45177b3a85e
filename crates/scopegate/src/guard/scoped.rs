//! [`ScopedAuthLayer`]: a route's authentication and scope requirement in one layer, so that
//! its 401 names the scopes the route needs and the metadata lists them.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::layer::{BearerAuthLayer, BearerAuthService};
use crate::route::{ScopeRequirement, ScopeRule};

/// A [`BearerAuthLayer`] and a scope guard in one, made by
/// [`BearerAuthLayer::require_scopes`] or [`BearerAuthLayer::require_any_scope`]: used as a
/// route's `route_layer`, it authenticates, then requires the scopes.
///
/// A request without a valid token is answered by the authentication step, before the route
/// (its handler never runs to find out what it needs), with `scope="…"` naming the route's
/// scopes in the 401 challenge, as the MCP authorization spec's scope selection expects.
///
/// The scopes are checked by the layer's own service, on the token it has just accepted: one
/// service per request, where a router-wide layer needs a [`GuardLayer`](crate::GuardLayer)
/// behind it.
#[derive(Clone)]
pub struct ScopedAuthLayer {
    auth: BearerAuthLayer,
}

impl fmt::Debug for ScopedAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedAuthLayer")
            .field("route_scopes", &self.auth.route_scopes())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ScopedAuthLayer {
    type Service = BearerAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.auth.layer(inner)
    }
}

impl BearerAuthLayer {
    /// This layer for one route that requires every one of `scopes`: 401 challenges name them
    /// (`scope="…"`), a token lacking one gets 403 `insufficient_scope`, and they are recorded
    /// in [`required_scopes`](Self::required_scopes) (the metadata's `scopes_supported`).
    ///
    /// ```
    /// use axum::{Router, routing::{get, post}};
    /// # fn app(auth: scopegate::BearerAuthLayer) -> Router {
    /// Router::new().route(
    ///     "/products",
    ///     get(|| async { "[]" })
    ///         .route_layer(auth.require_scopes(["read:products"]))
    ///         .merge(post(|| async { "ok" }).route_layer(auth.require_scopes(["write:products"]))),
    /// )
    /// # }
    /// ```
    pub fn require_scopes<I, S>(&self, scopes: I) -> ScopedAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let requirement = ScopeRequirement::new(scopes.clone(), ScopeRule::AllOf);
        self.scoped(scopes, requirement)
    }

    /// Like [`require_scopes`](Self::require_scopes), satisfied by any one of `scopes`.
    pub fn require_any_scope<I, S>(&self, scopes: I) -> ScopedAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let requirement = ScopeRequirement::new(scopes.clone(), ScopeRule::AnyOf);
        self.scoped(scopes, requirement)
    }

    pub(super) fn scoped(
        &self,
        scopes: Vec<String>,
        requirement: ScopeRequirement,
    ) -> ScopedAuthLayer {
        self.required_scopes().record(scopes.iter().cloned());
        let auth = self
            .clone()
            .challenge_scopes(scopes)
            .with_route_scopes(Arc::new(requirement));
        ScopedAuthLayer { auth }
    }
}
