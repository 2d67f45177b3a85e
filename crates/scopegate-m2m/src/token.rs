//! [`AccessToken`]: one access token as issued, with its expiry and granted scope.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::HeaderValue;

use crate::clock::SharedClock;

/// An access token from the token endpoint. Cheap to clone (one `Arc`).
///
/// Its `Debug` output never shows the token itself; use [`secret`](AccessToken::secret) or
/// [`authorization_header`](AccessToken::authorization_header) to send it.
#[derive(Clone)]
pub struct AccessToken(pub(crate) Arc<TokenData>);

pub(crate) struct TokenData {
    pub(crate) secret: Box<str>,
    /// `Bearer <secret>` or `DPoP <secret>`, marked sensitive.
    pub(crate) header: HeaderValue,
    /// For a DPoP-bound token, its `ath` (RFC 9449 §4.2), computed once; `None` for Bearer.
    pub(crate) ath: Option<Box<str>>,
    /// The granted scope: the response's `scope`, or the requested one when it was left out
    /// (RFC 6749 §5.1).
    pub(crate) scope: Box<str>,
    pub(crate) scope_from_server: bool,
    /// `expires_in` as sent, or the assumed lifetime when it was left out, within
    /// `MIN_LIFETIME..=MAX_LIFETIME`.
    pub(crate) lifetime: Duration,
    pub(crate) lifetime_from_server: bool,
    pub(crate) issued_at: Instant,
    pub(crate) expires_at: Instant,
    pub(crate) refresh_at: Instant,
    /// Tells tokens apart without comparing secrets (see `ClientCredentials::invalidate`).
    pub(crate) serial: u64,
    /// Set once an API has answered a request carrying this token with anything but 401.
    pub(crate) accepted: AtomicBool,
    /// The source's clock, for `expires_in` and `is_expired`.
    pub(crate) clock: SharedClock,
}

impl AccessToken {
    /// The token itself, to be sent as `Authorization: Bearer <secret>`.
    pub fn secret(&self) -> &str {
        &self.0.secret
    }

    /// The token type: `Bearer`, or `DPoP` for a token bound to the source's
    /// [`DpopKey`](crate::DpopKey) (the server's spelling is accepted case-insensitively, and
    /// tokens of any other type are refused).
    pub fn token_type(&self) -> &'static str {
        if self.is_dpop_bound() {
            "DPoP"
        } else {
            "Bearer"
        }
    }

    /// Whether the server bound this token to the DPoP key (`token_type: DPoP`, RFC 9449 §5):
    /// then every request must carry a proof, which [`send`](crate::ClientCredentials::send) and
    /// the tower layer add.
    pub fn is_dpop_bound(&self) -> bool {
        self.0.ath.is_some()
    }

    /// `Bearer <token>` (or `DPoP <token>` for a bound token) as a header value marked sensitive
    /// (HTTP/2 will not index it, and `http`'s `Debug` hides it).
    pub fn authorization_header(&self) -> HeaderValue {
        self.0.header.clone()
    }

    /// The granted scope, space-separated. When the server left `scope` out of its answer, this
    /// is the requested scope (RFC 6749 §5.1: the granted scope then equals the requested one).
    /// Empty when none was requested nor granted.
    pub fn scope(&self) -> &str {
        &self.0.scope
    }

    /// The granted scopes one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Whether the server stated the granted scope itself (rather than it being assumed equal to
    /// the requested one).
    pub fn scope_from_server(&self) -> bool {
        self.0.scope_from_server
    }

    /// The lifetime the server gave (`expires_in`), or the assumed lifetime when it sent none
    /// (see [`lifetime_from_server`](AccessToken::lifetime_from_server)), bounded by
    /// [`MIN_LIFETIME`](crate::config::MIN_LIFETIME) and [`MAX_LIFETIME`](crate::config::MAX_LIFETIME).
    pub fn lifetime(&self) -> Duration {
        self.0.lifetime
    }

    /// Whether the server stated `expires_in`.
    pub fn lifetime_from_server(&self) -> bool {
        self.0.lifetime_from_server
    }

    /// When the token request was sent; lifetimes count from here, so that the time the request
    /// spent in flight is never counted as valid time.
    pub fn issued_at(&self) -> Instant {
        self.0.issued_at
    }

    /// When the token expires: [`issued_at`](AccessToken::issued_at) plus its lifetime.
    pub fn expires_at(&self) -> Instant {
        self.0.expires_at
    }

    /// From when on the token source fetches a new token in the background (still handing this
    /// one out until it expires): the expiry less the refresh margin.
    pub fn refresh_at(&self) -> Instant {
        self.0.refresh_at
    }

    /// The time left until expiry (zero once expired).
    pub fn expires_in(&self) -> Duration {
        self.0
            .expires_at
            .saturating_duration_since(self.0.clock.now())
    }

    /// Whether the token has expired.
    pub fn is_expired(&self) -> bool {
        self.0.clock.now() >= self.0.expires_at
    }

    pub(crate) fn serial(&self) -> u64 {
        self.0.serial
    }

    /// Whether an API has accepted this token at least once.
    pub(crate) fn was_accepted(&self) -> bool {
        self.0.accepted.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_accepted(&self) {
        // Read first: the common case (already set) then never writes the shared cache line.
        if !self.was_accepted() {
            self.0.accepted.store(true, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("token_type", &self.token_type())
            .field("scope", &self.scope())
            .field("lifetime", &self.0.lifetime)
            .field("expires_in", &self.expires_in())
            .finish()
    }
}
