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
//! invalid_dpop_proof`. Proofs are checked by scopegate's [`ProofVerifier`]; give the issuer
//! one with server nonces ([`dpop_verifier`](DevIssuerBuilder::dpop_verifier)) to have clients
//! answer `use_dpop_nonce`.
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

mod dpop;
mod keys;
pub mod management;
mod opaque;
mod server;
mod tenants;
#[cfg(feature = "testing")]
mod testing;

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scopegate::dpop::ProofVerifier;
use serde_json::{Value, json};

pub use keys::{SigningAlgorithm, b64, sign_hmac, signing_input};
pub use management::{
    DEV_MANAGEMENT_APP_ID, DEV_MANAGEMENT_APP_SECRET, MANAGEMENT_RESOURCE, MANAGEMENT_SCOPE,
};
pub use opaque::OpaqueTokens;

use keys::DevKey;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub use testing::JwksFault;

/// How long ago the tokens of [`DevIssuer::claims_expired`] expired: past any leeway a
/// validator allows (scopegate's is at most 5 minutes).
pub const EXPIRED_FOR: Duration = Duration::from_secs(600);

/// How many JWKS request arrival times `DevIssuer::jwks_request_times` (feature `testing`) keeps (the most
/// recent ones): the endpoint is open to anyone, so the record must not grow without bound.
pub const JWKS_REQUEST_TIMES_KEPT: usize = 1024;

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

/// An application registered at the dev issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevClient {
    /// The client (application) id.
    pub id: String,
    /// The client secret.
    pub secret: String,
    /// The API resources it may request tokens for; the first is used when a request names none.
    pub resources: Vec<String>,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
}

impl DevClient {
    /// A client allowed `scopes` on one `resource`.
    pub fn new<S: Into<String>>(
        id: impl Into<String>,
        secret: impl Into<String>,
        resource: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> DevClient {
        DevClient {
            id: id.into(),
            secret: secret.into(),
            resources: vec![resource.into()],
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// Also allows tokens for `resource`.
    pub fn with_resource(mut self, resource: impl Into<String>) -> DevClient {
        self.resources.push(resource.into());
        self
    }
}

/// Which discovery documents are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Discovery {
    /// Both OpenID Connect discovery and RFC 8414.
    #[default]
    Both,
    /// RFC 8414 (`/.well-known/oauth-authorization-server/oidc`) only: no OpenID Connect
    /// location.
    Rfc8414Only,
}

/// Configures a [`DevIssuer`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DevIssuerBuilder {
    algorithm: SigningAlgorithm,
    clients: Vec<DevClient>,
    token_ttl: Duration,
    bind: SocketAddr,
    discovery: Discovery,
    key_id: Option<String>,
    opaque_tokens: OpaqueTokens,
    dpop: ProofVerifier,
}

impl DevIssuerBuilder {
    /// Checks the DPoP proofs of token requests with `verifier` (default: scopegate's defaults,
    /// no server nonces). With [`Nonces`](scopegate::dpop::Nonces) on it, a proof without the
    /// current nonce gets `400 use_dpop_nonce` and the nonce in `DPoP-Nonce` (RFC 9449 §8).
    pub fn dpop_verifier(mut self, verifier: ProofVerifier) -> Self {
        self.dpop = verifier;
        self
    }

    /// Gives the first signing key this `kid` instead of a random one (e.g. the same `kid` at two
    /// issuers).
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// Signs with `algorithm` (default ES384).
    pub fn algorithm(mut self, algorithm: SigningAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Registers an application.
    pub fn client(mut self, client: DevClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Sets the lifetime of issued access tokens (default 1 hour).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Binds to this address (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Chooses which discovery documents are served.
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// Chooses when the token endpoint issues opaque tokens (default: never; Logto does when the
    /// request names no `resource`, [`OpaqueTokens::WithoutResource`]).
    pub fn opaque_tokens(mut self, opaque: OpaqueTokens) -> Self {
        self.opaque_tokens = opaque;
        self
    }

    /// Generates the signing key and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<DevIssuer, DevIssuerError> {
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let state = self.state(format!("http://{addr}/oidc"))?;
        let app = server::app(Arc::clone(&state))?;
        let server = tenants::ServerTask::spawn(listener, app);
        tracing::info!(target: "scopegate_dev", issuer = %state.issuer, "dev issuer listening");
        Ok(DevIssuer {
            state,
            addr,
            server,
        })
    }

    /// The state of one issuer named `issuer`, with a fresh signing key.
    fn state(&self, issuer: String) -> Result<Arc<State>, DevIssuerError> {
        let mut key = DevKey::generate(self.algorithm)?;
        if let Some(kid) = &self.key_id {
            key.kid = kid.clone();
        }
        Ok(Arc::new(State {
            issuer,
            clients: self.clients.clone(),
            discovery: self.discovery,
            dpop: self.dpop.clone(),
            token_ttl: Mutex::new(self.token_ttl),
            keys: Mutex::new(Keys {
                current: key.kid.clone(),
                all: vec![Arc::new(key)],
            }),
            #[cfg(feature = "testing")]
            jwks_fault: Mutex::new(None),
            jwks_cache_control: Mutex::new("no-cache, max-age=0".to_owned()),
            jwks_requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            discovery_requests: AtomicU64::new(0),
            last_user_agent: Mutex::new(None),
            jwks_request_times: Mutex::new(VecDeque::with_capacity(JWKS_REQUEST_TIMES_KEPT)),
            opaque_tokens: Mutex::new(self.opaque_tokens),
            opaque: opaque::OpaqueState::default(),
        }))
    }
}

pub(crate) struct State {
    pub(crate) issuer: String,
    pub(crate) clients: Vec<DevClient>,
    pub(crate) discovery: Discovery,
    pub(crate) dpop: ProofVerifier,
    pub(crate) token_ttl: Mutex<Duration>,
    pub(crate) keys: Mutex<Keys>,
    #[cfg(feature = "testing")]
    pub(crate) jwks_fault: Mutex<Option<JwksFault>>,
    pub(crate) jwks_cache_control: Mutex<String>,
    pub(crate) jwks_requests: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    pub(crate) discovery_requests: AtomicU64,
    pub(crate) last_user_agent: Mutex<Option<String>>,
    pub(crate) jwks_request_times: Mutex<VecDeque<Instant>>,
    pub(crate) opaque_tokens: Mutex<OpaqueTokens>,
    pub(crate) opaque: opaque::OpaqueState,
}

pub(crate) struct Keys {
    pub(crate) current: String,
    pub(crate) all: Vec<Arc<DevKey>>,
}

/// Locks test-controlled state; the data stays consistent even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn current_key(&self) -> Arc<DevKey> {
        let keys = lock(&self.keys);
        let found = keys.all.iter().find(|k| k.kid == keys.current);
        // `current` always names a key in `all`: rotate/remove keep that invariant.
        Arc::clone(found.unwrap_or(&keys.all[0]))
    }

    pub(crate) fn jwks(&self) -> Value {
        let keys = lock(&self.keys);
        json!({ "keys": keys.all.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
    }

    pub(crate) fn sign(&self, key: &DevKey, header: &Value, claims: &Value) -> String {
        let input = signing_input(header.to_string().as_bytes(), claims.to_string().as_bytes());
        format!("{input}.{}", b64(&key.sign(input.as_bytes())))
    }

    pub(crate) fn access_token_claims(
        &self,
        client_id: &str,
        resource: &str,
        scope: &str,
    ) -> Value {
        let now = unix_now();
        let ttl = lock(&self.token_ttl).as_secs();
        json!({
            "jti": keys::random_id(12),
            "sub": client_id,
            "iat": now,
            "exp": now + ttl as i64,
            "scope": scope,
            "client_id": client_id,
            "iss": self.issuer,
            "aud": resource,
        })
    }
}

/// A running dev issuer. Stops serving when dropped.
pub struct DevIssuer {
    state: Arc<State>,
    addr: SocketAddr,
    /// Shared by the tenants of [`DevIssuerBuilder::start_tenants`]: serving stops when the last
    /// of them is dropped. Held for that drop; read only by the `testing` counters.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    server: Arc<tenants::ServerTask>,
}

impl fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// A builder: ES384, no clients, 1-hour tokens, a free loopback port.
    pub fn builder() -> DevIssuerBuilder {
        DevIssuerBuilder {
            algorithm: SigningAlgorithm::ES384,
            clients: Vec::new(),
            token_ttl: Duration::from_secs(3600),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            discovery: Discovery::Both,
            key_id: None,
            opaque_tokens: OpaqueTokens::Never,
            dpop: ProofVerifier::default(),
        }
    }

    /// The issuer identifier, `http://127.0.0.1:<port>/oidc` (`…/t/<tenant>/oidc` for the
    /// tenants of [`DevIssuerBuilder::start_tenants`]).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The introspection endpoint (RFC 7662), `<issuer>/token/introspection`.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/token/introspection", self.state.issuer)
    }

    /// The revocation endpoint (RFC 7009), `<issuer>/token/revocation`.
    pub fn revocation_endpoint(&self) -> String {
        format!("{}/token/revocation", self.state.issuer)
    }

    /// Issues an opaque access token to `client_id` directly (no token request), for `audience`
    /// if given, granting `scope`.
    pub fn issue_opaque(&self, client_id: &str, audience: Option<&str>, scope: &str) -> String {
        self.state.issue_opaque(client_id, audience, scope)
    }

    /// Revokes `token` (opaque, or a JWT this issuer issued): introspection says
    /// `active: false` from now on. Returns whether the token was known.
    pub fn revoke(&self, token: &str) -> bool {
        self.state.revoke(token)
    }

    /// Changes when the token endpoint issues opaque tokens.
    pub fn set_opaque_tokens(&self, opaque: OpaqueTokens) {
        *lock(&self.state.opaque_tokens) = opaque;
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.state.issuer)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.issuer)
    }

    /// The endpoint as Logto calls it: the issuer without `/oidc`.
    pub fn endpoint(&self) -> String {
        let issuer = &self.state.issuer;
        issuer.strip_suffix("/oidc").unwrap_or(issuer).to_owned()
    }

    /// The base URL of the Management API, `<endpoint>/api` (see [`management`]).
    pub fn management_api_url(&self) -> String {
        format!("{}/api", self.endpoint())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registered applications.
    pub fn clients(&self) -> &[DevClient] {
        &self.state.clients
    }

    /// The `kid` of the current signing key.
    pub fn kid(&self) -> String {
        lock(&self.state.keys).current.clone()
    }

    /// The algorithm of the current signing key.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.state.current_key().algorithm
    }

    /// The standard access-token claims for `client_id` on `resource` with `scope`, expiring after
    /// the configured lifetime; edit them to make any token.
    pub fn claims(&self, client_id: &str, resource: &str, scope: &str) -> Value {
        self.state.access_token_claims(client_id, resource, scope)
    }

    /// Like [`claims`](Self::claims), but expired [`EXPIRED_FOR`] ago. A token that expired a
    /// moment ago is still accepted: validators allow clock skew (scopegate's leeway is 60 s by
    /// default, 300 s at most), so a test of the refusal needs one expired for longer than that.
    pub fn claims_expired(&self, client_id: &str, resource: &str, scope: &str) -> Value {
        let mut claims = self.claims(client_id, resource, scope);
        let expired_at = unix_now() - EXPIRED_FOR.as_secs() as i64;
        let ttl = lock(&self.state.token_ttl).as_secs() as i64;
        claims["exp"] = json!(expired_at);
        claims["iat"] = json!(expired_at - ttl);
        claims
    }

    /// The header of an access token from the current key: `alg`, `typ: at+jwt`, `kid`.
    pub fn header(&self) -> Value {
        let key = self.state.current_key();
        json!({ "alg": key.algorithm.as_str(), "typ": "at+jwt", "kid": key.kid })
    }

    /// A token with `claims`, signed by the current key with the usual header.
    pub fn mint(&self, claims: Value) -> String {
        self.mint_with_header(self.header(), claims)
    }

    /// A token with exactly `header` and `claims`, signed by the current key with the key's own
    /// algorithm, whatever the header says.
    pub fn mint_with_header(&self, header: Value, claims: Value) -> String {
        let key = self.state.current_key();
        self.state.sign(&key, &header, &claims)
    }

    /// A token with `header` and `claims` signed by the key `kid` (current or added), or `None`
    /// if there is no such key.
    pub fn mint_with_key(&self, kid: &str, header: Value, claims: Value) -> Option<String> {
        let key = self.key(kid)?;
        Some(self.state.sign(&key, &header, &claims))
    }

    /// The current public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        self.state.current_key().public_jwk()
    }

    fn key(&self, kid: &str) -> Option<Arc<DevKey>> {
        lock(&self.state.keys)
            .all
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
    }

    /// The JWKS document currently served.
    pub fn jwks(&self) -> Value {
        self.state.jwks()
    }

    /// Replaces every key by a new one of the same algorithm; returns its `kid`.
    pub fn rotate_key(&self) -> Result<String, DevIssuerError> {
        let key = Arc::new(DevKey::generate(self.algorithm())?);
        let kid = key.kid.clone();
        let mut keys = lock(&self.state.keys);
        keys.all = vec![key];
        keys.current = kid.clone();
        Ok(kid)
    }

    /// Publishes an extra key of `algorithm` (not used by [`mint`](Self::mint)); returns its
    /// `kid`.
    pub fn add_key(&self, algorithm: SigningAlgorithm) -> Result<String, DevIssuerError> {
        let key = Arc::new(DevKey::generate(algorithm)?);
        let kid = key.kid.clone();
        lock(&self.state.keys).all.push(key);
        Ok(kid)
    }

    /// Makes the key `kid` the one that signs; returns false if there is no such key.
    pub fn use_key(&self, kid: &str) -> bool {
        let mut keys = lock(&self.state.keys);
        let exists = keys.all.iter().any(|k| k.kid == kid);
        if exists {
            keys.current = kid.to_owned();
        }
        exists
    }

    /// Stops publishing the key `kid` (the current key cannot be removed); returns whether a key
    /// was removed.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut keys = lock(&self.state.keys);
        if keys.current == kid {
            return false;
        }
        let before = keys.all.len();
        keys.all.retain(|k| k.kid != kid);
        keys.all.len() != before
    }

    /// Sets the lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        *lock(&self.state.token_ttl) = ttl;
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
