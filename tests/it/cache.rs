//! The verified-token cache: correctness, never speed (benchmarks measure that).

use std::time::Duration;

use scopegate::{AuthError, CacheConfig, Validator};
use scopegate_dev::{SigningAlgorithm, unix_now};
use scopegate_tests::{RESOURCE, config_for, dev_issuer};
use serde_json::json;

#[tokio::test]
async fn a_cached_token_still_expires_at_its_exp() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let config = config_for(&issuer).leeway(Duration::ZERO).build().unwrap();
    let validator = Validator::new(config).unwrap();
    let exp = unix_now() + 1;
    let mut claims = issuer.claims("app", RESOURCE, "");
    claims["exp"] = json!(exp);
    let token = issuer.mint(claims);
    validator.validate(&token).await.unwrap();
    validator
        .validate(&token)
        .await
        .expect("a cache hit before exp");
    // Wait for the clock to pass exp (at most about 2 s: NumericDate has whole seconds).
    while unix_now() < exp {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        AuthError::Expired
    );
}

#[tokio::test]
async fn a_token_differing_in_one_byte_never_hits() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let token = issuer.mint(issuer.claims("app", RESOURCE, "read:products"));
    validator.validate(&token).await.unwrap();
    let bytes = token.as_bytes();
    // Flip one character at a time: in the header, the payload and the signature.
    for index in [5, bytes.len() / 2, bytes.len() - 3] {
        let mut altered = bytes.to_vec();
        altered[index] = if altered[index] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_ne!(altered, token);
        assert!(
            validator.validate(&altered).await.is_err(),
            "byte {index} altered still passed"
        );
    }
    for variant in [format!("{token}A"), token[..token.len() - 1].to_owned()] {
        assert!(validator.validate(&variant).await.is_err());
    }
    validator
        .validate(&token)
        .await
        .expect("the original still hits");
}

#[tokio::test]
async fn capacity_is_respected() {
    let issuer = dev_issuer(SigningAlgorithm::EdDSA).await;
    let mut cache = CacheConfig::default();
    cache.capacity = 100;
    let validator = Validator::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .cache(cache)
        .build()
        .unwrap();
    for i in 0..300 {
        let token = issuer.mint(issuer.claims(&format!("app-{i}"), RESOURCE, ""));
        validator.validate(&token).await.unwrap();
    }
    let cached = validator.cached_tokens();
    assert!(
        cached <= 100 && cached > 0,
        "{cached} entries for a capacity of 100"
    );
}

#[tokio::test]
async fn a_removed_key_drops_its_cached_tokens() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let old = issuer.mint(issuer.claims("app", RESOURCE, ""));
    validator.validate(&old).await.unwrap();
    issuer.rotate_key().unwrap();
    // The new kid makes the validator refetch; the old key is gone from that set.
    validator
        .validate(&issuer.mint(issuer.claims("app", RESOURCE, "")))
        .await
        .unwrap();
    assert_eq!(
        validator.validate(&old).await.unwrap_err(),
        AuthError::UnknownKey
    );
}
