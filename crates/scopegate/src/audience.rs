//! Which `aud` values an issuer's tokens may carry (RFC 7519 §4.1.3, RFC 9068 §4): the API's
//! resource indicator exactly, a family of audiences sharing a prefix, or your own function.
//!
//! A token is accepted when any of its `aud` values matches any of the config's matchers:
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
        }
    }

    /// An empty exact value or prefix would accept what no one meant to accept.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            AudienceMatcher::Exact(value) | AudienceMatcher::Prefix(value) => value.is_empty(),
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
}
