//! Bounded HTTP GETs of JWKS and discovery documents.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, USER_AGENT};
use scopegate_http::{ReadError, error_chain, read_capped};
use serde_json::Value;
use url::Url;

use super::{JwksError, may_fetch};

const USER_AGENT_VALUE: &str = concat!("scopegate/", env!("CARGO_PKG_VERSION"));

/// Most redirects followed for one JWKS or discovery fetch. Issuers rarely redirect at all; a
/// few hops allow a moved document without letting a chain wander.
pub const MAX_REDIRECTS: usize = 3;

/// The redirect policy of scopegate's own HTTP client: at most [`MAX_REDIRECTS`] hops, each to a
/// URL the https-only rule allows (https, or http to a loopback host; any http when
/// `allow_insecure_http`), with no username or password in it.
///
/// With your own client ([`AuthConfigBuilder::http_client`](crate::AuthConfigBuilder::http_client)),
/// scopegate can only check where a response finally came from; give your client this policy so
/// that no hop in between leaves the rule either ([`client_builder`](super::client_builder)
/// starts from it):
///
/// ```no_run
/// // Your own reqwest, with a TLS feature of its choosing.
/// let client = reqwest::Client::builder()
///     .redirect(scopegate::jwks::redirect_policy(false))
///     .build()?;
/// # Ok::<(), reqwest::Error>(())
/// ```
pub fn redirect_policy(allow_insecure_http: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RedirectRefused(format!(
                "more than {MAX_REDIRECTS} redirects"
            )))
        } else if !may_fetch(attempt.url(), allow_insecure_http) {
            let reason = format!("redirect to {} breaks the https-only rule", attempt.url());
            attempt.error(RedirectRefused(reason))
        } else {
            attempt.follow()
        }
    })
}

/// Why [`redirect_policy`] stopped a redirect; surfaces as [`JwksError::Redirect`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(String);

/// A fetched body and the freshness the server gave it.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    pub(crate) status: u16,
    /// `Cache-Control: max-age`; `Some(0)` for `no-cache`/`no-store`; `None` when absent.
    pub(crate) max_age: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
    allow_insecure_http: bool,
}

impl Fetcher {
    pub(crate) fn new(
        client: reqwest::Client,
        max_body_bytes: usize,
        allow_insecure_http: bool,
    ) -> Fetcher {
        Fetcher {
            client,
            max_body_bytes,
            allow_insecure_http,
        }
    }

    /// The same fetcher with another body cap (an introspection response is far smaller than
    /// a JWKS).
    pub(crate) fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Fetcher {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// GETs `url`, reading at most `max_body_bytes`. Callers bound the time.
    pub(crate) async fn get(&self, url: &Url, accept: &'static str) -> Result<Fetched, JwksError> {
        self.exchange(url, self.client.get(url.clone()), accept)
            .await
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with HTTP Basic credentials
    /// when given, under the same rules as [`get`](Self::get). Callers bound the time.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        accept: &'static str,
        form: &[(&str, &str)],
        basic: Option<&str>,
    ) -> Result<Fetched, JwksError> {
        let mut request = self.client.post(url.clone()).form(form);
        if let Some(basic) = basic {
            request = request.header(http::header::AUTHORIZATION, basic);
        }
        self.exchange(url, request, accept).await
    }

    /// Sends `request` (to `url`) if the https-only rule allows it, checks where the response
    /// came from and its status, and reads at most `max_body_bytes` of its body.
    async fn exchange(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
        accept: &'static str,
    ) -> Result<Fetched, JwksError> {
        if !may_fetch(url, self.allow_insecure_http) {
            return Err(JwksError::InsecureUrl(url.to_string()));
        }
        // The URL is in our message once; reqwest's own would repeat it.
        let transport = |e: reqwest::Error| match redirect_refusal(&e) {
            Some(reason) => JwksError::Redirect {
                url: url.to_string(),
                reason,
            },
            None => JwksError::Transport {
                url: url.to_string(),
                message: error_chain(&e.without_url()),
            },
        };
        let response = request
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(ACCEPT, accept)
            .send()
            .await
            .map_err(transport)?;
        // A client of the user's follows its own redirect policy: where the body finally came
        // from must still meet the rule, or a hop to plain http could hand us forged keys.
        if !may_fetch(response.url(), self.allow_insecure_http) {
            return Err(JwksError::Redirect {
                url: url.to_string(),
                reason: format!(
                    "it ended at {}, which breaks the https-only rule",
                    response.url()
                ),
            });
        }
        let status = response.status();
        if !status.is_success() {
            return Err(JwksError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let body = http::Response::from(response).into_body();
        let body = read_capped(body, self.max_body_bytes)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge { max } => JwksError::TooLarge { max },
                other => JwksError::Transport {
                    url: url.to_string(),
                    message: error_chain(&other),
                },
            })?;
        Ok(Fetched {
            body,
            status: status.as_u16(),
            max_age,
        })
    }

    /// Finds the JWKS URL of `issuer`: OpenID Connect discovery first, then RFC 8414.
    pub(crate) async fn discover_jwks_uri(&self, issuer: &str) -> Result<Url, JwksError> {
        self.discover(issuer, Endpoint::Jwks).await
    }

    /// Finds the URL `endpoint` of `issuer` in its discovery document: OpenID Connect
    /// discovery first, then RFC 8414.
    pub(crate) async fn discover(
        &self,
        issuer: &str,
        endpoint: Endpoint,
    ) -> Result<Url, JwksError> {
        let trimmed = issuer.trim_end_matches('/');
        let oidc = format!("{trimmed}/.well-known/openid-configuration");
        let oidc = Url::parse(&oidc).map_err(|_| JwksError::Discovery("issuer is not a URL"))?;
        let fetched = match self.get(&oidc, "application/json").await {
            Ok(fetched) => fetched,
            Err(JwksError::Status { status: 404, .. }) => {
                match self.get(&rfc8414_url(&oidc)?, "application/json").await {
                    Err(JwksError::Status { status: 404, .. }) => {
                        return Err(JwksError::NoDiscoveryDocument {
                            issuer: issuer.to_owned(),
                        });
                    }
                    other => other?,
                }
            }
            Err(e) => return Err(e),
        };
        let doc: Value = serde_json::from_slice(&fetched.body).map_err(|_| JwksError::NotJson)?;
        // OIDC Discovery §4.3, RFC 8414 §3.3: the document must name the very issuer we expect,
        // or a lookalike could hand out its own keys.
        let named = doc.get("issuer").and_then(Value::as_str);
        if named != Some(issuer) {
            return Err(JwksError::IssuerMismatch {
                configured: issuer.to_owned(),
                document: named.map(str::to_owned),
            });
        }
        let (member, missing, not_url, credentials) = endpoint.texts();
        let found = doc
            .get(member)
            .and_then(Value::as_str)
            .ok_or(JwksError::Discovery(missing))?;
        let found = Url::parse(found).map_err(|_| JwksError::Discovery(not_url))?;
        // Said here without echoing the URL, whose password would reach logs and errors.
        if !found.username().is_empty() || found.password().is_some() {
            return Err(JwksError::Discovery(credentials));
        }
        Ok(found)
    }
}

/// A URL a discovery document names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `jwks_uri`
    Jwks,
    /// `introspection_endpoint` (RFC 8414 §2, RFC 7662)
    Introspection,
    /// `token_endpoint` (RFC 8414 §2, OpenID Connect Discovery §3), for the OpenAPI document
    #[cfg(feature = "openapi")]
    Token,
}

impl Endpoint {
    /// The member, and the discovery errors' texts: missing, not a URL, with credentials.
    fn texts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Endpoint::Jwks => (
                "jwks_uri",
                "no jwks_uri",
                "jwks_uri is not a URL",
                "jwks_uri carries a username or password",
            ),
            Endpoint::Introspection => (
                "introspection_endpoint",
                "no introspection_endpoint",
                "introspection_endpoint is not a URL",
                "introspection_endpoint carries a username or password",
            ),
            #[cfg(feature = "openapi")]
            Endpoint::Token => (
                "token_endpoint",
                "no token_endpoint",
                "token_endpoint is not a URL",
                "token_endpoint carries a username or password",
            ),
        }
    }
}

/// RFC 8414 §3.1: the well-known segment goes between host and issuer path.
fn rfc8414_url(oidc: &Url) -> Result<Url, JwksError> {
    let path = oidc
        .path()
        .strip_suffix("/.well-known/openid-configuration")
        .unwrap_or("");
    let mut url = oidc.clone();
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    Ok(url)
}

/// `max-age` from a `Cache-Control` value; `no-cache`/`no-store` count as zero.
fn parse_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = arg
                .and_then(|a| a.parse::<u64>().ok())
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// The reason [`redirect_policy`] gave, if it is what stopped the request.
fn redirect_refusal(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RedirectRefused>() {
            return Some(refused.0.clone());
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(parse_max_age("max-age=300"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_max_age("public, max-age=60, must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-cache, max-age=0"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn rfc8414_inserts_the_well_known_segment() {
        let oidc =
            Url::parse("https://id.example.com/oidc/.well-known/openid-configuration").unwrap();
        assert_eq!(
            rfc8414_url(&oidc).unwrap().as_str(),
            "https://id.example.com/.well-known/oauth-authorization-server/oidc"
        );
        let root = Url::parse("https://id.example.com/.well-known/openid-configuration").unwrap();
        assert_eq!(
            rfc8414_url(&root).unwrap().as_str(),
            "https://id.example.com/.well-known/oauth-authorization-server"
        );
    }
}
