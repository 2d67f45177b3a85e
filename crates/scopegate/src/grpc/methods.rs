//! [`GrpcMethods`]: the scopes each gRPC method needs, a guard that reads the method from the
//! request path, and [`GrpcAuthLayer`], the authentication and that guard in one layer.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use http::request::Parts;
use tower_layer::Layer;

use crate::claims::AuthContext;
use crate::config::ConfigError;
use crate::error::AuthError;
use crate::guard::{Guard, GuardLayer, Requirement, ScopeRequirement};
use crate::layer::{BearerAuthLayer, BearerAuthService};

/// What happens to a method [`GrpcMethods`] does not list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnknownMethods {
    /// Refused with `PERMISSION_DENIED` (HTTP 403 `insufficient_scope`), whatever the token:
    /// the default. A method added to the service and forgotten here stays closed until it is
    /// listed, instead of being open to every token of the issuer.
    #[default]
    Refuse,
    /// Allowed to tokens holding every one of these scopes (at least one: an empty set would open
    /// every unlisted method to any token, and is refused at build).
    RequireScopes(Vec<String>),
}

/// The scopes each gRPC method requires, by its full path (`/package.Service/Method`, the
/// `:path` of the call), and what happens to the methods not listed ([`UnknownMethods`],
/// refused by default).
///
/// Used as a [`Requirement`] behind a [`BearerAuthLayer`] (`GuardLayer::new(methods)`), or in
/// one layer with it: [`BearerAuthLayer::require_grpc_methods`], which also records the scopes
/// for the RFC 9728 metadata's `scopes_supported`.
///
/// ```
/// use scopegate::grpc::{GrpcMethods, UnknownMethods};
///
/// let methods = GrpcMethods::builder()
///     .method("/shop.v1.Products/ListProducts", ["read:products"])
///     .method("/shop.v1.Products/AddProduct", ["write:products"])
///     .unknown_methods(UnknownMethods::RequireScopes(vec!["admin".into()]))
///     .build()
///     .unwrap();
/// assert_eq!(methods.scopes(), ["admin", "read:products", "write:products"]);
///
/// // A path that is no gRPC method is a mistake found at build.
/// assert!(GrpcMethods::builder().method("shop.v1.Products/AddProduct", ["x"]).build().is_err());
/// ```
pub struct GrpcMethods {
    methods: HashMap<Box<str>, ScopeRequirement>,
    unknown: Option<ScopeRequirement>,
    /// Every scope named, for `scopes_supported`.
    scopes: Vec<String>,
}

impl fmt::Debug for GrpcMethods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<&str> = self.methods.keys().map(|path| &**path).collect();
        paths.sort_unstable();
        f.debug_struct("GrpcMethods")
            .field("methods", &paths)
            .field("unknown", &self.unknown)
            .finish()
    }
}

impl GrpcMethods {
    /// Starts an empty table whose unlisted methods are refused.
    pub fn builder() -> GrpcMethodsBuilder {
        GrpcMethodsBuilder {
            methods: Vec::new(),
            unknown: UnknownMethods::Refuse,
        }
    }

    /// Every scope some method (or the default) requires, sorted, without repeats.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl Requirement for GrpcMethods {
    fn check(&self, context: &AuthContext, parts: &Parts) -> Result<(), AuthError> {
        match self.methods.get(parts.uri.path()) {
            Some(requirement) => requirement.check(context, parts),
            None => match &self.unknown {
                Some(requirement) => requirement.check(context, parts),
                None => Err(AuthError::MethodNotListed),
            },
        }
    }
}

/// Builds [`GrpcMethods`]; every path and scope is checked by [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct GrpcMethodsBuilder {
    methods: Vec<(String, Vec<String>)>,
    unknown: UnknownMethods,
}

impl GrpcMethodsBuilder {
    /// The method at `path` (`/package.Service/Method`) requires every one of `scopes`. With no
    /// scopes, any valid token may call it.
    #[must_use]
    pub fn method<I, S>(mut self, path: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.methods.push((path.into(), scopes));
        self
    }

    /// What happens to the methods not listed; [`UnknownMethods::Refuse`] unless set.
    #[must_use]
    pub fn unknown_methods(mut self, unknown: UnknownMethods) -> Self {
        self.unknown = unknown;
        self
    }

    /// The table, or the first mistake: a path that is not `/package.Service/Method`, a method
    /// listed twice, a scope that is empty or holds a space, a default that requires no scope.
    pub fn build(self) -> Result<GrpcMethods, ConfigError> {
        let mut all = BTreeSet::new();
        let mut methods = HashMap::with_capacity(self.methods.len());
        for (path, scopes) in self.methods {
            if !is_method_path(&path) {
                return Err(ConfigError::InvalidGrpcMethodPath(path));
            }
            check_scopes(&scopes)?;
            all.extend(scopes.iter().cloned());
            let requirement = ScopeRequirement::all(scopes);
            if methods
                .insert(path.clone().into_boxed_str(), requirement)
                .is_some()
            {
                return Err(ConfigError::DuplicateGrpcMethod(path));
            }
        }
        let unknown = match self.unknown {
            UnknownMethods::Refuse => None,
            UnknownMethods::RequireScopes(scopes) if scopes.is_empty() => {
                return Err(ConfigError::OpenGrpcDefault);
            }
            UnknownMethods::RequireScopes(scopes) => {
                check_scopes(&scopes)?;
                all.extend(scopes.iter().cloned());
                Some(ScopeRequirement::all(scopes))
            }
        };
        Ok(GrpcMethods {
            methods,
            unknown,
            scopes: all.into_iter().collect(),
        })
    }
}

/// RFC 6749 §3.3: a scope token is one or more printable characters, without space, `"` or `\`.
fn check_scopes(scopes: &[String]) -> Result<(), ConfigError> {
    let bad = |scope: &String| {
        scope.is_empty()
            || !scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    match scopes.iter().find(|scope| bad(scope)) {
        Some(scope) => Err(ConfigError::InvalidGrpcScope(scope.clone())),
        None => Ok(()),
    }
}

/// PROTOCOL-HTTP2.md's Path, `/` Service-Name `/` method name, with protobuf's names: the
/// service a dot-separated package path and service (Appendix A), each part and the method an
/// identifier (a letter or `_`, then letters, digits and `_`).
fn is_method_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let Some((service, method)) = rest.split_once('/') else {
        return false;
    };
    service.split('.').all(is_identifier) && is_identifier(method)
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A [`BearerAuthLayer`] and a [`GrpcMethods`] guard in one, made by
/// [`BearerAuthLayer::require_grpc_methods`]: authenticates every call, then requires its
/// method's scopes. Give it to tonic's `Server::builder().layer(..)`.
#[derive(Clone)]
pub struct GrpcAuthLayer {
    auth: BearerAuthLayer,
    guard: GuardLayer<GrpcMethods>,
}

impl fmt::Debug for GrpcAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcAuthLayer")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for GrpcAuthLayer {
    type Service = BearerAuthService<Guard<S, GrpcMethods>>;

    fn layer(&self, inner: S) -> Self::Service {
        self.auth.layer(self.guard.layer(inner))
    }
}

impl BearerAuthLayer {
    /// This layer for a gRPC server whose methods require the scopes of `methods`: every call
    /// needs a valid token, then its method's scopes (`PERMISSION_DENIED` naming them
    /// otherwise); the scopes are recorded in [`required_scopes`](Self::required_scopes), the
    /// metadata's `scopes_supported`. Refusals are gRPC statuses: see [`grpc`](crate::grpc).
    ///
    /// With tonic: `Server::builder().layer(auth.require_grpc_methods(methods)).add_service(..)`
    /// (see the [`grpc`](crate::grpc) module).
    pub fn require_grpc_methods(&self, methods: GrpcMethods) -> GrpcAuthLayer {
        self.required_scopes()
            .record(methods.scopes().iter().cloned());
        GrpcAuthLayer {
            auth: self.clone(),
            guard: GuardLayer::new(methods),
        }
    }
}
