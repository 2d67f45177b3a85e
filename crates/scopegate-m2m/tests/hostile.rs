//! The token source against hostile or misconfigured peers (issue 24, items 3–5; issue 12,
//! item 1): an API that rejects every token, destinations that must not get the token, a token
//! endpoint that redirects, and secrets echoed back.

mod support;

use std::net::SocketAddr;

use axum::http::StatusCode;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scopegate_m2m::config::DEFAULT_REJECTION_BACKOFF;
use scopegate_m2m::{
    BearerError, BearerTokenLayer, ClientCredentials, DestinationError, TestClock, TokenError,
};
use serde_json::json;
use support::TestServer;
use tower::{Layer, ServiceExt};

const SECRET: &str = "s3cret-value-0123456789";

fn source(server: &TestServer, clock: &TestClock) -> scopegate_m2m::ClientCredentialsBuilder {
    ClientCredentials::builder(server.token_url(), "client-1", SECRET).clock(clock.clone())
}

fn addr(server: &TestServer) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

#[tokio::test]
async fn an_api_that_rejects_every_token_costs_two_token_requests() {
    let server = TestServer::start().await;
    server.set(|b| b.api_rejects_all = true);
    let clock = TestClock::new();
    let source = source(&server, &clock).build().unwrap();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        match source.send(http.get(server.api_url())).await {
            Err(BearerError::Rejected(rejection)) => {
                assert_eq!(rejection.status, StatusCode::UNAUTHORIZED);
                assert!(rejection.retry_in <= DEFAULT_REJECTION_BACKOFF);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    // The first token, its one replacement; then the source stops fetching.
    assert_eq!(server.token_requests(), 2);
    assert_eq!(server.api_requests(), 101);

    // After the backoff, one more token is tried; rejected too, the pause doubles.
    clock.advance(DEFAULT_REJECTION_BACKOFF);
    let error = source.send(http.get(server.api_url())).await.unwrap_err();
    match &error {
        BearerError::Rejected(rejection) => {
            assert_eq!(rejection.retry_in, DEFAULT_REJECTION_BACKOFF * 2)
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("rejected a freshly issued access token too")
    );
    assert_eq!(server.token_requests(), 3);

    // The API is fixed: the current token works at once, and a later rejection of a token that
    // worked is handled as a plain refresh.
    server.set(|b| b.api_rejects_all = false);
    let ok = source.send(http.get(server.api_url())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    server.revoke_all();
    let ok = source.send(http.get(server.api_url())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(server.token_requests(), 4);
}

#[tokio::test]
async fn the_layer_backs_off_too() {
    let server = TestServer::start().await;
    server.set(|b| b.api_rejects_all = true);
    let source = source(&server, &TestClock::new()).build().unwrap();
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let client = BearerTokenLayer::new(source).layer(hyper);
    for _ in 0..100 {
        let request = http::Request::get(server.api_url())
            .body(Full::default())
            .unwrap();
        let error = client.clone().oneshot(request).await.unwrap_err();
        assert!(matches!(error, BearerError::Rejected(_)), "{error:?}");
    }
    assert_eq!(server.token_requests(), 2);
}

/// A reqwest client for which `attacker.example` is the collector on loopback.
fn resolving(name: &str, to: &TestServer) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(name, addr(to))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_token_never_travels_in_clear_text_to_other_hosts() {
    let issuer = TestServer::start().await;
    let collector = TestServer::start().await;
    let port = addr(&collector).port();
    let source = source(&issuer, &TestClock::new()).build().unwrap();
    let http = resolving("attacker.example", &collector);
    let collect = format!("http://attacker.example:{port}/collect");
    let expected = DestinationError::InsecureHttp {
        origin: format!("http://attacker.example:{port}"),
    };

    let error = source.send(http.get(&collect)).await.unwrap_err();
    assert!(
        matches!(&error, BearerError::Destination(e) if *e == expected),
        "{error:?}"
    );
    let error = source.authorize(http.post(&collect)).await.unwrap_err();
    assert!(
        matches!(&error, BearerError::Destination(e) if *e == expected),
        "{error:?}"
    );
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let layered = BearerTokenLayer::new(source.clone()).layer(hyper);
    let request = http::Request::get(&collect).body(Full::default()).unwrap();
    let error = layered.clone().oneshot(request).await.unwrap_err();
    assert!(
        matches!(&error, BearerError::Destination(e) if *e == expected),
        "{error:?}"
    );
    let relative = http::Request::get("/collect")
        .body(Full::default())
        .unwrap();
    let error = layered.oneshot(relative).await.unwrap_err();
    assert!(matches!(
        error,
        BearerError::Destination(DestinationError::NotAbsolute)
    ));
    // Nothing was sent, and no token was even fetched.
    assert_eq!(collector.api_requests(), 0);
    assert_eq!(issuer.token_requests(), 0);

    // Listing the origin is the explicit opt-in...
    let allowed = self::source(&issuer, &TestClock::new())
        .api_origin(format!("http://attacker.example:{port}"))
        .build()
        .unwrap();
    let request = allowed.authorize(http.get(&collect)).await.unwrap();
    request.send().await.unwrap();
    let token = allowed.cached_token().unwrap();
    assert_eq!(
        collector.api_authorizations(),
        [format!("Bearer {}", token.secret())]
    );
    // ...and an allow-list refuses everything else, loopback included.
    let error = allowed.send(http.get(issuer.api_url())).await.unwrap_err();
    assert!(
        matches!(
            error,
            BearerError::Destination(DestinationError::NotAllowed { .. })
        ),
        "{error:?}"
    );
    // The blanket opt-in, for closed test networks.
    let open = self::source(&issuer, &TestClock::new())
        .allow_insecure_http()
        .build()
        .unwrap();
    let request = open.authorize(http.get(&collect)).await.unwrap();
    request.send().await.unwrap();
    assert_eq!(collector.api_authorizations().len(), 2);
}

#[tokio::test]
async fn the_token_request_never_follows_a_redirect_to_another_origin() {
    let issuer = TestServer::start().await;
    let evil = TestServer::start().await;
    let port = addr(&evil).port();
    issuer.set(|b| {
        b.redirect = Some((
            StatusCode::TEMPORARY_REDIRECT,
            format!("http://evil.test:{port}/oidc/token"),
        ))
    });

    // The client we build follows no redirect: the form never reaches the other origin.
    let own = source(&issuer, &TestClock::new()).build().unwrap();
    assert_eq!(
        own.token().await.unwrap_err(),
        TokenError::Status {
            status: StatusCode::TEMPORARY_REDIRECT
        }
    );
    assert_eq!(evil.token_requests(), 0);

    // A user-supplied client that follows redirects: the answer from the other origin is
    // refused, and its token is never used.
    let theirs = source(&issuer, &TestClock::new())
        .http_client(resolving("evil.test", &evil))
        .build()
        .unwrap();
    assert_eq!(
        theirs.token().await.unwrap_err(),
        TokenError::Redirected {
            origin: format!("http://evil.test:{port}")
        }
    );
    assert!(theirs.cached_token().is_none());
}

#[tokio::test]
async fn every_form_of_the_secret_is_scrubbed_from_server_texts() {
    let server = TestServer::start().await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("client-1:{SECRET}"));
    // The secret straddles the 512-character cut; the Basic header value is echoed too.
    let description = format!("{}{SECRET} (you sent Basic {basic})", "x".repeat(500));
    server.set(|b| {
        b.error = Some((
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_client", "error_description": description}),
        ))
    });
    let error = source(&server, &TestClock::new())
        .build()
        .unwrap()
        .token()
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains(&SECRET[..6]), "{text}");
    assert!(!text.contains(&basic[..12]), "{text}");
    let TokenError::OAuth {
        error_description: Some(description),
        ..
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(description.chars().count(), 512);
    assert!(description.contains("<redacted>"), "{description}");
}
