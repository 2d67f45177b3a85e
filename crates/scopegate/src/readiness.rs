//! Readiness: whether every issuer's keys are usable, for a `/ready` probe, and a bounded wait
//! for them at start.
//!
//! A validator never needs its issuer to be up to be built: keys are fetched on the first token,
//! by [`Validator::warm_up`] or [`Validator::warm_up_for`], and a failed fetch is retried in the
//! background with backoff. Until a key set arrives, that issuer's tokens are answered `503` with
//! `Retry-After`; once it arrives they are verified, with no restart. An orchestrator should
//! therefore restart nothing while the issuer is down: liveness (`/health`) stays independent of
//! the issuer, and readiness ([`ReadyService`] on `/ready`) keeps traffic away until the keys are
//! there.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use scopegate::{AuthConfig, BearerAuthLayer, Validator, require_scopes};
//!
//! let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://shopping.api").build()?;
//! let validator = Validator::new(config)?; // fails on configuration errors only
//! // Waits up to 5 s for the keys, then serves regardless (logging which issuers lack them).
//! let readiness = validator.warm_up_for(Duration::from_secs(5)).await;
//! for issuer in readiness.not_ready() {
//!     eprintln!("starting without the keys of {}", issuer.issuer);
//! }
//! let app: Router = Router::new()
//!     .route("/products", get(|| async { "[]" }).route_layer(require_scopes(["read:products"])))
//!     .route_layer(BearerAuthLayer::new(validator.clone()))
//!     .route("/health", get(|| async { "ok" }))
//!     .route_service("/ready", validator.ready_service());
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::algorithm::AlgorithmSet;
use crate::config::AuthConfig;
use crate::jwks::{IssuerReadiness, KeySource};
use crate::validate::Validator;

/// Every issuer's [`IssuerReadiness`], in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    issuers: Vec<IssuerReadiness>,
}

impl Readiness {
    /// Every issuer has a usable key set.
    pub fn is_ready(&self) -> bool {
        self.issuers.iter().all(|i| i.keys_usable)
    }

    /// Every issuer, ready or not.
    pub fn issuers(&self) -> &[IssuerReadiness] {
        &self.issuers
    }

    /// The issuers without a usable key set.
    pub fn not_ready(&self) -> impl Iterator<Item = &IssuerReadiness> {
        self.issuers.iter().filter(|i| !i.keys_usable)
    }

    /// The body of the `/ready` answer. Error texts are left out: the probe may be reachable by
    /// more people than the logs, and the logs have them.
    fn to_json(&self, now: SystemTime) -> Value {
        let seconds = |since: Option<SystemTime>| {
            since.map(|at| now.duration_since(at).map_or(0, |d| d.as_secs()))
        };
        let issuers: Vec<Value> = self
            .issuers
            .iter()
            .map(|i| {
                json!({
                    "issuer": i.issuer,
                    "keys_usable": i.keys_usable,
                    "keys": i.keys,
                    "missing_for_s": seconds(i.missing_since),
                    "failing_for_s": seconds(i.failing_since),
                    "consecutive_failures": i.consecutive_failures,
                })
            })
            .collect();
        let not_ready: Vec<&str> = self.not_ready().map(|i| i.issuer.as_str()).collect();
        json!({
            "status": if self.is_ready() { "ready" } else { "not_ready" },
            "not_ready": not_ready,
            "issuers": issuers,
        })
    }
}

impl Validator {
    /// Whether each issuer's keys are usable, and since when they are missing or stale. Cheap:
    /// no fetch, no wait.
    pub fn readiness(&self) -> Readiness {
        let issuers = self
            .issuers()
            .zip(self.key_sources())
            .map(|(config, source)| {
                let mut readiness = source.readiness();
                if !needs_keys(config) {
                    readiness.keys_usable = true;
                    readiness.missing_since = None;
                }
                readiness
            })
            .collect();
        Readiness { issuers }
    }

    /// The key sources whose keys are needed: those of issuers with an asymmetric algorithm.
    fn needed_sources(&self) -> impl Iterator<Item = &KeySource> {
        self.issuers()
            .zip(self.key_sources())
            .filter(|(config, _)| needs_keys(config))
            .map(|(_, source)| source)
    }

    /// Fetches every issuer's keys, waiting at most `deadline` for them, then returns whatever
    /// it has, logging the issuers still without keys. It never fails: fetches that did not
    /// succeed go on in the background with backoff, and until they do, those issuers' tokens
    /// are answered `503` with `Retry-After`. Use it at start instead of
    /// [`warm_up`](Self::warm_up) when the service should come up even while the issuer is down.
    pub async fn warm_up_for(&self, deadline: Duration) -> Readiness {
        let until = self.now() + deadline;
        for source in self.needed_sources() {
            source.ensure_background_refresh();
            if !source.has_keys() {
                // Spawned, not awaited: a fetch cut short by the deadline would leave no
                // schedule behind; this one completes (bounded by the fetch timeout) and
                // hands over to the background retries.
                let source = source.clone();
                tokio::spawn(
                    async move { source.refresh(crate::jwks::RefreshReason::WarmUp).await },
                );
            }
        }
        for source in self.needed_sources() {
            source.wait_for_keys(until).await;
        }
        let readiness = self.readiness();
        for issuer in readiness.not_ready() {
            tracing::warn!(
                target: "scopegate::jwks",
                issuer = %issuer.issuer,
                waited_ms = deadline.as_millis() as u64,
                failures = issuer.consecutive_failures,
                error = issuer.last_error.as_ref().map(tracing::field::display),
                "serving without this issuer's signing keys: its tokens are answered 503 until they arrive (retrying in the background)"
            );
        }
        readiness
    }

    /// A tower service for a `/ready` endpoint: `200` when every issuer has a usable key set,
    /// `503` otherwise, with a JSON body naming the issuers that are not ready. While an issuer
    /// has no keys, a probe also starts a fetch, at most once per unknown-`kid` cooldown, so a
    /// validator that never saw a token still fetches. Any method and path: mount it where the
    /// probe looks.
    pub fn ready_service(&self) -> ReadyService {
        ReadyService {
            validator: self.clone(),
        }
    }
}

/// The `/ready` endpoint; see [`Validator::ready_service`].
#[derive(Debug, Clone)]
pub struct ReadyService {
    validator: Validator,
}

impl<B> tower_service::Service<Request<B>> for ReadyService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<B>) -> Self::Future {
        let readiness = self.validator.readiness();
        if !readiness.is_ready() {
            for source in self.validator.needed_sources() {
                source.nudge();
            }
        }
        let status = if readiness.is_ready() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let mut response = Response::new(readiness.to_json(self.validator.now()).to_string());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        ready(Ok(response))
    }
}

/// An issuer allowed only HMAC algorithms verifies with its configured secret and never reads a
/// JWKS: its readiness does not wait for one.
fn needs_keys(config: &AuthConfig) -> bool {
    !config
        .algorithms
        .intersection(AlgorithmSet::ASYMMETRIC)
        .is_empty()
}
