//! Judging an introspection response (RFC 7662 §2.2) by the rules a JWT's claims meet, and
//! verifying an RFC 9701 JWT response with the issuer's keys.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::claims_check::{audience, numeric_date};
use super::introspected::Introspection;
use super::{IssuerState, ParsedToken, Validator};
use crate::claims::{AuthContext, Claims, RawClaims, Scopes};
use crate::dpop;
use crate::error::AuthError;
use crate::introspect::{Unavailable, Verdict};

/// RFC 7662 §2.2 `token_type` values that name an access token: RFC 6750's `Bearer` (what
/// oidc-provider and Logto send) and the RFC 8693 §3 identifier.
const ACCESS_TOKEN_TYPES: [&str; 3] = [
    "bearer",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];

/// What a response is judged against.
pub(super) struct Judged<'a> {
    issuer: &'a IssuerState,
    introspection: &'a Introspection,
    /// Under `Always`, the JWT's own verification (its algorithm and key stay in the context).
    signed: Option<Arc<AuthContext>>,
}

impl<'a> Judged<'a> {
    pub(super) fn new(
        issuer: &'a IssuerState,
        introspection: &'a Introspection,
        signed: Option<Arc<AuthContext>>,
    ) -> Self {
        Judged {
            issuer,
            introspection,
            signed,
        }
    }

    /// The verdict on `response` at `now` (seconds since the epoch).
    pub(super) fn verdict(&self, response: Map<String, Value>, now: i64) -> Verdict {
        match self.context(response, now) {
            Ok((context, valid_from, valid_until)) => Verdict::Active {
                context: Arc::new(context),
                valid_from,
                valid_until,
            },
            Err(error) => Verdict::Refused(error),
        }
    }

    fn context(
        &self,
        response: Map<String, Value>,
        now: i64,
    ) -> Result<(AuthContext, i64, i64), AuthError> {
        let config = &self.issuer.config;
        // RFC 7662 §2.2: `active` is a JSON boolean, required; `"true"` is not `true`.
        match response.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(AuthError::InactiveToken),
            Some(_) => return Err(AuthError::InvalidClaim("active")),
            None => return Err(AuthError::MissingClaim("active")),
        }
        // RFC 9449 §6.2: the answer's `cnf` binds the token as a JWT's does; the layer's DPoP
        // step checks the proof against it (and refuses it as a bearer token). Any other
        // confirmation method is refused here, so a binding is never ignored.
        let dpop_thumbprint = dpop::confirmation(&response)?;
        match response.get("iss") {
            None => {}
            Some(Value::String(iss)) if **iss == *config.issuer => {}
            Some(Value::String(_)) => return Err(AuthError::WrongIssuer),
            Some(_) => return Err(AuthError::InvalidClaim("iss")),
        }
        match response.get("token_type") {
            None => {}
            Some(Value::String(kind))
                if ACCESS_TOKEN_TYPES
                    .iter()
                    .any(|t| kind.eq_ignore_ascii_case(t)) => {}
            Some(Value::String(_)) => return Err(AuthError::WrongTokenType),
            Some(_) => return Err(AuthError::InvalidClaim("token_type")),
        }
        let leeway = config.leeway.as_secs() as i64;
        let expires_at = numeric_date(&response, "exp")?;
        let valid_until = expires_at.map_or(i64::MAX, |exp| exp.saturating_add(leeway));
        if now >= valid_until {
            return Err(AuthError::Expired);
        }
        let not_before = numeric_date(&response, "nbf")?;
        let valid_from = not_before.map_or(i64::MIN, |nbf| nbf.saturating_sub(leeway));
        if now < valid_from {
            return Err(AuthError::NotYetValid);
        }
        let issued_at = numeric_date(&response, "iat")?;
        let audience = match response.get("aud") {
            None if self.introspection.require_audience => {
                return Err(AuthError::MissingClaim("aud"));
            }
            None => Vec::new(),
            Some(_) => {
                let audience = audience(&response)?;
                if !audience.iter().any(|aud| config.accepts_audience(aud)) {
                    return Err(AuthError::WrongAudience);
                }
                audience
            }
        };
        for name in ["sub", "client_id", "jti", "username"] {
            if !matches!(response.get(name), None | Some(Value::String(_))) {
                return Err(AuthError::InvalidClaim(name));
            }
        }
        let claims = Claims {
            issuer: Arc::clone(&config.issuer),
            audience: audience.into(),
            // No `exp` (it is optional in RFC 7662): the server sets no end; the cache's TTL
            // bounds how long the answer is trusted.
            expires_at: expires_at.unwrap_or(i64::MAX),
            not_before,
            issued_at,
            raw: RawClaims::from_map(response),
        };
        let mut granted = Vec::new();
        for source in &config.scope_sources {
            source.collect(&claims, &mut granted)?;
        }
        let scopes: Scopes = granted.iter().map(String::as_str).collect();
        let organization = config
            .organization_sources
            .iter()
            .find_map(|s| s.find(&claims));
        let context = AuthContext {
            claims,
            scopes,
            signed: self.signed.as_ref().and_then(|jwt| jwt.signed.clone()),
            issuer_index: self.introspection.issuer_index,
            organization,
            introspected: true,
            dpop_thumbprint,
        };
        Ok((context, valid_from, valid_until))
    }
}

impl Validator {
    /// The `token_introspection` member of an RFC 9701 JWT response, once its `typ`, `alg`,
    /// issuer, audience (our client id) and signature (by the issuer's keys) check out.
    pub(super) async fn verified_response(
        &self,
        introspection: &Introspection,
        jwt: &str,
        peer: Option<IpAddr>,
    ) -> Result<Map<String, Value>, Unavailable> {
        let unusable = |why: &str| Unavailable(format!("RFC 9701 response refused: {why}"));
        let mut parsed = ParsedToken::parse(jwt).map_err(|e| unusable(&e.to_string()))?;
        let issuer = &self.inner.issuers[introspection.issuer_index];
        // RFC 9701 §5: `typ` is `token-introspection+jwt`; the `application/` prefix may go.
        let typ = parsed.typ.as_deref().unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("token-introspection+jwt") {
            return Err(unusable("typ is not token-introspection+jwt"));
        }
        if !issuer.config.algorithms.contains(parsed.alg) {
            return Err(unusable("algorithm not allowed"));
        }
        if parsed.claims.get("iss").and_then(Value::as_str) != Some(&*issuer.config.issuer) {
            return Err(unusable("iss is not the issuer"));
        }
        let for_us = match parsed.claims.get("aud") {
            Some(Value::String(aud)) => *aud == introspection.client_id,
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|a| a.as_str() == Some(&introspection.client_id)),
            _ => false,
        };
        if !for_us {
            return Err(unusable("aud is not this client"));
        }
        self.verified_key(issuer, &parsed, peer)
            .await
            .map_err(|e| unusable(&e.to_string()))?;
        match parsed.claims.remove("token_introspection") {
            Some(Value::Object(response)) => Ok(response),
            _ => Err(unusable("no token_introspection object")),
        }
    }
}
