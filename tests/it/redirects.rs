//! Redirects of JWKS and discovery fetches (issue 12, item 1). Every hop is held to the rule
//! the first URL is: https, or plain http to a loopback host; a plain-http hop elsewhere could
//! hand the validator an attacker's keys. No real network: the "elsewhere" is a name that the
//! user's client resolves to 127.0.0.1 (`reqwest::ClientBuilder::resolve`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scopegate::{AuthConfig, AuthError, JwksError, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_tests::{RESOURCE, config_for, dev_issuer, serve};
use serde_json::{Value, json};

/// A loopback server that redirects: `/r/{n}` to `/r/{n-1}`, `/r/0` and discovery to `target`;
/// `/doc` serves `doc`.
#[derive(Default)]
struct Redirector {
    target: Mutex<String>,
    doc: Mutex<Value>,
}

async fn redirector() -> (SocketAddr, Arc<Redirector>) {
    async fn hop(Path(n): Path<u32>, State(state): State<Arc<Redirector>>) -> Response {
        let location = match n {
            0 => state.target.lock().unwrap().clone(),
            n => format!("/r/{}", n - 1),
        };
        (StatusCode::FOUND, [(LOCATION, location)]).into_response()
    }
    async fn discovery(State(state): State<Arc<Redirector>>) -> Response {
        let location = state.target.lock().unwrap().clone();
        (StatusCode::FOUND, [(LOCATION, location)]).into_response()
    }
    async fn doc(State(state): State<Arc<Redirector>>) -> Response {
        axum::Json(state.doc.lock().unwrap().clone()).into_response()
    }
    let state = Arc::new(Redirector::default());
    let app = Router::new()
        .route("/r/{n}", get(hop))
        .route("/oidc/.well-known/openid-configuration", get(discovery))
        .route("/doc", get(doc))
        .with_state(Arc::clone(&state));
    (serve(app).await, state)
}

/// A client of the user's, with reqwest's default redirect policy (up to 10 hops, anywhere),
/// that resolves `name` to `addr`.
fn users_client(name: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(name, addr)
        .build()
        .unwrap()
}

/// A token for `trusted`'s issuer, signed by the attacker's key.
fn forged(attacker: &DevIssuer, iss: &str) -> String {
    let mut claims = attacker.claims("mallory", RESOURCE, "read:products write:products");
    claims["iss"] = json!(iss);
    attacker.mint(claims)
}

#[tokio::test]
async fn a_redirect_of_the_jwks_to_plain_http_elsewhere_installs_no_keys() {
    let trusted = dev_issuer(SigningAlgorithm::ES384).await;
    let attacker = dev_issuer(SigningAlgorithm::ES384).await;
    let (addr, redirect) = redirector().await;
    *redirect.target.lock().unwrap() = format!(
        "http://keys.attacker.test:{}/oidc/jwks",
        attacker.addr().port()
    );
    let config = AuthConfig::builder(trusted.issuer(), RESOURCE)
        .jwks_uri(format!("http://{addr}/r/0"))
        .http_client(users_client("keys.attacker.test", attacker.addr()))
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();

    let token = forged(&attacker, trusted.issuer());
    let refused = validator.validate(&token).await.unwrap_err();
    assert!(
        matches!(refused, AuthError::KeysUnavailable { .. }),
        "{refused:?}"
    );
    // The user's client followed the hop; the final URL check refused what it brought back.
    assert_eq!(attacker.jwks_requests(), 1);
    let error = validator.warm_up().await.unwrap_err();
    assert!(
        matches!(&error, JwksError::Redirect { reason, .. } if reason.contains("keys.attacker.test")),
        "{error:?}"
    );
}

#[tokio::test]
async fn with_the_redirect_policy_the_plain_http_hop_is_never_made() {
    let trusted = dev_issuer(SigningAlgorithm::ES384).await;
    let attacker = dev_issuer(SigningAlgorithm::ES384).await;
    let (addr, redirect) = redirector().await;
    *redirect.target.lock().unwrap() = format!(
        "http://keys.attacker.test:{}/oidc/jwks",
        attacker.addr().port()
    );
    // The policy scopegate's own client uses, given to a client that could reach the attacker.
    let client = reqwest::Client::builder()
        .resolve("keys.attacker.test", attacker.addr())
        .redirect(scopegate::jwks::redirect_policy(false))
        .build()
        .unwrap();
    let config = AuthConfig::builder(trusted.issuer(), RESOURCE)
        .jwks_uri(format!("http://{addr}/r/0"))
        .http_client(client)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    assert!(
        validator
            .validate(&forged(&attacker, trusted.issuer()))
            .await
            .is_err()
    );
    let error = validator.warm_up().await.unwrap_err();
    assert!(matches!(error, JwksError::Redirect { .. }), "{error:?}");
    assert_eq!(attacker.jwks_requests(), 0);

    // scopegate's own client refuses the hop the same way (without ever resolving the name).
    let config = AuthConfig::builder(trusted.issuer(), RESOURCE)
        .jwks_uri(format!("http://{addr}/r/0"))
        .build()
        .unwrap();
    let error = Validator::new(config).unwrap().warm_up().await.unwrap_err();
    assert!(
        matches!(&error, JwksError::Redirect { reason, .. } if reason.contains("https-only")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_discovery_redirect_to_plain_http_elsewhere_is_refused() {
    let attacker = dev_issuer(SigningAlgorithm::ES384).await;
    let (addr, redirect) = redirector().await;
    let issuer = format!("http://{addr}/oidc");
    *redirect.target.lock().unwrap() = format!("http://idp.attacker.test:{}/doc", addr.port());
    // The attacker's document names the expected issuer, and the attacker's keys.
    *redirect.doc.lock().unwrap() = json!({ "issuer": issuer, "jwks_uri": attacker.jwks_uri() });
    let config = AuthConfig::builder(&issuer, RESOURCE)
        .http_client(users_client("idp.attacker.test", addr))
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    assert!(
        validator
            .validate(&forged(&attacker, &issuer))
            .await
            .is_err()
    );
    let error = validator.warm_up().await.unwrap_err();
    assert!(matches!(error, JwksError::Redirect { .. }), "{error:?}");
    assert_eq!(attacker.jwks_requests(), 0);
}

#[tokio::test]
async fn redirects_within_the_rule_are_followed_up_to_the_limit() {
    let trusted = dev_issuer(SigningAlgorithm::ES384).await;
    let (addr, redirect) = redirector().await;
    *redirect.target.lock().unwrap() = trusted.jwks_uri();
    let token = trusted.mint(trusted.claims("app", RESOURCE, "read:products"));
    let hops = scopegate::jwks::MAX_REDIRECTS;
    let via = |n: usize| {
        config_for(&trusted)
            .jwks_uri(format!("http://{addr}/r/{}", n - 1))
            .build()
            .unwrap()
    };
    // `/r/{n-1}` is n redirects away from the keys.
    let validator = Validator::new(via(hops)).unwrap();
    validator.validate(&token).await.unwrap();
    let error = Validator::new(via(hops + 1))
        .unwrap()
        .warm_up()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, JwksError::Redirect { reason, .. } if reason.contains("redirects")),
        "{error:?}"
    );
}
