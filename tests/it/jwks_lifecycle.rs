//! The key set under failure, against a loopback JWKS server the test controls (the dev issuer:
//! it counts requests, rotates keys, answers 503, hangs, sends garbage or 10 MB).
//! The schedule and the backoff run on a `TestClock`: no test waits for them. Fetch timeouts
//! are real (they bound real I/O), shortened through `JwksPolicy`.

use std::time::{Duration, Instant};

use scopegate::{AuthError, Clock as _, JwksError, JwksPolicy, TestClock, Validator};
use scopegate_dev::{DevIssuer, JwksFault, SigningAlgorithm, b64};
use scopegate_tests::{RESOURCE, config_for, dev_issuer, until};
use serde_json::json;

/// Fetches time out after 300 ms (real time: it bounds real I/O). On the system clock, a refresh
/// every 100 ms (the floor, since the dev issuer sends Logto's `max-age=0`), retries from 100 ms
/// doubling to 400 ms.
fn fast_policy() -> JwksPolicy {
    let mut policy = JwksPolicy::default();
    policy.fetch_timeout = Duration::from_millis(300);
    policy.min_refresh_interval = Duration::from_millis(100);
    policy.retry_initial = Duration::from_millis(100);
    policy.retry_max = Duration::from_millis(400);
    policy
}

fn validator_with(issuer: &DevIssuer, policy: JwksPolicy) -> Validator {
    Validator::new(config_for(issuer).jwks_policy(policy).build().unwrap()).unwrap()
}

fn validator_on(issuer: &DevIssuer, policy: JwksPolicy, clock: &TestClock) -> Validator {
    Validator::builder()
        .issuer(config_for(issuer).jwks_policy(policy).build().unwrap())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// A token naming `kid` with an invalid signature: enough to exercise the key lookup.
fn token_with_kid(issuer: &DevIssuer, kid: &str) -> String {
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": kid });
    let claims = issuer.claims("storm", RESOURCE, "");
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&[7; 96])
    )
}

/// A fresh valid token (fresh, so the verified-token cache cannot answer for it).
fn fresh(issuer: &DevIssuer) -> String {
    issuer.mint(issuer.claims("app", RESOURCE, "read:products"))
}

#[tokio::test]
async fn rotation_is_picked_up_without_restart() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator_with(&issuer, JwksPolicy::default());
    validator.validate(&fresh(&issuer)).await.unwrap();
    issuer.rotate_key().unwrap();
    validator
        .validate(&fresh(&issuer))
        .await
        .expect("new kid accepted right after rotation");
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    assert_eq!((stats.fetches, stats.initial, stats.unknown_kid), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_unknown_kids_costs_at_most_one_fetch() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator_with(&issuer, JwksPolicy::default());
    validator.warm_up().await.unwrap();
    let tasks: Vec<_> = (0..1000u32)
        .map(|i| {
            let validator = validator.clone();
            let token = token_with_kid(&issuer, &format!("random-{i}-{}", b64(&i.to_be_bytes())));
            tokio::spawn(async move { validator.validate(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), AuthError::UnknownKey);
    }
    assert!(
        issuer.jwks_requests() <= 2,
        "JWKS fetched {} times",
        issuer.jwks_requests()
    );
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    assert!(stats.unknown_kid <= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_behind_a_hanging_issuer_waits_for_one_fetch_timeout_only() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator_with(&issuer, fast_policy());
    validator.warm_up().await.unwrap();
    issuer.set_jwks_fault(Some(JwksFault::Hang));
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let validator = validator.clone();
            let token = token_with_kid(&issuer, &format!("hang-{i}"));
            tokio::spawn(async move { validator.validate(&token).await })
        })
        .collect();
    for task in tasks {
        // The issuer cannot say whether the kid exists: 503, so clients keep their tokens.
        let error = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(error, Err(AuthError::KeysUnavailable { .. })),
            "{error:?}"
        );
    }
    // A bound against hangs, not a timing assertion: one 300 ms fetch timeout, not 200 of them.
    assert!(started.elapsed() < Duration::from_secs(10));
    // Known keys never wait on the hanging issuer.
    validator.validate(&fresh(&issuer)).await.unwrap();
}

#[tokio::test]
async fn an_outage_keeps_known_keys_working_and_retries_back_off() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let policy = JwksPolicy::default();
    let validator = validator_on(&issuer, policy.clone(), &clock);
    validator.warm_up().await.unwrap();
    let stats = || validator.jwks_stats(issuer.issuer()).unwrap();
    issuer.set_jwks_fault(Some(JwksFault::Status(503)));
    // Each failure schedules the next attempt after min(initial · 2^(n-1), max), of which half
    // is fixed and half random ("equal jitter").
    let mut delays = Vec::new();
    for failures in 1..=10u32 {
        // Due: the (clock-driven) background task runs the attempt.
        clock.set(stats().next_refresh.unwrap());
        until("the next attempt", || {
            stats().failures == u64::from(failures)
        })
        .await;
        let delay = stats()
            .next_refresh
            .unwrap()
            .duration_since(clock.now())
            .unwrap();
        let full = policy
            .retry_initial
            .saturating_mul(1 << (failures - 1))
            .min(policy.retry_max);
        assert!(
            delay >= full / 2 && delay <= full,
            "attempt {failures}: retry in {delay:?}, outside [{:?}, {full:?}]",
            full / 2
        );
        delays.push(delay);
        validator
            .validate(&fresh(&issuer))
            .await
            .expect("known key during the outage");
    }
    assert_eq!(
        stats().scheduled,
        10,
        "one attempt per due time: {delays:?}"
    );
    assert_eq!(issuer.jwks_requests(), 11);
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hold_up_known_keys() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let validator = validator_on(&issuer, fast_policy(), &clock);
    validator.warm_up().await.unwrap();
    issuer.set_jwks_fault(Some(JwksFault::Hang));
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    clock.set(stats.next_refresh.unwrap());
    until("a scheduled refresh hanging at the issuer", || {
        issuer.jwks_requests() == 2
    })
    .await;
    for _ in 0..5 {
        validator.validate(&fresh(&issuer)).await.unwrap();
    }
    let error = validator.warm_up().await.unwrap_err();
    assert!(matches!(error, JwksError::Timeout { .. }), "{error:?}");
}

#[tokio::test]
async fn after_recovery_a_rotated_key_is_picked_up() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let clock = TestClock::at_system_time();
    let validator = validator_on(&issuer, JwksPolicy::default(), &clock);
    validator.warm_up().await.unwrap();
    let stats = || validator.jwks_stats(issuer.issuer()).unwrap();
    issuer.set_jwks_fault(Some(JwksFault::Status(503)));
    clock.set(stats().next_refresh.unwrap());
    until("a failed refresh", || stats().failures == 1).await;
    issuer.rotate_key().unwrap();
    let token = fresh(&issuer);
    // Still down: the new kid cannot be looked up, so the token may be good (503).
    assert!(matches!(
        validator.validate(&token).await,
        Err(AuthError::KeysUnavailable { .. })
    ));
    issuer.set_jwks_fault(None);
    // Up again: once the unknown-kid cooldown has passed, the next request fetches the set.
    clock.advance(JwksPolicy::default().unknown_kid_cooldown);
    validator
        .validate(&token)
        .await
        .expect("the rotated key after recovery");
}

#[tokio::test]
async fn a_removed_key_stops_validating_after_the_refresh_that_drops_it() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let second = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    let clock = TestClock::at_system_time();
    let validator = validator_on(&issuer, JwksPolicy::default(), &clock);
    validator.warm_up().await.unwrap();
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": second });
    let by_second = issuer
        .mint_with_key(&second, header, issuer.claims("app", RESOURCE, ""))
        .unwrap();
    validator.validate(&by_second).await.unwrap(); // now also in the verified-token cache

    assert!(issuer.remove_key(&second));
    let stats = || validator.jwks_stats(issuer.issuer()).unwrap();
    clock.set(stats().next_refresh.unwrap());
    until("the scheduled refresh", || stats().fetches == 2).await;
    assert_eq!(stats().scheduled, 1);
    assert_eq!(
        validator.validate(&by_second).await.unwrap_err(),
        AuthError::UnknownKey
    );
    validator.validate(&fresh(&issuer)).await.unwrap();
}

#[tokio::test]
async fn bad_responses_never_replace_a_good_set() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator_with(&issuer, fast_policy());
    validator.warm_up().await.unwrap();
    let jwk = issuer.public_jwk();
    let too_many = json!({ "keys": vec![jwk; 101] }).to_string().into_bytes();
    let huge = format!("{{\"keys\":[{}]}}", "0,".repeat(5 * 1024 * 1024)).into_bytes();
    type Expected = fn(&JwksError) -> bool;
    let cases: Vec<(JwksFault, Expected)> = vec![
        (JwksFault::Body(b"<html>oops</html>".to_vec()), |e| {
            *e == JwksError::NotJson
        }),
        (JwksFault::Body(b"{\"no\":\"keys\"}".to_vec()), |e| {
            *e == JwksError::NotAJwks
        }),
        (
            JwksFault::Body(b"{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}".to_vec()),
            |e| *e == JwksError::NoUsableKeys,
        ),
        (JwksFault::Body(too_many), |e| {
            matches!(
                e,
                JwksError::TooManyKeys {
                    count: 101,
                    max: 100
                }
            )
        }),
        (JwksFault::Body(huge), |e| {
            matches!(e, JwksError::TooLarge { max: 524_288 })
        }),
        (JwksFault::Status(500), |e| {
            matches!(e, JwksError::Status { status: 500, .. })
        }),
    ];
    for (fault, expected) in cases {
        issuer.set_jwks_fault(Some(fault));
        let error = validator.warm_up().await.unwrap_err();
        assert!(expected(&error), "{error:?}");
        validator
            .validate(&fresh(&issuer))
            .await
            .expect("the old set is still in use");
    }
}

#[tokio::test]
async fn logto_style_no_cache_still_gives_a_cached_set() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    assert_eq!(issuer.jwks_requests(), 0);
    // Default policy: max-age=0 is raised to the one-minute floor.
    let validator = validator_with(&issuer, JwksPolicy::default());
    for _ in 0..50 {
        validator.validate(&fresh(&issuer)).await.unwrap();
    }
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn counters_say_why_each_fetch_happened() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = validator_with(&issuer, JwksPolicy::default());
    validator.validate(&fresh(&issuer)).await.unwrap();
    validator.warm_up().await.unwrap();
    issuer.rotate_key().unwrap();
    validator.validate(&fresh(&issuer)).await.unwrap();
    issuer.set_jwks_fault(Some(JwksFault::Status(502)));
    validator.warm_up().await.unwrap_err();
    let stats = validator.jwks_stats(issuer.issuer()).unwrap();
    assert_eq!(
        (
            stats.fetches,
            stats.failures,
            stats.initial,
            stats.warm_up,
            stats.unknown_kid
        ),
        (4, 1, 1, 2, 1)
    );
    assert_eq!(stats.keys, 1);
    assert!(stats.last_success.is_some());
}
