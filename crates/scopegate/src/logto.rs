//! Presets for [Logto](https://logto.io): issuer and JWKS derived from a Logto endpoint, and
//! organization tokens.
//!
//! A Logto tenant at `https://<tenant>.logto.app` (or a self-hosted `http://localhost:3001`)
//! issues tokens with `iss = <endpoint>/oidc` and publishes its keys at `<endpoint>/oidc/jwks`,
//! so no discovery round trip is needed.

use crate::AuthConfig;
use crate::config::AuthConfigBuilder;

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
