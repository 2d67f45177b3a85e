//! The registered claims of a token whose signature verified: `exp` and `nbf` against the clock
//! with the config's leeway, `aud` against its audience matchers, and the form of the rest.

use serde_json::{Map, Value};

use crate::config::AuthConfig;
use crate::error::AuthError;

/// The seconds since the epoch between which a token is valid, leeway included.
#[derive(Debug, Clone, Copy)]
pub(super) struct Validity {
    /// `nbf - leeway` (or the dawn of time without `nbf`).
    pub(super) valid_from: i64,
    /// `exp + leeway`.
    pub(super) valid_until: i64,
}

/// The registered claims of a token that passed [`check`].
pub(super) struct CheckedClaims {
    pub(super) expires_at: i64,
    pub(super) not_before: Option<i64>,
    pub(super) issued_at: Option<i64>,
    pub(super) audience: Vec<String>,
    pub(super) validity: Validity,
}

/// `exp` (RFC 7519 §4.1.4, required) and `nbf` (§4.1.5) at `now` with the config's leeway,
/// `iat` (§4.1.6) in form, `aud` (§4.1.3) accepted by one of the config's matchers, and `sub`,
/// `client_id` and `jti` strings when present.
pub(super) fn check(
    claims: &Map<String, Value>,
    config: &AuthConfig,
    now: i64,
) -> Result<CheckedClaims, AuthError> {
    let leeway = config.leeway.as_secs() as i64;
    let expires_at = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
    let valid_until = expires_at.saturating_add(leeway);
    if now >= valid_until {
        return Err(AuthError::Expired);
    }
    let not_before = numeric_date(claims, "nbf")?;
    let valid_from = not_before.map_or(i64::MIN, |nbf| nbf.saturating_sub(leeway));
    if now < valid_from {
        return Err(AuthError::NotYetValid);
    }
    let issued_at = numeric_date(claims, "iat")?;
    let audience = audience(claims)?;
    if !audience.iter().any(|aud| config.accepts_audience(aud)) {
        return Err(AuthError::WrongAudience);
    }
    for name in ["sub", "client_id", "jti"] {
        if !matches!(claims.get(name), None | Some(Value::String(_))) {
            return Err(AuthError::InvalidClaim(name));
        }
    }
    Ok(CheckedClaims {
        expires_at,
        not_before,
        issued_at,
        audience,
        validity: Validity {
            valid_from,
            valid_until,
        },
    })
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly fractional, from 0 to
/// 10^15. Integers and floats share the bounds: an integer `exp` of `i64::MAX` would otherwise be
/// a token that never expires, and dates before 1970 are no date an access token can carry.
pub(super) fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, AuthError> {
    // Far beyond any real date (31 million years), far below where f64 loses whole seconds.
    const LIMIT: i64 = 1_000_000_000_000_000;
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i),
            // u64 beyond i64, or a float: only a finite float in range gives a date.
            None => n
                .as_f64()
                .filter(|f| n.is_f64() && (0.0..=LIMIT as f64).contains(f))
                .map(|f| f.floor() as i64),
        },
        _ => None,
    };
    match seconds {
        Some(s) if (0..=LIMIT).contains(&s) => Ok(Some(s)),
        _ => Err(AuthError::InvalidClaim(name)),
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
pub(super) fn audience(claims: &Map<String, Value>) -> Result<Vec<String>, AuthError> {
    match claims.get("aud") {
        None => Err(AuthError::MissingClaim("aud")),
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(aud) => Ok(aud.clone()),
                _ => Err(AuthError::InvalidClaim("aud")),
            })
            .collect(),
        Some(_) => Err(AuthError::InvalidClaim("aud")),
    }
}
