//! The caches' key: a token's SHA-256 digest, through the chosen crypto backend.
//!
//! Keyed by the token itself, an entry held the token (~500–800 bytes); the digest is 32. The
//! property the full key gave is kept: two tokens with one digest would be a SHA-256 collision,
//! which nobody can produce, so no string but the token finds its entry. A keyed fast hash
//! (SipHash, foldhash) is not enough: its 64 bits are collision resistant only against someone
//! who cannot see the outputs, and the cache is a lookup an attacker probes at will; a 2^32
//! birthday search against a 64-bit key is an afternoon. The digest costs ~0.3 µs per request
//! for an 800-byte token (ARCHITECTURE.md), measured against the ~12 µs a cached request costs.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;

/// SHA-256 of a token: the key of both token caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest([u8; 32]);

/// The tables' hash reads the digest's first 8 bytes only: SHA-256 spreads them evenly and no
/// one can choose them, and the tables' seeded hasher mixes them; equality still compares all 32.
impl Hash for TokenDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b, c, d, e, f, g, h, ..] = self.0;
        state.write_u64(u64::from_le_bytes([a, b, c, d, e, f, g, h]));
    }
}

impl TokenDigest {
    /// The digest of `token`, by aws-lc-rs when that backend is on (it wins when both are).
    #[cfg(feature = "aws-lc-rs")]
    pub(crate) fn of(token: &[u8]) -> TokenDigest {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        TokenDigest(bytes)
    }

    /// The digest of `token`, by RustCrypto's sha2.
    #[cfg(not(feature = "aws-lc-rs"))]
    pub(crate) fn of(token: &[u8]) -> TokenDigest {
        use sha2::Digest as _;
        TokenDigest(sha2::Sha256::digest(token).into())
    }
}

/// Slots of the [`DigestMemo`].
const SLOTS: usize = 64;

/// Longest token the memo keeps (64 slots of at most this: 256 KiB at worst).
const MAX_MEMO_TOKEN: usize = 4096;

/// The last tokens sent again and again, with their digests: a busy client's token is compared
/// (~30 ns for 800 bytes), not hashed (~450 ns). A memo hit is an exact byte comparison, so it
/// yields the digest SHA-256 would; what can hit a cache entry is unchanged.
///
/// Direct-mapped: a token's slot is chosen by its last bytes (its signature, random for a
/// genuine token). A token takes a slot over when it misses it twice in a row, so tokens in
/// rotation (each seen once a lap) pass through without churning it, at the cost of one failed
/// comparison; a forger choosing signature bytes can only share slots, costing the memo's gain.
pub(crate) struct DigestMemo {
    slots: Box<[Slot]>,
}

#[derive(Default)]
struct Slot {
    memo: ArcSwapOption<Memo>,
    /// The fingerprint of the last token that missed this slot.
    candidate: AtomicU64,
}

struct Memo {
    token: Box<[u8]>,
    digest: TokenDigest,
}

impl Default for DigestMemo {
    fn default() -> Self {
        DigestMemo {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }
}

impl DigestMemo {
    /// `token`'s digest: from the memo if the token is there, else computed (and memoized if
    /// the token missed its slot just before).
    pub(crate) fn digest(&self, token: &[u8]) -> TokenDigest {
        let fingerprint = fingerprint(token);
        let slot = &self.slots[(fingerprint % SLOTS as u64) as usize];
        if let Some(memo) = &*slot.memo.load()
            && *memo.token == *token
        {
            return memo.digest;
        }
        let digest = TokenDigest::of(token);
        if slot.candidate.load(Ordering::Relaxed) == fingerprint {
            if token.len() <= MAX_MEMO_TOKEN {
                let token = Box::from(token);
                slot.memo.store(Some(Arc::new(Memo { token, digest })));
            }
        } else {
            slot.candidate.store(fingerprint, Ordering::Relaxed);
        }
        digest
    }
}

/// The token's last 8 bytes and its length: cheap, and spread by the signature.
fn fingerprint(bytes: &[u8]) -> u64 {
    let mut tail = [0; 8];
    let take = bytes.len().min(8);
    tail[..take].copy_from_slice(&bytes[bytes.len() - take..]);
    u64::from_le_bytes(tail) ^ (bytes.len() as u64).rotate_left(40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256() {
        // FIPS 180-2, appendix B.1.
        let abc = TokenDigest::of(b"abc");
        assert_eq!(
            abc.0[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts ba7816bf"
        );
        assert_eq!(abc.0[28..], [0xf2, 0x00, 0x15, 0xad]);
        assert_ne!(TokenDigest::of(b"abd"), abc);
    }

    #[test]
    fn the_memo_gives_the_digest_of_exactly_its_token() {
        let memo = DigestMemo::default();
        let digest = |token: &str| memo.digest(token.as_bytes());
        let sha256 = |token: &str| TokenDigest::of(token.as_bytes());
        let slot_of = |token: &str| (fingerprint(token.as_bytes()) % SLOTS as u64) as usize;
        let token = "header.payload-of-app.signature-bytes-0123";
        for _ in 0..3 {
            assert_eq!(digest(token), sha256(token));
        }
        let slot = &memo.slots[slot_of(token)];
        assert!(slot.memo.load().is_some(), "memoized on its second miss");
        // Same slot and fingerprint (same length and last bytes), other bytes: compared, never
        // confused.
        let twin = token.replacen("app", "bot", 1);
        assert_eq!(fingerprint(twin.as_bytes()), fingerprint(token.as_bytes()));
        assert_eq!(digest(&twin), sha256(&twin));
        assert_eq!(digest(token), sha256(token));
        // Same slot, another fingerprint (its last byte differs): a token seen once does not
        // take the slot over.
        digest(token);
        let passing = token.replace("0123", "0124");
        assert_eq!(slot_of(&passing), slot_of(token));
        assert_eq!(digest(&passing), sha256(&passing));
        assert!(
            slot.memo
                .load()
                .as_ref()
                .is_some_and(|m| *m.token == *token.as_bytes())
        );
    }
}
