//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells a client which
//! authorization servers issue tokens for this API and which scopes it uses, built from the
//! configuration the [`Validator`] already has, and pointed to from every challenge.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use scopegate::{AuthConfig, BearerAuthLayer, ResourceMetadata, Validator};
//!
//! # fn app() -> Result<Router, scopegate::ConfigError> {
//! let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://api.example.com/shop")
//!     .build()?;
//! let validator = Validator::new(config)?;
//! // resource = the audience, authorization_servers = the issuers; scopes come from the routes.
//! let metadata = ResourceMetadata::builder(&validator, "https://api.example.com/shop")
//!     .resource_name("Shop")
//!     .build()?;
//! assert_eq!(
//!     metadata.url(),
//!     "https://api.example.com/.well-known/oauth-protected-resource/shop"
//! );
//! // Every challenge now carries resource_metadata="<that URL>".
//! let auth = BearerAuthLayer::new(validator).resource_metadata(&metadata);
//! let app = Router::new()
//!     // Each route's 401 names its scopes, and they are listed in scopes_supported.
//!     .route("/shop/products", get(|| async { "[]" }).route_layer(auth.require_scopes(["read:products"])))
//!     .route("/shop/orders", post(|| async { "ok" }).route_layer(auth.require_scopes(["write:orders"])))
//!     // The document itself is public.
//!     .merge(metadata.router());
//! # Ok(app) }
//! ```

use std::sync::Arc;

use bytes::Bytes;
use url::Url;

use crate::config::ConfigError;
use crate::validate::Validator;

mod required;
mod service;
pub use required::RequiredScopes;
pub use service::MetadataService;

/// The path segment RFC 9728 §3 registers under `/.well-known/`.
pub const WELL_KNOWN_SEGMENT: &str = "oauth-protected-resource";

/// The metadata URL of a resource identifier: `/.well-known/oauth-protected-resource` inserted
/// between the host and the path (RFC 9728 §3.1), so `https://api.example.com/mcp` has its
/// document at `https://api.example.com/.well-known/oauth-protected-resource/mcp`. `None` if
/// `resource` is not an absolute http(s) URL.
///
/// ```
/// use scopegate::metadata::well_known_url;
///
/// let url = well_known_url("https://api.example.com/mcp").unwrap();
/// assert_eq!(url, "https://api.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     well_known_url("https://shopping.api").unwrap(),
///     "https://shopping.api/.well-known/oauth-protected-resource"
/// );
/// ```
pub fn well_known_url(resource: &str) -> Option<String> {
    let url = Url::parse(resource).ok()?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return None;
    }
    // §3.1: a terminating slash right after the host is removed before the insertion.
    let path = if url.path() == "/" { "" } else { url.path() };
    let mut out = format!("{}/.well-known/{WELL_KNOWN_SEGMENT}{path}", origin(&url));
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

/// `scheme://host[:port]` as the URL serializes them (default port left out).
fn origin(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out
}

/// An RFC 9728 protected-resource metadata document and where it is published. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ResourceMetadata {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: RequiredScopes,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    url: String,
    path: String,
}

/// The fields of the document (RFC 9728 §2), in the order they are written.
#[derive(serde::Serialize)]
struct Document<'a> {
    resource: &'a str,
    authorization_servers: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scopes_supported: &'a [String],
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
}

impl ResourceMetadata {
    /// Starts the document of `resource`, which must be an audience `validator` accepts byte
    /// for byte (an exact audience, or the configured form of a URI audience); its issuers are
    /// the `authorization_servers`.
    pub fn builder(validator: &Validator, resource: impl Into<String>) -> ResourceMetadataBuilder {
        let resource = resource.into();
        let authorization_servers = validator
            .issuers()
            .filter(|config| {
                config
                    .audiences()
                    .iter()
                    .any(|m| m.configured_value() == Some(resource.as_str()))
            })
            .map(|config| config.issuer().to_owned())
            .collect();
        ResourceMetadataBuilder {
            resource,
            authorization_servers,
            scopes: RequiredScopes::new(),
            resource_name: None,
            resource_documentation: None,
            url: None,
            allow_insecure_http: false,
        }
    }

    /// The resource identifier (the `resource` member).
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The issuers (the `authorization_servers` member).
    pub fn authorization_servers(&self) -> &[String] {
        &self.inner.authorization_servers
    }

    /// The absolute URL of the document: the `resource_metadata` of challenges.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The path the document is served at (the path of [`url`](Self::url)).
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The shared set feeding `scopes_supported`.
    pub fn required_scopes(&self) -> &RequiredScopes {
        &self.inner.scopes
    }

    /// The document as JSON, with the scopes recorded so far.
    pub fn to_json(&self) -> Bytes {
        let inner = &self.inner;
        let scopes = inner.scopes.to_vec();
        let document = Document {
            resource: &inner.resource,
            authorization_servers: &inner.authorization_servers,
            scopes_supported: &scopes,
            bearer_methods_supported: ["header"],
            resource_name: inner.resource_name.as_deref(),
            resource_documentation: inner.resource_documentation.as_deref(),
        };
        // Strings and arrays of strings only: serializing cannot fail.
        Bytes::from(serde_json::to_vec(&document).unwrap_or_default())
    }

    /// A tower service answering `GET`/`HEAD` with the document (any path: route it at
    /// [`path`](Self::path)).
    pub fn service(&self) -> MetadataService {
        MetadataService::new(self.clone())
    }

    /// An axum router serving the document at [`path`](Self::path), to `merge` into yours
    /// outside the authorization layer (the document is public).
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn router<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        axum::Router::new().route_service(self.path(), self.service())
    }
}

/// Builds a [`ResourceMetadata`]; see [`ResourceMetadata::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ResourceMetadataBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: RequiredScopes,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    url: Option<String>,
    allow_insecure_http: bool,
}

impl ResourceMetadataBuilder {
    /// Lists these scopes in `scopes_supported` too, beside those the routes record.
    pub fn scopes_supported<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.record(scopes);
        self
    }

    /// Sets `resource_name`, a human-readable name of the API.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`, the URL of the API's documentation for developers.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Publishes the document at this absolute URL instead of the one derived from the resource
    /// (RFC 9728 §3.1): for an API whose identifier is not where it is served (e.g. the
    /// identifier `https://shopping.api`, served at `http://127.0.0.1:3000`). The path of this
    /// URL is where [`ResourceMetadata::router`] serves it.
    pub fn metadata_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Accepts a plain-http resource on a host that is not loopback. RFC 9728 §2 wants https;
    /// only for closed test networks.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Checks the settings and builds the document.
    pub fn build(self) -> Result<ResourceMetadata, ConfigError> {
        if self.authorization_servers.is_empty() {
            return Err(ConfigError::ResourceNotAnAudience(self.resource));
        }
        let resource = Url::parse(&self.resource)
            .map_err(|_| ConfigError::InvalidResource(self.resource.clone()))?;
        let secure = scopegate_http::is_secure(&resource, self.allow_insecure_http);
        if !secure || resource.fragment().is_some() || resource.host_str().is_none() {
            return Err(ConfigError::InvalidResource(self.resource));
        }
        let url = match self.url {
            Some(url) => url,
            None => well_known_url(&self.resource)
                .ok_or_else(|| ConfigError::InvalidResource(self.resource.clone()))?,
        };
        let parsed = Url::parse(&url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
            .ok_or_else(|| ConfigError::InvalidMetadataUrl(url.clone()))?;
        let path = parsed.path().to_owned();
        Ok(ResourceMetadata {
            inner: Arc::new(Inner {
                resource: self.resource,
                authorization_servers: self.authorization_servers,
                scopes: self.scopes,
                resource_name: self.resource_name,
                resource_documentation: self.resource_documentation,
                url,
                path,
            }),
        })
    }
}

#[cfg(test)]
mod tests;
