//! Access tokens signed by the issuer's current key: the claims of the token endpoint's answers,
//! and the tokens tests mint directly, broken ones included. Apart from the key set, because a
//! token only reads the current key; rotating keys is [`keyset`](crate::keyset)'s concern.

use std::time::Duration;

use serde_json::{Value, json};

use crate::keys::{self, DevKey};
use crate::{DevIssuer, State, b64, lock, signing_input, unix_now};

/// How long ago the tokens of [`DevIssuer::claims_expired`] expired: past any leeway a
/// validator allows (scopegate's is at most 5 minutes).
pub const EXPIRED_FOR: Duration = Duration::from_secs(600);

impl State {
    pub(crate) fn sign(&self, key: &DevKey, header: &Value, claims: &Value) -> String {
        let input = signing_input(header.to_string().as_bytes(), claims.to_string().as_bytes());
        format!("{input}.{}", b64(&key.sign(input.as_bytes())))
    }

    pub(crate) fn access_token_claims(
        &self,
        client_id: &str,
        resource: &str,
        scope: &str,
    ) -> Value {
        let now = unix_now();
        let ttl = lock(&self.token_ttl).as_secs();
        json!({
            "jti": keys::random_id(12),
            "sub": client_id,
            "iat": now,
            "exp": now + ttl as i64,
            "scope": scope,
            "client_id": client_id,
            "iss": self.issuer,
            "aud": resource,
        })
    }
}

impl DevIssuer {
    /// The standard access-token claims for `client_id` on `resource` with `scope`, expiring after
    /// the configured lifetime; edit them to make any token.
    pub fn claims(&self, client_id: &str, resource: &str, scope: &str) -> Value {
        self.state.access_token_claims(client_id, resource, scope)
    }

    /// Like [`claims`](Self::claims), but expired [`EXPIRED_FOR`] ago. A token that expired a
    /// moment ago is still accepted: validators allow clock skew (scopegate's leeway is 60 s by
    /// default, 300 s at most), so a test of the refusal needs one expired for longer than that.
    pub fn claims_expired(&self, client_id: &str, resource: &str, scope: &str) -> Value {
        let mut claims = self.claims(client_id, resource, scope);
        let expired_at = unix_now() - EXPIRED_FOR.as_secs() as i64;
        let ttl = lock(&self.state.token_ttl).as_secs() as i64;
        claims["exp"] = json!(expired_at);
        claims["iat"] = json!(expired_at - ttl);
        claims
    }

    /// The header of an access token from the current key: `alg`, `typ: at+jwt`, `kid`.
    pub fn header(&self) -> Value {
        let key = self.state.current_key();
        json!({ "alg": key.algorithm.as_str(), "typ": "at+jwt", "kid": key.kid })
    }

    /// A token with `claims`, signed by the current key with the usual header.
    pub fn mint(&self, claims: Value) -> String {
        self.mint_with_header(self.header(), claims)
    }

    /// A token with exactly `header` and `claims`, signed by the current key with the key's own
    /// algorithm, whatever the header says.
    pub fn mint_with_header(&self, header: Value, claims: Value) -> String {
        let key = self.state.current_key();
        self.state.sign(&key, &header, &claims)
    }

    /// A token with `header` and `claims` signed by the key `kid` (current or added), or `None`
    /// if there is no such key.
    pub fn mint_with_key(&self, kid: &str, header: Value, claims: Value) -> Option<String> {
        let key = self.key(kid)?;
        Some(self.state.sign(&key, &header, &claims))
    }
}
