//! Signing keys of the dev issuer, and JWS compact serialization. The key pairs come from the
//! crypto backend chosen by features: aws-lc-rs (it wins when both are on) or RustCrypto.

#[cfg(feature = "aws-lc-rs")]
#[path = "keys/aws_lc.rs"]
mod backend;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
#[path = "keys/rust_crypto.rs"]
mod backend;
#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "scopegate-dev: enable one crypto backend, `aws-lc-rs` (the default) or `rust-crypto`."
);

use std::fmt;

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

/// One generated key pair with its `kid`.
pub(crate) struct DevKey {
    pub(crate) kid: String,
    pub(crate) algorithm: SigningAlgorithm,
    pair: backend::Pair,
}

impl DevKey {
    pub(crate) fn generate(algorithm: SigningAlgorithm) -> Result<DevKey, DevIssuerError> {
        Ok(DevKey {
            kid: random_id(16),
            algorithm,
            pair: backend::Pair::generate(algorithm).ok_or(DevIssuerError::KeyGeneration)?,
        })
    }

    /// Signs `input` with this key's own algorithm.
    pub(crate) fn sign(&self, input: &[u8]) -> Vec<u8> {
        self.pair.sign(self.algorithm, input)
    }

    /// The public key as a JWK, without `alg` (as Logto publishes it).
    pub(crate) fn public_jwk(&self) -> Value {
        let mut jwk = self.pair.public_jwk();
        if let Some(members) = jwk.as_object_mut() {
            members.insert("use".into(), json!("sig"));
            members.insert("kid".into(), json!(self.kid));
        }
        jwk
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key_der()
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
    let input = signing_input(header.to_string().as_bytes(), claims.to_string().as_bytes());
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("HS256");
    let tag = backend::hmac(alg, secret, input.as_bytes());
    format!("{input}.{}", b64(&tag))
}

pub(crate) fn random_id(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    b64(&buf)
}
