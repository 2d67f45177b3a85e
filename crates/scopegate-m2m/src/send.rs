//! Presenting the token: the `reqwest` glue ([`ClientCredentials::authorize`],
//! [`ClientCredentials::send`]) and the destination and 401 rules the tower layer shares.

use std::time::Instant;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use crate::dpop;
use crate::error::{ApiRejection, BearerError, DestinationError};
use crate::source::{ClientCredentials, Invalidation};
use crate::token::AccessToken;

impl ClientCredentials {
    /// Adds `Authorization: Bearer <token>` to a `reqwest` request, after checking that its
    /// destination may receive the token (https, or http to loopback, or an allowed origin; see
    /// [`api_origin`](crate::ClientCredentialsBuilder::api_origin)). A DPoP-bound token goes as
    /// `Authorization: DPoP <token>` with a fresh `DPoP` proof for this request: send it once,
    /// and use [`send`](ClientCredentials::send) to have nonces handled.
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
    ) -> Result<reqwest::RequestBuilder, BearerError<reqwest::Error>> {
        let (client, request) = request.build_split();
        let mut request = request.map_err(BearerError::Service)?;
        self.check_destination(request.url())?;
        let token = self.token().await.map_err(BearerError::Token)?;
        self.present_reqwest(&token, &mut request)?;
        Ok(reqwest::RequestBuilder::from_parts(client, request))
    }

    /// Sends a `reqwest` request with `Authorization: Bearer <token>`, after the destination check
    /// of [`authorize`](ClientCredentials::authorize). A DPoP-bound token goes as
    /// `Authorization: DPoP <token>` with a fresh proof (see [`dpop`](crate::dpop)).
    ///
    /// If the API answers 401, the token is [invalidated](ClientCredentials::invalidate) and the
    /// request is sent once more with a new token, provided it can be replayed (any body but a
    /// stream). If the API rejects that fresh token too, or a token during the rejection backoff,
    /// the answer is [`BearerError::Rejected`]; a 401 to a request that cannot be replayed is
    /// returned as the response. A 401 `use_dpop_nonce` with a new `DPoP-Nonce` is first retried
    /// once with the same token and a proof carrying that nonce (RFC 9449 §9).
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
        let (client, request) = request.build_split();
        let request = request.map_err(BearerError::Service)?;
        self.check_destination(request.url())?;
        let replay = request.try_clone();
        let token = self.token().await.map_err(BearerError::Token)?;
        let response = self
            .execute_presented(&client, request, replay.as_ref(), &token)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            token.mark_accepted();
            return Ok(response);
        }
        let Some(replay) = replay else {
            self.rejected(&token, response.headers())?;
            return Ok(response);
        };
        let Some(fresh) = self.replacement(&token, response.headers()).await? else {
            return Ok(response);
        };
        drop(response);
        tracing::debug!("API answered 401; retrying once with a new access token");
        let spare = replay.try_clone();
        let response = self
            .execute_presented(&client, replay, spare.as_ref(), &fresh)
            .await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.rejected(&fresh, response.headers())?;
        } else {
            fresh.mark_accepted();
        }
        Ok(response)
    }

    /// Sends `request` with `token`; a 401 asking for a DPoP nonce it has just given is sent
    /// once more, from `spare`, with a proof carrying it.
    async fn execute_presented(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
        spare: Option<&reqwest::Request>,
        token: &AccessToken,
    ) -> Result<reqwest::Response, BearerError<reqwest::Error>> {
        self.present_reqwest(token, &mut request)?;
        let url = request.url().clone();
        let response = client
            .execute(request)
            .await
            .map_err(BearerError::Service)?;
        let retry = self.nonce_retry(token, &url, response.status(), response.headers());
        let Some(mut again) = spare
            .and_then(reqwest::Request::try_clone)
            .filter(|_| retry)
        else {
            return Ok(response);
        };
        drop(response);
        tracing::debug!(%url, "API asked for a DPoP nonce; retrying once with it");
        self.present_reqwest(token, &mut again)?;
        let response = client.execute(again).await.map_err(BearerError::Service)?;
        self.nonce_retry(token, &url, response.status(), response.headers());
        Ok(response)
    }

    fn present_reqwest<E>(
        &self,
        token: &AccessToken,
        request: &mut reqwest::Request,
    ) -> Result<(), BearerError<E>> {
        let (method, url) = (request.method().clone(), request.url().clone());
        self.present(token, &method, &url, request.headers_mut())
    }

    /// Puts `token` on a request to `method url`: the `Authorization` header and, for a
    /// DPoP-bound token, a fresh proof with `ath` and the origin's nonce (RFC 9449 §7).
    pub(crate) fn present<E>(
        &self,
        token: &AccessToken,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
    ) -> Result<(), BearerError<E>> {
        headers.insert(AUTHORIZATION, token.authorization_header());
        match (&self.inner.config.dpop, token.0.ath.as_deref()) {
            (Some(dpop), Some(ath)) => {
                let proof = dpop
                    .header(method.as_str(), url, Some(ath))
                    .map_err(BearerError::Dpop)?;
                headers.insert(dpop::DPOP, proof);
            }
            _ => {
                headers.remove(dpop::DPOP);
            }
        }
        Ok(())
    }

    /// Keeps the `DPoP-Nonce` of an answer from `url`; true when the answer is a 401 that asks
    /// for the nonce it has just given, which is worth one more try with the same token.
    pub(crate) fn nonce_retry(
        &self,
        token: &AccessToken,
        url: &Url,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> bool {
        let Some(dpop) = &self.inner.config.dpop else {
            return false;
        };
        let new_nonce = dpop.remember(url, headers);
        new_nonce
            && token.is_dpop_bound()
            && status == StatusCode::UNAUTHORIZED
            && dpop::asks_for_nonce(headers)
    }

    /// Whether the access token may be sent to `url` (the rule of
    /// [`authorize`](ClientCredentials::authorize)); no request is made.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = scopegate_m2m::ClientCredentials::builder("https://id.example.com/token", "id", "secret")
    ///     .build()?;
    /// assert!(source.destination_allowed(&"https://api.example.com/products".parse()?).is_ok());
    /// assert!(source.destination_allowed(&"http://api.example.com/products".parse()?).is_err());
    /// # Ok(()) }
    /// ```
    pub fn destination_allowed(&self, url: &url::Url) -> Result<(), DestinationError> {
        self.inner.config.destinations.check(url)
    }

    fn check_destination<E>(&self, url: &url::Url) -> Result<(), BearerError<E>> {
        self.destination_allowed(url)
            .map_err(BearerError::Destination)
    }

    /// After a 401 to `rejected`: the token to replay with, `None` when there is no newer one,
    /// or the rejection error while the API is rejecting fresh tokens.
    pub(crate) async fn replacement<E>(
        &self,
        rejected: &AccessToken,
        answer: &HeaderMap,
    ) -> Result<Option<AccessToken>, BearerError<E>> {
        self.rejected(rejected, answer)?;
        let fresh = self.token().await.map_err(BearerError::Token)?;
        Ok((fresh.serial() != rejected.serial()).then_some(fresh))
    }

    /// Invalidates `rejected`; an error when that starts or continues the rejection backoff.
    pub(crate) fn rejected<E>(
        &self,
        rejected: &AccessToken,
        answer: &HeaderMap,
    ) -> Result<(), BearerError<E>> {
        match self.invalidate(rejected) {
            Invalidation::BackingOff { until } => {
                Err(BearerError::Rejected(self.rejection(answer, until)))
            }
            Invalidation::Dropped | Invalidation::Stale => Ok(()),
        }
    }

    fn rejection(&self, answer: &HeaderMap, until: Instant) -> ApiRejection {
        ApiRejection {
            status: StatusCode::UNAUTHORIZED,
            challenge: answer.get(WWW_AUTHENTICATE).map(|value| {
                self.inner
                    .config
                    .redact
                    .clean(&String::from_utf8_lossy(value.as_bytes()))
            }),
            retry_in: until.saturating_duration_since(self.now()),
        }
    }
}
