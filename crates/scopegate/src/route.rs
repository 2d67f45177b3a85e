//! [`GuardedRoute`]: a route's scope requirement declared once, keyed by method and path as the
//! router sees them. The same value builds the route's layer
//! ([`BearerAuthLayer::guard`](crate::BearerAuthLayer::guard)), and the layer records it, so
//! the RFC 9728 `scopes_supported` and the OpenAPI document (feature `openapi`) read what the
//! router enforces instead of a second list.
//!
//! With it, [`ScopeRequirement`]: how a token meets a route's scopes, checked by the route's own
//! layer and by the guards. This module knows nothing of layers, so that the layer, the guards,
//! the metadata and the OpenAPI writer can all depend on it.

use std::sync::Arc;

use http::Method;

use crate::claims::AuthContext;
use crate::error::AuthError;

/// How a route's scopes combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeRule {
    /// Every scope is required (none listed: a valid token is enough).
    #[default]
    AllOf,
    /// Any one of the scopes is enough.
    AnyOf,
}

/// The methods a guarded route may have: those an OpenAPI 3.1 path item can hold and axum's
/// method router can route, so that neither side has a case the other cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub(crate) fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }
}

/// One route's requirement: method, path (as given to the router, e.g. `/products/{id}`) and
/// scopes. Declare it once and use it for the route's layer
/// ([`BearerAuthLayer::guard`](crate::BearerAuthLayer::guard), or `Router::guarded_route` with
/// the `axum` feature); the layer records it for the metadata's `scopes_supported` and the
/// OpenAPI document.
///
/// ```
/// use scopegate::route::{GuardedRoute, ScopeRule};
///
/// let create = GuardedRoute::post("/products").require_scopes(["write:products"]);
/// assert_eq!(create.method(), http::Method::POST);
/// assert_eq!(create.scopes(), ["write:products"]);
/// let report = GuardedRoute::get("/reports").require_any_scope(["admin", "audit"]);
/// assert_eq!(report.rule(), ScopeRule::AnyOf);
/// // No scopes: a valid token is enough.
/// assert!(GuardedRoute::get("/me").scopes().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedRoute {
    verb: Verb,
    path: String,
    scopes: Vec<String>,
    rule: ScopeRule,
}

impl GuardedRoute {
    fn new(verb: Verb, path: impl Into<String>) -> Self {
        GuardedRoute {
            verb,
            path: path.into(),
            scopes: Vec::new(),
            rule: ScopeRule::AllOf,
        }
    }

    /// `GET` (and, as axum routes it, `HEAD`) at `path`.
    pub fn get(path: impl Into<String>) -> Self {
        GuardedRoute::new(Verb::Get, path)
    }

    /// `POST` at `path`.
    pub fn post(path: impl Into<String>) -> Self {
        GuardedRoute::new(Verb::Post, path)
    }

    /// `PUT` at `path`.
    pub fn put(path: impl Into<String>) -> Self {
        GuardedRoute::new(Verb::Put, path)
    }

    /// `PATCH` at `path`.
    pub fn patch(path: impl Into<String>) -> Self {
        GuardedRoute::new(Verb::Patch, path)
    }

    /// `DELETE` at `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        GuardedRoute::new(Verb::Delete, path)
    }

    /// Requires every one of `scopes` (duplicates dropped).
    #[must_use]
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = distinct(scopes);
        self.rule = ScopeRule::AllOf;
        self
    }

    /// Requires any one of `scopes` (duplicates dropped). An empty list requires no scope, as
    /// [`require_scopes`](Self::require_scopes) with none: a requirement nobody can meet is not
    /// something to declare.
    #[must_use]
    pub fn require_any_scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = distinct(scopes);
        self.rule = if self.scopes.is_empty() {
            ScopeRule::AllOf
        } else {
            ScopeRule::AnyOf
        };
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.verb.method()
    }

    pub(crate) fn verb(&self) -> Verb {
        self.verb
    }

    /// The path, as given to the router.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The scopes, in the order given.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// How the scopes combine.
    pub fn rule(&self) -> ScopeRule {
        self.rule
    }
}

fn distinct<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out: Vec<String> = Vec::new();
    for scope in scopes.into_iter().map(Into::into) {
        if !scope.is_empty() && !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// Scopes a route requires: all of them ([`require_scopes`](crate::guard::require_scopes)) or
/// any ([`require_any_scope`](crate::guard::require_any_scope)).
#[derive(Debug)]
pub struct ScopeRequirement {
    scopes: Box<[String]>,
    rule: ScopeRule,
    /// The `scope` attribute of the challenge: what a client should ask for.
    challenge: Arc<str>,
}

impl ScopeRequirement {
    pub(crate) fn new<I, S>(scopes: I, rule: ScopeRule) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Box<[String]> = scopes.into_iter().map(Into::into).collect();
        let challenge = Arc::from(scopes.join(" "));
        ScopeRequirement {
            scopes,
            rule,
            challenge,
        }
    }

    /// Requires every one of `scopes`.
    pub(crate) fn all(scopes: Vec<String>) -> Self {
        ScopeRequirement::new(scopes, ScopeRule::AllOf)
    }

    /// `Ok` if `context`'s scopes meet the requirement, 403 `insufficient_scope` otherwise.
    pub(crate) fn check_scopes(&self, context: &AuthContext) -> Result<(), AuthError> {
        let met = match self.rule {
            ScopeRule::AllOf => context.scopes().contains_all(&self.scopes),
            ScopeRule::AnyOf => context.scopes().contains_any(&self.scopes),
        };
        if met {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope {
                required: Arc::clone(&self.challenge),
            })
        }
    }
}
