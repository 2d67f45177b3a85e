//! The scheduled key refresh outlives the runtime that started it. A validator is often warmed up
//! in a short-lived runtime (a `#[tokio::test]`, a startup block, a `OnceLock`) and then serves
//! from another; a key the issuer removed must still stop verifying within one refresh interval
//! and a small margin. Time is a `TestClock`: nothing here waits for the interval.

use std::time::Duration;

use scopegate::{AuthError, JwksPolicy, TestClock, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_tests::{RESOURCE, config_for, dev_issuer, until};
use serde_json::json;
use tokio::runtime::{Builder, Runtime};

/// A runtime like `#[tokio::test]`'s.
fn runtime() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// The dev issuer on a runtime of its own, which outlives every runtime of the validator.
struct Fixture {
    _issuer_runtime: Runtime,
    issuer: DevIssuer,
    clock: TestClock,
    validator: Validator,
    /// A published key other than the current one (which the dev issuer cannot remove).
    second: String,
    /// A token signed by `second`.
    token: String,
}

fn fixture() -> Fixture {
    let issuer_runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = issuer_runtime.block_on(dev_issuer(SigningAlgorithm::ES384));
    let second = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    let header = json!({ "alg": "ES384", "typ": "at+jwt", "kid": second });
    let token = issuer
        .mint_with_key(&second, header, issuer.claims("app", RESOURCE, ""))
        .unwrap();
    let clock = TestClock::at_system_time();
    let validator = Validator::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    Fixture {
        _issuer_runtime: issuer_runtime,
        issuer,
        clock,
        validator,
        second,
        token,
    }
}

/// The dev issuer sends Logto's `max-age=0`, so the key set is refreshed at the one-minute floor.
fn interval() -> Duration {
    JwksPolicy::default().min_refresh_interval
}

/// How late a refresh may be before a request runs it: one fetch timeout and a second.
fn margin() -> Duration {
    JwksPolicy::default().fetch_timeout + Duration::from_secs(1)
}

/// Warms up and verifies the token in a runtime that then ends, as a `#[tokio::test]` does.
fn warm_up_in_a_throwaway_runtime(f: &Fixture) {
    let throwaway = runtime();
    throwaway.block_on(async {
        f.validator.warm_up().await.unwrap();
        f.validator.validate(&f.token).await.unwrap();
    });
    drop(throwaway);
}

#[test]
fn a_key_removed_after_the_first_runtime_ended_is_refused_within_one_interval() {
    let f = fixture();
    warm_up_in_a_throwaway_runtime(&f);
    runtime().block_on(async {
        f.validator.validate(&f.token).await.expect("cached");
        assert!(f.issuer.remove_key(&f.second));
        f.clock.advance(interval() - Duration::from_secs(1));
        f.validator
            .validate(&f.token)
            .await
            .expect("the key set is not due for a refresh yet");
        f.clock.advance(Duration::from_secs(1) + margin());
        assert_eq!(
            f.validator.validate(&f.token).await.unwrap_err(),
            AuthError::UnknownKey
        );
    });
}

#[test]
fn the_refresh_task_starts_again_on_the_serving_runtime() {
    let f = fixture();
    warm_up_in_a_throwaway_runtime(&f);
    let stats = || f.validator.jwks_stats(f.issuer.issuer()).unwrap();
    assert_eq!(stats().background_starts, 1);
    runtime().block_on(async {
        // A cache hit is enough to notice that the task's runtime is gone.
        f.validator.validate(&f.token).await.expect("cached");
        assert_eq!(stats().background_starts, 2);
        assert!(f.issuer.remove_key(&f.second));
        // Exactly when it is due: the new task refreshes; no request is late enough to.
        f.clock.advance(interval());
        until("the restarted task's refresh", || stats().fetches == 2).await;
        assert_eq!(stats().scheduled, 1);
        assert_eq!(
            f.validator.validate(&f.token).await.unwrap_err(),
            AuthError::UnknownKey
        );
        assert_eq!(stats().overdue, 0);
    });
}

#[test]
fn a_runtime_kept_but_no_longer_driven_cannot_hold_the_refresh_back() {
    let f = fixture();
    // The task lives on in a runtime that nobody drives any more (a current-thread runtime
    // outside `block_on`), so it is neither dead nor running.
    let kept = runtime();
    kept.block_on(async {
        f.validator.warm_up().await.unwrap();
        f.validator.validate(&f.token).await.unwrap();
    });
    let stats = || f.validator.jwks_stats(f.issuer.issuer()).unwrap();
    runtime().block_on(async {
        assert!(f.issuer.remove_key(&f.second));
        f.clock.advance(interval());
        f.validator
            .validate(&f.token)
            .await
            .expect("the task may still run it");
        f.clock.advance(margin());
        assert_eq!(
            f.validator.validate(&f.token).await.unwrap_err(),
            AuthError::UnknownKey
        );
        // The request ran the overdue refresh; the stalled task was not replaced.
        assert_eq!((stats().overdue, stats().background_starts), (1, 1));
    });
    drop(kept);
}
