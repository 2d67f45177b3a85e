//! The second way to a context: tokens the issuer's
//! [`IntrospectionPolicy`] routes to its introspection endpoint (RFC 7662), chosen by the
//! token's shape; cached, one call per token, bounded in flight.

use std::net::IpAddr;
use std::sync::Arc;

use super::Validator;
use super::introspection_judge::Judged;
use crate::claims::AuthContext;
use crate::clock::{Clock, unix_seconds};
use crate::error::AuthError;
use crate::introspect::{
    Answer, Exchange, Flights, IntrospectionConfig, IntrospectionPolicy, Unavailable, Verdict,
};
use crate::jwks::fetch::Fetcher;
use crate::token::TokenKind;

/// The introspection of the one issuer that has it.
pub(super) struct Introspection {
    pub(super) issuer_index: usize,
    pub(super) policy: IntrospectionPolicy,
    pub(super) require_audience: bool,
    pub(super) client_id: String,
    exchange: Exchange,
    flights: Flights,
}

impl Introspection {
    pub(super) fn new(
        issuer_index: usize,
        issuer: Arc<str>,
        config: &IntrospectionConfig,
        fetcher: Fetcher,
        clock: Arc<dyn Clock>,
    ) -> Introspection {
        Introspection {
            issuer_index,
            policy: config.policy,
            require_audience: config.require_audience,
            client_id: config.client_id.clone(),
            exchange: Exchange::new(fetcher, Arc::clone(&issuer), config),
            flights: Flights::new(config, clock, issuer),
        }
    }
}

/// How a token is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Opaque: introspection only.
    Introspect,
    /// A JWT under [`IntrospectionPolicy::Always`]: locally, then by introspection.
    Both,
}

impl Validator {
    /// [`validate_cached`](Self::validate_cached) of a token `route` sends to introspection.
    pub(super) fn validate_cached_introspected(
        &self,
        token: &str,
        (introspection, route): (&Introspection, Route),
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        if route == Route::Both {
            match self.validate_cached_jwt(token)? {
                Ok(context) if context.issuer_index != introspection.issuer_index => {
                    return Some(Ok(context));
                }
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        }
        let result = introspection.flights.cached(token)?;
        if let Err(error) = &result {
            self.record_rejection(error, None);
        }
        Some(result)
    }

    /// The introspection and route of `token`, or `None` when it is validated locally only.
    pub(super) fn route(&self, token: &str) -> Option<(&Introspection, Route)> {
        let introspection = self.inner.introspection.as_ref()?;
        let route = match (TokenKind::of(token), introspection.policy) {
            (_, IntrospectionPolicy::Never) => return None,
            (TokenKind::Opaque, _) => Route::Introspect,
            (TokenKind::Jwt, IntrospectionPolicy::Always) => Route::Both,
            (TokenKind::Jwt, _) => return None,
        };
        Some((introspection, route))
    }

    /// The uncached path of a token the policy routes to introspection, or `None` when it is
    /// validated locally only.
    pub(super) async fn validate_introspected(
        &self,
        token: &str,
        peer: Option<IpAddr>,
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        let (introspection, route) = self.route(token)?;
        let signed = if route == Route::Both {
            let context = match self.validate_cached_jwt(token) {
                Some(result) => result,
                None => self.validate_jwt(token, peer).await,
            };
            match context {
                Ok(context) if context.issuer_index != introspection.issuer_index => {
                    return Some(Ok(context));
                }
                Ok(context) => Some(context),
                Err(error) => return Some(Err(error)),
            }
        } else {
            None
        };
        let ask = || self.ask(introspection, token, signed, peer);
        let result = introspection.flights.resolve(token, ask).await;
        if let Err(error) = &result {
            self.record_rejection(error, None);
        }
        Some(result)
    }

    /// One introspection call and its judgement.
    async fn ask(
        &self,
        introspection: &Introspection,
        token: &str,
        signed: Option<Arc<AuthContext>>,
        peer: Option<IpAddr>,
    ) -> Result<Verdict, Unavailable> {
        let answer = introspection
            .exchange
            .ask(token)
            .await
            .map_err(|e| Unavailable(e.to_string()))?;
        let issuer = &self.inner.issuers[introspection.issuer_index];
        let response = match answer {
            Answer::Json(response) => response,
            Answer::Jwt(jwt) => self.verified_response(introspection, &jwt, peer).await?,
        };
        let now = unix_seconds(self.inner.clock.now());
        let judged = Judged::new(issuer, introspection, signed);
        Ok(judged.verdict(response, now))
    }

    /// Introspections waiting for a call slot right now (for load tests and metrics).
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn introspections_queued(&self) -> usize {
        self.inner
            .introspection
            .as_ref()
            .map_or(0, |i| i.flights.queued())
    }
}
