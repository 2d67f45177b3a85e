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
//! - The Logto Management API: [`management::ManagementApi`], a preset for its resource
//!   (`https://<tenant-id>.logto.app/api`) with `scope=all`, calling `<endpoint>/api/...`.
//! - Errors are typed: [`TokenError`] (an RFC 6749 §5.2 error from the server, transport,
//!   timeout, invalid response, ...), [`ConfigError`], [`BearerError`]. None of them, and no
//!   `Debug` output, contains the client secret or the access token.
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
//! let request = http::Request::get("http://api.internal/products").body(Full::default())?;
//! let response = client.oneshot(request).await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod error;
pub mod layer;
pub mod management;
mod response;
mod source;
mod token;

pub use config::{ClientAuthMethod, ClientCredentialsBuilder};
pub use error::{BearerError, ConfigError, OAuthErrorCode, TokenError};
pub use layer::{BearerTokenLayer, BearerTokenService, NoRetry, RetryOnce};
pub use management::{ManagementApi, ManagementError};
pub use source::ClientCredentials;
pub use token::AccessToken;
