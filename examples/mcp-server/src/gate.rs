//! The per-operation scope check in front of rmcp.
//!
//! Every MCP call is a `POST /mcp`, so a route guard cannot tell `list_products` from
//! `add_product`; and rmcp's tool handlers answer inside a JSON-RPC response, whose HTTP status
//! they cannot set. The MCP authorization spec (2025-11-25, "Scope challenge handling") asks for
//! HTTP 403 `insufficient_scope` naming the scope, so the check runs here, between scopegate's
//! layer and rmcp: it reads the JSON-RPC message (bounded), and a `tools/call` must hold the named
//! tool's scopes ([`crate::tools::TOOL_SCOPES`]) before rmcp sees it.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
use scopegate::extract::Auth;

use crate::tools::required_scopes;

/// The largest JSON-RPC message `POST /mcp` takes (also rmcp's limit, so both refuse alike).
/// The tools' arguments are a product name and a price: far below it.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The axum middleware (`axum::middleware::from_fn`). `Auth` refuses a request the layer did
/// not authenticate, so the check fails closed without the layer.
pub async fn require_tool_scopes(auth: Auth, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => return unreadable(&error),
    };
    if let Some(scopes) = called_tool(&bytes).and_then(|tool| required_scopes(&tool))
        && let Err(refusal) = auth.require_scopes(scopes)
    {
        // The layer's own 403: realm, resource_metadata, scope="…", body.
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The tool a `tools/call` message names. The message is read with rmcp's own type and
/// `serde_json`, exactly as rmcp reads it next, so the two cannot disagree on what is called: a
/// message this cannot read, rmcp refuses too (`415`), and nothing runs.
fn called_tool(message: &Bytes) -> Option<String> {
    match serde_json::from_slice::<ClientJsonRpcMessage>(message).ok()? {
        JsonRpcMessage::Request(request) => match request.request {
            ClientRequest::CallToolRequest(call) => Some(call.params.name.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// 413 for a message over [`MAX_MESSAGE_BYTES`], 400 for a body that broke off.
fn unreadable(error: &axum::Error) -> Response {
    let over_limit =
        std::error::Error::source(error).is_some_and(|source| source.is::<LengthLimitError>());
    let (status, code, description) = if over_limit {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a message must be at most {MAX_MESSAGE_BYTES} bytes"),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body could not be read".to_owned(),
        )
    };
    let body = serde_json::json!({ "error": code, "error_description": description });
    (status, axum::Json(body)).into_response()
}
