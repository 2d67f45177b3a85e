//! The Redis replay store against a real Redis: atomic across stores, fail closed while Redis is
//! down, and back to normal when it returns.

use std::sync::Arc;
use std::time::Duration;

use scopegate::dpop::{Freshness, RedisReplayStore, ReplayStore};
use scopegate_tests::dpop::random_jti;
use scopegate_tests::redis::TestRedis;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_concurrent_records_of_one_key_on_two_stores_exactly_one_is_new() {
    let redis = TestRedis::shared_or_private();
    let stores = [0, 1].map(|_| Arc::new(RedisReplayStore::builder(redis.url()).build().unwrap()));
    let key = format!("test:{}", random_jti());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let key = key.clone();
            tokio::spawn(async move { store.record(&key, Duration::from_secs(60)).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Freshness::New) => new += 1,
            Ok(Freshness::Seen) => {}
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(new, 1);
    // Another key is new.
    let other = format!("test:{}", random_jti());
    assert_eq!(
        stores[1].record(&other, Duration::from_secs(60)).await,
        Ok(Freshness::New)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_records_fail_closed_then_recover() {
    let mut redis = TestRedis::private();
    let store = RedisReplayStore::builder(redis.url())
        .retry_after(Duration::from_secs(3))
        .build()
        .unwrap();
    let ttl = Duration::from_secs(60);
    assert_eq!(store.record("a", ttl).await, Ok(Freshness::New));
    redis.stop();
    for key in ["b", "c", "a"] {
        let error = store.record(key, ttl).await.unwrap_err();
        assert_eq!(error.retry_after, Duration::from_secs(3));
    }
    redis.restart();
    // The manager reconnects on the next records; an empty Redis has seen nothing.
    let mut answer = store.record("d", ttl).await;
    for _ in 0..20 {
        if answer.is_ok() {
            break;
        }
        answer = store.record("d", ttl).await;
    }
    assert_eq!(answer, Ok(Freshness::New));
    assert_eq!(store.record("d", ttl).await, Ok(Freshness::Seen));
}

#[tokio::test]
async fn a_store_for_a_redis_that_never_ran_fails_closed() {
    // A port nothing listens on: connection refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = RedisReplayStore::builder(format!("redis://127.0.0.1:{port}/"))
        .build()
        .unwrap();
    let error = store.record("x", Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error.retry_after, Duration::from_secs(2));
}
