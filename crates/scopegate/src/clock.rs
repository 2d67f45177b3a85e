//! Time, injected: [`Clock`] says what time it is and waits for a moment to come.
//!
//! Everything that judges time (`exp`, `nbf` and the leeway, the age of a cached verification,
//! the remembered bad signatures, the key-set refresh schedule, its backoff and the unknown-`kid`
//! cooldown) reads the validator's clock: [`SystemClock`] unless
//! [`ValidatorBuilder::clock`](crate::ValidatorBuilder::clock) gives another. [`TestClock`] is
//! moved by hand, so tests of expiry or of the refresh schedule never wait.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::{Clock, TestClock};
//!
//! let clock = TestClock::at_system_time();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(3600));
//! assert_eq!(clock.now().duration_since(start).unwrap(), Duration::from_secs(3600));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A future returned by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The source of time of a [`Validator`](crate::Validator).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Resolves once `deadline` may have come; the background key refresh waits with it.
    ///
    /// The default waits the time left on tokio's timer (monotonic, so a step of the wall clock
    /// neither holds a refresh back nor brings it forward; and under tokio's paused time, as in
    /// `#[tokio::test(start_paused = true)]`, it follows `tokio::time::advance`). A clock that
    /// moves by other means overrides it.
    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let left = deadline
            .duration_since(self.now())
            .unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(left))
    }
}

/// The operating system's clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to. Clones share one time.
///
/// Waiters of [`Clock::sleep_until`] wake when [`advance`](TestClock::advance) or
/// [`set`](TestClock::set) brings the time to their deadline, and not before.
#[derive(Debug, Clone)]
pub struct TestClock {
    time: Arc<tokio::sync::watch::Sender<SystemTime>>,
}

impl TestClock {
    /// A clock stopped at `time`.
    pub fn new(time: SystemTime) -> TestClock {
        TestClock {
            time: Arc::new(tokio::sync::watch::Sender::new(time)),
        }
    }

    /// A clock stopped at the current system time (tokens minted now are current for it).
    pub fn at_system_time() -> TestClock {
        TestClock::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.time.send_modify(|time| *time += by);
    }

    /// Sets the clock to `time` (backwards too).
    pub fn set(&self, time: SystemTime) {
        self.time.send_replace(time);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.time.borrow()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let mut time = self.time.subscribe();
        Box::pin(async move {
            // Err: every clone of the clock is gone, so the time can never come.
            if time.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// One instant in both units it is compared in: JWT seconds and the schedule's milliseconds,
/// from one conversion (a cache hit compares it in both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnixTime {
    /// As [`unix_seconds`].
    pub(crate) seconds: i64,
    /// As [`unix_millis`].
    pub(crate) millis: u64,
}

impl UnixTime {
    pub(crate) fn of(time: SystemTime) -> UnixTime {
        match time.duration_since(UNIX_EPOCH) {
            Ok(since) => UnixTime {
                seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
                // In u64, not `as_millis`' u128: the same value until the year 584 million.
                millis: since
                    .as_secs()
                    .saturating_mul(1000)
                    .saturating_add(u64::from(since.subsec_millis())),
            },
            Err(_) => UnixTime {
                seconds: unix_seconds(time),
                millis: 0,
            },
        }
    }
}

/// Whole seconds since the Unix epoch (negative before it), the unit of JWT NumericDates.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let secs = before.duration().as_secs();
            // Round towards the past: 0.5 s before the epoch is second -1.
            let whole = i64::try_from(secs).unwrap_or(i64::MAX);
            if before.duration().subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it): the schedule's unit, kept in atomics.
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_towards_the_past() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1500)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(500)), -1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(2)), 0);
    }

    #[tokio::test]
    async fn a_test_clock_wakes_sleepers_only_at_their_deadline() {
        let clock = TestClock::at_system_time();
        let deadline = clock.now() + Duration::from_secs(60);
        let mut sleep = clock.sleep_until(deadline);
        let poll = |sleep: &mut Sleep| {
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            sleep.as_mut().poll(&mut cx).is_ready()
        };
        assert!(!poll(&mut sleep));
        clock.advance(Duration::from_secs(59));
        assert!(!poll(&mut sleep));
        clock.advance(Duration::from_secs(1));
        assert!(poll(&mut sleep));
    }
}
