//! Signing keys of the dev issuer, and JWS compact serialization.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::DevIssuerError;

/// The algorithms the dev issuer can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// ECDSA P-256 / SHA-256.
    ES256,
    /// ECDSA P-384 / SHA-384 (Logto's default, and the dev issuer's).
    ES384,
    /// RSA PKCS#1 v1.5 / SHA-256 (2048-bit key).
    RS256,
    /// RSA-PSS / SHA-256 (2048-bit key).
    PS256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::ES384 => "ES384",
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One generated key pair with its `kid`.
pub(crate) struct DevKey {
    pub(crate) kid: String,
    pub(crate) algorithm: SigningAlgorithm,
    pair: Pair,
}

impl DevKey {
    pub(crate) fn generate(algorithm: SigningAlgorithm) -> Result<DevKey, DevIssuerError> {
        let failed = |_| DevIssuerError::KeyGeneration;
        let pair = match algorithm {
            SigningAlgorithm::ES256 => Pair::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(failed)?,
            ),
            SigningAlgorithm::ES384 => Pair::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .map_err(failed)?,
            ),
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            SigningAlgorithm::EdDSA => Pair::Ed(Ed25519KeyPair::generate().map_err(failed)?),
        };
        Ok(DevKey {
            kid: random_id(16),
            algorithm,
            pair,
        })
    }

    /// Signs `input` with this key's own algorithm.
    pub(crate) fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        let signed = match (&self.pair, self.algorithm) {
            (Pair::Ec(pair), _) => pair.sign(&rng, input).map(|s| s.as_ref().to_vec()),
            (Pair::Ed(pair), _) => Ok(pair.sign(input).as_ref().to_vec()),
            (Pair::Rsa(pair), alg) => {
                let padding: &'static dyn signature::RsaEncoding = if alg == SigningAlgorithm::PS256
                {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, input, &mut sig).map(|()| sig)
            }
        };
        // Signing with a freshly generated key cannot fail short of a broken crypto library; an
        // empty signature then makes the token fail verification, which tests would show.
        signed.unwrap_or_default()
    }

    /// The public key as a JWK, without `alg` (as Logto publishes it).
    pub(crate) fn public_jwk(&self) -> Value {
        match &self.pair {
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC", "use": "sig", "kid": self.kid, "crv": crv,
                    "x": b64(&point[1..=half]), "y": b64(&point[half + 1..]),
                })
            }
            Pair::Rsa(pair) => {
                let components =
                    signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({
                    "kty": "RSA", "use": "sig", "kid": self.kid,
                    "n": b64(&components.n), "e": b64(&components.e),
                })
            }
            Pair::Ed(pair) => json!({
                "kty": "OKP", "use": "sig", "kid": self.kid, "crv": "Ed25519",
                "x": b64(pair.public_key().as_ref()),
            }),
        }
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        let der = match &self.pair {
            Pair::Ec(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Ed(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.unwrap_or_default()
    }
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `base64url(header) "." base64url(payload)`, the JWS signing input, from raw JSON bytes.
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// An HMAC-signed token (HS256/384/512) over the given header and claims: for tests of
/// symmetric configurations and of algorithm-confusion attacks.
pub fn sign_hmac(secret: &[u8], header: &Value, claims: &Value) -> String {
    use aws_lc_rs::hmac;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("HS384") => hmac::HMAC_SHA384,
        Some("HS512") => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    let input = signing_input(header.to_string().as_bytes(), claims.to_string().as_bytes());
    let tag = hmac::sign(&hmac::Key::new(alg, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

pub(crate) fn random_id(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    b64(&buf)
}
