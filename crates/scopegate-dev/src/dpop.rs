//! DPoP at the token endpoint (RFC 9449 §5): a token request that carries a proof gets a token
//! bound to the proof's key (`cnf.jkt`, `token_type: DPoP`). The proof is checked by scopegate's
//! own [`ProofVerifier`], the one resource servers use.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scopegate::dpop::{
    DPOP_HEADER, DPOP_NONCE_HEADER, DpopError, ProofTarget, ProofVerifier, proof_header,
};
use serde_json::json;

/// What a valid proof gives the token response.
#[derive(Debug)]
pub(crate) struct Binding {
    /// The thumbprint of the proof's key: the token's `cnf.jkt` (RFC 9449 §6.1).
    pub(crate) jkt: String,
    /// A newer nonce to hand the client in `DPoP-Nonce` (RFC 9449 §8.2).
    pub(crate) next_nonce: Option<String>,
}

/// The binding for a token request: `None` without a `DPoP` header (a bearer token is issued),
/// or the refusal RFC 9449 §5 and §8 prescribe for a proof that does not pass.
pub(crate) async fn binding(
    verifier: &ProofVerifier,
    token_endpoint: &str,
    headers: &HeaderMap,
) -> Result<Option<Binding>, Response> {
    if !headers.contains_key(DPOP_HEADER) {
        return Ok(None);
    }
    let target = ProofTarget::new(&Method::POST, token_endpoint);
    let verified = match proof_header(headers) {
        Ok(proof) => verifier.verify(proof, &target).await,
        Err(error) => Err(error),
    };
    match verified {
        Ok(proof) => Ok(Some(Binding {
            jkt: proof.thumbprint,
            next_nonce: proof.next_nonce,
        })),
        Err(error) => Err(refusal(&error)),
    }
}

/// RFC 9449 §5: `400 invalid_dpop_proof`; §8: `400 use_dpop_nonce` with the nonce in
/// `DPoP-Nonce`; a replay store that cannot be reached: `503 temporarily_unavailable`.
fn refusal(error: &DpopError) -> Response {
    let status = match error {
        DpopError::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": error.code(), "error_description": error.to_string() });
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
    let headers = response.headers_mut();
    match error {
        DpopError::UseNonce { nonce } => with_nonce(headers, Some(nonce)),
        DpopError::StoreUnavailable { retry_after } => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        _ => {}
    }
    response
}

/// Adds `DPoP-Nonce: <nonce>` when there is one.
pub(crate) fn with_nonce(headers: &mut HeaderMap, nonce: Option<&String>) {
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(n).ok()) {
        headers.insert(DPOP_NONCE_HEADER, value);
    }
}
