//! The token source when the token endpoint is slow, hangs or fails (issue 24, items 1, 2 and 6):
//! callers with deadlines, refreshes in the background, lifetime bounds. Time is a
//! `TestClock`; a slow endpoint is one that holds its answer until the test releases it.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use scopegate_m2m::config::{MAX_LIFETIME, MIN_LIFETIME};
use scopegate_m2m::{ClientCredentials, TestClock, TokenError};
use serde_json::json;
use support::TestServer;

fn source(server: &TestServer, clock: &TestClock) -> scopegate_m2m::ClientCredentialsBuilder {
    ClientCredentials::builder(server.token_url(), "client-1", "secret-1").clock(clock.clone())
}

/// A safety net so that no test can hang; not a timing assertion.
async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test took far too long")
}

#[tokio::test]
async fn the_shared_request_outlives_callers_that_give_up() {
    let server = TestServer::start().await;
    server.hold();
    let source = source(&server, &TestClock::new()).build().unwrap();

    // The first caller starts the request, then its own deadline cancels it...
    let first = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    server.token_requests_reach(1).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    // ...and so do the next ones, while the endpoint is still slow.
    for _ in 0..5 {
        let impatient = tokio::spawn({
            let source = source.clone();
            async move { source.token().await }
        });
        tokio::task::yield_now().await;
        impatient.abort();
        let _ = impatient.await;
    }
    // A caller whose deadline is longer than the round trip gets the one request's token.
    let patient = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    server.release();
    let token = bounded(patient).await.unwrap().unwrap();
    assert_eq!(server.token_requests(), 1);
    assert_eq!(source.token().await.unwrap().secret(), token.secret());
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn callers_never_wait_while_the_token_is_valid() {
    let server = TestServer::start().await;
    let clock = TestClock::new();
    let source = source(&server, &clock).build().unwrap();
    let first = source.token().await.unwrap();
    assert_eq!(
        first.refresh_at(),
        first.expires_at() - Duration::from_secs(60)
    );

    // Due for refresh, 30 s left, and the token endpoint hangs.
    server.hold();
    clock.advance(first.refresh_at() - first.issued_at() + Duration::from_secs(30));
    assert!(!first.is_expired());
    for _ in 0..10 {
        // Each call returns while the refresh is still held: nobody waits for it.
        let token = bounded(source.token()).await.unwrap();
        assert_eq!(token.secret(), first.secret());
    }
    server.token_requests_reach(2).await;
    // Time passes, the refresh still hangs: still no caller waits, and no second refresh.
    for _ in 0..10 {
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            bounded(source.token()).await.unwrap().secret(),
            first.secret()
        );
    }
    assert_eq!(server.token_requests(), 2);

    // Once the old token has expired, callers wait for the refresh in flight.
    clock.advance(first.expires_in());
    assert!(first.is_expired());
    let waiting = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    server.release();
    let second = bounded(waiting).await.unwrap().unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_serving_the_valid_token_and_backs_off() {
    let server = TestServer::start().await;
    let clock = TestClock::new();
    let source = source(&server, &clock).build().unwrap();
    let first = source.token().await.unwrap();
    server.set(|b| b.error = Some((StatusCode::SERVICE_UNAVAILABLE, json!({}))));
    clock.advance(first.refresh_at() - first.issued_at());

    server.hold();
    assert_eq!(source.token().await.unwrap().secret(), first.secret());
    server.token_requests_reach(2).await;
    // A forced refresh joins the request in flight instead of starting another.
    let forced = tokio::spawn({
        let source = source.clone();
        async move { source.force_refresh().await }
    });
    server.release();
    let during_outage = bounded(forced).await.unwrap().unwrap_err();
    assert_eq!(
        during_outage,
        TokenError::Status {
            status: StatusCode::SERVICE_UNAVAILABLE
        }
    );
    assert_eq!(server.token_requests(), 2);
    // force_refresh dropped the cached token: with none valid and the error backoff running,
    // the failure is repeated without a request...
    assert_eq!(source.token().await.unwrap_err(), during_outage);
    assert_eq!(server.token_requests(), 2);
    // ...until the backoff is over.
    clock.advance(Duration::from_secs(1));
    server.set(|b| b.error = None);
    let recovered = bounded(source.token()).await.unwrap();
    assert_ne!(recovered.secret(), first.secret());
    assert_eq!(server.token_requests(), 3);
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let server = TestServer::start().await;
    let clock = TestClock::new();
    let source = source(&server, &clock)
        .refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    assert_eq!(first.refresh_at(), first.expires_at());
    clock.advance(first.lifetime() - Duration::from_millis(1));
    assert_eq!(source.token().await.unwrap().secret(), first.secret());
    assert_eq!(server.token_requests(), 1);
    clock.advance(Duration::from_millis(1));
    let second = source.token().await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn expires_in_zero_still_caches() {
    let server = TestServer::start().await;
    server.set(|b| b.expires_in = Some(json!(0)));
    let source = source(&server, &TestClock::new()).build().unwrap();
    let first = source.token().await.unwrap();
    for _ in 0..50 {
        assert_eq!(source.token().await.unwrap().secret(), first.secret());
    }
    assert_eq!(server.token_requests(), 1);
    assert_eq!(first.lifetime(), MIN_LIFETIME);
    assert!(first.lifetime_from_server());
}

#[tokio::test]
async fn a_huge_assumed_lifetime_is_capped_not_overflowed() {
    let server = TestServer::start().await;
    server.set(|b| b.expires_in = None);
    let clock = TestClock::new();
    let source = source(&server, &clock)
        .assumed_lifetime(Duration::MAX)
        .build()
        .unwrap();
    let first = source.token().await.unwrap();
    assert!(!first.is_expired());
    assert_eq!(first.lifetime(), MAX_LIFETIME);
    clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert_eq!(source.token().await.unwrap().secret(), first.secret());
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn the_margin_of_a_short_token_is_capped() {
    let server = TestServer::start().await;
    server.set(|b| b.expires_in = Some(json!(20)));
    // The default margin (60 s) is longer than the lifetime: capped at half of it.
    let source = source(&server, &TestClock::new()).build().unwrap();
    let token = source.token().await.unwrap();
    assert_eq!(
        token.refresh_at() - token.issued_at(),
        Duration::from_secs(10)
    );
    source.token().await.unwrap();
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_runtime_died_is_replaced() {
    let server = TestServer::start().await;
    server.hold();
    let source = source(&server, &TestClock::new()).build().unwrap();
    // A short-lived runtime (a startup block, a test) starts the request and goes away.
    let thread = std::thread::spawn({
        let (server, source) = (server.clone(), source.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                tokio::spawn(async move { source.token().await });
                server.token_requests_reach(1).await;
            });
        }
    });
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    server.release();
    let token = bounded(source.token()).await.unwrap();
    assert!(!token.is_expired());
    assert_eq!(server.token_requests(), 2);
}
