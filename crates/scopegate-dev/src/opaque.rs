//! Opaque access tokens, as Logto issues them when a client names no API resource, with the
//! endpoints that resolve them: `POST /oidc/token/introspection` (RFC 7662) and
//! `POST /oidc/token/revocation` (RFC 7009), both with client authentication
//! (`client_secret_basic` or `client_secret_post`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "testing")]
use std::time::Duration;

use axum::extract::State as Extract;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{Value, json};

#[cfg(feature = "testing")]
use crate::JwksFault;
use crate::server::OAuthRefusal;
use crate::server::client_auth::authenticate_client;
use crate::{State, lock, unix_now};

/// When the token endpoint issues opaque tokens instead of JWTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpaqueTokens {
    /// Never: every access token is a JWT (the default).
    #[default]
    Never,
    /// When the request names no `resource`, as Logto does.
    WithoutResource,
    /// Always.
    Always,
}

/// Media type of an RFC 9701 JWT introspection response.
const JWT_RESPONSE: &str = "application/token-introspection+jwt";

/// Most opaque tokens remembered; the oldest expire first (tests issue far fewer).
const MAX_OPAQUE_TOKENS: usize = 100_000;

/// What the issuer knows about one opaque token.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    client_id: String,
    scope: String,
    audience: Option<String>,
    issued_at: i64,
    expires_at: i64,
    revoked: bool,
}

/// The opaque tokens issued, and the introspection endpoint's counters and fault.
#[derive(Debug, Default)]
pub(crate) struct OpaqueState {
    pub(crate) grants: std::sync::Mutex<HashMap<String, Grant>>,
    pub(crate) introspections: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) max_in_flight: AtomicU64,
    pub(crate) revocations: AtomicU64,
    #[cfg(feature = "testing")]
    pub(crate) fault: std::sync::Mutex<Option<JwksFault>>,
    #[cfg(feature = "testing")]
    pub(crate) delay: std::sync::Mutex<Duration>,
}

impl State {
    /// Issues an opaque token for `client_id` (a random handle; the grant stays here).
    pub(crate) fn issue_opaque(
        &self,
        client_id: &str,
        audience: Option<&str>,
        scope: &str,
    ) -> String {
        let token = crate::keys::random_id(32);
        let now = unix_now();
        let ttl = lock(&self.token_ttl).as_secs() as i64;
        let mut grants = lock(&self.opaque.grants);
        if grants.len() >= MAX_OPAQUE_TOKENS {
            grants.retain(|_, g| g.expires_at > now && !g.revoked);
        }
        grants.insert(
            token.clone(),
            Grant {
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                audience: audience.map(str::to_owned),
                issued_at: now,
                expires_at: now + ttl,
                revoked: false,
            },
        );
        token
    }

    /// Remembers a JWT this issuer signed, with its claims, for introspection and revocation.
    pub(crate) fn remember_jwt(&self, jwt: &str, claims: &Value) {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| claims.get(name).and_then(Value::as_i64).unwrap_or_default();
        let mut grants = lock(&self.opaque.grants);
        if grants.len() >= MAX_OPAQUE_TOKENS {
            let now = unix_now();
            grants.retain(|_, g| g.expires_at > now && !g.revoked);
        }
        grants.insert(
            jwt.to_owned(),
            Grant {
                client_id: text("client_id").unwrap_or_default(),
                scope: text("scope").unwrap_or_default(),
                audience: text("aud"),
                issued_at: number("iat"),
                expires_at: number("exp"),
                revoked: false,
            },
        );
    }

    /// Marks `token` revoked; whether it was known.
    pub(crate) fn revoke(&self, token: &str) -> bool {
        let mut grants = lock(&self.opaque.grants);
        grants.get_mut(token).map(|g| g.revoked = true).is_some()
    }

    /// The RFC 7662 §2.2 response for `token`.
    fn introspection_response(&self, token: &str) -> Value {
        let grants = lock(&self.opaque.grants);
        match grants.get(token) {
            Some(grant) if !grant.revoked && grant.expires_at > unix_now() => {
                let mut response = json!({
                    "active": true,
                    "iss": self.issuer,
                    "client_id": grant.client_id,
                    "sub": grant.client_id,
                    "scope": grant.scope,
                    "iat": grant.issued_at,
                    "exp": grant.expires_at,
                    "token_type": "Bearer",
                });
                if let Some(aud) = &grant.audience {
                    response["aud"] = json!(aud);
                }
                response
            }
            _ => json!({ "active": false }),
        }
    }
}

/// Counts a request in flight and the most ever in flight at once; uncounts it when dropped.
struct InFlight<'a>(&'a OpaqueState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a OpaqueState) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The authenticated client and the one `token` parameter of an introspection or revocation
/// request, or the refusal.
fn client_and_token(
    state: &State,
    headers: &HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<(String, String), OAuthRefusal> {
    let bad = |description| OAuthRefusal {
        status: StatusCode::BAD_REQUEST,
        error: "invalid_request",
        description,
    };
    let Ok(Form(form)) = form else {
        return Err(bad("form body required"));
    };
    let client = authenticate_client(state, headers, &form)?;
    let token = token_parameter(&form).ok_or_else(|| bad("one token is required"))?;
    Ok((client, token.to_owned()))
}

/// The `token` parameter, given once.
fn token_parameter(form: &[(String, String)]) -> Option<&str> {
    let mut tokens = form.iter().filter(|(name, _)| name == "token");
    match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) => Some(token),
        _ => None,
    }
}

pub(crate) async fn introspect(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let opaque = &state.opaque;
    opaque.introspections.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(opaque);
    #[cfg(feature = "testing")]
    {
        let delay = *lock(&opaque.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let fault = lock(&opaque.fault).clone();
        if let Some(fault) = fault {
            return crate::server::fault_response(fault).await;
        }
    }
    let (client, token) = match client_and_token(&state, &headers, form) {
        Ok(found) => found,
        Err(refusal) => return refusal.into_response(),
    };
    let response = state.introspection_response(&token);
    let wants_jwt = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(JWT_RESPONSE));
    if wants_jwt {
        // RFC 9701 §5: signed by the issuer, for the client that asked.
        let key = state.current_key();
        let header = json!({
            "alg": key.algorithm.as_str(),
            "typ": "token-introspection+jwt",
            "kid": key.kid,
        });
        let claims = json!({
            "iss": state.issuer,
            "aud": client,
            "iat": unix_now(),
            "token_introspection": response,
        });
        let jwt = state.sign(&key, &header, &claims);
        return ([(header::CONTENT_TYPE, JWT_RESPONSE)], jwt).into_response();
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(response)).into_response()
}

pub(crate) async fn revoke(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    state.opaque.revocations.fetch_add(1, Ordering::SeqCst);
    let (client, token) = match client_and_token(&state, &headers, form) {
        Ok(found) => found,
        Err(refusal) => return refusal.into_response(),
    };
    // RFC 7009 §2.1: only the client the token was issued to may revoke it; §2.2: an unknown
    // token is answered 200 all the same.
    if let Some(grant) = lock(&state.opaque.grants).get_mut(&token)
        && grant.client_id == client
    {
        grant.revoked = true;
    }
    StatusCode::OK.into_response()
}
