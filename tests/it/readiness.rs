//! Starting and staying up while the issuer is down: the shopping API and a bare validator come
//! up against a loopback port where nothing listens, answer 503 where keys are needed, and
//! become ready when the dev issuer starts on that port, with no restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use scopegate::{Algorithm, AuthConfig, AuthError, Clock as _, JwksPolicy, TestClock, Validator};
use scopegate_dev::{DevClient, DevIssuer, JwksFault, SigningAlgorithm, b64};
use scopegate_tests::{RESOURCE, config_for, dev_issuer, get};
use serde_json::json;
use shopping_api::{Settings, start};
use tower::ServiceExt as _;

/// A loopback address where nothing listens (bound once by the OS, then released).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The issuer URL the dev issuer will have on `addr`.
fn issuer_at(addr: SocketAddr) -> String {
    format!("http://{addr}/oidc")
}

/// The dev issuer on `addr`, with the reader app of the shopping API.
async fn issuer_on(addr: SocketAddr) -> DevIssuer {
    DevIssuer::builder()
        .bind(addr)
        .client(DevClient::new(
            "read-app",
            "read-secret",
            RESOURCE,
            ["read:products"],
        ))
        .start()
        .await
        .expect("dev issuer starts on the reserved port")
}

/// A well-formed token naming `issuer`, signed by no one: enough to reach the key lookup.
fn unsigned_token(issuer: &str) -> String {
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": "not-yet-known" });
    let claims = json!({
        "iss": issuer, "aud": RESOURCE, "client_id": "read-app", "scope": "read:products",
        "exp": 4_000_000_000u64, "iat": 1_700_000_000u64,
    });
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&[7; 96])
    )
}

/// Polls `condition` every 50 ms until it holds, for at most `limit`.
async fn within(limit: Duration, what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within {limit:?}: {what}");
}

/// Issue 23's scenario: start with the issuer down, check liveness, readiness and the 503, start
/// the issuer on that port, and see the same process become ready and accept its token.
async fn the_shop_starts_down_and_becomes_ready(discovery: bool) {
    let issuer_addr = free_port();
    let issuer = issuer_at(issuer_addr);
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let shop = start(Settings {
        issuer: Some(issuer.clone()),
        audience: RESOURCE.to_owned(),
        jwks_uri: (!discovery).then(|| format!("{issuer}/jwks")),
        bind: loopback,
        dev_issuer_bind: loopback,
        warm_up: Duration::ZERO,
        ..Settings::default()
    })
    .await
    .expect("an unreachable issuer is not a configuration error");
    let api = format!("http://{}", shop.addr);

    assert_eq!(get(&format!("{api}/health"), None).await.status, 200);
    let ready = get(&format!("{api}/ready"), None).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.body["status"], "not_ready");
    assert_eq!(ready.body["not_ready"], json!([issuer]));
    assert_eq!(ready.body["issuers"][0]["keys_usable"], false);
    let refused = get(&format!("{api}/products"), Some(&unsigned_token(&issuer))).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    let retry_after: u64 = refused.retry_after.expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1);
    let readiness = shop.validator.readiness();
    let missing = &readiness.issuers()[0];
    assert!(!readiness.is_ready());
    assert!(missing.missing_since.is_some() && missing.failing_since.is_some());
    assert!(missing.consecutive_failures >= 1, "{missing:?}");

    let dev = issuer_on(issuer_addr).await;
    assert_eq!(dev.issuer(), issuer);
    let token = dev.mint(dev.claims("read-app", RESOURCE, "read:products"));
    within(
        Duration::from_secs(15),
        "/ready 200 after the issuer came up",
        async || get(&format!("{api}/ready"), None).await.status == 200,
    )
    .await;
    let products = get(&format!("{api}/products"), Some(&token)).await;
    assert_eq!(products.status, 200, "{}", products.text);
    assert!(products.body.as_array().is_some_and(|p| !p.is_empty()));
    let ready = get(&format!("{api}/ready"), None).await;
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(ready.body["not_ready"], json!([]));
    let stats = shop.validator.jwks_stats(&issuer).unwrap();
    assert!(stats.keys >= 1 && stats.failures >= 1, "{stats:?}");
    assert!(
        shop.validator.readiness().issuers()[0]
            .missing_since
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopping_api_by_discovery_starts_while_the_issuer_is_down() {
    the_shop_starts_down_and_becomes_ready(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopping_api_with_a_jwks_uri_starts_while_the_issuer_is_down() {
    the_shop_starts_down_and_becomes_ready(false).await;
}

/// Short retries, so the background retry (not a request) is what brings the keys.
fn fast_policy() -> JwksPolicy {
    JwksPolicy::default()
        .fetch_timeout(Duration::from_millis(500))
        .min_refresh_interval(Duration::from_millis(100))
        .retry_initial(Duration::from_millis(50))
        .retry_max(Duration::from_millis(200))
}

#[tokio::test]
async fn a_validator_retries_in_the_background_and_its_ready_service_follows() {
    let addr = free_port();
    let issuer = issuer_at(addr);
    let config = AuthConfig::builder(issuer.clone(), RESOURCE)
        .jwks_policy(fast_policy())
        .build()
        .unwrap();
    let validator = Validator::new(config).expect("built with the issuer down");
    let ready = validator.ready_service();

    let readiness = validator.warm_up_for(Duration::from_millis(100)).await;
    assert!(!readiness.is_ready());
    let missing: Vec<&str> = readiness.not_ready().map(|i| i.issuer.as_str()).collect();
    assert_eq!(missing, [issuer.as_str()]);
    assert!(readiness.issuers()[0].last_error.is_some());
    let answer = ready.clone().oneshot(http::Request::new(())).await.unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(answer.body()).unwrap();
    assert_eq!(body["not_ready"], json!([issuer]));
    assert!(matches!(
        validator.validate(&unsigned_token(&issuer)).await,
        Err(AuthError::KeysUnavailable { .. })
    ));

    // No token, no probe, no warm-up from here on: only the background retries can fetch.
    let dev = issuer_on(addr).await;
    within(
        Duration::from_secs(15),
        "keys from a background retry",
        async || validator.readiness().is_ready(),
    )
    .await;
    let stats = validator.jwks_stats(&issuer).unwrap();
    assert_eq!(stats.warm_up, 1, "{stats:?}");
    assert!(stats.scheduled >= 1 && stats.failures >= 1, "{stats:?}");
    let answer = ready.oneshot(http::Request::new(())).await.unwrap();
    assert_eq!(answer.status(), 200);
    let token = dev.mint(dev.claims("read-app", RESOURCE, "read:products"));
    validator.validate(&token).await.expect("keys arrived");
}

#[tokio::test]
async fn a_probe_starts_the_first_fetch_of_a_lazy_validator() {
    let dev = dev_issuer(SigningAlgorithm::ES384).await;
    let validator = Validator::new(config_for(&dev).build().unwrap()).unwrap();
    assert!(!validator.readiness().is_ready(), "nothing fetched yet");
    let ready = validator.ready_service();
    let first = ready.clone().oneshot(http::Request::new(())).await.unwrap();
    assert_eq!(first.status(), 503);
    within(
        Duration::from_secs(15),
        "keys fetched after one probe",
        async || validator.readiness().is_ready(),
    )
    .await;
    assert_eq!(validator.jwks_stats(dev.issuer()).unwrap().initial, 1);
    let answer = ready.oneshot(http::Request::new(())).await.unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn keys_served_while_the_issuer_fails_are_ready_and_say_since_when_they_are_stale() {
    let dev = dev_issuer(SigningAlgorithm::ES384).await;
    let validator =
        Validator::new(config_for(&dev).jwks_policy(fast_policy()).build().unwrap()).unwrap();
    assert!(
        validator
            .warm_up_for(Duration::from_secs(15))
            .await
            .is_ready()
    );
    let fresh = validator.readiness().issuers()[0].clone();
    assert!(fresh.failing_since.is_none() && fresh.last_success.is_some());

    dev.set_jwks_fault(Some(JwksFault::Status(503)));
    within(
        Duration::from_secs(15),
        "a scheduled refresh fails",
        async || validator.readiness().issuers()[0].failing_since.is_some(),
    )
    .await;
    let readiness = validator.readiness();
    let stale = &readiness.issuers()[0];
    assert!(
        readiness.is_ready(),
        "stale-if-error: the previous set is still usable"
    );
    assert!(stale.keys_usable && stale.keys == 1 && stale.missing_since.is_none());
    assert!(stale.failing_since >= stale.last_success, "{stale:?}");
    assert!(stale.last_error.is_some());
    let token = dev.mint(dev.claims("read-app", RESOURCE, "read:products"));
    validator.validate(&token).await.expect("stale keys verify");

    dev.set_jwks_fault(None);
    within(
        Duration::from_secs(15),
        "a refresh succeeds again",
        async || validator.readiness().issuers()[0].failing_since.is_none(),
    )
    .await;
}

#[tokio::test]
async fn an_hmac_only_issuer_is_ready_without_any_key_set() {
    let issuer = issuer_at(free_port());
    let hmac = AuthConfig::builder(issuer.clone(), RESOURCE)
        .jwks_uri(format!("{issuer}/jwks"))
        .algorithms([Algorithm::HS256])
        .symmetric_secret([7u8; 32])
        .build()
        .unwrap();
    let validator = Validator::new(hmac).unwrap();
    let readiness = validator.warm_up_for(Duration::from_secs(15)).await;
    assert!(readiness.is_ready(), "{readiness:?}");
    assert_eq!(validator.jwks_stats(&issuer).unwrap().fetches, 0);
}

/// On a `TestClock`: `warm_up_for`'s deadline is the validator's time, and while no key set was
/// ever fetched the background retries never wait longer than the unknown-`kid` cooldown (10 s),
/// where the plain backoff of the default policy would reach 64 s by the seventh failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_keys_are_missing_retries_are_capped_at_the_cooldown() {
    let addr = free_port();
    let issuer = issuer_at(addr);
    let clock = TestClock::at_system_time();
    let config = AuthConfig::builder(issuer.clone(), RESOURCE)
        .jwks_uri(format!("{issuer}/jwks"))
        .build()
        .unwrap();
    let validator = Validator::builder()
        .issuer(config)
        .clock(clock.clone())
        .build()
        .unwrap();
    let failures = || validator.jwks_stats(&issuer).unwrap().failures;

    let waiting = tokio::spawn({
        let validator = validator.clone();
        async move { validator.warm_up_for(Duration::from_secs(3600)).await }
    });
    within(
        Duration::from_secs(15),
        "the first attempt fails",
        async || failures() >= 1,
    )
    .await;
    clock.advance(Duration::from_secs(3600));
    let readiness = waiting.await.unwrap();
    assert!(!readiness.is_ready(), "{readiness:?}");
    let answer = validator
        .ready_service()
        .oneshot(http::Request::new(()))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(answer.body()).unwrap();
    assert!(
        body["issuers"][0]["missing_for_s"].as_u64().unwrap() >= 3600,
        "{body}"
    );

    for _ in 0..7 {
        let before = failures();
        let next = validator.jwks_stats(&issuer).unwrap().next_refresh.unwrap();
        let wait = next.duration_since(clock.now()).unwrap_or_default();
        assert!(
            wait <= Duration::from_secs(10),
            "retry after {before} failures in {wait:?}"
        );
        clock.advance(wait);
        within(
            Duration::from_secs(15),
            "the retry runs and fails",
            async || failures() > before,
        )
        .await;
    }
    assert!(failures() >= 8);

    let dev = issuer_on(addr).await;
    let next = validator.jwks_stats(&issuer).unwrap().next_refresh.unwrap();
    clock.advance(next.duration_since(clock.now()).unwrap_or_default());
    within(
        Duration::from_secs(15),
        "the next retry brings the keys",
        async || validator.readiness().is_ready(),
    )
    .await;
    // Current on the validator's clock, which is an hour and more ahead of the dev issuer's.
    let mut claims = dev.claims("read-app", RESOURCE, "read:products");
    let now = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 300);
    validator
        .validate(&dev.mint(claims))
        .await
        .expect("keys arrived");
}
