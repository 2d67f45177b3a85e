//! `Debug` for configs without their secrets: the HMAC secret, an HTTP client's settings and
//! the credentials of URLs are never printed.

use std::fmt;

use url::Url;

use super::{AuthConfig, AuthConfigBuilder};

/// Stands in for a secret in `Debug` output: says that one is set, and nothing of it.
struct Redacted<'a, T>(&'a Option<T>);

impl<T> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<redacted>)"
        } else {
            "None"
        })
    }
}

/// Names the kind of client only: a client's own `Debug` may show proxy URLs and their
/// credentials. Without `remote` there is no client: "none".
struct ClientKind(Option<bool>);

impl fmt::Debug for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Some(true) => "custom",
            Some(false) => "default",
            None => "none",
        })
    }
}

#[cfg(feature = "remote")]
fn client_kind(client: &Option<reqwest::Client>) -> ClientKind {
    ClientKind(Some(client.is_some()))
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("organization_sources", &self.organization_sources)
            .field("jwks", &self.jwks)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("token_type", &self.token_type)
            .field("scope_sources", &self.scope_sources)
            .field("symmetric_secret", &Redacted(&self.symmetric_secret))
            .field("http_client", &self.client_kind())
            .field("jwks_policy", &self.jwks_policy)
            .field("introspection", &self.introspection)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl fmt::Debug for AuthConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The issuer and JWKS URL are not checked yet: a password in them is refused by
        // `build`, and must not be shown before.
        f.debug_struct("AuthConfigBuilder")
            .field("issuer", &redact_url(&self.issuer))
            .field("audiences", &self.audiences)
            .field("organization_sources", &self.organization_sources)
            .field("jwks", &self.jwks)
            .field("jwks_uri", &self.jwks_uri.as_deref().map(redact_url))
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("token_type", &self.token_type)
            .field("scope_sources", &self.scope_sources)
            .field("symmetric_secret", &Redacted(&self.symmetric_secret))
            .field("http_client", &self.client_kind())
            .field("jwks_policy", &self.jwks_policy)
            .field("introspection", &self.introspection)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("normalize_uri_audiences", &self.normalize_uri_audiences)
            .finish()
    }
}

/// `text` with any username and password of a URL replaced.
fn redact_url(text: &str) -> std::borrow::Cow<'_, str> {
    match Url::parse(text) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("redacted");
            let _ = url.set_password(None);
            url.to_string().into()
        }
        Ok(_) => text.into(),
        // Not a URL, or one that does not parse: show it only if it cannot hide userinfo.
        Err(_) if !text.contains('@') => text.into(),
        Err(_) => "<redacted>".into(),
    }
}

impl AuthConfig {
    fn client_kind(&self) -> ClientKind {
        #[cfg(feature = "remote")]
        return client_kind(&self.http_client);
        #[cfg(not(feature = "remote"))]
        ClientKind(None)
    }
}

impl AuthConfigBuilder {
    fn client_kind(&self) -> ClientKind {
        #[cfg(feature = "remote")]
        return client_kind(&self.http_client);
        #[cfg(not(feature = "remote"))]
        ClientKind(None)
    }
}
