//! What the endpoints of one issuer and its [`DevIssuer`](crate::DevIssuer) handle share: the
//! settings that tests may change while it runs, its keys, and the request records. Its own
//! file because every other module reads it and none of them owns it.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use scopegate::dpop::ProofVerifier;

#[cfg(feature = "testing")]
use crate::JwksFault;
use crate::keyset::Keys;
use crate::{DevClient, Discovery, OpaqueTokens, opaque};

/// How many JWKS request arrival times `DevIssuer::jwks_request_times` (feature `testing`) keeps (the most
/// recent ones): the endpoint is open to anyone, so the record must not grow without bound.
pub const JWKS_REQUEST_TIMES_KEPT: usize = 1024;

pub(crate) struct State {
    pub(crate) issuer: String,
    pub(crate) clients: Vec<DevClient>,
    pub(crate) discovery: Discovery,
    pub(crate) dpop: ProofVerifier,
    pub(crate) token_ttl: Mutex<Duration>,
    pub(crate) keys: Mutex<Keys>,
    #[cfg(feature = "testing")]
    pub(crate) jwks_fault: Mutex<Option<JwksFault>>,
    pub(crate) jwks_cache_control: Mutex<String>,
    pub(crate) jwks_requests: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    pub(crate) discovery_requests: AtomicU64,
    pub(crate) last_user_agent: Mutex<Option<String>>,
    pub(crate) jwks_request_times: Mutex<VecDeque<Instant>>,
    pub(crate) opaque_tokens: Mutex<OpaqueTokens>,
    pub(crate) opaque: opaque::OpaqueState,
}

/// Locks test-controlled state; the data stays consistent even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
