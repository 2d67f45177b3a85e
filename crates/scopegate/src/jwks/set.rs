//! A key set: the usable keys of one JWKS document, by `kid`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::JwksError;
use super::key::{SkippedKey, VerificationKey};
use crate::algorithm::Algorithm;

/// Default cap on the number of keys in a JWKS document.
pub const DEFAULT_MAX_KEYS: usize = 100;

/// The usable signing keys of an issuer, looked up by `kid`.
///
/// Built once per fetched JWKS (decoding keys are never rebuilt per request). Keys that cannot be
/// used are skipped with a warning: one odd key never costs the issuer its whole set.
#[derive(Debug, Clone)]
pub struct KeySet {
    by_kid: HashMap<Box<str>, Arc<VerificationKey>>,
    keys: Vec<Arc<VerificationKey>>,
    /// Unique per built set: a cache hit whose set is still the current one needs no key lookup.
    generation: u64,
}

impl Default for KeySet {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        KeySet {
            by_kid: HashMap::new(),
            keys: Vec::new(),
            generation: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// What looking up a token's key found.
#[derive(Debug)]
pub(crate) enum KeyLookup<'a> {
    /// The key to verify with.
    Found(&'a Arc<VerificationKey>),
    /// A key with this `kid` exists but cannot verify the token's `alg`.
    Mismatch,
    /// No key with this `kid`.
    Missing,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`) of at most `max_keys` keys.
    ///
    /// Fails if it is not such a document or has no usable key at all; skips unusable keys.
    pub fn from_jwks_json(json: &[u8], max_keys: usize) -> Result<KeySet, JwksError> {
        let doc: Value = serde_json::from_slice(json).map_err(|_| JwksError::NotJson)?;
        KeySet::from_jwks(&doc, max_keys)
    }

    /// Builds a key set from an already parsed JWKS document.
    pub fn from_jwks(doc: &Value, max_keys: usize) -> Result<KeySet, JwksError> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NotAJwks)?;
        if keys.len() > max_keys {
            return Err(JwksError::TooManyKeys {
                count: keys.len(),
                max: max_keys,
            });
        }
        let mut set = KeySet::default();
        for (index, jwk) in keys.iter().enumerate() {
            match VerificationKey::from_jwk(jwk) {
                Ok(key) => set.insert(key, index),
                Err(SkippedKey::NotForSigning) => {
                    tracing::debug!(target: "scopegate::jwks", index, "skipping encryption key");
                }
                Err(reason) => {
                    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::warn!(target: "scopegate::jwks", index, kid, %reason, "skipping unusable JWK");
                }
            }
        }
        if set.keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(set)
    }

    fn insert(&mut self, key: VerificationKey, index: usize) {
        let key = Arc::new(key);
        if let Some(kid) = key.kid() {
            if self.by_kid.contains_key(kid) {
                // Two keys under one kid would make the choice of key depend on list order.
                tracing::warn!(target: "scopegate::jwks", index, kid, "skipping JWK with a duplicate kid");
                return;
            }
            self.by_kid.insert(Box::from(kid), Arc::clone(&key));
        }
        self.keys.push(key);
    }

    /// The key with `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<VerificationKey>> {
        self.by_kid.get(kid)
    }

    /// Every usable key.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys.iter()
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Identifies this set's keys: a refetch that finds the very same keys keeps the number, so
    /// cache hits of tokens verified before it stay on the fast path.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes the keys that `previous` holds too (same `kid`, same public key) as they were there,
    /// so that a refresh returning the same keys changes nothing: tokens verified with them stay
    /// trusted without a lookup, and the set keeps `previous`'s generation if nothing else changed.
    pub(crate) fn carry_over(mut self, previous: &KeySet) -> KeySet {
        let mut carried = 0;
        for key in &mut self.keys {
            let known = match key.kid() {
                Some(kid) => previous.by_kid.get(kid).filter(|old| old.same_key(key)),
                None => previous.keys.iter().find(|old| old.same_key(key)),
            };
            if let Some(old) = known {
                *key = Arc::clone(old);
                if let Some(kid) = key.kid() {
                    self.by_kid.insert(Box::from(kid), Arc::clone(key));
                }
                carried += 1;
            }
        }
        if carried == self.keys.len() && carried == previous.keys.len() {
            self.generation = previous.generation;
        }
        self
    }

    /// Whether this key (the same public key under the same `kid`, not merely the `kid`) is still
    /// in the set.
    pub(crate) fn contains(&self, key: &Arc<VerificationKey>) -> bool {
        let same = |k: &Arc<VerificationKey>| Arc::ptr_eq(k, key) || k.same_key(key);
        match key.kid() {
            Some(kid) => self.by_kid.get(kid).is_some_and(same),
            None => self.keys.iter().any(same),
        }
    }

    /// The key for a token with this `kid` and `alg`.
    pub(crate) fn lookup(&self, kid: &str, alg: Algorithm) -> KeyLookup<'_> {
        match self.by_kid.get(kid) {
            Some(key) if key.algorithms().contains(alg) => KeyLookup::Found(key),
            Some(_) => KeyLookup::Mismatch,
            None => KeyLookup::Missing,
        }
    }

    /// The keys a token without a `kid` may be signed with: those that verify `alg`, in the
    /// JWKS's order (issuers list their current key first), at most `bound` of them.
    pub(crate) fn candidates(
        &self,
        alg: Algorithm,
        bound: usize,
    ) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys
            .iter()
            .filter(move |k| k.algorithms().contains(alg))
            .take(bound)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    fn jwk(kid: &str, fill: u8) -> Value {
        let coordinate = URL_SAFE_NO_PAD.encode([fill; 32]);
        json!({ "kty": "EC", "crv": "P-256", "kid": kid, "x": coordinate, "y": coordinate })
    }

    fn set(keys: &[Value]) -> KeySet {
        KeySet::from_jwks(&json!({ "keys": keys }), DEFAULT_MAX_KEYS).unwrap()
    }

    #[test]
    fn the_same_keys_refetched_keep_their_identity_and_the_generation() {
        let old = set(&[jwk("a", 1), jwk("b", 2)]);
        let same = set(&[jwk("b", 2), jwk("a", 1)]).carry_over(&old);
        assert_eq!(same.generation(), old.generation());
        for key in old.keys() {
            assert!(same.contains(key));
            let kid = key.kid().unwrap();
            assert!(Arc::ptr_eq(same.get(kid).unwrap(), key));
        }
    }

    #[test]
    fn a_changed_set_vouches_for_kept_keys_only() {
        let old = set(&[jwk("a", 1), jwk("b", 2)]);
        let a = Arc::clone(old.get("a").unwrap());
        let b = Arc::clone(old.get("b").unwrap());
        // "b" now names another public key; "c" is new.
        let new = set(&[jwk("a", 1), jwk("b", 3), jwk("c", 4)]).carry_over(&old);
        assert_ne!(new.generation(), old.generation());
        assert!(new.contains(&a) && Arc::ptr_eq(new.get("a").unwrap(), &a));
        assert!(!new.contains(&b), "a kid reused for another key");
        // Without carrying over, key material still decides.
        let rebuilt = set(&[jwk("a", 1)]);
        assert!(rebuilt.contains(&a) && !rebuilt.contains(&b));
    }

    #[test]
    fn kidless_candidates_are_bounded_and_in_jwks_order() {
        let keys: Vec<Value> = (1..=5).map(|i| jwk(&format!("k{i}"), i)).collect();
        let set = set(&keys);
        let kids: Vec<_> = set
            .candidates(Algorithm::ES256, 3)
            .map(|k| k.kid().unwrap())
            .collect();
        assert_eq!(kids, ["k1", "k2", "k3"]);
        assert_eq!(set.candidates(Algorithm::ES384, 3).count(), 0);
    }
}
