//! `cargo bench -p scopegate-bench-micro --bench layer`
//!
//! What the layer's cache-hit path costs per request, and what the check added for nested
//! layers (is the request already verified by an outer layer?) costs within it:
//!
//! * `layer/cache_hit`: `BearerAuthService::call` with a token already verified, through to a
//!   trivial inner service, on a request carrying one unrelated extension as axum's do;
//! * `layer/context_lookup`: the added `extensions().get::<Arc<AuthContext>>()` alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use scopegate::{AuthConfig, AuthContext, BearerAuthLayer, KeySet, Validator};
use scopegate_dev::DevIssuer;
use tower::{Layer as _, Service as _, service_fn};

mod support;
use support::ready;

const RESOURCE: &str = "https://shopping.api";

/// Stands for an extension axum puts on every request (its matched path, its state).
#[derive(Clone)]
struct RouteMark(#[allow(dead_code)] u32);

fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime.block_on(DevIssuer::builder().start()).unwrap();
    let keys = KeySet::from_jwks(&issuer.jwks(), 100).unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .jwks_static(keys)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let token = issuer.mint(issuer.claims("bench-app", RESOURCE, "read:products"));
    runtime.block_on(validator.validate(&token)).unwrap();
    let request = || {
        let mut request = Request::get("/products")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap();
        request.extensions_mut().insert(RouteMark(1));
        request
    };
    let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    let mut service = BearerAuthLayer::new(validator).layer(inner);
    let mut group = c.benchmark_group("layer");
    group.bench_function("cache_hit", |b| {
        b.iter_batched(
            request,
            |request| {
                let response = ready(service.call(request)).unwrap();
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        )
    });
    let sample = request();
    group.bench_function("context_lookup", |b| {
        b.iter(|| {
            black_box(&sample)
                .extensions()
                .get::<Arc<AuthContext>>()
                .is_some()
        })
    });
    group.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
