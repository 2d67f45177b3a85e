//! The issuer's signing keys: parsing a JWKS into a [`KeySet`], finding its URL by discovery,
//! fetching it, and keeping it fresh without ever hammering the issuer.

#[cfg(feature = "remote")]
pub(crate) mod fetch;
mod key;
mod set;
mod source;

use std::time::Duration;

pub use key::{KeyKind, SkippedKey, VerificationKey};
pub(crate) use set::KeyLookup;
pub use set::{DEFAULT_MAX_KEYS, KeySet};
pub use source::{IssuerReadiness, JwksStats};
pub(crate) use source::{KeySource, RefreshReason};

#[cfg(feature = "remote")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
pub use fetch::{MAX_REDIRECTS, redirect_policy};

/// A `reqwest::ClientBuilder` set up like scopegate's own client: TLS on the enabled crypto
/// backend's provider (with `rust-crypto` alone: ring, or the rustls provider your application
/// installed, never aws-lc-rs), redirects checked by [`redirect_policy`]. Add your proxies or
/// roots, build it, and pass it to
/// [`AuthConfigBuilder::http_client`](crate::AuthConfigBuilder::http_client).
///
/// A plain `reqwest::Client::builder()` works too when your own reqwest has a TLS feature; with
/// `rust-crypto` alone scopegate's reqwest has no provider of its own, and a client built
/// without one panics in reqwest.
///
/// ```
/// let client = scopegate::jwks::client_builder(false)?
///     .timeout(std::time::Duration::from_secs(3))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "remote")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
pub fn client_builder(allow_insecure_http: bool) -> Result<reqwest::ClientBuilder, JwksError> {
    let builder =
        scopegate_http::client_builder().map_err(|e| JwksError::TlsSetup(e.to_string()))?;
    Ok(builder.redirect(redirect_policy(allow_insecure_http)))
}

/// The HTTP side of a key source: one per issuer, built from the user's client, or else
/// [`client_builder`]'s. An error says why the default client could not be built.
#[cfg(feature = "remote")]
pub(crate) fn fetcher(
    client: Option<reqwest::Client>,
    max_body_bytes: usize,
    allow_insecure_http: bool,
) -> Result<fetch::Fetcher, String> {
    let client = match client {
        Some(client) => client,
        // No idle connections: a pooled one belongs to the runtime that opened it, and one left
        // on a runtime that is no longer driven would hang the next fetch from another. A fetch
        // a minute gains nothing from a pool.
        None => client_builder(allow_insecure_http)
            .map_err(|e| e.to_string())?
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| scopegate_http::error_chain(&e))?,
    };
    Ok(fetch::Fetcher::new(
        client,
        max_body_bytes,
        allow_insecure_http,
    ))
}

/// Where the issuer's keys come from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum JwksSource {
    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`, falling back to
    /// RFC 8414 `/.well-known/oauth-authorization-server`; its `jwks_uri` is then fetched.
    #[default]
    Discovery,
    /// This JWKS URL (e.g. Logto's `<endpoint>/oidc/jwks`).
    Uri(url::Url),
    /// A fixed key set, never fetched (tests, air-gapped deployments).
    Static(KeySet),
}

/// How the key set is fetched and refreshed. The defaults suit public issuers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksPolicy {
    /// Time limit for one fetch, discovery included (default 5 s). Also the margin after which a
    /// scheduled refresh that no background task ran (its runtime ended or stalls) is run by the
    /// next request: a key set is never used past its refresh time by more than this plus 1 s.
    pub fetch_timeout: Duration,
    /// Least time between two fetches caused by unknown `kid`s (default 10 s).
    pub unknown_kid_cooldown: Duration,
    /// Floor of the refresh interval taken from `Cache-Control: max-age` (default 1 min). Logto
    /// sends `max-age=0`; this keeps it to one fetch a minute.
    pub min_refresh_interval: Duration,
    /// Ceiling of the refresh interval (default 24 h).
    pub max_refresh_interval: Duration,
    /// Refresh interval when the response has no `max-age` (default 10 min).
    pub default_refresh_interval: Duration,
    /// First retry delay after a failed fetch; doubles per failure, with jitter (default 1 s).
    pub retry_initial: Duration,
    /// Longest retry delay (default 5 min).
    pub retry_max: Duration,
    /// Largest JWKS (or discovery) body accepted (default 512 KiB).
    pub max_body_bytes: usize,
    /// Most keys a JWKS may list (default 100).
    pub max_keys: usize,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        JwksPolicy {
            fetch_timeout: Duration::from_secs(5),
            unknown_kid_cooldown: Duration::from_secs(10),
            min_refresh_interval: Duration::from_secs(60),
            max_refresh_interval: Duration::from_secs(24 * 3600),
            default_refresh_interval: Duration::from_secs(600),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            max_body_bytes: 512 * 1024,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }
}

/// Builder methods, one per field, so that a policy is written in one expression (the struct is
/// `#[non_exhaustive]`: it cannot be built with a literal outside this crate).
///
/// ```
/// use std::time::Duration;
/// let policy = scopegate::JwksPolicy::default()
///     .fetch_timeout(Duration::from_secs(2))
///     .unknown_kid_cooldown(Duration::from_secs(30));
/// assert_eq!(policy.fetch_timeout, Duration::from_secs(2));
/// ```
impl JwksPolicy {
    /// Sets [`fetch_timeout`](Self::fetch_timeout).
    #[must_use]
    pub fn fetch_timeout(mut self, fetch_timeout: Duration) -> Self {
        self.fetch_timeout = fetch_timeout;
        self
    }

    /// Sets [`unknown_kid_cooldown`](Self::unknown_kid_cooldown).
    #[must_use]
    pub fn unknown_kid_cooldown(mut self, unknown_kid_cooldown: Duration) -> Self {
        self.unknown_kid_cooldown = unknown_kid_cooldown;
        self
    }

    /// Sets [`min_refresh_interval`](Self::min_refresh_interval).
    #[must_use]
    pub fn min_refresh_interval(mut self, min_refresh_interval: Duration) -> Self {
        self.min_refresh_interval = min_refresh_interval;
        self
    }

    /// Sets [`max_refresh_interval`](Self::max_refresh_interval).
    #[must_use]
    pub fn max_refresh_interval(mut self, max_refresh_interval: Duration) -> Self {
        self.max_refresh_interval = max_refresh_interval;
        self
    }

    /// Sets [`default_refresh_interval`](Self::default_refresh_interval).
    #[must_use]
    pub fn default_refresh_interval(mut self, default_refresh_interval: Duration) -> Self {
        self.default_refresh_interval = default_refresh_interval;
        self
    }

    /// Sets [`retry_initial`](Self::retry_initial).
    #[must_use]
    pub fn retry_initial(mut self, retry_initial: Duration) -> Self {
        self.retry_initial = retry_initial;
        self
    }

    /// Sets [`retry_max`](Self::retry_max).
    #[must_use]
    pub fn retry_max(mut self, retry_max: Duration) -> Self {
        self.retry_max = retry_max;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    #[must_use]
    pub fn max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Sets [`max_keys`](Self::max_keys).
    #[must_use]
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }
}

/// Why fetching or parsing a key set (or discovery document) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Connecting or reading failed.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// The URL fetched.
        url: String,
        /// What the HTTP client said.
        message: String,
    },
    /// The fetch took longer than the policy's timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL fetched.
        url: String,
    },
    /// A non-success status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body was larger than the policy allows.
    #[error("response body exceeds {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The body is not JSON.
    #[error("response is not JSON")]
    NotJson,
    /// The body is JSON but has no `keys` array.
    #[error("response is not a JWK set")]
    NotAJwks,
    /// More keys than the policy allows.
    #[error("JWK set lists {count} keys, more than the limit of {max}")]
    TooManyKeys {
        /// Keys listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Not one key could be used.
    #[error("JWK set has no usable signing key")]
    NoUsableKeys,
    /// The discovery document is unusable (no `jwks_uri`, or another `issuer`).
    #[error("discovery document is unusable: {0}")]
    Discovery(&'static str),
    /// A URL is not https (plain http is allowed for loopback hosts only).
    #[error(
        "refusing insecure URL {0}: use https (or, on a closed test network only, \
         AuthConfigBuilder::allow_insecure_http())"
    )]
    InsecureUrl(String),
    /// A redirect broke the rule every hop is held to (https, no credentials in the URL), or
    /// there were more than [`MAX_REDIRECTS`]; with your own client, the response's final URL
    /// broke it.
    #[error("refusing redirect of {url}: {reason}")]
    Redirect {
        /// The URL fetched.
        url: String,
        /// Where it led and why that is refused.
        reason: String,
    },
    /// The discovery document names another issuer than the configured one (OIDC Discovery
    /// §4.3, RFC 8414 §3.3: they must be equal, byte for byte).
    #[error(
        "the discovery document names the issuer {document:?}, but the configured issuer is \
         {configured:?}: they must be equal byte for byte (a trailing slash counts); configure \
         the issuer exactly as the document writes it"
    )]
    IssuerMismatch {
        /// The configured issuer.
        configured: String,
        /// The document's `issuer`, if it has one.
        document: Option<String>,
    },
    /// TLS could not be set up for the default HTTP client (e.g. the platform's root
    /// certificates could not be read).
    #[error("cannot set up TLS for the HTTP client: {0}")]
    TlsSetup(String),
    /// Neither discovery document exists (both answered 404): the issuer is most likely not
    /// the one its tokens name, e.g. missing a path. A preset may know better
    /// (`logto::discovery_hint`).
    #[error(
        "no discovery document for the issuer {issuer:?}: OpenID Connect discovery and RFC 8414 \
         both answered HTTP 404; check the issuer, its path included (it is the tokens' `iss`)"
    )]
    NoDiscoveryDocument {
        /// The configured issuer.
        issuer: String,
    },
}

/// Whether a fetch may go to `url`, on the first hop and every redirect: https (or http when
/// insecure http is allowed, or to a loopback host), and no username or password, which would
/// end up in logs and error messages.
#[cfg(feature = "remote")]
pub(crate) fn may_fetch(url: &url::Url, allow_insecure_http: bool) -> bool {
    scopegate_http::is_secure(url, allow_insecure_http)
        && url.username().is_empty()
        && url.password().is_none()
}
