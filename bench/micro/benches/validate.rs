//! `cargo bench -p scopegate-bench-micro --bench validate`
//!
//! * `first_sight/<alg>`: a token the validator has not seen (cache off): parse + signature +
//!   claims, the cost every other Rust layer pays on every request, here including the round
//!   trip of the signature check to the verification pool's thread;
//! * `cache_hit/<alg>`: the same token again (its digest memoized, as for a busy client);
//! * `cache_hit_rotating/ES384`: 1,000 cached tokens in turn: every hit computes its token's
//!   SHA-256 (the memo keeps tokens sent again and again, not tokens seen once a lap);
//! * `bearer_extraction`: finding the token in the headers;
//! * `cache_key/*`: what a lookup costs keyed by the full token (SipHash, foldhash: the layout
//!   before issue 19) or by its SHA-256 digest, in moka and in quick_cache (the layout now).
//!   `sha256_only` is the digest alone.
//!
//! Keys are a static set (no network): the figures are CPU only. For the RustCrypto backend:
//! `cargo bench -p scopegate-bench-micro --bench validate --no-default-features --features rust-crypto`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use scopegate::{AuthConfig, CacheConfig, KeySet, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm};

mod support;
use support::ready;

const RESOURCE: &str = "https://shopping.api";

struct Setup {
    // Its server is irrelevant here; its keys and minting are not.
    _issuer: DevIssuer,
    token: String,
    cached: Validator,
    uncached: Validator,
}

fn setup(runtime: &tokio::runtime::Runtime, algorithm: SigningAlgorithm) -> Setup {
    let issuer = runtime
        .block_on(DevIssuer::builder().algorithm(algorithm).start())
        .unwrap();
    let keys = KeySet::from_jwks(&issuer.jwks(), 100).unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .jwks_static(keys)
        .build()
        .unwrap();
    let cached = Validator::new(config.clone()).unwrap();
    let uncached = Validator::builder()
        .issuer(config)
        .cache(CacheConfig::disabled())
        .build()
        .unwrap();
    let token = issuer.mint(issuer.claims("bench-app", RESOURCE, "read:products write:products"));
    runtime.block_on(cached.validate(&token)).unwrap();
    Setup {
        _issuer: issuer,
        token,
        cached,
        uncached,
    }
}

fn validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let algorithms = [
        ("ES256", SigningAlgorithm::ES256),
        ("ES384", SigningAlgorithm::ES384),
        ("RS256", SigningAlgorithm::RS256),
        ("EdDSA", SigningAlgorithm::EdDSA),
    ];
    let setups: Vec<_> = algorithms
        .iter()
        .map(|(name, alg)| (*name, setup(&runtime, *alg)))
        .collect();
    let mut first = c.benchmark_group("first_sight");
    for (name, s) in &setups {
        first.bench_function(*name, |b| {
            b.iter(|| {
                runtime
                    .block_on(s.uncached.validate(black_box(&s.token)))
                    .unwrap()
            })
        });
    }
    first.finish();
    // The baseline every other layer pays: jsonwebtoken::decode on every request.
    let es384 = &setups[1].1;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(es384._issuer.public_jwk()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES384);
    validation.set_issuer(&[es384._issuer.issuer()]);
    validation.set_audience(&[RESOURCE]);
    c.bench_function("baseline_jsonwebtoken_decode/ES384", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&es384.token), &key, &validation)
                .unwrap()
        })
    });
    // Cache on, but every token new: first sight including the cache insert. Minting (in the
    // untimed setup) gives each iteration a token never seen before.
    let fresh = es384.cached.clone();
    let mut n = 0u64;
    c.bench_function("first_sight_cached/ES384", |b| {
        b.iter_batched(
            || {
                n += 1;
                es384._issuer.mint(es384._issuer.claims(
                    &format!("app-{n}"),
                    RESOURCE,
                    "read:products",
                ))
            },
            |token| runtime.block_on(fresh.validate(&token)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let mut hit = c.benchmark_group("cache_hit");
    for (name, s) in &setups {
        hit.bench_function(*name, |b| {
            b.iter(|| ready(s.cached.validate(black_box(&s.token))).unwrap())
        });
    }
    hit.finish();
    // Many clients, each token seen once a lap: no memo, a digest per hit.
    let rotating: Vec<String> = (0..1000)
        .map(|i| {
            let token = es384._issuer.mint(es384._issuer.claims(
                &format!("client-{i}"),
                RESOURCE,
                "read:products",
            ));
            runtime.block_on(es384.cached.validate(&token)).unwrap();
            token
        })
        .collect();
    let mut turn = 0;
    c.bench_function("cache_hit_rotating/ES384", |b| {
        b.iter(|| {
            turn = (turn + 1) % rotating.len();
            ready(es384.cached.validate(black_box(&rotating[turn]))).unwrap()
        })
    });

    let mut headers = HeaderMap::new();
    let value = format!("Bearer {}", setups[1].1.token);
    headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
    c.bench_function("bearer_extraction", |b| {
        b.iter(|| {
            scopegate::token::bearer_token(black_box(&headers))
                .unwrap()
                .len()
        })
    });
}

/// The verified-token cache's key: the full token, or a digest of it.
fn cache_key(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime.block_on(DevIssuer::builder().start()).unwrap();
    let tokens: Vec<String> = (0..1000)
        .map(|i| issuer.mint(issuer.claims(&format!("app-{i}"), RESOURCE, "read:products")))
        .collect();
    let probe = tokens[500].as_str();

    let siphash: moka::sync::Cache<Box<str>, u64> = moka::sync::Cache::new(10_000);
    let folded: moka::sync::Cache<Box<str>, u64, foldhash::fast::RandomState> =
        moka::sync::Cache::builder()
            .max_capacity(10_000)
            .build_with_hasher(foldhash::fast::RandomState::default());
    let digested: moka::sync::Cache<[u8; 32], u64> = moka::sync::Cache::new(10_000);
    let quick: quick_cache::sync::Cache<
        [u8; 32],
        u64,
        quick_cache::UnitWeighter,
        foldhash::fast::RandomState,
    > = quick_cache::sync::Cache::with(
        10_000,
        10_000,
        quick_cache::UnitWeighter,
        foldhash::fast::RandomState::default(),
        Default::default(),
    );
    let digest = |token: &str| -> [u8; 32] {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .unwrap()
    };
    for (i, token) in tokens.iter().enumerate() {
        siphash.insert(Box::from(token.as_str()), i as u64);
        folded.insert(Box::from(token.as_str()), i as u64);
        digested.insert(digest(token), i as u64);
        quick.insert(digest(token), i as u64);
    }
    let mut group = c.benchmark_group("cache_key");
    group.bench_function("full_token_siphash", |b| {
        b.iter(|| siphash.get(black_box(probe)).unwrap())
    });
    group.bench_function("full_token_foldhash", |b| {
        b.iter(|| folded.get(black_box(probe)).unwrap())
    });
    group.bench_function("sha256_digest", |b| {
        b.iter(|| digested.get(&digest(black_box(probe))).unwrap())
    });
    group.bench_function("sha256_digest_quick_cache", |b| {
        b.iter(|| quick.get(&digest(black_box(probe))).unwrap())
    });
    group.bench_function("sha256_only", |b| b.iter(|| digest(black_box(probe))));
    group.finish();
}

criterion_group!(benches, validate, cache_key);
criterion_main!(benches);
