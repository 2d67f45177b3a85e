//! The validator on its verification pool: refusals by the pool are counted, never timed.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use scopegate_dev::DevIssuer;

use super::*;
use crate::verify_pool::VerifyPoolConfig;
use crate::verify_pool::tests::hold_a_thread;

const RESOURCE: &str = "https://shopping.api";

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// Counter increments since the last call, as `name{label=value}`.
fn counters(snapshotter: &Snapshotter) -> HashMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(count) => {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((format!("{}{{{}}}", key.name(), labels.join(",")), count))
            }
            _ => None,
        })
        .collect()
}

fn count(counts: &HashMap<String, u64>, name: &str) -> u64 {
    counts.get(name).copied().unwrap_or(0)
}

const VALID: &str = "scopegate_signature_checks_total{result=valid}";
const INVALID: &str = "scopegate_signature_checks_total{result=invalid}";
const QUEUE_FULL: &str = "scopegate_verifications_shed_total{reason=queue_full}";
const OVERLOADED: &str = "scopegate_validations_total{outcome=rejected,reason=overloaded}";

#[tokio::test]
async fn with_the_threads_busy_and_the_queue_full_a_new_token_gets_503_without_a_check() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let validator = metrics::with_local_recorder(&recorder, || {
        Validator::builder()
            .issuer(config)
            .verify_pool(VerifyPoolConfig::default().workers(1).queue(1))
            .build()
            .unwrap()
    });
    validator.warm_up().await.unwrap();
    let mint = |sub: &str| issuer.mint(issuer.claims(sub, RESOURCE, "read:products"));
    let cached = mint("cached-app");
    validator.validate(&cached).await.unwrap();
    assert_eq!(count(&counters(&snapshotter), VALID), 1);

    // N = 1 check in flight, then the queue of 1 filled by a first-sight token.
    let pool = &validator.inner.pool;
    let (release, held) = hold_a_thread(pool);
    let queued_token = mint("queued-app");
    let mut queued = Box::pin(validator.validate(&queued_token));
    assert!(poll_once(&mut queued).is_pending());
    assert_eq!(pool.waiting(), 1);

    // The next first-sight tokens, valid or forged, are refused at once and never checked.
    let (signing_input, _) = mint("victim")
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let (_, other_signature) = mint("other")
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let forged = format!("{signing_input}.{other_signature}");
    for token in [mint("new-app"), forged] {
        let error = validator.validate(&token).await.unwrap_err();
        assert_eq!(
            error,
            AuthError::Overloaded {
                retry_after: Duration::from_secs(1)
            }
        );
    }
    let counts = counters(&snapshotter);
    assert_eq!(
        count(&counts, VALID) + count(&counts, INVALID),
        0,
        "{counts:?}"
    );
    assert_eq!(count(&counts, QUEUE_FULL), 2);
    assert_eq!(count(&counts, OVERLOADED), 2);
    assert_eq!(pool.waiting(), 1);

    // Meanwhile the async side answers a cached token and a malformed one without the pool.
    validator.validate(&cached).await.unwrap();
    assert!(matches!(
        validator.validate("not-a-jwt").await,
        Err(AuthError::MalformedToken(_))
    ));

    release.send(()).unwrap();
    held.await;
    queued
        .await
        .expect("the queued token is checked once a thread is free");
    let counts = counters(&snapshotter);
    assert_eq!(count(&counts, VALID), 1, "{counts:?}");
    assert_eq!(count(&counts, INVALID), 0);
}
