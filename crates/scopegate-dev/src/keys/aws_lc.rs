//! Key pairs on aws-lc-rs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

use super::{SigningAlgorithm, b64};

pub(super) enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Pair {
    pub(super) fn generate(algorithm: SigningAlgorithm) -> Option<Pair> {
        Some(match algorithm {
            SigningAlgorithm::ES256 => {
                Pair::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).ok()?)
            }
            SigningAlgorithm::ES384 => {
                Pair::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).ok()?)
            }
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).ok()?)
            }
            SigningAlgorithm::EdDSA => Pair::Ed(Ed25519KeyPair::generate().ok()?),
        })
    }

    pub(super) fn sign(&self, algorithm: SigningAlgorithm, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        let signed = match self {
            Pair::Ec(pair) => pair.sign(&rng, input).map(|s| s.as_ref().to_vec()),
            Pair::Ed(pair) => Ok(pair.sign(input).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding =
                    if algorithm == SigningAlgorithm::PS256 {
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

    /// The public members of the JWK (`kty`, `crv`, coordinates or modulus).
    pub(super) fn public_jwk(&self) -> Value {
        match self {
            Pair::Ec(pair) => {
                // An uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC", "crv": crv,
                    "x": b64(&point[1..=half]), "y": b64(&point[half + 1..]),
                })
            }
            Pair::Rsa(pair) => {
                let components =
                    signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({ "kty": "RSA", "n": b64(&components.n), "e": b64(&components.e) })
            }
            Pair::Ed(pair) => json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()),
            }),
        }
    }

    pub(super) fn public_key_der(&self) -> Vec<u8> {
        let der = match self {
            Pair::Ec(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Ed(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.unwrap_or_default()
    }
}

/// The HMAC tag of `input` for `HS384` / `HS512`, else HS256.
pub(super) fn hmac(alg: &str, secret: &[u8], input: &[u8]) -> Vec<u8> {
    use aws_lc_rs::hmac;
    let alg = match alg {
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    hmac::sign(&hmac::Key::new(alg, secret), input)
        .as_ref()
        .to_vec()
}
