//! DPoP refusals (RFC 9449): the proof, the token's binding, the replay store.

use std::sync::Arc;
use std::time::Duration;

use super::{ErrorCode, Reason};

/// What exactly is wrong with a DPoP proof: the detail behind `invalid_dpop_proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofProblem {
    /// The request has no `DPoP` header.
    #[error("the request carries no DPoP proof")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3, check 1).
    #[error("more than one DPoP header")]
    SeveralHeaders,
    /// Not a compact JWS of three base64url segments of strict JSON.
    #[error("DPoP proof is not a well-formed JWT")]
    Malformed,
    /// Longer than the verifier accepts.
    #[error("DPoP proof is too long")]
    TooLong,
    /// `typ` is not `dpop+jwt`.
    #[error("DPoP proof typ is not dpop+jwt")]
    WrongType,
    /// `alg` is `none`, symmetric, unknown or not on the allow-list.
    #[error("DPoP proof algorithm is not allowed")]
    DisallowedAlgorithm,
    /// The header uses a JWS extension (`crit`, `b64`) scopegate does not implement.
    #[error("DPoP proof header uses an unsupported extension")]
    UnsupportedHeader,
    /// The `jwk` header is missing, or not a public key scopegate can use for `alg`.
    #[error("DPoP proof jwk is missing or unusable")]
    BadKey,
    /// The `jwk` header holds private key members (RFC 9449 §4.3, check 6).
    #[error("DPoP proof jwk contains a private key")]
    PrivateKey,
    /// The signature does not verify with the `jwk` header.
    #[error("DPoP proof signature is invalid")]
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`) is absent or of the wrong type.
    #[error("DPoP proof lacks a required claim")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    #[error("DPoP proof htm does not match the request method")]
    WrongMethod,
    /// `htu` is not the request's URI (scheme, host, port and path, normalized).
    #[error("DPoP proof htu does not match the request URI")]
    WrongUri,
    /// `htu` carries a query or a fragment (RFC 9449 §4.2: "without query and fragment parts").
    #[error("DPoP proof htu has a query or fragment")]
    UriWithQuery,
    /// `iat` is older than the window (plus leeway) allows.
    #[error("DPoP proof is too old")]
    TooOld,
    /// `iat` is further in the future than the window (plus leeway) allows.
    #[error("DPoP proof is issued in the future")]
    InFuture,
    /// The proof goes with an access token but has no `ath`.
    #[error("DPoP proof lacks ath")]
    MissingAth,
    /// `ath` is not the hash of the access token sent with it.
    #[error("DPoP proof ath does not match the access token")]
    WrongAth,
}

/// Why a request was refused over DPoP: a bad proof, a token presented against its binding, or
/// a replay store that cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopRefusal {
    /// The proof is invalid: 401 `invalid_dpop_proof`.
    #[error("{0}")]
    InvalidProof(ProofProblem),
    /// The proof's `jti` was already used within its window: 401 `invalid_dpop_proof`.
    #[error("DPoP proof was already used")]
    Replayed,
    /// Server nonces are on and the proof has no current nonce: 401 `use_dpop_nonce` with the
    /// nonce in a `DPoP-Nonce` header (RFC 9449 §9).
    #[error("a fresh DPoP nonce is required")]
    UseNonce {
        /// The nonce the client must use.
        nonce: Arc<str>,
    },
    /// The proof's key is not the one the token is bound to (`cnf.jkt`): 401 `invalid_token`.
    #[error("DPoP proof key does not match the token binding")]
    KeyMismatch,
    /// A token bound to a key (`cnf.jkt`) sent with the `Bearer` scheme: it never works as a
    /// bearer token (RFC 9449 §7.2). 401 `invalid_token`.
    #[error("a DPoP-bound token must be sent with the DPoP scheme")]
    BoundTokenAsBearer,
    /// The `DPoP` scheme with a token bound to no key: 401 `invalid_token`.
    #[error("token is not bound to a DPoP key")]
    UnboundToken,
    /// Only DPoP-bound tokens are accepted here: 401 `invalid_token`.
    #[error("this resource requires a DPoP-bound token")]
    Required,
    /// The token's `cnf` names a confirmation method scopegate cannot check (such as
    /// `x5t#S256` without mutual TLS): refused in every mode, never ignored. 401 `invalid_token`.
    #[error("token confirmation method is not supported")]
    UnsupportedConfirmation,
    /// The replay store cannot be reached: 503 with `Retry-After`.
    #[error("the DPoP replay store is unavailable")]
    StoreUnavailable {
        /// When to try again.
        retry_after: Duration,
    },
}

impl DpopRefusal {
    pub(super) fn code(&self) -> Option<ErrorCode> {
        match self {
            DpopRefusal::InvalidProof(_) | DpopRefusal::Replayed => {
                Some(ErrorCode::InvalidDpopProof)
            }
            DpopRefusal::UseNonce { .. } => Some(ErrorCode::UseDpopNonce),
            DpopRefusal::StoreUnavailable { .. } => None,
            _ => Some(ErrorCode::InvalidToken),
        }
    }

    pub(super) fn reason(&self) -> Reason {
        match self {
            DpopRefusal::InvalidProof(_) => Reason::InvalidDpopProof,
            DpopRefusal::Replayed => Reason::DpopReplayed,
            DpopRefusal::UseNonce { .. } => Reason::UseDpopNonce,
            DpopRefusal::KeyMismatch => Reason::DpopKeyMismatch,
            DpopRefusal::BoundTokenAsBearer => Reason::BoundTokenAsBearer,
            DpopRefusal::UnboundToken => Reason::UnboundTokenAsDpop,
            DpopRefusal::Required => Reason::DpopRequired,
            DpopRefusal::UnsupportedConfirmation => Reason::UnsupportedConfirmation,
            DpopRefusal::StoreUnavailable { .. } => Reason::ReplayStoreUnavailable,
        }
    }

    /// Whether the error belongs on the `DPoP` challenge whatever scheme the request used.
    pub(super) fn on_dpop_challenge(&self) -> bool {
        !matches!(
            self,
            DpopRefusal::BoundTokenAsBearer | DpopRefusal::UnsupportedConfirmation
        )
    }
}
