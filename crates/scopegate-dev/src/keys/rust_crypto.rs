//! Key pairs on RustCrypto (p256, p384, rsa, ed25519-dalek): no C library in the build.

use ed25519_dalek::pkcs8::EncodePublicKey as _;
use rand_core::OsRng;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};

use super::{SigningAlgorithm, b64};

pub(super) enum Pair {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(rsa::RsaPrivateKey),
    Ed(ed25519_dalek::SigningKey),
}

impl Pair {
    pub(super) fn generate(algorithm: SigningAlgorithm) -> Option<Pair> {
        Some(match algorithm {
            SigningAlgorithm::ES256 => Pair::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::ES384 => Pair::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                Pair::Rsa(rsa::RsaPrivateKey::new(&mut OsRng, 2048).ok()?)
            }
            SigningAlgorithm::EdDSA => Pair::Ed(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        })
    }

    pub(super) fn sign(&self, algorithm: SigningAlgorithm, input: &[u8]) -> Vec<u8> {
        // JWS (RFC 7518 §3.4) wants ECDSA signatures as fixed-size r || s, which `to_bytes` is.
        match self {
            Pair::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            }
            Pair::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            }
            Pair::Ed(key) => key.sign(input).to_bytes().to_vec(),
            Pair::Rsa(key) if algorithm == SigningAlgorithm::PS256 => {
                let key = rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(key.clone());
                key.sign_with_rng(&mut OsRng, input).to_vec()
            }
            Pair::Rsa(key) => {
                let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
                key.sign(input).to_vec()
            }
        }
    }

    /// The public members of the JWK (`kty`, `crv`, coordinates or modulus).
    pub(super) fn public_jwk(&self) -> Value {
        let ec = |crv: &str, x: &[u8], y: &[u8]| json!({ "kty": "EC", "crv": crv, "x": b64(x), "y": b64(y) });
        match self {
            Pair::P256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                ec(
                    "P-256",
                    point.x().map_or(&[][..], |x| &x[..]),
                    point.y().map_or(&[][..], |y| &y[..]),
                )
            }
            Pair::P384(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                ec(
                    "P-384",
                    point.x().map_or(&[][..], |x| &x[..]),
                    point.y().map_or(&[][..], |y| &y[..]),
                )
            }
            Pair::Rsa(key) => json!({
                "kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
            }),
            Pair::Ed(key) => json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()),
            }),
        }
    }

    pub(super) fn public_key_der(&self) -> Vec<u8> {
        let der = match self {
            Pair::P256(key) => key.verifying_key().to_public_key_der(),
            Pair::P384(key) => key.verifying_key().to_public_key_der(),
            Pair::Rsa(key) => key.to_public_key().to_public_key_der(),
            Pair::Ed(key) => key.verifying_key().to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }
}

/// The HMAC tag of `input` for `HS384` / `HS512`, else HS256.
pub(super) fn hmac(alg: &str, secret: &[u8], input: &[u8]) -> Vec<u8> {
    fn tag<M: hmac::Mac + hmac::digest::KeyInit>(secret: &[u8], input: &[u8]) -> Vec<u8> {
        match <M as hmac::Mac>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(input);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length (RFC 2104 §2); an empty tag would fail to verify.
            Err(_) => Vec::new(),
        }
    }
    match alg {
        "HS384" => tag::<hmac::Hmac<sha2::Sha384>>(secret, input),
        "HS512" => tag::<hmac::Hmac<sha2::Sha512>>(secret, input),
        _ => tag::<hmac::Hmac<sha2::Sha256>>(secret, input),
    }
}
