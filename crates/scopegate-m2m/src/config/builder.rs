//! [`ClientCredentialsBuilder`] and its setters: what a caller can say about a token source. The
//! checks of what they said wait for [`build`](ClientCredentialsBuilder::build), in
//! `settings.rs`, so that the setters stay infallible and chainable.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{
    DEFAULT_ASSUMED_LIFETIME, DEFAULT_ERROR_BACKOFF, DEFAULT_MAX_MARGIN_RATIO,
    DEFAULT_REFRESH_MARGIN, DEFAULT_REJECTION_BACKOFF, DEFAULT_TIMEOUT,
};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::dpop::DpopKey;
use crate::source::ClientCredentials;

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
    pub(super) token_url: String,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) auth_method: ClientAuthMethod,
    pub(super) resources: Vec<String>,
    pub(super) scopes: Vec<String>,
    pub(super) extra_params: Vec<(String, String)>,
    pub(super) refresh_margin: Duration,
    pub(super) max_margin_ratio: f64,
    pub(super) assumed_lifetime: Duration,
    pub(super) timeout: Duration,
    pub(super) error_backoff: Duration,
    pub(super) http_client: Option<reqwest::Client>,
    pub(super) allow_insecure_http: bool,
    pub(super) api_origins: Vec<String>,
    pub(super) rejection_backoff: Duration,
    pub(super) clock: SharedClock,
    pub(super) dpop: Option<DpopKey>,
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
    /// Bounded like `expires_in`, by [`MIN_LIFETIME`](super::MIN_LIFETIME) and
    /// [`MAX_LIFETIME`](super::MAX_LIFETIME).
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
    /// token up to [`MAX_REJECTION_BACKOFF`](super::MAX_REJECTION_BACKOFF). See
    /// [`ClientCredentials::invalidate`].
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
}
