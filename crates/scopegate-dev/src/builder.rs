//! How a dev issuer is configured: the applications it knows ([`DevClient`]), which discovery
//! documents it serves ([`Discovery`]) and the [`DevIssuerBuilder`] that starts it. Apart from
//! the running issuer, since these are settled before anything listens and never change after.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate::dpop::ProofVerifier;

use crate::keys::DevKey;
use crate::keyset::Keys;
use crate::{
    DevIssuer, DevIssuerError, JWKS_REQUEST_TIMES_KEPT, OpaqueTokens, SigningAlgorithm, State,
    opaque, server, tenants,
};

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
    pub(crate) bind: SocketAddr,
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
    pub(crate) fn state(&self, issuer: String) -> Result<Arc<State>, DevIssuerError> {
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
}
