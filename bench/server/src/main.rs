//! The server side of `bench/load.sh`: the shopping API's `GET /products` (which needs
//! `read:products`) under one of three auth modes, on one tokio worker thread.
//!
//! * `AUTH_MODE=scopegate`: the real shopping API router with `BearerAuthLayer`;
//! * `AUTH_MODE=off`: the same handler with no auth at all (the ceiling);
//! * `AUTH_MODE=baseline`: a plain middleware calling `jsonwebtoken::decode` on every request
//!   (what a layer without a verified-token cache does), with the same scope check;
//! * `AUTH_MODE=es256`: a middleware that only verifies the ES256 signature of the request's
//!   `DPoP` header (key decoded once): one raw ES256 verification per request, the floor of any
//!   DPoP check.
//!
//! With `PROOF_COUNT=N` it also writes `dpop_token.txt` (a token bound to a proof key by
//! `cnf.jkt`), `dpop_twin.txt` (the same claims without `cnf`, for the `Bearer` scheme) and
//! `proofs.txt` (N proofs for `GET http://<addr>/products`, each with its own `jti`, issued at
//! start), for `WORKLOADS=dpop bench/load.sh`.
//!
//! At start it runs a dev issuer, writes `same.txt` (one token), `distinct.txt` (`TOKEN_COUNT`
//! tokens, default 10,000) and `invalid.txt` (one token with a broken signature) to
//! `TOKENS_DIR`, then `ready` with its address. `GET /bench/stats` reports the JWKS fetches,
//! the signature checks scopegate performed and the tokens in its verified-token cache. `CACHE_CAPACITY` overrides the verified-token
//! cache's capacity (0: off) and `REFRESH_INTERVAL_S` the key set's refresh interval (default
//! 60 s, the library's floor for Logto's `max-age=0`) in scopegate mode.
//!
//! It also writes `issuer.txt` (the issuer URL, then its JWKS URI) and `refused.txt`: lines of
//! `STATUS LABEL TOKEN`, tokens that a server checking what scopegate checks refuses (wrong
//! scope 403; wrong audience, wrong issuer, expired, an ID token's `typ` 401). With
//! `BENCH_ISSUER` and `BENCH_JWKS_URI` set it runs no issuer and writes no tokens: it validates
//! those another bench-server minted (`bench/peers.sh` runs one as the issuer of every server it
//! measures, so that none of them carries an issuer in its memory); `AUTH_MODE` is then
//! `scopegate` or `off`.
//!
//! It uses only API that scopegate had before issue 12, so `bench/load.sh` can compare a server
//! built from an older checkout with this one (`BEFORE_BIN`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The integration tests' hand-made proofs, shared by path.
#[allow(unreachable_pub, dead_code)]
#[path = "../../../tests/support/dpop.rs"]
mod proofs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use scopegate::{AuthConfig, BearerAuthLayer, CacheConfig, JwksPolicy, Validator};
use scopegate_dev::DevIssuer;
use serde_json::{Value, json};
use shopping_api::{Store, router, unprotected_router};

const RESOURCE: &str = "https://shopping.api";

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Counts `scopegate_signature_checks_total`; every other metric is dropped.
#[derive(Debug, Default)]
struct SignatureChecks(Arc<AtomicU64>);

impl metrics::Recorder for SignatureChecks {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if key.name() == "scopegate_signature_checks_total" {
            metrics::Counter::from_arc(Arc::clone(&self.0))
        } else {
            metrics::Counter::noop()
        }
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn main() {
    let checks = SignatureChecks::default();
    let counted = Arc::clone(&checks.0);
    metrics::set_global_recorder(checks).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(serve(counted));
}

async fn serve(signature_checks: Arc<AtomicU64>) {
    let mode = env("AUTH_MODE", "scopegate");
    let bind: SocketAddr = env("BIND", "127.0.0.1:0").parse().unwrap();
    let dir = PathBuf::from(env("TOKENS_DIR", "target/bench-tokens"));
    let count: usize = env("TOKEN_COUNT", "10000").parse().unwrap();
    std::fs::create_dir_all(&dir).unwrap();

    let (issuer, issuer_url, jwks_uri) = match (
        std::env::var("BENCH_ISSUER"),
        std::env::var("BENCH_JWKS_URI"),
    ) {
        (Ok(issuer_url), Ok(jwks_uri)) => (None, issuer_url, jwks_uri),
        _ => {
            let issuer = Arc::new(DevIssuer::builder().start().await.unwrap());
            write_tokens(&issuer, &dir, count);
            let (issuer_url, jwks_uri) = (issuer.issuer().to_owned(), issuer.jwks_uri());
            (Some(issuer), issuer_url, jwks_uri)
        }
    };
    let own_issuer = || {
        issuer.as_ref().expect(
            "this AUTH_MODE and PROOF_COUNT need the bench server's own issuer: unset BENCH_ISSUER",
        )
    };
    let proof_key = proofs::ProofKey::generate();

    let store = Store::seeded();
    let mut cached = None;
    let app = match mode.as_str() {
        "scopegate" => {
            let mut policy = JwksPolicy::default();
            let refresh: u64 = env("REFRESH_INTERVAL_S", "60").parse().unwrap();
            policy.min_refresh_interval = Duration::from_secs(refresh);
            let config = AuthConfig::builder(&issuer_url, RESOURCE)
                .jwks_uri(jwks_uri)
                .jwks_policy(policy)
                .build()
                .unwrap();
            let mut cache = CacheConfig::default();
            if let Ok(capacity) = std::env::var("CACHE_CAPACITY") {
                cache.capacity = capacity.parse().unwrap();
            }
            let validator = Validator::builder()
                .issuer(config)
                .cache(cache)
                .build()
                .unwrap();
            validator.warm_up().await.unwrap();
            cached = Some(validator.clone());
            router(BearerAuthLayer::new(validator), store)
        }
        // The same router without auth: the ceiling.
        "off" => unprotected_router(store),
        "baseline" => {
            let baseline = Arc::new(Baseline::new(own_issuer()));
            unprotected_router(store).route_layer(middleware::from_fn_with_state(
                baseline,
                verify_every_request,
            ))
        }
        "es256" => {
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(proof_key.public_jwk()).unwrap();
            let key = Arc::new(DecodingKey::from_jwk(&jwk).unwrap());
            unprotected_router(store)
                .route_layer(middleware::from_fn_with_state(key, verify_proof_signature))
        }
        other => panic!("AUTH_MODE must be scopegate, off, baseline or es256, not {other:?}"),
    };
    // With another process's issuer, that process counts the key-set fetches (null here).
    let stats_issuer = issuer.clone();
    let app = app.route(
        "/bench/stats",
        get(move || async move {
            axum::Json(json!({
                "jwks_requests": stats_issuer.as_ref().map(|issuer| issuer.jwks_requests()),
                "signature_checks": signature_checks.load(Ordering::Relaxed),
                "cached_tokens": cached.as_ref().map_or(0, Validator::cached_tokens),
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proof_count: usize = env("PROOF_COUNT", "0").parse().unwrap();
    if proof_count > 0 {
        write_proofs(own_issuer(), &proof_key, &dir, addr, proof_count);
    }
    std::fs::write(dir.join("ready"), addr.to_string()).unwrap();
    axum::serve(listener, app).await.unwrap();
}

fn write_tokens(issuer: &DevIssuer, dir: &std::path::Path, count: usize) {
    let mint =
        |i: usize| issuer.mint(issuer.claims(&format!("bench-app-{i}"), RESOURCE, "read:products"));
    let same = mint(0);
    let distinct: Vec<String> = (1..=count).map(mint).collect();
    // A well-formed token whose signature is another token's: fails exactly at the signature.
    let (signing_input, _) = same.rsplit_once('.').unwrap();
    let (_, other_signature) = distinct[0].rsplit_once('.').unwrap();
    let invalid = format!("{signing_input}.{other_signature}");
    std::fs::write(dir.join("same.txt"), format!("{same}\n")).unwrap();
    std::fs::write(dir.join("distinct.txt"), distinct.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("invalid.txt"), format!("{invalid}\n")).unwrap();
    let jwks_uri = issuer.jwks_uri();
    std::fs::write(
        dir.join("issuer.txt"),
        format!("{}\n{jwks_uri}\n", issuer.issuer()),
    )
    .unwrap();
    std::fs::write(dir.join("refused.txt"), refused(issuer)).unwrap();
}

/// Tokens that a server checking what scopegate checks refuses: lines of `STATUS LABEL TOKEN`.
fn refused(issuer: &DevIssuer) -> String {
    let claims = |audience: &str, scope: &str| issuer.claims("bench-refused", audience, scope);
    let mut wrong_issuer = claims(RESOURCE, "read:products");
    wrong_issuer["iss"] = json!(format!("{}-other", issuer.issuer()));
    // Expired 10 minutes ago, past any leeway (scopegate's is at most 5 minutes).
    let mut expired = claims(RESOURCE, "read:products");
    let now = expired["iat"].as_i64().unwrap();
    expired["iat"] = json!(now - 4200);
    expired["exp"] = json!(now - 600);
    let mut id_token = issuer.header();
    id_token["typ"] = json!("id+jwt");
    let refused = [
        (
            "403 wrong-scope",
            issuer.mint(claims(RESOURCE, "read:orders")),
        ),
        (
            "401 wrong-audience",
            issuer.mint(claims("https://other.api", "read:products")),
        ),
        ("401 wrong-issuer", issuer.mint(wrong_issuer)),
        ("401 expired", issuer.mint(expired)),
        // RFC 9068 §4: an ID token is no access token, whatever its claims say.
        (
            "401 id-token",
            issuer.mint_with_header(id_token, claims(RESOURCE, "read:products")),
        ),
    ];
    refused
        .iter()
        .map(|(what, token)| format!("{what} {token}\n"))
        .collect()
}

/// A DPoP-bound token, its unbound twin, and `count` proofs for `GET /products` at `addr`.
fn write_proofs(
    issuer: &DevIssuer,
    key: &proofs::ProofKey,
    dir: &std::path::Path,
    addr: SocketAddr,
    count: usize,
) {
    let twin = issuer.claims("bench-dpop", RESOURCE, "read:products");
    let mut bound = twin.clone();
    bound["cnf"] = json!({ "jkt": key.thumbprint() });
    let (bound, twin) = (issuer.mint(bound), issuer.mint(twin));
    let htu = format!("http://{addr}/products");
    let mut out = String::with_capacity(count * 700);
    for _ in 0..count {
        out.push_str(&key.proof("GET", &htu, Some(&bound)));
        out.push('\n');
    }
    std::fs::write(dir.join("dpop_token.txt"), format!("{bound}\n")).unwrap();
    std::fs::write(dir.join("dpop_twin.txt"), format!("{twin}\n")).unwrap();
    std::fs::write(dir.join("proofs.txt"), out).unwrap();
}

/// One raw ES256 verification per request: the `DPoP` header's signature, nothing else.
async fn verify_proof_signature(
    State(key): State<Arc<DecodingKey>>,
    request: Request,
    next: Next,
) -> Response {
    let verified = request
        .headers()
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .and_then(|proof| proof.rsplit_once('.'))
        .is_some_and(|(input, signature)| {
            jsonwebtoken::crypto::verify(signature, input.as_bytes(), &key, Algorithm::ES256)
                .unwrap_or(false)
        });
    if verified {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// The verify-every-request baseline: what `jsonwebtoken` alone gives.
struct Baseline {
    key: DecodingKey,
    validation: Validation,
}

impl Baseline {
    fn new(issuer: &DevIssuer) -> Baseline {
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(issuer.public_jwk()).unwrap();
        let mut validation = Validation::new(Algorithm::ES384);
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_audience(&[RESOURCE]);
        validation.leeway = 60;
        Baseline {
            key: DecodingKey::from_jwk(&jwk).unwrap(),
            validation,
        }
    }
}

async fn verify_every_request(
    State(baseline): State<Arc<Baseline>>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<Value>(token, &baseline.key, &baseline.validation) {
        Ok(data) => {
            let scope = data
                .claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("");
            if scope.split(' ').any(|s| s == "read:products") {
                next.run(request).await
            } else {
                StatusCode::FORBIDDEN.into_response()
            }
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}
