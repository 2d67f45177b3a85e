//! [`Reason`]: the stable, fieldless name of a refusal.

use std::fmt;

/// Why a request was refused, without the details: the `reason` label of
/// `scopegate_validations_total` and the `reason` field of the rejection log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// `missing_token`
    MissingToken,
    /// `invalid_request`
    InvalidRequest,
    /// `token_too_long`
    TokenTooLong,
    /// `malformed_token`
    MalformedToken,
    /// `disallowed_algorithm`
    DisallowedAlgorithm,
    /// `unsupported_header`
    UnsupportedHeader,
    /// `wrong_token_type`
    WrongTokenType,
    /// `unknown_key`
    UnknownKey,
    /// `key_algorithm_mismatch`
    KeyAlgorithmMismatch,
    /// `bad_signature`
    BadSignature,
    /// `expired`
    Expired,
    /// `not_yet_valid`
    NotYetValid,
    /// `missing_claim`
    MissingClaim,
    /// `invalid_claim`
    InvalidClaim,
    /// `wrong_issuer`
    WrongIssuer,
    /// `wrong_audience`
    WrongAudience,
    /// `keys_unavailable`
    KeysUnavailable,
    /// `insufficient_scope`
    InsufficientScope,
    /// `wrong_organization`
    WrongOrganization,
    /// `not_configured`
    NotConfigured,
    /// `overloaded`
    Overloaded,
    /// `cross_site_request`
    CrossSiteRequest,
    /// `inactive_token`
    InactiveToken,
    /// `introspection_unavailable`
    IntrospectionUnavailable,
    /// `invalid_dpop_proof`
    InvalidDpopProof,
    /// `dpop_replayed`
    DpopReplayed,
    /// `use_dpop_nonce`
    UseDpopNonce,
    /// `dpop_key_mismatch`
    DpopKeyMismatch,
    /// `bound_token_as_bearer`
    BoundTokenAsBearer,
    /// `unbound_token_as_dpop`
    UnboundTokenAsDpop,
    /// `dpop_required`
    DpopRequired,
    /// `unsupported_confirmation`
    UnsupportedConfirmation,
    /// `replay_store_unavailable`
    ReplayStoreUnavailable,
    /// `method_not_listed`
    MethodNotListed,
}

impl Reason {
    /// Every reason, in declaration order (`Reason::ALL[r as usize] == r`).
    pub const ALL: [Reason; 34] = [
        Reason::MissingToken,
        Reason::InvalidRequest,
        Reason::TokenTooLong,
        Reason::MalformedToken,
        Reason::DisallowedAlgorithm,
        Reason::UnsupportedHeader,
        Reason::WrongTokenType,
        Reason::UnknownKey,
        Reason::KeyAlgorithmMismatch,
        Reason::BadSignature,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::WrongIssuer,
        Reason::WrongAudience,
        Reason::KeysUnavailable,
        Reason::InsufficientScope,
        Reason::WrongOrganization,
        Reason::NotConfigured,
        Reason::Overloaded,
        Reason::CrossSiteRequest,
        Reason::InactiveToken,
        Reason::IntrospectionUnavailable,
        Reason::InvalidDpopProof,
        Reason::DpopReplayed,
        Reason::UseDpopNonce,
        Reason::DpopKeyMismatch,
        Reason::BoundTokenAsBearer,
        Reason::UnboundTokenAsDpop,
        Reason::DpopRequired,
        Reason::UnsupportedConfirmation,
        Reason::ReplayStoreUnavailable,
        Reason::MethodNotListed,
    ];

    /// The label value, e.g. `insufficient_scope`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::MissingToken => "missing_token",
            Reason::InvalidRequest => "invalid_request",
            Reason::TokenTooLong => "token_too_long",
            Reason::MalformedToken => "malformed_token",
            Reason::DisallowedAlgorithm => "disallowed_algorithm",
            Reason::UnsupportedHeader => "unsupported_header",
            Reason::WrongTokenType => "wrong_token_type",
            Reason::UnknownKey => "unknown_key",
            Reason::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaim => "invalid_claim",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::WrongAudience => "wrong_audience",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::WrongOrganization => "wrong_organization",
            Reason::NotConfigured => "not_configured",
            Reason::Overloaded => "overloaded",
            Reason::CrossSiteRequest => "cross_site_request",
            Reason::InactiveToken => "inactive_token",
            Reason::IntrospectionUnavailable => "introspection_unavailable",
            Reason::InvalidDpopProof => "invalid_dpop_proof",
            Reason::DpopReplayed => "dpop_replayed",
            Reason::UseDpopNonce => "use_dpop_nonce",
            Reason::DpopKeyMismatch => "dpop_key_mismatch",
            Reason::BoundTokenAsBearer => "bound_token_as_bearer",
            Reason::UnboundTokenAsDpop => "unbound_token_as_dpop",
            Reason::DpopRequired => "dpop_required",
            Reason::UnsupportedConfirmation => "unsupported_confirmation",
            Reason::ReplayStoreUnavailable => "replay_store_unavailable",
            Reason::MethodNotListed => "method_not_listed",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
