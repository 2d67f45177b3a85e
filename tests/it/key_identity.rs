//! A key keeps its identity across refreshes: a refetch that returns the same keys (every minute
//! with Logto's `max-age=0`, and on every unknown `kid`) leaves the verified-token cache whole,
//! while a key that left the set drops its tokens at once. Counted with the validator's own
//! `scopegate_signature_checks_total`.

use std::sync::Arc;

use scopegate::{AuthError, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64};
use scopegate_tests::{Counters, RESOURCE, config_for, dev_issuer};
use serde_json::json;

fn counted_validator(issuer: &DevIssuer) -> (Arc<Counters>, Validator) {
    let counters = Arc::new(Counters::default());
    let validator =
        counters.build(Validator::builder().issuer(config_for(issuer).build().unwrap()));
    (counters, validator)
}

/// A token naming a `kid` the issuer never published (its signature does not matter).
fn unknown_kid_token(issuer: &DevIssuer) -> String {
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": "rotated-away" });
    let claims = issuer.claims("app", RESOURCE, "");
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&[7; 96])
    )
}

async fn validate_all(validator: &Validator, tokens: &[String]) {
    for token in tokens {
        validator.validate(token).await.unwrap();
    }
}

#[tokio::test]
async fn refreshes_that_keep_the_keys_keep_every_verified_token() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let (counters, validator) = counted_validator(&issuer);
    let tokens: Vec<String> = (0..20)
        .map(|i| issuer.mint(issuer.claims(&format!("app-{i}"), RESOURCE, "")))
        .collect();
    validate_all(&validator, &tokens).await;
    assert_eq!(counters.signature_checks(), 20);
    let stats = || validator.jwks_stats(issuer.issuer()).unwrap();

    // A refresh that returns the same keys.
    validator.warm_up().await.unwrap();
    validate_all(&validator, &tokens).await;
    assert_eq!(counters.signature_checks(), 20, "after a same-keys refresh");

    // A refresh forced by an unknown kid.
    assert_eq!(
        validator
            .validate(&unknown_kid_token(&issuer))
            .await
            .unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(stats().unknown_kid, 1);
    validate_all(&validator, &tokens).await;
    assert_eq!(
        counters.signature_checks(),
        20,
        "after an unknown-kid refresh"
    );

    // A set that gained a key still vouches for the tokens of the key it kept.
    issuer.add_key(SigningAlgorithm::ES384).unwrap();
    validator.warm_up().await.unwrap();
    assert_eq!(stats().keys, 2);
    validate_all(&validator, &tokens).await;
    assert_eq!(counters.signature_checks(), 20, "after a key was added");
    assert_eq!(stats().fetches, 4);
}

#[tokio::test]
async fn a_removed_key_still_drops_its_tokens_at_once() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let second = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    let (counters, validator) = counted_validator(&issuer);
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": second });
    let by_second = issuer
        .mint_with_key(&second, header, issuer.claims("app", RESOURCE, ""))
        .unwrap();
    let by_first = issuer.mint(issuer.claims("app", RESOURCE, ""));
    validate_all(&validator, &[by_first.clone(), by_second.clone()]).await;
    assert_eq!(counters.signature_checks(), 2);

    assert!(issuer.remove_key(&second));
    validator.warm_up().await.unwrap();
    assert_eq!(
        validator.validate(&by_second).await.unwrap_err(),
        AuthError::UnknownKey
    );
    validator.validate(&by_first).await.unwrap();
    assert_eq!(
        counters.signature_checks(),
        2,
        "the kept key's token stays cached"
    );
}
