//! Presenting the token: the `reqwest` glue ([`ClientCredentials::authorize`],
//! [`ClientCredentials::send`]) and the destination and 401 rules the tower layer shares.

use std::time::Instant;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};

use crate::error::{ApiRejection, BearerError, DestinationError};
use crate::source::{ClientCredentials, Invalidation};
use crate::token::AccessToken;

impl ClientCredentials {
    /// Adds `Authorization: Bearer <token>` to a `reqwest` request, after checking that its
    /// destination may receive the token (https, or http to loopback, or an allowed origin; see
    /// [`api_origin`](crate::ClientCredentialsBuilder::api_origin)).
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
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.authorization_header());
        Ok(reqwest::RequestBuilder::from_parts(client, request))
    }

    /// Sends a `reqwest` request with `Authorization: Bearer <token>`, after the destination check
    /// of [`authorize`](ClientCredentials::authorize).
    ///
    /// If the API answers 401, the token is [invalidated](ClientCredentials::invalidate) and the
    /// request is sent once more with a new token, provided it can be replayed (any body but a
    /// stream). If the API rejects that fresh token too, or a token during the rejection backoff,
    /// the answer is [`BearerError::Rejected`]; a 401 to a request that cannot be replayed is
    /// returned as the response.
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
        let mut request = request.map_err(BearerError::Service)?;
        self.check_destination(request.url())?;
        let replay = request.try_clone();
        let token = self.token().await.map_err(BearerError::Token)?;
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.authorization_header());
        let response = client
            .execute(request)
            .await
            .map_err(BearerError::Service)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            token.mark_accepted();
            return Ok(response);
        }
        let Some(mut replay) = replay else {
            self.rejected(&token, response.headers())?;
            return Ok(response);
        };
        let Some(fresh) = self.replacement(&token, response.headers()).await? else {
            return Ok(response);
        };
        drop(response);
        tracing::debug!("API answered 401; retrying once with a new access token");
        replay
            .headers_mut()
            .insert(AUTHORIZATION, fresh.authorization_header());
        let response = client.execute(replay).await.map_err(BearerError::Service)?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.rejected(&fresh, response.headers())?;
        } else {
            fresh.mark_accepted();
        }
        Ok(response)
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
