//! Server-provided nonces (RFC 9449 §8, §9): they bound how far ahead a client can pre-make
//! proofs. Stateless: a nonce is a time slot and its HMAC, so replicas given one secret accept
//! each other's nonces without sharing any state.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the HMAC kept in a nonce: 128 bits cannot be guessed.
const TAG_LEN: usize = 16;

/// Server nonces: a new one every `period`; a proof must carry the current one or the one
/// before it.
///
/// ```
/// use std::time::Duration;
/// use scopegate::dpop::{Nonces, ProofVerifier};
///
/// // Replicas behind one load balancer share the secret, so each accepts the others' nonces.
/// let nonces = Nonces::with_secret(b"32 bytes shared by every replica", Duration::from_secs(300));
/// let verifier = ProofVerifier::builder().nonces(nonces).build();
/// assert!(verifier.current_nonce().is_some());
/// ```
#[derive(Clone)]
pub struct Nonces {
    secret: Vec<u8>,
    period: Duration,
}

impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonces")
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

/// How a proof's nonce compares with the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonceCheck {
    /// The current nonce.
    Current,
    /// The one before: accepted, and the response carries the current one.
    Previous,
    /// Missing, stale, or not ours.
    Refused,
}

impl Nonces {
    /// Nonces under a random secret of this process (one replica, or sticky sessions).
    pub fn new(period: Duration) -> Nonces {
        Nonces::with_secret(&rand::random::<[u8; 32]>(), period)
    }

    /// Nonces under a secret shared by every replica. `period` is at least one second.
    pub fn with_secret(secret: &[u8], period: Duration) -> Nonces {
        Nonces {
            secret: secret.to_vec(),
            period: period.max(Duration::from_secs(1)),
        }
    }

    fn slot(&self, now: SystemTime) -> u64 {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        (since.as_millis() / self.period.as_millis().max(1)) as u64
    }

    fn mac(&self, slot: u64) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(&slot.to_be_bytes());
        mac
    }

    /// The nonce of the slot `now` falls in.
    pub(super) fn current(&self, now: SystemTime) -> String {
        let slot = self.slot(now);
        let tag = self.mac(slot).finalize().into_bytes();
        let mut raw = [0u8; 8 + TAG_LEN];
        raw[..8].copy_from_slice(&slot.to_be_bytes());
        raw[8..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Judges a proof's `nonce` claim.
    pub(super) fn check(&self, nonce: Option<&str>, now: SystemTime) -> NonceCheck {
        let Some(raw) = nonce.and_then(|n| URL_SAFE_NO_PAD.decode(n).ok()) else {
            return NonceCheck::Refused;
        };
        if raw.len() != 8 + TAG_LEN {
            return NonceCheck::Refused;
        }
        let mut slot = [0u8; 8];
        slot.copy_from_slice(&raw[..8]);
        let slot = u64::from_be_bytes(slot);
        let current = self.slot(now);
        let state = if slot == current {
            NonceCheck::Current
        } else if slot.checked_add(1) == Some(current) {
            NonceCheck::Previous
        } else {
            return NonceCheck::Refused;
        };
        // Constant-time comparison of the tag.
        match self.mac(slot).verify_truncated_left(&raw[8..]) {
            Ok(()) => state,
            Err(_) => NonceCheck::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_previous_and_stale() {
        let nonces = Nonces::with_secret(b"secret", Duration::from_secs(60));
        let t0 = UNIX_EPOCH + Duration::from_secs(6_000);
        let nonce = nonces.current(t0);
        assert_eq!(nonces.check(Some(&nonce), t0), NonceCheck::Current);
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(nonces.check(Some(&nonce), t1), NonceCheck::Previous);
        let t2 = t0 + Duration::from_secs(120);
        assert_eq!(nonces.check(Some(&nonce), t2), NonceCheck::Refused);
        assert_eq!(nonces.check(None, t0), NonceCheck::Refused);
        assert_eq!(nonces.check(Some("garbage"), t0), NonceCheck::Refused);
        let other = Nonces::with_secret(b"other", Duration::from_secs(60));
        assert_eq!(other.check(Some(&nonce), t0), NonceCheck::Refused);
    }
}
