//! The security of an OpenAPI 3.1 document, written from the guards that enforce it (feature
//! `openapi`, on [utoipa](https://docs.rs/utoipa)).
//!
//! Routes declared as [`GuardedRoute`]s and guarded with [`BearerAuthLayer::guard`] (or
//! `Router::guarded_route`) are recorded by the layer. [`OpenApiSecurity`], a utoipa
//! [`Modify`], then writes into a document:
//!
//! * one OAuth 2.0 security scheme per issuer of the validator, with the client-credentials
//!   flow at the issuer's token URL (given, or found in its discovery document by
//!   `OpenApiSecurityBuilder::discover`, feature `remote`)
//!   and every scope the routes require (with your descriptions);
//! * on each guarded operation, its `security`: OpenAPI reads the array as OR and each
//!   requirement object as AND, so an all-of route is one object listing its scopes, an
//!   any-of route one object per scope, and several issuers repeat that per scheme;
//! * nothing on other operations, and no document-wide `security`, which they would inherit.
//!
//! ```
//! use axum::{Router, routing::get};
//! use scopegate::guard::GuardedRouterExt;
//! use scopegate::openapi::OpenApiSecurity;
//! use scopegate::{AuthConfig, BearerAuthLayer, GuardedRoute, Validator};
//! use utoipa::Modify;
//!
//! # fn app() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://api.example.com")
//!     .build()?;
//! let auth = BearerAuthLayer::new(Validator::new(config)?);
//! let list = GuardedRoute::get("/products").require_scopes(["read:products"]);
//! let app: Router = Router::new()
//!     .guarded_route(&auth, &list, || async { "[]" })
//!     .route("/health", get(|| async { "ok" }));
//!
//! let security = OpenApiSecurity::builder(&auth)
//!     .token_url("https://tenant.logto.app/oidc", "https://tenant.logto.app/oidc/token")
//!     .scope_description("read:products", "Read the catalogue")
//!     .build()?;
//! let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
//! security.modify(&mut doc);
//! let json = serde_json::to_value(&doc)?;
//! assert_eq!(json["paths"]["/products"]["get"]["security"], serde_json::json!([{"oauth2": ["read:products"]}]));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use url::Url;
use utoipa::Modify;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{
    ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, RefOr};

use crate::jwks::JwksError;
use crate::layer::BearerAuthLayer;
use crate::metadata::RequiredScopes;
use crate::route::{GuardedRoute, ScopeRule, Verb};
use crate::validate::Validator;

/// The scheme's name when the validator has one issuer.
pub const DEFAULT_SCHEME_NAME: &str = "oauth2";

/// Why the security could not be described.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The validator has no configured issuer (issuers resolved at run time cannot be listed).
    #[error("the validator has no configured issuer to describe")]
    NoIssuer,
    /// An issuer has no token URL: a client-credentials flow cannot be written without one.
    #[error(
        "no token URL for the issuer {issuer:?}: give it with token_url(), or find it in the \
         issuer's metadata with discover()"
    )]
    NoTokenUrl {
        /// The issuer.
        issuer: String,
    },
    /// A token URL is not an absolute http(s) URL without credentials.
    #[error("the token URL {url:?} of the issuer {issuer:?} is not an absolute http(s) URL")]
    InvalidTokenUrl {
        /// The issuer.
        issuer: String,
        /// The URL given or discovered.
        url: String,
    },
    /// A setting names an issuer the validator does not have.
    #[error("{issuer:?} is not an issuer of the validator")]
    UnknownIssuer {
        /// The issuer named.
        issuer: String,
    },
    /// Two issuers' schemes would have the same name.
    #[error("two issuers' security schemes are named {name:?}")]
    DuplicateSchemeName {
        /// The name.
        name: String,
    },
    /// The issuer's discovery document could not be read or names no `token_endpoint`.
    #[error("cannot discover the token endpoint of {issuer:?}: {source}")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// Why.
        #[source]
        source: JwksError,
    },
}

/// One issuer's security scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scheme {
    name: String,
    issuer: String,
    token_url: String,
}

/// The OAuth 2.0 security of an API, as its guards enforce it: a utoipa [`Modify`] (see the
/// [module](self)). The routes and scopes are read when it is applied, so apply it after the
/// router is built. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OpenApiSecurity {
    schemes: Vec<Scheme>,
    recorded: RequiredScopes,
    descriptions: BTreeMap<String, String>,
}

impl OpenApiSecurity {
    /// Starts from `auth`: its validator's issuers (one scheme each) and the routes and scopes
    /// its guards record. Give it the layer the routes are guarded with, as configured (after
    /// [`resource_metadata`](BearerAuthLayer::resource_metadata), which moves the records to
    /// the metadata's set).
    pub fn builder(auth: &BearerAuthLayer) -> OpenApiSecurityBuilder {
        let issuers = auth
            .validator()
            .issuers()
            .map(|config| IssuerEntry {
                issuer: config.issuer().to_owned(),
                token_url: None,
                name: None,
            })
            .collect();
        OpenApiSecurityBuilder {
            validator: auth.validator().clone(),
            recorded: auth.required_scopes().clone(),
            issuers,
            descriptions: BTreeMap::new(),
            unknown_issuer: None,
        }
    }

    /// The schemes written: (name, issuer, token URL), in the validator's issuer order.
    pub fn schemes(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.schemes
            .iter()
            .map(|s| (s.name.as_str(), s.issuer.as_str(), s.token_url.as_str()))
    }

    /// The `security` of `route`'s operation: alternatives (OR), each a set of scopes per
    /// scheme (AND).
    pub fn requirements(&self, route: &GuardedRoute) -> Vec<SecurityRequirement> {
        let mut out = Vec::new();
        for scheme in &self.schemes {
            match route.rule() {
                ScopeRule::AllOf => {
                    out.push(SecurityRequirement::new(&scheme.name, route.scopes()));
                }
                ScopeRule::AnyOf => out.extend(
                    route
                        .scopes()
                        .iter()
                        .map(|scope| SecurityRequirement::new(&scheme.name, [scope])),
                ),
            }
        }
        out
    }

    /// Writes the schemes and the guarded operations' requirements into `openapi` (what
    /// [`Modify::modify`] does).
    pub fn apply(&self, openapi: &mut OpenApi) {
        let scopes: Scopes = self
            .recorded
            .to_vec()
            .into_iter()
            .map(|scope| {
                let description = self.descriptions.get(&scope).cloned().unwrap_or_default();
                (scope, description)
            })
            .collect();
        let components = openapi.components.get_or_insert_with(Default::default);
        for scheme in &self.schemes {
            let flow = ClientCredentials::new(scheme.token_url.clone(), scopes.clone());
            let description = format!(
                "Access tokens of {} (client credentials grant)",
                scheme.issuer
            );
            components.add_security_scheme(
                &scheme.name,
                SecurityScheme::OAuth2(OAuth2::with_description(
                    [Flow::ClientCredentials(flow)],
                    description,
                )),
            );
        }
        // Every operation would inherit a document-wide requirement, the open ones included:
        // the guards are the only source of this API's security.
        openapi.security = None;
        for route in self.recorded.routes() {
            let item = openapi
                .paths
                .paths
                .entry(template(route.path()))
                .or_default();
            let operation = operation_mut(item, route.verb()).get_or_insert_with(Operation::new);
            operation.security = Some(self.requirements(&route));
            // What the guard answers besides the handler's own responses (RFC 6750 §3.1).
            for (status, text) in [
                (
                    "401",
                    "No valid access token: missing, invalid, or not for this API",
                ),
                (
                    "403",
                    "The token lacks the scopes (RFC 6750 `insufficient_scope`)",
                ),
            ] {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(Response::new(text)));
            }
        }
    }
}

impl Modify for OpenApiSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        self.apply(openapi);
    }
}

fn operation_mut(item: &mut PathItem, verb: Verb) -> &mut Option<Operation> {
    match verb {
        Verb::Get => &mut item.get,
        Verb::Post => &mut item.post,
        Verb::Put => &mut item.put,
        Verb::Patch => &mut item.patch,
        Verb::Delete => &mut item.delete,
    }
}

/// The router's path as an OpenAPI path template: `{id}` is the same in both; axum's catch-all
/// `{*rest}` becomes `{rest}`.
fn template(path: &str) -> String {
    path.replace("{*", "{")
}

#[derive(Debug, Clone)]
struct IssuerEntry {
    issuer: String,
    token_url: Option<String>,
    name: Option<String>,
}

/// Builds an [`OpenApiSecurity`]; see [`OpenApiSecurity::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenApiSecurityBuilder {
    /// Its key sources discover the token URLs (with `remote`).
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    validator: Validator,
    recorded: RequiredScopes,
    issuers: Vec<IssuerEntry>,
    descriptions: BTreeMap<String, String>,
    /// The first issuer a setting named that the validator does not have.
    unknown_issuer: Option<String>,
}

impl OpenApiSecurityBuilder {
    /// The token URL of `issuer` (e.g. Logto's `<endpoint>/oidc/token`).
    pub fn token_url(mut self, issuer: &str, url: impl Into<String>) -> Self {
        let url = url.into();
        self.entry(issuer, |entry| entry.token_url = Some(url));
        self
    }

    /// Names `issuer`'s scheme (default: `oauth2` for one issuer, `oauth2_1`, `oauth2_2`, … in
    /// the validator's order for several).
    pub fn scheme_name(mut self, issuer: &str, name: impl Into<String>) -> Self {
        let name = name.into();
        self.entry(issuer, |entry| entry.name = Some(name));
        self
    }

    /// Describes `scope` in the schemes' scope lists (an empty description otherwise).
    pub fn scope_description(
        mut self,
        scope: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.descriptions.insert(scope.into(), description.into());
        self
    }

    /// An issuer that is not the validator's is remembered and refused by `build`.
    fn entry(&mut self, issuer: &str, set: impl FnOnce(&mut IssuerEntry)) {
        match self.issuers.iter_mut().find(|e| e.issuer == issuer) {
            Some(entry) => set(entry),
            None => {
                self.unknown_issuer.get_or_insert_with(|| issuer.to_owned());
            }
        }
    }

    /// Finds the token URL of each issuer that has none yet in its discovery document
    /// (`token_endpoint`; OpenID Connect discovery, then RFC 8414), with the validator's HTTP
    /// client and rules.
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub async fn discover(mut self) -> Result<Self, OpenApiError> {
        let sources: Vec<_> = self.validator.key_sources().collect();
        for (entry, source) in self.issuers.iter_mut().zip(sources) {
            if entry.token_url.is_some() {
                continue;
            }
            let found = source
                .discover(crate::jwks::fetch::Endpoint::Token)
                .await
                .map_err(|source| OpenApiError::Discovery {
                    issuer: entry.issuer.clone(),
                    source,
                })?;
            entry.token_url = Some(found.to_string());
        }
        Ok(self)
    }

    /// Checks that every issuer has a usable token URL and the schemes distinct names.
    pub fn build(self) -> Result<OpenApiSecurity, OpenApiError> {
        if let Some(issuer) = self.unknown_issuer {
            return Err(OpenApiError::UnknownIssuer { issuer });
        }
        if self.issuers.is_empty() {
            return Err(OpenApiError::NoIssuer);
        }
        let several = self.issuers.len() > 1;
        let mut schemes: Vec<Scheme> = Vec::with_capacity(self.issuers.len());
        for (index, entry) in self.issuers.into_iter().enumerate() {
            let name = match entry.name {
                Some(name) => name,
                None if several => format!("{DEFAULT_SCHEME_NAME}_{}", index + 1),
                None => DEFAULT_SCHEME_NAME.to_owned(),
            };
            let Some(token_url) = entry.token_url else {
                return Err(OpenApiError::NoTokenUrl {
                    issuer: entry.issuer,
                });
            };
            if !usable_url(&token_url) {
                return Err(OpenApiError::InvalidTokenUrl {
                    issuer: entry.issuer,
                    url: token_url,
                });
            }
            if schemes.iter().any(|s| s.name == name) {
                return Err(OpenApiError::DuplicateSchemeName { name });
            }
            schemes.push(Scheme {
                name,
                issuer: entry.issuer,
                token_url,
            });
        }
        Ok(OpenApiSecurity {
            schemes,
            recorded: self.recorded,
            descriptions: self.descriptions,
        })
    }
}

/// An absolute http(s) URL with a host and no credentials (it is published).
fn usable_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "https" | "http")
            && u.host_str().is_some()
            && u.username().is_empty()
            && u.password().is_none()
    })
}

#[cfg(test)]
mod tests;
