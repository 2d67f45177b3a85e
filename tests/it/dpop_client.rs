//! scopegate-m2m's DPoP client (RFC 9449) against real servers on loopback: the dev issuer's
//! token endpoint, whose proofs scopegate's `ProofVerifier` checks, and an API guarded by
//! scopegate's layer in DPoP mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scopegate::dpop::{DpopConfig, DpopMode, Nonces, ProofVerifier, access_token_hash};
use scopegate::{BearerAuthLayer, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_m2m::{BearerTokenLayer, ClientCredentials, DpopKey};
use scopegate_tests::{RESOURCE, client, config_for, dev_issuer, serve};
use serde_json::{Value, json};
use tower::{Layer as _, ServiceExt as _};

/// The JSON of a compact JWS's segment `index` (0: header, 1: payload).
fn segment(jws: &str, index: usize) -> Value {
    let part = jws.split('.').nth(index).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn reader(issuer: &DevIssuer, key: &DpopKey) -> ClientCredentials {
    ClientCredentials::logto(issuer.endpoint(), "read-app", "read-secret")
        .resource(RESOURCE)
        .scope("read:products")
        .dpop(key.clone())
        .build()
        .unwrap()
}

/// A dev issuer whose token endpoint requires server nonces (RFC 9449 §8).
async fn issuer_with_nonces() -> DevIssuer {
    let verifier = ProofVerifier::builder()
        .nonces(Nonces::new(Duration::from_secs(300)))
        .build();
    DevIssuer::builder()
        .client(scopegate_dev::DevClient::new(
            "read-app",
            "read-secret",
            RESOURCE,
            ["read:products"],
        ))
        .dpop_verifier(verifier)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_issuer_binds_the_token_to_the_clients_key() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let key = DpopKey::generate().unwrap();
    let source = reader(&issuer, &key);
    let token = source.token().await.unwrap();
    assert!(token.is_dpop_bound());
    assert_eq!(token.token_type(), "DPoP");
    let header = token.authorization_header();
    assert!(header.to_str().unwrap().starts_with("DPoP "));
    let claims = segment(token.secret(), 1);
    assert_eq!(claims["cnf"], json!({ "jkt": key.thumbprint() }));
    assert_eq!(issuer.token_requests(), 1);
    // RFC 9449 §5.1: the issuer's metadata names the proof algorithms it takes.
    let metadata: Value = client()
        .get(format!(
            "{}/.well-known/openid-configuration",
            issuer.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = metadata["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().any(|alg| alg == "ES256"), "{algs:?}");

    // The same app without a key gets a bearer token, unbound.
    let bearer = ClientCredentials::logto(issuer.endpoint(), "read-app", "read-secret")
        .resource(RESOURCE)
        .build()
        .unwrap();
    let token = bearer.token().await.unwrap();
    assert_eq!(token.token_type(), "Bearer");
    assert!(segment(token.secret(), 1).get("cnf").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoints_nonce_is_taken_and_retried_once() {
    let issuer = issuer_with_nonces().await;
    let key = DpopKey::generate().unwrap();
    let source = reader(&issuer, &key);
    let token = source.token().await.unwrap();
    assert!(token.is_dpop_bound());
    assert_eq!(segment(token.secret(), 1)["cnf"]["jkt"], key.thumbprint());
    // The first request was answered `400 use_dpop_nonce`, the second carried the nonce.
    assert_eq!(issuer.token_requests(), 2);

    // The nonce is remembered: the next token request needs no second try.
    source.force_refresh().await.unwrap();
    assert_eq!(issuer.token_requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_without_the_nonce_gets_400_use_dpop_nonce_with_the_nonce() {
    let issuer = issuer_with_nonces().await;
    let key = DpopKey::generate().unwrap();
    let http = client();
    // A hand-made proof without a nonce, as a client that ignores DPoP-Nonce would send it.
    let url = reqwest::Url::parse(&issuer.token_endpoint()).unwrap();
    let proof = key.proof("POST", &url, None, None).unwrap();
    let response = http
        .post(issuer.token_endpoint())
        .basic_auth("read-app", Some("read-secret"))
        .header("dpop", proof)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().contains_key("dpop-nonce"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_keeps_asking_for_a_nonce_is_asked_twice_only() {
    // Hostile: every answer is `use_dpop_nonce` with a new nonce.
    let requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&requests);
    let endpoint = move || {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            (
                http::StatusCode::BAD_REQUEST,
                [("dpop-nonce", format!("nonce-{n}"))],
                axum::Json(json!({ "error": "use_dpop_nonce" })),
            )
        }
    };
    let addr = serve(Router::new().route("/oidc/token", axum::routing::post(endpoint))).await;
    let source = ClientCredentials::logto(format!("http://{addr}"), "read-app", "read-secret")
        .dpop(DpopKey::generate().unwrap())
        .build()
        .unwrap();
    let error = source.token().await.unwrap_err();
    assert_eq!(
        error.oauth_error().map(|code| code.as_str()),
        Some("use_dpop_nonce")
    );
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

/// The answer of the dev issuer's token endpoint to a request with these `DPoP` header values.
async fn token_answer(issuer: &DevIssuer, proofs: &[String]) -> (u16, Value) {
    let mut request = client()
        .post(issuer.token_endpoint())
        .basic_auth("read-app", Some("read-secret"))
        .form(&[("grant_type", "client_credentials")]);
    for proof in proofs {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_proofs_at_the_token_endpoint_get_400_invalid_dpop_proof() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let key = DpopKey::generate().unwrap();
    let endpoint = reqwest::Url::parse(&issuer.token_endpoint()).unwrap();
    let elsewhere = reqwest::Url::parse(&format!("{}/other", issuer.issuer())).unwrap();
    let good = key.proof("POST", &endpoint, None, None).unwrap();
    let (status, body) = token_answer(&issuer, std::slice::from_ref(&good)).await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("DPoP")));

    let mut forged = good.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let cases = [
        ("replayed", vec![good.clone()]),
        (
            "wrong htm",
            vec![key.proof("GET", &endpoint, None, None).unwrap()],
        ),
        (
            "wrong htu",
            vec![key.proof("POST", &elsewhere, None, None).unwrap()],
        ),
        ("bad signature", vec![forged]),
        ("not a JWT", vec!["not-a-proof".to_owned()]),
        (
            "two DPoP headers",
            vec![
                key.proof("POST", &endpoint, None, None).unwrap(),
                key.proof("POST", &endpoint, None, None).unwrap(),
            ],
        ),
    ];
    for (case, proofs) in cases {
        let (status, body) = token_answer(&issuer, &proofs).await;
        assert_eq!(status, 400, "{case}: {body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{case}: {body}");
        assert!(body.get("access_token").is_none(), "{case}");
    }
}

/// How many requests reached the API's server, refused or not.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
}

/// An API that requires DPoP (scopegate's layer, with server nonces), echoing the proof's
/// claims; `seen` counts every request that reaches the server, refused or not.
async fn dpop_api(issuer: &DevIssuer, seen: Arc<Seen>) -> String {
    let validator = Validator::new(config_for(issuer).build().unwrap()).unwrap();
    let verifier = ProofVerifier::builder()
        .nonces(Nonces::new(Duration::from_secs(300)))
        .build();
    let auth = BearerAuthLayer::new(validator)
        .realm("shop")
        .dpop(DpopConfig::new(DpopMode::Required).verifier(verifier));
    let echo = |headers: HeaderMap| async move {
        let proof = headers["dpop"].to_str().unwrap().to_owned();
        axum::Json(segment(&proof, 1))
    };
    let app = Router::new()
        .route("/products", get(echo).post(echo))
        .route_layer(auth)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                seen.requests.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
    format!("http://{}/products", serve(app).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_carry_fresh_proofs_with_ath_and_the_apis_nonce() {
    let issuer = issuer_with_nonces().await;
    let seen = Arc::new(Seen::default());
    let api = dpop_api(&issuer, Arc::clone(&seen)).await;
    let key = DpopKey::generate().unwrap();
    let source = reader(&issuer, &key);
    let http = client();

    let first = source
        .send(http.get(format!("{api}?limit=5")))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    // 401 use_dpop_nonce, then the same request with the API's nonce.
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
    let token = source.cached_token().unwrap();
    // scopegate's own hash of the token: computed apart from the client's.
    assert_eq!(first["ath"], access_token_hash(token.secret()).as_str());
    assert_eq!(first["htm"], "GET");
    assert_eq!(first["htu"], api.as_str(), "htu has no query");
    assert!(first["nonce"].is_string());

    let second: Value = source
        .send(http.post(&api).body("{}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        3,
        "the nonce was kept"
    );
    assert_eq!(second["htm"], "POST");
    assert_ne!(second["jti"], first["jti"], "a fresh proof per request");
    // The nonce 401 did not cost the token: still one token, two token requests (the nonce).
    assert_eq!(issuer.token_requests(), 2);
    assert_eq!(
        source.cached_token().unwrap().expires_at(),
        token.expires_at()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_sends_proofs_and_takes_the_apis_nonce() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let seen = Arc::new(Seen::default());
    let api = dpop_api(&issuer, Arc::clone(&seen)).await;
    let key = DpopKey::generate().unwrap();
    let source = reader(&issuer, &key);
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = BearerTokenLayer::new(source.clone()).layer(hyper);

    let mut jtis = Vec::new();
    for round in 1..=2 {
        let request = http::Request::get(&api).body(Full::default()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "round {round}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let claims: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(claims["htu"], api.as_str());
        assert!(claims["nonce"].is_string() && claims["ath"].is_string());
        jtis.push(claims["jti"].clone());
    }
    assert_ne!(jtis[0], jtis[1]);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 3, "one nonce retry");
    assert_eq!(issuer.token_requests(), 1);
}
