//! The key set an issuer publishes at its JWKS endpoint, and which of its keys signs: rotation,
//! extra keys, removal. Apart from [`keys`](crate::keys), which makes and uses one key pair; this
//! is the set's bookkeeping, which tests drive to exercise key refreshes.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::keys::DevKey;
use crate::{DevIssuer, DevIssuerError, SigningAlgorithm, State, lock};

pub(crate) struct Keys {
    pub(crate) current: String,
    pub(crate) all: Vec<Arc<DevKey>>,
}

impl State {
    pub(crate) fn current_key(&self) -> Arc<DevKey> {
        let keys = lock(&self.keys);
        let found = keys.all.iter().find(|k| k.kid == keys.current);
        // `current` always names a key in `all`: rotate/remove keep that invariant.
        Arc::clone(found.unwrap_or(&keys.all[0]))
    }

    pub(crate) fn jwks(&self) -> Value {
        let keys = lock(&self.keys);
        json!({ "keys": keys.all.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
    }
}

impl DevIssuer {
    /// The `kid` of the current signing key.
    pub fn kid(&self) -> String {
        lock(&self.state.keys).current.clone()
    }

    /// The algorithm of the current signing key.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.state.current_key().algorithm
    }

    /// The current public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        self.state.current_key().public_jwk()
    }

    pub(crate) fn key(&self, kid: &str) -> Option<Arc<DevKey>> {
        lock(&self.state.keys)
            .all
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
    }

    /// The JWKS document currently served.
    pub fn jwks(&self) -> Value {
        self.state.jwks()
    }

    /// Replaces every key by a new one of the same algorithm; returns its `kid`.
    pub fn rotate_key(&self) -> Result<String, DevIssuerError> {
        let key = Arc::new(DevKey::generate(self.algorithm())?);
        let kid = key.kid.clone();
        let mut keys = lock(&self.state.keys);
        keys.all = vec![key];
        keys.current = kid.clone();
        Ok(kid)
    }

    /// Publishes an extra key of `algorithm` (not used by [`mint`](Self::mint)); returns its
    /// `kid`.
    pub fn add_key(&self, algorithm: SigningAlgorithm) -> Result<String, DevIssuerError> {
        let key = Arc::new(DevKey::generate(algorithm)?);
        let kid = key.kid.clone();
        lock(&self.state.keys).all.push(key);
        Ok(kid)
    }

    /// Makes the key `kid` the one that signs; returns false if there is no such key.
    pub fn use_key(&self, kid: &str) -> bool {
        let mut keys = lock(&self.state.keys);
        let exists = keys.all.iter().any(|k| k.kid == kid);
        if exists {
            keys.current = kid.to_owned();
        }
        exists
    }

    /// Stops publishing the key `kid` (the current key cannot be removed); returns whether a key
    /// was removed.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut keys = lock(&self.state.keys);
        if keys.current == kid {
            return false;
        }
        let before = keys.all.len();
        keys.all.retain(|k| k.kid != kid);
        keys.all.len() != before
    }
}
