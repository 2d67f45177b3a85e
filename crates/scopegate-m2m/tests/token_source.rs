//! `ClientCredentials` against a real token endpoint over 127.0.0.1.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use scopegate_m2m::{BearerError, ClientAuthMethod, ClientCredentials, OAuthErrorCode, TokenError};
use serde_json::json;
use support::TestServer;

const SECRET: &str = "s3cret-value";

fn source(server: &TestServer) -> scopegate_m2m::ClientCredentialsBuilder {
    ClientCredentials::builder(server.token_url(), "client-1", SECRET)
}

/// A safety net so that no test can hang; not a timing assertion.
async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test took far too long")
}

#[tokio::test]
async fn caches_the_token() {
    let server = TestServer::start().await;
    let source = source(&server).scope("read:products").build().unwrap();
    let first = source.token().await.unwrap();
    for _ in 0..20 {
        let again = source.token().await.unwrap();
        assert_eq!(again.secret(), first.secret());
    }
    assert_eq!(server.token_requests(), 1);
    assert_eq!(first.token_type(), "Bearer");
    assert_eq!(first.scope(), "read:products");
    assert!(first.has_scope("read:products"));
    assert!(first.scope_from_server());
    assert_eq!(first.lifetime(), Duration::from_secs(3600));
    assert!(first.lifetime_from_server());
    assert_eq!(
        first.refresh_at(),
        first.expires_at() - Duration::from_secs(60)
    );
    assert!(!first.is_expired());
    assert_eq!(
        source.cached_token().map(|t| t.secret().to_owned()),
        Some(first.secret().to_owned())
    );
}

#[tokio::test]
async fn debug_output_redacts_secrets() {
    let server = TestServer::start().await;
    let source = source(&server).build().unwrap();
    let token = source.token().await.unwrap();
    let token_debug = format!("{token:?}");
    assert!(!token_debug.contains(token.secret()), "{token_debug}");
    assert!(token_debug.contains("<redacted>"));
    let source_debug = format!("{source:?}");
    assert!(!source_debug.contains(SECRET), "{source_debug}");
    assert!(!source_debug.contains(token.secret()), "{source_debug}");
    assert!(!format!("{:?}", token.authorization_header()).contains(token.secret()));
}

#[tokio::test]
async fn a_missing_expires_in_uses_the_assumed_lifetime() {
    let server = TestServer::start().await;
    server.set(|b| {
        b.expires_in = None;
        b.scope = None;
    });
    let source = source(&server)
        .scope("a b")
        .assumed_lifetime(Duration::from_secs(120))
        .build()
        .unwrap();
    let token = source.token().await.unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(120));
    assert!(!token.lifetime_from_server());
    assert_eq!(token.scopes().collect::<Vec<_>>(), ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_request() {
    let server = TestServer::start().await;
    server.hold();
    let source = source(&server).build().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let source = source.clone();
        tasks.spawn(async move { source.token().await.map(|t| t.secret().to_owned()) });
    }
    server.token_requests_reach(1).await;
    server.release();
    let secrets = bounded(tasks.join_all()).await;
    assert_eq!(secrets.len(), 50);
    let first = secrets[0].as_ref().unwrap().clone();
    assert!(secrets.iter().all(|s| s.as_deref() == Ok(first.as_str())));
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_failure_and_back_off() {
    let server = TestServer::start().await;
    server.hold();
    server.set(|b| b.error = Some((StatusCode::SERVICE_UNAVAILABLE, json!({"oops": true}))));
    let source = source(&server).build().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let source = source.clone();
        tasks.spawn(async move { source.token().await });
    }
    server.token_requests_reach(1).await;
    server.release();
    let outcomes = bounded(tasks.join_all()).await;
    let expected = TokenError::Status {
        status: StatusCode::SERVICE_UNAVAILABLE,
    };
    assert!(outcomes.iter().all(|o| o.as_ref().err() == Some(&expected)));
    assert_eq!(server.token_requests(), 1);
    assert!(expected.is_transient());

    // Within the (default 1 s) backoff, the failure is repeated without a request...
    assert_eq!(source.token().await.unwrap_err(), expected);
    assert_eq!(server.token_requests(), 1);
    // ...but an explicit refresh asks again.
    server.set(|b| b.error = None);
    source.force_refresh().await.unwrap();
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn without_backoff_every_call_asks_again() {
    let server = TestServer::start().await;
    server.set(|b| b.error = Some((StatusCode::BAD_GATEWAY, json!({}))));
    let source = source(&server)
        .error_backoff(Duration::ZERO)
        .build()
        .unwrap();
    assert!(source.token().await.is_err());
    assert!(source.token().await.is_err());
    assert_eq!(server.token_requests(), 2);
    server.set(|b| b.error = None);
    assert!(source.token().await.is_ok());
}

#[tokio::test]
async fn basic_auth_form_encodes_id_and_secret() {
    let server = TestServer::start().await;
    let id = "my client:1/ü";
    let secret = "p@ss w:rd+%&=é~";
    server.set(|b| b.expected_client = Some((id.into(), secret.into())));
    let source = ClientCredentials::builder(server.token_url(), id, secret)
        .build()
        .unwrap();
    source.token().await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.basic, Some((id.to_owned(), secret.to_owned())));
    // Exactly RFC 6749 §2.3.1: application/x-www-form-urlencoded, then base64 of `id:secret`.
    use base64::Engine as _;
    let raw = seen.authorization.clone().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "my+client%3A1%2F%C3%BC:p%40ss+w%3Ard%2B%25%26%3D%C3%A9%7E"
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.param("client_secret"), None);
}

#[tokio::test]
async fn client_secret_post_sends_credentials_in_the_body() {
    let server = TestServer::start().await;
    server.set(|b| b.expected_client = Some(("client-1".into(), SECRET.into())));
    let source = source(&server)
        .auth_method(ClientAuthMethod::SecretPost)
        .build()
        .unwrap();
    source.token().await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.authorization, None);
    assert_eq!(seen.param("client_id"), Some("client-1"));
    assert_eq!(seen.param("client_secret"), Some(SECRET));
}

#[tokio::test]
async fn resource_scope_and_extra_params_are_sent() {
    let server = TestServer::start().await;
    let source = source(&server)
        .resource("https://api.example.com")
        .scope("read:products")
        .scopes(["write:products", "read:products"])
        .extra_param("organization_id", "org 7")
        .build()
        .unwrap();
    let token = source.token().await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.param("grant_type"), Some("client_credentials"));
    assert_eq!(seen.params("resource"), ["https://api.example.com"]);
    assert_eq!(seen.param("scope"), Some("read:products write:products"));
    assert_eq!(seen.param("organization_id"), Some("org 7"));
    assert_eq!(token.scope(), "read:products write:products");
}

#[tokio::test]
async fn the_granted_scope_may_be_narrower() {
    let server = TestServer::start().await;
    server.set(|b| b.scope = Some("read:products".into()));
    let source = source(&server)
        .scopes(["read:products", "write:products"])
        .build()
        .unwrap();
    let token = source.token().await.unwrap();
    assert!(token.has_scope("read:products"));
    assert!(!token.has_scope("write:products"));
}

#[tokio::test]
async fn the_logto_preset_posts_to_oidc_token() {
    let server = TestServer::start().await;
    let source = ClientCredentials::logto(format!("{}/", server.base), "app", "app-secret")
        .resource("https://api.example.com")
        .build()
        .unwrap();
    assert_eq!(source.token_url().as_str(), server.token_url());
    source.token().await.unwrap();
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn oauth_errors_are_surfaced_without_the_secret() {
    let server = TestServer::start().await;
    server.set(|b| b.expected_client = Some(("client-1".into(), "another-secret".into())));
    let source = source(&server).build().unwrap();
    let error = source.token().await.unwrap_err();
    assert_eq!(
        error,
        TokenError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: OAuthErrorCode::InvalidClient,
            error_description: Some("client authentication failed".into()),
            error_uri: None,
        }
    );
    assert!(!error.is_transient());
    let message = error.to_string();
    assert!(message.contains("invalid_client"), "{message}");
    assert!(
        message.contains("client authentication failed"),
        "{message}"
    );
    assert!(!message.contains(SECRET));
}

#[tokio::test]
async fn a_secret_echoed_by_the_server_is_redacted() {
    let server = TestServer::start().await;
    server.set(|b| {
        b.error = Some((
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_scope", "error_description": format!("no scope for {SECRET}")}),
        ))
    });
    let source = source(&server).scope("admin").build().unwrap();
    let error = source.token().await.unwrap_err();
    assert_eq!(error.oauth_error(), Some(&OAuthErrorCode::InvalidScope));
    assert!(!error.to_string().contains(SECRET));
    assert!(!format!("{error:?}").contains(SECRET));
    assert!(error.to_string().contains("no scope for <redacted>"));
}

#[tokio::test]
async fn only_bearer_tokens_are_accepted() {
    let server = TestServer::start().await;
    server.set(|b| b.token_type = "DPoP".into());
    let source = source(&server).build().unwrap();
    assert_eq!(
        source.token().await.unwrap_err(),
        TokenError::UnsupportedTokenType {
            token_type: "DPoP".into()
        }
    );
    // Case-insensitive (RFC 6749 §5.1).
    server.set(|b| b.token_type = "bearer".into());
    let source = self::source(&server).build().unwrap();
    assert_eq!(source.token().await.unwrap().token_type(), "Bearer");
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let server = TestServer::start().await;
    server.set(|b| b.delay = Duration::from_secs(60));
    let timeout = Duration::from_millis(300);
    let source = source(&server).timeout(timeout).build().unwrap();
    let error = bounded(source.token()).await.unwrap_err();
    assert_eq!(error, TokenError::Timeout { after: timeout });
    assert!(error.is_transient());
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let source = ClientCredentials::builder(
        format!("http://127.0.0.1:{port}/oidc/token"),
        "client-1",
        SECRET,
    )
    .build()
    .unwrap();
    let error = bounded(source.token()).await.unwrap_err();
    assert!(
        matches!(&error, TokenError::Transport { message } if !message.contains(SECRET)),
        "{error:?}"
    );
}

#[tokio::test]
async fn invalidate_drops_only_the_rejected_token() {
    let server = TestServer::start().await;
    let source = source(&server).build().unwrap();
    let a = source.token().await.unwrap();
    source.invalidate(&a);
    let b = source.token().await.unwrap();
    assert_ne!(a.secret(), b.secret());
    assert_eq!(server.token_requests(), 2);
    // A stale rejection does not throw away the newer token.
    source.invalidate(&a);
    assert_eq!(source.token().await.unwrap().secret(), b.secret());
    assert_eq!(server.token_requests(), 2);
    let c = source.force_refresh().await.unwrap();
    assert_ne!(c.secret(), b.secret());
    assert_eq!(source.token().await.unwrap().secret(), c.secret());
    assert_eq!(server.token_requests(), 3);
}

#[tokio::test]
async fn authorize_adds_the_bearer_header() {
    let server = TestServer::start().await;
    let source = source(&server).build().unwrap();
    let http = reqwest::Client::new();
    let response = source
        .authorize(http.get(server.api_url()))
        .await
        .unwrap()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn send_retries_once_on_401() {
    let server = TestServer::start().await;
    let source = source(&server).build().unwrap();
    let http = reqwest::Client::new();
    let ok = source.send(http.get(server.api_url())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!((server.token_requests(), server.api_requests()), (1, 1));

    server.revoke_all();
    let retried = source
        .send(http.post(server.api_url()).body("payload"))
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!((server.token_requests(), server.api_requests()), (2, 3));

    // The accepted token is rejected later: replaced at once; its fresh replacement rejected
    // too: the source backs off and says so.
    server.set(|b| b.api_rejects_all = true);
    let rejected = source.send(http.get(server.api_url())).await.unwrap_err();
    assert!(
        matches!(&rejected, BearerError::Rejected(r) if r.status == StatusCode::UNAUTHORIZED
            && r.challenge.as_deref() == Some("Bearer error=\"invalid_token\"")),
        "{rejected:?}"
    );
    assert_eq!((server.token_requests(), server.api_requests()), (3, 5));
}
