//! [`ClientCredentials`]: the token source (cache, early refresh, single flight) and its
//! `reqwest` glue.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwapOption;
use bytes::BytesMut;
use http::StatusCode;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use url::Url;

use crate::config::{ClientAuthMethod, Config, MAX_RESPONSE_BYTES};
use crate::error::{BearerError, TokenError};
use crate::response;
use crate::token::{AccessToken, TokenData};

/// An OAuth 2.0 client_credentials token source (RFC 6749 §4.4, with RFC 8707 `resource`).
///
/// Cheap to clone: clones share one cache and one in-flight request.
///
/// - [`token`](ClientCredentials::token) hands out the cached token until its
///   [`refresh_at`](AccessToken::refresh_at) (expiry less the refresh margin), then fetches a
///   new one. Reading the cache takes no lock.
/// - All callers that need a new token at the same time share **one** request (single flight);
///   no lock is held across the request except the async one that queues them.
/// - When a refresh fails while the previous token is still valid, callers keep getting the
///   previous token. After a failure, callers get that failure (or the still-valid token) for
///   the [`error_backoff`](crate::ClientCredentialsBuilder::error_backoff) instead of asking again.
/// - After an API answers 401, call [`invalidate`](ClientCredentials::invalidate) with the
///   rejected token, then `token()` again (the tower layer and [`send`](ClientCredentials::send)
///   do this for you).
#[derive(Clone)]
pub struct ClientCredentials {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    client: reqwest::Client,
    /// The current token; read without locks.
    cached: ArcSwapOption<TokenData>,
    /// Held while a request is in flight; queues the callers that wait for it.
    flight: tokio::sync::Mutex<Flight>,
    /// Counts finished requests; a caller that sees it move while queued shares the outcome.
    attempts: AtomicU64,
    serials: AtomicU64,
}

#[derive(Default)]
struct Flight {
    /// What the last finished request gave its callers.
    last: Option<Result<AccessToken, TokenError>>,
    /// The last failure, while no request has succeeded since.
    failed: Option<(Instant, TokenError)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Fetch unless the cached token is fresh (re-checked once queued).
    IfDue,
    /// Drop the cached token and fetch.
    Force,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("ClientCredentials")
            .field("token_url", &config.token_url.as_str())
            .field("client_id", &config.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &config.auth_method)
            .field("resources", &config.resources)
            .field("scopes", &config.scopes)
            .field("cached", &self.cached_token())
            .finish()
    }
}

impl ClientCredentials {
    pub(crate) fn from_config(config: Config, client: reqwest::Client) -> ClientCredentials {
        ClientCredentials {
            inner: Arc::new(Inner {
                config,
                client,
                cached: ArcSwapOption::empty(),
                flight: tokio::sync::Mutex::new(Flight::default()),
                attempts: AtomicU64::new(0),
                serials: AtomicU64::new(0),
            }),
        }
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.config.token_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// How the client authenticates.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.inner.config.auth_method
    }

    /// The requested resource indicators.
    pub fn resources(&self) -> &[String] {
        &self.inner.config.resources
    }

    /// The requested scopes (split, checked, without duplicates).
    pub fn scopes(&self) -> &[String] {
        &self.inner.config.scopes
    }

    /// The token held now, if any, without asking the server; it may be due for refresh or
    /// expired.
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.inner.cached.load_full().map(AccessToken)
    }

    /// An access token: the cached one while it is fresh, else a new one from the token endpoint
    /// (one request shared by all concurrent callers).
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        if let Some(token) = self.fresh(Instant::now()) {
            return Ok(token);
        }
        self.refresh(Mode::IfDue).await
    }

    /// Fetches a new token now, dropping the cached one, and ignoring the error backoff. Callers
    /// that are already waiting for a request share it instead of starting another.
    ///
    /// After an API rejects a token, prefer [`invalidate`](ClientCredentials::invalidate)
    /// followed by [`token`](ClientCredentials::token): many requests rejected at once then
    /// cause one refresh, not one each.
    pub async fn force_refresh(&self) -> Result<AccessToken, TokenError> {
        self.refresh(Mode::Force).await
    }

    /// Drops `rejected` from the cache if it is still the cached token, so that the next
    /// [`token`](ClientCredentials::token) fetches a new one. A no-op when a newer token has
    /// already replaced it.
    pub fn invalidate(&self, rejected: &AccessToken) {
        let current = self.inner.cached.load();
        if current
            .as_ref()
            .is_some_and(|token| token.serial == rejected.serial())
        {
            tracing::debug!(token_url = %self.inner.config.token_url, "access token invalidated");
            self.inner.cached.compare_and_swap(&current, None);
        }
    }

    /// Adds `Authorization: Bearer <token>` to a `reqwest` request.
    ///
    /// ```no_run
    /// # async fn run(source: scopegate_m2m::ClientCredentials) -> Result<(), Box<dyn std::error::Error>> {
    /// let http = reqwest::Client::new();
    /// let response = source.authorize(http.get("https://api.example.com/products")).await?.send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, TokenError> {
        let token = self.token().await?;
        Ok(request.header(AUTHORIZATION, token.authorization_header()))
    }

    /// Sends a `reqwest` request with `Authorization: Bearer <token>`. If the API answers 401,
    /// drops the token, gets a new one and sends the request once more, provided the request can
    /// be replayed (`RequestBuilder::try_clone` succeeds: any body but a stream) and the new
    /// token differs from the rejected one; otherwise the 401 response is returned.
    ///
    /// ```no_run
    /// # async fn run(source: scopegate_m2m::ClientCredentials) -> Result<(), Box<dyn std::error::Error>> {
    /// let http = reqwest::Client::new();
    /// let response = source.send(http.get("https://api.example.com/products")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, BearerError<reqwest::Error>> {
        let replay = request.try_clone();
        let token = self.token().await.map_err(BearerError::Token)?;
        let response = request
            .header(AUTHORIZATION, token.authorization_header())
            .send()
            .await
            .map_err(BearerError::Service)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(replay) = replay else {
            return Ok(response);
        };
        self.invalidate(&token);
        let fresh = self.token().await.map_err(BearerError::Token)?;
        if fresh.secret() == token.secret() {
            return Ok(response);
        }
        drop(response);
        tracing::debug!("API answered 401; retrying once with a new access token");
        replay
            .header(AUTHORIZATION, fresh.authorization_header())
            .send()
            .await
            .map_err(BearerError::Service)
    }

    /// The cached token if it is not due for refresh at `now`.
    fn fresh(&self, now: Instant) -> Option<AccessToken> {
        let cached = self.inner.cached.load();
        cached
            .as_ref()
            .filter(|token| now < token.refresh_at)
            .map(|token| AccessToken(Arc::clone(token)))
    }

    /// The cached token if it has not expired at `now`.
    fn valid(&self, now: Instant) -> Option<AccessToken> {
        let cached = self.inner.cached.load();
        cached
            .as_ref()
            .filter(|token| now < token.expires_at)
            .map(|token| AccessToken(Arc::clone(token)))
    }

    async fn refresh(&self, mode: Mode) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let seen = inner.attempts.load(Ordering::Acquire);
        let mut flight = inner.flight.lock().await;
        if inner.attempts.load(Ordering::Acquire) != seen {
            // A request finished while this caller queued for it: share its outcome.
            if let Some(outcome) = &flight.last {
                return outcome.clone();
            }
        }
        match mode {
            Mode::IfDue => {
                let now = Instant::now();
                if let Some(token) = self.fresh(now) {
                    return Ok(token);
                }
                if let Some((failed_at, error)) = &flight.failed
                    && now.saturating_duration_since(*failed_at) < inner.config.error_backoff
                {
                    return self.valid(now).ok_or_else(|| error.clone());
                }
            }
            Mode::Force => inner.cached.store(None),
        }

        // Dropping this future (a cancelled caller) releases the lock without counting an
        // attempt, so the next queued caller fetches by itself.
        let outcome = match self.fetch().await {
            Ok(token) => {
                inner.cached.store(Some(Arc::clone(&token.0)));
                flight.failed = None;
                Ok(token)
            }
            Err(error) => {
                let now = Instant::now();
                flight.failed = Some((now, error.clone()));
                match self.valid(now) {
                    Some(previous) => {
                        tracing::warn!(
                            token_url = %inner.config.token_url, %error,
                            "access token refresh failed; the previous token is still valid"
                        );
                        Ok(previous)
                    }
                    None => {
                        tracing::warn!(
                            token_url = %inner.config.token_url, %error,
                            "access token request failed"
                        );
                        Err(error)
                    }
                }
            }
        };
        flight.last = Some(outcome.clone());
        inner.attempts.fetch_add(1, Ordering::Release);
        outcome
    }

    /// One token request, bounded by the configured timeout.
    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let config = &self.inner.config;
        let issued_at = Instant::now();
        let (status, body) = tokio::time::timeout(config.timeout, self.exchange())
            .await
            .map_err(|_| TokenError::Timeout {
                after: config.timeout,
            })??;
        if !status.is_success() {
            return Err(response::parse_failure(status, &body, config));
        }
        let granted = response::parse_success(status, &body, config)?;

        let lifetime = granted.expires_in.unwrap_or(config.assumed_lifetime);
        let margin = config.margin_for(lifetime);
        let expires_at = issued_at.checked_add(lifetime).unwrap_or(issued_at);
        let refresh_at = expires_at.checked_sub(margin).unwrap_or(issued_at);
        let scope_from_server = granted.scope.is_some();
        let scope = granted
            .scope
            .map_or_else(|| config.requested_scope.clone(), String::into_boxed_str);
        tracing::debug!(
            token_url = %config.token_url,
            lifetime_secs = lifetime.as_secs(),
            refresh_in_secs = refresh_at.saturating_duration_since(issued_at).as_secs(),
            scope = %scope,
            "fetched an access token"
        );
        Ok(AccessToken(Arc::new(TokenData {
            secret: granted.secret,
            header: granted.header,
            scope,
            scope_from_server,
            lifetime,
            lifetime_from_server: granted.expires_in.is_some(),
            issued_at,
            expires_at,
            refresh_at,
            serial: self.inner.serials.fetch_add(1, Ordering::Relaxed),
        })))
    }

    /// Sends the request and reads at most `MAX_RESPONSE_BYTES` of the answer.
    async fn exchange(&self) -> Result<(StatusCode, BytesMut), TokenError> {
        let config = &self.inner.config;
        let transport = |e: reqwest::Error| TokenError::Transport {
            message: config.scrub(format!(
                "POST {}: {}",
                config.token_url,
                error_chain(&e.without_url())
            )),
        };
        let mut request = self
            .inner
            .client
            .post(config.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(config.body.clone());
        if let Some(basic) = &config.basic {
            request = request.header(AUTHORIZATION, basic.clone());
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let too_large = TokenError::InvalidResponse {
            reason: "the response is larger than 64 KiB",
        };
        if response
            .content_length()
            .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
