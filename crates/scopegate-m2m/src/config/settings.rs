//! The checked settings of a token source: [`build`](ClientCredentialsBuilder::build) turns the
//! builder's inputs into a [`Config`], once, with every check and every derived value (the form
//! body, the Basic header, the HTTP client), so that no request repeats that work and nothing
//! unchecked reaches one.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use url::Url;
use url::form_urlencoded;

use super::checks::{
    basic_header, check_resource, parse_api_origin, parse_token_url, split_scopes,
};
use super::{
    ClientAuthMethod, ClientCredentialsBuilder, MAX_LIFETIME, MAX_REJECTION_BACKOFF, MIN_LIFETIME,
};
use crate::clock::SharedClock;
use crate::destination::Destinations;
use crate::dpop::Dpop;
use crate::error::ConfigError;
use crate::redact::Redactor;
use crate::source::ClientCredentials;

const USER_AGENT: &str = concat!("scopegate-m2m/", env!("CARGO_PKG_VERSION"));

/// Parameters a caller cannot add with [`extra_param`](ClientCredentialsBuilder::extra_param):
/// this crate sets them, or they belong to other client authentication methods.
const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

impl ClientCredentialsBuilder {
    /// Checks the settings and builds the token source. No request is made until the first
    /// [`token`](ClientCredentials::token).
    pub fn build(self) -> Result<ClientCredentials, ConfigError> {
        let token_url = parse_token_url(&self.token_url, self.allow_insecure_http)?;
        if self.client_id.is_empty() {
            return Err(ConfigError::EmptyClientId);
        }
        if self.client_secret.is_empty() {
            return Err(ConfigError::EmptyClientSecret);
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::InvalidSetting("the timeout must not be zero"));
        }
        if self.assumed_lifetime.is_zero() {
            return Err(ConfigError::InvalidSetting(
                "the assumed lifetime must not be zero",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_margin_ratio) {
            return Err(ConfigError::InvalidSetting(
                "max_margin_ratio must be between 0.0 and 1.0",
            ));
        }
        let mut origins = Vec::with_capacity(self.api_origins.len());
        for origin in &self.api_origins {
            origins.push(parse_api_origin(origin)?);
        }
        let scopes = split_scopes(&self.scopes)?;
        for resource in &self.resources {
            check_resource(resource)?;
        }
        for (name, _) in &self.extra_params {
            if name.is_empty() {
                return Err(ConfigError::InvalidSetting(
                    "an extra parameter has an empty name",
                ));
            }
            if RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(ConfigError::ReservedParameter(name.clone()));
            }
        }

        let requested_scope = scopes.join(" ");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        for resource in &self.resources {
            form.append_pair("resource", resource);
        }
        if !requested_scope.is_empty() {
            form.append_pair("scope", &requested_scope);
        }
        for (name, value) in &self.extra_params {
            form.append_pair(name, value);
        }
        let basic = match self.auth_method {
            ClientAuthMethod::SecretBasic => {
                Some(basic_header(&self.client_id, &self.client_secret)?)
            }
            ClientAuthMethod::SecretPost => {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", &self.client_secret);
                None
            }
        };
        let body = Bytes::from(form.finish());

        let client = match self.http_client {
            Some(client) => client,
            None => scopegate_http::client_builder()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::HttpClient(scopegate_http::error_chain(&e)))?,
        };

        let redact = Redactor::new(&self.client_id, &self.client_secret);

        Ok(ClientCredentials::from_config(
            Config {
                token_url,
                client_id: self.client_id,
                auth_method: self.auth_method,
                resources: self.resources,
                scopes,
                requested_scope: requested_scope.into(),
                basic,
                body,
                redact,
                refresh_margin: self.refresh_margin,
                max_margin_ratio: self.max_margin_ratio,
                assumed_lifetime: bound_lifetime(self.assumed_lifetime),
                timeout: self.timeout,
                error_backoff: self.error_backoff,
                rejection_backoff: self.rejection_backoff,
                destinations: Destinations {
                    allow_insecure_http: self.allow_insecure_http,
                    origins,
                },
                clock: self.clock,
                dpop: self.dpop.map(Dpop::new),
            },
            client,
        ))
    }
}

/// The checked, immutable settings of a token source.
pub(crate) struct Config {
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) auth_method: ClientAuthMethod,
    pub(crate) resources: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) requested_scope: Box<str>,
    /// `Basic ...`, marked sensitive; `None` for `client_secret_post`.
    pub(crate) basic: Option<HeaderValue>,
    /// The form body, identical for every request.
    pub(crate) body: Bytes,
    /// Every form of the secret, kept out of error messages.
    pub(crate) redact: Redactor,
    pub(crate) refresh_margin: Duration,
    pub(crate) max_margin_ratio: f64,
    pub(crate) assumed_lifetime: Duration,
    pub(crate) timeout: Duration,
    pub(crate) error_backoff: Duration,
    pub(crate) rejection_backoff: Duration,
    /// Where the access token may be sent.
    pub(crate) destinations: Destinations,
    pub(crate) clock: SharedClock,
    /// The DPoP key and the nonces servers gave it, when tokens are to be bound.
    pub(crate) dpop: Option<Dpop>,
}

impl Config {
    /// Removes every form of the client secret from `text`.
    pub(crate) fn scrub(&self, text: String) -> String {
        self.redact.scrub(&text)
    }

    /// How long to stop reacting to 401s after the `streak`-th rejected fresh token (2 or more).
    pub(crate) fn rejection_delay(&self, streak: u32) -> Duration {
        let doublings = streak.saturating_sub(2).min(16);
        self.rejection_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_REJECTION_BACKOFF.max(self.rejection_backoff))
    }

    /// The margin for a token living `lifetime`: the configured margin, capped at
    /// `max_margin_ratio` of the lifetime.
    pub(crate) fn margin_for(&self, lifetime: Duration) -> Duration {
        let cap = Duration::try_from_secs_f64(lifetime.as_secs_f64() * self.max_margin_ratio)
            .unwrap_or(Duration::ZERO);
        self.refresh_margin.min(cap).min(lifetime)
    }
}

/// A lifetime within [`MIN_LIFETIME`] and [`MAX_LIFETIME`].
pub(crate) fn bound_lifetime(lifetime: Duration) -> Duration {
    lifetime.clamp(MIN_LIFETIME, MAX_LIFETIME)
}
