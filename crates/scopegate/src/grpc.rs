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

pub use crate::error::GrpcCode;

mod methods;
pub use methods::{GrpcAuthLayer, GrpcMethods, GrpcMethodsBuilder, UnknownMethods};

#[cfg(test)]
mod tests;
