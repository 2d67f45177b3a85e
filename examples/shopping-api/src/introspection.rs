//! Opaque tokens: the `INTROSPECTION_*` and `INTROSPECT` settings and the scopegate
//! introspection config they make.

use std::time::Duration;

use scopegate::introspect::{IntrospectionConfig, IntrospectionPolicy};

use crate::SetupError;

/// The introspection cache's TTL unless `INTROSPECTION_CACHE_SECONDS` says otherwise: a revoked
/// token is refused at the latest this long after its revocation.
pub const DEFAULT_INTROSPECTION_CACHE: Duration = Duration::from_secs(60);

/// How the API introspects tokens (RFC 7662), from `INTROSPECTION_CLIENT_ID` and
/// `INTROSPECTION_CLIENT_SECRET` (both, or neither), `INTROSPECTION_URL`,
/// `INTROSPECTION_CACHE_SECONDS` and `INTROSPECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionSettings {
    /// The API's client id at the issuer.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The endpoint; `None`: the issuer's discovery document names it.
    pub url: Option<String>,
    /// Longest time an active result is trusted.
    pub cache: Duration,
    /// Every token (`INTROSPECT=always`), or opaque tokens only (`opaque`, the default).
    pub always: bool,
}

impl IntrospectionSettings {
    /// The settings `var` gives, `None` when no credentials are set.
    pub(crate) fn from_lookup(
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<IntrospectionSettings>, SetupError> {
        let id = var("INTROSPECTION_CLIENT_ID");
        let secret = var("INTROSPECTION_CLIENT_SECRET");
        let rest = [
            "INTROSPECTION_URL",
            "INTROSPECTION_CACHE_SECONDS",
            "INTROSPECT",
        ];
        let (client_id, client_secret) = match (id, secret) {
            (Some(id), Some(secret)) => (id, secret),
            (None, None) => {
                return match rest.into_iter().find(|name| var(name).is_some()) {
                    Some(name) => Err(SetupError::IntrospectionWithoutCredentials { name }),
                    None => Ok(None),
                };
            }
            (Some(_), None) => {
                return Err(SetupError::IntrospectionHalfSet {
                    missing: "INTROSPECTION_CLIENT_SECRET",
                });
            }
            (None, Some(_)) => {
                return Err(SetupError::IntrospectionHalfSet {
                    missing: "INTROSPECTION_CLIENT_ID",
                });
            }
        };
        let cache =
            match var("INTROSPECTION_CACHE_SECONDS") {
                None => DEFAULT_INTROSPECTION_CACHE,
                Some(value) => value.parse().map(Duration::from_secs).map_err(|_| {
                    SetupError::InvalidVariable {
                        name: "INTROSPECTION_CACHE_SECONDS",
                        value,
                        expected: "a whole number of seconds",
                    }
                })?,
            };
        let always = match var("INTROSPECT").as_deref() {
            None | Some("opaque") => false,
            Some("always") => true,
            Some(other) => {
                return Err(SetupError::InvalidVariable {
                    name: "INTROSPECT",
                    value: other.to_owned(),
                    expected: "opaque or always",
                });
            }
        };
        Ok(Some(IntrospectionSettings {
            client_id,
            client_secret,
            url: var("INTROSPECTION_URL"),
            cache,
            always,
        }))
    }

    /// The scopegate config these settings make.
    pub(crate) fn config(&self) -> IntrospectionConfig {
        let policy = if self.always {
            IntrospectionPolicy::Always
        } else {
            IntrospectionPolicy::OpaqueOnly
        };
        let mut config = IntrospectionConfig::new(&self.client_id, &self.client_secret)
            .policy(policy)
            .cache_ttl(self.cache);
        if let Some(url) = &self.url {
            config = config.endpoint(url.clone());
        }
        config
    }
}
