//! The proof verifier's error.

use std::time::Duration;

pub use crate::error::ProofProblem;

/// Why [`ProofVerifier::verify`](super::ProofVerifier::verify) refused a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The proof is invalid: `invalid_dpop_proof`.
    #[error("{0}")]
    Invalid(ProofProblem),
    /// The proof's `jti` was already used within the window: `invalid_dpop_proof`.
    #[error("DPoP proof was already used")]
    Replayed,
    /// Server nonces are on and the proof's `nonce` is missing, stale or unknown: answer
    /// `use_dpop_nonce` with `nonce` in a `DPoP-Nonce` header (RFC 9449 §8, §9).
    #[error("a fresh DPoP nonce is required")]
    UseNonce {
        /// The nonce the client must put in its next proof.
        nonce: String,
    },
    /// The replay store cannot be reached: the proof cannot be judged fresh, so it is refused
    /// (answered 503 with `Retry-After`).
    #[error("the DPoP replay store is unavailable")]
    StoreUnavailable {
        /// When to try again.
        retry_after: Duration,
    },
}

impl From<ProofProblem> for DpopError {
    fn from(problem: ProofProblem) -> Self {
        DpopError::Invalid(problem)
    }
}

impl DpopError {
    /// The OAuth error code for this refusal: `invalid_dpop_proof`, `use_dpop_nonce`, or
    /// `temporarily_unavailable` (for a token endpoint's error response, RFC 9449 §5).
    pub fn code(&self) -> &'static str {
        match self {
            DpopError::Invalid(_) | DpopError::Replayed => "invalid_dpop_proof",
            DpopError::UseNonce { .. } => "use_dpop_nonce",
            DpopError::StoreUnavailable { .. } => "temporarily_unavailable",
        }
    }
}
