//! What exactly is wrong with a request's credentials or a token's form: the detail behind
//! `invalid_request` and a malformed token's `invalid_token`.

/// What is wrong with the credentials of a request (answered 400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestProblem {
    /// The `Authorization` header uses another scheme than `Bearer`.
    #[error("authorization scheme is not Bearer")]
    WrongScheme,
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    SeveralHeaders,
    /// `Bearer` without a token, or with more than one.
    #[error("expected exactly one bearer token")]
    NotOneToken,
    /// Characters outside the RFC 6750 `b64token` syntax.
    #[error("bearer token has invalid characters")]
    InvalidCharacters,
    /// Tokens in more than one place (header, cookie, custom header): RFC 6750 §2.
    #[error("bearer token sent in more than one place")]
    SeveralPlaces,
}

/// What is wrong with the token's form (answered 401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    /// Longer than the configured maximum.
    #[error("token is too long")]
    TooLong,
    /// Five segments: an encrypted token (JWE), which a resource server cannot read.
    #[error("encrypted tokens are not accepted")]
    Encrypted,
    /// Not three dot-separated segments.
    #[error("token is not a signed JWT")]
    NotJws,
    /// A segment is not unpadded base64url.
    #[error("token is not valid base64url")]
    Base64,
    /// The header or claims are not a JSON object with unique member names.
    #[error("token is not valid JSON")]
    Json,
    /// The header's `alg` or `kid` is not a string.
    #[error("token header is malformed")]
    Header,
}
