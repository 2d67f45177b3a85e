//! The shopping API publishes its protected-resource metadata (RFC 9728), and every challenge
//! points to it; each route's 401 names the scopes the route needs. Over 127.0.0.1 with the
//! embedded dev issuer, challenges parsed strictly as RFC 9110 auth-params.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../tests/support/challenge.rs"]
#[allow(dead_code, unreachable_pub)]
mod challenge;

use std::net::SocketAddr;
use std::time::Duration;

use challenge::{AuthParams, parse_auth_params};
use serde_json::{Value, json};
use shopping_api::{DEFAULT_AUDIENCE, Running, Settings, start};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn shop(metadata_url: Option<&str>) -> Running {
    let settings = Settings {
        bind: loopback(),
        dev_issuer_bind: loopback(),
        metadata_url: metadata_url.map(str::to_owned),
        ..Settings::default()
    };
    start(settings).await.expect("the shop starts")
}

async fn token(running: &Running, app: &str, secret: &str) -> String {
    let body: Value = http()
        .post(running.dev_issuer.as_ref().unwrap().token_endpoint())
        .basic_auth(app, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", DEFAULT_AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn challenge(request: reqwest::RequestBuilder) -> (u16, AuthParams) {
    let response = request.send().await.unwrap();
    let header = response.headers()["www-authenticate"].to_str().unwrap();
    let parsed = parse_auth_params(header).unwrap_or_else(|e| panic!("{header}: {e}"));
    (response.status().as_u16(), parsed)
}

#[tokio::test]
async fn the_metadata_names_the_audience_the_issuer_and_both_scopes() {
    let running = shop(None).await;
    let url = format!(
        "http://{}/.well-known/oauth-protected-resource",
        running.addr
    );
    assert_eq!(running.metadata.as_ref().unwrap().url(), url);
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("cache-control"));
    let document: Value = response.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": DEFAULT_AUDIENCE,
            "authorization_servers": [running.issuer],
            "scopes_supported": ["read:products", "write:products"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Shopping API",
        })
    );

    let products = format!("http://{}/products", running.addr);
    for (request, scope) in [
        (http().get(&products), "read:products"),
        (http().post(&products).json(&json!({})), "write:products"),
    ] {
        let (status, params) = challenge(request).await;
        assert_eq!(status, 401);
        assert_eq!(params.get("realm"), Some("shopping"));
        assert_eq!(params.get("resource_metadata"), Some(url.as_str()));
        assert_eq!(params.get("scope"), Some(scope));
        assert_eq!(params.get("error"), None);
    }
    let reader = token(&running, "shopping-reader", "reader-secret").await;
    let new = json!({ "name": "Tea", "price_cents": 100 });
    let (status, params) = challenge(http().post(&products).bearer_auth(&reader).json(&new)).await;
    assert_eq!(status, 403);
    assert_eq!(params.get("error"), Some("insufficient_scope"));
    assert_eq!(params.get("scope"), Some("write:products"));
    assert_eq!(params.get("resource_metadata"), Some(url.as_str()));

    let admin = token(&running, "shopping-admin", "admin-secret").await;
    let created = http()
        .post(&products)
        .bearer_auth(&admin)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn metadata_url_names_where_a_proxy_publishes_it() {
    let public = "https://shop.example.com/api/.well-known/oauth-protected-resource";
    let running = shop(Some(public)).await;
    let (status, params) = challenge(http().get(format!("http://{}/products", running.addr))).await;
    assert_eq!(status, 401);
    assert_eq!(params.get("resource_metadata"), Some(public));
    // Served here at the URL's path, for the proxy to forward to.
    let local = format!(
        "http://{}/api/.well-known/oauth-protected-resource",
        running.addr
    );
    let document: Value = http()
        .get(local)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], DEFAULT_AUDIENCE);
}

#[tokio::test]
async fn an_audience_that_is_no_url_publishes_no_metadata() {
    let settings = Settings {
        bind: loopback(),
        dev_issuer_bind: loopback(),
        audience: "urn:example:shopping".to_owned(),
        ..Settings::default()
    };
    let running = start(settings).await.unwrap();
    assert!(running.metadata.is_none());
    let (status, params) = challenge(http().get(format!("http://{}/products", running.addr))).await;
    assert_eq!(status, 401);
    assert_eq!(params.get("resource_metadata"), None);
    assert_eq!(params.get("scope"), Some("read:products"));
}
