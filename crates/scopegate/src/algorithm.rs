//! JWS signature algorithms (RFC 7518 §3, RFC 8037) and small sets of them.

use std::fmt;
use std::str::FromStr;

/// A JWS `alg` value that scopegate can verify.
///
/// `none` is deliberately not representable: an unsigned token can never be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384 (Logto's default).
    ES384,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// EdDSA with Ed25519.
    EdDSA,
    /// HMAC with SHA-256; only with an explicitly configured symmetric secret.
    HS256,
    /// HMAC with SHA-384; only with an explicitly configured symmetric secret.
    HS384,
    /// HMAC with SHA-512; only with an explicitly configured symmetric secret.
    HS512,
}

impl Algorithm {
    /// Every algorithm, in a fixed order (the bit order of [`AlgorithmSet`]).
    pub const ALL: [Algorithm; 12] = [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::EdDSA,
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
    ];

    /// The registered name, as it appears in a JWS header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// True for the HMAC algorithms, which need a shared secret instead of a public key.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::EdDSA => J::EdDSA,
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an `alg` name that scopegate does not verify (including `none`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JWS algorithm")]
pub struct UnsupportedAlgorithm;

impl FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    /// Exact, case-sensitive match (RFC 7515 §4.1.1): `none`, `None` and `es256` are all refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or(UnsupportedAlgorithm)
    }
}

/// A small set of [`Algorithm`]s (a bit set: copying and testing membership cost nothing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// No algorithm.
    pub const EMPTY: AlgorithmSet = AlgorithmSet(0);

    /// The asymmetric algorithms: the default allow-list.
    pub const ASYMMETRIC: AlgorithmSet = AlgorithmSet::of(&[
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::EdDSA,
    ]);

    /// The RSA algorithms (PKCS#1 v1.5 and PSS), which any RSA key can verify.
    pub const RSA: AlgorithmSet = AlgorithmSet::of(&[
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ]);

    /// The HMAC algorithms.
    pub const HMAC: AlgorithmSet =
        AlgorithmSet::of(&[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]);

    /// A set of the given algorithms.
    pub const fn of(algorithms: &[Algorithm]) -> AlgorithmSet {
        let mut bits = 0;
        let mut i = 0;
        while i < algorithms.len() {
            bits |= algorithms[i].bit();
            i += 1;
        }
        AlgorithmSet(bits)
    }

    /// A set of exactly one algorithm.
    pub const fn one(algorithm: Algorithm) -> AlgorithmSet {
        AlgorithmSet(algorithm.bit())
    }

    /// Whether `algorithm` is in the set.
    pub const fn contains(self, algorithm: Algorithm) -> bool {
        self.0 & algorithm.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in both sets.
    pub const fn intersection(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & other.0)
    }

    /// The algorithms in either set.
    pub const fn union(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 | other.0)
    }

    /// The algorithms in `self` but not in `other`.
    pub const fn difference(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & !other.0)
    }

    /// The algorithms of the set, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter().fold(AlgorithmSet::EMPTY, |set, alg| {
            set.union(AlgorithmSet::one(alg))
        })
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_names_only() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
        for bad in ["none", "None", "NONE", "es256", "ES512", "", "HS256 "] {
            assert_eq!(bad.parse::<Algorithm>(), Err(UnsupportedAlgorithm), "{bad}");
        }
    }

    #[test]
    fn set_operations() {
        let set = AlgorithmSet::ASYMMETRIC;
        assert!(set.contains(Algorithm::ES384));
        assert!(!set.contains(Algorithm::HS256));
        assert_eq!(set.intersection(AlgorithmSet::HMAC), AlgorithmSet::EMPTY);
        assert_eq!(set.difference(AlgorithmSet::RSA).iter().count(), 3);
        let collected: AlgorithmSet = [Algorithm::PS256, Algorithm::RS256].into_iter().collect();
        assert_eq!(collected.intersection(AlgorithmSet::RSA), collected);
    }
}
