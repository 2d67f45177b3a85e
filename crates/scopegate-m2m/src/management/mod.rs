//! [`ManagementApi`]: the Logto Management API preset. A [`ClientCredentials`] source for the
//! Management API's resource with `scope=all`, and the `reqwest` helper pointed at
//! `<endpoint>/api/`.
//!
//! Logto serves its Management API under `<endpoint>/api/` and protects it with one permission,
//! `all`, on the resource `https://<tenant-id>.logto.app/api`:
//!
//! | Logto | endpoint | resource (derived) |
//! |---|---|---|
//! | Cloud | `https://<tenant-id>.logto.app` | `https://<tenant-id>.logto.app/api` |
//! | Cloud, custom domain | `https://auth.example.com` | set [`tenant_id`](ManagementApiBuilder::tenant_id) |
//! | OSS | e.g. `http://localhost:3001` | `https://default.logto.app/api` |
//!
//! The app needs a machine-to-machine role holding `all` (in the console: the built-in "Logto
//! Management API access" role). Without it Logto still issues a token, with no `all` in it, and
//! every call is refused: [`ManagementError::MissingPermission`].
//!
//! ```no_run
//! use scopegate_m2m::management::ManagementApi;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let api = ManagementApi::logto("https://abc123.logto.app", "app-id", "app-secret").build()?;
//! assert_eq!(api.token_source().resources(), ["https://abc123.logto.app/api"]);
//! for app in api.list_applications().await? {
//!     println!("{} {} {}", app.id, app.kind, app.name);
//! }
//! // Any other route: a request builder on <endpoint>/api/..., sent with the token.
//! let response = api.send(api.get("roles")?).await?;
//! println!("{}", response.text().await?);
//! # Ok(()) }
//! ```

mod error;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use url::Url;

pub use error::ManagementError;

use crate::{ClientCredentials, ClientCredentialsBuilder, ConfigError};
use scopegate_http::{ReadError, is_loopback};

/// The one permission of the Logto Management API.
pub const MANAGEMENT_SCOPE: &str = "all";
/// The tenant id of Logto OSS, whose Management API resource is `https://default.logto.app/api`.
pub const OSS_TENANT_ID: &str = "default";
/// The default time limit of one Management API call (the token request has its own).
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest Management API answer read.
pub const MAX_API_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

const USER_AGENT: &str = concat!("scopegate-m2m/", env!("CARGO_PKG_VERSION"));

/// The Management API's resource indicator for `tenant_id`: `https://<tenant-id>.logto.app/api`.
///
/// ```
/// assert_eq!(
///     scopegate_m2m::management::resource_for_tenant("default"),
///     "https://default.logto.app/api"
/// );
/// ```
pub fn resource_for_tenant(tenant_id: &str) -> String {
    format!("https://{tenant_id}.logto.app/api")
}

/// The tenant id of a Logto Cloud endpoint (`https://<tenant-id>.logto.app`), or `None` for
/// any other host (Logto OSS, or a custom domain).
pub fn tenant_id_of(endpoint: &Url) -> Option<&str> {
    let tenant = endpoint.host_str()?.strip_suffix(".logto.app")?;
    valid_tenant_id(tenant).then_some(tenant)
}

/// Tenant ids are one DNS label of lowercase letters, digits and `-`; anything else would change
/// the resource URI's host (`a/b` would make it `https://a/...`).
fn valid_tenant_id(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 63
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// One application, as listed by `GET /api/applications` (the fields every Logto version sends;
/// the others, the secret included, are not kept).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct Application {
    /// The app id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its type: `MachineToMachine`, `Traditional`, `SPA`, `Native`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its description, if any.
    #[serde(default)]
    pub description: Option<String>,
}

/// Customises the token source of [`ManagementApiBuilder::token_source`].
type Customise = Box<dyn FnOnce(ClientCredentialsBuilder) -> ClientCredentialsBuilder + Send>;

/// Builds a [`ManagementApi`]; start with [`ManagementApi::logto`].
#[must_use]
pub struct ManagementApiBuilder {
    endpoint: String,
    app_id: String,
    app_secret: String,
    tenant_id: Option<String>,
    http_client: Option<reqwest::Client>,
    allow_insecure_http: bool,
    customise: Option<Customise>,
}

impl fmt::Debug for ManagementApiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementApiBuilder")
            .field("endpoint", &self.endpoint)
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("tenant_id", &self.tenant_id)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl ManagementApiBuilder {
    /// The tenant id, when it cannot be read from the endpoint (a Logto Cloud custom domain).
    /// Without it: `<tenant-id>` of a `https://<tenant-id>.logto.app` endpoint, else `default`
    /// (Logto OSS).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sends the Management API calls with your `reqwest::Client` (proxies, private roots). The
    /// default one has a 30 s timeout and follows no redirect, so the token is never carried to
    /// another URL.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Allows a plain-http endpoint on a host that is not loopback, for the token request and the
    /// API calls. Only for closed test networks: secret and token travel in clear text.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Further settings of the token source (timeout, refresh margin, HTTP client, ...). The
    /// preset adds its resource and `scope=all` after these: leave both out here.
    pub fn token_source(
        mut self,
        customise: impl FnOnce(ClientCredentialsBuilder) -> ClientCredentialsBuilder + Send + 'static,
    ) -> Self {
        self.customise = Some(Box::new(customise));
        self
    }

    /// Checks the settings and builds the client. No request is made until the first call.
    pub fn build(self) -> Result<ManagementApi, ConfigError> {
        let trimmed = self.endpoint.trim_end_matches('/');
        let endpoint = Url::parse(trimmed).map_err(|_| ConfigError::InvalidTokenUrl {
            url: crate::redact::without_userinfo(&self.endpoint),
            reason: "the Logto endpoint is not an absolute URL",
        })?;
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err(ConfigError::InvalidSetting(
                "the Logto endpoint must not have a query or a fragment",
            ));
        }
        let tenant = match self.tenant_id {
            Some(tenant) if valid_tenant_id(&tenant) => tenant,
            Some(_) => {
                return Err(ConfigError::InvalidSetting(
                    "a Logto tenant id is lowercase letters, digits and '-'",
                ));
            }
            None => tenant_id_of(&endpoint).unwrap_or(OSS_TENANT_ID).to_owned(),
        };
        let mut builder = ClientCredentials::logto(trimmed, self.app_id, self.app_secret);
        if let Some(customise) = self.customise {
            builder = customise(builder);
        }
        builder = builder
            .resource(resource_for_tenant(&tenant))
            .scope(MANAGEMENT_SCOPE);
        if self.allow_insecure_http {
            builder = builder.allow_insecure_http();
        }
        let source = builder.build()?;
        ManagementApi::with_client(trimmed, source, self.http_client, self.allow_insecure_http)
    }
}

/// The Logto Management API: a token source for its resource with `scope=all`, and requests
/// confined to `<endpoint>/api/`.
///
/// Cheap to clone; clones share the token cache and single flight of the
/// [`token_source`](ManagementApi::token_source). A 401 gets one retry with a new token (as
/// [`ClientCredentials::send`]); every refusal then comes back as a [`ManagementError`].
#[derive(Clone)]
pub struct ManagementApi {
    source: ClientCredentials,
    base: Url,
    http: reqwest::Client,
}

impl fmt::Debug for ManagementApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementApi")
            .field("base_url", &self.base.as_str())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ManagementApi {
    /// The preset for the M2M app `app_id` / `app_secret` of the Logto at `endpoint` (e.g.
    /// `https://abc123.logto.app`, or `http://localhost:3001` for OSS): token endpoint
    /// `<endpoint>/oidc/token`, resource `https://<tenant-id>.logto.app/api`, `scope=all`, API
    /// base `<endpoint>/api/`.
    ///
    /// ```
    /// # fn main() -> Result<(), scopegate_m2m::ConfigError> {
    /// use scopegate_m2m::management::ManagementApi;
    ///
    /// let oss = ManagementApi::logto("http://localhost:3001", "id", "secret").build()?;
    /// assert_eq!(oss.token_source().resources(), ["https://default.logto.app/api"]);
    /// assert_eq!(oss.token_source().scopes(), ["all"]);
    /// assert_eq!(oss.base_url().as_str(), "http://localhost:3001/api/");
    ///
    /// let cloud = ManagementApi::logto("https://auth.example.com", "id", "secret")
    ///     .tenant_id("abc123")
    ///     .build()?;
    /// assert_eq!(cloud.token_source().resources(), ["https://abc123.logto.app/api"]);
    /// # Ok(()) }
    /// ```
    pub fn logto(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> ManagementApiBuilder {
        ManagementApiBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            tenant_id: None,
            http_client: None,
            allow_insecure_http: false,
            customise: None,
        }
    }

    /// The Management API of the Logto at `endpoint`, called with tokens from any `source` (the
    /// preset's resource and scope are not imposed). For the preset use [`logto`](Self::logto).
    pub fn from_source(
        endpoint: &str,
        source: ClientCredentials,
    ) -> Result<ManagementApi, ConfigError> {
        ManagementApi::with_client(endpoint.trim_end_matches('/'), source, None, false)
    }

    fn with_client(
        endpoint: &str,
        source: ClientCredentials,
        http: Option<reqwest::Client>,
        allow_insecure_http: bool,
    ) -> Result<ManagementApi, ConfigError> {
        let invalid = |reason| ConfigError::InvalidTokenUrl {
            url: crate::redact::without_userinfo(endpoint),
            reason,
        };
        // The trailing slash makes every path joined to it land under /api/.
        let base = Url::parse(&format!("{endpoint}/api/"))
            .map_err(|_| invalid("the Logto endpoint is not an absolute URL"))?;
        match base.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(&base) => {}
            "http" => return Err(ConfigError::InsecureTokenUrl(base.to_string())),
            _ => return Err(invalid("the scheme must be https")),
        }
        let http = match http {
            Some(http) => http,
            None => scopegate_http::client_builder()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?
                .user_agent(USER_AGENT)
                .timeout(DEFAULT_API_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::HttpClient(scopegate_http::error_chain(&e)))?,
        };
        Ok(ManagementApi { source, base, http })
    }

    /// The token source (its cache, single flight and [`token`](ClientCredentials::token)).
    pub fn token_source(&self) -> &ClientCredentials {
        &self.source
    }

    /// `<endpoint>/api/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` under the API base: `applications`, `/applications` and
    /// `applications?page=1` all name `<endpoint>/api/applications...`. A path that would leave
    /// the base (`../oidc/token`, `//host`, `https://...`) is an
    /// [`InvalidPath`](ManagementError::InvalidPath).
    pub fn url(&self, path: &str) -> Result<Url, ManagementError> {
        let relative = path.strip_prefix('/').unwrap_or(path);
        let url = self
            .base
            .join(relative)
            .map_err(|_| ManagementError::InvalidPath {
                path: path.to_owned(),
            })?;
        if !self.is_under_base(&url) {
            return Err(ManagementError::InvalidPath {
                path: path.to_owned(),
            });
        }
        Ok(url)
    }

    fn is_under_base(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path().starts_with(self.base.path())
    }

    /// A request to `path` (see [`url`](Self::url)) on this API's HTTP client; send it with
    /// [`send`](Self::send).
    pub fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ManagementError> {
        Ok(self.http.request(method, self.url(path)?))
    }

    /// `GET path` (see [`request`](Self::request)).
    pub fn get(&self, path: &str) -> Result<reqwest::RequestBuilder, ManagementError> {
        self.request(Method::GET, path)
    }

    /// Sends `request` with the Management API token; a 2xx answer is returned as it is, any
    /// other as a [`ManagementError`]. The request must target this API (a URL outside the base
    /// is refused before any token is attached), so build it with [`request`](Self::request).
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ManagementError> {
        let (client, request) = request.build_split();
        let request = request.map_err(|e| ManagementError::transport(&e))?;
        if !self.is_under_base(request.url()) {
            return Err(ManagementError::InvalidPath {
                path: request.url().to_string(),
            });
        }
        let request = reqwest::RequestBuilder::from_parts(client, request);
        let response = self.source.send(request).await.map_err(|e| match e {
            crate::BearerError::Token(e) => ManagementError::Token(e),
            crate::BearerError::Service(e) => ManagementError::transport(&e),
            // The fresh token was refused too: the same 401 as before, from its challenge.
            crate::BearerError::Rejected(rejection) => {
                let mut headers = http::HeaderMap::new();
                if let Some(value) = rejection
                    .challenge
                    .as_deref()
                    .and_then(|c| http::HeaderValue::from_str(c).ok())
                {
                    headers.insert(http::header::WWW_AUTHENTICATE, value);
                }
                ManagementError::from_refusal(rejection.status, &headers, b"")
            }
            other => ManagementError::Transport {
                message: other.to_string(),
            },
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response, error::MAX_ERROR_BODY_BYTES)
            .await
            .unwrap_or_default();
        Err(ManagementError::from_refusal(status, &headers, &body))
    }

    /// `GET path`, its JSON answer read into `T` (at most 8 MiB).
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ManagementError> {
        let response = self.send(self.get(path)?).await?;
        let body = read_body(response, MAX_API_RESPONSE_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| ManagementError::InvalidResponse {
            reason: format!("the body is not the expected JSON: {e}"),
        })
    }

    /// `GET /api/applications`: every application of the tenant.
    pub async fn list_applications(&self) -> Result<Vec<Application>, ManagementError> {
        self.get_json("applications").await
    }
}

/// Reads at most `limit` bytes of `response`; more is an
/// [`InvalidResponse`](ManagementError::InvalidResponse).
async fn read_body(response: reqwest::Response, limit: usize) -> Result<Bytes, ManagementError> {
    let body = http::Response::from(response).into_body();
    scopegate_http::read_capped(body, limit)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge { max } => ManagementError::InvalidResponse {
                reason: format!("the response is larger than {max} bytes"),
            },
            other => ManagementError::Transport {
                message: scopegate_http::error_chain(&other),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(endpoint: &str) -> ManagementApi {
        ManagementApi::logto(endpoint, "id", "secret")
            .build()
            .unwrap()
    }

    #[test]
    fn the_resource_follows_the_tenant() {
        let cases = [
            ("https://abc123.logto.app", "https://abc123.logto.app/api"),
            ("https://abc123.logto.app/", "https://abc123.logto.app/api"),
            ("http://localhost:3001", "https://default.logto.app/api"),
            ("http://127.0.0.1:3001/", "https://default.logto.app/api"),
            ("https://auth.example.com", "https://default.logto.app/api"),
            ("https://a.b.logto.app", "https://default.logto.app/api"),
        ];
        for (endpoint, resource) in cases {
            assert_eq!(api(endpoint).token_source().resources(), [resource]);
            assert_eq!(api(endpoint).token_source().scopes(), ["all"]);
        }
        let custom = ManagementApi::logto("https://auth.example.com", "id", "secret")
            .tenant_id("xyz789")
            .build()
            .unwrap();
        assert_eq!(
            custom.token_source().resources(),
            ["https://xyz789.logto.app/api"]
        );
        assert_eq!(
            custom.token_source().token_url().as_str(),
            "https://auth.example.com/oidc/token"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let build = |endpoint: &str, tenant: Option<&str>| {
            let mut builder = ManagementApi::logto(endpoint, "id", "secret");
            if let Some(tenant) = tenant {
                builder = builder.tenant_id(tenant);
            }
            builder.build().map(|_| ())
        };
        for tenant in ["", "a/b", "a.b", "ABC", "a b", "x@y"] {
            assert!(
                matches!(
                    build("https://abc.logto.app", Some(tenant)),
                    Err(ConfigError::InvalidSetting(_))
                ),
                "{tenant:?}"
            );
        }
        assert!(matches!(
            build("logto.example.com", None),
            Err(ConfigError::InvalidTokenUrl { .. })
        ));
        assert!(matches!(
            build("https://logto.example.com/?x=1", None),
            Err(ConfigError::InvalidSetting(_))
        ));
        assert!(matches!(
            build("http://logto.example.com", None),
            Err(ConfigError::InsecureTokenUrl(_))
        ));
        let insecure = ManagementApi::logto("http://logto.internal", "id", "secret")
            .allow_insecure_http()
            .build()
            .unwrap();
        assert_eq!(insecure.base_url().as_str(), "http://logto.internal/api/");
        let source = ClientCredentials::logto("https://abc.logto.app", "id", "s")
            .build()
            .unwrap();
        assert!(matches!(
            ManagementApi::from_source("http://logto.example.com", source),
            Err(ConfigError::InsecureTokenUrl(_))
        ));
    }

    #[test]
    fn paths_stay_under_the_api_base() {
        let api = api("https://abc.logto.app/");
        for (path, url) in [
            ("applications", "https://abc.logto.app/api/applications"),
            ("/applications", "https://abc.logto.app/api/applications"),
            (
                "applications/x1?page=2",
                "https://abc.logto.app/api/applications/x1?page=2",
            ),
            ("", "https://abc.logto.app/api/"),
        ] {
            assert_eq!(api.url(path).unwrap().as_str(), url);
        }
        for path in [
            "../oidc/token",
            "/../oidc/token",
            "%2e%2e/oidc/token",
            "applications/../../oidc/token",
            "//evil.example/api/",
            "https://evil.example/api/applications",
            "https://abc.logto.app/oidc/token",
            "https://user:pw@abc.logto.app/api/x",
        ] {
            assert!(
                matches!(api.url(path), Err(ManagementError::InvalidPath { .. })),
                "{path}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let builder = ManagementApi::logto("https://abc.logto.app", "id", "hunter2");
        assert!(!format!("{builder:?}").contains("hunter2"));
        assert!(!format!("{:?}", builder.build().unwrap()).contains("hunter2"));
    }

    #[test]
    fn applications_keep_only_the_listed_fields() {
        let apps: Vec<Application> = serde_json::from_str(
            r#"[{"id":"a1","name":"Backend","type":"MachineToMachine","secret":"s3cret",
                 "description":null,"oidcClientMetadata":{}},
                {"id":"a2","name":"Web","type":"SPA","description":"the shop"}]"#,
        )
        .unwrap();
        assert_eq!(apps[0].kind, "MachineToMachine");
        assert_eq!(apps[1].description.as_deref(), Some("the shop"));
        assert!(!format!("{apps:?}").contains("s3cret"));
    }
}
