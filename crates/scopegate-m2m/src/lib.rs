//! # scopegate-m2m
//!
//! The client side of machine-to-machine OAuth 2.0: a token source for the client_credentials
//! grant (RFC 6749 §4.4) with RFC 8707 resource indicators, which caches the access token,
//! refreshes it before it expires, and lets all concurrent callers share one request.
//!
//! - [`ClientCredentials`]: the token source; [`ClientCredentials::token`] returns an
//!   [`AccessToken`]. Build it with [`ClientCredentials::builder`] (any issuer) or
//!   [`ClientCredentials::logto`] (token endpoint `<endpoint>/oidc/token`).
//! - `reqwest`: [`ClientCredentials::authorize`] adds the header to a request;
//!   [`ClientCredentials::send`] also retries once with a new token when the API answers 401.
//! - tower / hyper: [`BearerTokenLayer`] wraps any `Service<http::Request<B>>`; it adds the
//!   header and retries once on 401 (see [`layer`] for when a request can be replayed).
//! - DPoP (RFC 9449): with a [`DpopKey`] ([`ClientCredentialsBuilder::dpop`]), tokens are bound
//!   to the key and every call carries a fresh proof (see [`dpop`]).
//! - The Logto Management API: [`management::ManagementApi`], a preset for its resource
//!   (`https://<tenant-id>.logto.app/api`) with `scope=all`, calling `<endpoint>/api/...`.
//! - Errors are typed: [`TokenError`] (an RFC 6749 §5.2 error from the server, transport,
//!   timeout, invalid response, a redirect, ...), [`ConfigError`], [`BearerError`] (including
//!   [`DestinationError`] and [`ApiRejection`]). None of them, and no `Debug` output, contains
//!   the client secret or the access token.
//! - The token goes only to https, to http on loopback, or to origins you allow
//!   ([`api_origin`](ClientCredentialsBuilder::api_origin)); the client secret only to the token
//!   endpoint (a redirect elsewhere is never followed by the default client, and an answer from
//!   elsewhere is refused).
//!
//! ## Refresh policy
//!
//! - **When.** A token is fresh until its [`refresh_at`](AccessToken::refresh_at): its expiry
//!   less the [`refresh_margin`](ClientCredentialsBuilder::refresh_margin) (60 s, at most half
//!   the lifetime). Lifetimes are bounded: at least [`MIN_LIFETIME`](config::MIN_LIFETIME)
//!   (10 s, so `expires_in: 0` still caches), at most [`MAX_LIFETIME`](config::MAX_LIFETIME).
//! - **What callers see meanwhile.** Between `refresh_at` and expiry, callers get the current
//!   token at once, and one request for a new token runs in the background. Only a caller with
//!   no valid token (none yet, or expired) waits, and all such callers share one request.
//! - **Deadlines.** That request runs as its own task: a caller that gives up (its own timeout)
//!   does not cancel it, so a slow token endpoint still delivers to whoever asks next. Each
//!   request is bounded by the [`timeout`](ClientCredentialsBuilder::timeout) (10 s).
//! - **Failures.** A failed refresh keeps the still-valid token in use; after a failure, no new
//!   request is made for the [`error_backoff`](ClientCredentialsBuilder::error_backoff) (1 s).
//! - **401.** [`send`](ClientCredentials::send) and [`BearerTokenLayer`] drop a rejected token
//!   and retry once with a new one. If the API rejects that fresh token too, the source stops
//!   fetching: for the [`rejection_backoff`](ClientCredentialsBuilder::rejection_backoff)
//!   (10 s, doubling up to 10 min) 401s keep the token and answer [`BearerError::Rejected`];
//!   then one new token is tried. A token that an API once accepted and later rejects is
//!   replaced at once.
//!
//! ## With reqwest
//!
//! ```no_run
//! use scopegate_m2m::ClientCredentials;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = ClientCredentials::logto("https://tenant.logto.app", "app-id", "app-secret")
//!     .resource("https://api.example.com")
//!     .scope("read:products")
//!     .build()?;
//!
//! let http = reqwest::Client::new();
//! // Adds `Authorization: Bearer ...`; on 401, refreshes the token and retries once.
//! let response = source.send(http.get("https://api.example.com/products")).await?;
//! println!("{}", response.status());
//!
//! // Or take the token yourself.
//! let token = source.token().await?;
//! println!("granted {:?}, expires in {:?}", token.scope(), token.expires_in());
//! # Ok(()) }
//! ```
//!
//! ## With a tower / hyper client
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use scopegate_m2m::{BearerTokenLayer, ClientCredentials};
//! use tower::{Layer, ServiceExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = ClientCredentials::builder("https://id.example.com/oauth/token", "id", "secret")
//!     .resource("https://api.example.com")
//!     .build()?;
//! let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
//! let client = BearerTokenLayer::new(source).layer(client);
//!
//! let request = http::Request::get("https://api.example.com/products").body(Full::default())?;
//! let response = client.oneshot(request).await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `aws-lc-rs` | yes | DPoP keys and proofs, and TLS of the default HTTP clients (token endpoint, Management API), on aws-lc-rs |
//! | `rust-crypto` | no | DPoP keys and proofs by RustCrypto (`p256`, `p384`); TLS on ring, or on the rustls provider your application installed as the process default: no aws-lc-sys in the build. `default-features = false, features = ["rust-crypto"]` |
//!
//! Features are additive: with both on, aws-lc-rs is used; with neither, the build stops and
//! says to pick one. A client of your own
//! ([`http_client`](ClientCredentialsBuilder::http_client)) keeps its own TLS setup.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "scopegate-m2m: enable one of the features `aws-lc-rs` (the default) and `rust-crypto`"
);

pub mod clock;
pub mod config;
mod destination;
pub mod dpop;
pub mod error;
mod flight;
pub mod layer;
pub mod management;
mod redact;
mod response;
mod send;
mod source;
mod token;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::{ClientAuthMethod, ClientCredentialsBuilder};
pub use dpop::{DpopAlgorithm, DpopError, DpopKey};
pub use error::{
    ApiRejection, BearerError, ConfigError, DestinationError, OAuthErrorCode, TokenError,
};
pub use layer::{BearerTokenLayer, BearerTokenService, NoRetry, RetryOnce};
pub use management::{ManagementApi, ManagementError};
pub use source::{ClientCredentials, Invalidation};
pub use token::AccessToken;
