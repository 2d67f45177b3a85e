//! `BearerTokenLayer` around a real hyper client, against the test API over 127.0.0.1.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use scopegate_m2m::{
    BearerError, BearerTokenLayer, BearerTokenService, ClientCredentials, NoRetry, TokenError,
};
use serde_json::json;
use support::TestServer;
use tower::{Layer, ServiceExt};

type HyperClient = Client<HttpConnector, Full<Bytes>>;

fn client(server: &TestServer) -> BearerTokenService<HyperClient> {
    let source = ClientCredentials::builder(server.token_url(), "client-1", "secret-1")
        .resource("https://api.example.com")
        .build()
        .unwrap();
    let hyper = Client::builder(TokioExecutor::new()).build_http();
    BearerTokenLayer::new(source).layer(hyper)
}

fn get(server: &TestServer) -> http::Request<Full<Bytes>> {
    http::Request::get(server.api_url())
        .body(Full::default())
        .unwrap()
}

/// A safety net so that no test can hang; not a timing assertion.
async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test took far too long")
}

#[tokio::test]
async fn adds_the_token_and_reuses_it() {
    let server = TestServer::start().await;
    let client = client(&server);
    for _ in 0..3 {
        let response = client.clone().oneshot(get(&server)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
    }
    assert_eq!((server.token_requests(), server.api_requests()), (1, 3));
}

#[tokio::test]
async fn replaces_an_existing_authorization_header() {
    let server = TestServer::start().await;
    let mut request = get(&server);
    request.headers_mut().insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Bearer stale"),
    );
    let response = client(&server).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn retries_once_with_a_new_token_after_401() {
    let server = TestServer::start().await;
    let client = client(&server);
    client.clone().oneshot(get(&server)).await.unwrap();
    server.revoke_all();

    let post = http::Request::post(server.api_url())
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    let response = client.clone().oneshot(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // One refresh, and the API saw the rejected request plus its one replay.
    assert_eq!((server.token_requests(), server.api_requests()), (2, 3));
}

#[tokio::test]
async fn does_not_retry_more_than_once() {
    let server = TestServer::start().await;
    server.set(|b| b.api_rejects_all = true);
    let error = client(&server).oneshot(get(&server)).await.unwrap_err();
    assert!(matches!(error, BearerError::Rejected(_)), "{error:?}");
    assert_eq!((server.token_requests(), server.api_requests()), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rejected_requests_cause_one_refresh() {
    let server = TestServer::start().await;
    let client = client(&server);
    client.clone().oneshot(get(&server)).await.unwrap();
    server.revoke_all();

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = client.clone();
        let request = get(&server);
        tasks.spawn(async move { client.oneshot(request).await.map(|r| r.status()) });
    }
    let statuses = bounded(tasks.join_all()).await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(StatusCode::OK))));
    assert_eq!(server.token_requests(), 2);
    // Each request is sent once or twice (a task that starts after the refresh never sees 401).
    assert!((1 + 20..=1 + 20 + 20).contains(&server.api_requests()));
}

#[tokio::test]
async fn without_retry_a_401_is_returned() {
    let server = TestServer::start().await;
    let source = ClientCredentials::builder(server.token_url(), "client-1", "secret-1")
        .build()
        .unwrap();
    let hyper: HyperClient = Client::builder(TokioExecutor::new()).build_http();
    let client: BearerTokenService<HyperClient, NoRetry> = BearerTokenLayer::new(source.clone())
        .without_retry()
        .layer(hyper);
    let ok = client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    server.revoke_all();
    let rejected = client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!((server.token_requests(), server.api_requests()), (1, 2));

    // The caller may invalidate and try again by itself.
    source.invalidate(&source.cached_token().unwrap());
    let again = client.oneshot(get(&server)).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn token_errors_are_returned_and_the_api_is_not_called() {
    let server = TestServer::start().await;
    server.set(|b| {
        b.error = Some((
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_target", "error_description": "unknown resource"}),
        ))
    });
    let error = client(&server).oneshot(get(&server)).await.unwrap_err();
    match error {
        BearerError::Token(TokenError::OAuth { error, .. }) => {
            assert_eq!(error, scopegate_m2m::OAuthErrorCode::InvalidTarget)
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.api_requests(), 0);
}
