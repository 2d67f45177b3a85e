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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::HeaderValue;
use url::Url;
use url::form_urlencoded;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::destination::{self, Destinations};
use crate::error::ConfigError;
use crate::redact::{Redactor, form_encode, without_userinfo};
use crate::source::ClientCredentials;

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

    /// How long before expiry a token stops being handed out and a new one is fetched; 60 s by
    /// default. Capped at [`max_margin_ratio`](ClientCredentialsBuilder::max_margin_ratio) of the
    /// token's lifetime.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The largest share of a token's lifetime the refresh margin may take, from 0.0 to 1.0;
    /// 0.5 by default. It keeps short tokens useful: with a 60 s margin, a token that lives 30 s
    /// would otherwise be due at once and fetched anew on every call; capped, it is used for
    /// 15 s. At 1.0 the margin is never capped (a token living less than the margin is then used
    /// by the callers of one request only).
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

    /// Reads time from `clock` instead of the system clock (tests: [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
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
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?,
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

/// RFC 6749 §2.3.1: id and secret are form-encoded first, then joined by `:` and base64'd.
fn basic_header(client_id: &str, client_secret: &str) -> Result<HeaderValue, ConfigError> {
    let credentials = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
        .map_err(|_| ConfigError::InvalidSetting("the client credentials do not fit a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn parse_token_url(raw: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
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
    if !destination::is_secure(&url, allow_insecure_http) {
        return Err(ConfigError::InsecureTokenUrl(url.to_string()));
    }
    Ok(url)
}

/// An API origin for the allow-list: an absolute http(s) URL with nothing but an origin.
fn parse_api_origin(raw: &str) -> Result<url::Origin, ConfigError> {
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
fn split_scopes(raw: &[String]) -> Result<Vec<String>, ConfigError> {
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
fn check_resource(resource: &str) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_form_encodes_before_base64() {
        let header = basic_header("my client:1", "p@ss w/rd+%").unwrap();
        let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client%3A1:p%40ss+w%2Frd%2B%25");
        assert!(header.is_sensitive());
    }

    #[test]
    fn scopes_split_dedup_and_validate() {
        let scopes = split_scopes(&["read:a write:a".into(), "read:a".into(), "x".into()]).unwrap();
        assert_eq!(scopes, ["read:a", "write:a", "x"]);
        assert_eq!(
            split_scopes(&["bad\"scope".into()]),
            Err(ConfigError::InvalidScope("bad\"scope".into()))
        );
        assert!(split_scopes(&["tab\there".into()]).is_err());
        assert!(split_scopes(&["caf\u{e9}".into()]).is_err());
    }

    #[test]
    fn token_url_rules() {
        assert!(parse_token_url("https://id.example.com/oidc/token", false).is_ok());
        assert!(parse_token_url("http://127.0.0.1:3001/oidc/token", false).is_ok());
        assert!(parse_token_url("http://localhost/token", false).is_ok());
        assert!(parse_token_url("http://[::1]:8080/token", false).is_ok());
        assert!(matches!(
            parse_token_url("http://id.example.com/token", false),
            Err(ConfigError::InsecureTokenUrl(_))
        ));
        assert!(parse_token_url("http://id.example.com/token", true).is_ok());
        assert!(parse_token_url("ftp://id.example.com/token", true).is_err());
        assert!(parse_token_url("https://id.example.com/token#x", false).is_err());
        assert!(parse_token_url("https://u:p@id.example.com/token", false).is_err());
        assert!(parse_token_url("/oidc/token", false).is_err());
    }

    #[test]
    fn resources_are_absolute_uris_without_fragment() {
        assert!(check_resource("https://api.example.com").is_ok());
        assert!(check_resource("urn:logto:resource:organizations").is_ok());
        assert!(check_resource("api.example.com").is_err());
        assert!(check_resource("https://api.example.com/#frag").is_err());
    }

    #[test]
    fn builder_validates_and_builds_the_body() {
        let source = ClientCredentials::builder("https://id.example.com/token", "id", "s3cret!")
            .resource("https://api.example.com")
            .scopes(["read:products", "write:products"])
            .extra_param("organization_id", "org 1")
            .build()
            .unwrap();
        let config = &source.inner.config;
        assert_eq!(
            std::str::from_utf8(&config.body).unwrap(),
            "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com\
             &scope=read%3Aproducts+write%3Aproducts&organization_id=org+1"
        );
        assert!(config.basic.is_some());

        let post = ClientCredentials::builder("https://id.example.com/token", "id", "s3cret!")
            .auth_method(ClientAuthMethod::SecretPost)
            .build()
            .unwrap();
        assert!(post.inner.config.basic.is_none());
        assert!(
            std::str::from_utf8(&post.inner.config.body)
                .unwrap()
                .ends_with("&client_id=id&client_secret=s3cret%21")
        );

        let err = |b: ClientCredentialsBuilder| b.build().unwrap_err();
        let base = || ClientCredentials::builder("https://id.example.com/token", "id", "secret");
        assert_eq!(
            err(ClientCredentials::builder("https://x.example/t", "", "s")),
            ConfigError::EmptyClientId
        );
        assert_eq!(
            err(ClientCredentials::builder("https://x.example/t", "i", "")),
            ConfigError::EmptyClientSecret
        );
        assert_eq!(
            err(base().extra_param("scope", "x")),
            ConfigError::ReservedParameter("scope".into())
        );
        assert!(matches!(
            err(base().timeout(Duration::ZERO)),
            ConfigError::InvalidSetting(_)
        ));
        assert!(matches!(
            err(base().max_margin_ratio(f64::NAN)),
            ConfigError::InvalidSetting(_)
        ));
        assert!(matches!(
            err(base().max_margin_ratio(1.5)),
            ConfigError::InvalidSetting(_)
        ));
        assert!(matches!(
            err(base().resource("nope")),
            ConfigError::InvalidResource { .. }
        ));
    }

    #[test]
    fn margin_is_capped_by_ratio() {
        let source = ClientCredentials::builder("https://id.example.com/token", "id", "secret")
            .build()
            .unwrap();
        let config = &source.inner.config;
        assert_eq!(
            config.margin_for(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            config.margin_for(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
        assert_eq!(config.margin_for(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn logto_preset_derives_the_token_endpoint() {
        for endpoint in ["https://t.logto.app", "https://t.logto.app/"] {
            let source = ClientCredentials::logto(endpoint, "id", "secret")
                .build()
                .unwrap();
            assert_eq!(
                source.token_url().as_str(),
                "https://t.logto.app/oidc/token"
            );
        }
    }

    #[test]
    fn debug_and_errors_redact_the_secret() {
        let builder = ClientCredentials::builder("https://id.example.com/t", "id", "hunter2 x");
        assert!(!format!("{builder:?}").contains("hunter2"));
        let source = builder.build().unwrap();
        assert!(!format!("{source:?}").contains("hunter2"));
        let scrubbed = source
            .inner
            .config
            .scrub("bad secret hunter2 x (hunter2+x)".to_owned());
        assert_eq!(scrubbed, "bad secret <redacted> (<redacted>)");
    }

    #[test]
    fn a_token_url_with_user_info_is_not_echoed() {
        let error = ClientCredentials::builder("https://alice:pa55w0rd@id.example.com/t", "i", "s")
            .build()
            .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains("pa55w0rd") && !text.contains("alice"),
            "{text}"
        );
        let error = ClientCredentials::builder("not a url://bob:hunter2@x", "i", "s")
            .build()
            .unwrap_err();
        assert!(!format!("{error} {error:?}").contains("hunter2"));
        let error = ClientCredentials::builder("https://id.example.com/t", "i", "s")
            .api_origin("https://carol:pw@api.example.com")
            .build()
            .unwrap_err();
        assert!(!format!("{error} {error:?}").contains("pw@"), "{error:?}");
    }

    #[test]
    fn lifetimes_are_bounded() {
        let source = ClientCredentials::builder("https://id.example.com/token", "id", "secret")
            .assumed_lifetime(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(source.inner.config.assumed_lifetime, MAX_LIFETIME);
        assert_eq!(bound_lifetime(Duration::ZERO), MIN_LIFETIME);
        assert_eq!(
            bound_lifetime(Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn api_origins_are_origins() {
        let base = || ClientCredentials::builder("https://id.example.com/t", "i", "s");
        assert!(base().api_origin("https://api.example.com").build().is_ok());
        assert!(
            base()
                .api_origin("http://api.internal:8080/")
                .build()
                .is_ok()
        );
        for bad in [
            "api.example.com",
            "https://api.example.com/products",
            "ftp://x.example",
        ] {
            assert!(
                matches!(
                    base().api_origin(bad).build(),
                    Err(ConfigError::InvalidApiOrigin { .. })
                ),
                "{bad}"
            );
        }
    }
}
