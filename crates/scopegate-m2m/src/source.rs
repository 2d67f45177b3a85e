//! [`ClientCredentials`]: the token source (cache, refresh in the background, single flight,
//! 401 handling). The request itself runs in [`crate::flight`]; the `reqwest` glue is in
//! [`crate::send`].

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use arc_swap::ArcSwapOption;
use scopegate_http::SingleFlight;
use url::Url;

use crate::config::{ClientAuthMethod, Config};
use crate::error::TokenError;
use crate::flight::Outcome;
use crate::token::{AccessToken, TokenData};

/// An OAuth 2.0 client_credentials token source (RFC 6749 §4.4, with RFC 8707 `resource`).
///
/// Cheap to clone: clones share one cache and one in-flight request. See the
/// [crate docs](crate#refresh-policy) for the refresh policy: callers never wait while the
/// cached token is valid, one request serves every caller that needs a token at once, and it
/// finishes even when every caller that asked for it has given up.
#[derive(Clone)]
pub struct ClientCredentials {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) client: reqwest::Client,
    /// The current token; read without locks.
    pub(crate) cached: ArcSwapOption<TokenData>,
    /// Held for a few instructions at a time, never across an await.
    pub(crate) state: Mutex<State>,
    /// The token request in flight (see [`crate::flight`]).
    pub(crate) flight: SingleFlight<Outcome>,
    pub(crate) serials: AtomicU64,
}

#[derive(Default)]
pub(crate) struct State {
    /// The last failure, while no request has succeeded since.
    pub(crate) failed: Option<(Instant, TokenError)>,
    rejections: Rejections,
}

/// Rejections of tokens that no API had accepted yet.
#[derive(Default)]
struct Rejections {
    /// Tokens rejected in a row without any being accepted in between.
    streak: u32,
    /// While set and not reached, 401s neither drop the token nor fetch another.
    until: Option<Instant>,
}

/// What [`ClientCredentials::invalidate`] did with a rejected token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// The token was dropped: the next [`token`](ClientCredentials::token) fetches a new one.
    Dropped,
    /// The token is no longer the cached one (a newer token replaced it): nothing was done.
    Stale,
    /// The API has rejected a freshly fetched token too. The token is kept, and no 401 drops it
    /// before `until`; after that one more new token is tried, and if that one is rejected as
    /// well the pause doubles (up to [`MAX_REJECTION_BACKOFF`](crate::config::MAX_REJECTION_BACKOFF)).
    BackingOff {
        /// When a 401 may drop the token again.
        until: Instant,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Fetch unless a valid token is cached (re-checked under the lock).
    IfDue,
    /// Drop the cached token and fetch, ignoring the error backoff.
    Force,
}

/// Locks the source's state; the data stays consistent even if a holder panicked.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("ClientCredentials")
            .field("token_url", &config.token_url.as_str())
            .field("client_id", &config.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &config.auth_method)
            .field("resources", &config.resources)
            .field("scopes", &config.scopes)
            .field("destinations", &config.destinations)
            .field("cached", &self.cached_token())
            .finish()
    }
}

impl ClientCredentials {
    pub(crate) fn from_config(config: Config, client: reqwest::Client) -> ClientCredentials {
        ClientCredentials {
            inner: Arc::new(Inner {
                config,
                client,
                cached: ArcSwapOption::empty(),
                state: Mutex::new(State::default()),
                flight: SingleFlight::new(),
                serials: AtomicU64::new(0),
            }),
        }
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.config.token_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// How the client authenticates.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.inner.config.auth_method
    }

    /// The requested resource indicators.
    pub fn resources(&self) -> &[String] {
        &self.inner.config.resources
    }

    /// The requested scopes (split, checked, without duplicates).
    pub fn scopes(&self) -> &[String] {
        &self.inner.config.scopes
    }

    /// The token held now, if any, without asking the server; it may be due for refresh or
    /// expired.
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.inner.cached.load_full().map(AccessToken)
    }

    /// An access token. The cached one while it has not expired (past its
    /// [`refresh_at`](AccessToken::refresh_at), a new one is fetched in the background meanwhile);
    /// only with no valid token does the caller wait, sharing one request with every other
    /// caller. Dropping this future (a caller's own deadline) never cancels that request.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        let now = self.now();
        let valid = {
            let cached = self.inner.cached.load();
            match cached.as_ref() {
                Some(token) if now < token.refresh_at => return Ok(AccessToken(Arc::clone(token))),
                Some(token) if now < token.expires_at => Some(AccessToken(Arc::clone(token))),
                _ => None,
            }
        };
        match valid {
            Some(token) => {
                self.refresh_in_background();
                Ok(token)
            }
            None => self.wait(Mode::IfDue).await,
        }
    }

    /// Fetches a new token now, dropping the cached one, and ignoring the error backoff. Callers
    /// that are already waiting for a request share it instead of starting another.
    ///
    /// After an API rejects a token, prefer [`invalidate`](ClientCredentials::invalidate)
    /// followed by [`token`](ClientCredentials::token): many requests rejected at once then
    /// cause one refresh, not one each, and an API that rejects every token is not flooded.
    pub async fn force_refresh(&self) -> Result<AccessToken, TokenError> {
        self.wait(Mode::Force).await
    }

    /// Reports that an API answered 401 to `rejected`. Drops it if it is still the cached token,
    /// so that the next [`token`](ClientCredentials::token) fetches a new one, unless the API is
    /// rejecting fresh tokens: when a token fetched after a rejection is rejected too, before
    /// any API accepted it, the token is kept and 401s are ignored for the
    /// [`rejection_backoff`](crate::ClientCredentialsBuilder::rejection_backoff)
    /// ([`Invalidation::BackingOff`]). [`send`](ClientCredentials::send) and the tower layer call
    /// this for you; if you call it yourself, also call
    /// [`accepted`](ClientCredentials::accepted) on success.
    pub fn invalidate(&self, rejected: &AccessToken) -> Invalidation {
        let inner = &*self.inner;
        let mut state = lock(&inner.state);
        let current = inner.cached.load();
        if current
            .as_ref()
            .is_none_or(|token| token.serial != rejected.serial())
        {
            return Invalidation::Stale;
        }
        let now = self.now();
        let rejections = &mut state.rejections;
        if rejected.was_accepted() {
            // It worked before: a revocation or a key change at the API, not a misfit.
            *rejections = Rejections::default();
        }
        match rejections.until {
            Some(until) if now < until => return Invalidation::BackingOff { until },
            // The pause is over: try one new token; its rejection lengthens the next pause.
            Some(_) => rejections.until = None,
            None => {
                rejections.streak += 1;
                if rejections.streak >= 2 {
                    let until = now + inner.config.rejection_delay(rejections.streak);
                    rejections.until = Some(until);
                    tracing::warn!(
                        token_url = %inner.config.token_url, rejected_in_a_row = rejections.streak,
                        "the API rejects freshly fetched access tokens; not fetching more for {:?}",
                        until - now
                    );
                    return Invalidation::BackingOff { until };
                }
            }
        }
        tracing::debug!(token_url = %inner.config.token_url, "access token invalidated");
        inner.cached.compare_and_swap(&current, None);
        Invalidation::Dropped
    }

    /// Reports that an API accepted `token` (any answer but 401). Only needed alongside your own
    /// calls to [`invalidate`](ClientCredentials::invalidate): a token that worked and is
    /// rejected later is replaced at once, not treated as a misfit.
    pub fn accepted(&self, token: &AccessToken) {
        token.mark_accepted();
    }

    pub(crate) fn now(&self) -> Instant {
        self.inner.config.clock.now()
    }

    /// The cached token if it is not due for refresh at `now`.
    pub(crate) fn fresh(&self, now: Instant) -> Option<AccessToken> {
        let cached = self.inner.cached.load();
        cached
            .as_ref()
            .filter(|token| now < token.refresh_at)
            .map(|token| AccessToken(Arc::clone(token)))
    }

    /// The cached token if it has not expired at `now`.
    pub(crate) fn valid(&self, now: Instant) -> Option<AccessToken> {
        let cached = self.inner.cached.load();
        cached
            .as_ref()
            .filter(|token| now < token.expires_at)
            .map(|token| AccessToken(Arc::clone(token)))
    }

    /// The last failure, while the error backoff runs.
    pub(crate) fn backing_off(&self, state: &State, now: Instant) -> Option<TokenError> {
        let (failed_at, error) = state.failed.as_ref()?;
        (now.saturating_duration_since(*failed_at) < self.inner.config.error_backoff)
            .then(|| error.clone())
    }

    /// Starts a request unless one is in flight, the token was just renewed, or the error
    /// backoff runs. Callers keep the valid token meanwhile.
    fn refresh_in_background(&self) {
        let state = lock(&self.inner.state);
        let now = self.now();
        if self.inner.flight.current().is_some()
            || self.fresh(now).is_some()
            || self.backing_off(&state, now).is_some()
        {
            return;
        }
        if let Err(error) = self.start_flight() {
            tracing::debug!(%error, "no background refresh");
        }
    }

    /// Waits for a token: joins the request in flight or starts one.
    async fn wait(&self, mode: Mode) -> Result<AccessToken, TokenError> {
        // A request whose task vanished (its runtime shut down) is replaced; bounded anyway.
        for _ in 0..3 {
            let waiter = {
                let state = lock(&self.inner.state);
                let now = self.now();
                if mode == Mode::Force {
                    self.inner.cached.store(None);
                } else if let Some(token) = self.valid(now) {
                    // A request finished while this caller was on its way here.
                    return Ok(token);
                }
                match self.inner.flight.current() {
                    Some(waiter) => waiter,
                    None => {
                        if mode == Mode::IfDue
                            && let Some(error) = self.backing_off(&state, now)
                        {
                            return Err(error);
                        }
                        self.start_flight()?
                    }
                }
            };
            // Cancel-safe: the request runs in its own task and finishes without this caller.
            if let Some(result) = waiter.outcome().await {
                return result;
            }
        }
        Err(TokenError::Transport {
            message: "the token request ended without an answer (its runtime shut down)".into(),
        })
    }
}
