//! Hooks for tests of code that talks to an issuer (feature `testing`): faults of the JWKS and
//! introspection endpoints, request counters, and signatures over raw bytes. The plain API does without them.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::keys::{b64, signing_input};
use crate::{DevIssuer, lock};

/// What the JWKS endpoint does instead of answering with the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksFault {
    /// Answers with this status and an empty body.
    Status(u16),
    /// Accepts the request and never answers.
    Hang,
    /// Answers 200 with this body (garbage, a huge document, too many keys, …).
    Body(Vec<u8>),
}

/// Fault injection and observation (feature `testing`).
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
impl DevIssuer {
    /// Signs the exact bytes given as header and payload (duplicate members, odd encodings, …)
    /// with the current key.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = signing_input(header, payload);
        let signature = self.state.current_key().sign(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    /// A signature by the current key over arbitrary `input`.
    pub fn sign_bytes(&self, input: &[u8]) -> Vec<u8> {
        self.state.current_key().sign(input)
    }

    /// The current public key as SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.state.current_key().public_key_der()
    }

    /// Makes the JWKS endpoint misbehave (or behave again, with `None`).
    pub fn set_jwks_fault(&self, fault: Option<JwksFault>) {
        *lock(&self.state.jwks_fault) = fault;
    }

    /// Sets the JWKS response's `Cache-Control` (default `no-cache, max-age=0`, as Logto sends).
    pub fn set_jwks_cache_control(&self, value: impl Into<String>) {
        *lock(&self.state.jwks_cache_control) = value.into();
    }

    /// Requests served by the JWKS endpoint so far, including the fetches of the Management
    /// API's own layer (made on its first request, never before).
    pub fn jwks_requests(&self) -> u64 {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// When the most recent JWKS requests arrived, oldest first (to check retry spacing): at
    /// most [`JWKS_REQUEST_TIMES_KEPT`](crate::JWKS_REQUEST_TIMES_KEPT) of them.
    pub fn jwks_request_times(&self) -> Vec<Instant> {
        lock(&self.state.jwks_request_times)
            .iter()
            .copied()
            .collect()
    }

    /// Requests served by the token endpoint so far.
    pub fn token_requests(&self) -> u64 {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// The `User-Agent` of the last JWKS or discovery request.
    pub fn last_user_agent(&self) -> Option<String> {
        lock(&self.state.last_user_agent).clone()
    }

    /// Makes the introspection endpoint fail (a status, a hang, or any 200 body), or answer
    /// again with `None`.
    pub fn set_introspection_fault(&self, fault: Option<JwksFault>) {
        *lock(&self.state.opaque.fault) = fault;
    }

    /// Delays every introspection answer by `delay` (zero: none).
    pub fn set_introspection_delay(&self, delay: Duration) {
        *lock(&self.state.opaque.delay) = delay;
    }

    /// Introspection requests received so far.
    pub fn introspection_requests(&self) -> u64 {
        self.state.opaque.introspections.load(Ordering::SeqCst)
    }

    /// The most introspection requests that were ever in progress at once.
    pub fn max_concurrent_introspections(&self) -> u64 {
        self.state.opaque.max_in_flight.load(Ordering::SeqCst)
    }

    /// Revocation requests received so far.
    pub fn revocation_requests(&self) -> u64 {
        self.state.opaque.revocations.load(Ordering::SeqCst)
    }

    /// Requests served by the discovery endpoints so far.
    pub fn discovery_requests(&self) -> u64 {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }
}
