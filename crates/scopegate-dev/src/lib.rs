//! # scopegate-dev
//!
//! An embedded OAuth 2.0 authorization server for development and tests, shaped like Logto's:
//! on a loopback port it serves
//!
//! * `POST /oidc/token`: the client_credentials grant with client authentication by HTTP Basic
//!   (`client_secret_basic`) or in the form (`client_secret_post`), `resource` (RFC 8707) and
//!   `scope`, answering `{access_token, expires_in, token_type, scope}` or an RFC 6749 §5.2
//!   error;
//! * `GET /oidc/jwks`: the public keys;
//! * the authorization server's metadata (RFC 8414) at
//!   `/.well-known/oauth-authorization-server/oidc`, and the same document at the OpenID Connect
//!   locations, `/oidc/.well-known/openid-configuration` and
//!   `/.well-known/openid-configuration/oidc`, where MCP clients look for it too. It lists
//!   `client_credentials` as the only grant and the two client authentication methods above;
//! * `GET /oidc/auth`: no interactive login; it answers every request `unsupported_response_type`
//!   (MCP clients require the metadata to name an authorization endpoint);
//! * `POST /oidc/token/introspection` (RFC 7662, with RFC 9701 JWT answers on request) and
//!   `POST /oidc/token/revocation` (RFC 7009), both with `client_secret_basic` or
//!   `client_secret_post`; opaque access tokens are issued on request ([`OpaqueTokens`]);
//! * `GET /api/applications`: a minimal Logto Management API, guarded by scopegate's own layer
//!   (resource [`MANAGEMENT_RESOURCE`], permission `all`); see [`management`].
//!
//! A token request with a valid DPoP proof (RFC 9449) gets a token bound to the proof's key:
//! `cnf.jkt` in the token, `token_type: DPoP` in the answer; an invalid proof gets `400
//! invalid_dpop_proof`. Proofs are checked by scopegate's
//! [`ProofVerifier`](scopegate::dpop::ProofVerifier); give the issuer one with server nonces
//! ([`dpop_verifier`](DevIssuerBuilder::dpop_verifier)) to have clients answer `use_dpop_nonce`.
//!
//! Access tokens are JWTs with `typ: at+jwt`, signed ES384 by default (RS256, PS256, ES256 and
//! EdDSA on request), carrying `iss`, `aud` (the resource), `sub` and `client_id` (the app id),
//! `scope`, `iat`, `exp` and `jti`.
//!
//! Several issuers can share one port, each under its own path, as the tenants of a multi-tenant
//! issuer do ([`DevIssuerBuilder::start_tenants`]).
//!
//! Tests can also [`mint`](DevIssuer::mint) any token (broken ones included) and
//! [`rotate_key`](DevIssuer::rotate_key). With the `testing` feature they can count requests,
//! make the JWKS endpoint fail (`set_jwks_fault`) and sign raw bytes (`sign_raw`): the hooks for
//! tests of code that talks to an issuer.
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `aws-lc-rs` | yes | keys generated and signed with aws-lc-rs (wins when both backends are on) |
//! | `rust-crypto` | no | keys with RustCrypto (p256, p384, rsa, ed25519-dalek): no C library; `default-features = false, features = ["rust-crypto"]` |
//! | `testing` | no | fault injection and observation: `JwksFault`, `set_jwks_fault`, `set_jwks_cache_control`, request counters (`unrouted_requests` too), `sign_raw`, `sign_bytes`, `public_key_der`, the introspection endpoint's `set_introspection_fault`, `set_introspection_delay` and counters |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopegate_dev::DevIssuerError> {
//! use scopegate_dev::{DevClient, DevIssuer};
//!
//! let issuer = DevIssuer::builder()
//!     .client(DevClient::new("reader", "reader-secret", "https://shopping.api", ["read:products"]))
//!     .start()
//!     .await?;
//! let token = issuer.mint(issuer.claims("reader", "https://shopping.api", "read:products"));
//! assert_eq!(token.split('.').count(), 3);
//! assert!(issuer.issuer().starts_with("http://127.0.0.1:"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod builder;
mod dpop;
mod issuer;
mod keys;
mod keyset;
pub mod management;
mod mint;
mod opaque;
mod server;
mod state;
mod tenants;
#[cfg(feature = "testing")]
mod testing;

use std::time::{SystemTime, UNIX_EPOCH};

pub use builder::{DevClient, DevIssuerBuilder, Discovery};
pub use issuer::DevIssuer;
pub use keys::{SigningAlgorithm, b64, sign_hmac, signing_input};
pub use management::{
    DEV_MANAGEMENT_APP_ID, DEV_MANAGEMENT_APP_SECRET, MANAGEMENT_RESOURCE, MANAGEMENT_SCOPE,
};
pub use mint::EXPIRED_FOR;
pub use opaque::OpaqueTokens;
pub use state::JWKS_REQUEST_TIMES_KEPT;

pub(crate) use state::{State, lock};
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub use testing::JwksFault;

/// Why the dev issuer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// Binding the listener failed.
    #[error("cannot bind the dev issuer: {0}")]
    Bind(#[from] std::io::Error),
    /// The crypto library failed to generate a key.
    #[error("key generation failed")]
    KeyGeneration,
    /// The scopegate layer of the Management API could not be set up.
    #[error("cannot set up the Management API's authorization: {0}")]
    Management(#[from] scopegate::ConfigError),
    /// A tenant name of [`DevIssuerBuilder::start_tenants`] is not a plain path segment, or
    /// repeats.
    #[error("invalid or repeated tenant name {0:?}")]
    InvalidTenant(String),
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
