//! Interop with a real OpenID provider: `oidc-provider` (the library Logto is built on), set up
//! like Logto, issuing tokens that scopegate-m2m fetches and the shopping API validates.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate_m2m::{ClientCredentials, OAuthErrorCode, TokenError};
use scopegate_tests::interop::{ALGORITHMS, Provider};
use scopegate_tests::{RESOURCE, parse_challenge};
use serde_json::{Value, json};
use shopping_api::{Running, Settings, start};

/// The shopping API trusting `provider`, by discovery or by its explicit JWKS URL.
async fn shop(provider: &Provider, discovery: bool) -> Running {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let settings = Settings {
        issuer: Some(provider.issuer.clone()),
        audience: RESOURCE.to_owned(),
        jwks_uri: (!discovery).then(|| provider.jwks_uri()),
        bind: loopback,
        dev_issuer_bind: loopback,
        warm_up: shopping_api::DEFAULT_WARM_UP,
        ..Settings::default()
    };
    start(settings)
        .await
        .expect("the shop starts against oidc-provider")
}

fn app(
    provider: &Provider,
    id: &str,
    secret: &str,
    resource: &str,
    scope: &str,
) -> ClientCredentials {
    ClientCredentials::logto(provider.endpoint(), id, secret)
        .resource(resource)
        .scope(scope)
        .build()
        .unwrap()
}

fn reader(provider: &Provider) -> ClientCredentials {
    app(
        provider,
        "read-app",
        "read-secret",
        RESOURCE,
        "read:products",
    )
}

fn admin(provider: &Provider) -> ClientCredentials {
    app(
        provider,
        "admin-app",
        "admin-secret",
        RESOURCE,
        "read:products write:products",
    )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn header_of(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_every_algorithm_pass_via_discovery_and_via_jwks_uri() {
    for alg in ALGORITHMS {
        let provider = tokio::task::block_in_place(|| Provider::start(alg, 0));
        let token = reader(&provider).token().await.unwrap();
        let header = header_of(token.secret());
        assert_eq!(
            (header["alg"].as_str(), header["typ"].as_str()),
            (Some(alg), Some("at+jwt"))
        );
        for discovery in [true, false] {
            let shop = shop(&provider, discovery).await;
            let products = format!("http://{}/products", shop.addr);
            let response = reader(&provider).send(http().get(&products)).await.unwrap();
            assert_eq!(response.status(), 200, "{alg}, discovery={discovery}");

            let new = json!({ "name": format!("{alg} widget"), "price_cents": 100 });
            let refused = reader(&provider)
                .send(http().post(&products).json(&new))
                .await
                .unwrap();
            assert_eq!(refused.status(), 403, "{alg}");
            let challenge =
                parse_challenge(refused.headers()["www-authenticate"].to_str().unwrap());
            assert_eq!(challenge.get("error"), Some("insufficient_scope"));
            assert_eq!(challenge.get("scope"), Some("write:products"));

            let created = admin(&provider)
                .send(http().post(&products).json(&new))
                .await
                .unwrap();
            assert_eq!(created.status(), 201, "{alg}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_provider_with_a_new_key_is_accepted_without_restarting_the_api() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let shop = shop(&provider, true).await;
    let products = format!("http://{}/products", shop.addr);
    let before = reader(&provider);
    let old_kid = header_of(before.token().await.unwrap().secret())["kid"].clone();
    assert_eq!(
        before.send(http().get(&products)).await.unwrap().status(),
        200
    );

    let provider = tokio::task::block_in_place(|| provider.restart());
    let after = reader(&provider);
    let new_kid = header_of(after.token().await.unwrap().secret())["kid"].clone();
    assert_ne!(
        old_kid, new_kid,
        "a restarted provider signs with a new key"
    );
    assert_eq!(
        after.send(http().get(&products)).await.unwrap().status(),
        200
    );
    let stats = shop.validator.jwks_stats(&provider.issuer).unwrap();
    assert_eq!(stats.unknown_kid, 1, "one refetch for the new kid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_resource_is_refused() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let shop = shop(&provider, false).await;
    let other = app(
        &provider,
        "read-app",
        "read-secret",
        "https://other.api",
        "read:other",
    );
    let token = other.token().await.unwrap();
    let response = http()
        .get(format!("http://{}/products", shop.addr))
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = parse_challenge(response.headers()["www-authenticate"].to_str().unwrap());
    assert_eq!(challenge.get("error"), Some("invalid_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_surface_as_typed_errors() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let wrong = app(
        &provider,
        "read-app",
        "wrong-secret",
        RESOURCE,
        "read:products",
    );
    match wrong.token().await.unwrap_err() {
        TokenError::OAuth { status, error, .. } => {
            assert_eq!(
                (status.as_u16(), error),
                (401, OAuthErrorCode::InvalidClient)
            );
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
    let greedy = app(
        &provider,
        "read-app",
        "read-secret",
        RESOURCE,
        "write:products",
    );
    assert_eq!(
        greedy.token().await.unwrap_err().oauth_error(),
        Some(&OAuthErrorCode::InvalidScope)
    );
    let lost = app(
        &provider,
        "read-app",
        "read-secret",
        "https://unknown.api",
        "read:products",
    );
    assert_eq!(
        lost.token().await.unwrap_err().oauth_error(),
        Some(&OAuthErrorCode::InvalidTarget)
    );
}
