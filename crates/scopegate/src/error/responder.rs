//! [`ErrorResponder`]: the one place a refusal becomes a response, with the challenge every
//! refusal path shares (realm, `resource_metadata`, the route's `scope`) and the body renderer;
//! the request decides the shape (RFC 6750, or a gRPC status for a gRPC request).

use std::fmt::{self, Write as _};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, Response};
use http_body_util::Full;

use super::challenge::Schemes;
use super::grpc;
use super::{AuthError, DpopRefusal, ForLayer, Refusal};

/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

/// Renders the body of a refusal; the status and headers stay scopegate's.
///
/// Returns the `Content-Type` and the body bytes.
pub type BodyRenderer = Arc<dyn Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync>;

/// Turns an [`AuthError`] into a response: the status, `WWW-Authenticate` (with the configured
/// realm, `resource_metadata` and, on a 401, the scopes to ask for), `Retry-After` for 503, and
/// a JSON body `{"error", "error_description"}` unless a [`BodyRenderer`] is set.
///
/// ```
/// use scopegate::{AuthError, ErrorResponder};
///
/// let responder = ErrorResponder::new()
///     .with_realm("shopping")
///     .with_resource_metadata("https://api.example.com/.well-known/oauth-protected-resource")
///     .with_challenge_scope("read:products");
/// let challenge = responder.challenge(&AuthError::MissingToken).unwrap();
/// assert_eq!(
///     challenge,
///     "Bearer realm=\"shopping\", resource_metadata=\"https://api.example.com/.well-known/\
///      oauth-protected-resource\", scope=\"read:products\""
/// );
/// ```
#[derive(Clone)]
pub struct ErrorResponder {
    realm: Option<Arc<str>>,
    resource_metadata: Option<Arc<str>>,
    challenge_scope: Option<Arc<str>>,
    renderer: Option<BodyRenderer>,
    schemes: Schemes,
}

impl fmt::Debug for ErrorResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorResponder")
            .field("realm", &self.realm)
            .field("resource_metadata", &self.resource_metadata)
            .field("challenge_scope", &self.challenge_scope)
            .field("renderer", &self.renderer.as_ref().map(|_| "custom"))
            .field("schemes", &self.schemes)
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
            resource_metadata: None,
            challenge_scope: None,
            renderer: None,
            schemes: Schemes::default(),
        }
    }

    /// Sets the `realm` attribute of every challenge.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(Arc::from(realm.into()));
        self
    }

    /// Sets the `resource_metadata` attribute of every challenge (RFC 9728 §5.1): the absolute
    /// URL of the protected resource's metadata document.
    pub fn with_resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(Arc::from(url.into()));
        self
    }

    /// Sets the `scope` attribute of 401 challenges: the scopes a client should request for
    /// this route (RFC 6750 §3; the MCP authorization spec's scope selection reads it). A 403
    /// `insufficient_scope` names the scopes of the refused check instead.
    pub fn with_challenge_scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.challenge_scope = (!scope.is_empty()).then(|| Arc::from(scope));
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

    /// The metadata URL of the challenges, if one is set.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The `scope` of 401 challenges, if one is set.
    pub fn challenge_scope(&self) -> Option<&str> {
        self.challenge_scope.as_deref()
    }

    /// The first `WWW-Authenticate` value for `error` (see [`challenges`](Self::challenges)),
    /// or `None` for a 503.
    pub fn challenge(&self, error: &AuthError) -> Option<HeaderValue> {
        self.challenges(error).into_iter().next()
    }

    /// The same responder for the challenges `schemes` asks for.
    pub(crate) fn with_schemes(mut self, schemes: Schemes) -> Self {
        self.schemes = schemes;
        self
    }

    pub(super) fn schemes(&self) -> &Schemes {
        &self.schemes
    }

    /// The HTTP response for `error` (RFC 6750), whatever the request. Prefer
    /// [`respond_to`](Self::respond_to), which answers a gRPC request as gRPC.
    pub fn respond(&self, error: &AuthError) -> Response<Full<Bytes>> {
        self.respond_as(error, Shape::Http)
    }

    /// The response for `error`, shaped for the request whose headers are `request`: a gRPC
    /// request (see [`grpc`](crate::grpc)) gets HTTP 200 with `grpc-status` and `grpc-message`
    /// and no body, every other request the RFC 6750 answer of [`respond`](Self::respond). Both
    /// carry the same `WWW-Authenticate`, `Retry-After` and `DPoP-Nonce`.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use scopegate::{AuthError, ErrorResponder};
    ///
    /// let mut request = HeaderMap::new();
    /// request.insert("content-type", "application/grpc".parse().unwrap());
    /// let response = ErrorResponder::new().respond_to(&AuthError::MissingToken, &request);
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["grpc-status"], "16"); // UNAUTHENTICATED
    /// assert_eq!(response.headers()["www-authenticate"], "Bearer");
    /// ```
    pub fn respond_to(&self, error: &AuthError, request: &HeaderMap) -> Response<Full<Bytes>> {
        self.respond_as(error, Shape::of(request))
    }

    /// The one response builder: the status line and body by `shape`, the headers shared.
    pub(crate) fn respond_as(&self, error: &AuthError, shape: Shape) -> Response<Full<Bytes>> {
        let mut response = match shape {
            Shape::Http => self.http_answer(error),
            Shape::Grpc => grpc::answer(error),
        };
        // The layer reads this on the way out to count a guard's or extractor's refusal as the
        // request's verdict (scopegate_validations_total) instead of "accepted".
        response.extensions_mut().insert(Refusal(error.reason()));
        let headers = response.headers_mut();
        for challenge in self.challenges(error) {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        if let AuthError::Dpop(DpopRefusal::UseNonce { nonce }) = error
            && let Ok(nonce) = HeaderValue::from_str(nonce)
        {
            headers.insert(DPOP_NONCE, nonce);
        }
        if let Some(retry_after) = error.retry_after() {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    /// RFC 6750: the refusal's status and a body (JSON, or the user's renderer).
    fn http_answer(&self, error: &AuthError) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.renderer {
            Some(render) => render(error),
            None => (
                HeaderValue::from_static("application/json"),
                json_body(error),
            ),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = error.status();
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        response
    }
}

/// `error` answered by the covering layer's `responder` when the request carries it (an
/// anonymous request, a request attached by [`testing`](crate::testing)); otherwise by the
/// default one and marked [`ForLayer`], for the layer that verified the token to answer again.
pub(crate) fn respond_covered(
    responder: Option<&ErrorResponder>,
    error: &AuthError,
    shape: Shape,
) -> Response<Full<Bytes>> {
    match responder {
        Some(responder) => responder.respond_as(error, shape),
        None => {
            let mut response = ErrorResponder::new().respond_as(error, shape);
            response.extensions_mut().insert(ForLayer(error.clone()));
            response
        }
    }
}

/// The form of a refusal, decided by the request it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// RFC 6750: the status of the error, a body.
    Http,
    /// gRPC over HTTP/2: Trailers-Only.
    Grpc,
}

impl Shape {
    /// The shape a request with these headers is answered in.
    pub(crate) fn of(request: &HeaderMap) -> Shape {
        if grpc::is_grpc(request) {
            Shape::Grpc
        } else {
            Shape::Http
        }
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
pub(super) fn push_param(out: &mut String, sep: &str, name: &str, value: &str) {
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
