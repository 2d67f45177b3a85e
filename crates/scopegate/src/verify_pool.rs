//! The verification pool: signature checks of tokens seen for the first time run on a few
//! dedicated threads, behind a bounded admission queue, so that the async workers stay free to
//! answer cache hits, known-bad tokens and malformed requests at once.
//!
//! Without it, one unauthenticated client sending distinct forged tokens keeps every async worker
//! busy with ~0.2 ms signature checks, and requests with cached tokens (a microsecond of work)
//! wait behind them. With it:
//!
//! * at most [`workers`](VerifyPoolConfig::workers) checks run at once, and at most
//!   [`queue`](VerifyPoolConfig::queue) wait;
//! * a first-sight token arriving at a full queue is answered `503` + `Retry-After` at once, with
//!   no verification ([`AuthError::Overloaded`]);
//! * a token that waited longer than [`queue_deadline`](VerifyPoolConfig::queue_deadline) gets
//!   the same `503` instead of a late verification;
//! * the queue is split in lanes by the client's IP address (when the server provides it, as
//!   axum's `ConnectInfo<SocketAddr>` does), served round-robin. Forgeries copy any `iss` or
//!   `kid`, so nothing in a token can tell them apart before the check; the address can. While
//!   `k` lanes have work, each gets at least `1/k` of the checks, and a full queue makes room for
//!   a newcomer by refusing the newest entry of the longest lane.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::{AuthConfig, Validator, VerifyPoolConfig};
//! # fn demo() -> Result<(), scopegate::ConfigError> {
//! let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://shopping.api").build()?;
//! let validator = Validator::builder()
//!     .issuer(config)
//!     .verify_pool(VerifyPoolConfig::default().workers(2).queue(128).queue_deadline(Duration::from_millis(50)))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! Hand-written: thread pools such as rayon's have no bounded admission, deadline or fair lanes,
//! and a job refused here must cost nothing but a lock.

use std::collections::VecDeque;
use std::fmt;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::algorithm::Algorithm;
use crate::config::ConfigError;
use crate::error::AuthError;
use crate::jwks::VerificationKey;

mod shed;
pub(crate) use shed::Shed;
use shed::ShedLog;

/// Lanes of the queue. Addresses are hashed (with a random seed) onto this many lanes: enough
/// that a legitimate client rarely shares a lane with a flooding one, few enough to scan.
const LANES: usize = 16;

/// The verification pool of a [`Validator`](crate::Validator): how many signature checks run at
/// once, how many may wait, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyPoolConfig {
    /// Threads checking signatures (default: the cores this process may run on).
    pub workers: usize,
    /// Checks that may wait for a thread; past it, `503` at once (default: 64 per worker).
    pub queue: usize,
    /// Longest wait for a thread; past it, `503` instead of a late check (default 100 ms).
    pub queue_deadline: Duration,
    /// `Retry-After` of the `503` (default 1 s).
    pub retry_after: Duration,
    /// Shedding is logged (a warning with the count) at most once per this interval (default 10 s).
    pub shed_log_interval: Duration,
}

impl Default for VerifyPoolConfig {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        VerifyPoolConfig {
            workers,
            queue: 64 * workers,
            queue_deadline: Duration::from_millis(100),
            retry_after: Duration::from_secs(1),
            shed_log_interval: Duration::from_secs(10),
        }
    }
}

impl VerifyPoolConfig {
    /// Sets the number of verification threads (at least 1). The queue is not resized.
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Sets how many checks may wait (at least 1).
    #[must_use]
    pub fn queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }

    /// Sets the longest wait for a thread.
    #[must_use]
    pub fn queue_deadline(mut self, deadline: Duration) -> Self {
        self.queue_deadline = deadline;
        self
    }

    /// Sets the `Retry-After` of the `503`.
    #[must_use]
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Sets the shortest interval between two shedding warnings.
    #[must_use]
    pub fn shed_log_interval(mut self, interval: Duration) -> Self {
        self.shed_log_interval = interval;
        self
    }
}

/// A job is told whether it may run (`Ok`) or was shed; either way it answers its waiter.
type Job = Box<dyn FnOnce(Result<(), Shed>) + Send>;

/// Monotonic time, injectable so that tests pass a deadline without sleeping.
pub(crate) type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

struct Waiting {
    job: Job,
    since: Instant,
}

struct Queue {
    lanes: [VecDeque<Waiting>; LANES],
    waiting: usize,
    /// The lane served next: round-robin over lanes with work.
    next: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    work: Condvar,
    capacity: usize,
    deadline: Duration,
    clock: Clock,
    lane_seed: foldhash::fast::RandomState,
    log: ShedLog,
}

/// The pool; dropping it stops its threads once they finish their current check.
pub(crate) struct VerifyPool {
    shared: Arc<Shared>,
    retry_after: Duration,
}

impl fmt::Debug for VerifyPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyPool")
            .field("capacity", &self.shared.capacity)
            .field("deadline", &self.shared.deadline)
            .finish_non_exhaustive()
    }
}

impl VerifyPool {
    pub(crate) fn start(config: &VerifyPoolConfig) -> Result<VerifyPool, ConfigError> {
        VerifyPool::with_clock(config, Arc::new(Instant::now))
    }

    pub(crate) fn with_clock(
        config: &VerifyPoolConfig,
        clock: Clock,
    ) -> Result<VerifyPool, ConfigError> {
        if config.workers == 0 || config.queue == 0 {
            return Err(ConfigError::InvalidPolicy(
                "the verification pool needs at least one worker and a queue of at least one",
            ));
        }
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                lanes: std::array::from_fn(|_| VecDeque::new()),
                waiting: 0,
                next: 0,
                closed: false,
            }),
            work: Condvar::new(),
            capacity: config.queue,
            deadline: config.queue_deadline,
            clock,
            lane_seed: foldhash::fast::RandomState::default(),
            log: ShedLog::new(config.shed_log_interval),
        });
        let pool = VerifyPool {
            shared: Arc::clone(&shared),
            retry_after: config.retry_after,
        };
        for index in 0..config.workers {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("scopegate-verify-{index}"))
                .spawn(move || shared.serve())
                // Threads already started stop when `pool` drops here.
                .map_err(|_| ConfigError::InvalidPolicy("cannot start verification threads"))?;
        }
        Ok(pool)
    }

    /// Runs `work` on a pool thread, or refuses it at once if the queue is full.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        peer: Option<IpAddr>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Shed>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |admission: Result<(), Shed>| {
            // The request went away while waiting: its check would be wasted.
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(admission.map(|()| work()));
        });
        let admitted = self.shared.submit(peer, job);
        async move {
            admitted?;
            // A dropped reply means the job panicked (the thread survives it).
            answer.await.unwrap_or(Err(Shed::Failed))
        }
    }

    /// Checks a signature on the pool: `Ok(valid)`, or why the check was shed.
    pub(crate) async fn verify_signature(
        &self,
        peer: Option<IpAddr>,
        signing_input: &str,
        signature: &str,
        key: &Arc<VerificationKey>,
        alg: Algorithm,
    ) -> Result<bool, Shed> {
        // The job outlives this borrow of the token: one copy, on the slow path only.
        let split = signing_input.len();
        let owned: Box<str> = [signing_input, signature].join(".").into();
        let key = Arc::clone(key);
        let alg = alg.to_jsonwebtoken();
        let check = self.run(peer, move || {
            let (input, signature) = (&owned[..split], &owned[split + 1..]);
            matches!(
                jsonwebtoken::crypto::verify(signature, input.as_bytes(), &key.decoding, alg),
                Ok(true)
            )
        });
        check.await
    }

    /// The `503` for a shed check, logged at most once per interval.
    pub(crate) fn refusal(&self, shed: Shed) -> AuthError {
        self.shared.log.shed((self.shared.clock)(), shed);
        AuthError::Overloaded {
            retry_after: self.retry_after,
        }
    }

    /// Checks waiting for a thread now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.shared.lock().waiting
    }
}

impl Drop for VerifyPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock: a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lane(&self, peer: Option<IpAddr>) -> usize {
        peer.map_or(0, |ip| {
            (self.lane_seed.hash_one(ip) % LANES as u64) as usize
        })
    }

    fn submit(&self, peer: Option<IpAddr>, job: Job) -> Result<(), Shed> {
        let lane = self.lane(peer);
        let mut queue = self.lock();
        let mut evicted = None;
        if queue.waiting >= self.capacity {
            // Longest-queue drop: a full queue makes room for a lane holding fewer than the
            // longest one by refusing the longest lane's newest entry, so that one client's
            // flood cannot hold the whole queue against the others.
            let (longest, most) = queue
                .lanes
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.len()))
                .max_by_key(|&(_, len)| len)
                .unwrap_or((lane, 0));
            if longest == lane || most <= queue.lanes[lane].len() + 1 {
                return Err(Shed::QueueFull);
            }
            evicted = queue.lanes[longest].pop_back();
            queue.waiting -= 1;
        }
        let since = (self.clock)();
        queue.lanes[lane].push_back(Waiting { job, since });
        queue.waiting += 1;
        drop(queue);
        self.work.notify_one();
        if let Some(evicted) = evicted {
            (evicted.job)(Err(Shed::QueueFull));
        }
        Ok(())
    }

    fn serve(&self) {
        while let Some(waiting) = self.next() {
            let waited = (self.clock)().saturating_duration_since(waiting.since);
            let admission = if waited > self.deadline {
                Err(Shed::Deadline)
            } else {
                Ok(())
            };
            // A panicking check drops its reply (the waiter sees `Failed`); the thread lives on.
            let _ = catch_unwind(AssertUnwindSafe(|| (waiting.job)(admission)));
        }
    }

    /// The next job, round-robin over the lanes; `None` once the pool is dropped.
    fn next(&self) -> Option<Waiting> {
        let mut queue = self.lock();
        loop {
            if queue.closed {
                return None;
            }
            if queue.waiting > 0 {
                for step in 0..LANES {
                    let lane = (queue.next + step) % LANES;
                    if let Some(waiting) = queue.lanes[lane].pop_front() {
                        queue.next = (lane + 1) % LANES;
                        queue.waiting -= 1;
                        return Some(waiting);
                    }
                }
            }
            queue = self
                .work
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The client address the server put in the request's extensions, if any.
pub(crate) fn peer_address(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Some(info.0.ip());
    }
    let _ = extensions;
    None
}

#[cfg(test)]
pub(crate) mod tests;
