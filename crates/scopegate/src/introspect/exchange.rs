//! One introspection request (RFC 7662 §2.1): the endpoint (configured or discovered), client
//! authentication, and the bounded POST through the JWKS fetcher, so that the https-only rule,
//! redirect checks, size cap, `User-Agent` and the user's client apply unchanged.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use url::Url;
use url::form_urlencoded::byte_serialize;

use super::{ClientAuthMethod, IntrospectionConfig, JWT_RESPONSE_MEDIA_TYPE};
use crate::jwks::JwksError;
use crate::jwks::fetch::{Endpoint, Fetcher};

/// What the endpoint answered, before it is judged.
#[derive(Debug)]
pub(crate) enum Answer {
    /// An RFC 7662 §2.2 JSON object, parsed strictly (no duplicate members).
    Json(Map<String, Value>),
    /// An RFC 9701 JWT, still to be verified with the issuer's keys.
    Jwt(String),
}

/// Why the endpoint gave no usable answer: each is a `503`, never the token's fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// Discovery, transport, status, size or redirect: as the JWKS fetcher says it.
    #[error(transparent)]
    Fetch(#[from] JwksError),
    /// The body is not a JSON object (or, for RFC 9701, not a compact JWT).
    #[error("introspection response from {0} is not a JSON object")]
    NotAnObject(String),
}

/// Asks one issuer's introspection endpoint about tokens.
pub(crate) struct Exchange {
    fetcher: Fetcher,
    issuer: Arc<str>,
    configured: Option<Url>,
    discovered: OnceCell<Url>,
    client_id: String,
    client_secret: Arc<str>,
    /// The `Authorization: Basic` value, for `client_secret_basic`.
    basic: Option<String>,
    jwt_response: bool,
}

impl Exchange {
    /// `fetcher` is the issuer's JWKS fetcher (same client and rules), capped to the
    /// introspection's body size.
    pub(crate) fn new(fetcher: Fetcher, issuer: Arc<str>, config: &IntrospectionConfig) -> Self {
        // RFC 6749 §2.3.1: each part form-urlencoded before joining and base64-encoding.
        let basic = (config.auth_method == ClientAuthMethod::ClientSecretBasic).then(|| {
            let id: String = byte_serialize(config.client_id.as_bytes()).collect();
            let secret: String = byte_serialize(config.client_secret.as_bytes()).collect();
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
        });
        Exchange {
            fetcher: fetcher.with_max_body_bytes(config.max_body_bytes),
            issuer,
            // Checked when the config was built.
            configured: config.endpoint.as_deref().and_then(|u| Url::parse(u).ok()),
            discovered: OnceCell::new(),
            client_id: config.client_id.clone(),
            client_secret: Arc::clone(&config.client_secret),
            basic,
            jwt_response: config.jwt_response,
        }
    }

    /// The endpoint: configured, or found once in the issuer's discovery document.
    async fn endpoint(&self) -> Result<&Url, JwksError> {
        if let Some(url) = &self.configured {
            return Ok(url);
        }
        self.discovered
            .get_or_try_init(|| self.fetcher.discover(&self.issuer, Endpoint::Introspection))
            .await
    }

    /// Sends `token` with `token_type_hint=access_token` (RFC 7662 §2.1). Callers bound the time.
    pub(crate) async fn ask(&self, token: &str) -> Result<Answer, ExchangeError> {
        let url = self.endpoint().await?;
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        if self.basic.is_none() {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", &self.client_secret));
        }
        let accept = if self.jwt_response {
            JWT_RESPONSE_MEDIA_TYPE
        } else {
            "application/json"
        };
        let fetched = self
            .fetcher
            .post_form(url, accept, &form, self.basic.as_deref())
            .await?;
        let not_an_object = || ExchangeError::NotAnObject(url.to_string());
        if self.jwt_response {
            let text = std::str::from_utf8(&fetched.body).map_err(|_| not_an_object())?;
            return Ok(Answer::Jwt(text.trim().to_owned()));
        }
        crate::json::parse_object(&fetched.body)
            .map(Answer::Json)
            .map_err(|_| not_an_object())
    }
}
