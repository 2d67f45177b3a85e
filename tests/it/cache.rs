//! The verified-token cache: correctness, never speed (benchmarks measure that). Time is a
//! `TestClock`: expiry, leeway and the caches' ages are reached without waiting.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use scopegate::{AuthError, CacheConfig, TestClock, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64, unix_now};
use scopegate_tests::{Counters, RESOURCE, config_for, dev_issuer};
use serde_json::json;

fn validator_on(issuer: &DevIssuer, clock: &TestClock, leeway: Duration) -> Validator {
    Validator::builder()
        .issuer(config_for(issuer).leeway(leeway).build().unwrap())
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cached_token_still_expires_at_its_exp() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let validator = validator_on(&issuer, &clock, Duration::ZERO);
    let exp = unix_now() + 30;
    let mut claims = issuer.claims("app", RESOURCE, "");
    claims["exp"] = json!(exp);
    let token = issuer.mint(claims);
    validator.validate(&token).await.unwrap();
    clock.set(UNIX_EPOCH + Duration::from_secs(exp as u64 - 1));
    validator
        .validate(&token)
        .await
        .expect("a cache hit in the last second");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        AuthError::Expired
    );
}

#[tokio::test]
async fn the_leeway_counts_on_the_validators_clock() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let validator = validator_on(&issuer, &clock, Duration::from_secs(60));
    let now = unix_now();
    let mut claims = issuer.claims("app", RESOURCE, "");
    claims["exp"] = json!(now - 30);
    claims["nbf"] = json!(now + 1000);
    let token = issuer.mint(claims);
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        AuthError::NotYetValid
    );
    // 1000 s on: nbf is 0 s away; exp 1030 s ago is far past the leeway.
    clock.advance(Duration::from_secs(1000));
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        AuthError::Expired
    );
    let mut claims = issuer.claims("app", RESOURCE, "");
    let at = unix_now() + 1000;
    claims["exp"] = json!(at - 59);
    let within_leeway = issuer.mint(claims);
    validator
        .validate(&within_leeway)
        .await
        .expect("expired 59 s ago, within the 60 s leeway");
}

#[tokio::test]
async fn a_cached_verification_is_redone_after_the_max_age() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let counters = Arc::new(Counters::default());
    let validator = counters.build(
        Validator::builder()
            .issuer(config_for(&issuer).build().unwrap())
            .clock(clock.clone()),
    );
    let token = issuer.mint(issuer.claims("app", RESOURCE, ""));
    validator.validate(&token).await.unwrap();
    clock.advance(validator.cache_max_age() - Duration::from_secs(1));
    validator.validate(&token).await.unwrap();
    assert_eq!(counters.signature_checks(), 1, "a hit within the max age");
    clock.advance(Duration::from_secs(1));
    validator.validate(&token).await.unwrap();
    assert_eq!(
        counters.signature_checks(),
        2,
        "verified again at the max age"
    );
}

#[tokio::test]
async fn a_bad_signature_is_remembered_for_its_ttl_only() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let counters = Arc::new(Counters::default());
    let validator = counters.build(
        Validator::builder()
            .issuer(config_for(&issuer).build().unwrap())
            .clock(clock.clone()),
    );
    let token = issuer.mint(issuer.claims("app", RESOURCE, ""));
    let (signed, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", b64(&[1; 96]));
    for _ in 0..3 {
        assert_eq!(
            validator.validate(&forged).await.unwrap_err(),
            AuthError::BadSignature
        );
    }
    assert_eq!(counters.signature_checks(), 1);
    clock.advance(CacheConfig::default().rejected_ttl);
    validator.validate(&forged).await.unwrap_err();
    assert_eq!(
        counters.signature_checks(),
        2,
        "checked again after the ttl"
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

#[tokio::test]
async fn a_cache_hit_answers_every_claim_as_first_sight_did() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let counters = Arc::new(Counters::default());
    let validator =
        counters.build(Validator::builder().issuer(config_for(&issuer).build().unwrap()));
    let mut claims = issuer.claims("app", RESOURCE, "write:products read:products");
    claims["tenant"] = json!({ "id": "t-1", "plan": "gold", "limits": [1, 2, 3] });
    claims["name"] = json!("Zoë \u{1F600} \"quoted\"");
    let token = issuer.mint(claims.clone());
    let first = validator.validate(&token).await.unwrap();
    // Two hits: one asked for a typed view first (from the kept text), one for the map first.
    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct Tenant {
        id: String,
        plan: String,
        limits: Vec<u32>,
    }
    #[derive(serde::Deserialize)]
    struct Mine {
        tenant: Tenant,
        name: String,
    }
    let typed = validator.validate(&token).await.unwrap();
    let mine: Mine = typed.claims().deserialize().unwrap();
    assert_eq!(mine.name, "Zoë \u{1F600} \"quoted\"");
    assert_eq!(mine.tenant.limits, [1, 2, 3]);
    let hit = validator.validate(&token).await.unwrap();
    assert_eq!(counters.signature_checks(), 1, "both were cache hits");
    assert_eq!(
        serde_json::Value::Object(hit.claims().raw().clone()),
        claims,
        "every claim, as sent"
    );
    assert_eq!(hit.claims(), first.claims());
    assert_eq!(
        hit.claims().get::<Tenant>("tenant").unwrap().unwrap().plan,
        "gold"
    );
    assert_eq!(hit.subject(), Some("app"));
    assert_eq!(hit.issuer(), issuer.issuer());
    assert_eq!(hit.claims().audience(), [RESOURCE]);
    assert_eq!(hit.scopes().to_string(), "read:products write:products");
}

#[tokio::test]
async fn an_entry_belongs_to_its_validator_and_issuer() {
    // Keyed by digest, an entry is found by its token only; and each validator has its own
    // cache, so a token cached by one proves nothing to another that trusts someone else.
    let trusted = dev_issuer(SigningAlgorithm::ES384).await;
    let other = dev_issuer(SigningAlgorithm::ES384).await;
    let both = Validator::builder()
        .issuer(config_for(&other).build().unwrap())
        .issuer(config_for(&trusted).build().unwrap())
        .build()
        .unwrap();
    let only_other = Validator::new(config_for(&other).build().unwrap()).unwrap();
    let claims = trusted.claims("app", RESOURCE, "read:products");
    let token = trusted.mint(claims.clone());
    for _ in 0..2 {
        let context = both.validate(&token).await.unwrap();
        assert_eq!(
            context.issuer(),
            trusted.issuer(),
            "the hit names the token's issuer"
        );
    }
    assert_eq!(
        only_other.validate(&token).await.unwrap_err(),
        AuthError::WrongIssuer
    );
    // The same claims signed by the other issuer's key under the trusted one's name: another
    // token, another digest, refused at its signature.
    let resigned = other.mint(claims);
    assert!(both.validate(&resigned).await.is_err());
    both.validate(&token)
        .await
        .expect("the original still hits");
}
