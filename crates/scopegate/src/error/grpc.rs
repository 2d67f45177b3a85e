//! The gRPC shape of a refusal (PROTOCOL-HTTP2.md of grpc/grpc): which requests are gRPC, the
//! status code of each refusal, the `grpc-message`, and the Trailers-Only answer the responder
//! sends them. The mapping is documented in [`grpc`](crate::grpc).

use bytes::Bytes;
use http::HeaderMap;
use http::Response;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body_util::Full;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::AuthError;

/// The gRPC status codes scopegate answers with (the `grpc-status` values of
/// `grpc/doc/statuscodes.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 7: the token is valid but may not call this method.
    PermissionDenied,
    /// 14: the token could not be checked right now; retry.
    Unavailable,
    /// 16: no valid credentials.
    Unauthenticated,
}

impl GrpcCode {
    /// The code for `error`: by the HTTP status it would get (see the [`grpc`](crate::grpc)
    /// module's table).
    pub fn of(error: &AuthError) -> GrpcCode {
        match error.status().as_u16() {
            403 => GrpcCode::PermissionDenied,
            503 => GrpcCode::Unavailable,
            // 401, and 400: malformed credentials are no credentials a gRPC client could use.
            _ => GrpcCode::Unauthenticated,
        }
    }

    /// The number sent as `grpc-status`.
    pub const fn as_u8(self) -> u8 {
        match self {
            GrpcCode::PermissionDenied => 7,
            GrpcCode::Unavailable => 14,
            GrpcCode::Unauthenticated => 16,
        }
    }
}

/// Whether the request is gRPC over HTTP/2: `content-type` is `application/grpc`, alone, with a
/// `+format` suffix or with parameters. gRPC-Web (`application/grpc-web…`) is not: its status
/// travels in the body, and its clients read HTTP statuses.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    let value = value.as_bytes();
    // Media types compare case-insensitively (RFC 9110 §8.3.1).
    value.len() >= GRPC.len()
        && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
        && matches!(value.get(GRPC.len()), None | Some(b'+' | b';' | b' '))
}

/// What PROTOCOL-HTTP2.md's Percent-Byte-Unencoded leaves out: controls, `%` and every byte
/// above 0x7E (non-ASCII is always encoded by `utf8_percent_encode`).
const MESSAGE_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// The `grpc-message` for `error`: `code: description`, plus the scopes of an
/// `insufficient_scope`, percent-encoded as the spec asks.
pub(crate) fn message(error: &AuthError) -> String {
    let mut text = match error.code() {
        Some(code) => format!("{}: {error}", code.as_str()),
        None => error.to_string(),
    };
    if let AuthError::InsufficientScope { required } = error {
        text.push_str(&format!(" (needs {required})"));
    }
    utf8_percent_encode(&text, MESSAGE_ESCAPES).to_string()
}

/// gRPC's status and its message (PROTOCOL-HTTP2.md, "Responses").
const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");

/// A gRPC Trailers-Only answer (PROTOCOL-HTTP2.md, "Responses"): `:status 200`, the content
/// type, `grpc-status` and `grpc-message` in the one HEADERS frame; the empty body makes it end
/// the stream. gRPC clients ignore a body here, so no renderer is asked for one.
pub(super) fn answer(error: &AuthError) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(
        GRPC_STATUS,
        HeaderValue::from(u16::from(GrpcCode::of(error).as_u8())),
    );
    // Percent-encoded, so always a valid header value; the fallback is for the impossible.
    if let Ok(message) = HeaderValue::try_from(message(error)) {
        headers.insert(GRPC_MESSAGE, message);
    }
    response
}
