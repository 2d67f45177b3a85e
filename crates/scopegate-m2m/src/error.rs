//! Errors: [`ConfigError`] when building, [`TokenError`] when getting a token, and
//! [`BearerError`] when a request sent with a token fails.
//!
//! No message produced here contains the client secret: texts that come from outside (the
//! server's `error_description`, transport errors) are scrubbed of every form of it before they
//! are cut and stored, and URLs are never echoed with their user info.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

pub use crate::destination::DestinationError;
use crate::dpop::DpopError;

/// A mistake in the configuration, found by
/// [`ClientCredentialsBuilder::build`](crate::ClientCredentialsBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The token endpoint is not an absolute http(s) URL without fragment and user info.
    #[error("token endpoint {url:?} is not usable: {reason}")]
    InvalidTokenUrl {
        /// The URL as given, with any user info replaced by `<redacted>`.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token endpoint is plain http on a host that is not loopback; the client secret would
    /// travel in clear text. See
    /// [`allow_insecure_http`](crate::ClientCredentialsBuilder::allow_insecure_http).
    #[error("token endpoint {0} must be https (plain http is allowed for loopback hosts only)")]
    InsecureTokenUrl(String),
    /// The client id is empty.
    #[error("the client id must not be empty")]
    EmptyClientId,
    /// The client secret is empty.
    #[error("the client secret must not be empty")]
    EmptyClientSecret,
    /// A scope contains a character RFC 6749 §3.3 does not allow (`"`, `\`, controls, non-ASCII).
    #[error("scope {0:?} is not a valid scope token (RFC 6749 §3.3)")]
    InvalidScope(String),
    /// A resource indicator is not an absolute URI, or has a fragment (RFC 8707 §2).
    #[error("resource {resource:?} is not a valid resource indicator: {reason}")]
    InvalidResource {
        /// The resource as given.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An [`api_origin`](crate::ClientCredentialsBuilder::api_origin) is not an http(s) origin.
    #[error("API origin {origin:?} is not usable: {reason}")]
    InvalidApiOrigin {
        /// The origin as given, with any user info replaced by `<redacted>`.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra parameter would override one this crate sets itself.
    #[error("the parameter {0:?} is set by the client itself and cannot be added")]
    ReservedParameter(String),
    /// A timing setting is out of range (for example a zero timeout).
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// The default `reqwest::Client` could not be built (TLS backend initialisation).
    #[error("cannot build an HTTP client: {0}")]
    HttpClient(String),
}

/// Why no access token could be had from the token endpoint.
///
/// Cloneable so that every caller that waited on one shared (single-flight) request gets the
/// same answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The authorization server answered with an RFC 6749 §5.2 error, such as `invalid_client`
    /// (wrong id or secret), `invalid_scope` or, for a resource it does not know, `invalid_target`
    /// (RFC 8707).
    #[error(
        "token endpoint refused the request: HTTP {status}, error {error}{}",
        DescriptionSuffix(error_description.as_deref())
    )]
    OAuth {
        /// The HTTP status (usually 400 or 401).
        status: StatusCode,
        /// The `error` code.
        error: OAuthErrorCode,
        /// The optional human-readable `error_description`.
        error_description: Option<String>,
        /// The optional `error_uri`.
        error_uri: Option<String>,
    },
    /// A non-success HTTP status without a parseable OAuth error body (a proxy, a 5xx page, a
    /// redirect).
    #[error("token endpoint answered HTTP {status} without an OAuth error body")]
    Status {
        /// The HTTP status.
        status: StatusCode,
    },
    /// The request could not be sent or the response not read (DNS, connect, TLS, reset).
    #[error("token request failed: {message}")]
    Transport {
        /// The transport error and its causes.
        message: String,
    },
    /// No complete answer within the configured
    /// [`timeout`](crate::ClientCredentialsBuilder::timeout).
    #[error("token request timed out after {after:?}")]
    Timeout {
        /// The configured bound.
        after: Duration,
    },
    /// A success status with a body that is not a usable RFC 6749 §5.1 token response.
    #[error("invalid token response: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The answer came from another origin than the token endpoint's, or over plain http: the
    /// user-supplied `reqwest::Client` followed a redirect. The answer is not used.
    #[error(
        "token endpoint answer came from {origin}, not from the token endpoint (a redirect was followed); refused"
    )]
    Redirected {
        /// The origin the answer came from (`scheme://host:port`, never a path or user info).
        origin: String,
    },
    /// The server issued a token of another type than `Bearer` (for example `mac`), or `DPoP`
    /// to a source without a [`DpopKey`](crate::DpopKey), which this client cannot present.
    #[error("token type {token_type:?} is not supported (only Bearer, and DPoP with a DPoP key)")]
    UnsupportedTokenType {
        /// The `token_type` as sent.
        token_type: String,
    },
    /// No DPoP proof could be made for the token request.
    #[error(transparent)]
    Dpop(DpopError),
}

impl TokenError {
    /// True for failures that may go away by themselves: transport errors, timeouts, 5xx and
    /// 429 answers. False for answers that need a configuration change (`invalid_client`,
    /// `invalid_scope`, a non-Bearer token type, ...).
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Transport { .. } | TokenError::Timeout { .. } => true,
            TokenError::Status { status } | TokenError::OAuth { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            TokenError::InvalidResponse { .. }
            | TokenError::UnsupportedTokenType { .. }
            | TokenError::Redirected { .. }
            | TokenError::Dpop(_) => false,
        }
    }

    /// The OAuth error code, when the server sent one.
    pub fn oauth_error(&self) -> Option<&OAuthErrorCode> {
        match self {
            TokenError::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }
}

struct DescriptionSuffix<'a>(Option<&'a str>);

impl fmt::Display for DescriptionSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(description) => write!(f, ": {description}"),
            None => Ok(()),
        }
    }
}

/// The `error` code of an RFC 6749 §5.2 error response (plus RFC 8707's `invalid_target`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (unknown client, wrong secret, wrong
    /// authentication method).
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`: this client may not use the client_credentials grant.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`: a requested scope is unknown or not granted to this client.
    InvalidScope,
    /// `invalid_target` (RFC 8707 §2): the requested resource is unknown or not allowed.
    InvalidTarget,
    /// Any other code, as sent.
    Other(String),
}

impl OAuthErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::InvalidTarget => "invalid_target",
            OAuthErrorCode::Other(code) => code,
        }
    }
}

impl From<&str> for OAuthErrorCode {
    fn from(code: &str) -> Self {
        match code {
            "invalid_request" => OAuthErrorCode::InvalidRequest,
            "invalid_client" => OAuthErrorCode::InvalidClient,
            "invalid_grant" => OAuthErrorCode::InvalidGrant,
            "unauthorized_client" => OAuthErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => OAuthErrorCode::UnsupportedGrantType,
            "invalid_scope" => OAuthErrorCode::InvalidScope,
            "invalid_target" => OAuthErrorCode::InvalidTarget,
            other => OAuthErrorCode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request sent with a token failed: no token could be had, the destination may not have it,
/// the API keeps rejecting fresh tokens, or the wrapped service (or `reqwest`) failed.
///
/// Returned by [`BearerTokenService`](crate::BearerTokenService) and
/// [`ClientCredentials::send`](crate::ClientCredentials::send). Other HTTP error *statuses* from
/// the API (403, 500, a 401 on a request that cannot be replayed) are not errors here: they are
/// the response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError<E> {
    /// No access token could be had.
    #[error(transparent)]
    Token(TokenError),
    /// The request's destination may not receive the token; nothing was sent.
    #[error(transparent)]
    Destination(DestinationError),
    /// The API rejected a freshly fetched token too: the source backs off instead of fetching a
    /// new token for every request.
    #[error(transparent)]
    Rejected(ApiRejection),
    /// The wrapped service (or `reqwest`) failed.
    #[error(transparent)]
    Service(E),
    /// No DPoP proof could be made for the request; nothing was sent.
    #[error(transparent)]
    Dpop(DpopError),
}

/// The API answered 401 to a token fetched right after it had rejected the previous one, or
/// during the backoff that followed ([`rejection_backoff`](crate::ClientCredentialsBuilder::rejection_backoff)).
/// A new token would most likely be rejected as well: the audience, scopes or issuer the API
/// expects differ from what the client asks for, or the API cannot check tokens right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the API rejected a freshly issued access token too (HTTP {status}{}); no new token is fetched for a 401 during the next {retry_in:?}",
    ChallengeSuffix(challenge.as_deref())
)]
pub struct ApiRejection {
    /// The API's status (401).
    pub status: StatusCode,
    /// The API's `WWW-Authenticate` challenge (RFC 6750 §3), control characters removed and cut
    /// to 512 characters.
    pub challenge: Option<String>,
    /// How long the backoff still runs.
    pub retry_in: Duration,
}

struct ChallengeSuffix<'a>(Option<&'a str>);

impl fmt::Display for ChallengeSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(challenge) => write!(f, ", {challenge}"),
            None => Ok(()),
        }
    }
}

impl<E> BearerError<E> {
    /// The token error, if that is what this is.
    pub fn as_token_error(&self) -> Option<&TokenError> {
        match self {
            BearerError::Token(e) => Some(e),
            _ => None,
        }
    }
}
