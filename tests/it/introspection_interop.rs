//! Opaque tokens of a real `oidc-provider` (set up like Logto): issued by client_credentials
//! without `resource`, introspected by the shopping API and accepted, refused after their
//! revocation at the provider within the cache TTL.

use std::net::SocketAddr;
use std::time::Duration;

use scopegate::introspect::IntrospectionConfig;
use scopegate::{AuthConfig, AuthError, TestClock, Validator};
use scopegate_tests::interop::Provider;
use scopegate_tests::{RESOURCE, client, client_credentials};
use shopping_api::{IntrospectionSettings, Settings, start};

const API_ID: &str = "shopping-api";
const API_SECRET: &str = "shopping-api-secret";

/// An opaque token for `read-app`, asked without `resource`.
async fn opaque_token(provider: &Provider) -> String {
    let endpoint = format!("{}/token", provider.issuer);
    let scope = [("scope", "read:products")];
    let body = client_credentials(&endpoint, "read-app", "read-secret", &scope).await;
    let token = body["access_token"].as_str().expect("a token").to_owned();
    assert!(!token.contains('.'), "opaque, not a JWT: {body}");
    token
}

async fn revoke(provider: &Provider, token: &str) {
    let response = client()
        .post(format!("{}/token/revocation", provider.issuer))
        .basic_auth("read-app", Some("read-secret"))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shopping_api_accepts_an_opaque_token_and_refuses_it_once_revoked() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // The endpoint by discovery (no INTROSPECTION_URL), no cache: a revocation counts at once.
    let shop = start(Settings {
        issuer: Some(provider.issuer.clone()),
        audience: RESOURCE.to_owned(),
        bind: loopback,
        dev_issuer_bind: loopback,
        introspection: Some(IntrospectionSettings {
            client_id: API_ID.to_owned(),
            client_secret: API_SECRET.to_owned(),
            url: None,
            cache: Duration::ZERO,
            always: false,
        }),
        ..Settings::default()
    })
    .await
    .unwrap();
    let products = format!("http://{}/products", shop.addr);
    let token = opaque_token(&provider).await;
    let get = || client().get(&products).bearer_auth(&token).send();
    assert_eq!(get().await.unwrap().status(), 200);
    revoke(&provider, &token).await;
    let refused = get().await.unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cache_the_revocation_counts_at_the_ttl_not_before() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let ttl = Duration::from_secs(30);
    let clock = TestClock::at_system_time();
    let config = AuthConfig::builder(provider.issuer.clone(), RESOURCE)
        .introspection(IntrospectionConfig::new(API_ID, API_SECRET).cache_ttl(ttl))
        .build()
        .unwrap();
    let validator = Validator::builder()
        .issuer(config)
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = opaque_token(&provider).await;
    let context = validator.validate(&token).await.unwrap();
    assert!(context.has_scope("read:products"), "{context:?}");
    assert_eq!(context.client_id(), Some("read-app"));
    revoke(&provider, &token).await;
    clock.advance(ttl - Duration::from_secs(1));
    validator
        .validate(&token)
        .await
        .expect("cached within the TTL");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        AuthError::InactiveToken
    );
}
