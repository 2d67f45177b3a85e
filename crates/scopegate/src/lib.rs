//! # scopegate
//!
//! Bearer-token authorization for API resource servers on tower and axum: one layer checks the
//! `Authorization: Bearer` JWT access token (signature against the issuer's JWKS, `iss`, `aud`,
//! `exp`/`nbf`, `typ`), and per-route guards require scopes such as `read:products`.
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

pub mod algorithm;
pub mod claims;
pub mod config;
pub mod error;
mod json;
pub mod jwks;
pub mod logto;
pub mod token;
pub mod validate;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use claims::{AuthContext, Claims, Scope, ScopeSource, Scopes};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError, TokenTypePolicy};
pub use error::{AuthError, ErrorCode, ErrorResponder};
pub use jwks::{JwksError, JwksPolicy, JwksSource, JwksStats, KeySet};
pub use validate::{CacheConfig, Validator, ValidatorBuilder};
