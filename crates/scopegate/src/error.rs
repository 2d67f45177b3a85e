//! Why a request was refused, and the one place that turns a refusal into an HTTP response
//! (RFC 6750 §3).
//!
//! | [`AuthError`] | status | `WWW-Authenticate` |
//! |---|---|---|
//! | [`MissingToken`](AuthError::MissingToken), [`NotConfigured`](AuthError::NotConfigured) | 401 | `Bearer realm="…"` (no error) |
//! | [`InvalidRequest`](AuthError::InvalidRequest) | 400 | `error="invalid_request"` |
//! | token problems (malformed, expired, forged, unknown key, wrong issuer/audience, …) | 401 | `error="invalid_token"` |
//! | [`InsufficientScope`](AuthError::InsufficientScope) | 403 | `error="insufficient_scope", scope="…"` |
//! | [`MethodNotListed`](AuthError::MethodNotListed) (a gRPC method no guard lists) | 403 | `error="insufficient_scope"` |
//! | [`CrossSiteRequest`](AuthError::CrossSiteRequest) | 403 | `error="invalid_request"` |
//! | [`KeysUnavailable`](AuthError::KeysUnavailable), [`Overloaded`](AuthError::Overloaded), [`IntrospectionUnavailable`](AuthError::IntrospectionUnavailable) | 503 + `Retry-After` | none |
//! | [`Dpop`](AuthError::Dpop): a bad proof, a replay | 401 | `DPoP … error="invalid_dpop_proof"` |
//! | [`Dpop`](AuthError::Dpop): no current server nonce | 401 + `DPoP-Nonce` | `DPoP … error="use_dpop_nonce"` |
//! | [`Dpop`](AuthError::Dpop): a token against its binding (`cnf`) | 401 | `error="invalid_token"` |
//! | [`Dpop`](AuthError::Dpop): the replay store unreachable | 503 + `Retry-After` | none |
//!
//! Where DPoP is accepted (RFC 9449 §7.1), a `DPoP algs="…"` challenge follows the `Bearer` one
//! (or replaces it where only DPoP is), and the error goes on the challenge of the scheme the
//! request used.
//!
//! Descriptions are fixed, short texts: they never echo any part of the token.
//!
//! A gRPC request gets the same refusal as a gRPC status (HTTP 200, `grpc-status`,
//! `grpc-message`, the same challenge): see [`grpc`](crate::grpc).

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

mod challenge;
mod dpop;
pub(crate) mod grpc;
mod problem;
mod reason;
mod responder;
pub(crate) use challenge::Schemes;
pub use dpop::{DpopRefusal, ProofProblem};
pub use grpc::GrpcCode;
pub use problem::{RequestProblem, TokenProblem};
pub use reason::Reason;
pub use responder::{BodyRenderer, ErrorResponder};
pub(crate) use responder::{Shape, respond_covered};

/// Why a request was not authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carries no bearer token at all.
    #[error("no bearer token in the request")]
    MissingToken,
    /// The request's credentials are not a well-formed bearer token request (RFC 6750 §2.1).
    #[error("{0}")]
    InvalidRequest(RequestProblem),
    /// The token is not a well-formed signed JWT.
    #[error("{0}")]
    MalformedToken(TokenProblem),
    /// The token's `alg` is not on the allow-list (this includes `none` and unknown names).
    #[error("token algorithm is not allowed")]
    DisallowedAlgorithm,
    /// The token's header uses a JWS extension scopegate does not implement (`crit`, `b64`).
    #[error("token header uses an unsupported extension")]
    UnsupportedHeader,
    /// The token's `typ` header says it is not an access token.
    #[error("token type is not an access token")]
    WrongTokenType,
    /// No key of the issuer's current key set has the token's `kid`.
    #[error("token signing key is unknown")]
    UnknownKey,
    /// The key named by `kid` cannot verify the token's `alg` (type, curve or the key's own `alg`).
    #[error("token algorithm does not match its key")]
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` (plus leeway) is in the past.
    #[error("token has expired")]
    Expired,
    /// `nbf` (minus leeway) is in the future.
    #[error("token is not yet valid")]
    NotYetValid,
    /// A required claim (`iss`, `aud`, `exp`) is absent.
    #[error("token lacks a required claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an impossible value.
    #[error("token has a malformed claim")]
    InvalidClaim(&'static str),
    /// `iss` is not the configured issuer (or none of them).
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// No `aud` value is an accepted audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// The issuer's keys cannot be had right now and the token's key is not among those known.
    /// Answered with 503, not 401, so that clients keep their (probably good) token.
    #[error("the issuer's signing keys are temporarily unavailable")]
    KeysUnavailable {
        /// When a new attempt to fetch the keys will be made.
        retry_after: Duration,
    },
    /// The authorization server says the token is not active (RFC 7662 §2.2 `active: false`):
    /// revoked, expired, or never issued.
    #[error("token is not active")]
    InactiveToken,
    /// The token must be introspected (RFC 7662) and the introspection endpoint cannot be asked
    /// right now: unreachable, too slow, answering 5xx or something that is not an
    /// introspection response. Answered with 503, not 401: the token may well be good.
    #[error("the authorization server cannot be asked about this token right now")]
    IntrospectionUnavailable {
        /// When to try again.
        retry_after: Duration,
    },
    /// Too many tokens wait for a first signature check or an introspection (a flood of new or
    /// forged tokens): this one was refused without being checked. Answered with 503, not 401, so that clients keep
    /// their (maybe good) token and retry; tokens already verified are not affected.
    #[error("too many new tokens to verify right now")]
    Overloaded {
        /// When to try again.
        retry_after: Duration,
    },
    /// The token is valid but lacks scopes the route requires.
    #[error("token lacks the scope this resource requires")]
    InsufficientScope {
        /// The scopes the route requires, space-delimited (the `scope` attribute of the challenge).
        required: Arc<str>,
    },
    /// The gRPC method is not listed by the [`GrpcMethods`](crate::grpc::GrpcMethods) guard, whose
    /// unlisted methods are refused (the default): no scope would let the token call it.
    #[error("this method is not open to any token")]
    MethodNotListed,
    /// The token's organization is not the one the request addresses (Logto organizations).
    #[error("token is not for this organization")]
    WrongOrganization,
    /// A token from a cookie on an unsafe method (`POST`, `PUT`, `PATCH`, `DELETE`, …) of a
    /// cross-site request: the browser attached the cookie, whoever wrote the page. Answered 403
    /// `invalid_request` (the credentials were sent in a way this request may not use); see
    /// [`BearerAuthLayer::allowed_origin`](crate::BearerAuthLayer::allowed_origin).
    #[error("a token from a cookie is not accepted on a cross-site request")]
    CrossSiteRequest,
    /// An extractor or guard ran on a route that no [`BearerAuthLayer`](crate::BearerAuthLayer)
    /// covers: a configuration mistake, answered as if no token had been sent (fail closed).
    #[error("no authorization layer covers this route")]
    NotConfigured,
    /// A DPoP refusal (RFC 9449): the proof, the token's key binding, or the replay store.
    #[error("{0}")]
    Dpop(DpopRefusal),
}

impl From<DpopRefusal> for AuthError {
    fn from(refusal: DpopRefusal) -> Self {
        AuthError::Dpop(refusal)
    }
}

/// The RFC 6750 §3.1 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `invalid_request`: 400 (403 for [`AuthError::CrossSiteRequest`]).
    InvalidRequest,
    /// `invalid_token`: 401.
    InvalidToken,
    /// `insufficient_scope`: 403.
    InsufficientScope,
    /// `invalid_dpop_proof` (RFC 9449 §7.1): 401.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §9): 401.
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears in `WWW-Authenticate` and response bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl AuthError {
    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::MissingToken | AuthError::NotConfigured => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope { .. }
            | AuthError::MethodNotListed
            | AuthError::WrongOrganization
            | AuthError::CrossSiteRequest => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable { .. }
            | AuthError::Overloaded { .. }
            | AuthError::IntrospectionUnavailable { .. }
            | AuthError::Dpop(DpopRefusal::StoreUnavailable { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 error code, or `None` where the challenge carries none (no credentials, or
    /// a 503 that is no challenge at all).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            AuthError::MissingToken
            | AuthError::NotConfigured
            | AuthError::KeysUnavailable { .. }
            | AuthError::Overloaded { .. }
            | AuthError::IntrospectionUnavailable { .. } => None,
            AuthError::InvalidRequest(_) | AuthError::CrossSiteRequest => {
                Some(ErrorCode::InvalidRequest)
            }
            AuthError::InsufficientScope { .. }
            | AuthError::MethodNotListed
            | AuthError::WrongOrganization => Some(ErrorCode::InsufficientScope),
            AuthError::Dpop(refusal) => refusal.code(),
            _ => Some(ErrorCode::InvalidToken),
        }
    }

    /// For a 503: when to retry (the `Retry-After` header).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::KeysUnavailable { retry_after }
            | AuthError::Overloaded { retry_after }
            | AuthError::IntrospectionUnavailable { retry_after }
            | AuthError::Dpop(DpopRefusal::StoreUnavailable { retry_after }) => Some(*retry_after),
            _ => None,
        }
    }

    /// A stable, machine-readable reason (for logs and metrics labels).
    pub fn reason(&self) -> Reason {
        match self {
            AuthError::MissingToken => Reason::MissingToken,
            AuthError::InvalidRequest(_) => Reason::InvalidRequest,
            AuthError::MalformedToken(TokenProblem::TooLong) => Reason::TokenTooLong,
            AuthError::MalformedToken(_) => Reason::MalformedToken,
            AuthError::DisallowedAlgorithm => Reason::DisallowedAlgorithm,
            AuthError::UnsupportedHeader => Reason::UnsupportedHeader,
            AuthError::WrongTokenType => Reason::WrongTokenType,
            AuthError::UnknownKey => Reason::UnknownKey,
            AuthError::KeyAlgorithmMismatch => Reason::KeyAlgorithmMismatch,
            AuthError::BadSignature => Reason::BadSignature,
            AuthError::Expired => Reason::Expired,
            AuthError::NotYetValid => Reason::NotYetValid,
            AuthError::MissingClaim(_) => Reason::MissingClaim,
            AuthError::InvalidClaim(_) => Reason::InvalidClaim,
            AuthError::WrongIssuer => Reason::WrongIssuer,
            AuthError::WrongAudience => Reason::WrongAudience,
            AuthError::KeysUnavailable { .. } => Reason::KeysUnavailable,
            AuthError::InsufficientScope { .. } => Reason::InsufficientScope,
            AuthError::MethodNotListed => Reason::MethodNotListed,
            AuthError::WrongOrganization => Reason::WrongOrganization,
            AuthError::NotConfigured => Reason::NotConfigured,
            AuthError::Overloaded { .. } => Reason::Overloaded,
            AuthError::CrossSiteRequest => Reason::CrossSiteRequest,
            AuthError::InactiveToken => Reason::InactiveToken,
            AuthError::IntrospectionUnavailable { .. } => Reason::IntrospectionUnavailable,
            AuthError::Dpop(refusal) => refusal.reason(),
        }
    }
}

/// Marks a response as a scopegate refusal, with its reason. Only [`ErrorResponder::respond`]
/// makes one (the type is private), so a handler's own 403 is never counted as a refusal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal(pub(crate) Reason);

/// On a refusal rendered behind a layer without the layer's responder at hand (a guard's or an
/// extractor's, on a request whose token the layer verified): the layer answers it again with
/// its own responder (realm, `resource_metadata`, the route's `scope`, renderer) on the way
/// out. That is why such a request carries its context alone: one extension, not two.
#[derive(Debug, Clone)]
pub(crate) struct ForLayer(pub(crate) AuthError);

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::response::IntoResponse for AuthError {
    /// Renders with no realm and the JSON body. Routes behind a
    /// [`BearerAuthLayer`](crate::BearerAuthLayer) get the layer's realm and renderer through the
    /// extractors instead.
    fn into_response(self) -> axum::response::Response {
        ErrorResponder::new()
            .respond(&self)
            .map(axum::body::Body::new)
    }
}

#[cfg(test)]
mod tests;
