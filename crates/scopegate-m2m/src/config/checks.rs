//! Checks of the builder's inputs: the token URL, API origins, scopes, resources, and the
//! Basic credentials header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use url::Url;

use crate::error::ConfigError;
use crate::redact::{form_encode, without_userinfo};

/// RFC 6749 §2.3.1: id and secret are form-encoded first, then joined by `:` and base64'd.
pub(super) fn basic_header(
    client_id: &str,
    client_secret: &str,
) -> Result<HeaderValue, ConfigError> {
    let credentials = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
        .map_err(|_| ConfigError::InvalidSetting("the client credentials do not fit a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

pub(super) fn parse_token_url(raw: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::InvalidTokenUrl {
        url: without_userinfo(raw),
        reason,
    };
    let url = Url::parse(raw).map_err(|_| invalid("not an absolute URL"))?;
    match url.scheme() {
        "https" | "http" => {}
        _ => return Err(invalid("the scheme must be https")),
    }
    if url.fragment().is_some() {
        return Err(invalid("it must not have a fragment (RFC 6749 §3.2)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "it must not contain user info; give the client id and secret separately",
        ));
    }
    if !scopegate_http::is_secure(&url, allow_insecure_http) {
        return Err(ConfigError::InsecureTokenUrl(url.to_string()));
    }
    Ok(url)
}

/// An API origin for the allow-list: an absolute http(s) URL with nothing but an origin.
pub(super) fn parse_api_origin(raw: &str) -> Result<url::Origin, ConfigError> {
    let invalid = |reason| ConfigError::InvalidApiOrigin {
        origin: without_userinfo(raw),
        reason,
    };
    let url = Url::parse(raw).map_err(|_| invalid("not an absolute URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("the scheme must be https or http"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain user info"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must be an origin only: scheme://host[:port]"));
    }
    Ok(url.origin())
}

/// Splits space-separated lists, checks each scope token (RFC 6749 §3.3:
/// `1*( %x21 / %x23-5B / %x5D-7E )`) and drops duplicates, keeping the first order.
pub(super) fn split_scopes(raw: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut scopes: Vec<String> = Vec::new();
    for list in raw {
        for scope in list.split(' ').filter(|s| !s.is_empty()) {
            let valid = scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(ConfigError::InvalidScope(scope.to_owned()));
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
    }
    Ok(scopes)
}

/// RFC 8707 §2: an absolute URI without a fragment.
pub(super) fn check_resource(resource: &str) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidResource {
        resource: resource.to_owned(),
        reason,
    };
    let url = Url::parse(resource).map_err(|_| invalid("not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(invalid("it must not have a fragment"));
    }
    Ok(())
}
