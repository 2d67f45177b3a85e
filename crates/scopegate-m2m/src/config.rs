//! [`ClientCredentialsBuilder`]: where to ask for tokens, as whom, for what, and when to refresh.
//!
//! | setting | default | why |
//! |---|---|---|
//! | client authentication | HTTP Basic (`client_secret_basic`) | RFC 6749 §2.3.1: servers must support it |
//! | refresh margin | 60 s before expiry, at most half the lifetime | a token is never sent seconds before it dies, and short tokens are still reused |
//! | assumed lifetime | 300 s, when the server sends no `expires_in` | RFC 6749 §5.1 makes `expires_in` optional |
//! | timeout | 10 s for the whole exchange | a hanging token endpoint must not hang the caller |
//! | error backoff | 1 s | a failing token endpoint is asked at most about once a second |
//! | token URL | https (http only to loopback) | the client secret must not travel in clear text |
//! | redirects | not followed (own client); with your client, an answer from another origin is refused | a token endpoint has no business redirecting a POST with credentials |
//! | API destinations | https, or http to loopback; optionally an allow-list of origins | the access token must not travel in clear text, nor to hosts you did not mean |
//! | lifetime bounds | at least 10 s, at most 365 days | `expires_in: 0` must not disable the cache; `Duration::MAX` must not overflow |
//! | rejection backoff | 10 s, doubling to 10 min | an API that rejects fresh tokens must not turn every request into a token request |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use url::Url;
use url::form_urlencoded;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::destination::Destinations;
use crate::dpop::{Dpop, DpopKey};
use crate::error::ConfigError;
use crate::redact::Redactor;
use crate::source::ClientCredentials;
use checks::{basic_header, check_resource, parse_api_origin, parse_token_url, split_scopes};

/// The default [`refresh_margin`](ClientCredentialsBuilder::refresh_margin).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The default [`max_margin_ratio`](ClientCredentialsBuilder::max_margin_ratio).
pub const DEFAULT_MAX_MARGIN_RATIO: f64 = 0.5;
/// The default [`assumed_lifetime`](ClientCredentialsBuilder::assumed_lifetime).
pub const DEFAULT_ASSUMED_LIFETIME: Duration = Duration::from_secs(300);
/// The default [`timeout`](ClientCredentialsBuilder::timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`error_backoff`](ClientCredentialsBuilder::error_backoff).
pub const DEFAULT_ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// The default [`rejection_backoff`](ClientCredentialsBuilder::rejection_backoff).
pub const DEFAULT_REJECTION_BACKOFF: Duration = Duration::from_secs(10);
/// The longest pause after repeated rejections of fresh tokens.
pub const MAX_REJECTION_BACKOFF: Duration = Duration::from_secs(600);
/// The largest token response read; a bigger one is an [`InvalidResponse`](crate::TokenError::InvalidResponse).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Shorter lifetimes (`expires_in: 0` included) are taken as this: a token is reused for at
/// least this long (less its refresh margin), so that a server answering `0` does not turn
/// every call into a token request. Far below the usual validator leeway (60 s in scopegate),
/// and an API that rejects such a token gets a new one through the 401 path.
pub const MIN_LIFETIME: Duration = Duration::from_secs(10);
/// Longer lifetimes (from `expires_in` or [`assumed_lifetime`](ClientCredentialsBuilder::assumed_lifetime))
/// are cut to this, which keeps `Instant` arithmetic far from overflow.
pub const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

const USER_AGENT: &str = concat!("scopegate-m2m/", env!("CARGO_PKG_VERSION"));

/// Parameters a caller cannot add with [`extra_param`](ClientCredentialsBuilder::extra_param):
/// this crate sets them, or they belong to other client authentication methods.
const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
    /// Every server must support it; the default.
    #[default]
    SecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body. For servers that
    /// only take this one.
    SecretPost,
}

/// Builds a [`ClientCredentials`] token source; start with [`ClientCredentials::builder`] or
/// [`ClientCredentials::logto`].
#[must_use]
pub struct ClientCredentialsBuilder {
    token_url: String,
    client_id: String,
    client_secret: String,
    auth_method: ClientAuthMethod,
    resources: Vec<String>,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    refresh_margin: Duration,
    max_margin_ratio: f64,
    assumed_lifetime: Duration,
    timeout: Duration,
    error_backoff: Duration,
    http_client: Option<reqwest::Client>,
    allow_insecure_http: bool,
    api_origins: Vec<String>,
    rejection_backoff: Duration,
    clock: SharedClock,
    dpop: Option<DpopKey>,
}

impl fmt::Debug for ClientCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsBuilder")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &self.auth_method)
            .field("resources", &self.resources)
            .field("scopes", &self.scopes)
            .field("extra_params", &self.extra_params)
            .field("refresh_margin", &self.refresh_margin)
            .field("max_margin_ratio", &self.max_margin_ratio)
            .field("assumed_lifetime", &self.assumed_lifetime)
            .field("timeout", &self.timeout)
            .field("error_backoff", &self.error_backoff)
            .field("http_client", &self.http_client.is_some())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("api_origins", &self.api_origins)
            .field("rejection_backoff", &self.rejection_backoff)
            .field("clock", &self.clock)
            .field("dpop", &self.dpop)
            .finish()
    }
}

impl ClientCredentials {
    /// Starts a token source for the client `client_id` / `client_secret` at the token endpoint
    /// `token_url`.
    pub fn builder(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ClientCredentialsBuilder {
        ClientCredentialsBuilder {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_method: ClientAuthMethod::default(),
            resources: Vec::new(),
            scopes: Vec::new(),
            extra_params: Vec::new(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            max_margin_ratio: DEFAULT_MAX_MARGIN_RATIO,
            assumed_lifetime: DEFAULT_ASSUMED_LIFETIME,
            timeout: DEFAULT_TIMEOUT,
            error_backoff: DEFAULT_ERROR_BACKOFF,
            http_client: None,
            allow_insecure_http: false,
            api_origins: Vec::new(),
            rejection_backoff: DEFAULT_REJECTION_BACKOFF,
            clock: Arc::new(SystemClock),
            dpop: None,
        }
    }

    /// Starts a token source for a Logto machine-to-machine app: the token endpoint is
    /// `<endpoint>/oidc/token` (a trailing slash on `endpoint` is ignored). Add the API's
    /// resource indicator with [`resource`](ClientCredentialsBuilder::resource), or Logto issues
    /// an opaque token that no API can check.
    ///
    /// ```
    /// # fn main() -> Result<(), scopegate_m2m::ConfigError> {
    /// let source = scopegate_m2m::ClientCredentials::logto("https://tenant.logto.app/", "app-id", "app-secret")
    ///     .resource("https://api.example.com")
    ///     .scope("read:products")
    ///     .build()?;
    /// assert_eq!(source.token_url().as_str(), "https://tenant.logto.app/oidc/token");
    /// # Ok(()) }
    /// ```
    pub fn logto(
        endpoint: impl AsRef<str>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> ClientCredentialsBuilder {
        let endpoint = endpoint.as_ref().trim_end_matches('/');
        ClientCredentials::builder(format!("{endpoint}/oidc/token"), app_id, app_secret)
    }
}

impl ClientCredentialsBuilder {
    /// How to authenticate the client; [`ClientAuthMethod::SecretBasic`] by default.
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Asks for a token for the API `resource` (RFC 8707 `resource=`; an absolute URI without
    /// fragment, such as `https://api.example.com`). Call again to add another resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Asks for `scope`; a space-separated list is split. Call again to add more. The scopes are
    /// sent space-joined as `scope=`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Asks for each of `scopes` (see [`scope`](ClientCredentialsBuilder::scope)).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds a form parameter to every token request, for servers that need one (Auth0's
    /// `audience`, Logto's `organization_id`). `grant_type`, `scope`, `resource` and the client
    /// credentials are refused here; use their own settings.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// How long before expiry a new token is fetched (in the background: the current one is
    /// still handed out until it expires); 60 s by default. Capped at
    /// [`max_margin_ratio`](ClientCredentialsBuilder::max_margin_ratio) of the token's lifetime.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The largest share of a token's lifetime the refresh margin may take, from 0.0 to 1.0;
    /// 0.5 by default. It keeps short tokens useful: with a 60 s margin, a token that lives 30 s
    /// would otherwise be due at once and refreshed again as soon as each refresh lands; capped,
    /// it is refreshed after 15 s. At 1.0 the margin is never capped (a token living less than
    /// the margin is then refreshed in the background as soon as it arrives).
    pub fn max_margin_ratio(mut self, ratio: f64) -> Self {
        self.max_margin_ratio = ratio;
        self
    }

    /// The lifetime assumed for a token whose response has no `expires_in`; 300 s by default.
    /// Bounded like `expires_in`, by [`MIN_LIFETIME`] and [`MAX_LIFETIME`].
    pub fn assumed_lifetime(mut self, lifetime: Duration) -> Self {
        self.assumed_lifetime = lifetime;
        self
    }

    /// The bound on one token request, from sending to the last byte of the answer; 10 s by
    /// default. Past it, [`TokenError::Timeout`](crate::TokenError::Timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// After a failed token request, how long callers get that failure again (or the previous
    /// token, while it is still valid) instead of a new request; 1 s by default, zero to ask on
    /// every call. [`force_refresh`](crate::ClientCredentials::force_refresh) ignores it.
    pub fn error_backoff(mut self, backoff: Duration) -> Self {
        self.error_backoff = backoff;
        self
    }

    /// Sends token requests with your `reqwest::Client` (proxies, private roots).
    ///
    /// The default client follows no redirect. Yours follows its own redirect policy, which this
    /// crate cannot change per request: an answer that comes from another origin than the token
    /// endpoint is refused ([`TokenError::Redirected`](crate::TokenError::Redirected)), but by
    /// then a 307/308 has re-posted the form body, which with
    /// [`SecretPost`](ClientAuthMethod::SecretPost) holds the secret. Build your client with
    /// `.redirect(reqwest::redirect::Policy::none())`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Allows plain http to hosts that are not loopback: for the token endpoint (the client
    /// secret then travels in clear text) and for the APIs the access token is sent to. Only
    /// for closed test networks; prefer listing one origin with
    /// [`api_origin`](ClientCredentialsBuilder::api_origin).
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Sends the access token only to this API origin (`scheme://host[:port]`); call again to
    /// allow more. Without any, the token goes to any https origin and to http on loopback.
    /// Listing an `http://` origin is the explicit opt-in to plain http for that origin.
    /// Applies to [`authorize`](ClientCredentials::authorize), [`send`](ClientCredentials::send)
    /// and [`BearerTokenLayer`](crate::BearerTokenLayer).
    pub fn api_origin(mut self, origin: impl Into<String>) -> Self {
        self.api_origins.push(origin.into());
        self
    }

    /// After an API has rejected a freshly fetched token too, how long no token is dropped and
    /// no new one fetched because of a 401; 10 s by default, doubling with each further rejected
    /// token up to [`MAX_REJECTION_BACKOFF`]. See [`ClientCredentials::invalidate`].
    pub fn rejection_backoff(mut self, backoff: Duration) -> Self {
        self.rejection_backoff = backoff;
        self
    }

    /// Reads time from `clock` instead of the system clock (tests: [`TestClock`](crate::TestClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Binds tokens to `key` with DPoP (RFC 9449): token requests and API calls carry proofs
    /// signed with it, and a bound token is sent as `Authorization: DPoP <token>`. See
    /// [`dpop`](crate::dpop).
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.dpop = Some(key);
        self
    }

    /// Checks the settings and builds the token source. No request is made until the first
    /// [`token`](ClientCredentials::token).
    pub fn build(self) -> Result<ClientCredentials, ConfigError> {
        let token_url = parse_token_url(&self.token_url, self.allow_insecure_http)?;
        if self.client_id.is_empty() {
            return Err(ConfigError::EmptyClientId);
        }
        if self.client_secret.is_empty() {
            return Err(ConfigError::EmptyClientSecret);
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::InvalidSetting("the timeout must not be zero"));
        }
        if self.assumed_lifetime.is_zero() {
            return Err(ConfigError::InvalidSetting(
                "the assumed lifetime must not be zero",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_margin_ratio) {
            return Err(ConfigError::InvalidSetting(
                "max_margin_ratio must be between 0.0 and 1.0",
            ));
        }
        let mut origins = Vec::with_capacity(self.api_origins.len());
        for origin in &self.api_origins {
            origins.push(parse_api_origin(origin)?);
        }
        let scopes = split_scopes(&self.scopes)?;
        for resource in &self.resources {
            check_resource(resource)?;
        }
        for (name, _) in &self.extra_params {
            if name.is_empty() {
                return Err(ConfigError::InvalidSetting(
                    "an extra parameter has an empty name",
                ));
            }
            if RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(ConfigError::ReservedParameter(name.clone()));
            }
        }

        let requested_scope = scopes.join(" ");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        for resource in &self.resources {
            form.append_pair("resource", resource);
        }
        if !requested_scope.is_empty() {
            form.append_pair("scope", &requested_scope);
        }
        for (name, value) in &self.extra_params {
            form.append_pair(name, value);
        }
        let basic = match self.auth_method {
            ClientAuthMethod::SecretBasic => {
                Some(basic_header(&self.client_id, &self.client_secret)?)
            }
            ClientAuthMethod::SecretPost => {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", &self.client_secret);
                None
            }
        };
        let body = Bytes::from(form.finish());

        let client = match self.http_client {
            Some(client) => client,
            None => scopegate_http::client_builder()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::HttpClient(scopegate_http::error_chain(&e)))?,
        };

        let redact = Redactor::new(&self.client_id, &self.client_secret);

        Ok(ClientCredentials::from_config(
            Config {
                token_url,
                client_id: self.client_id,
                auth_method: self.auth_method,
                resources: self.resources,
                scopes,
                requested_scope: requested_scope.into(),
                basic,
                body,
                redact,
                refresh_margin: self.refresh_margin,
                max_margin_ratio: self.max_margin_ratio,
                assumed_lifetime: bound_lifetime(self.assumed_lifetime),
                timeout: self.timeout,
                error_backoff: self.error_backoff,
                rejection_backoff: self.rejection_backoff,
                destinations: Destinations {
                    allow_insecure_http: self.allow_insecure_http,
                    origins,
                },
                clock: self.clock,
                dpop: self.dpop.map(Dpop::new),
            },
            client,
        ))
    }
}

/// The checked, immutable settings of a token source.
pub(crate) struct Config {
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) auth_method: ClientAuthMethod,
    pub(crate) resources: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) requested_scope: Box<str>,
    /// `Basic ...`, marked sensitive; `None` for `client_secret_post`.
    pub(crate) basic: Option<HeaderValue>,
    /// The form body, identical for every request.
    pub(crate) body: Bytes,
    /// Every form of the secret, kept out of error messages.
    pub(crate) redact: Redactor,
    pub(crate) refresh_margin: Duration,
    pub(crate) max_margin_ratio: f64,
    pub(crate) assumed_lifetime: Duration,
    pub(crate) timeout: Duration,
    pub(crate) error_backoff: Duration,
    pub(crate) rejection_backoff: Duration,
    /// Where the access token may be sent.
    pub(crate) destinations: Destinations,
    pub(crate) clock: SharedClock,
    /// The DPoP key and the nonces servers gave it, when tokens are to be bound.
    pub(crate) dpop: Option<Dpop>,
}

impl Config {
    /// Removes every form of the client secret from `text`.
    pub(crate) fn scrub(&self, text: String) -> String {
        self.redact.scrub(&text)
    }

    /// How long to stop reacting to 401s after the `streak`-th rejected fresh token (2 or more).
    pub(crate) fn rejection_delay(&self, streak: u32) -> Duration {
        let doublings = streak.saturating_sub(2).min(16);
        self.rejection_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_REJECTION_BACKOFF.max(self.rejection_backoff))
    }

    /// The margin for a token living `lifetime`: the configured margin, capped at
    /// `max_margin_ratio` of the lifetime.
    pub(crate) fn margin_for(&self, lifetime: Duration) -> Duration {
        let cap = Duration::try_from_secs_f64(lifetime.as_secs_f64() * self.max_margin_ratio)
            .unwrap_or(Duration::ZERO);
        self.refresh_margin.min(cap).min(lifetime)
    }
}

/// A lifetime within [`MIN_LIFETIME`] and [`MAX_LIFETIME`].
pub(crate) fn bound_lifetime(lifetime: Duration) -> Duration {
    lifetime.clamp(MIN_LIFETIME, MAX_LIFETIME)
}

mod checks;
#[cfg(test)]
mod tests;
