//! One verification key, built from one JWK (RFC 7517) with the algorithms it may verify.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::algorithm::{Algorithm, AlgorithmSet};

/// Smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: bigger keys only make verification slow.
const MAX_RSA_BITS: usize = 16384;

/// A public key (or, for HMAC, the configured secret) and the algorithms it may verify.
///
/// The algorithms follow from the key itself (`kty`, `crv`), narrowed by the JWK's `alg` member
/// when present. A token whose `alg` is outside them is refused before any signature check: this
/// is what makes algorithm confusion (an RSA key used as an HMAC secret, a P-256 key for ES384, …)
/// impossible.
pub struct VerificationKey {
    kid: Option<Box<str>>,
    algorithms: AlgorithmSet,
    kind: KeyKind,
    /// The public key itself (the inputs of its RFC 7638 thumbprint, decoded): what tells two
    /// fetches of one key apart from a new key that reuses a `kid`.
    material: Box<[u8]>,
    pub(crate) decoding: DecodingKey,
}

/// The kind of a [`VerificationKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// EC P-256.
    P256,
    /// EC P-384.
    P384,
    /// RSA, with the modulus size in bits.
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
    /// OKP Ed25519.
    Ed25519,
    /// A shared HMAC secret (never from a JWKS).
    Secret,
}

/// Why a JWK was left out of a key set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SkippedKey {
    /// `use` is not `sig`, or `key_ops` lacks `verify`.
    #[error("key is not for signature verification")]
    NotForSigning,
    /// `kty`/`crv` scopegate cannot verify (P-521, Ed448, …) or a symmetric `oct` key.
    #[error("unsupported key type or curve")]
    Unsupported,
    /// The JWK's `alg` is unknown or does not fit the key type.
    #[error("key alg does not fit the key")]
    AlgorithmMismatch,
    /// A member is missing, of the wrong type, not base64url, or of the wrong length.
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// An RSA modulus shorter than 2048 bits (or absurdly long).
    #[error("RSA key size out of range")]
    WeakRsa,
}

impl VerificationKey {
    /// The `kid`, if the JWK has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// A key for HMAC tokens, from a configured shared secret.
    pub(crate) fn symmetric(secret: &[u8], algorithms: AlgorithmSet) -> VerificationKey {
        VerificationKey {
            kid: None,
            algorithms: algorithms.intersection(AlgorithmSet::HMAC),
            kind: KeyKind::Secret,
            material: Box::default(),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Builds a key from one JWK object.
    pub fn from_jwk(jwk: &Value) -> Result<VerificationKey, SkippedKey> {
        let jwk = jwk
            .as_object()
            .ok_or(SkippedKey::Malformed("not an object"))?;
        let text = |name: &'static str| -> Result<Option<&str>, SkippedKey> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(SkippedKey::Malformed(name)),
            }
        };
        let bytes = |name: &'static str| -> Result<Vec<u8>, SkippedKey> {
            let value = text(name)?.ok_or(SkippedKey::Malformed(name))?;
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| SkippedKey::Malformed(name))
        };

        if text("use")?.is_some_and(|u| u != "sig") {
            return Err(SkippedKey::NotForSigning);
        }
        match jwk.get("key_ops") {
            None => {}
            Some(Value::Array(ops)) if !ops.iter().any(|op| op == "verify") => {
                return Err(SkippedKey::NotForSigning);
            }
            Some(Value::Array(_)) => {}
            Some(_) => return Err(SkippedKey::Malformed("key_ops")),
        }
        let kid = text("kid")?.map(Box::from);

        let kty = text("kty")?.ok_or(SkippedKey::Malformed("kty"))?;
        let (kind, algorithms, decoding, material) = match (kty, text("crv")?) {
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (kind, alg, len) = if crv == "P-256" {
                    (KeyKind::P256, Algorithm::ES256, 32)
                } else {
                    (KeyKind::P384, Algorithm::ES384, 48)
                };
                let x = bytes("x")?;
                let y = bytes("y")?;
                if x.len() != len {
                    return Err(SkippedKey::Malformed("x"));
                }
                if y.len() != len {
                    return Err(SkippedKey::Malformed("y"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let decoding = DecodingKey::from_ec_der(&point);
                (kind, AlgorithmSet::one(alg), decoding, point)
            }
            ("RSA", _) => {
                let n = bytes("n")?;
                let e = bytes("e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                let bits = bit_length(n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(SkippedKey::WeakRsa);
                }
                // An even or tiny exponent is no RSA public key; more than 4 bytes is an attack on
                // verification time.
                if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || e == [1] {
                    return Err(SkippedKey::Malformed("e"));
                }
                let decoding = DecodingKey::from_rsa_raw_components(n, e);
                // n's length first, so that no other (n, e) split gives the same bytes.
                let mut material = Vec::with_capacity(8 + n.len() + e.len());
                material.extend_from_slice(&(n.len() as u64).to_be_bytes());
                material.extend_from_slice(n);
                material.extend_from_slice(e);
                (KeyKind::Rsa { bits }, AlgorithmSet::RSA, decoding, material)
            }
            ("OKP", Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(SkippedKey::Malformed("x"));
                }
                let decoding = DecodingKey::from_ed_der(&x);
                (
                    KeyKind::Ed25519,
                    AlgorithmSet::one(Algorithm::EdDSA),
                    decoding,
                    x,
                )
            }
            _ => return Err(SkippedKey::Unsupported),
        };

        let algorithms = match text("alg")? {
            None => algorithms,
            Some(name) => {
                let alg: Algorithm = name.parse().map_err(|_| SkippedKey::AlgorithmMismatch)?;
                if !algorithms.contains(alg) {
                    return Err(SkippedKey::AlgorithmMismatch);
                }
                AlgorithmSet::one(alg)
            }
        };
        Ok(VerificationKey {
            kid,
            algorithms,
            kind,
            material: material.into_boxed_slice(),
            decoding,
        })
    }

    /// Whether `other` is this same key as published again: same `kid`, same public key, same
    /// algorithms. A key set refetched unchanged then vouches for what the old one verified.
    pub(crate) fn same_key(&self, other: &VerificationKey) -> bool {
        // A shared secret is not from a JWKS and is never refetched: only itself is itself.
        self.kind != KeyKind::Secret
            && self.kind == other.kind
            && self.kid == other.kid
            && self.algorithms == other.algorithms
            && self.material == other.material
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(top) => bytes.len() * 8 - top.leading_zeros() as usize,
    }
}
