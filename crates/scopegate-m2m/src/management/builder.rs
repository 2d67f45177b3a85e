//! [`ManagementApiBuilder`], the Logto preset: it derives the Management API's resource from the
//! tenant, adds `scope=all` to the token source, and hands the endpoint to the client. Apart from
//! the client, which also runs on any token source ([`ManagementApi::from_source`]).

use std::fmt;

use url::Url;

use super::tenant::valid_tenant_id;
use super::{MANAGEMENT_SCOPE, ManagementApi, OSS_TENANT_ID, resource_for_tenant, tenant_id_of};
use crate::{ClientCredentials, ClientCredentialsBuilder, ConfigError};

/// Customises the token source of [`ManagementApiBuilder::token_source`].
type Customise = Box<dyn FnOnce(ClientCredentialsBuilder) -> ClientCredentialsBuilder + Send>;

/// Builds a [`ManagementApi`]; start with [`ManagementApi::logto`].
#[must_use]
pub struct ManagementApiBuilder {
    endpoint: String,
    app_id: String,
    app_secret: String,
    tenant_id: Option<String>,
    http_client: Option<reqwest::Client>,
    allow_insecure_http: bool,
    customise: Option<Customise>,
}

impl fmt::Debug for ManagementApiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementApiBuilder")
            .field("endpoint", &self.endpoint)
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("tenant_id", &self.tenant_id)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl ManagementApiBuilder {
    /// The tenant id, when it cannot be read from the endpoint (a Logto Cloud custom domain).
    /// Without it: `<tenant-id>` of a `https://<tenant-id>.logto.app` endpoint, else `default`
    /// (Logto OSS).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sends the Management API calls with your `reqwest::Client` (proxies, private roots). The
    /// default one has a 30 s timeout and follows no redirect, so the token is never carried to
    /// another URL.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Allows a plain-http endpoint on a host that is not loopback, for the token request and the
    /// API calls. Only for closed test networks: secret and token travel in clear text.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Further settings of the token source (timeout, refresh margin, HTTP client, ...). The
    /// preset adds its resource and `scope=all` after these: leave both out here.
    pub fn token_source(
        mut self,
        customise: impl FnOnce(ClientCredentialsBuilder) -> ClientCredentialsBuilder + Send + 'static,
    ) -> Self {
        self.customise = Some(Box::new(customise));
        self
    }

    /// Checks the settings and builds the client. No request is made until the first call.
    pub fn build(self) -> Result<ManagementApi, ConfigError> {
        let trimmed = self.endpoint.trim_end_matches('/');
        let endpoint = Url::parse(trimmed).map_err(|_| ConfigError::InvalidTokenUrl {
            url: crate::redact::without_userinfo(&self.endpoint),
            reason: "the Logto endpoint is not an absolute URL",
        })?;
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err(ConfigError::InvalidSetting(
                "the Logto endpoint must not have a query or a fragment",
            ));
        }
        let tenant = match self.tenant_id {
            Some(tenant) if valid_tenant_id(&tenant) => tenant,
            Some(_) => {
                return Err(ConfigError::InvalidSetting(
                    "a Logto tenant id is lowercase letters, digits and '-'",
                ));
            }
            None => tenant_id_of(&endpoint).unwrap_or(OSS_TENANT_ID).to_owned(),
        };
        let mut builder = ClientCredentials::logto(trimmed, self.app_id, self.app_secret);
        if let Some(customise) = self.customise {
            builder = customise(builder);
        }
        builder = builder
            .resource(resource_for_tenant(&tenant))
            .scope(MANAGEMENT_SCOPE);
        if self.allow_insecure_http {
            builder = builder.allow_insecure_http();
        }
        let source = builder.build()?;
        ManagementApi::with_client(trimmed, source, self.http_client, self.allow_insecure_http)
    }
}

impl ManagementApi {
    /// The preset for the M2M app `app_id` / `app_secret` of the Logto at `endpoint` (e.g.
    /// `https://abc123.logto.app`, or `http://localhost:3001` for OSS): token endpoint
    /// `<endpoint>/oidc/token`, resource `https://<tenant-id>.logto.app/api`, `scope=all`, API
    /// base `<endpoint>/api/`.
    ///
    /// ```
    /// # fn main() -> Result<(), scopegate_m2m::ConfigError> {
    /// use scopegate_m2m::management::ManagementApi;
    ///
    /// let oss = ManagementApi::logto("http://localhost:3001", "id", "secret").build()?;
    /// assert_eq!(oss.token_source().resources(), ["https://default.logto.app/api"]);
    /// assert_eq!(oss.token_source().scopes(), ["all"]);
    /// assert_eq!(oss.base_url().as_str(), "http://localhost:3001/api/");
    ///
    /// let cloud = ManagementApi::logto("https://auth.example.com", "id", "secret")
    ///     .tenant_id("abc123")
    ///     .build()?;
    /// assert_eq!(cloud.token_source().resources(), ["https://abc123.logto.app/api"]);
    /// # Ok(()) }
    /// ```
    pub fn logto(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> ManagementApiBuilder {
        ManagementApiBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            tenant_id: None,
            http_client: None,
            allow_insecure_http: false,
            customise: None,
        }
    }
}
