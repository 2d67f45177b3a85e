//! The dev issuer's endpoints over 127.0.0.1 against input a stranger may send (issue 24,
//! item 10).

use scopegate_dev::{DevClient, DevIssuer, JWKS_REQUEST_TIMES_KEPT};
use serde_json::Value;

async fn issuer() -> DevIssuer {
    DevIssuer::builder()
        .client(
            DevClient::new("app", "app-secret", "https://a.api", ["read"])
                .with_resource("https://b.api"),
        )
        .start()
        .await
        .unwrap()
}

/// POSTs `body` to the token endpoint; returns the status, content type and JSON body.
async fn post(issuer: &DevIssuer, content_type: &str, body: &str) -> (u16, String, Value) {
    let response = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .basic_auth("app", Some("app-secret"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn refusals_of_the_token_endpoint_are_oauth_error_documents() {
    let issuer = issuer().await;
    let cases = [
        (
            FORM,
            "grant_type=client_credentials&resource=https%3A%2F%2Fa.api&resource=https%3A%2F%2Fb.api",
            "invalid_target",
        ),
        (
            FORM,
            "grant_type=client_credentials&grant_type=client_credentials",
            "invalid_request",
        ),
        (
            FORM,
            "grant_type=client_credentials&scope=read&scope=read",
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"grant_type":"client_credentials"}"#,
            "invalid_request",
        ),
        (FORM, "grant_type=password", "unsupported_grant_type"),
    ];
    for (content_type, body, error) in cases {
        let (status, returned_type, json) = post(&issuer, content_type, body).await;
        assert_eq!(status, 400, "{body}: {json}");
        assert_eq!(returned_type, "application/json", "{body}");
        assert_eq!(json["error"], error, "{body}: {json}");
        assert!(json["error_description"].is_string(), "{json}");
    }
    // One resource of the two the app may ask for is fine.
    let (status, _, json) = post(
        &issuer,
        FORM,
        "grant_type=client_credentials&resource=https%3A%2F%2Fb.api",
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert!(json["access_token"].is_string());
}

#[tokio::test]
async fn the_jwks_request_record_is_bounded() {
    let issuer = issuer().await;
    let http = reqwest::Client::new();
    let total = JWKS_REQUEST_TIMES_KEPT + 100;
    for _ in 0..total {
        let response = http.get(issuer.jwks_uri()).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(issuer.jwks_requests(), total as u64);
    let times = issuer.jwks_request_times();
    assert_eq!(times.len(), JWKS_REQUEST_TIMES_KEPT);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}
