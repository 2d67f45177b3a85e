//! What a readiness probe asks of one issuer's key source: are keys at hand, since when are they
//! missing or stale; and the waits and nudges that bring the first keys.

use std::time::SystemTime;

use super::{KeySource, RefreshReason};
use crate::jwks::JwksError;

/// Whether one issuer's keys are usable, and since when they have not been fresh: what a
/// readiness probe needs (see [`Validator::readiness`](crate::Validator::readiness)). Times are
/// the validator's clock's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerReadiness {
    /// The issuer (`iss`).
    pub issuer: String,
    /// A key set is at hand (fetched, possibly stale, or given): its tokens can be verified.
    /// While it is `false`, its tokens are answered `503` with `Retry-After`.
    pub keys_usable: bool,
    /// Keys in the current set.
    pub keys: usize,
    /// When the current set was fetched (`None` for a static set, or none yet).
    pub last_success: Option<SystemTime>,
    /// While no key set was ever fetched: since when the keys have been missing (the
    /// validator's construction).
    pub missing_since: Option<SystemTime>,
    /// While fetches fail: when the first of them failed. With `keys_usable` the previous set is
    /// still served (stale-if-error) and this says since when it has been stale.
    pub failing_since: Option<SystemTime>,
    /// Failed attempts in a row.
    pub consecutive_failures: u32,
    /// Why the last attempt failed, while fetches fail.
    pub last_error: Option<JwksError>,
}

impl KeySource {
    /// Usable keys, and since when they are missing or stale.
    pub(crate) fn readiness(&self) -> IssuerReadiness {
        let shared = &self.shared;
        let keys_usable = self.has_keys();
        let state = shared.lock_state();
        IssuerReadiness {
            issuer: shared.issuer.to_string(),
            keys_usable,
            keys: shared.keys.load().len(),
            last_success: state.last_success,
            missing_since: (!keys_usable).then_some(shared.created),
            failing_since: state.failing_since,
            consecutive_failures: state.consecutive_failures,
            last_error: state
                .failing_since
                .and(state.last_result.clone())
                .and_then(Result::err),
        }
    }

    /// Waits until a key set is at hand or, on the validator's clock, `deadline` passes; says
    /// whether one is.
    pub(crate) async fn wait_for_keys(&self, deadline: SystemTime) -> bool {
        loop {
            // Registered before the check, so a fetch completing in between still wakes us.
            let fetched = self.shared.fetched.notified();
            tokio::pin!(fetched);
            fetched.as_mut().enable();
            if self.has_keys() {
                return true;
            }
            tokio::select! {
                () = fetched => {}
                () = self.shared.clock.sleep_until(deadline) => return self.has_keys(),
            }
        }
    }

    /// While no key set was ever fetched, starts a fetch in the background unless one ran within
    /// the cooldown: a readiness probe then drives the first fetch as a token would, and no
    /// faster. Never waits.
    pub(crate) fn nudge(&self) {
        let shared = &self.shared;
        if self.has_keys() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let now = shared.clock.now();
        let cooling = shared.lock_state().last_attempt.is_some_and(|at| {
            now.duration_since(at)
                .map_or(true, |since| since < shared.policy.unknown_kid_cooldown)
        });
        if cooling || shared.gate.try_lock().is_err() {
            return;
        }
        self.ensure_background_refresh();
        let source = self.clone();
        runtime.spawn(async move { source.refresh(RefreshReason::Initial).await });
    }
}
