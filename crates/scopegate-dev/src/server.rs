//! The HTTP endpoints of the dev issuer: its routes, the small endpoints (discovery, JWKS, the
//! refusing authorization endpoint) and the one renderer of RFC 6749 §5.2 error documents that
//! every endpoint refuses through. The token endpoint and client authentication have their own
//! modules.

pub(crate) mod client_auth;
mod token;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State as Extract;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

#[cfg(feature = "testing")]
use crate::JwksFault;
use crate::{Discovery, State, lock};
use client_auth::TOKEN_ENDPOINT_AUTH_METHODS;
use token::token;

/// The routes of one issuer (its Management API included), bound to its state.
pub(crate) fn app(state: Arc<State>) -> Result<Router, crate::DevIssuerError> {
    let mut app = crate::management::routes(&state.issuer)?
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/token", post(token))
        .route("/oidc/auth", get(authorize))
        .route("/oidc/token/introspection", post(crate::opaque::introspect))
        .route("/oidc/token/revocation", post(crate::opaque::revoke))
        // RFC 8414 §3.1: the well-known segment inserted before the issuer's path.
        .route(
            "/.well-known/oauth-authorization-server/oidc",
            get(discovery),
        );
    if state.discovery == Discovery::Both {
        // OpenID Connect Discovery 1.0 §4 appends it to the issuer; RFC 8414 §5 also allows the
        // inserted form, which MCP clients (the TypeScript SDK among them) try as well.
        app = app
            .route("/oidc/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/openid-configuration/oidc", get(discovery));
    }
    Ok(app.with_state(state))
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, app: Router) {
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(target: "scopegate_dev", %error, "dev issuer stopped");
    }
}

fn record_user_agent(state: &State, headers: &HeaderMap) {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    *lock(&state.last_user_agent) = agent.map(str::to_owned);
}

async fn discovery(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    record_user_agent(&state, &headers);
    let issuer = &state.issuer;
    let alg = state.current_key().algorithm.as_str();
    let scopes: Vec<&str> = {
        let mut all: Vec<&str> = state
            .clients
            .iter()
            .flat_map(|c| c.scopes.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "token_endpoint": format!("{issuer}/token"),
        // No interactive login: the endpoint exists only to refuse every authorization request
        // (`unsupported_response_type`), because clients such as the MCP TypeScript SDK require
        // the member even for client_credentials. No response type is supported.
        "authorization_endpoint": format!("{issuer}/auth"),
        "introspection_endpoint": format!("{issuer}/token/introspection"),
        "revocation_endpoint": format!("{issuer}/token/revocation"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_signing_alg_values_supported": [alg],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": TOKEN_ENDPOINT_AUTH_METHODS,
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        // RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": state.dpop.algs().split(' ').collect::<Vec<_>>(),
    }))
    .into_response()
}

/// The authorization endpoint of an issuer without users: every request is refused with the
/// RFC 6749 §4.1.2.1 error, in the body, since no redirect URI is registered to send it to.
async fn authorize() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "unsupported_response_type",
        "this issuer has no interactive login; use the client_credentials grant",
    )
}

async fn jwks(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    {
        // Anyone can call this endpoint: keep only the most recent arrivals.
        let mut times = lock(&state.jwks_request_times);
        if times.len() == crate::JWKS_REQUEST_TIMES_KEPT {
            times.pop_front();
        }
        times.push_back(std::time::Instant::now());
    }
    record_user_agent(&state, &headers);
    #[cfg(feature = "testing")]
    {
        let fault = lock(&state.jwks_fault).clone();
        if let Some(fault) = fault {
            return fault_response(fault).await;
        }
    }
    let cache_control = lock(&state.jwks_cache_control).clone();
    let mut response = Json(state.jwks()).into_response();
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// What an endpoint answers instead of its usual answer.
#[cfg(feature = "testing")]
pub(crate) async fn fault_response(fault: JwksFault) -> Response {
    match fault {
        JwksFault::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksFault::Hang => {
            // Long enough to outlast any client timeout; the task ends with the server.
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        JwksFault::Body(body) => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    }
}

/// An RFC 6749 §5.2 error response.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"dev-issuer\""),
        );
    }
    response
}

/// An RFC 6749 §5.2 refusal, rendered by [`oauth_error`] when answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OAuthRefusal {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
}

impl IntoResponse for OAuthRefusal {
    fn into_response(self) -> Response {
        oauth_error(self.status, self.error, self.description)
    }
}
