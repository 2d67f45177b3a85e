//! `cargo bench -p scopegate-bench-micro --bench dpop`
//!
//! * `dpop_proof/es256`: [`ProofVerifier::verify`] of a fresh ES256 proof (unique `jti`) for a
//!   request with an access token: parse, header and key checks, thumbprint, `htm`/`htu`/`iat`/
//!   `ath`, the signature, and the `jti` record in the in-memory replay store;
//! * `dpop_proof/es256_verify_only`: the raw ES256 signature verification of the same proofs
//!   (`jsonwebtoken::crypto::verify`, key decoded once): the physical floor. The ratio of the two
//!   is the figure to report.
//!
//! * `dpop_proof/interleaved`: both, alternated in blocks of 200 (20 blocks each, proofs signed
//!   beforehand), printing the median time per operation of each and their ratio: on a shared,
//!   loaded machine the two criterion figures above are taken seconds apart under different
//!   load, the interleaved ratio is not.
//!
//! Proofs are signed in each batch's setup, outside the measured time.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

// The integration tests' hand-made proofs, shared by path.
#[allow(unreachable_pub, dead_code)]
#[path = "../../../tests/support/dpop.rs"]
mod proofs;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::Method;
use jsonwebtoken::{Algorithm, DecodingKey};
use proofs::ProofKey;
use scopegate::dpop::{ProofTarget, ProofVerifier};

const HTU: &str = "https://shopping.api/products";
const TOKEN: &str = "eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl";

/// Polls a future that needs no I/O (the in-memory store answers at once) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory replay store waited"),
    }
}

fn dpop(c: &mut Criterion) {
    let key = ProofKey::generate();
    let verifier = ProofVerifier::builder().build();
    let method = Method::GET;
    let target = ProofTarget::new(&method, HTU).access_token(TOKEN);
    let fresh = || key.proof("GET", HTU, Some(TOKEN));
    // The proofs are valid: a failing one would measure a refusal instead.
    assert!(ready(verifier.verify(&fresh(), &target)).is_ok());

    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();

    let mut group = c.benchmark_group("dpop_proof");
    group.bench_function("es256", |b| {
        b.iter_batched(
            fresh,
            |proof| ready(verifier.verify(black_box(&proof), &target)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("es256_verify_only", |b| {
        b.iter_batched(
            fresh,
            |proof| {
                let (input, signature) = proof.rsplit_once('.').unwrap();
                assert!(
                    jsonwebtoken::crypto::verify(
                        black_box(signature),
                        input.as_bytes(),
                        &decoding,
                        Algorithm::ES256
                    )
                    .unwrap()
                );
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    interleaved(&verifier, &target, &decoding, &fresh);
}

/// Full checks and raw verifications in alternating blocks; prints medians and the ratio.
fn interleaved(
    verifier: &ProofVerifier,
    target: &ProofTarget<'_>,
    decoding: &DecodingKey,
    fresh: &dyn Fn() -> String,
) {
    const BLOCK: usize = 200;
    const BLOCKS: usize = 20;
    let (mut full, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..BLOCKS {
        let proofs: Vec<String> = (0..BLOCK).map(|_| fresh()).collect();
        let start = Instant::now();
        for proof in &proofs {
            ready(verifier.verify(black_box(proof), target)).unwrap();
        }
        full.push(start.elapsed().as_secs_f64() / BLOCK as f64);
        let start = Instant::now();
        for proof in &proofs {
            let (input, signature) = proof.rsplit_once('.').unwrap();
            let ok = jsonwebtoken::crypto::verify(
                black_box(signature),
                input.as_bytes(),
                decoding,
                Algorithm::ES256,
            );
            assert!(ok.unwrap());
        }
        raw.push(start.elapsed().as_secs_f64() / BLOCK as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (full, raw) = (median(&mut full), median(&mut raw));
    println!(
        "dpop_proof/interleaved: full check {:.1} µs, raw ES256 verify {:.1} µs (medians of {BLOCKS} \
         blocks of {BLOCK}); raw/full = {:.2}x",
        full * 1e6,
        raw * 1e6,
        raw / full
    );
}

criterion_group!(benches, dpop);
criterion_main!(benches);
