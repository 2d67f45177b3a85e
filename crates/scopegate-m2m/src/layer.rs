//! [`BearerTokenLayer`] / [`BearerTokenService`]: a tower middleware for outbound clients (a
//! hyper-util `Client`, any `Service<http::Request<B>>`) that adds `Authorization: Bearer
//! <token>` from a [`ClientCredentials`] source.
//!
//! # The 401 retry and the replay rule
//!
//! With the default [`RetryOnce`], a `401 Unauthorized` answer makes the service drop the
//! rejected token ([`ClientCredentials::invalidate`]), get a new one and send the request once
//! more. To send a request twice it must be kept, so this mode needs a body that is `Clone`
//! (`String`, `Bytes`, `http_body_util::Full<Bytes>`, `Empty<Bytes>`, ...). The request is
//! cloned before it is sent (a body clone is usually an `Arc` or `Bytes` reference-count bump).
//! It retries only once, and only when the new token differs from the rejected one. When the
//! API rejects the fresh token too, or a token during the backoff that follows, the answer is
//! [`BearerError::Rejected`] and no further token is fetched for a while.
//!
//! For streaming bodies that cannot be cloned, use [`BearerTokenLayer::without_retry`]: the
//! token is added, and a 401 is returned to the caller, who may call
//! [`ClientCredentials::invalidate`] before trying again.
//!
//! # Where the token goes
//!
//! Each request's URI must be absolute, and https, or http to a loopback host, or an allowed
//! origin ([`api_origin`](crate::ClientCredentialsBuilder::api_origin)); otherwise the answer is
//! [`BearerError::Destination`] and nothing is sent. Put this layer where requests already
//! carry their scheme and host.
//!
//! Any `Authorization` header already on the request is replaced.
//!
//! # DPoP
//!
//! With a DPoP-bound token (see [`dpop`](crate::dpop)), every request, retries included, gets a
//! fresh `DPoP` proof for its method and URI, with `ath` and the nonce its origin last sent. With
//! [`RetryOnce`], a 401 `use_dpop_nonce` carrying a new `DPoP-Nonce` is sent once more with the
//! same token and that nonce, before any token is dropped.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::BearerError;
use crate::source::ClientCredentials;
use crate::token::AccessToken;
use url::Url;

/// The future of a [`BearerTokenService`] (boxed: getting a token is async).
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

/// Retry policy marker: on a 401 answer, refresh the token and send the request once more
/// (needs `B: Clone`). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryOnce;

/// Retry policy marker: never send a request twice (any body type).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

/// A tower [`Layer`] that wraps a client service in a [`BearerTokenService`].
///
/// ```
/// use scopegate_m2m::{BearerTokenLayer, ClientCredentials};
/// use tower_layer::Layer;
///
/// # fn wrap<S: Clone>(client: S) -> Result<(), scopegate_m2m::ConfigError> {
/// let source = ClientCredentials::builder("https://id.example.com/oauth/token", "id", "secret")
///     .resource("https://api.example.com")
///     .build()?;
/// let authorized = BearerTokenLayer::new(source).layer(client);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BearerTokenLayer<R = RetryOnce> {
    source: ClientCredentials,
    /// The retry policy of the services it makes, chosen by type.
    retry: PhantomData<R>,
}

impl BearerTokenLayer<RetryOnce> {
    /// Adds tokens from `source`, and retries once on 401 (request bodies must be `Clone`).
    pub fn new(source: ClientCredentials) -> Self {
        BearerTokenLayer {
            source,
            retry: PhantomData,
        }
    }

    /// Adds tokens but never retries, so that any body type can be sent.
    pub fn without_retry(self) -> BearerTokenLayer<NoRetry> {
        BearerTokenLayer {
            source: self.source,
            retry: PhantomData,
        }
    }
}

impl<S, R> Layer<S> for BearerTokenLayer<R> {
    type Service = BearerTokenService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerTokenService {
            inner,
            source: self.source.clone(),
            retry: PhantomData,
        }
    }
}

/// Adds `Authorization: Bearer <token>` to every request, and with [`RetryOnce`] retries once
/// on 401 with a new token. See the [module docs](crate::layer) for the replay rule.
///
/// The wrapped service must be `Clone`: `poll_ready` readies the inner service, and `call`
/// moves that ready service into the response future, leaving a fresh clone in its place
/// (the clone-and-swap rule of tower). For the retry, the moved service is readied again.
#[derive(Debug, Clone)]
pub struct BearerTokenService<S, R = RetryOnce> {
    inner: S,
    source: ClientCredentials,
    /// The retry policy is chosen by type: each policy has its own `Service` impl.
    retry: PhantomData<R>,
}

impl<S> BearerTokenService<S, RetryOnce> {
    /// Wraps `inner`, with the 401 retry.
    pub fn new(inner: S, source: ClientCredentials) -> Self {
        BearerTokenService {
            inner,
            source,
            retry: PhantomData,
        }
    }
}

impl<S, R> BearerTokenService<S, R> {
    /// The token source.
    pub fn source(&self) -> &ClientCredentials {
        &self.source
    }

    scopegate_http::inner_service_accessors!();

    /// Takes the ready service out, leaving a clone in its place.
    fn take_ready(&mut self) -> S
    where
        S: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

impl<S, B, ResBody> Service<Request<B>> for BearerTokenService<S, RetryOnce>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Clone + Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = BearerError<S::Error>;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(BearerError::Service)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut inner = self.take_ready();
        let source = self.source.clone();
        Box::pin(async move {
            let url = check_destination(&source, &request)?;
            let token = source.token().await.map_err(BearerError::Token)?;
            let replay = request.clone();
            let response = call_presented(&mut inner, &source, request, &url, &token).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                source.accepted(&token);
                return Ok(response);
            }
            let Some(fresh) = source.replacement(&token, response.headers()).await? else {
                return Ok(response);
            };
            drop(response);
            tracing::debug!("API answered 401; retrying once with a new access token");
            ready(&mut inner).await?;
            let response = call_presented(&mut inner, &source, replay, &url, &fresh).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                source.rejected(&fresh, response.headers())?;
            } else {
                source.accepted(&fresh);
            }
            Ok(response)
        })
    }
}

/// Sends `request` with `token`; a 401 asking for a DPoP nonce it has just given is sent once
/// more with a proof carrying it (the inner service is readied again for it).
async fn call_presented<S, B, ResBody>(
    inner: &mut S,
    source: &ClientCredentials,
    request: Request<B>,
    url: &Url,
    token: &AccessToken,
) -> Result<Response<ResBody>, BearerError<S::Error>>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: Clone,
{
    let spare = token.is_dpop_bound().then(|| request.clone());
    let response = inner
        .call(presented(source, request, url, token)?)
        .await
        .map_err(BearerError::Service)?;
    let retry = source.nonce_retry(token, url, response.status(), response.headers());
    let Some(again) = spare.filter(|_| retry) else {
        return Ok(response);
    };
    drop(response);
    tracing::debug!(%url, "API asked for a DPoP nonce; retrying once with it");
    ready(inner).await?;
    let response = inner
        .call(presented(source, again, url, token)?)
        .await
        .map_err(BearerError::Service)?;
    source.nonce_retry(token, url, response.status(), response.headers());
    Ok(response)
}

async fn ready<S, Req>(inner: &mut S) -> Result<(), BearerError<S::Error>>
where
    S: Service<Req>,
{
    std::future::poll_fn(|cx| inner.poll_ready(cx))
        .await
        .map_err(BearerError::Service)
}

impl<S, B, ResBody> Service<Request<B>> for BearerTokenService<S, NoRetry>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = BearerError<S::Error>;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(BearerError::Service)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut inner = self.take_ready();
        let source = self.source.clone();
        Box::pin(async move {
            let url = check_destination(&source, &request)?;
            let token = source.token().await.map_err(BearerError::Token)?;
            let response = inner
                .call(presented(&source, request, &url, &token)?)
                .await
                .map_err(BearerError::Service)?;
            // No second try here; the nonce is kept for the caller's next request.
            source.nonce_retry(&token, &url, response.status(), response.headers());
            if response.status() != StatusCode::UNAUTHORIZED {
                source.accepted(&token);
            }
            Ok(response)
        })
    }
}

fn check_destination<B, E>(
    source: &ClientCredentials,
    request: &Request<B>,
) -> Result<Url, BearerError<E>> {
    source
        .inner
        .config
        .destinations
        .check_uri(request.uri())
        .map_err(BearerError::Destination)
}

fn presented<B, E>(
    source: &ClientCredentials,
    mut request: Request<B>,
    url: &Url,
    token: &AccessToken,
) -> Result<Request<B>, BearerError<E>> {
    let method = request.method().clone();
    source.present(token, &method, url, request.headers_mut())?;
    Ok(request)
}
