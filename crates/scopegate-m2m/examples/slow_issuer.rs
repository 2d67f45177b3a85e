//! Measures the token source against a slow token endpoint and an API that rejects every token
//! (issue 24, items 1–3), in real time over 127.0.0.1. It uses only the public API that existed
//! before the fix too, so the same file runs against both versions:
//!
//! ```sh
//! cargo run -p scopegate-m2m --example slow_issuer
//! ```
//!
//! Prints figures; asserts nothing (timings are measured, never asserted).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scopegate_m2m::ClientCredentials;
use serde_json::json;

#[derive(Default)]
struct Endpoint {
    latency_ms: AtomicU64,
    expires_in: AtomicU64,
    token_requests: AtomicU64,
}

async fn token(State(endpoint): State<Arc<Endpoint>>) -> Response {
    let n = endpoint.token_requests.fetch_add(1, Ordering::SeqCst);
    let latency = Duration::from_millis(endpoint.latency_ms.load(Ordering::SeqCst));
    tokio::time::sleep(latency).await;
    Json(json!({
        "access_token": format!("token-{n}"),
        "token_type": "Bearer",
        "expires_in": endpoint.expires_in.load(Ordering::SeqCst),
    }))
    .into_response()
}

async fn reject() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Bearer error=\"invalid_token\"")],
    )
        .into_response()
}

async fn serve(latency_ms: u64, expires_in: u64) -> (SocketAddr, Arc<Endpoint>) {
    let endpoint = Arc::new(Endpoint::default());
    endpoint.latency_ms.store(latency_ms, Ordering::SeqCst);
    endpoint.expires_in.store(expires_in, Ordering::SeqCst);
    let app = Router::new()
        .route("/oidc/token", post(token))
        .route("/api", get(reject))
        .with_state(Arc::clone(&endpoint));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, endpoint)
}

fn source(addr: SocketAddr) -> scopegate_m2m::ClientCredentialsBuilder {
    ClientCredentials::builder(format!("http://{addr}/oidc/token"), "client", "secret")
}

/// Item 1: an endpoint answering in 600 ms; a caller every 100 ms for 3 s, each giving up after
/// `deadline`.
async fn deadlines(deadline: Duration) {
    let (addr, endpoint) = serve(600, 3600).await;
    let source = source(addr).build().unwrap();
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..30 {
        let source = source.clone();
        callers.push(tokio::spawn(async move {
            tokio::time::timeout(deadline, source.token())
                .await
                .is_ok_and(|t| t.is_ok())
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut served = 0;
    for caller in callers {
        served += u32::from(caller.await.unwrap());
    }
    println!(
        "item 1: 600 ms endpoint, 30 callers every 100 ms with a {} ms deadline: {served}/30 served, {} token requests, {:.1} s",
        deadline.as_millis(),
        endpoint.token_requests.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
}

/// Item 2: a 10 s token refreshed 3 s before expiry; 2 s before expiry the endpoint takes
/// `latency_ms` to answer (or hangs past `timeout`) and 10 callers ask at once.
async fn early_refresh(latency_ms: u64, timeout: Duration, label: &str) {
    let (addr, endpoint) = serve(0, 10).await;
    let source = source(addr)
        .refresh_margin(Duration::from_secs(3))
        .timeout(timeout)
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    tokio::time::sleep_until((first.expires_at() - Duration::from_secs(2)).into()).await;
    endpoint.latency_ms.store(latency_ms, Ordering::SeqCst);
    let mut callers = Vec::new();
    for _ in 0..10 {
        let source = source.clone();
        callers.push(tokio::spawn(async move {
            let asked = Instant::now();
            let token = source.token().await;
            (asked.elapsed(), token.is_ok())
        }));
    }
    let mut waits = Vec::new();
    let mut served = 0;
    for caller in callers {
        let (waited, ok) = caller.await.unwrap();
        served += u32::from(ok);
        waits.push(waited);
    }
    let max = waits.iter().max().unwrap();
    let mean = waits.iter().sum::<Duration>() / waits.len() as u32;
    println!(
        "item 2 ({label}): 10 callers with 2 s of token left: {served}/10 served, mean wait {:.4} s, max {:.4} s",
        mean.as_secs_f64(),
        max.as_secs_f64()
    );
}

/// Item 3: 100 requests through `send` to an API that answers 401 to every token.
async fn always_401() {
    let (addr, endpoint) = serve(0, 3600).await;
    let source = source(addr).build().unwrap();
    let http = reqwest::Client::new();
    let mut ok = 0;
    for _ in 0..100 {
        ok += u32::from(
            source
                .send(http.get(format!("http://{addr}/api")))
                .await
                .is_ok(),
        );
    }
    println!(
        "item 3: 100 requests to an always-401 API: {} token requests ({ok} answered Ok(401), {} typed errors)",
        endpoint.token_requests.load(Ordering::SeqCst),
        100 - ok
    );
}

#[tokio::main]
async fn main() {
    deadlines(Duration::from_millis(350)).await;
    deadlines(Duration::from_millis(700)).await;
    early_refresh(1500, Duration::from_secs(10), "endpoint answers in 1.5 s").await;
    early_refresh(
        60_000,
        Duration::from_secs(1),
        "endpoint hangs, 1 s timeout",
    )
    .await;
    always_401().await;
}
