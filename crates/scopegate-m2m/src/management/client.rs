//! [`ManagementApi`], the client: requests confined to `<endpoint>/api/`, sent with the token
//! source's token, and every refusal read into a [`ManagementError`]. Apart from the preset
//! ([`ManagementApiBuilder`](super::ManagementApiBuilder)), since it serves any token source.

use std::fmt;

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{self, ManagementError};
use super::{DEFAULT_API_TIMEOUT, MAX_API_RESPONSE_BYTES};
use crate::{ClientCredentials, ConfigError};
use scopegate_http::{ReadError, is_loopback};

const USER_AGENT: &str = concat!("scopegate-m2m/", env!("CARGO_PKG_VERSION"));

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
    /// The Management API of the Logto at `endpoint`, called with tokens from any `source` (the
    /// preset's resource and scope are not imposed). For the preset use [`logto`](Self::logto).
    pub fn from_source(
        endpoint: &str,
        source: ClientCredentials,
    ) -> Result<ManagementApi, ConfigError> {
        ManagementApi::with_client(endpoint.trim_end_matches('/'), source, None, false)
    }

    pub(super) fn with_client(
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
