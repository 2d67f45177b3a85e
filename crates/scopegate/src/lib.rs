//! # scopegate
//!
//! Bearer-token authorization for API resource servers on tower and axum: one layer checks the
//! `Authorization: Bearer` JWT access token (signature against the issuer's JWKS, `iss`, `aud`,
//! `exp`/`nbf`, `typ`), and per-route guards require scopes such as `read:products`.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scopegate::{AuthConfig, BearerAuthLayer, Validator, extract::Auth, require_scopes};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://shopping.api")
//!         .build()?;
//!     let app = Router::new()
//!         .route("/products", get(|auth: Auth| async move { format!("{:?}", auth.client_id()) }))
//!         .route_layer(require_scopes(["read:products"]))
//!         .layer(BearerAuthLayer::new(Validator::new(config)?));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! The pieces, in the order a request meets them:
//!
//! * [`token`]: finds the bearer token (RFC 6750 §2.1);
//! * [`Validator`] ([`validate`]): verifies it against the issuer's [`jwks`] and the
//!   [`AuthConfig`] ([`config`]), with a verified-token cache; first-sight signature checks run
//!   on a bounded [`verify_pool`];
//! * [`BearerAuthLayer`]: puts the [`AuthContext`] ([`claims`]) in the request extensions;
//! * [`guard`], [`organization`] and [`extract`]: per-route requirements (scopes, the organization)
//!   and
//!   axum extractors;
//! * [`error`]: every refusal, as an RFC 6750 response.
//!
//! The core knows no vendor: [`audience`] matchers and [`organization`] sources are general, and
//! [`logto`] is a preset that only configures them.
//!
//! Crypto backend: the `aws-lc-rs` feature (default) or `rust-crypto`, exactly one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(all(feature = "aws-lc-rs", feature = "rust-crypto"))]
compile_error!(
    "scopegate: the features `aws-lc-rs` and `rust-crypto` are exclusive. To use RustCrypto, \
     depend on scopegate with `default-features = false, features = [\"rust-crypto\", \"axum\"]`."
);
#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("scopegate: enable one crypto backend, `aws-lc-rs` (the default) or `rust-crypto`.");

/// The README's Rust snippet, compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub mod algorithm;
pub mod audience;
mod body;
pub mod claims;
pub mod clock;
pub mod config;
mod cross_site;
pub mod error;
#[cfg(feature = "axum")]
pub mod extract;
pub mod guard;
mod json;
pub mod jwks;
mod layer;
pub mod logto;
pub mod organization;
pub mod telemetry;
pub mod token;
pub mod validate;
pub mod verify_pool;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use audience::AudienceMatcher;
pub use body::AuthBody;
pub use claims::{AuthContext, Claims, Scope, ScopeSource, Scopes};
pub use clock::{Clock, SystemClock, TestClock};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError, TokenTypePolicy};
pub use error::{AuthError, ErrorCode, ErrorResponder, Reason};
#[cfg(feature = "axum")]
pub use guard::require_organization;
pub use guard::{GuardLayer, OrganizationFrom, Requirement, require_any_scope, require_scopes};
pub use jwks::{JwksError, JwksPolicy, JwksSource, JwksStats, KeySet};
pub use layer::{BearerAuthLayer, BearerAuthService, ResponseFuture};
pub use organization::OrganizationSource;
pub use validate::{CacheConfig, Validator, ValidatorBuilder};
pub use verify_pool::VerifyPoolConfig;
