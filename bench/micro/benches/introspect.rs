//! `cargo bench -p scopegate-bench-micro --bench introspect`
//!
//! * `cache_hit_kind/jwt_ES384`: a JWT answered from the verified-token cache;
//! * `cache_hit_kind/opaque`: an opaque token answered from the introspection cache.
//!
//! Both on one validator that introspects opaque tokens (so the JWT pays the routing by shape
//! too), in the same run: the ratio is the figure. The introspection of the opaque token (one
//! call to the dev issuer over loopback) happens before the measurement.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scopegate::introspect::IntrospectionConfig;
use scopegate::{AuthConfig, KeySet, Validator};
use scopegate_dev::{DevClient, DevIssuer};

mod support;
use support::ready;

const RESOURCE: &str = "https://shopping.api";

fn cache_hit_kind(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime
        .block_on(
            DevIssuer::builder()
                .client(DevClient::new("api", "api-secret", RESOURCE, [""; 0]))
                .start(),
        )
        .unwrap();
    let keys = KeySet::from_jwks(&issuer.jwks(), 100).unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .jwks_static(keys)
        .introspection(
            IntrospectionConfig::new("api", "api-secret").endpoint(issuer.introspection_endpoint()),
        )
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let jwt = issuer.mint(issuer.claims("bench-app", RESOURCE, "read:products write:products"));
    let opaque = issuer.issue_opaque("bench-app", Some(RESOURCE), "read:products write:products");
    runtime.block_on(validator.validate(&jwt)).unwrap();
    runtime.block_on(validator.validate(&opaque)).unwrap();
    assert_eq!(issuer.introspection_requests(), 1);

    let mut group = c.benchmark_group("cache_hit_kind");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("jwt_ES384", |b| {
        b.iter(|| ready(validator.validate(black_box(&jwt))).unwrap())
    });
    group.bench_function("opaque", |b| {
        b.iter(|| ready(validator.validate(black_box(&opaque))).unwrap())
    });
    group.finish();
    // Every hit was a hit: no call beyond the first.
    assert_eq!(issuer.introspection_requests(), 1);
}

criterion_group!(benches, cache_hit_kind);
criterion_main!(benches);
