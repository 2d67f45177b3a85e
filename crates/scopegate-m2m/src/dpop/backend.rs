//! The crypto backend that signs proofs: aws-lc-rs or RustCrypto, as the crate's features say
//! (the same choice scopegate offers, so a `rust-crypto` build links no C code). Features are
//! additive: with both on, aws-lc-rs signs, as in scopegate.
//!
//! Only what a proof needs lives here: key generation and PKCS#8 loading, ECDSA signing in the
//! JWS form (`r || s`, RFC 7518 §3.4), the public point and random bytes. The hashes that
//! must match scopegate's check (thumbprint, `ath`) are scopegate-http's.

use super::{DpopAlgorithm, DpopError};

#[cfg(feature = "aws-lc-rs")]
mod imp {
    use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        EcdsaSigningAlgorithm, KeyPair as _,
    };

    use super::{DpopAlgorithm, DpopError};

    /// A private key of the backend.
    pub(crate) struct SigningKey(EcdsaKeyPair);

    fn algorithm(alg: DpopAlgorithm) -> &'static EcdsaSigningAlgorithm {
        match alg {
            DpopAlgorithm::Es256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            DpopAlgorithm::Es384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }

    impl SigningKey {
        pub(crate) fn generate(alg: DpopAlgorithm) -> Result<SigningKey, DpopError> {
            EcdsaKeyPair::generate(algorithm(alg))
                .map(SigningKey)
                .map_err(|_| DpopError::KeyGeneration)
        }

        pub(crate) fn from_pkcs8(alg: DpopAlgorithm, der: &[u8]) -> Result<SigningKey, DpopError> {
            EcdsaKeyPair::from_pkcs8(algorithm(alg), der)
                .map(SigningKey)
                .map_err(|_| DpopError::InvalidKey)
        }

        /// The uncompressed point `0x04 || x || y` (SEC 1 §2.3.3).
        pub(crate) fn public_point(&self) -> Vec<u8> {
            self.0.public_key().as_ref().to_vec()
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DpopError> {
            self.0
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| DpopError::Signing)
        }
    }

    pub(crate) fn random(out: &mut [u8]) -> Result<(), DpopError> {
        SystemRandom::new()
            .fill(out)
            .map_err(|_| DpopError::KeyGeneration)
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod imp {
    use p256::pkcs8::DecodePrivateKey as _;
    use rand_core::{OsRng, RngCore as _};

    use super::{DpopAlgorithm, DpopError};

    /// A private key of the backend.
    pub(crate) enum SigningKey {
        Es256(p256::ecdsa::SigningKey),
        Es384(p384::ecdsa::SigningKey),
    }

    impl SigningKey {
        pub(crate) fn generate(alg: DpopAlgorithm) -> Result<SigningKey, DpopError> {
            Ok(match alg {
                DpopAlgorithm::Es256 => {
                    SigningKey::Es256(p256::ecdsa::SigningKey::random(&mut OsRng))
                }
                DpopAlgorithm::Es384 => {
                    SigningKey::Es384(p384::ecdsa::SigningKey::random(&mut OsRng))
                }
            })
        }

        pub(crate) fn from_pkcs8(alg: DpopAlgorithm, der: &[u8]) -> Result<SigningKey, DpopError> {
            match alg {
                DpopAlgorithm::Es256 => {
                    p256::ecdsa::SigningKey::from_pkcs8_der(der).map(SigningKey::Es256)
                }
                DpopAlgorithm::Es384 => {
                    p384::ecdsa::SigningKey::from_pkcs8_der(der).map(SigningKey::Es384)
                }
            }
            .map_err(|_| DpopError::InvalidKey)
        }

        /// The uncompressed point `0x04 || x || y` (SEC 1 §2.3.3).
        pub(crate) fn public_point(&self) -> Vec<u8> {
            match self {
                SigningKey::Es256(key) => key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
                SigningKey::Es384(key) => key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            }
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DpopError> {
            use p256::ecdsa::signature::Signer as _;
            Ok(match self {
                SigningKey::Es256(key) => {
                    let signature: p256::ecdsa::Signature =
                        key.try_sign(message).map_err(|_| DpopError::Signing)?;
                    signature.to_bytes().to_vec()
                }
                SigningKey::Es384(key) => {
                    let signature: p384::ecdsa::Signature =
                        key.try_sign(message).map_err(|_| DpopError::Signing)?;
                    signature.to_bytes().to_vec()
                }
            })
        }
    }

    pub(crate) fn random(out: &mut [u8]) -> Result<(), DpopError> {
        OsRng
            .try_fill_bytes(out)
            .map_err(|_| DpopError::KeyGeneration)
    }
}

pub(crate) use imp::{SigningKey, random};

/// The JWK coordinates `x` and `y` of an uncompressed point for `alg`'s curve.
pub(crate) fn coordinates(alg: DpopAlgorithm, point: &[u8]) -> Result<(&[u8], &[u8]), DpopError> {
    let size = alg.coordinate_len();
    match point.split_first() {
        Some((0x04, xy)) if xy.len() == 2 * size => Ok(xy.split_at(size)),
        _ => Err(DpopError::InvalidKey),
    }
}
