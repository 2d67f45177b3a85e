//! The results of introspection: cached by full token, one call per token however many requests
//! carry it at once, and a bound on calls in flight so that a flood of random tokens cannot
//! become a flood on the authorization server.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};

use super::IntrospectionConfig;
use crate::claims::AuthContext;
use crate::clock::{Clock, unix_millis, unix_seconds};
use crate::error::AuthError;

/// What the authorization server said about a token, judged.
#[derive(Clone)]
pub(crate) enum Verdict {
    /// Active: the context, and the seconds since the epoch between which it may be used
    /// (`nbf - leeway`, `exp + leeway`).
    Active {
        context: Arc<AuthContext>,
        valid_from: i64,
        valid_until: i64,
    },
    /// `active: false`, or a response that refuses the token.
    Refused(AuthError),
}

/// Why no verdict could be had (the endpoint failed, or answered something unusable), for the
/// log line: the request gets `503`, never `401`.
#[derive(Debug)]
pub(crate) struct Unavailable(pub(crate) String);

#[derive(Clone)]
struct Entry {
    verdict: Verdict,
    /// Unix milliseconds after which the result is asked again.
    fresh_until: u64,
}

/// A shared call: its result goes to every request that waits on it.
type Flight = Arc<OnceCell<Result<Entry, AuthError>>>;

/// Keyed by the full token, like the verified-token cache: no other string hits an entry.
type ResultCache = moka::sync::Cache<Box<str>, Entry, foldhash::fast::RandomState>;

/// Retry-After of a request refused because too many introspections wait.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// One issuer's introspection results and calls.
pub(crate) struct Flights {
    cache: Option<ResultCache>,
    flights: Mutex<HashMap<Box<str>, Flight>>,
    permits: Semaphore,
    queued: AtomicUsize,
    max_queued: usize,
    cache_ttl: Duration,
    inactive_ttl: Duration,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    /// Whether the endpoint is failing: logged once when it starts and once when it ends.
    outage: AtomicBool,
    /// For log lines.
    issuer: Arc<str>,
    /// `scopegate_introspections_total` by result: active, refused, error, shed.
    outcomes: [metrics::Counter; 4],
}

impl Flights {
    pub(crate) fn new(
        config: &IntrospectionConfig,
        clock: Arc<dyn Clock>,
        issuer: Arc<str>,
    ) -> Flights {
        let longest = config.cache_ttl.max(config.inactive_ttl);
        let cache = (config.cache_capacity > 0 && !longest.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(config.cache_capacity)
                // Frees memory; whether an entry may be used is judged on `clock`.
                .time_to_live(longest)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        Flights {
            cache,
            flights: Mutex::new(HashMap::new()),
            permits: Semaphore::new(config.max_in_flight),
            queued: AtomicUsize::new(0),
            max_queued: config.max_queued,
            cache_ttl: config.cache_ttl,
            inactive_ttl: config.inactive_ttl,
            timeout: config.timeout,
            clock,
            outage: AtomicBool::new(false),
            outcomes: ["active", "refused", "error", "shed"].map(
                |result| metrics::counter!("scopegate_introspections_total", "result" => result),
            ),
            issuer,
        }
    }

    /// The cached result for `token`, if there is a fresh one; synchronous.
    pub(crate) fn cached(&self, token: &str) -> Option<Result<Arc<AuthContext>, AuthError>> {
        let entry = self.cache.as_ref()?.get(token)?;
        let now = self.clock.now();
        if unix_millis(now) >= entry.fresh_until {
            return None;
        }
        Some(judge_now(&entry.verdict, unix_seconds(now)))
    }

    /// The result for `token`: from the cache, or by `ask` (one call shared by every concurrent
    /// request with this token), under the bound on calls in flight and the timeout.
    pub(crate) async fn resolve<F>(
        &self,
        token: &str,
        ask: impl FnOnce() -> F,
    ) -> Result<Arc<AuthContext>, AuthError>
    where
        F: Future<Output = Result<Verdict, Unavailable>>,
    {
        if let Some(result) = self.cached(token) {
            return result;
        }
        let flight = self.join(token);
        let _leave = Leave {
            flights: self,
            token,
            flight: &flight,
        };
        let entry = flight.get_or_init(|| self.call(token, ask)).await.clone()?;
        judge_now(&entry.verdict, unix_seconds(self.clock.now()))
    }

    /// The flight for `token`, joined or started.
    fn join(&self, token: &str) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(flights.entry(Box::from(token)).or_default())
    }

    /// The call itself, once a slot is free; its result cached.
    async fn call<F>(&self, token: &str, ask: impl FnOnce() -> F) -> Result<Entry, AuthError>
    where
        F: Future<Output = Result<Verdict, Unavailable>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    return Err(self.shed());
                }
                let waited = tokio::time::timeout_at(deadline, self.permits.acquire()).await;
                self.queued.fetch_sub(1, Ordering::AcqRel);
                match waited {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(self.shed()),
                }
            }
        };
        let answered = match tokio::time::timeout_at(deadline, ask()).await {
            Ok(answered) => answered,
            Err(_) => Err(Unavailable(format!("no answer within {:?}", self.timeout))),
        };
        let verdict = match answered {
            Ok(verdict) => {
                self.endpoint_answered();
                verdict
            }
            Err(Unavailable(why)) => {
                self.outcomes[2].increment(1);
                self.endpoint_failed(&why);
                return Err(AuthError::IntrospectionUnavailable {
                    retry_after: SHED_RETRY_AFTER,
                });
            }
        };
        let now = self.clock.now();
        let (ttl, outcome) = match &verdict {
            Verdict::Active { .. } => (self.cache_ttl, 0),
            Verdict::Refused(_) => (self.inactive_ttl, 1),
        };
        self.outcomes[outcome].increment(1);
        let entry = Entry {
            verdict,
            fresh_until: unix_millis(now + ttl),
        };
        if let Some(cache) = &self.cache
            && !ttl.is_zero()
        {
            cache.insert(Box::from(token), entry.clone());
        }
        Ok(entry)
    }

    /// Notes a failed call: a warning when it starts an outage, DEBUG while it lasts.
    fn endpoint_failed(&self, why: &str) {
        if self.outage.swap(true, Ordering::AcqRel) {
            tracing::debug!(
                target: "scopegate::introspect",
                issuer = %self.issuer,
                %why,
                "introspection failed"
            );
        } else {
            tracing::warn!(
                target: "scopegate::introspect",
                issuer = %self.issuer,
                %why,
                "introspection endpoint unavailable: tokens that need it get 503 until it answers"
            );
        }
    }

    /// Notes an answer; logs the end of an outage.
    fn endpoint_answered(&self) {
        if self.outage.swap(false, Ordering::AcqRel) {
            tracing::info!(
                target: "scopegate::introspect",
                issuer = %self.issuer,
                "introspection endpoint answers again"
            );
        }
    }

    /// A token refused without a call: too many wait for one.
    fn shed(&self) -> AuthError {
        self.outcomes[3].increment(1);
        AuthError::Overloaded {
            retry_after: SHED_RETRY_AFTER,
        }
    }

    /// Calls waiting for a slot right now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// A cached verdict at `now`: an active token is still refused before `nbf` and after `exp`.
fn judge_now(verdict: &Verdict, now: i64) -> Result<Arc<AuthContext>, AuthError> {
    match verdict {
        Verdict::Active { valid_until, .. } if now >= *valid_until => Err(AuthError::Expired),
        Verdict::Active { valid_from, .. } if now < *valid_from => Err(AuthError::NotYetValid),
        Verdict::Active { context, .. } => Ok(Arc::clone(context)),
        Verdict::Refused(error) => Err(error.clone()),
    }
}

/// Leaves a flight: the last request to leave (finished or cancelled) removes it from the map,
/// so the map holds only calls that someone still waits for, and the next request after a
/// finished call reads the cache or starts a new one.
struct Leave<'a> {
    flights: &'a Flights,
    token: &'a str,
    flight: &'a Flight,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut flights = self
            .flights
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ours = flights
            .get(self.token)
            .is_some_and(|f| Arc::ptr_eq(f, self.flight));
        // Two references: the map's and ours. Others join under this same lock.
        if ours && (self.flight.initialized() || Arc::strong_count(self.flight) <= 2) {
            flights.remove(self.token);
        }
    }
}
