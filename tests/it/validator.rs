//! The validator against the dev issuer over real HTTP: every `AuthError` reason from a real
//! token, discovery, key rotation.

use std::time::Duration;

use scopegate::error::TokenProblem;
use scopegate::{
    Algorithm, AuthConfig, AuthError, CacheConfig, ScopeSource, TokenTypePolicy, Validator,
};
use scopegate_dev::{DevIssuer, Discovery, JwksFault, SigningAlgorithm, b64, unix_now};
use scopegate_tests::{RESOURCE, client, config_for, dev_issuer};
use serde_json::{Value, json};

/// A token from the dev issuer's token endpoint, over HTTP, as an app would get it.
async fn fetch_token(issuer: &DevIssuer, id: &str, secret: &str, scope: &str) -> String {
    let response = client()
        .post(issuer.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", RESOURCE),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], scope);
    body["access_token"].as_str().unwrap().to_owned()
}

fn validator(issuer: &DevIssuer) -> Validator {
    Validator::new(config_for(issuer).build().unwrap()).unwrap()
}

#[tokio::test]
async fn tokens_from_the_token_endpoint_are_accepted_for_every_algorithm() {
    for algorithm in [
        SigningAlgorithm::ES384,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
        SigningAlgorithm::PS256,
        SigningAlgorithm::EdDSA,
    ] {
        let issuer = dev_issuer(algorithm).await;
        let validator = validator(&issuer);
        let token = fetch_token(
            &issuer,
            "admin-app",
            "admin-secret",
            "read:products write:products",
        )
        .await;
        let auth = validator.validate(&token).await.expect("valid token");
        assert_eq!(auth.algorithm().unwrap().to_string(), algorithm.as_str());
        assert!(auth.has_scope("read:products") && auth.has_scope("write:products"));
        assert_eq!(auth.scopes().len(), 2);
        assert_eq!(auth.client_id(), Some("admin-app"));
        assert_eq!(auth.subject(), Some("admin-app"));
        assert_eq!(auth.issuer(), issuer.issuer());
        assert_eq!(auth.claims().audience(), [RESOURCE.to_owned()]);
        assert_eq!(auth.key_id(), Some(issuer.kid().as_str()));
        assert!(auth.claims().jwt_id().is_some());
        assert_eq!(
            issuer.jwks_requests(),
            1,
            "{algorithm}: one fetch for the first token"
        );
    }
}

#[tokio::test]
async fn read_app_token_grants_only_read() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let token = fetch_token(&issuer, "read-app", "read-secret", "read:products").await;
    let auth = validator(&issuer).validate(&token).await.unwrap();
    assert!(auth.has_scope("read:products"));
    assert!(!auth.has_scope("write:products"));
}

#[tokio::test]
async fn jwks_requests_identify_scopegate() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    validator.warm_up().await.unwrap();
    let agent = issuer.last_user_agent().unwrap();
    assert_eq!(agent, format!("scopegate/{}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn discovery_finds_the_jwks() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let token = issuer.mint(issuer.claims("read-app", RESOURCE, "read:products"));
    validator.validate(&token).await.unwrap();
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414() {
    let issuer = DevIssuer::builder()
        .discovery(Discovery::Rfc8414Only)
        .start()
        .await
        .unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    validator.warm_up().await.unwrap();
    let token = issuer.mint(issuer.claims("app", RESOURCE, ""));
    validator.validate(&token).await.unwrap();
    assert_eq!(
        issuer.discovery_requests(),
        1,
        "the OIDC document 404s before RFC 8414 answers"
    );
}

#[tokio::test]
async fn discovery_refuses_a_document_naming_another_issuer() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    // A config whose issuer string differs from what the discovery document says (trailing /).
    let lookalike = format!("{}/", issuer.issuer());
    let config = AuthConfig::builder(lookalike.clone(), RESOURCE)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let error = validator.warm_up().await.unwrap_err();
    assert_eq!(
        error,
        scopegate::JwksError::IssuerMismatch {
            configured: lookalike,
            document: Some(issuer.issuer().to_owned()),
        }
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_the_next_unknown_kid() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    let old = issuer.mint(issuer.claims("read-app", RESOURCE, "read:products"));
    validator.validate(&old).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    issuer.rotate_key().unwrap();
    let new = issuer.mint(issuer.claims("read-app", RESOURCE, "read:products"));
    validator
        .validate(&new)
        .await
        .expect("new kid accepted after one refetch");
    assert_eq!(issuer.jwks_requests(), 2);
    // The old key left the set at that refresh: its cached token no longer passes.
    assert_eq!(
        validator.validate(&old).await.unwrap_err(),
        AuthError::UnknownKey
    );
}

#[tokio::test]
async fn unknown_kids_never_cost_a_fetch_per_request() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    validator.warm_up().await.unwrap();
    for i in 0..20 {
        let mut header = issuer.header();
        header["kid"] = json!(format!("unknown-{i}"));
        let token = issuer.mint_with_header(header, issuer.claims("a", RESOURCE, ""));
        assert_eq!(
            validator.validate(&token).await.unwrap_err(),
            AuthError::UnknownKey
        );
    }
    assert!(
        issuer.jwks_requests() <= 2,
        "got {}",
        issuer.jwks_requests()
    );
}

/// Every reason a token can be refused for, each produced from a real token of the dev issuer.
#[tokio::test]
async fn every_rejection_reason_from_a_real_token() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    let claims = || issuer.claims("read-app", RESOURCE, "read:products");
    let good = issuer.mint(claims());
    validator.validate(&good).await.unwrap();

    let with_claims = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        issuer.mint(c)
    };
    let with_header = |edit: &dyn Fn(&mut Value)| {
        let mut h = issuer.header();
        edit(&mut h);
        issuer.mint_with_header(h, claims())
    };
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let now = unix_now();
    let other = with_claims(&|c| c["scope"] = json!("write:products"));
    let swapped = other.split('.').nth(1).unwrap();

    let cases: Vec<(&str, String, AuthError)> = vec![
        (
            "too long",
            "a".repeat(17 * 1024),
            AuthError::MalformedToken(TokenProblem::TooLong),
        ),
        (
            "two segments",
            format!("{head}.{payload}"),
            AuthError::MalformedToken(TokenProblem::NotJws),
        ),
        (
            "JWE",
            format!("{head}.a.b.c.d"),
            AuthError::MalformedToken(TokenProblem::Encrypted),
        ),
        (
            "padding",
            format!("{head}=.{payload}.{signature}"),
            AuthError::MalformedToken(TokenProblem::Base64),
        ),
        (
            "payload not JSON",
            format!("{head}.{}.{signature}", b64(b"not json")),
            AuthError::MalformedToken(TokenProblem::Json),
        ),
        (
            "alg not a string",
            with_header(&|h| h["alg"] = json!(7)),
            AuthError::MalformedToken(TokenProblem::Header),
        ),
        (
            "alg none",
            with_header(&|h| h["alg"] = json!("none")),
            AuthError::DisallowedAlgorithm,
        ),
        (
            "alg HS256 without a secret",
            with_header(&|h| h["alg"] = json!("HS256")),
            AuthError::DisallowedAlgorithm,
        ),
        (
            "crit",
            with_header(&|h| h["crit"] = json!(["exp"])),
            AuthError::UnsupportedHeader,
        ),
        (
            "b64 false",
            with_header(&|h| h["b64"] = json!(false)),
            AuthError::UnsupportedHeader,
        ),
        (
            "typ id+jwt",
            with_header(&|h| h["typ"] = json!("id+jwt")),
            AuthError::WrongTokenType,
        ),
        (
            "unknown kid",
            with_header(&|h| h["kid"] = json!("nope")),
            AuthError::UnknownKey,
        ),
        (
            "ES256 on the P-384 key",
            with_header(&|h| h["alg"] = json!("ES256")),
            AuthError::KeyAlgorithmMismatch,
        ),
        (
            "payload swapped after signing",
            format!("{head}.{swapped}.{signature}"),
            AuthError::BadSignature,
        ),
        (
            "signature stripped",
            format!("{head}.{payload}."),
            AuthError::BadSignature,
        ),
        (
            "expired",
            with_claims(&|c| c["exp"] = json!(now - 120)),
            AuthError::Expired,
        ),
        (
            "not yet valid",
            with_claims(&|c| c["nbf"] = json!(now + 120)),
            AuthError::NotYetValid,
        ),
        (
            "no iss",
            with_claims(&|c| drop(c.as_object_mut().unwrap().remove("iss"))),
            AuthError::MissingClaim("iss"),
        ),
        (
            "no aud",
            with_claims(&|c| drop(c.as_object_mut().unwrap().remove("aud"))),
            AuthError::MissingClaim("aud"),
        ),
        (
            "no exp",
            with_claims(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            AuthError::MissingClaim("exp"),
        ),
        (
            "exp as a string",
            with_claims(&|c| c["exp"] = json!((now + 60).to_string())),
            AuthError::InvalidClaim("exp"),
        ),
        (
            "aud null",
            with_claims(&|c| c["aud"] = Value::Null),
            AuthError::InvalidClaim("aud"),
        ),
        (
            "scope not a string",
            with_claims(&|c| c["scope"] = json!(["read:products"])),
            AuthError::InvalidClaim("scope"),
        ),
        (
            "wrong issuer",
            with_claims(&|c| c["iss"] = json!("https://evil.example/oidc")),
            AuthError::WrongIssuer,
        ),
        (
            "wrong audience",
            with_claims(&|c| c["aud"] = json!("https://other.api")),
            AuthError::WrongAudience,
        ),
        (
            "empty audience list",
            with_claims(&|c| c["aud"] = json!([])),
            AuthError::WrongAudience,
        ),
    ];
    for (name, token, expected) in cases {
        assert_eq!(
            validator.validate(&token).await.unwrap_err(),
            expected,
            "{name}"
        );
    }
}

#[tokio::test]
async fn leeway_accepts_small_clock_skew_only() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    let now = unix_now();
    let mut claims = issuer.claims("a", RESOURCE, "");
    claims["exp"] = json!(now - 30);
    claims["nbf"] = json!(now + 30);
    validator
        .validate(&issuer.mint(claims))
        .await
        .expect("within the 60 s leeway");
    let mut claims = issuer.claims("a", RESOURCE, "");
    claims["exp"] = json!(now as f64 + 600.5);
    validator
        .validate(&issuer.mint(claims))
        .await
        .expect("fractional NumericDate");
}

#[tokio::test]
async fn audience_may_be_a_list_and_any_configured_audience_matches() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let config = config_for(&issuer)
        .audience("https://admin.api")
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let mut claims = issuer.claims("a", RESOURCE, "");
    claims["aud"] = json!(["https://other.api", "https://admin.api"]);
    let auth = validator.validate(&issuer.mint(claims)).await.unwrap();
    assert_eq!(auth.claims().audience().len(), 2);
}

#[tokio::test]
async fn strict_typ_requires_at_jwt() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let strict = Validator::new(
        config_for(&issuer)
            .token_type(TokenTypePolicy::Strict)
            .build()
            .unwrap(),
    )
    .unwrap();
    let lenient = validator(&issuer);
    let mut header = issuer.header();
    header["typ"] = json!("JWT");
    let jwt = issuer.mint_with_header(header, issuer.claims("a", RESOURCE, ""));
    assert_eq!(
        strict.validate(&jwt).await.unwrap_err(),
        AuthError::WrongTokenType
    );
    lenient.validate(&jwt).await.unwrap();
    strict
        .validate(&issuer.mint(issuer.claims("a", RESOURCE, "")))
        .await
        .unwrap();
}

#[tokio::test]
async fn keys_unavailable_when_the_jwks_was_never_fetched() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    issuer.set_jwks_fault(Some(JwksFault::Status(503)));
    let validator = validator(&issuer);
    let token = issuer.mint(issuer.claims("a", RESOURCE, ""));
    match validator.validate(&token).await.unwrap_err() {
        AuthError::KeysUnavailable { retry_after } => {
            assert!(retry_after >= Duration::from_secs(1))
        }
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    assert_eq!((stats.fetches, stats.failures, stats.initial), (1, 1, 1));
}

#[tokio::test]
async fn symmetric_tokens_need_an_explicit_secret() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let secret = [42u8; 32];
    let config = config_for(&issuer)
        .symmetric_secret(secret)
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let header = json!({ "alg": "HS256", "typ": "at+jwt" });
    let claims = issuer.claims("a", RESOURCE, "read:products");
    let token = scopegate_dev::sign_hmac(&secret, &header, &claims);
    let auth = validator.validate(&token).await.unwrap();
    assert_eq!(auth.algorithm(), Some(Algorithm::HS256));
    let forged = scopegate_dev::sign_hmac(&[1u8; 32], &header, &claims);
    assert_eq!(
        validator.validate(&forged).await.unwrap_err(),
        AuthError::BadSignature
    );
    // HMAC never touches the JWKS.
    assert_eq!(issuer.jwks_requests(), 0);
}

#[tokio::test]
async fn scope_claim_shapes_of_other_issuers() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let all = config_for(&issuer)
        .scope_sources([
            ScopeSource::Scope,
            ScopeSource::Scp,
            ScopeSource::Permissions,
            ScopeSource::KeycloakRealmRoles,
            ScopeSource::KeycloakClientRoles("shop".into()),
        ])
        .build()
        .unwrap();
    let validator = Validator::new(all).unwrap();
    let shapes = [
        json!({ "scope": "a b" }),
        json!({ "scp": "a b" }),
        json!({ "scp": ["a", "b"] }),
        json!({ "permissions": ["a", "b"] }),
        json!({ "realm_access": { "roles": ["a", "b"] } }),
        json!({ "resource_access": { "shop": { "roles": ["a", "b"] }, "other": { "roles": ["c"] } } }),
        json!({ "scope": "a", "permissions": ["b"] }),
    ];
    for shape in shapes {
        let mut claims = issuer.claims("x", RESOURCE, "");
        claims.as_object_mut().unwrap().remove("scope");
        for (name, value) in shape.as_object().unwrap() {
            claims[name] = value.clone();
        }
        let auth = validator.validate(&issuer.mint(claims)).await.unwrap();
        assert_eq!(auth.scopes().to_string(), "a b", "{shape}");
    }
}

#[tokio::test]
async fn custom_claims_are_typed_on_request() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator(&issuer);
    let mut claims = issuer.claims("a", RESOURCE, "");
    claims["tenant"] = json!({ "id": 7, "name": "acme" });
    let auth = validator.validate(&issuer.mint(claims)).await.unwrap();

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Tenant {
        id: u32,
        name: String,
    }
    let tenant: Tenant = auth.claims().get("tenant").unwrap().unwrap();
    assert_eq!(
        tenant,
        Tenant {
            id: 7,
            name: "acme".into()
        }
    );
    assert!(auth.claims().get::<String>("tenant").is_err());
    assert_eq!(auth.claims().get::<String>("absent").unwrap(), None);

    #[derive(serde::Deserialize)]
    struct Mine {
        client_id: String,
        tenant: Tenant,
    }
    let mine: Mine = auth.claims().deserialize().unwrap();
    assert_eq!((mine.client_id.as_str(), mine.tenant.id), ("a", 7));
}

#[tokio::test]
async fn cache_can_be_disabled_and_then_every_call_verifies() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .cache(CacheConfig::disabled())
        .build()
        .unwrap();
    let token = issuer.mint(issuer.claims("a", RESOURCE, ""));
    for _ in 0..3 {
        validator.validate(&token).await.unwrap();
    }
    assert_eq!(validator.cached_tokens(), 0);
}
