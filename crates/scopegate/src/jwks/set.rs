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
    /// No such key (or, without a `kid`, no single key for the algorithm).
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

    /// Identifies this set among all sets built in the process.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether this very key (not merely its `kid`) is still in the set.
    pub(crate) fn contains(&self, key: &Arc<VerificationKey>) -> bool {
        match key.kid() {
            Some(kid) => self.by_kid.get(kid).is_some_and(|k| Arc::ptr_eq(k, key)),
            None => self.keys.iter().any(|k| Arc::ptr_eq(k, key)),
        }
    }

    /// The key for a token with this `kid` and `alg`. Without a `kid`, the one key that can
    /// verify `alg`, if exactly one can.
    pub(crate) fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup<'_> {
        match kid {
            Some(kid) => match self.by_kid.get(kid) {
                Some(key) if key.algorithms().contains(alg) => KeyLookup::Found(key),
                Some(_) => KeyLookup::Mismatch,
                None => KeyLookup::Missing,
            },
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.algorithms().contains(alg));
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => KeyLookup::Found(key),
                    _ => KeyLookup::Missing,
                }
            }
        }
    }
}
