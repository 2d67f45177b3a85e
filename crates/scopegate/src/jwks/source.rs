//! The live key set of one issuer: read lock-free on every request, refreshed by one fetch at a
//! time, on a schedule, and on unknown `kid`s no more than once per cooldown.
//!
//! The schedule survives the runtime that started it: the background task runs on whichever
//! tokio runtime first needed the keys, and when that runtime ends (a `#[tokio::test]`, a startup
//! block), the next request starts it again on its own. Should no task run it at all (a runtime
//! that is kept but no longer driven), a request that finds the refresh overdue by more than
//! one fetch timeout and a second runs it itself: no key set outlives its refresh time by more.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, Guard};
#[cfg(feature = "remote")]
use url::Url;

mod readiness;
mod refresh;
mod schedule;

#[cfg(all(feature = "openapi", feature = "remote"))]
use super::fetch::Endpoint;
#[cfg(feature = "remote")]
use super::fetch::Fetcher;
use super::{JwksError, JwksPolicy, JwksSource, KeySet};
use crate::clock::Clock;
pub use readiness::IssuerReadiness;

/// Why a fetch of the key set was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshReason {
    /// The first token arrived and no key set was ever fetched.
    Initial,
    /// A token named a `kid` the current set lacks.
    UnknownKid,
    /// The refresh interval (or a retry delay) elapsed.
    Scheduled,
    /// [`Validator::warm_up`](crate::Validator::warm_up).
    WarmUp,
    /// A request found the scheduled refresh overdue: no task ran it.
    Overdue,
}

impl RefreshReason {
    fn as_str(self) -> &'static str {
        match self {
            RefreshReason::Initial => "initial",
            RefreshReason::UnknownKid => "unknown_kid",
            RefreshReason::Scheduled => "scheduled",
            RefreshReason::WarmUp => "warm_up",
            RefreshReason::Overdue => "overdue",
        }
    }
}

/// Counters of one issuer's key fetches (for tests, dashboards and alerts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStats {
    /// Fetch attempts (discovery and JWKS together count as one).
    pub fetches: u64,
    /// Attempts that failed; the previous key set stayed in use.
    pub failures: u64,
    /// Attempts for the first token.
    pub initial: u64,
    /// Attempts caused by unknown `kid`s.
    pub unknown_kid: u64,
    /// Scheduled refreshes and retries.
    pub scheduled: u64,
    /// Attempts by `warm_up`.
    pub warm_up: u64,
    /// Scheduled refreshes that a request ran because no background task had run them in time.
    pub overdue: u64,
    /// Times the background refresh task was started: more than once when a runtime that ran it
    /// ended and a request on another runtime started it again.
    pub background_starts: u64,
    /// When the next scheduled refresh (or retry) is due.
    pub next_refresh: Option<SystemTime>,
    /// Keys in the current set.
    pub keys: usize,
    /// When the current set was fetched.
    pub last_success: Option<SystemTime>,
}

/// One issuer's key set and the machinery that keeps it fresh. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct KeySource {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    issuer: Arc<str>,
    origin: Origin,
    #[cfg(feature = "remote")]
    fetcher: Fetcher,
    policy: JwksPolicy,
    clock: Arc<dyn Clock>,
    keys: ArcSwap<KeySet>,
    /// `keys`' generation, stored right after each swap: a cache hit compares it without
    /// loading the set. A reader may see the replaced set's number for an instant after the
    /// swap, as if it had come a moment earlier.
    generation: AtomicU64,
    /// A set was fetched (or given) at least once.
    has_keys: AtomicBool,
    /// The last fetch attempt succeeded.
    healthy: AtomicBool,
    /// Single flight: held for the duration of one fetch.
    gate: tokio::sync::Mutex<()>,
    /// Completed attempts; a waiter that sees it move knows it joined someone else's fetch.
    completed: AtomicU64,
    state: Mutex<State>,
    /// Unix milliseconds (on `clock`) from which a request runs the scheduled refresh itself:
    /// the schedule plus one fetch timeout and a second; `u64::MAX` while there is nothing to
    /// refresh. An atomic, so that cache hits check it without a lock.
    overdue_at: AtomicU64,
    /// The id of the live background task; 0 when none runs.
    background: AtomicU64,
    /// Wakes the background task when a fetch moved the schedule.
    rescheduled: Arc<tokio::sync::Notify>,
    /// Wakes everyone waiting for keys (`warm_up_for`) when a fetch completed.
    fetched: tokio::sync::Notify,
    /// When this source was made: the keys of a fetched source are missing since then.
    created: SystemTime,
    counters: Counters,
}

#[derive(Debug)]
enum Origin {
    Static,
    /// Keys fetched (feature `remote`); without it, configs with other sources are refused.
    #[cfg(feature = "remote")]
    Uri(Url),
    #[cfg(feature = "remote")]
    Discovery {
        discovered: Mutex<Option<Url>>,
    },
}

/// Times are the validator's clock's.
#[derive(Debug)]
struct State {
    last_attempt: Option<SystemTime>,
    /// The last fetch caused by an unknown `kid`: the cooldown counts from it, so a key rotated
    /// just after a scheduled fetch is still picked up at once.
    last_unknown_kid_attempt: Option<SystemTime>,
    next_refresh: SystemTime,
    consecutive_failures: u32,
    last_success: Option<SystemTime>,
    /// The outcome of the last attempt, handed to callers that joined it.
    last_result: Option<Result<(), JwksError>>,
    /// When the current run of failed attempts began.
    failing_since: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct Counters {
    failures: AtomicU64,
    initial: AtomicU64,
    unknown_kid: AtomicU64,
    scheduled: AtomicU64,
    warm_up: AtomicU64,
    overdue: AtomicU64,
    background_starts: AtomicU64,
}

impl KeySource {
    pub(crate) fn new(
        issuer: Arc<str>,
        source: JwksSource,
        #[cfg(feature = "remote")] fetcher: Fetcher,
        policy: JwksPolicy,
        clock: Arc<dyn Clock>,
    ) -> KeySource {
        let (origin, keys, has_keys) = match source {
            JwksSource::Static(set) => (Origin::Static, set, true),
            #[cfg(feature = "remote")]
            JwksSource::Uri(url) => (Origin::Uri(url), KeySet::default(), false),
            #[cfg(feature = "remote")]
            JwksSource::Discovery => (
                Origin::Discovery {
                    discovered: Mutex::new(None),
                },
                KeySet::default(),
                false,
            ),
            // `AuthConfigBuilder::build` refuses fetched sources without `remote`.
            #[cfg(not(feature = "remote"))]
            _ => (Origin::Static, KeySet::default(), true),
        };
        let created = clock.now();
        let next_refresh = created + policy.default_refresh_interval;
        let usable = if has_keys { 1.0 } else { 0.0 };
        metrics::gauge!("scopegate_jwks_usable", "issuer" => issuer.to_string()).set(usable);
        KeySource {
            shared: Arc::new(Shared {
                issuer,
                origin,
                #[cfg(feature = "remote")]
                fetcher,
                policy,
                clock,
                generation: AtomicU64::new(keys.generation()),
                keys: ArcSwap::from_pointee(keys),
                has_keys: AtomicBool::new(has_keys),
                healthy: AtomicBool::new(true),
                gate: tokio::sync::Mutex::new(()),
                completed: AtomicU64::new(0),
                state: Mutex::new(State {
                    last_attempt: None,
                    last_unknown_kid_attempt: None,
                    next_refresh,
                    consecutive_failures: 0,
                    last_success: None,
                    last_result: None,
                    failing_since: None,
                }),
                // Nothing is due before the first fetch (a static set is never due).
                overdue_at: AtomicU64::new(u64::MAX),
                background: AtomicU64::new(0),
                rescheduled: Arc::new(tokio::sync::Notify::new()),
                fetched: tokio::sync::Notify::new(),
                created,
                counters: Counters::default(),
            }),
        }
    }

    /// Finds `endpoint` in the issuer's discovery document with this source's client and
    /// rules, under its fetch timeout.
    #[cfg(all(feature = "openapi", feature = "remote"))]
    pub(crate) async fn discover(&self, endpoint: Endpoint) -> Result<Url, JwksError> {
        let shared = &self.shared;
        let discovery = shared.fetcher.discover(&shared.issuer, endpoint);
        match tokio::time::timeout(shared.policy.fetch_timeout, discovery).await {
            Ok(result) => result,
            Err(_) => Err(JwksError::Timeout {
                url: format!("the discovery documents of {}", shared.issuer),
            }),
        }
    }

    /// The current key set: a lock-free snapshot.
    pub(crate) fn current(&self) -> Guard<Arc<KeySet>> {
        self.shared.keys.load()
    }

    /// The current set's [`generation`](KeySet::generation), without loading the set.
    pub(crate) fn current_generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Whether a key set was ever fetched (or given).
    pub(crate) fn has_keys(&self) -> bool {
        self.shared.has_keys.load(Ordering::Acquire)
    }

    /// Whether the last fetch attempt succeeded.
    pub(crate) fn is_healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Acquire)
    }

    /// How long a client should wait before the keys may be there: until the next attempt,
    /// between one second and the cooldown.
    pub(crate) fn retry_after(&self) -> Duration {
        let state = self.shared.lock_state();
        let until_next = state
            .next_refresh
            .duration_since(self.shared.clock.now())
            .unwrap_or(Duration::ZERO);
        until_next.clamp(
            Duration::from_secs(1),
            self.shared
                .policy
                .unknown_kid_cooldown
                .max(Duration::from_secs(1)),
        )
    }

    pub(crate) fn stats(&self) -> JwksStats {
        let shared = &self.shared;
        let c = &shared.counters;
        let (last_success, next_refresh) = {
            let state = shared.lock_state();
            (state.last_success, state.next_refresh)
        };
        JwksStats {
            fetches: shared.completed.load(Ordering::Acquire),
            failures: c.failures.load(Ordering::Relaxed),
            initial: c.initial.load(Ordering::Relaxed),
            unknown_kid: c.unknown_kid.load(Ordering::Relaxed),
            scheduled: c.scheduled.load(Ordering::Relaxed),
            warm_up: c.warm_up.load(Ordering::Relaxed),
            overdue: c.overdue.load(Ordering::Relaxed),
            background_starts: c.background_starts.load(Ordering::Relaxed),
            keys: shared.keys.load().len(),
            last_success,
            next_refresh: (!matches!(shared.origin, Origin::Static)).then_some(next_refresh),
        }
    }

    /// Fetches the key set unless another fetch is running (then waits for it, bounded) or, for
    /// request-driven reasons, the cooldown has not passed. Returns the result of the fetch this
    /// call made or joined, or `None` if there was none.
    pub(crate) async fn refresh(&self, reason: RefreshReason) -> Option<Result<(), JwksError>> {
        let seen = self.shared.completed.load(Ordering::Acquire);
        self.refresh_unless_done_since(reason, seen).await
    }

    /// [`refresh`](Self::refresh), where a fetch completed since the count `seen` of completed
    /// attempts counts as done.
    async fn refresh_unless_done_since(
        &self,
        reason: RefreshReason,
        seen: u64,
    ) -> Option<Result<(), JwksError>> {
        let shared = &self.shared;
        if matches!(shared.origin, Origin::Static) {
            return None;
        }
        // The holder's fetch is bounded by the fetch timeout, so this wait is too.
        let wait = shared.policy.fetch_timeout + Duration::from_millis(250);
        let Ok(_gate) = tokio::time::timeout(wait, shared.gate.lock()).await else {
            return None;
        };
        if shared.completed.load(Ordering::Acquire) != seen {
            // Joined a fetch that finished while we waited: its outcome is ours.
            return shared.lock_state().last_result.clone();
        }
        // Request-driven fetches are rate-limited by the cooldown; the schedule limits itself.
        let cooling_since = {
            let state = shared.lock_state();
            match reason {
                RefreshReason::Initial => state.last_attempt,
                RefreshReason::UnknownKid => state.last_unknown_kid_attempt,
                RefreshReason::Scheduled | RefreshReason::WarmUp | RefreshReason::Overdue => None,
            }
        };
        let now = shared.clock.now();
        if cooling_since.is_some_and(|at| {
            now.duration_since(at)
                .is_ok_and(|since| since < shared.policy.unknown_kid_cooldown)
                // A clock set back before the last attempt: still cooling.
                || now < at
        }) {
            return None;
        }
        if reason == RefreshReason::Overdue && !self.is_overdue(now) {
            return None;
        }
        Some(shared.fetch_and_swap(reason).await)
    }
}
