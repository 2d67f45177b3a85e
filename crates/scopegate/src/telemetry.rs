//! Metrics, through the `metrics` facade: the application picks the exporter (or none, and then
//! each of these costs a few nanoseconds).
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `scopegate_validations_total` | counter | `outcome` (`accepted`, `rejected`), `reason` | every request's verdict: `ok`, or a [`Reason`] such as `expired`, `bad_signature`, `missing_token`, `insufficient_scope`; a guard's or extractor's refusal behind the layer counts as the verdict, not `accepted` |
//! | `scopegate_token_cache_total` | counter | `result` (`hit`, `miss`, `known_bad`) | verified-token cache lookups; `known_bad` is a replayed bad signature answered without verifying |
//! | `scopegate_signature_checks_total` | counter | `result` (`valid`, `invalid`) | signature verifications actually performed |
//! | `scopegate_verifications_shed_total` | counter | `reason` (`queue_full`, `deadline`, `failed`) | first-sight signature checks refused with `503` + `Retry-After` without running: the [verification pool](crate::verify_pool)'s queue was full, or the check waited past its deadline |
//! | `scopegate_introspections_total` | counter | `result` (`active`, `refused`, `error`, `shed`) | introspection calls (RFC 7662) by outcome: an active token, a refused one (`active: false` or an answer that refuses it), an endpoint failure (503), or a token refused with 503 without a call because `max_in_flight` calls run and `max_queued` wait; cache hits and waiters of a shared call are not counted |
//! | `scopegate_jwks_fetches_total` | counter | `issuer`, `result` (`ok`, `error`), `reason` (`initial`, `unknown_kid`, `scheduled`, `warm_up`, `overdue`) | key-set fetch attempts |
//! | `scopegate_jwks_fetch_duration_seconds` | histogram | `issuer` | duration of each fetch attempt |
//! | `scopegate_jwks_keys` | gauge | `issuer` | keys in the current set |
//! | `scopegate_jwks_last_success_timestamp_seconds` | gauge | `issuer` | when the current set was fetched (Unix time); its age is `time() - this` |
//! | `scopegate_jwks_usable` | gauge | `issuer` | 1 when a key set is at hand (fetched, possibly stale, or static), 0 while none was ever fetched: that issuer's tokens are answered 503 |
//! | `scopegate_jwks_failing_since_timestamp_seconds` | gauge | `issuer` | when the current run of failed fetches began (Unix time), 0 after a success; keys missing or stale for `time() - this` |

//!
//! The per-request counters are registered once, when the [`Validator`](crate::Validator) is
//! built, so that counting costs an atomic add and no registry lookup: install your recorder
//! (e.g. `PrometheusBuilder::install_recorder`) before building the validator.

use std::sync::Arc;

use metrics::Counter;

use crate::error::Reason;
use crate::verify_pool::Shed;

/// The per-request counters of one validator.
pub(crate) struct Counters {
    accepted: Counter,
    rejected: [Counter; Reason::ALL.len()],
    cache_hit: Counter,
    cache_miss: Counter,
    cache_known_bad: Counter,
    signature_valid: Counter,
    signature_invalid: Counter,
    shed: [Counter; Shed::LABELS.len()],
}

impl Counters {
    pub(crate) fn register() -> Counters {
        let cache = |result: &'static str| metrics::counter!("scopegate_token_cache_total", "result" => result);
        let signature = |result: &'static str| metrics::counter!("scopegate_signature_checks_total", "result" => result);
        Counters {
            accepted: metrics::counter!("scopegate_validations_total", "outcome" => "accepted", "reason" => "ok"),
            rejected: Reason::ALL.map(|reason| {
                metrics::counter!("scopegate_validations_total", "outcome" => "rejected", "reason" => reason.as_str())
            }),
            cache_hit: cache("hit"),
            cache_miss: cache("miss"),
            cache_known_bad: cache("known_bad"),
            signature_valid: signature("valid"),
            signature_invalid: signature("invalid"),
            shed: Shed::LABELS.map(|reason| {
                metrics::counter!("scopegate_verifications_shed_total", "reason" => reason)
            }),
        }
    }

    pub(crate) fn accepted(&self) {
        self.accepted.increment(1);
    }

    pub(crate) fn rejected(&self, reason: Reason) {
        self.rejected[reason as usize].increment(1);
    }

    pub(crate) fn cache_hit(&self) {
        self.cache_hit.increment(1);
    }

    pub(crate) fn cache_miss(&self) {
        self.cache_miss.increment(1);
    }

    pub(crate) fn cache_known_bad(&self) {
        self.cache_known_bad.increment(1);
    }

    pub(crate) fn signature_checked(&self, valid: bool) {
        if valid {
            self.signature_valid.increment(1);
        } else {
            self.signature_invalid.increment(1);
        }
    }

    pub(crate) fn shed(&self, reason: Shed) {
        self.shed[reason.index()].increment(1);
    }
}

/// The verdict of a request the layer let through, settled when its response is known: a guard,
/// an extractor or the handler may still refuse it through the responder, and then the refusal,
/// not "accepted", is the request's verdict.
pub(crate) struct PendingVerdict {
    counters: Option<Arc<Counters>>,
    /// No token, let through by an optional layer: only a later refusal is a verdict.
    anonymous: bool,
}

impl PendingVerdict {
    pub(crate) fn new(counters: Arc<Counters>, anonymous: bool) -> PendingVerdict {
        PendingVerdict {
            counters: Some(counters),
            anonymous,
        }
    }

    /// Records `refusal` if the response is one, "accepted" otherwise.
    pub(crate) fn settle(mut self, refusal: Option<Reason>) {
        if let Some(counters) = self.counters.take() {
            match refusal {
                Some(reason) => counters.rejected(reason),
                None if !self.anonymous => counters.accepted(),
                None => {}
            }
        }
    }
}

impl Drop for PendingVerdict {
    /// The inner service failed or the request was dropped before it answered: the token was
    /// accepted and nothing refused it.
    fn drop(&mut self) {
        if let Some(counters) = self.counters.take()
            && !self.anonymous
        {
            counters.accepted();
        }
    }
}
