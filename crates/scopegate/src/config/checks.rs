//! The checks of [`AuthConfigBuilder::build`](super::AuthConfigBuilder::build) that need more
//! than a line: the issuer's discoverability, the JWKS policy's limits and the introspection
//! config.

#[cfg(feature = "remote")]
use url::Url;

use super::ConfigError;
#[cfg(feature = "remote")]
use crate::introspect::IntrospectionConfig;
use crate::jwks::JwksPolicy;

#[cfg(feature = "remote")]
/// Why an issuer cannot be discovered, in the words that point to the fix.
pub(super) fn check_discoverable(
    issuer: &str,
    secure: impl Fn(&Url) -> bool,
) -> Result<(), ConfigError> {
    match Url::parse(issuer) {
        Ok(url) if secure(&url) => Ok(()),
        Ok(url) if url.scheme() == "http" => {
            Err(ConfigError::IssuerNotDiscoverable(issuer.to_owned()))
        }
        // `tenant.logto.app/oidc` does not parse; `localhost:3001/oidc` parses with the scheme
        // `localhost`: both are a host written without a scheme.
        Err(url::ParseError::RelativeUrlWithoutBase) if !issuer.contains(char::is_whitespace) => {
            Err(ConfigError::IssuerMissingScheme(issuer.to_owned()))
        }
        Ok(url) if url.cannot_be_a_base() => {
            Err(ConfigError::IssuerMissingScheme(issuer.to_owned()))
        }
        _ => Err(ConfigError::IssuerNotAUrl(issuer.to_owned())),
    }
}

pub(super) fn check_policy(policy: &JwksPolicy) -> Result<(), ConfigError> {
    let problem = if policy.fetch_timeout.is_zero() {
        Some("fetch_timeout is zero")
    } else if policy.min_refresh_interval.is_zero() {
        Some("min_refresh_interval is zero")
    } else if policy.min_refresh_interval > policy.max_refresh_interval {
        Some("min_refresh_interval exceeds max_refresh_interval")
    } else if policy.retry_initial.is_zero() || policy.retry_initial > policy.retry_max {
        Some("retry_initial is zero or exceeds retry_max")
    } else if policy.max_body_bytes == 0 || policy.max_keys == 0 {
        Some("a size limit is zero")
    } else {
        None
    };
    problem.map_or(Ok(()), |p| Err(ConfigError::InvalidPolicy(p)))
}

#[cfg(feature = "remote")]
/// Whether the introspection config can work: its limits, and an endpoint that is a URL without
/// credentials, secure (https, or loopback) unless `secure` allows more; without an endpoint,
/// the issuer must be discoverable.
pub(super) fn check_introspection(
    introspection: &IntrospectionConfig,
    issuer: &str,
    secure: impl Fn(&Url) -> bool,
) -> Result<(), ConfigError> {
    if let Some(problem) = introspection.problem() {
        return Err(ConfigError::InvalidIntrospection(problem));
    }
    let Some(uri) = &introspection.endpoint else {
        return check_discoverable(issuer, secure);
    };
    let url = Url::parse(uri).map_err(|_| ConfigError::InvalidIntrospectionUrl(uri.clone()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::CredentialsInUrl("introspection URL"));
    }
    if !secure(&url) {
        return Err(ConfigError::InsecureIntrospectionUrl(uri.clone()));
    }
    Ok(())
}
