//! [`RequiredScopes`]: what the routes require, recorded by the layers that enforce it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::route::{GuardedRoute, Verb};

/// The scopes routes and operations require, shared by every clone: each
/// [`BearerAuthLayer::require_scopes`](crate::BearerAuthLayer::require_scopes) records its own,
/// each [`BearerAuthLayer::guard`](crate::BearerAuthLayer::guard) its [`GuardedRoute`] too;
/// the metadata document lists the scopes as `scopes_supported` and the OpenAPI document
/// (feature `openapi`) reads the routes, so no scope is typed twice.
#[derive(Clone, Default)]
pub struct RequiredScopes(Arc<RwLock<Recorded>>);

#[derive(Default)]
struct Recorded {
    scopes: BTreeSet<String>,
    /// By path, then method: one requirement per route, as the router has one handler.
    routes: BTreeMap<(String, Verb), GuardedRoute>,
}

impl RequiredScopes {
    /// An empty set.
    pub fn new() -> Self {
        RequiredScopes::default()
    }

    // A panic while holding the lock left sets of strings, still whole.
    fn read(&self) -> RwLockReadGuard<'_, Recorded> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Recorded> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records scopes that some route or operation requires (e.g. a per-tool scope checked in a
    /// handler with `Auth::require_scopes`).
    pub fn record<I, S>(&self, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut recorded = self.write();
        recorded
            .scopes
            .extend(scopes.into_iter().map(Into::into).filter(|s| !s.is_empty()));
    }

    /// Records a guarded route and its scopes; a later record of the same method and path
    /// replaces it.
    pub(crate) fn record_route(&self, route: &GuardedRoute) {
        let mut recorded = self.write();
        recorded.scopes.extend(route.scopes().iter().cloned());
        recorded
            .routes
            .insert((route.path().to_owned(), route.verb()), route.clone());
    }

    /// Records everything `other` holds here too.
    pub(crate) fn absorb(&self, other: &RequiredScopes) {
        if self.same_as(other) {
            return;
        }
        let (scopes, routes) = {
            let theirs = other.read();
            (theirs.scopes.clone(), theirs.routes.clone())
        };
        let mut recorded = self.write();
        recorded.scopes.extend(scopes);
        recorded.routes.extend(routes);
    }

    /// Every scope recorded so far, sorted.
    pub fn to_vec(&self) -> Vec<String> {
        self.read().scopes.iter().cloned().collect()
    }

    /// The guarded routes recorded so far, by path, then method.
    pub fn routes(&self) -> Vec<GuardedRoute> {
        self.read().routes.values().cloned().collect()
    }

    /// Whether `other` is this very set (not merely equal to it).
    pub fn same_as(&self, other: &RequiredScopes) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for RequiredScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let recorded = self.read();
        f.debug_struct("RequiredScopes")
            .field("scopes", &recorded.scopes)
            .field("routes", &recorded.routes.values().collect::<Vec<_>>())
            .finish()
    }
}
