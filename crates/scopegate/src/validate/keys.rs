//! Which key verifies a token: the one its `kid` names, or, without a `kid`, each key of its
//! `alg` in turn; and when none is at hand, at most one shared, rate-limited refetch of the set.

use std::sync::Arc;

use super::{IssuerState, SignatureCheck};
use crate::algorithm::Algorithm;
use crate::error::AuthError;
use crate::jwks::{KeyLookup, RefreshReason, VerificationKey};

/// Most keys a token without `kid` is tried against, per key set (jose and Spring try every key
/// of the token's `alg`; a bound keeps a forged kid-less token's cost fixed).
pub const MAX_KIDLESS_CANDIDATES: usize = 3;

impl IssuerState {
    /// The key whose check of the token's signature (`verifies`) passes. A `kid` names the one
    /// key to check; without one, each key of the token's `alg` is tried, at most
    /// [`MAX_KIDLESS_CANDIDATES`]. A `kid` not in the set, or a kid-less token that no key
    /// verifies, costs at most one (shared, rate-limited) refetch of the key set.
    pub(super) async fn verified_key<'c>(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        verifies: impl Fn(Arc<VerificationKey>) -> SignatureCheck<'c>,
    ) -> Result<Arc<VerificationKey>, AuthError> {
        let key = if alg.is_symmetric() {
            // HMAC tokens verify with the configured secret only: never with a JWKS key.
            self.secret.clone().ok_or(AuthError::DisallowedAlgorithm)?
        } else {
            self.keys.ensure_background_refresh();
            match kid {
                Some(kid) => self.key_for(kid, alg).await?,
                None => return self.key_without_kid(alg, verifies).await,
            }
        };
        if verifies(Arc::clone(&key)).await? {
            Ok(key)
        } else {
            Err(AuthError::BadSignature)
        }
    }

    /// The key named `kid`, which must fit `alg`.
    async fn key_for(&self, kid: &str, alg: Algorithm) -> Result<Arc<VerificationKey>, AuthError> {
        let source = &self.keys;
        match source.current().lookup(kid, alg) {
            KeyLookup::Found(key) => return Ok(Arc::clone(key)),
            KeyLookup::Mismatch => return Err(AuthError::KeyAlgorithmMismatch),
            KeyLookup::Missing => {}
        }
        source.refresh(self.refresh_reason()).await;
        match source.current().lookup(kid, alg) {
            KeyLookup::Found(key) => Ok(Arc::clone(key)),
            KeyLookup::Mismatch => Err(AuthError::KeyAlgorithmMismatch),
            KeyLookup::Missing => Err(self.no_key()),
        }
    }

    /// A token without `kid`: tries the keys of its `alg`. When none verifies, the issuer may
    /// have started signing with a key published since the last fetch (a rotation), so the set
    /// is refetched, within the unknown-`kid` cooldown, and only its new keys are tried.
    async fn key_without_kid<'c>(
        &self,
        alg: Algorithm,
        verifies: impl Fn(Arc<VerificationKey>) -> SignatureCheck<'c>,
    ) -> Result<Arc<VerificationKey>, AuthError> {
        let source = &self.keys;
        let candidates: Vec<Arc<VerificationKey>> = source
            .current()
            .candidates(alg, MAX_KIDLESS_CANDIDATES)
            .cloned()
            .collect();
        let mut tried: Vec<Arc<VerificationKey>> = Vec::with_capacity(MAX_KIDLESS_CANDIDATES);
        for key in candidates {
            if verifies(Arc::clone(&key)).await? {
                return Ok(key);
            }
            tried.push(key);
        }
        let tried_before = tried.len();
        source.refresh(self.refresh_reason()).await;
        let fresh: Vec<Arc<VerificationKey>> = source
            .current()
            .candidates(alg, MAX_KIDLESS_CANDIDATES)
            .filter(|key| !tried.iter().any(|old| old.same_key(key)))
            .cloned()
            .collect();
        for key in fresh {
            if verifies(Arc::clone(&key)).await? {
                return Ok(key);
            }
            tried.push(key);
        }
        match tried.len() {
            0 => Err(self.no_key()),
            n if n == tried_before && !source.is_healthy() => Err(self.no_key()),
            _ => Err(AuthError::BadSignature),
        }
    }

    fn refresh_reason(&self) -> RefreshReason {
        if self.keys.has_keys() {
            RefreshReason::UnknownKid
        } else {
            RefreshReason::Initial
        }
    }

    /// No key fits the token: 503 while the issuer cannot be asked (the token may well be good),
    /// else 401.
    fn no_key(&self) -> AuthError {
        let source = &self.keys;
        if !source.has_keys() || !source.is_healthy() {
            AuthError::KeysUnavailable {
                retry_after: source.retry_after(),
            }
        } else {
            AuthError::UnknownKey
        }
    }
}
