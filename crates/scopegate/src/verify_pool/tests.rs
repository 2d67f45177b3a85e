//! The pool's bounds, deadline and lanes, shown by what runs: never by timing. A check is held
//! "in flight" by a job that waits for the test's signal on a pool thread (also used by
//! `validate`'s tests, which count the signature checks).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use super::*;

/// Occupies one pool thread until the returned sender is dropped or sent to; returns once the
/// thread has taken it.
pub(crate) fn hold_a_thread(pool: &VerifyPool) -> (mpsc::Sender<()>, impl Future<Output = ()>) {
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
