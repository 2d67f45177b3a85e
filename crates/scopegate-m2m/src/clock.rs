//! [`Clock`]: where the token source reads the time, so that tests can move it.
//!
//! Every decision about time (is the token due for refresh, has it expired, is a backoff over)
//! reads [`Clock::now`]. Only the bound on one request in flight
//! ([`timeout`](crate::ClientCredentialsBuilder::timeout)) is a real timer, since it bounds
//! real I/O.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of monotonic time for a [`ClientCredentials`](crate::ClientCredentials) source.
///
/// [`SystemClock`] is the default; [`TestClock`] stands still until told to move.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// `std::time::Instant::now()`: the default clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when [`advance`](TestClock::advance) is called: for tests that
/// check refresh, expiry and backoff without waiting. Clones share one time.
///
/// ```
/// use std::time::Duration;
/// use scopegate_m2m::{Clock, TestClock};
///
/// let clock = TestClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
pub struct TestClock {
    start: Instant,
    /// Nanoseconds since `start`.
    offset: Arc<AtomicU64>,
}

impl TestClock {
    /// A clock standing at the real current instant.
    pub fn new() -> TestClock {
        TestClock {
            start: Instant::now(),
            offset: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock forward by `by` (saturating at about 584 years from its start).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(nanos))
            });
    }
}

impl Default for TestClock {
    fn default() -> Self {
        TestClock::new()
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.start + Duration::from_nanos(self.offset.load(Ordering::SeqCst))
    }
}

/// The clock a source holds.
pub(crate) type SharedClock = Arc<dyn Clock>;
