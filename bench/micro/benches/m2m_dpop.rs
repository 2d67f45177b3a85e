//! `cargo bench -p scopegate-bench-micro --bench m2m_dpop`: what a DPoP proof costs the client per request.
//!
//! * `proof/<alg>`: a whole proof (random `jti`, claims JSON, base64url, signature), as every
//!   API call through `send` or the tower layer makes one (here also hashing the token for
//!   `ath`, which they do once per token);
//! * `raw_sign/<alg>`: the backend's bare signature over an input of the same length, made in
//!   the same run: the floor a proof cannot go below. The ratio of the two is the overhead of
//!   everything else.
//!
//! For the RustCrypto backend:
//! `cargo bench -p scopegate-bench-micro --bench m2m_dpop --no-default-features --features rust-crypto`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scopegate_m2m::{DpopAlgorithm, DpopKey};
use url::Url;

/// The bare backend signature, with a key of its own.
#[cfg(feature = "aws-lc-rs")]
fn raw_signer(alg: DpopAlgorithm) -> impl Fn(&[u8]) -> Vec<u8> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    };
    let curve = match alg {
        DpopAlgorithm::Es384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    let key = EcdsaKeyPair::generate(curve).unwrap();
    let rng = SystemRandom::new();
    move |input| key.sign(&rng, input).unwrap().as_ref().to_vec()
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
fn raw_signer(alg: DpopAlgorithm) -> impl Fn(&[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer as _;
    let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    move |input| match alg {
        DpopAlgorithm::Es384 => {
            let signature: p384::ecdsa::Signature = p384.sign(input);
            signature.to_bytes().to_vec()
        }
        _ => {
            let signature: p256::ecdsa::Signature = p256.sign(input);
            signature.to_bytes().to_vec()
        }
    }
}

fn bench(c: &mut Criterion) {
    let url = Url::parse("https://api.example.com/products?limit=5").unwrap();
    let token = "eyJhbGciOiJFUzM4NCJ9.".to_owned() + &"a".repeat(600);
    for alg in [DpopAlgorithm::Es256, DpopAlgorithm::Es384] {
        let key = DpopKey::generate_for(alg).unwrap();
        let proof = key
            .proof("GET", &url, Some(&token), Some("nonce-1"))
            .unwrap();
        let signing_input = proof.rsplit_once('.').unwrap().0.as_bytes().to_vec();
        let sign = raw_signer(alg);
        c.bench_function(&format!("raw_sign/{}", alg.as_str()), |b| {
            b.iter(|| sign(black_box(&signing_input)))
        });
        c.bench_function(&format!("proof/{}", alg.as_str()), |b| {
            b.iter(|| {
                key.proof("GET", black_box(&url), Some(&token), Some("nonce-1"))
                    .unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
