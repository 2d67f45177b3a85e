//! Sender-constrained tokens: DPoP (RFC 9449).
//!
//! A DPoP-bound access token carries `cnf.jkt`, the thumbprint of a key its client holds; each
//! request sends it as `Authorization: DPoP <token>` with a `DPoP` header holding a proof, a
//! small JWT signed by that key for this method and URI. A stolen token is useless without
//! the key.
//!
//! * [`DpopConfig`] sets a [`BearerAuthLayer`](crate::BearerAuthLayer)'s mode: `allowed` (the
//!   default: `Bearer` and `DPoP` both accepted), `required` or `disabled`. In every mode a
//!   token bound to a key never works as a bearer token, and a token whose `cnf` cannot be
//!   checked is refused.
//! * [`ProofVerifier`] checks one proof (RFC 9449 §4.3); it also serves token endpoints.
//! * [`ReplayStore`] remembers used `jti`s: in memory by default, in Redis with the `redis`
//!   feature for several replicas.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::BearerAuthLayer;
//! use scopegate::dpop::{DpopConfig, DpopMode, Nonces, ProofVerifier, PublicUrl};
//! # fn demo(validator: scopegate::Validator) {
//! let verifier = ProofVerifier::builder()
//!     .iat_window(Duration::from_secs(30))
//!     .nonces(Nonces::new(Duration::from_secs(300)))
//!     .build();
//! let layer = BearerAuthLayer::new(validator).dpop(
//!     DpopConfig::new(DpopMode::Required)
//!         .verifier(verifier)
//!         .public_url(PublicUrl::base("https://api.example.com").expect("a base URL")),
//! );
//! # }
//! ```

use http::request::Parts;
use serde_json::{Map, Value};

use crate::claims::AuthContext;
use crate::error::{AuthError, DpopRefusal, RequestProblem};

mod builder;
mod jwk;
mod nonce;
mod problem;
mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod uri;

pub use builder::ProofVerifierBuilder;
pub use jwk::{access_token_hash, jwk_thumbprint};
pub use nonce::Nonces;
pub use problem::{DpopError, ProofProblem};
pub(crate) use proof::PreparedProof;
pub use proof::{
    DEFAULT_PROOF_ALGORITHMS, DPOP_HEADER, DPOP_NONCE_HEADER, MAX_PROOF_LENGTH, ProofTarget,
    ProofVerifier, VerifiedProof, proof_header,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisReplayStore, RedisReplayStoreBuilder};
pub use replay::{
    DEFAULT_MEMORY_CAPACITY, Freshness, MemoryReplayStore, RecordFuture, ReplayStore,
    ReplayStoreError,
};
pub use uri::PublicUrl;

/// Which schemes a layer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpopMode {
    /// `Bearer` only; the `DPoP` scheme is refused (`invalid_request`). Tokens bound to a key are
    /// still refused as bearer tokens.
    Disabled,
    /// `Bearer` and `DPoP` (the default); a bound token only with the `DPoP` scheme and a proof.
    #[default]
    Allowed,
    /// `DPoP` only: every token must be bound to a key and come with a proof.
    Required,
}

impl std::str::FromStr for DpopMode {
    type Err = String;

    /// `disabled`, `allowed` or `required`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disabled" => Ok(DpopMode::Disabled),
            "allowed" => Ok(DpopMode::Allowed),
            "required" => Ok(DpopMode::Required),
            other => Err(format!(
                "unknown DPoP mode {other:?}: expected disabled, allowed or required"
            )),
        }
    }
}

/// A layer's DPoP settings: the mode, the proof verifier, and where the external URL comes
/// from. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct DpopConfig {
    mode: DpopMode,
    verifier: ProofVerifier,
    public_url: PublicUrl,
}

impl DpopConfig {
    /// `mode` with the default verifier and the URL rebuilt from each request.
    pub fn new(mode: DpopMode) -> DpopConfig {
        DpopConfig {
            mode,
            ..DpopConfig::default()
        }
    }

    /// Checks proofs with `verifier` (its algorithms, window, replay store, nonces).
    #[must_use]
    pub fn verifier(mut self, verifier: ProofVerifier) -> Self {
        self.verifier = verifier;
        self
    }

    /// Where the external URL of a request (its `htu`) comes from.
    #[must_use]
    pub fn public_url(mut self, public_url: PublicUrl) -> Self {
        self.public_url = public_url;
        self
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The proof verifier.
    pub fn proof_verifier(&self) -> &ProofVerifier {
        &self.verifier
    }

    /// A `DPoP`-scheme request's proof, judged before its token is validated: the cheap checks
    /// (everything but the signature and the replay record), whose failure is reported only
    /// once the token itself has passed. Refused at once in the `disabled` mode.
    pub(crate) fn inspect(&self, parts: &Parts, token: &str) -> Result<ProofInHand, AuthError> {
        if self.mode == DpopMode::Disabled {
            return Err(AuthError::InvalidRequest(RequestProblem::WrongScheme));
        }
        let prepared = proof_header(&parts.headers).and_then(|proof| {
            let uri = self
                .public_url
                .request_uri(parts)
                .ok_or(ProofProblem::WrongUri)?;
            let target = ProofTarget::new(&parts.method, &uri).access_token(token);
            self.verifier.prepare(proof, &target)
        });
        Ok(ProofInHand(Box::new(prepared)))
    }

    /// The binding rule for a `Bearer` request (RFC 9449 §7.2): a token bound to a key never
    /// works as a bearer token, and in the `required` mode no bearer token does.
    pub(crate) fn bind_bearer(&self, context: &AuthContext) -> Result<(), AuthError> {
        if context.dpop_thumbprint().is_some() {
            return Err(DpopRefusal::BoundTokenAsBearer.into());
        }
        if self.mode == DpopMode::Required {
            return Err(DpopRefusal::Required.into());
        }
        Ok(())
    }

    /// The binding rule for a `DPoP` request (RFC 9449 §7.1), once the token is valid: it is
    /// bound, to the proof's key. What is left is the proof's signature and its `jti`.
    pub(crate) fn bind_dpop(
        &self,
        proof: ProofInHand,
        context: &AuthContext,
    ) -> Result<PreparedProof, AuthError> {
        let Some(bound) = context.dpop_thumbprint() else {
            return Err(DpopRefusal::UnboundToken.into());
        };
        let prepared = (*proof.0).map_err(refusal)?;
        if prepared.thumbprint() != bound {
            return Err(DpopRefusal::KeyMismatch.into());
        }
        Ok(prepared)
    }

    /// The proof's signature and `jti` record.
    pub(crate) async fn finish(&self, prepared: PreparedProof) -> Result<VerifiedProof, AuthError> {
        self.verifier.finish(prepared).await.map_err(refusal)
    }

    /// The challenges a layer in this mode sends.
    pub(crate) fn schemes(&self, dpop_request: bool) -> crate::error::Schemes {
        crate::error::Schemes {
            bearer: self.mode != DpopMode::Required,
            dpop_algs: (self.mode != DpopMode::Disabled).then(|| self.verifier.algs().into()),
            dpop_request,
        }
    }
}

/// A `DPoP` request's proof with its cheap checks done (or the first one that failed).
pub(crate) struct ProofInHand(Box<Result<PreparedProof, DpopError>>);

fn refusal(error: DpopError) -> AuthError {
    AuthError::Dpop(match error {
        DpopError::Invalid(problem) => DpopRefusal::InvalidProof(problem),
        DpopError::Replayed => DpopRefusal::Replayed,
        DpopError::UseNonce { nonce } => DpopRefusal::UseNonce {
            nonce: nonce.into(),
        },
        DpopError::StoreUnavailable { retry_after } => {
            DpopRefusal::StoreUnavailable { retry_after }
        }
    })
}

/// The token's key binding (RFC 7800 `cnf`, RFC 9449 §6.1): `None` for an unbound token, the
/// `jkt` for a DPoP-bound one. Any other confirmation method is refused, so a binding is never
/// ignored.
pub(crate) fn confirmation(claims: &Map<String, Value>) -> Result<Option<Box<str>>, AuthError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let cnf = cnf.as_object().ok_or(AuthError::InvalidClaim("cnf"))?;
    let mut jkt = None;
    for (method, value) in cnf {
        match (method.as_str(), value) {
            ("jkt", Value::String(thumbprint)) if !thumbprint.is_empty() => {
                jkt = Some(Box::from(thumbprint.as_str()));
            }
            ("jkt", _) => return Err(AuthError::InvalidClaim("cnf")),
            _ => return Err(DpopRefusal::UnsupportedConfirmation.into()),
        }
    }
    jkt.map(Some)
        .ok_or(DpopRefusal::UnsupportedConfirmation.into())
}
