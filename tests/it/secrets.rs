//! Secrets never show in `Debug` (issue 12, item 2): every public configuration type of scopegate
//! is formatted with `{:?}`, and neither the HMAC secret (as text or as a byte list) nor a
//! password (in a URL, or in the proxy of the user's HTTP client) may appear.

use std::time::Duration;

use scopegate::token::TokenLocation;
use scopegate::{
    AuthConfig, BearerAuthLayer, CacheConfig, ConfigError, ErrorResponder, JwksPolicy, KeySet,
    ScopeSource, Validator, require_scopes,
};
use scopegate_dev::{SigningAlgorithm, sign_hmac, unix_now};
use scopegate_tests::{RESOURCE, dev_issuer};
use serde_json::json;

const SECRET: &[u8] = b"hmac-secret-that-must-not-leak-0123456789";
const PASSWORD: &str = "pa55w0rd-must-not-leak";

/// Every way the secrets could be spelled in `Debug` output.
fn assert_no_secret(what: &str, text: &str) {
    let as_list = format!("{:?}", SECRET.to_vec());
    let list_head = &as_list[1..as_list.find(", 45").unwrap()]; // the bytes of "hmac"
    for secret in ["must-not-leak", PASSWORD, "proxy-pass", list_head] {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let proxy = reqwest::Proxy::all("http://proxy-user:proxy-pass@127.0.0.1:9").unwrap();
    let client = reqwest::Client::builder().proxy(proxy).build().unwrap();
    let builder = || {
        AuthConfig::builder(issuer.issuer(), RESOURCE)
            .jwks_uri(issuer.jwks_uri())
            .symmetric_secret(SECRET)
            .http_client(client.clone())
            .scope_sources([ScopeSource::Scope, ScopeSource::Permissions])
            .leeway(Duration::from_secs(5))
    };
    let config = builder().build().unwrap();
    let keys = KeySet::from_jwks(&issuer.jwks(), 10).unwrap();
    let static_config = AuthConfig::builder("https://static.example", RESOURCE)
        .jwks_static(keys.clone())
        .symmetric_secret(SECRET)
        .build()
        .unwrap();
    let validator_builder = Validator::builder()
        .issuer(config.clone())
        .issuer(static_config.clone())
        .cache(CacheConfig::default());
    let builder_text = format!("{validator_builder:?}");
    let validator = validator_builder.build().unwrap();
    let layer = BearerAuthLayer::new(validator.clone())
        .realm("shop")
        .token_location(TokenLocation::Cookie("access_token".into()));

    // A token verified by the secret: its context holds the secret's key.
    let now = unix_now();
    let claims = json!({ "iss": issuer.issuer(), "aud": RESOURCE, "exp": now + 60, "scope": "a" });
    let token = sign_hmac(SECRET, &json!({ "alg": "HS256", "typ": "at+jwt" }), &claims);
    let context = validator.validate(&token).await.unwrap();
    let secret_key = context.key_id();

    // Passwords in the issuer or JWKS URL: refused at build, and never shown before or after.
    let with_password = format!("https://user:{PASSWORD}@id.example.com/oidc");
    let url_builders = [
        AuthConfig::builder(issuer.issuer(), RESOURCE).jwks_uri(&with_password),
        AuthConfig::builder(&with_password, RESOURCE),
        AuthConfig::builder(&with_password, RESOURCE).jwks_uri(issuer.jwks_uri()),
    ];
    let mut errors = Vec::new();
    for url_builder in url_builders {
        assert_no_secret(
            "AuthConfigBuilder with a password",
            &format!("{url_builder:?}"),
        );
        let error = url_builder.build().unwrap_err();
        assert!(
            matches!(error, ConfigError::CredentialsInUrl(_)),
            "{error:?}"
        );
        errors.push(error);
    }

    let shown = [
        ("AuthConfigBuilder", format!("{:?}", builder())),
        ("AuthConfig", format!("{config:?}")),
        ("AuthConfig (static keys)", format!("{static_config:?}")),
        ("ValidatorBuilder", builder_text),
        ("Validator", format!("{validator:?}")),
        ("BearerAuthLayer", format!("{layer:?}")),
        (
            "GuardLayer",
            format!("{:?}", require_scopes(["read:products"])),
        ),
        ("JwksPolicy", format!("{:?}", JwksPolicy::default())),
        ("CacheConfig", format!("{:?}", CacheConfig::default())),
        ("KeySet", format!("{keys:?}")),
        (
            "ErrorResponder",
            format!("{:?}", ErrorResponder::new().with_realm("shop")),
        ),
        ("AuthContext (HMAC)", format!("{context:?} {secret_key:?}")),
        ("ConfigError", format!("{errors:?} {}", errors[0])),
    ];
    for (what, text) in &shown {
        assert_no_secret(what, text);
    }
    // The redaction says that a secret is set, so the output still tells configurations apart.
    assert!(
        shown[1].1.contains("symmetric_secret: Some(<redacted>)"),
        "{}",
        shown[1].1
    );
}
