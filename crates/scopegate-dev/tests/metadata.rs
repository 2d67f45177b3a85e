//! The dev issuer's authorization-server metadata (RFC 8414) at every location MCP clients look
//! for it, and the two client authentication methods it lists, over 127.0.0.1.

use scopegate_dev::{DevClient, DevIssuer, Discovery};
use serde_json::Value;

async fn issuer(discovery: Discovery) -> DevIssuer {
    DevIssuer::builder()
        .client(DevClient::new(
            "app",
            "app-secret",
            "https://a.api",
            ["read", "write"],
        ))
        .discovery(discovery)
        .start()
        .await
        .unwrap()
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The three URLs the MCP TypeScript SDK tries for an issuer with a path, in its order.
fn locations(issuer: &DevIssuer) -> [String; 3] {
    let origin = format!("http://{}", issuer.addr());
    [
        format!("{origin}/.well-known/oauth-authorization-server/oidc"),
        format!("{origin}/.well-known/openid-configuration/oidc"),
        format!("{}/.well-known/openid-configuration", issuer.issuer()),
    ]
}

#[tokio::test]
async fn the_metadata_is_served_at_the_rfc8414_and_both_oidc_locations() {
    let issuer = issuer(Discovery::Both).await;
    let mut documents = Vec::new();
    for url in locations(&issuer) {
        let (status, document) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        documents.push(document);
    }
    assert!(
        documents.iter().all(|d| *d == documents[0]),
        "{documents:?}"
    );
    let document = &documents[0];
    let endpoint = |path: &str| Value::from(format!("{}/{path}", issuer.issuer()));
    assert_eq!(document["issuer"], Value::from(issuer.issuer()));
    assert_eq!(document["token_endpoint"], endpoint("token"));
    assert_eq!(document["jwks_uri"], endpoint("jwks"));
    assert_eq!(document["authorization_endpoint"], endpoint("auth"));
    assert_eq!(
        document["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(document["response_types_supported"], serde_json::json!([]));
    assert_eq!(
        document["scopes_supported"],
        serde_json::json!(["read", "write"])
    );

    // Without OpenID Connect discovery, only the RFC 8414 location answers.
    let rfc8414_only = self::issuer(Discovery::Rfc8414Only).await;
    let [rfc8414, inserted, appended] = locations(&rfc8414_only);
    assert_eq!(get(&rfc8414).await.0, 200);
    assert_eq!(get(&inserted).await.0, 404);
    assert_eq!(get(&appended).await.0, 404);
}

#[tokio::test]
async fn the_authorization_endpoint_refuses_every_request() {
    let issuer = issuer(Discovery::Both).await;
    let url = format!(
        "{}/auth?response_type=code&client_id=app&redirect_uri=http://127.0.0.1:1/cb",
        issuer.issuer()
    );
    let (status, body) = get(&url).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_response_type");
}

async fn token(
    issuer: &DevIssuer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn both_listed_client_authentication_methods_work_and_not_together() {
    let issuer = issuer(Discovery::Both).await;
    let grant = ("grant_type", "client_credentials");
    let (status, basic) = token(&issuer, Some(("app", "app-secret")), &[grant]).await;
    assert_eq!(status, 200, "{basic}");
    let post = [grant, ("client_id", "app"), ("client_secret", "app-secret")];
    let (status, posted) = token(&issuer, None, &post).await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["scope"], "read write");

    let wrong = [grant, ("client_id", "app"), ("client_secret", "nope")];
    let (status, body) = token(&issuer, None, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let half = [grant, ("client_id", "app")];
    let (status, body) = token(&issuer, None, &half).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // RFC 6749 §2.3.1: a client must not use more than one method in a request.
    let (status, body) = token(&issuer, Some(("app", "app-secret")), &post).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
