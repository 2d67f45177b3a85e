//! Tokens without `kid` through a key rotation: each key of the token's `alg` is tried (at most
//! `MAX_KIDLESS_CANDIDATES`), and when none verifies the set is refetched once, within the
//! unknown-`kid` cooldown. Forged kid-less tokens cost a bounded number of checks and fetches.

use std::sync::Arc;

use scopegate::validate::MAX_KIDLESS_CANDIDATES;
use scopegate::{AuthError, JwksPolicy, TestClock, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64};
use scopegate_tests::{Counters, RESOURCE, config_for, dev_issuer};
use serde_json::json;

/// A token with no `kid`, signed by the issuer's key `kid`.
fn kidless_by(issuer: &DevIssuer, kid: &str) -> String {
    let header = json!({ "alg": "ES384", "typ": "at+jwt" });
    issuer
        .mint_with_key(kid, header, issuer.claims("app", RESOURCE, "read:products"))
        .unwrap()
}

#[tokio::test]
async fn a_kidless_token_signed_by_a_newly_published_key_is_accepted() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    validator.warm_up().await.unwrap();
    // The issuer publishes a new key and signs with it at once.
    let new = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    validator
        .validate(&kidless_by(&issuer, &new))
        .await
        .expect("the refetched set has the new key");
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    assert_eq!((stats.fetches, stats.unknown_kid), (2, 1));
}

#[tokio::test]
async fn a_kidless_token_verifies_with_any_key_of_its_alg() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let second = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    validator.warm_up().await.unwrap();
    validator
        .validate(&kidless_by(&issuer, &issuer.kid()))
        .await
        .expect("the first key");
    validator
        .validate(&kidless_by(&issuer, &second))
        .await
        .expect("the second key");
    assert_eq!(validator.jwks_stats(issuer.issuer()).unwrap().fetches, 1);
}

#[tokio::test]
async fn forged_kidless_tokens_cost_bounded_checks_and_no_more_fetches_than_the_cooldown() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    // More keys of the alg than are ever tried.
    for _ in 0..4 {
        issuer.add_key(SigningAlgorithm::ES384).unwrap();
    }
    let clock = TestClock::at_system_time();
    let counters = Arc::new(Counters::default());
    let validator = counters.build(
        Validator::builder()
            .issuer(config_for(&issuer).build().unwrap())
            .clock(clock.clone()),
    );
    validator.warm_up().await.unwrap();
    // Forgeries of a kid-less token (each claims set is distinct: a fresh `jti`).
    let forged: Vec<String> = (0..40u8)
        .map(|i| {
            let header = json!({ "alg": "ES384", "typ": "at+jwt" });
            let claims = issuer.claims(&format!("forger-{i}"), RESOURCE, "write:products");
            format!(
                "{}.{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes()),
                b64(&[i; 96])
            )
        })
        .collect();
    let bound = MAX_KIDLESS_CANDIDATES as u64;

    for token in &forged[..30] {
        assert_eq!(
            validator.validate(token).await.unwrap_err(),
            AuthError::BadSignature
        );
    }
    // Each forgery was tried against the bound of keys; the one refetch found the same keys,
    // so nothing more was tried.
    assert_eq!(counters.signature_checks(), 30 * bound);
    assert_eq!(issuer.jwks_requests(), 2, "warm-up and one refetch");

    // A replayed forgery is answered from the bad-signature cache.
    for _ in 0..10 {
        assert!(validator.validate(&forged[0]).await.is_err());
    }
    assert_eq!(counters.signature_checks(), 30 * bound);

    // The cooldown over, one more refetch is allowed, and no more.
    clock.advance(JwksPolicy::default().unknown_kid_cooldown);
    for token in &forged[30..] {
        assert!(validator.validate(token).await.is_err());
    }
    assert_eq!(issuer.jwks_requests(), 3);
    assert_eq!(counters.signature_checks(), 40 * bound);
}
