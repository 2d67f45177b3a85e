//! DPoP (RFC 9449) interop: the real `oidc-provider` (the library Logto is built on), with its
//! DPoP feature on and server nonces required at its token endpoint, issues a bound token to
//! scopegate-m2m by client_credentials; the shopping API accepts it with fresh proofs, and
//! refuses it as a bearer token and with a replayed proof.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate::dpop::DpopMode;
use scopegate_m2m::{ClientCredentials, DpopKey};
use scopegate_tests::interop::Provider;
use scopegate_tests::{RESOURCE, parse_challenge};
use serde_json::Value;
use shopping_api::{Running, Settings, start};

fn claims_of(token: &str) -> Value {
    let segment = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The shopping API in DPoP `mode` (its `DPOP` setting), trusting `provider`.
async fn shop(provider: &Provider, mode: DpopMode) -> Running {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    start(Settings {
        issuer: Some(provider.issuer.clone()),
        audience: RESOURCE.to_owned(),
        jwks_uri: Some(provider.jwks_uri()),
        bind: loopback,
        dev_issuer_bind: loopback,
        warm_up: shopping_api::DEFAULT_WARM_UP,
        dpop: mode,
        ..Settings::default()
    })
    .await
    .expect("the shop starts against oidc-provider")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_binds_a_token_that_the_shopping_api_takes_only_with_fresh_proofs() {
    let provider = tokio::task::block_in_place(|| Provider::start_requiring_dpop_nonces("ES384"));
    let key = DpopKey::generate().unwrap();
    let source = ClientCredentials::logto(provider.endpoint(), "read-app", "read-secret")
        .resource(RESOURCE)
        .scope("read:products")
        .dpop(key.clone())
        .build()
        .unwrap();

    // The token endpoint wants a nonce: a proof without one gets `400 use_dpop_nonce`.
    let token_url = reqwest::Url::parse(source.token_url().as_str()).unwrap();
    let refused = http()
        .post(token_url.clone())
        .basic_auth("read-app", Some("read-secret"))
        .header("dpop", key.proof("POST", &token_url, None, None).unwrap())
        .form(&[("grant_type", "client_credentials"), ("resource", RESOURCE)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.headers().contains_key("dpop-nonce"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");

    // So the client's first request gets the same answer, and its retry carries the nonce.
    let token = source.token().await.unwrap();
    assert_eq!(token.token_type(), "DPoP");
    assert_eq!(claims_of(token.secret())["cnf"]["jkt"], key.thumbprint());

    for mode in [DpopMode::Allowed, DpopMode::Required] {
        let shop = shop(&provider, mode).await;
        let products = format!("http://{}/products", shop.addr);
        // Fresh proofs, one per call, through the reqwest helper.
        for round in 1..=2 {
            let response = source.send(http().get(&products)).await.unwrap();
            assert_eq!(response.status(), 200, "{mode:?}, call {round}");
        }

        // The same token as a bearer token: refused (RFC 9449 §7.2), never accepted.
        let as_bearer = http()
            .get(&products)
            .bearer_auth(token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(as_bearer.status(), 401);
        let challenges: Vec<_> = as_bearer
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            challenges.iter().any(|c| c.contains("invalid_token")),
            "{challenges:?}"
        );

        // One proof, sent twice: the second is a replay.
        let url = reqwest::Url::parse(&products).unwrap();
        let proof = key.proof("GET", &url, Some(token.secret()), None).unwrap();
        let with_proof = || {
            http()
                .get(&products)
                .header("authorization", format!("DPoP {}", token.secret()))
                .header("dpop", &proof)
        };
        assert_eq!(with_proof().send().await.unwrap().status(), 200);
        let replayed = with_proof().send().await.unwrap();
        assert_eq!(replayed.status(), 401);
        let dpop_challenge = replayed
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| parse_challenge(v.to_str().unwrap()))
            .find(|c| c.scheme == "DPoP")
            .expect("a DPoP challenge");
        assert_eq!(dpop_challenge.get("error"), Some("invalid_dpop_proof"));
    }
}
