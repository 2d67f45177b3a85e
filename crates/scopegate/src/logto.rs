//! Presets for [Logto](https://logto.io): issuer and JWKS derived from a Logto endpoint, and
//! organization tokens.
//!
//! A Logto tenant at `https://<tenant>.logto.app` (or a self-hosted `http://localhost:3001`)
//! issues tokens with `iss = <endpoint>/oidc` and publishes its keys at `<endpoint>/oidc/jwks`,
//! so no discovery round trip is needed.
//!
//! ## Organizations
//! Logto issues two kinds of organization-scoped tokens:
//! * organization tokens, whose `aud` is `urn:logto:organization:<id>` (accept them with
//!   [`AuthConfigBuilder::logto_organization_audiences`]);
//! * tokens for organization-level API resources: `aud` is the API, plus an `organization_id`
//!   claim.
//!
//! Either way [`AuthContext::organization_id`](crate::AuthContext::organization_id) says which
//! organization, and [`require_organization`] refuses (403) a token for another organization than
//! the one the request addresses:
//!
//! ```
//! use axum::{Router, routing::get};
//! use scopegate::logto::{OrganizationFrom, require_organization};
//!
//! let app: Router = Router::new().route(
//!     "/orgs/{org_id}/orders",
//!     get(|| async { "[]" }).route_layer(require_organization(OrganizationFrom::path("org_id"))),
//! );
//! ```

use http::{HeaderName, Request};

use crate::AuthConfig;
use crate::claims::AuthContext;
use crate::config::AuthConfigBuilder;
use crate::error::AuthError;
use crate::guard::{GuardLayer, Requirement};

/// The `aud` prefix of Logto organization tokens: `urn:logto:organization:<organization id>`.
pub const ORGANIZATION_AUDIENCE_PREFIX: &str = "urn:logto:organization:";

/// A config for tokens that a Logto `endpoint` issues for the API resource `resource`.
///
/// ```
/// let config = scopegate::logto::config("https://my-tenant.logto.app/", "https://shopping.api")
///     .build()
///     .unwrap();
/// assert_eq!(config.issuer(), "https://my-tenant.logto.app/oidc");
/// ```
pub fn config(endpoint: &str, resource: impl Into<String>) -> AuthConfigBuilder {
    let endpoint = endpoint.trim_end_matches('/');
    AuthConfig::builder(format!("{endpoint}/oidc"), resource)
        .jwks_uri(format!("{endpoint}/oidc/jwks"))
}

/// The audience of Logto organization tokens for `organization_id`.
pub fn organization_audience(organization_id: &str) -> String {
    format!("{ORGANIZATION_AUDIENCE_PREFIX}{organization_id}")
}

/// Where a request names the organization it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrganizationFrom {
    /// An axum path parameter, e.g. `org_id` in `/orgs/{org_id}/orders`.
    #[cfg(feature = "axum")]
    PathParam(String),
    /// A request header, e.g. `X-Organization-Id`.
    Header(HeaderName),
}

impl OrganizationFrom {
    /// The axum path parameter `name`.
    #[cfg(feature = "axum")]
    pub fn path(name: impl Into<String>) -> OrganizationFrom {
        OrganizationFrom::PathParam(name.into())
    }

    /// The organization the request names (taking and giving back the request: reading a path
    /// parameter needs its parts).
    fn find<B>(&self, request: Request<B>) -> (Request<B>, Option<String>) {
        match self {
            #[cfg(feature = "axum")]
            OrganizationFrom::PathParam(name) => path_param(request, name),
            OrganizationFrom::Header(name) => {
                let mut values = request.headers().get_all(name).iter();
                let found = match (values.next(), values.next()) {
                    (Some(value), None) => value.to_str().ok().map(str::to_owned),
                    _ => None,
                };
                (request, found)
            }
        }
    }
}

/// Reads a path parameter the way axum's `RawPathParams` extractor does; its future needs no
/// I/O and completes on its first poll.
#[cfg(feature = "axum")]
fn path_param<B>(request: Request<B>, name: &str) -> (Request<B>, Option<String>) {
    use axum::extract::{FromRequestParts, RawPathParams};
    use std::future::Future;
    use std::task::{Context, Poll};

    let (mut parts, body) = request.into_parts();
    let found = {
        let mut future = std::pin::pin!(RawPathParams::from_request_parts(&mut parts, &()));
        match future
            .as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(Ok(params)) => params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned()),
            _ => None,
        }
    };
    (Request::from_parts(parts, body), found)
}

/// Requires the token's organization to be the one the request names; 403 otherwise.
pub fn require_organization(from: OrganizationFrom) -> GuardLayer<OrganizationRequirement> {
    GuardLayer::new(OrganizationRequirement { from })
}

/// The requirement of [`require_organization`].
#[derive(Debug)]
pub struct OrganizationRequirement {
    from: OrganizationFrom,
}

impl Requirement for OrganizationRequirement {
    fn check<B>(
        &self,
        context: &AuthContext,
        request: Request<B>,
    ) -> (Request<B>, Result<(), AuthError>) {
        let (request, wanted) = self.from.find(request);
        let verdict = match (context.organization_id(), wanted.as_deref()) {
            (Some(has), Some(wanted)) if has == wanted => Ok(()),
            _ => Err(AuthError::WrongOrganization),
        };
        (request, verdict)
    }
}
