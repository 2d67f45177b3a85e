//! The HTTP endpoints of the dev issuer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State as Extract;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

#[cfg(feature = "testing")]
use crate::JwksFault;
use crate::{Discovery, OpaqueTokens, State, dpop, lock};

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

/// The client authentication methods of the token endpoint (RFC 6749 §2.3.1), both implemented
/// by [`client_credentials`].
pub(crate) const TOKEN_ENDPOINT_AUTH_METHODS: [&str; 2] =
    ["client_secret_basic", "client_secret_post"];

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

/// The form of a token request. Parameters may not repeat (RFC 6749 §3.2), except `resource`
/// (RFC 8707 §2), of which this issuer, like Logto for client_credentials, takes one.
#[derive(Debug, Default)]
struct TokenRequest {
    grant_type: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
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

async fn token(
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

/// The client's id and secret, from HTTP Basic (`client_secret_basic`) or the form
/// (`client_secret_post`), RFC 6749 §2.3.1; a request using both is refused, as that section
/// requires.
fn client_credentials(
    headers: &HeaderMap,
    request: &mut TokenRequest,
) -> Result<(String, String), (StatusCode, &'static str, &'static str)> {
    let in_form = (request.client_id.take(), request.client_secret.take());
    let basic = headers.contains_key(header::AUTHORIZATION);
    match (basic, in_form) {
        (true, (None, None)) => basic_credentials(headers).ok_or((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed HTTP Basic client authentication",
        )),
        (true, _) => Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one client authentication method",
        )),
        (false, (Some(id), Some(secret))) => Ok((id, secret)),
        (false, _) => Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required (client_secret_basic or client_secret_post)",
        )),
    }
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

/// The registered client with this id and secret, or the `invalid_client` refusal.
fn registered_client<'s>(
    state: &'s State,
    id: &str,
    secret: &str,
) -> Result<&'s crate::DevClient, OAuthRefusal> {
    let client = state.clients.iter().find(|c| c.id == id);
    client
        .filter(|c| constant_time_eq(c.secret.as_bytes(), secret.as_bytes()))
        .ok_or(OAuthRefusal {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed",
        })
}

/// The id of the client that authenticated by `client_secret_basic` or `client_secret_post`
/// (RFC 6749 §2.3.1; not both, §2.3), or the refusal.
pub(crate) fn authenticate_client(
    state: &State,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<String, OAuthRefusal> {
    let field = |name: &str| {
        let mut values = form.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.clone()),
            _ => None,
        }
    };
    let posted = field("client_id").zip(field("client_secret"));
    let (id, secret) = match (basic_credentials(headers), posted) {
        (Some(basic), None) => basic,
        (None, Some(posted)) => posted,
        _ => {
            return Err(OAuthRefusal {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "exactly one client authentication method is required",
            });
        }
    };
    registered_client(state, &id, &secret).map(|c| c.id.clone())
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
