//! scopegate without its `remote` feature: keys come from a secret or `jwks_static`, and a
//! config that would need an HTTP call is refused when it is built, not at the first token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use scopegate::introspect::IntrospectionConfig;
use scopegate::{AuthConfig, ConfigError, Validator};
use serde_json::json;

const ISSUER: &str = "https://id.example.com/oidc";
const RESOURCE: &str = "https://shopping.api";
const SECRET: [u8; 32] = [7; 32];

#[tokio::test]
async fn an_hmac_token_validates_without_an_http_client() {
    let config = AuthConfig::builder(ISSUER, RESOURCE)
        .symmetric_secret(SECRET)
        .build()
        .unwrap();
    let validator = Validator::builder().issuer(config).build().unwrap();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let claims = json!({ "iss": ISSUER, "aud": RESOURCE, "exp": exp, "scope": "read:products" });
    let token = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&SECRET),
    )
    .unwrap();

    let context = validator.validate(&token).await.unwrap();
    assert!(context.has_scope("read:products"));

    let forged = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&[8; 32]),
    )
    .unwrap();
    assert!(validator.validate(&forged).await.is_err());
}

#[test]
fn keys_that_would_be_fetched_are_refused_at_build() {
    let discovery = AuthConfig::builder(ISSUER, RESOURCE).build();
    assert!(
        matches!(discovery, Err(ConfigError::RemoteDisabled)),
        "{discovery:?}"
    );
    let jwks_url = AuthConfig::builder(ISSUER, RESOURCE)
        .jwks_uri("https://id.example.com/oidc/jwks")
        .build();
    assert!(
        matches!(jwks_url, Err(ConfigError::RemoteDisabled)),
        "{jwks_url:?}"
    );
}

#[test]
fn introspection_is_refused_at_build() {
    let config = AuthConfig::builder(ISSUER, RESOURCE)
        .symmetric_secret(SECRET)
        .introspection(IntrospectionConfig::new("api-client", "api-secret"))
        .build();
    assert!(
        matches!(config, Err(ConfigError::IntrospectionWithoutRemote)),
        "{config:?}"
    );
}
