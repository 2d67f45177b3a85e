//! The API's real router (its layers, scope guards and handlers), tested with no issuer, no
//! signature and no socket: each request carries an `AuthContext` built by scopegate's `testing`
//! feature, as an outer layer would have put the verified token's, so the router's own layers
//! take it as verified. The validator has an empty static key set: nothing is ever fetched. What
//! the layer checks of a token (signature, `exp`, `aud`) is tested against the dev issuer in
//! `catalogue.rs` and the integration tests.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use scopegate::testing::TestAuth;
use scopegate::{AuthConfig, BearerAuthLayer, KeySet, Validator};
use serde_json::{Value, json};
use shopping_api::{Store, router};
use tower::ServiceExt as _;

const REALM: &str = "shopping";
const API: &str = "https://shopping.api";

fn reader() -> TestAuth {
    TestAuth::new()
        .audience(API)
        .client_id("shopping-reader")
        .subject("shopping-reader")
        .scopes("read:products")
}

fn admin() -> TestAuth {
    TestAuth::new()
        .audience(API)
        .client_id("shopping-admin")
        .scopes("read:products write:products")
}

async fn send(store: &Store, request: Request<Body>) -> (StatusCode, Response<Body>) {
    let config = AuthConfig::builder(scopegate::testing::TEST_ISSUER, API)
        .jwks_static(KeySet::default())
        .build()
        .unwrap();
    let auth = BearerAuthLayer::new(Validator::new(config).unwrap()).realm(REALM);
    let app = router(auth, store.clone());
    let response = app.oneshot(request).await.unwrap();
    (response.status(), response)
}

async fn json_body(response: Response<Body>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn post(body: &Value) -> Request<Body> {
    Request::post("/products")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_reader_lists_the_products() {
    let store = Store::seeded();
    let request = reader().attach(Request::get("/products").body(Body::empty()).unwrap());
    let (status, response) = send(&store, request).await;
    assert_eq!(status, StatusCode::OK);
    let products = json_body(response).await;
    assert_eq!(products.as_array().map(Vec::len), Some(store.len()));
    assert_eq!(products[0]["name"], "Coffee beans, 1 kg");
}

#[tokio::test]
async fn a_reader_may_not_add_a_product() {
    let store = Store::seeded();
    let new = json!({ "name": "Teapot", "price_cents": 3100 });
    let request = reader().attach(post(&new));
    let (status, response) = send(&store, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"shopping\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"write:products\""),
        "{challenge}"
    );
    assert_eq!(store.len(), 3, "the refused request added nothing");
}

#[tokio::test]
async fn an_admin_adds_a_product() {
    let store = Store::seeded();
    let new = json!({ "name": "Teapot", "price_cents": 3100 });
    let request = admin().attach(post(&new));
    let (status, response) = send(&store, request).await;
    assert_eq!(status, StatusCode::CREATED);
    let product = json_body(response).await;
    assert_eq!(
        product,
        json!({ "id": 4, "name": "Teapot", "price_cents": 3100 })
    );
    assert_eq!(store.len(), 4);
}

#[tokio::test]
async fn the_handler_still_checks_the_body_of_an_authorized_request() {
    let store = Store::seeded();
    let zero = json!({ "name": "Free lunch", "price_cents": 0 });
    let request = admin().attach(post(&zero));
    let (status, response) = send(&store, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json_body(response).await;
    assert!(problem.to_string().contains("price_cents"), "{problem}");
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn a_request_without_a_token_is_asked_for_one() {
    let store = Store::seeded();
    let request = Request::get("/products").body(Body::empty()).unwrap();
    let (status, response) = send(&store, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"shopping\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_forged_token_is_refused_by_the_layer() {
    // Not a context: the layer checks the token, and no key of the (empty) set verifies it.
    let store = Store::seeded();
    let request = Request::get("/products")
        .header(
            header::AUTHORIZATION,
            "Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln",
        )
        .body(Body::empty())
        .unwrap();
    let (status, _) = send(&store, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_dpop_bound_readers_refusal_carries_the_dpop_challenge() {
    // As the layer passes on a DPoP-bound token whose proof it checked (RFC 9449 §6.1): the
    // handlers see the key's thumbprint, and a guard's refusal names the DPoP scheme (§7.1).
    let store = Store::seeded();
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let bound = reader().dpop_thumbprint(jkt);
    assert_eq!(bound.build().dpop_thumbprint(), Some(jkt));
    let cnf: Value = bound.build().claims().get("cnf").unwrap().unwrap();
    assert_eq!(cnf["jkt"], jkt);
    let new = json!({ "name": "Teapot", "price_cents": 3100 });
    let (status, response) = send(&store, bound.attach(post(&new))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Both schemes are offered; the error goes with the scheme the request used (§7.1).
    let challenges: Vec<&str> = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    let dpop = challenges
        .iter()
        .find(|c| c.starts_with("DPoP "))
        .unwrap_or_else(|| panic!("no DPoP challenge in {challenges:?}"));
    assert!(dpop.contains("error=\"insufficient_scope\""), "{dpop}");
    assert!(
        challenges
            .iter()
            .all(|c| c.starts_with("DPoP ") || !c.contains("error=")),
        "{challenges:?}"
    );
    assert_eq!(store.len(), 3, "the refused request added nothing");
}
