//! Why a request was refused, and the one place that turns a refusal into an HTTP response
//! (RFC 6750 §3).
//!
//! | [`AuthError`] | status | `WWW-Authenticate` |
//! |---|---|---|
//! | [`MissingToken`](AuthError::MissingToken), [`NotConfigured`](AuthError::NotConfigured) | 401 | `Bearer realm="…"` (no error) |
//! | [`InvalidRequest`](AuthError::InvalidRequest) | 400 | `error="invalid_request"` |
//! | token problems (malformed, expired, forged, unknown key, wrong issuer/audience, …) | 401 | `error="invalid_token"` |
//! | [`InsufficientScope`](AuthError::InsufficientScope) | 403 | `error="insufficient_scope", scope="…"` |
//! | [`CrossSiteRequest`](AuthError::CrossSiteRequest) | 403 | `error="invalid_request"` |
//! | [`KeysUnavailable`](AuthError::KeysUnavailable), [`Overloaded`](AuthError::Overloaded) | 503 + `Retry-After` | none |
//!
//! Descriptions are fixed, short texts: they never echo any part of the token.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;

mod problem;
mod reason;
pub use problem::{RequestProblem, TokenProblem};
pub use reason::Reason;

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
    /// Too many tokens wait for a first signature check (a flood of new or forged tokens): this
    /// one was refused without being checked. Answered with 503, not 401, so that clients keep
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
}

impl ErrorCode {
    /// The code as it appears in `WWW-Authenticate` and response bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
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
            | AuthError::WrongOrganization
            | AuthError::CrossSiteRequest => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable { .. } | AuthError::Overloaded { .. } => {
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
            | AuthError::Overloaded { .. } => None,
            AuthError::InvalidRequest(_) | AuthError::CrossSiteRequest => {
                Some(ErrorCode::InvalidRequest)
            }
            AuthError::InsufficientScope { .. } | AuthError::WrongOrganization => {
                Some(ErrorCode::InsufficientScope)
            }
            _ => Some(ErrorCode::InvalidToken),
        }
    }

    /// For a 503: when to retry (the `Retry-After` header).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::KeysUnavailable { retry_after } | AuthError::Overloaded { retry_after } => {
                Some(*retry_after)
            }
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
            AuthError::WrongOrganization => Reason::WrongOrganization,
            AuthError::NotConfigured => Reason::NotConfigured,
            AuthError::Overloaded { .. } => Reason::Overloaded,
            AuthError::CrossSiteRequest => Reason::CrossSiteRequest,
        }
    }
}

/// Marks a response as a scopegate refusal, with its reason. Only [`ErrorResponder::respond`]
/// makes one (the type is private), so a handler's own 403 is never counted as a refusal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal(pub(crate) Reason);

/// Renders the body of a refusal; the status and headers stay scopegate's.
///
/// Returns the `Content-Type` and the body bytes.
pub type BodyRenderer = Arc<dyn Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync>;

/// Turns an [`AuthError`] into a response: the status, `WWW-Authenticate` (with the configured
/// realm), `Retry-After` for 503, and a JSON body `{"error", "error_description"}` unless a
/// [`BodyRenderer`] is set.
#[derive(Clone)]
pub struct ErrorResponder {
    realm: Option<Arc<str>>,
    renderer: Option<BodyRenderer>,
}

impl fmt::Debug for ErrorResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorResponder")
            .field("realm", &self.realm)
            .field("renderer", &self.renderer.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Default for ErrorResponder {
    fn default() -> Self {
        ErrorResponder::new()
    }
}

impl ErrorResponder {
    /// Responses with no realm attribute and JSON bodies.
    pub fn new() -> Self {
        ErrorResponder {
            realm: None,
            renderer: None,
        }
    }

    /// Sets the `realm` attribute of every challenge.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(Arc::from(realm.into()));
        self
    }

    /// Renders bodies with `renderer` instead of the default JSON.
    pub fn with_body_renderer(
        mut self,
        renderer: impl Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync + 'static,
    ) -> Self {
        self.renderer = Some(Arc::new(renderer));
        self
    }

    /// The realm, if one is set.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The `WWW-Authenticate` value for `error`, or `None` for a 503.
    pub fn challenge(&self, error: &AuthError) -> Option<HeaderValue> {
        if error.retry_after().is_some() {
            return None;
        }
        let mut value = String::from("Bearer");
        let mut sep = " ";
        if let Some(realm) = &self.realm {
            push_param(&mut value, sep, "realm", realm);
            sep = ", ";
        }
        if let Some(code) = error.code() {
            push_param(&mut value, sep, "error", code.as_str());
            push_param(&mut value, ", ", "error_description", &error.to_string());
            if let AuthError::InsufficientScope { required } = error {
                push_param(&mut value, ", ", "scope", required);
            }
        }
        // Every piece is quoted and stripped of control characters, so this cannot fail; the
        // fallback keeps a valid challenge if it ever did.
        Some(HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer")))
    }

    /// The full response for `error`.
    pub fn respond(&self, error: &AuthError) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.renderer {
            Some(render) => render(error),
            None => (
                HeaderValue::from_static("application/json"),
                json_body(error),
            ),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = error.status();
        // The layer reads this on the way out to count a guard's or extractor's refusal as the
        // request's verdict (scopegate_validations_total) instead of "accepted".
        response.extensions_mut().insert(Refusal(error.reason()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        if let Some(challenge) = self.challenge(error) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry_after) = error.retry_after() {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `{"error": code, "error_description": text}`; a 503 says `temporarily_unavailable`
/// (RFC 6749 §4.1.2.1's code for the same situation).
fn json_body(error: &AuthError) -> Bytes {
    let code = match error.code() {
        Some(code) => code.as_str(),
        None if error.retry_after().is_some() => "temporarily_unavailable",
        None => "unauthorized",
    };
    let body = serde_json::json!({ "error": code, "error_description": error.to_string() });
    Bytes::from(body.to_string())
}

/// Appends `name="value"` as an RFC 9110 quoted-string; characters a header may not carry are
/// dropped rather than failing the response.
fn push_param(out: &mut String, sep: &str, name: &str, value: &str) {
    let _ = write!(out, "{sep}{name}=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '!'..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

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
