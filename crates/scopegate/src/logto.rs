//! The [Logto](https://logto.io) preset: issuer and JWKS derived from a Logto endpoint, and
//! Logto's organization tokens mapped onto the general [`organization`](crate::organization) and
//! [`AudienceMatcher`] mechanisms. Nothing here is known to the rest of the crate; a preset for
//! another vendor is written the same way (see ARCHITECTURE.md, "Adding a vendor preset").
//!
//! A Logto tenant at `https://<tenant>.logto.app` (or a self-hosted `http://localhost:3001`)
//! issues tokens with `iss = <endpoint>/oidc` and publishes its keys at `<endpoint>/oidc/jwks`,
//! so no discovery round trip is needed. Its opaque access tokens are introspected at
//! `<endpoint>/oidc/token/introspection` ([`introspection`]).
//!
//! ## Organizations
//! Logto issues two kinds of organization-scoped tokens:
//! * organization tokens, whose `aud` is `urn:logto:organization:<id>` (accept them with
//!   [`organization_audiences`]);
//! * tokens for organization-level API resources: `aud` is the API, plus an `organization_id`
//!   claim.
//!
//! Either way [`AuthContext::organization_id`](crate::AuthContext::organization_id) says which
//! organization (the [`config`] preset sets [`organization_sources`]), and
//! [`require_organization`] refuses (403) a token for another organization than the one the
//! request addresses:
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

use crate::audience::AudienceMatcher;
use crate::config::{AuthConfig, AuthConfigBuilder};
use crate::introspect::IntrospectionConfig;
use crate::jwks::JwksError;
use crate::organization::OrganizationSource;
use crate::resolver::{IssuerPattern, IssuerResolver, IssuerTrust, Tenant};

/// The `aud` prefix of Logto organization tokens: `urn:logto:organization:<organization id>`.
pub const ORGANIZATION_AUDIENCE_PREFIX: &str = "urn:logto:organization:";

/// The claim naming the organization of a token for an organization-level API resource.
pub const ORGANIZATION_ID_CLAIM: &str = "organization_id";

/// A config for tokens that a Logto `endpoint` issues for the API resource `resource`, with
/// the organization of a token as its
/// [`organization_id`](crate::AuthContext::organization_id).
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
        .organization_sources(organization_sources())
}

/// Introspection of Logto's opaque access tokens (those it issues when a client names no API
/// resource) at `<endpoint>/oidc/token/introspection`, authenticated as the Logto application
/// `app_id` / `app_secret` by `client_secret_basic`, as Logto wants. Logto's opaque tokens carry
/// no `aud`: keep the default, which accepts a response without one.
///
/// ```
/// use scopegate::logto;
///
/// let config = logto::config("https://my-tenant.logto.app", "https://shopping.api")
///     .introspection(logto::introspection("https://my-tenant.logto.app", "app-id", "app-secret"))
///     .build()
///     .unwrap();
/// assert_eq!(
///     config.introspection_policy(),
///     scopegate::introspect::IntrospectionPolicy::OpaqueOnly
/// );
/// ```
pub fn introspection(
    endpoint: &str,
    app_id: impl Into<String>,
    app_secret: impl Into<String>,
) -> IntrospectionConfig {
    let endpoint = endpoint.trim_end_matches('/');
    IntrospectionConfig::new(app_id, app_secret)
        .endpoint(format!("{endpoint}/oidc/token/introspection"))
}

/// Also accept organization tokens (`aud = urn:logto:organization:<id>`), with
/// [`AuthConfigBuilder::audience_matcher`]. Pair it with [`require_organization`], which checks
/// that the organization is the one the request addresses.
///
/// ```
/// use scopegate::logto;
///
/// let config = logto::config("https://my-tenant.logto.app", "https://shopping.api")
///     .audience_matcher(logto::organization_audiences())
///     .build()
///     .unwrap();
/// assert!(config.accepts_audience(&logto::organization_audience("acme")));
/// ```
pub fn organization_audiences() -> AudienceMatcher {
    AudienceMatcher::prefix(ORGANIZATION_AUDIENCE_PREFIX)
}

/// Where Logto tokens name their organization: the `organization_id` claim, else the id in an
/// `aud` of the form `urn:logto:organization:<id>`.
pub fn organization_sources() -> [OrganizationSource; 2] {
    [
        OrganizationSource::claim(ORGANIZATION_ID_CLAIM),
        OrganizationSource::audience_prefix(ORGANIZATION_AUDIENCE_PREFIX),
    ]
}

/// The audience of Logto organization tokens for `organization_id`.
pub fn organization_audience(organization_id: &str) -> String {
    format!("{ORGANIZATION_AUDIENCE_PREFIX}{organization_id}")
}

/// The issuer pattern of Logto Cloud tenants, `https://{tenant}.logto.app/oidc`: the trust
/// rule of a service whose customers each bring their own Logto tenant (see
/// [`resolver`](crate::resolver)).
///
/// ```
/// let tenants = scopegate::logto::cloud_tenants();
/// assert_eq!(tenants.tenant_of("https://abc123.logto.app/oidc"), Some("abc123"));
/// assert_eq!(tenants.tenant_of("https://abc123.logto.app.evil.example/oidc"), None);
/// ```
pub fn cloud_tenants() -> IssuerPattern {
    match IssuerPattern::new(CLOUD_TENANTS) {
        Ok(pattern) => pattern,
        // A constant, checked by the test below: this arm is never taken.
        Err(_) => unreachable!("{CLOUD_TENANTS} is a valid issuer pattern"),
    }
}

const CLOUD_TENANTS: &str = "https://{tenant}.logto.app/oidc";

/// The config of one resolved Logto tenant, as [`config`] makes it for the tenant's endpoint
/// (its issuer without `/oidc`): keys at `<endpoint>/oidc/jwks` with no discovery round trip,
/// organizations read as Logto writes them. An issuer that does not end in `/oidc` gets a config
/// for another issuer, which the resolver refuses (401).
pub fn tenant_config(tenant: &Tenant, resource: impl Into<String>) -> AuthConfigBuilder {
    let issuer = tenant.issuer();
    config(issuer.strip_suffix("/oidc").unwrap_or(issuer), resource)
}

/// A resolver for Logto tenants trusted by `trust` ([`cloud_tenants`], or the pattern of a
/// self-hosted multi-tenant deployment), each checked by [`tenant_config`] for the API
/// `resource`. Its bounds are the resolver's defaults; change them on the result.
///
/// ```
/// use scopegate::{Validator, logto};
///
/// let resolver = logto::tenant_resolver(logto::cloud_tenants(), "https://shopping.api")
///     .max_issuers(500);
/// let validator = Validator::builder().resolver(resolver).build()?;
/// # Ok::<(), scopegate::ConfigError>(())
/// ```
pub fn tenant_resolver(
    trust: impl Into<IssuerTrust>,
    resource: impl Into<String>,
) -> IssuerResolver {
    let resource: String = resource.into();
    IssuerResolver::new(trust, move |tenant: &Tenant| {
        tenant_config(tenant, resource.clone()).build()
    })
}

/// The general organization guard, under the name Logto users look for.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use crate::guard::require_organization;
pub use crate::guard::{OrganizationFrom, OrganizationRequirement};

/// What to tell a user whose issuer has no discovery document, when it looks like a Logto
/// endpoint given as the issuer: ``for Logto the issuer is `<endpoint>/oidc` ``. `None` for any
/// other error or issuer.
///
/// A Logto endpoint (`https://<tenant>.logto.app`, a custom domain, or a self-hosted one) serves
/// its OIDC documents under `/oidc` only: an issuer with no path, or a `*.logto.app` issuer whose
/// path does not end in `/oidc`, that has no discovery document is most likely the endpoint.
///
/// ```
/// use scopegate::JwksError;
///
/// let error = JwksError::NoDiscoveryDocument { issuer: "https://abc123.logto.app".into() };
/// assert_eq!(
///     scopegate::logto::discovery_hint(&error).as_deref(),
///     Some("for Logto the issuer is `https://abc123.logto.app/oidc`")
/// );
/// ```
pub fn discovery_hint(error: &JwksError) -> Option<String> {
    let JwksError::NoDiscoveryDocument { issuer } = error else {
        return None;
    };
    let url = url::Url::parse(issuer).ok()?;
    let path = url.path().trim_end_matches('/');
    let logto_host = url
        .host_str()
        .is_some_and(|host| host.ends_with(".logto.app"));
    (path.is_empty() || (logto_host && !path.ends_with("/oidc"))).then(|| {
        format!(
            "for Logto the issuer is `{}/oidc`",
            issuer.trim_end_matches('/')
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cloud_pattern_is_valid() {
        assert!(super::IssuerPattern::new(super::CLOUD_TENANTS).is_ok());
    }
}
