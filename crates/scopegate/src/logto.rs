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

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderName, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::AuthConfig;
use crate::body::AuthBody;
use crate::claims::AuthContext;
use crate::config::AuthConfigBuilder;
use crate::error::{AuthError, ErrorResponder};
use crate::guard::{GuardFuture, not_configured};
use crate::layer::Covered;

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
pub fn require_organization(from: OrganizationFrom) -> RequireOrganizationLayer {
    RequireOrganizationLayer {
        from: Arc::new(from),
    }
}

/// The layer of [`require_organization`].
#[derive(Debug, Clone)]
pub struct RequireOrganizationLayer {
    from: Arc<OrganizationFrom>,
}

impl<S> Layer<S> for RequireOrganizationLayer {
    type Service = RequireOrganization<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireOrganization {
            inner,
            from: Arc::clone(&self.from),
        }
    }
}

/// The service of [`RequireOrganizationLayer`].
#[derive(Clone)]
pub struct RequireOrganization<S> {
    inner: S,
    from: Arc<OrganizationFrom>,
}

impl<S: fmt::Debug> fmt::Debug for RequireOrganization<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireOrganization")
            .field("inner", &self.inner)
            .field("from", &self.from)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireOrganization<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (request, wanted) = self.from.find(request);
        let extensions = request.extensions();
        let responder = extensions.get::<Covered>().map(|Covered(r)| Arc::clone(r));
        let verdict = match (extensions.get::<Arc<AuthContext>>(), &responder) {
            (Some(context), _) => match (context.organization_id(), wanted.as_deref()) {
                (Some(has), Some(wanted)) if has == wanted => Ok(()),
                _ => Err(AuthError::WrongOrganization),
            },
            (None, Some(_)) => Err(AuthError::MissingToken),
            (None, None) => Err(not_configured()),
        };
        match verdict {
            Ok(()) => GuardFuture::calling(self.inner.call(request)),
            Err(error) => {
                let responder = responder.unwrap_or_else(|| Arc::new(ErrorResponder::new()));
                GuardFuture::refused(responder.respond(&error))
            }
        }
    }
}
