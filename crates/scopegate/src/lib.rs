//! # scopegate
//!
//! Bearer-token authorization for API resource servers on tower and axum: one layer checks the
//! `Authorization: Bearer` JWT access token (signature against the issuer's JWKS, `iss`, `aud`,
//! `exp`/`nbf`, `typ`), and per-route guards require scopes such as `read:products`.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scopegate::{BearerAuthLayer, Validator, extract::Auth, require_scopes};
//!
//! async fn products(auth: Auth) -> String {
//!     format!("products for {}", auth.client_id().unwrap_or("?"))
//! }
//!
//! /// The app, built from the Logto endpoint so that tests can point it at `scopegate-dev`.
//! pub fn app(logto_endpoint: &str) -> Result<Router, scopegate::ConfigError> {
//!     let config = scopegate::logto::config(logto_endpoint, "https://shopping.api").build()?;
//!     let auth = BearerAuthLayer::new(Validator::new(config)?).realm("shopping");
//!     Ok(Router::new()
//!         .route(
//!             "/products",
//!             get(products).route_layer(require_scopes(["read:products"])),
//!         )
//!         .route_layer(auth) // every route above needs a token
//!         .route("/health", get(|| async { "ok" }))) // routes below stay open
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app("https://abc123.logto.app")?).await?;
//!     Ok(())
//! }
//! ```
//!
//! Both `route_layer` and `layer` protect the routes added before them, never those added after.
//! `route_layer` runs only for requests that match one of those routes, so an unknown path stays
//! `404`; use `layer` when the fallback too must need a token. For an issuer other than Logto,
//! start from [`AuthConfig::builder(issuer, audience)`](AuthConfig::builder).
//!
//! The pieces, in the order a request meets them:
//!
//! * [`token`]: finds the bearer token (RFC 6750 §2.1);
//! * [`Validator`] ([`validate`]): verifies it against the issuer's [`jwks`] and the
//!   [`AuthConfig`] ([`config`]), with a verified-token cache; first-sight signature checks run
//!   on a bounded [`verify_pool`];
//! * [`introspect`]: opaque tokens (and, if asked, every token) resolved by RFC 7662
//!   introspection at the issuer, cached, into the same [`AuthContext`];
//! * [`BearerAuthLayer`]: puts the [`AuthContext`] ([`claims`]) in the request extensions;
//! * [`guard`], [`organization`] and [`extract`]: per-route requirements (scopes, the organization)
//!   and
//!   axum extractors;
//! * [`dpop`]: sender-constrained tokens (RFC 9449): the `cnf.jkt` binding and the proof of
//!   each `DPoP` request;
//! * [`error`]: every refusal, as an RFC 6750 (and RFC 9449) response, or as a gRPC status for a
//!   gRPC request;
//! * [`grpc`]: gRPC services (tonic): the refusals' gRPC mapping, and scopes per method
//!   ([`grpc::GrpcMethods`], [`BearerAuthLayer::require_grpc_methods`]);
//! * [`metadata`]: the RFC 9728 protected-resource document that every challenge points to
//!   (`resource_metadata`), with the scopes the routes require
//!   ([`BearerAuthLayer::require_scopes`]);
//! * [`route`]: a route's requirement declared once ([`GuardedRoute`]: method, path, scopes),
//!   from which its guard ([`BearerAuthLayer::guard`]), the metadata's scopes and, with the
//!   `openapi` feature, the OpenAPI document's security are all made.
//!
//! Issuers need not all be known at start: a [`resolver`] chooses them at run time by a trust
//! rule over `iss` (one Logto tenant per customer), with per-tenant policy and bounded cost.
//!
//! Beside the requests: [`readiness`] says whether every issuer's keys are usable (a `/ready`
//! probe), and [`Validator::warm_up_for`] waits a bounded time for them at start.
//!
//! The core knows no vendor: [`audience`] matchers and [`organization`] sources are general, and
//! [`logto`] is a preset that only configures them.
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `aws-lc-rs` | yes | signature checks (and TLS, with `remote`) on aws-lc-rs, the faster backend |
//! | `rust-crypto` | no | signature checks on RustCrypto, TLS on ring: no aws-lc-sys, no cmake. `default-features = false, features = ["rust-crypto", "remote", "axum"]` |
//! | `remote` | yes | keys fetched over HTTP (discovery, [`jwks_uri`](AuthConfigBuilder::jwks_uri)) and tokens introspected ([`introspect`]) with reqwest; [`AuthConfigBuilder::http_client`], [`jwks::redirect_policy`]. Without it, keys come from [`jwks_static`](AuthConfigBuilder::jwks_static) or an HMAC secret, and no HTTP client is compiled |
//! | `redis` | no | `dpop::RedisReplayStore`: DPoP proofs recorded in Redis, shared by every replica. Needs neither `remote` nor TLS (redis speaks RESP over its own TCP connection) |
//! | `axum` | yes | the [`extract`] module (`Auth`, `Scopes`, `TokenClaims<T>`), [`require_organization`] by path parameter, `IntoResponse` for [`AuthError`] |
//! | `testing` | no | the `scopegate::testing` module: an [`AuthContext`] built by hand and attached to a request, for handler and guard tests with no issuer and no socket |
//! | `openapi` | no | the `scopegate::openapi` module: the OAuth 2.0 security scheme and each guarded operation's requirement written into a [utoipa](https://docs.rs/utoipa) 6 OpenAPI document from the same [`GuardedRoute`]s as the guards; `OpenApiSecurityBuilder::discover` (the issuers' token endpoints) with `remote` |
//!
//! Features are additive. With both crypto backends on, aws-lc-rs is used; with neither, the
//! build stops and says to pick one. Items that need a feature are marked so in these docs.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Examples (the README's included) are code users copy: a warning in one (an unused import) is a
// warning in their crate. Snippets may still define a function or a value nothing else uses.
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

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
pub mod dpop;
pub mod error;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
pub mod grpc;
pub mod guard;
pub mod introspect;
mod json;
pub mod jwks;
mod layer;
pub mod logto;
pub mod metadata;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
pub mod organization;
pub mod readiness;
pub mod resolver;
pub mod route;
pub mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod token;
pub mod validate;
pub mod verify_pool;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use audience::{AudienceMatcher, UriAudience};
pub use body::AuthBody;
pub use claims::{AuthContext, Claims, Scope, ScopeSource, Scopes};
pub use clock::{Clock, SystemClock, TestClock};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError, TokenTypePolicy};
pub use dpop::{DpopConfig, DpopMode, ProofVerifier};
pub use error::{AuthError, DpopRefusal, ErrorCode, ErrorResponder, Reason};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use guard::require_organization;
pub use guard::{
    GuardLayer, OrganizationFrom, Requirement, ScopedAuthLayer, require_any_scope, require_scopes,
};
pub use jwks::{IssuerReadiness, JwksError, JwksPolicy, JwksSource, JwksStats, KeySet};
pub use layer::{BearerAuthLayer, BearerAuthService, ResponseFuture};
pub use metadata::{RequiredScopes, ResourceMetadata, ResourceMetadataBuilder};
pub use organization::OrganizationSource;
pub use readiness::{Readiness, ReadyService};
pub use route::{GuardedRoute, ScopeRule};
pub use validate::{CacheConfig, Validator, ValidatorBuilder};
pub use verify_pool::VerifyPoolConfig;
