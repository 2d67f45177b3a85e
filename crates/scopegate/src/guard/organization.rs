//! The organization guard: the token's organization
//! ([`AuthContext::organization_id`](crate::AuthContext::organization_id), read by the issuer's
//! [`OrganizationSource`](crate::organization::OrganizationSource)s) must be the one the request
//! names, in a path parameter or a header.

use http::HeaderName;
use http::request::Parts;

use super::Requirement;
use crate::claims::AuthContext;
use crate::error::AuthError;

/// Where a request names the organization it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrganizationFrom {
    /// An axum path parameter, e.g. `org_id` in `/orgs/{org_id}/orders`.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    PathParam(String),
    /// A request header, e.g. `X-Organization-Id` (exactly one such header).
    Header(HeaderName),
}

impl OrganizationFrom {
    /// The axum path parameter `name`.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn path(name: impl Into<String>) -> OrganizationFrom {
        OrganizationFrom::PathParam(name.into())
    }

    /// The request header `name`.
    pub fn header(name: HeaderName) -> OrganizationFrom {
        OrganizationFrom::Header(name)
    }
}

/// `Ok` when the token's organization is the one the request names; both must be present.
fn same_organization(context: &AuthContext, wanted: Option<&str>) -> Result<(), AuthError> {
    match (context.organization_id(), wanted) {
        (Some(has), Some(wanted)) if has == wanted => Ok(()),
        _ => Err(AuthError::WrongOrganization),
    }
}

/// The value of the one `name` header; none if absent, repeated or not visible ASCII.
fn single_header<'p>(parts: &'p Parts, name: &HeaderName) -> Option<&'p str> {
    let mut values = parts.headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

/// A [`Requirement`] for [`GuardLayer`](super::GuardLayer): the organization named by a request
/// header must be the token's. Works without the `axum` feature; with it, [`require_organization`]
/// also reads path parameters.
#[derive(Debug, Clone)]
pub struct OrganizationRequirement {
    header: HeaderName,
}

impl OrganizationRequirement {
    /// The organization is named by the header `name`.
    pub fn header(name: HeaderName) -> OrganizationRequirement {
        OrganizationRequirement { header: name }
    }
}

impl Requirement for OrganizationRequirement {
    fn check(&self, context: &AuthContext, parts: &Parts) -> Result<(), AuthError> {
        same_organization(context, single_header(parts, &self.header))
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::axum_guard::{OrganizationLayer, OrganizationMatches, require_organization};

/// Path parameters live in axum's router and are read through its extractor, so the organization
/// guard is axum's `from_extractor` middleware, which awaits extractors as axum itself does.
#[cfg(feature = "axum")]
mod axum_guard {
    use std::sync::Arc;

    use axum::extract::{FromRequestParts, RawPathParams};
    use http::request::Parts;

    use super::{OrganizationFrom, same_organization, single_header};
    use crate::extract::{AuthRejection, required};

    /// Requires the token's organization
    /// ([`AuthContext::organization_id`](crate::AuthContext::organization_id)) to be the one the
    /// request names; `403 insufficient_scope` otherwise, `401` without a token.
    pub fn require_organization(from: OrganizationFrom) -> OrganizationLayer {
        axum::middleware::from_extractor_with_state(Arc::new(from))
    }

    /// The layer of [`require_organization`], for `route_layer`.
    pub type OrganizationLayer =
        axum::middleware::FromExtractorLayer<OrganizationMatches, Arc<OrganizationFrom>>;

    /// Proof that the request's organization is the token's: the extractor behind
    /// [`require_organization`].
    #[derive(Debug, Clone, Copy)]
    #[non_exhaustive]
    pub struct OrganizationMatches;

    impl FromRequestParts<Arc<OrganizationFrom>> for OrganizationMatches {
        type Rejection = AuthRejection;

        async fn from_request_parts(
            parts: &mut Parts,
            from: &Arc<OrganizationFrom>,
        ) -> Result<Self, AuthRejection> {
            let context = required(&parts.extensions)
                .map_err(|rejection| rejection.shaped(parts))?
                .into_context();
            let verdict = match &**from {
                OrganizationFrom::Header(name) => {
                    same_organization(&context, single_header(parts, name))
                }
                OrganizationFrom::PathParam(name) => {
                    let params = RawPathParams::from_request_parts(parts, from).await.ok();
                    let wanted = params.as_ref().and_then(|params| {
                        params
                            .iter()
                            .find(|(key, _)| *key == name.as_str())
                            .map(|(_, v)| v)
                    });
                    same_organization(&context, wanted)
                }
            };
            verdict
                .map(|()| OrganizationMatches)
                .map_err(|error| AuthRejection::new(error, parts))
        }
    }
}
