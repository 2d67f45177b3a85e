//! The token endpoint, `POST /oidc/token`: the client_credentials grant (RFC 6749 §4.4) with
//! one `resource` (RFC 8707) and `scope`, DPoP-bound on request (RFC 9449 §5), answering a JWT or
//! an opaque token. Its own file because it is the one endpoint with a grammar of its own.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State as Extract;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use super::client_auth::{client_credentials, registered_client};
use super::oauth_error;
use crate::{OpaqueTokens, State, dpop, lock};

/// The form of a token request. Parameters may not repeat (RFC 6749 §3.2), except `resource`
/// (RFC 8707 §2), of which this issuer, like Logto for client_credentials, takes one.
#[derive(Debug, Default)]
pub(super) struct TokenRequest {
    grant_type: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
}

impl TokenRequest {
    /// The request, or the refusal as (status, OAuth error code, description).
    fn parse(
        form: Vec<(String, String)>,
    ) -> Result<TokenRequest, (StatusCode, &'static str, String)> {
        let mut request = TokenRequest::default();
        for (name, value) in form {
            let slot = match name.as_str() {
                "grant_type" => &mut request.grant_type,
                "scope" => &mut request.scope,
                "resource" => &mut request.resource,
                "client_id" => &mut request.client_id,
                "client_secret" => &mut request.client_secret,
                _ => continue,
            };
            if slot.is_some() {
                return Err(if name == "resource" {
                    (
                        StatusCode::BAD_REQUEST,
                        "invalid_target",
                        "only one resource may be requested with client_credentials".to_owned(),
                    )
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        format!("parameter {name} is repeated"),
                    )
                });
            }
            *slot = Some(value);
        }
        Ok(request)
    }
}

pub(super) async fn token(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let request = match form {
        Ok(Form(form)) => TokenRequest::parse(form),
        // RFC 6749 §5.2: every refusal is an OAuth error document, never plain text.
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded".to_owned(),
        )),
    };
    let mut request = match request {
        Ok(request) => request,
        Err((status, error, description)) => return oauth_error(status, error, &description),
    };
    let (id, secret) = match client_credentials(&headers, &mut request) {
        Ok(credentials) => credentials,
        Err((status, error, description)) => return oauth_error(status, error, description),
    };
    let client = match registered_client(&state, &id, &secret) {
        Ok(client) => client,
        Err(refusal) => return refusal.into_response(),
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let opaque = match *lock(&state.opaque_tokens) {
        OpaqueTokens::Never => false,
        OpaqueTokens::WithoutResource => request.resource.is_none(),
        OpaqueTokens::Always => true,
    };
    let resource = match request.resource {
        Some(resource) if client.resources.contains(&resource) => resource,
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "resource not allowed",
            );
        }
        None => match client.resources.first() {
            Some(resource) => resource.clone(),
            None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_target", "no resource"),
        },
    };
    let granted: Vec<&str> = match request.scope.as_deref().map(str::trim) {
        None | Some("") => client.scopes.iter().map(String::as_str).collect(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(denied) = requested
                .iter()
                .find(|s| !client.scopes.iter().any(|c| c == *s))
            {
                let description = format!("scope {denied} is not allowed for this client");
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &description);
            }
            requested
        }
    };
    let scope = granted.join(" ");
    // Only a JWT can carry `cnf`: an opaque token stays a bearer token (its introspection
    // answer would need the binding, which this issuer does not keep).
    let binding = if opaque {
        None
    } else {
        let token_endpoint = format!("{}/token", state.issuer);
        match dpop::binding(&state.dpop, &token_endpoint, &headers).await {
            Ok(binding) => binding,
            Err(refusal) => return refusal,
        }
    };
    let expires_in = lock(&state.token_ttl).as_secs();
    let access_token = if opaque {
        // Logto's opaque tokens carry no audience: they are for its own userinfo endpoint, or
        // for an API that introspects them.
        let audience = (*lock(&state.opaque_tokens) == OpaqueTokens::Always).then_some(&*resource);
        state.issue_opaque(&client.id, audience, &scope)
    } else {
        let key = state.current_key();
        let header = json!({ "alg": key.algorithm.as_str(), "typ": "at+jwt", "kid": key.kid });
        let mut claims = state.access_token_claims(&client.id, &resource, &scope);
        if let Some(binding) = &binding {
            // RFC 9449 §6.1: the key's thumbprint confirms who may present the token.
            claims["cnf"] = json!({ "jkt": binding.jkt });
        }
        let jwt = state.sign(&key, &header, &claims);
        // Remembered, so that introspection and revocation know it too.
        state.remember_jwt(&jwt, &claims);
        jwt
    };
    let mut response = (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": access_token,
            "expires_in": expires_in,
            // RFC 9449 §5: a bound token says so.
            "token_type": if binding.is_some() { "DPoP" } else { "Bearer" },
            "scope": scope,
        })),
    )
        .into_response();
    if let Some(binding) = binding {
        dpop::with_nonce(response.headers_mut(), binding.next_nonce.as_ref());
    }
    response
}
