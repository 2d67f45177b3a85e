//! gRPC services (tonic, or any gRPC server on tower): refusals as gRPC statuses, and scopes
//! required per method.
//!
//! # Refusals
//! A request whose `content-type` is `application/grpc` or `application/grpc+…` (gRPC over
//! HTTP/2, not gRPC-Web) is refused the way gRPC clients read a refusal: HTTP 200, a
//! *Trailers-Only* answer (PROTOCOL-HTTP2.md, "Responses": one HEADERS frame, no body) with
//! `grpc-status`, a percent-encoded `grpc-message`, `content-type: application/grpc`, and the
//! same `WWW-Authenticate` challenge (realm, `resource_metadata`, `error`, `scope`) and
//! `Retry-After` as the HTTP answer, as metadata. The layer, the guards, the extractors and
//! per-operation checks all answer through the one [`ErrorResponder`](crate::ErrorResponder),
//! which picks the shape from the request; every other request gets the RFC 6750 answer.
//!
//! | HTTP answer | gRPC status |
//! |---|---|
//! | 401 (no token, a bad token, a bad DPoP proof) | 16 `UNAUTHENTICATED` |
//! | 400 `invalid_request` (malformed credentials) | 16 `UNAUTHENTICATED` |
//! | 403 (`insufficient_scope`, an unlisted method, organization, cross-site) | 7 `PERMISSION_DENIED` |
//! | 503 + `Retry-After` (issuer keys, verification queue, introspection, replay store) | 14 `UNAVAILABLE` |
//!
//! A gRPC answer has no body, so a [`body_renderer`](crate::BearerAuthLayer::body_renderer) is
//! not called for it: the `grpc-message` is scopegate's (the RFC 6750 error code, the fixed
//! description and, for `insufficient_scope`, the scopes), never a token's content.
//!
//! # Scopes per method
//! [`GrpcMethods`] maps full method paths (`/shop.v1.Products/AddProduct`) to the scopes they
//! need, with a default for the methods it does not list; see its docs.
//!
//! ```
//! use scopegate::grpc::GrpcMethods;
//! # fn demo(auth: scopegate::BearerAuthLayer) -> Result<(), scopegate::ConfigError> {
//! let methods = GrpcMethods::builder()
//!     .method("/shop.v1.Products/ListProducts", ["read:products"])
//!     .method("/shop.v1.Products/AddProduct", ["write:products"])
//!     .build()?; // unlisted methods are refused: PERMISSION_DENIED
//! let layer = auth.require_grpc_methods(methods); // for tonic's Server::builder().layer(..)
//! # Ok(()) }
//! ```

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::AuthError;

mod methods;
pub use methods::{GrpcAuthLayer, GrpcMethods, GrpcMethodsBuilder, UnknownMethods};

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
    /// The code for `error`: by the HTTP status it would get (see the [module](self) table).
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
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

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
    utf8_percent_encode(&text, GRPC_MESSAGE).to_string()
}

#[cfg(test)]
mod tests;
