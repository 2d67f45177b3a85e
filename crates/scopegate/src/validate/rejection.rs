//! What is told about a rejected token: its reason counted, and one log line with what can be
//! said about it without trusting it.

use serde_json::{Map, Value};

use super::Validator;
use super::jose::ParsedToken;
use crate::audience::AudienceMatcher;
use crate::error::AuthError;

impl Validator {
    /// Counts a refusal that is no verdict on the token (it lacks a route's scopes), as a guard's
    /// refusal is counted: no log line, the token itself being fine.
    pub(crate) fn count_rejection(&self, error: &AuthError) {
        self.inner.counters.rejected(error.reason());
    }

    /// One event per rejected token, with what can be told about it without trusting it. Values from
    /// the token are truncated and Debug-escaped, so a token cannot forge log lines.
    pub(crate) fn record_rejection(&self, error: &AuthError, parsed: Option<&ParsedToken<'_>>) {
        self.inner.counters.rejected(error.reason());
        let claim = |name: &str| {
            parsed
                .and_then(|p| p.claims.get(name))
                .and_then(Value::as_str)
                .map(short)
        };
        // A wrong audience is fixed by comparing the two lists: show both.
        let (aud, accepted) = match (error, parsed) {
            (AuthError::WrongAudience, Some(parsed)) => (
                Some(token_audiences(&parsed.claims)),
                self.accepted_audiences(claim("iss")),
            ),
            _ => (None, None),
        };
        tracing::debug!(
            target: "scopegate::reject",
            reason = error.reason().as_str(),
            claim = ?claim_name(error),
            kid = ?parsed.and_then(|p| p.kid.as_deref()).map(short),
            iss = ?claim("iss"),
            client_id = ?claim("client_id"),
            aud = ?aud,
            accepted = ?accepted,
            "rejected bearer token"
        );
    }

    /// The audiences the issuer `iss` accepts, as log text (each [`short`]).
    fn accepted_audiences(&self, iss: Option<&str>) -> Option<Vec<&str>> {
        let issuer = self
            .inner
            .issuers
            .iter()
            .find(|i| Some(&*i.config.issuer) == iss)?;
        Some(
            issuer
                .config
                .audiences
                .iter()
                .map(|matcher| match matcher {
                    AudienceMatcher::Exact(value) | AudienceMatcher::Prefix(value) => short(value),
                    AudienceMatcher::Uri(uri) => short(uri.configured()),
                    AudienceMatcher::Function(_) => "<function>",
                })
                .collect(),
        )
    }
}

/// The claim a `MissingClaim`/`InvalidClaim` rejection is about, for the log line.
fn claim_name(error: &AuthError) -> Option<&'static str> {
    match error {
        AuthError::MissingClaim(name) | AuthError::InvalidClaim(name) => Some(name),
        _ => None,
    }
}

/// A token's `aud` values for a log line: at most 8, each [`short`] (a token could list many).
fn token_audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![short(aud)],
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .take(8)
            .map(short)
            .collect(),
        _ => Vec::new(),
    }
}

fn short(value: &str) -> &str {
    let mut end = value.len().min(64);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}
