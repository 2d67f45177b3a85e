//! What an issuer's tokens must satisfy: [`AuthConfig`] and its builder.
//!
//! A config needs only the issuer and the audience; everything else has a safe default:
//!
//! | setting | default | why |
//! |---|---|---|
//! | keys | discovery from the issuer | works with any OIDC / RFC 8414 issuer |
//! | algorithms | asymmetric only (ES256, ES384, RS*, PS*, EdDSA) | `none` is unrepresentable; HS* needs an explicit secret |
//! | leeway | 60 s | clock skew between issuer and API (Spring Security's default) |
//! | `typ` | [`TokenTypePolicy::Lenient`] | many issuers still send `JWT`; see the policy's docs |
//! | scopes | `scope`, then `scp` | RFC 9068, plus Entra ID / Okta |
//! | JWKS URLs | https (http only to loopback) | keys fetched in clear text could be swapped |

use std::sync::Arc;
use std::time::Duration;

use url::Url;

mod checks;
mod error;
mod redact;

use checks::check_policy;
#[cfg(feature = "remote")]
use checks::{check_discoverable, check_introspection};
pub use error::ConfigError;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::audience::AudienceMatcher;
use crate::claims::ScopeSource;
use crate::introspect::{IntrospectionConfig, IntrospectionPolicy};
use crate::jwks::{JwksPolicy, JwksSource};
use crate::organization::OrganizationSource;

/// The largest leeway accepted: more would keep expired tokens alive for long.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size; 256 bits for HS256).
pub const MIN_SECRET_LEN: usize = 32;

/// Which JOSE `typ` header values are accepted.
///
/// RFC 9068 access tokens carry `typ: at+jwt`, which tells them apart from ID tokens. Logto,
/// oidc-provider and Okta send it; Auth0, Keycloak and Entra ID send `JWT` or nothing. The
/// default therefore accepts both forms, relying on `aud` to keep ID tokens out (an ID token's
/// audience is a client id, not an API's resource indicator). Where every issuer sends `at+jwt`,
/// choose [`Strict`](TokenTypePolicy::Strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenTypePolicy {
    /// `at+jwt`, `application/at+jwt`, `JWT`, or no `typ` (case-insensitive).
    #[default]
    Lenient,
    /// Only `at+jwt` or `application/at+jwt` (case-insensitive), as RFC 9068 §4 requires.
    Strict,
}

impl TokenTypePolicy {
    pub(crate) fn accepts(self, typ: Option<&str>) -> bool {
        let Some(typ) = typ else {
            return self == TokenTypePolicy::Lenient;
        };
        // RFC 7515 §4.1.9: the "application/" prefix may be left out; media types ignore case.
        let media = typ
            .get(..12)
            .filter(|p| p.eq_ignore_ascii_case("application/"))
            .map_or(typ, |_| &typ[12..]);
        media.eq_ignore_ascii_case("at+jwt")
            || (self == TokenTypePolicy::Lenient && typ.eq_ignore_ascii_case("JWT"))
    }
}

/// What tokens of one issuer must satisfy, and where its keys come from.
///
/// Its `Debug` output never shows the symmetric secret, only whether there is one.
#[derive(Clone)]
pub struct AuthConfig {
    pub(crate) issuer: Arc<str>,
    pub(crate) audiences: Vec<AudienceMatcher>,
    pub(crate) organization_sources: Vec<OrganizationSource>,
    pub(crate) jwks: JwksSource,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) leeway: Duration,
    pub(crate) token_type: TokenTypePolicy,
    pub(crate) scope_sources: Vec<ScopeSource>,
    pub(crate) symmetric_secret: Option<Arc<[u8]>>,
    #[cfg(feature = "remote")]
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) jwks_policy: JwksPolicy,
    pub(crate) allow_insecure_http: bool,
    pub(crate) introspection: Option<IntrospectionConfig>,
}

impl AuthConfig {
    /// Starts a config for tokens from `issuer` (compared to `iss` exactly, byte for byte)
    /// for the API `audience` (its resource indicator, e.g. `https://shopping.api`).
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> AuthConfigBuilder {
        AuthConfigBuilder {
            issuer: issuer.into(),
            audiences: vec![AudienceMatcher::Exact(audience.into())],
            organization_sources: Vec::new(),
            jwks: JwksSource::Discovery,
            jwks_uri: None,
            algorithms: AlgorithmSet::ASYMMETRIC,
            leeway: Duration::from_secs(60),
            token_type: TokenTypePolicy::Lenient,
            scope_sources: ScopeSource::defaults(),
            symmetric_secret: None,
            #[cfg(feature = "remote")]
            http_client: None,
            jwks_policy: JwksPolicy::default(),
            allow_insecure_http: false,
            normalize_uri_audiences: false,
            introspection: None,
        }
    }

    /// The expected `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[AudienceMatcher] {
        &self.audiences
    }

    /// Whether one `aud` value is accepted.
    pub fn accepts_audience(&self, aud: &str) -> bool {
        self.audiences.iter().any(|matcher| matcher.matches(aud))
    }

    /// Where the organization (tenant) of a token is read from.
    pub fn organization_sources(&self) -> &[OrganizationSource] {
        &self.organization_sources
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The clock leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Which tokens of this issuer are introspected.
    pub fn introspection_policy(&self) -> IntrospectionPolicy {
        self.introspection
            .as_ref()
            .map_or(IntrospectionPolicy::Never, |i| i.policy)
    }
}

/// Builds an [`AuthConfig`]; see the [module docs](self) for the defaults. Its `Debug` output
/// never shows the symmetric secret.
#[derive(Clone)]
#[must_use]
pub struct AuthConfigBuilder {
    issuer: String,
    audiences: Vec<AudienceMatcher>,
    organization_sources: Vec<OrganizationSource>,
    jwks: JwksSource,
    jwks_uri: Option<String>,
    algorithms: AlgorithmSet,
    leeway: Duration,
    token_type: TokenTypePolicy,
    scope_sources: Vec<ScopeSource>,
    symmetric_secret: Option<Vec<u8>>,
    #[cfg(feature = "remote")]
    http_client: Option<reqwest::Client>,
    jwks_policy: JwksPolicy,
    allow_insecure_http: bool,
    normalize_uri_audiences: bool,
    introspection: Option<IntrospectionConfig>,
}

impl AuthConfigBuilder {
    /// Accepts one more audience, exactly (a token is accepted if any of its `aud` values is
    /// accepted).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(AudienceMatcher::Exact(audience.into()));
        self
    }

    /// Accepts the `aud` values of one more [`AudienceMatcher`]: a prefix family or a function.
    pub fn audience_matcher(mut self, matcher: AudienceMatcher) -> Self {
        self.audiences.push(matcher);
        self
    }

    /// Compares every exact audience of this config (the builder's own included) with `aud`
    /// after RFC 3986 normalization instead of byte for byte: see [`AudienceMatcher::uri`].
    /// Each must then be an absolute URI. Exact comparison stays the default.
    ///
    /// ```
    /// use scopegate::AuthConfig;
    ///
    /// let config = AuthConfig::builder("https://id.example.com/", "https://mcp.example.com")
    ///     .normalize_uri_audiences()
    ///     .build()
    ///     .unwrap();
    /// assert!(config.accepts_audience("HTTPS://MCP.example.com:443/"));
    /// ```
    pub fn normalize_uri_audiences(mut self) -> Self {
        self.normalize_uri_audiences = true;
        self
    }

    /// Sets where a token's organization (tenant) is read from, in order; the first present
    /// wins and becomes [`AuthContext::organization_id`](crate::AuthContext::organization_id). Default: none.
    pub fn organization_sources(
        mut self,
        sources: impl IntoIterator<Item = OrganizationSource>,
    ) -> Self {
        self.organization_sources = sources.into_iter().collect();
        self
    }

    /// Fetches keys from this JWKS URL instead of discovering it.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// Uses a fixed key set; nothing is ever fetched.
    pub fn jwks_static(mut self, keys: crate::jwks::KeySet) -> Self {
        self.jwks = JwksSource::Static(keys);
        self.jwks_uri = None;
        self
    }

    /// Replaces the algorithm allow-list.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets the clock leeway for `exp` and `nbf` (at most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets which `typ` headers are accepted.
    pub fn token_type(mut self, policy: TokenTypePolicy) -> Self {
        self.token_type = policy;
        self
    }

    /// Sets where the granted scopes are read from (in order; the union is taken).
    pub fn scope_sources(mut self, sources: impl IntoIterator<Item = ScopeSource>) -> Self {
        self.scope_sources = sources.into_iter().collect();
        self
    }

    /// Also accepts HS256/384/512 tokens signed with this shared secret (at least 32 bytes).
    /// JWKS keys never verify HMAC tokens, whatever this says.
    pub fn symmetric_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.symmetric_secret = Some(secret.into());
        self.algorithms = self.algorithms.union(AlgorithmSet::HMAC);
        self
    }

    /// Uses your `reqwest::Client` (proxies, private roots, timeouts) for JWKS and discovery.
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Replaces the fetch and refresh policy.
    pub fn jwks_policy(mut self, policy: JwksPolicy) -> Self {
        self.jwks_policy = policy;
        self
    }

    /// Allows plain-http JWKS and discovery URLs to any host. Only for closed test networks:
    /// anyone on the path could substitute the keys.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Introspects this issuer's tokens (RFC 7662) as `introspection` says: opaque tokens by
    /// default, or every token (see [`introspect`](crate::introspect)). The HTTP client, the
    /// https-only rule and [`allow_insecure_http`](Self::allow_insecure_http) are the JWKS
    /// fetch's. It applies to an issuer given to
    /// [`ValidatorBuilder::issuer`](crate::ValidatorBuilder::issuer); a tenant's config returned
    /// by a resolver's policy is never introspected (an opaque token names no tenant).
    pub fn introspection(mut self, introspection: IntrospectionConfig) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Checks the settings and builds the config.
    pub fn build(mut self) -> Result<AuthConfig, ConfigError> {
        if self.normalize_uri_audiences {
            for matcher in &mut self.audiences {
                if let AudienceMatcher::Exact(value) = matcher {
                    *matcher = AudienceMatcher::uri(std::mem::take(value));
                }
            }
        }
        if self.issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        if self.audiences.is_empty() || self.audiences.iter().any(AudienceMatcher::is_empty) {
            return Err(ConfigError::NoAudience);
        }
        if let Some(AudienceMatcher::Uri(uri)) = self
            .audiences
            .iter()
            .find(|m| matches!(m, AudienceMatcher::Uri(uri) if uri.normalized().is_none()))
        {
            return Err(ConfigError::AudienceNotAUri(uri.configured().to_owned()));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge);
        }
        if self.scope_sources.is_empty() {
            return Err(ConfigError::NoScopeSources);
        }
        check_policy(&self.jwks_policy)?;
        let secure = |url: &Url| scopegate_http::is_secure(url, self.allow_insecure_http);
        let has_credentials = |url: &Url| !url.username().is_empty() || url.password().is_some();
        if Url::parse(&self.issuer).is_ok_and(|url| has_credentials(&url)) {
            return Err(ConfigError::CredentialsInUrl("issuer"));
        }
        let jwks = match self.jwks_uri {
            Some(uri) => {
                let url = Url::parse(&uri).map_err(|_| ConfigError::InvalidJwksUrl(uri.clone()))?;
                if has_credentials(&url) {
                    return Err(ConfigError::CredentialsInUrl("JWKS URL"));
                }
                if !secure(&url) {
                    return Err(ConfigError::InsecureJwksUrl(uri));
                }
                JwksSource::Uri(url)
            }
            None => self.jwks,
        };
        #[cfg(feature = "remote")]
        if matches!(jwks, JwksSource::Discovery) {
            check_discoverable(&self.issuer, secure)?;
        }
        if let Some(introspection) = &self.introspection {
            #[cfg(feature = "remote")]
            check_introspection(introspection, &self.issuer, secure)?;
            // An introspection is an HTTP call to the issuer: without `remote` there is no
            // client to make it, and opaque tokens would all be refused unannounced.
            #[cfg(not(feature = "remote"))]
            if introspection.policy != IntrospectionPolicy::Never {
                return Err(ConfigError::IntrospectionWithoutRemote);
            }
        }
        #[cfg(not(feature = "remote"))]
        let jwks = match jwks {
            JwksSource::Static(set) => JwksSource::Static(set),
            // With an HMAC secret and no key source named, the secret is the key: nothing to
            // fetch (asymmetric tokens then find no key and are refused).
            JwksSource::Discovery if self.symmetric_secret.is_some() => {
                JwksSource::Static(crate::jwks::KeySet::default())
            }
            _ => return Err(ConfigError::RemoteDisabled),
        };
        let hmac = self.algorithms.intersection(AlgorithmSet::HMAC);
        match &self.symmetric_secret {
            Some(secret) if secret.len() < MIN_SECRET_LEN => return Err(ConfigError::WeakSecret),
            Some(_) if hmac.is_empty() => return Err(ConfigError::SymmetricMismatch),
            None if !hmac.is_empty() => return Err(ConfigError::SymmetricMismatch),
            _ => {}
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        Ok(AuthConfig {
            issuer: Arc::from(self.issuer),
            audiences: self.audiences,
            organization_sources: self.organization_sources,
            jwks,
            algorithms: self.algorithms,
            leeway: self.leeway,
            token_type: self.token_type,
            scope_sources: self.scope_sources,
            symmetric_secret: self.symmetric_secret.map(Arc::from),
            #[cfg(feature = "remote")]
            http_client: self.http_client,
            jwks_policy: self.jwks_policy,
            allow_insecure_http: self.allow_insecure_http,
            introspection: self.introspection,
        })
    }
}

#[cfg(test)]
mod tests;
