//! One refresh of the key set: the fetch (discovery first when the source says so) under its
//! timeout, then the new set swapped in and the next refresh scheduled from `Cache-Control`, or
//! the failure counted, retried with backoff and jitter, and the old set kept (stale-if-error).

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
#[cfg(feature = "remote")]
use url::Url;

use super::{Origin, RefreshReason, Shared, State, schedule};
use crate::clock::unix_millis;
use crate::jwks::{JwksError, KeySet};
impl Shared {
    pub(super) fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        // State is plain data updated in one step; a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) async fn fetch_and_swap(&self, reason: RefreshReason) -> Result<(), JwksError> {
        let counter = match reason {
            RefreshReason::Initial => &self.counters.initial,
            RefreshReason::UnknownKid => &self.counters.unknown_kid,
            RefreshReason::Scheduled => &self.counters.scheduled,
            RefreshReason::WarmUp => &self.counters.warm_up,
            RefreshReason::Overdue => &self.counters.overdue,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = match tokio::time::timeout(self.policy.fetch_timeout, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(JwksError::Timeout {
                url: self.display_url(),
            }),
        };
        let elapsed = started.elapsed();
        let now = self.clock.now();
        let outcome = {
            let mut state = self.lock_state();
            state.last_attempt = Some(now);
            if reason == RefreshReason::UnknownKid {
                state.last_unknown_kid_attempt = Some(now);
            }
            match result {
                Ok((set, status, max_age, url)) => {
                    let interval = max_age
                        .unwrap_or(self.policy.default_refresh_interval)
                        .clamp(
                            self.policy.min_refresh_interval,
                            self.policy.max_refresh_interval,
                        );
                    state.next_refresh = now + interval;
                    state.consecutive_failures = 0;
                    state.last_success = Some(now);
                    state.failing_since = None;
                    // Unchanged keys keep their identity: the verified-token cache stays valid.
                    let previous = self.keys.load();
                    let set = set.carry_over(&previous);
                    // A refresh every minute that finds the same keys is routine: INFO only when
                    // the set changed (the first fetch included).
                    let changed = set.generation() != previous.generation();
                    macro_rules! fetched {
                        ($level:expr, $message:literal) => {
                            tracing::event!(
                                target: "scopegate::jwks", $level,
                                issuer = %self.issuer, %url, status, keys = set.len(),
                                duration_ms = elapsed.as_millis() as u64, reason = reason.as_str(),
                                next_refresh_s = interval.as_secs(), $message
                            )
                        };
                    }
                    if changed {
                        fetched!(tracing::Level::INFO, "fetched signing keys");
                    } else {
                        fetched!(tracing::Level::DEBUG, "fetched signing keys, unchanged");
                    }
                    metrics::gauge!("scopegate_jwks_keys", "issuer" => self.issuer.to_string())
                        .set(set.len() as f64);
                    if let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) {
                        metrics::gauge!("scopegate_jwks_last_success_timestamp_seconds", "issuer" => self.issuer.to_string())
                            .set(since_epoch.as_secs_f64());
                    }
                    metrics::gauge!("scopegate_jwks_usable", "issuer" => self.issuer.to_string())
                        .set(1.0);
                    metrics::gauge!("scopegate_jwks_failing_since_timestamp_seconds", "issuer" => self.issuer.to_string())
                        .set(0.0);
                    let generation = set.generation();
                    self.keys.store(Arc::new(set));
                    self.generation.store(generation, Ordering::Release);
                    self.has_keys.store(true, Ordering::Release);
                    self.healthy.store(true, Ordering::Release);
                    Ok(())
                }
                Err(error) => {
                    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                    let has_keys = self.has_keys.load(Ordering::Acquire);
                    let mut delay = self.retry_delay(state.consecutive_failures);
                    if !has_keys {
                        // With no key set every token of this issuer is refused: retry at least
                        // once per cooldown, so keys arrive soon after the issuer is back.
                        delay = delay.min(self.policy.unknown_kid_cooldown);
                    }
                    state.next_refresh = now + delay;
                    let failing_since = *state.failing_since.get_or_insert(now);
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    self.healthy.store(false, Ordering::Release);
                    if state.consecutive_failures == 1
                        && let Ok(at) = failing_since.duration_since(UNIX_EPOCH)
                    {
                        metrics::gauge!("scopegate_jwks_failing_since_timestamp_seconds", "issuer" => self.issuer.to_string())
                            .set(at.as_secs_f64());
                    }
                    #[cfg(feature = "remote")]
                    if let (
                        Origin::Discovery { discovered },
                        JwksError::Status { status: 404, .. },
                    ) = (&self.origin, &error)
                    {
                        // The JWKS moved: discover it again next time.
                        *discovered.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    }
                    macro_rules! failed {
                        ($field:ident = $value:expr, $message:literal) => {
                            tracing::warn!(
                                target: "scopegate::jwks",
                                issuer = %self.issuer, %error,
                                duration_ms = elapsed.as_millis() as u64,
                                reason = reason.as_str(), failures = state.consecutive_failures,
                                retry_in_ms = delay.as_millis() as u64, $field = $value, $message
                            )
                        };
                    }
                    let seconds_since =
                        |since: SystemTime| now.duration_since(since).map_or(0, |d| d.as_secs());
                    if has_keys {
                        failed!(
                            stale_for_s = seconds_since(failing_since),
                            "fetching signing keys failed; keeping the previous set"
                        );
                    } else {
                        // Until a fetch succeeds this issuer's tokens are answered 503.
                        failed!(
                            missing_for_s = seconds_since(self.created),
                            "fetching signing keys failed; no key set yet"
                        );
                    }
                    Err(error)
                }
            }
        };
        let overdue_at = self.lock_state().next_refresh + schedule::overdue_grace(&self.policy);
        self.overdue_at
            .store(unix_millis(overdue_at), Ordering::Relaxed);
        self.lock_state().last_result = Some(outcome.clone());
        self.rescheduled.notify_one();
        self.fetched.notify_waiters();
        let result_label = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!("scopegate_jwks_fetches_total", "issuer" => self.issuer.to_string(), "result" => result_label, "reason" => reason.as_str())
            .increment(1);
        metrics::histogram!("scopegate_jwks_fetch_duration_seconds", "issuer" => self.issuer.to_string())
            .record(elapsed.as_secs_f64());
        self.completed.fetch_add(1, Ordering::Release);
        outcome
    }

    #[cfg(feature = "remote")]
    async fn fetch(&self) -> Result<(KeySet, u16, Option<Duration>, Url), JwksError> {
        let url = match &self.origin {
            Origin::Static => return Err(JwksError::Discovery("static key set")),
            Origin::Uri(url) => url.clone(),
            Origin::Discovery { discovered } => {
                let known = discovered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                match known {
                    Some(url) => url,
                    None => {
                        let url = self.fetcher.discover_jwks_uri(&self.issuer).await?;
                        *discovered.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(url.clone());
                        url
                    }
                }
            }
        };
        let fetched = self
            .fetcher
            .get(&url, "application/jwk-set+json, application/json")
            .await?;
        let set = KeySet::from_jwks_json(&fetched.body, self.policy.max_keys)?;
        Ok((set, fetched.status, fetched.max_age, url))
    }

    /// Without `remote` every source is static: there is nothing to fetch, and refreshes stop
    /// before they get here.
    #[cfg(not(feature = "remote"))]
    async fn fetch(&self) -> Result<(KeySet, u16, Option<Duration>, String), JwksError> {
        Err(JwksError::Discovery("static key set"))
    }

    fn display_url(&self) -> String {
        match &self.origin {
            Origin::Static => String::new(),
            #[cfg(feature = "remote")]
            Origin::Uri(url) => url.to_string(),
            #[cfg(feature = "remote")]
            Origin::Discovery { discovered } => discovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map_or_else(
                    || format!("{}/.well-known/openid-configuration", self.issuer),
                    Url::to_string,
                ),
        }
    }

    /// Exponential backoff with "equal jitter": half the delay fixed, half random, so that many
    /// resource servers restarted together do not retry in lockstep.
    fn retry_delay(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let full = self
            .policy
            .retry_initial
            .saturating_mul(1 << exp)
            .min(self.policy.retry_max);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}
