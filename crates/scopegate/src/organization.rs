//! Organizations (tenants, workspaces): which one a token is for. The guard that refuses a token
//! for another organization than the one the request addresses is
//! [`guard::require_organization`](crate::guard::require_organization).
//!
//! Issuers say it differently: Logto puts an `organization_id` claim or an `aud` of
//! `urn:logto:organization:<id>`, Auth0 an `org_id` claim, Entra ID a `tid` claim. A
//! [`OrganizationSource`] maps one of these to [`AuthContext::organization_id`](crate::AuthContext::organization_id); presets such as
//! [`logto`](crate::logto) only choose the sources.
//!
//! ```
//! use axum::{Router, routing::get};
//! use scopegate::guard::{OrganizationFrom, require_organization};
//! use scopegate::organization::OrganizationSource;
//! use scopegate::{AuthConfig, BearerAuthLayer, Validator};
//!
//! # fn demo() -> Result<(), scopegate::ConfigError> {
//! let config = AuthConfig::builder("https://shop.eu.auth0.com/", "https://shopping.api")
//!     .organization_sources([OrganizationSource::claim("org_id")])
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/orgs/{org_id}/orders", get(|| async { "[]" }))
//!     .route_layer(require_organization(OrganizationFrom::path("org_id")))
//!     .route_layer(BearerAuthLayer::new(Validator::new(config)?));
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use crate::claims::Claims;

/// A function from verified claims to the token's organization.
pub type OrganizationMapper = Arc<dyn Fn(&Claims) -> Option<String> + Send + Sync>;

/// Where a token names its organization. A source that is absent (or not a string) gives none.
#[derive(Clone)]
#[non_exhaustive]
pub enum OrganizationSource {
    /// A string claim, e.g. `organization_id` (Logto), `org_id` (Auth0), `tid` (Entra ID).
    Claim(String),
    /// The rest of an `aud` value after this prefix (at least one character), e.g. Logto's
    /// `urn:logto:organization:`.
    AudiencePrefix(String),
    /// Any other shape.
    Function(OrganizationMapper),
}

impl OrganizationSource {
    /// [`Claim`](OrganizationSource::Claim).
    pub fn claim(name: impl Into<String>) -> OrganizationSource {
        OrganizationSource::Claim(name.into())
    }

    /// [`AudiencePrefix`](OrganizationSource::AudiencePrefix).
    pub fn audience_prefix(prefix: impl Into<String>) -> OrganizationSource {
        OrganizationSource::AudiencePrefix(prefix.into())
    }

    /// [`Function`](OrganizationSource::Function).
    pub fn function(
        map: impl Fn(&Claims) -> Option<String> + Send + Sync + 'static,
    ) -> OrganizationSource {
        OrganizationSource::Function(Arc::new(map))
    }

    /// The organization this source finds in `claims`.
    pub(crate) fn find(&self, claims: &Claims) -> Option<Box<str>> {
        match self {
            OrganizationSource::Claim(name) => claims.str_claim(name).map(Box::from),
            OrganizationSource::AudiencePrefix(prefix) => claims
                .audience()
                .iter()
                .filter_map(|aud| aud.strip_prefix(prefix.as_str()))
                .find(|rest| !rest.is_empty())
                .map(Box::from),
            OrganizationSource::Function(map) => map(claims).map(String::into_boxed_str),
        }
    }
}

impl fmt::Debug for OrganizationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrganizationSource::Claim(name) => f.debug_tuple("Claim").field(name).finish(),
            OrganizationSource::AudiencePrefix(p) => {
                f.debug_tuple("AudiencePrefix").field(p).finish()
            }
            OrganizationSource::Function(_) => f.write_str("Function(..)"),
        }
    }
}
