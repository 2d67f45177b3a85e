//! The shared token request: it runs as its own task (scopegate-http's `SingleFlight`), so that
//! it finishes (and fills the cache) even when every caller that waited for it has been
//! cancelled by its own deadline.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use scopegate_http::{ReadError, Waiter, error_chain, read_capped};

use crate::config::{MAX_RESPONSE_BYTES, bound_lifetime};
use crate::dpop;
use crate::error::TokenError;
use crate::response;
use crate::source::{ClientCredentials, lock};
use crate::token::{AccessToken, TokenData};

/// What a request gave: every caller that waited for it gets a clone.
pub(crate) type Outcome = Result<AccessToken, TokenError>;

impl ClientCredentials {
    /// Starts the token request as a task on the current tokio runtime (or joins the one in
    /// flight), under the state lock of the caller that found none.
    pub(crate) fn start_flight(&self) -> Result<Waiter<Outcome>, TokenError> {
        let source = self.clone();
        let (waiter, _) = self
            .inner
            .flight
            .join_or_start(move || source.run_flight())
            .map_err(|_| TokenError::Transport {
                message: "token requests need a tokio runtime".into(),
            })?;
        Ok(waiter)
    }

    /// The request and its bookkeeping: the cache and the failure state are updated before the
    /// outcome goes out, so a caller that finds no request in flight finds them instead.
    async fn run_flight(self) -> Outcome {
        let result = self.fetch().await;
        let inner = &*self.inner;
        let mut state = lock(&inner.state);
        let now = self.now();
        match result {
            Ok(token) => {
                inner.cached.store(Some(Arc::clone(&token.0)));
                state.failed = None;
                Ok(token)
            }
            Err(error) => {
                state.failed = Some((now, error.clone()));
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
        }
    }

    /// One token request, bounded by the configured timeout.
    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let config = &self.inner.config;
        let issued_at = self.now();
        let (status, body) = tokio::time::timeout(config.timeout, self.exchange_with_nonce())
            .await
            .map_err(|_| TokenError::Timeout {
                after: config.timeout,
            })??;
        if !status.is_success() {
            return Err(response::parse_failure(status, &body, config));
        }
        let granted = response::parse_success(status, &body, config)?;

        let lifetime = bound_lifetime(granted.expires_in.unwrap_or(config.assumed_lifetime));
        let margin = config.margin_for(lifetime);
        let expires_at = issued_at + lifetime;
        let refresh_at = expires_at - margin;
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
        let ath = granted
            .dpop_bound
            .then(|| dpop::access_token_hash(&granted.secret).into_boxed_str());
        Ok(AccessToken(Arc::new(TokenData {
            ath,
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
            accepted: false.into(),
            clock: Arc::clone(&config.clock),
        })))
    }

    /// The exchange, with a DPoP proof when the source has a key. A `400 use_dpop_nonce` that
    /// brings a new `DPoP-Nonce` is answered once more with a proof carrying it (RFC 9449 §8).
    async fn exchange_with_nonce(&self) -> Result<(StatusCode, Bytes), TokenError> {
        let config = &self.inner.config;
        let Some(dpop) = &config.dpop else {
            return self
                .exchange(None)
                .await
                .map(|(status, _, body)| (status, body));
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let proof = dpop
                .header("POST", &config.token_url, None)
                .map_err(TokenError::Dpop)?;
            let (status, headers, body) = self.exchange(Some(proof)).await?;
            let new_nonce = dpop.remember(&config.token_url, &headers);
            if attempts == 1
                && new_nonce
                && status == StatusCode::BAD_REQUEST
                && response::error_code(&body) == Some("use_dpop_nonce")
            {
                tracing::debug!(token_url = %config.token_url, "token endpoint asked for a DPoP nonce; retrying with it");
                continue;
            }
            return Ok((status, body));
        }
    }

    /// Sends the request and reads at most `MAX_RESPONSE_BYTES` of the answer.
    async fn exchange(
        &self,
        proof: Option<HeaderValue>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), TokenError> {
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
        if let Some(proof) = proof {
            request = request.header(dpop::DPOP, proof);
        }
        let mut response = request.send().await.map_err(transport)?;
        // Our own client follows no redirect; a user-supplied one may have. An answer from
        // elsewhere is not the token endpoint's, whatever it says (issue 12: every hop obeys
        // the https-or-loopback rule, and the token request never changes origin).
        let answered_by = response.url();
        if answered_by.origin() != config.token_url.origin()
            || !scopegate_http::is_secure(answered_by, config.destinations.allow_insecure_http)
        {
            return Err(TokenError::Redirected {
                origin: answered_by.origin().ascii_serialization(),
            });
        }
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = http::Response::from(response).into_body();
        let body = read_capped(body, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge { .. } => TokenError::InvalidResponse {
                    reason: "the response is larger than 64 KiB",
                },
                other => TokenError::Transport {
                    message: config.scrub(format!(
                        "POST {}: {}",
                        config.token_url,
                        error_chain(&other)
                    )),
                },
            })?;
        Ok((status, headers, body))
    }
}
