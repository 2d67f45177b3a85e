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

use crate::error::AuthError;

pub(crate) fn accepted() {
    metrics::counter!("scopegate_validations_total", "outcome" => "accepted", "reason" => "ok")
        .increment(1);
}

pub(crate) fn rejected(error: &AuthError) {
    metrics::counter!("scopegate_validations_total", "outcome" => "rejected", "reason" => error.reason())
        .increment(1);
}

pub(crate) fn cache(result: &'static str) {
    metrics::counter!("scopegate_token_cache_total", "result" => result).increment(1);
}

pub(crate) fn signature_checked(valid: bool) {
    let result = if valid { "valid" } else { "invalid" };
    metrics::counter!("scopegate_signature_checks_total", "result" => result).increment(1);
}
