//! Which `aud` values an issuer's tokens may carry (RFC 7519 §4.1.3, RFC 9068 §4): the API's
//! resource indicator exactly, a family of audiences sharing a prefix, or your own function.
//!
//! A token is accepted when any of its `aud` values matches any of the config's matchers.
//! Exact comparison is the default; [`AudienceMatcher::uri`] (or
//! [`AuthConfigBuilder::normalize_uri_audiences`](crate::AuthConfigBuilder::normalize_uri_audiences))
//! opts in to comparing URIs after RFC 3986 normalization, for clients (MCP clients among them)
//! that send the canonical URI of a server whose audience is written another way:
//!
//! ```
//! use scopegate::{AudienceMatcher, AuthConfig};
//!
//! let config = AuthConfig::builder("https://id.example.com/", "https://shopping.api")
//!     // e.g. one audience per workspace: urn:example:workspace:<id>
//!     .audience_matcher(AudienceMatcher::prefix("urn:example:workspace:"))
//!     .build()
//!     .unwrap();
//! assert!(config.accepts_audience("urn:example:workspace:42"));
//! assert!(!config.accepts_audience("urn:example:workspace:"));
//! ```

use std::fmt;
use std::sync::Arc;

/// A rule for accepted `aud` values.
#[derive(Clone)]
#[non_exhaustive]
pub enum AudienceMatcher {
    /// Exactly this value, byte for byte (the usual case: the API's resource indicator).
    Exact(String),
    /// This prefix followed by at least one character, e.g. Logto's
    /// `urn:logto:organization:<id>`: the family is accepted, a bare prefix is not.
    Prefix(String),
    /// Any value the function accepts.
    Function(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// An absolute URI, compared after RFC 3986 normalization of both sides: scheme and host
    /// case, the scheme's default port, an empty path versus `/`, dot segments, percent-encoding
    /// case and unreserved characters (§6.2.2, §6.2.3).
    Uri(UriAudience),
}

/// The configured URI of an [`AudienceMatcher::Uri`], and its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriAudience {
    configured: String,
    /// `None` when `configured` is no absolute URI: the config is then refused when built.
    normalized: Option<String>,
}

impl UriAudience {
    /// The URI as configured.
    pub fn configured(&self) -> &str {
        &self.configured
    }

    /// The normalized form, `None` if the configured value is not an absolute URI.
    pub fn normalized(&self) -> Option<&str> {
        self.normalized.as_deref()
    }
}

/// `value` normalized by RFC 3986 §6.2.2 and §6.2.3, or `None` if it is not an absolute URI.
///
/// The `url` crate does the scheme-based part (case, default port, empty path, dot segments);
/// percent-encodings are then brought to one form (§6.2.2.1 upper-case hex, §6.2.2.2 unreserved
/// characters decoded), which it leaves as written.
pub fn normalize_uri(value: &str) -> Option<String> {
    // The parser silently drops tabs and line breaks and trims spaces; a value carrying them is
    // not the URI it would be read as.
    if value.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let url = url::Url::parse(value).ok()?;
    let text = url.as_str();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let decoded = (high * 16 + low) as u8;
            if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1]).to_ascii_uppercase());
                out.push(char::from(bytes[i + 2]).to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    Some(out)
}

impl AudienceMatcher {
    /// [`Exact`](AudienceMatcher::Exact).
    pub fn exact(audience: impl Into<String>) -> AudienceMatcher {
        AudienceMatcher::Exact(audience.into())
    }

    /// [`Prefix`](AudienceMatcher::Prefix).
    pub fn prefix(prefix: impl Into<String>) -> AudienceMatcher {
        AudienceMatcher::Prefix(prefix.into())
    }

    /// [`Uri`](AudienceMatcher::Uri): `uri` compared after RFC 3986 normalization. A value
    /// that is not an absolute URI makes the config's build fail
    /// ([`ConfigError::AudienceNotAUri`](crate::ConfigError::AudienceNotAUri)).
    ///
    /// ```
    /// use scopegate::{AudienceMatcher, AuthConfig};
    ///
    /// let config = AuthConfig::builder("https://id.example.com/", "https://placeholder.invalid")
    ///     .audience_matcher(AudienceMatcher::uri("https://API.example.com:443/mcp"))
    ///     .build()
    ///     .unwrap();
    /// assert!(config.accepts_audience("https://api.example.com/mcp"));
    /// assert!(!config.accepts_audience("https://api.example.com/mcp/"));
    /// ```
    pub fn uri(uri: impl Into<String>) -> AudienceMatcher {
        let configured = uri.into();
        let normalized = normalize_uri(&configured);
        AudienceMatcher::Uri(UriAudience {
            configured,
            normalized,
        })
    }

    /// [`Function`](AudienceMatcher::Function).
    pub fn function(accepts: impl Fn(&str) -> bool + Send + Sync + 'static) -> AudienceMatcher {
        AudienceMatcher::Function(Arc::new(accepts))
    }

    /// Whether `aud` is accepted.
    pub fn matches(&self, aud: &str) -> bool {
        match self {
            AudienceMatcher::Exact(exact) => exact == aud,
            AudienceMatcher::Prefix(prefix) => aud
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| !rest.is_empty()),
            AudienceMatcher::Function(accepts) => accepts(aud),
            AudienceMatcher::Uri(uri) => {
                // Byte-equal values match without the cost of parsing.
                uri.configured == aud
                    || uri.normalized.as_deref().is_some_and(|expected| {
                        normalize_uri(aud).is_some_and(|given| given == expected)
                    })
            }
        }
    }

    /// The one value this matcher names, as configured: an exact audience or a URI (what a
    /// protected-resource document may call its `resource`).
    pub fn configured_value(&self) -> Option<&str> {
        match self {
            AudienceMatcher::Exact(value) => Some(value),
            AudienceMatcher::Uri(uri) => Some(&uri.configured),
            AudienceMatcher::Prefix(_) | AudienceMatcher::Function(_) => None,
        }
    }

    /// An empty exact value or prefix would accept what no one meant to accept.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            AudienceMatcher::Exact(value) | AudienceMatcher::Prefix(value) => value.is_empty(),
            AudienceMatcher::Uri(uri) => uri.configured.is_empty(),
            AudienceMatcher::Function(_) => false,
        }
    }
}

impl fmt::Debug for AudienceMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudienceMatcher::Exact(value) => f.debug_tuple("Exact").field(value).finish(),
            AudienceMatcher::Prefix(value) => f.debug_tuple("Prefix").field(value).finish(),
            AudienceMatcher::Function(_) => f.write_str("Function(..)"),
            AudienceMatcher::Uri(uri) => f.debug_tuple("Uri").field(&uri.configured).finish(),
        }
    }
}

impl fmt::Display for AudienceMatcher {
    /// `value`, `prefix*` or `<function>`: for log lines and error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudienceMatcher::Exact(value) => f.write_str(value),
            AudienceMatcher::Prefix(prefix) => write!(f, "{prefix}*"),
            AudienceMatcher::Function(_) => f.write_str("<function>"),
            AudienceMatcher::Uri(uri) => write!(f, "{} (normalized)", uri.configured),
        }
    }
}

impl From<&str> for AudienceMatcher {
    fn from(value: &str) -> Self {
        AudienceMatcher::exact(value)
    }
}

impl From<String> for AudienceMatcher {
    fn from(value: String) -> Self {
        AudienceMatcher::Exact(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_function() {
        let exact = AudienceMatcher::exact("https://shopping.api");
        assert!(exact.matches("https://shopping.api"));
        assert!(!exact.matches("https://shopping.api/") && !exact.matches("https://shopping"));
        let prefix = AudienceMatcher::prefix("urn:org:");
        assert!(prefix.matches("urn:org:acme"));
        assert!(!prefix.matches("urn:org:") && !prefix.matches("urn:or"));
        let function = AudienceMatcher::function(|aud| aud.ends_with(".internal"));
        assert!(function.matches("billing.internal") && !function.matches("billing"));
        assert_eq!(prefix.to_string(), "urn:org:*");
        assert!(AudienceMatcher::exact("").is_empty() && AudienceMatcher::prefix("").is_empty());
    }

    #[test]
    fn uris_normalize_by_rfc_3986() {
        let same = [
            ("HTTPS://Api.Example.COM", "https://api.example.com/"),
            (
                "https://api.example.com:443/a/./b/../c",
                "https://api.example.com/a/c",
            ),
            (
                "http://api.example.com:80/%7euser/%2f%2F",
                "http://api.example.com/~user/%2F%2F",
            ),
            (
                "https://api.example.com:8443/mcp?x=%41",
                "https://api.example.com:8443/mcp?x=A",
            ),
        ];
        for (given, normalized) in same {
            assert_eq!(normalize_uri(given).as_deref(), Some(normalized), "{given}");
        }
        for refused in [
            "",
            "mcp",
            "https://api.example.com/\tmcp",
            " https://a.b",
            "https://a.b\n",
        ] {
            assert_eq!(normalize_uri(refused), None, "{refused:?}");
        }
        let uri = AudienceMatcher::uri("https://api.example.com/mcp");
        assert!(uri.matches("https://API.example.com:443/mcp"));
        assert!(!uri.matches("https://api.example.com/mcp/"));
        assert_eq!(uri.configured_value(), Some("https://api.example.com/mcp"));
        assert_eq!(AudienceMatcher::prefix("x").configured_value(), None);
    }
}
