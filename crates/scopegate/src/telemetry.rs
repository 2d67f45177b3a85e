//! Metrics, through the `metrics` facade: the application picks the exporter (or none, and then
//! each of these costs a few nanoseconds).
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `scopegate_validations_total` | counter | `outcome` (`accepted`, `rejected`), `reason` | every request's verdict: `ok`, or an [`AuthError::reason`] such as `expired`, `bad_signature`, `missing_token` |
//! | `scopegate_token_cache_total` | counter | `result` (`hit`, `miss`, `known_bad`) | verified-token cache lookups; `known_bad` is a replayed bad signature answered without verifying |
//! | `scopegate_signature_checks_total` | counter | `result` (`valid`, `invalid`) | signature verifications actually performed |
//! | `scopegate_jwks_fetches_total` | counter | `issuer`, `result` (`ok`, `error`), `reason` (`initial`, `unknown_kid`, `scheduled`, `warm_up`) | key-set fetch attempts |
//! | `scopegate_jwks_fetch_duration_seconds` | histogram | `issuer` | duration of each fetch attempt |
//! | `scopegate_jwks_keys` | gauge | `issuer` | keys in the current set |
//! | `scopegate_jwks_last_success_timestamp_seconds` | gauge | `issuer` | when the current set was fetched (Unix time); its age is `time() - this` |

//!
//! The per-request counters are registered once, when the [`Validator`](crate::Validator) is
//! built, so that counting costs an atomic add and no registry lookup: install your recorder
//! (e.g. `PrometheusBuilder::install_recorder`) before building the validator.

use metrics::Counter;

use crate::error::AuthError;

/// The per-request counters of one validator.
pub(crate) struct Counters {
    accepted: Counter,
    rejected: [Counter; AuthError::REASONS.len()],
    cache_hit: Counter,
    cache_miss: Counter,
    cache_known_bad: Counter,
    signature_valid: Counter,
    signature_invalid: Counter,
}

impl Counters {
    pub(crate) fn register() -> Counters {
        let cache = |result: &'static str| metrics::counter!("scopegate_token_cache_total", "result" => result);
        let signature = |result: &'static str| metrics::counter!("scopegate_signature_checks_total", "result" => result);
        Counters {
            accepted: metrics::counter!("scopegate_validations_total", "outcome" => "accepted", "reason" => "ok"),
            rejected: AuthError::REASONS.map(|reason| {
                metrics::counter!("scopegate_validations_total", "outcome" => "rejected", "reason" => reason)
            }),
            cache_hit: cache("hit"),
            cache_miss: cache("miss"),
            cache_known_bad: cache("known_bad"),
            signature_valid: signature("valid"),
            signature_invalid: signature("invalid"),
        }
    }

    pub(crate) fn accepted(&self) {
        self.accepted.increment(1);
    }

    pub(crate) fn rejected(&self, error: &AuthError) {
        self.rejected[error.reason_index()].increment(1);
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
}
