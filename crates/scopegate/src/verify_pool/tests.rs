//! The pool's bounds, deadline and lanes, shown by what runs and by the metrics: never by timing.
//! A check is held "in flight" by a job that waits for the test's signal on a pool thread.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use scopegate_dev::DevIssuer;

use super::*;
use crate::{AuthConfig, Validator};

const RESOURCE: &str = "https://shopping.api";

/// Occupies one pool thread until the returned sender is dropped or sent to; returns once the
/// thread has taken it.
fn hold_a_thread(pool: &VerifyPool) -> (mpsc::Sender<()>, impl Future<Output = ()>) {
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel::<()>();
    let held = pool.run(None, move || {
        let _ = started.send(());
        let _ = released.recv();
    });
    running.recv().expect("a pool thread takes the job");
    (
        release,
        async move { held.await.expect("the held job ran") },
    )
}

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
    let pool = validator.pool();
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

/// A clock the test moves by hand.
fn test_clock() -> (Clock, Arc<AtomicU64>) {
    let origin = Instant::now();
    let advanced = Arc::new(AtomicU64::new(0));
    let offset = Arc::clone(&advanced);
    let clock: Clock =
        Arc::new(move || origin + Duration::from_millis(offset.load(Ordering::SeqCst)));
    (clock, advanced)
}

#[tokio::test]
async fn a_check_that_waited_past_the_deadline_is_refused_not_run() {
    let (clock, advanced) = test_clock();
    let config = VerifyPoolConfig::default()
        .workers(1)
        .queue(4)
        .queue_deadline(Duration::from_millis(100));
    let pool = VerifyPool::with_clock(&config, clock).unwrap();
    let (release, held) = hold_a_thread(&pool);
    let ran = Arc::new(AtomicU64::new(0));
    let job = |ran: &Arc<AtomicU64>| {
        let ran = Arc::clone(ran);
        move || ran.fetch_add(1, Ordering::SeqCst)
    };
    let late = pool.run(None, job(&ran));
    advanced.store(101, Ordering::SeqCst);
    let in_time = pool.run(None, job(&ran));
    drop(release);
    held.await;
    assert_eq!(late.await, Err(Shed::Deadline));
    assert_eq!(in_time.await, Ok(0));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_flooding_address_cannot_keep_another_out_of_the_queue() {
    let pool = VerifyPool::start(&VerifyPoolConfig::default().workers(1).queue(3)).unwrap();
    let flooder = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    // Another address on another lane (the lanes' hash is seeded at random).
    let client = (2..=255)
        .map(|last| IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)))
        .find(|ip| pool.shared.lane(Some(*ip)) != pool.shared.lane(Some(flooder)))
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let job = |name: &'static str| {
        let order = Arc::clone(&order);
        move || order.lock().unwrap().push(name)
    };
    let (release, held) = hold_a_thread(&pool);
    let flood: Vec<_> = ["f1", "f2", "f3"]
        .map(|name| pool.run(Some(flooder), job(name)))
        .into();
    // The queue is full: the flooder's own next check is refused at once...
    assert_eq!(
        pool.run(Some(flooder), job("f4")).await,
        Err(Shed::QueueFull)
    );
    // ...while the other address gets in, in place of the flooder's newest.
    let admitted = pool.run(Some(client), job("client"));
    drop(release);
    held.await;
    admitted.await.unwrap();
    let outcomes: Vec<_> = futures_join(flood).await;
    assert_eq!(outcomes, [Ok(()), Ok(()), Err(Shed::QueueFull)]);
    // Round-robin: the newcomer does not wait behind the whole flood.
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 3);
    assert!(order[..2].contains(&"client"), "{order:?}");
}

async fn futures_join<T>(futures: Vec<impl Future<Output = T>>) -> Vec<T> {
    let mut outcomes = Vec::new();
    for future in futures {
        outcomes.push(future.await);
    }
    outcomes
}

#[test]
fn shedding_is_logged_at_most_once_per_interval() {
    let log = ShedLog::new(Duration::from_secs(10));
    let start = log.origin;
    assert_eq!(log.note(start), Some(1));
    for ms in [1, 500, 9_999] {
        assert_eq!(log.note(start + Duration::from_millis(ms)), None);
    }
    assert_eq!(log.note(start + Duration::from_secs(10)), Some(4));
    assert_eq!(log.note(start + Duration::from_secs(11)), None);
}

#[test]
fn a_pool_without_threads_or_queue_is_refused() {
    for config in [
        VerifyPoolConfig::default().workers(0),
        VerifyPoolConfig::default().queue(0),
    ] {
        assert!(matches!(
            VerifyPool::start(&config),
            Err(ConfigError::InvalidPolicy(_))
        ));
    }
}
