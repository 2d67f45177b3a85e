//! [`BearerAuthLayer::guard`]: a [`GuardedRoute`]'s layer, recorded where the metadata and the
//! OpenAPI document read it; [`GuardedRouterExt`] adds such routes to an axum router.

use crate::guard::ScopedAuthLayer;
use crate::layer::BearerAuthLayer;
#[cfg(feature = "axum")]
use crate::route::Verb;
use crate::route::{GuardedRoute, ScopeRequirement};

impl BearerAuthLayer {
    /// The layer of `route`: authenticates, then requires the route's scopes (401 challenges
    /// name them, a token lacking them gets 403 `insufficient_scope`), and records the route in
    /// [`required_scopes`](Self::required_scopes), where the metadata's `scopes_supported` and
    /// the OpenAPI document read it.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use scopegate::GuardedRoute;
    /// # fn app(auth: scopegate::BearerAuthLayer) -> Router {
    /// let list = GuardedRoute::get("/products").require_scopes(["read:products"]);
    /// let app = Router::new().route(list.path(), get(|| async { "[]" }).route_layer(auth.guard(&list)));
    /// assert_eq!(auth.required_scopes().routes(), [list]);
    /// # app }
    /// ```
    pub fn guard(&self, route: &GuardedRoute) -> ScopedAuthLayer {
        let scopes = route.scopes().to_vec();
        self.required_scopes().record_route(route);
        self.scoped(scopes.clone(), ScopeRequirement::new(scopes, route.rule()))
    }
}

/// Adds [`GuardedRoute`]s to an axum [`Router`](axum::Router): the handler at the route's
/// method and path, behind [`BearerAuthLayer::guard`], so method and path are written once.
///
/// ```
/// use axum::{Router, routing::get};
/// use scopegate::GuardedRoute;
/// use scopegate::guard::GuardedRouterExt;
/// # fn app(auth: scopegate::BearerAuthLayer) -> Router {
/// let list = GuardedRoute::get("/products").require_scopes(["read:products"]);
/// let create = GuardedRoute::post("/products").require_scopes(["write:products"]);
/// Router::new()
///     .guarded_route(&auth, &list, || async { "[]" })
///     .guarded_route(&auth, &create, || async { "created" })
///     .route("/health", get(|| async { "ok" })) // open
/// # }
/// ```
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub trait GuardedRouterExt<S>: Sized {
    /// Routes `route`'s method and path to `handler`, behind `auth`'s guard of the route.
    /// Several methods of one path merge as with `Router::route`; a method routed twice
    /// panics there, as axum does.
    fn guarded_route<H, T>(self, auth: &BearerAuthLayer, route: &GuardedRoute, handler: H) -> Self
    where
        H: axum::handler::Handler<T, S>,
        T: 'static;
}

#[cfg(feature = "axum")]
impl<S> GuardedRouterExt<S> for axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn guarded_route<H, T>(self, auth: &BearerAuthLayer, route: &GuardedRoute, handler: H) -> Self
    where
        H: axum::handler::Handler<T, S>,
        T: 'static,
    {
        use axum::routing::{MethodFilter, on};
        let filter = match route.verb() {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        };
        // The handler's own layer, not the method router's `route_layer`: axum boxes a
        // route-layered service again (one more box cloned and one more future allocated per
        // request), while a layered handler builds the layer's service inline per request.
        self.route(route.path(), on(filter, handler.layer(auth.guard(route))))
    }
}
