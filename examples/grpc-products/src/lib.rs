//! A gRPC server on tonic protected by scopegate: the shopping API's product store as the
//! `shop.v1.Products` service, and a client that calls it with a token from scopegate-m2m.
//!
//! * `/shop.v1.Products/ListProducts` needs `read:products`, `/shop.v1.Products/AddProduct`
//!   `write:products` ([`methods`]); any other method is refused (`PERMISSION_DENIED`), the
//!   guard's default. Refusals are gRPC statuses with the RFC 6750 challenge as
//!   `www-authenticate` metadata (see `scopegate::grpc`).
//! * `GET /.well-known/oauth-protected-resource` (public): the RFC 9728 document named by every
//!   challenge, on the same port.
//!
//! Configured from the environment ([`Settings::from_env`]); with no `ISSUER` it starts the
//! shopping API's embedded dev issuer with its two apps, so it runs with no account anywhere.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod service;

use std::net::SocketAddr;

use axum::Router;
use scopegate::grpc::GrpcMethods;
use scopegate::{BearerAuthLayer, ConfigError, ResourceMetadata};
use scopegate_dev::DevIssuer;
use shopping_api::env::Env;
use shopping_api::server::{self, Served};
use shopping_api::{DEFAULT_WARM_UP, SetupError, Store};

/// The code generated from `proto/shop/v1/products.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod proto {
    tonic::include_proto!("shop.v1");
}

/// Where the server listens unless `BIND` says otherwise (gRPC's customary port).
pub const DEFAULT_BIND: &str = "127.0.0.1:50051";
/// Where the embedded dev issuer listens unless `DEV_ISSUER_BIND` says otherwise: clear of the
/// shopping API's (3010), so both examples can run at once; the client mode looks here.
pub const DEFAULT_DEV_ISSUER_BIND: &str = "127.0.0.1:3011";

/// The scopes of each method: one table feeds the guard and the metadata's `scopes_supported`.
pub const METHOD_SCOPES: [(&str, &str); 2] = [
    ("/shop.v1.Products/ListProducts", "read:products"),
    ("/shop.v1.Products/AddProduct", "write:products"),
];

/// Every variable [`Settings::from_env`] reads. Set but empty, each is a mistake (exit code 2).
pub const VARIABLES: [&str; 6] = [
    "ISSUER",
    "AUDIENCE",
    "JWKS_URI",
    "BIND",
    "DEV_ISSUER_BIND",
    "ALLOW_DEV_ISSUER_ON_NETWORK",
];

/// What the server is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The expected `iss`; `None` starts the embedded dev issuer.
    pub issuer: Option<String>,
    /// The resource (`aud`); `None` means the server's own origin, `http://<BIND>`.
    pub audience: Option<String>,
    /// The JWKS URL; `None` means discovery from the issuer.
    pub jwks_uri: Option<String>,
    /// Where the server listens.
    pub bind: SocketAddr,
    /// Where the embedded dev issuer listens (when there is no `ISSUER`).
    pub dev_issuer_bind: SocketAddr,
    /// Start with the embedded dev issuer even on a non-loopback address.
    pub allow_dev_issuer_on_network: bool,
}

impl Settings {
    /// Reads the [`VARIABLES`].
    pub fn from_env() -> Result<Settings, SetupError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), from any lookup (for tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SetupError> {
        let env = Env(var);
        env.refuse_empty(&VARIABLES)?;
        Ok(Settings {
            issuer: env.url("ISSUER")?,
            audience: env.url("AUDIENCE")?,
            jwks_uri: env.url("JWKS_URI")?,
            bind: env.addr("BIND", DEFAULT_BIND)?,
            dev_issuer_bind: env.addr("DEV_ISSUER_BIND", DEFAULT_DEV_ISSUER_BIND)?,
            allow_dev_issuer_on_network: env.flag("ALLOW_DEV_ISSUER_ON_NETWORK")?,
        })
    }
}

/// A started server (and dev issuer, if one was needed).
#[derive(Debug)]
pub struct Running {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The resource: the audience tokens must carry.
    pub audience: String,
    /// The expected issuer.
    pub issuer: String,
    /// The metadata document's URL (the `resource_metadata` of the challenges).
    pub metadata_url: String,
    /// The embedded dev issuer, when `ISSUER` was not set.
    pub dev_issuer: Option<DevIssuer>,
    served: Served,
}

impl Running {
    /// The server's origin, `http://<addr>`: where a tonic client connects.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the process is stopped.
    pub async fn wait(self) {
        self.served.wait().await;
    }
}

/// Binds `settings.bind`, starts the dev issuer if needed, waits a bounded time for the
/// issuer's keys, and serves, keys or not (until they come, calls get `UNAVAILABLE`).
pub async fn start(settings: Settings) -> Result<Running, SetupError> {
    if settings.issuer.is_none() && !settings.allow_dev_issuer_on_network {
        // Before anything listens.
        shopping_api::refuse_dev_issuer_on_network([settings.bind, settings.dev_issuer_bind])?;
    }
    let (listener, addr) = server::bind(settings.bind).await?;
    let audience = settings
        .audience
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (issuer, dev_issuer) = match &settings.issuer {
        Some(issuer) => (issuer.clone(), None),
        None => {
            let dev = shopping_api::start_dev_issuer(settings.dev_issuer_bind, &audience).await?;
            (dev.issuer().to_owned(), Some(dev))
        }
    };
    let jwks_uri = settings.jwks_uri.as_deref();
    let validator = server::validator(&issuer, &audience, jwks_uri, DEFAULT_WARM_UP).await?;
    let refused = |source| SetupError::Config {
        setting: shopping_api::setting_of(&source),
        source,
    };
    let metadata = ResourceMetadata::builder(&validator, audience.clone())
        .resource_name("scopegate gRPC example: product catalogue")
        .metadata_url(format!(
            "http://{addr}/.well-known/oauth-protected-resource"
        ))
        .build()
        .map_err(refused)?;
    let app =
        router(BearerAuthLayer::new(validator), &metadata, Store::seeded()).map_err(refused)?;
    Ok(Running {
        addr,
        audience,
        issuer,
        metadata_url: metadata.url().to_owned(),
        dev_issuer,
        served: Served::spawn(listener, app),
    })
}

/// The guard's table: [`METHOD_SCOPES`], every other method refused.
pub fn methods() -> Result<GrpcMethods, ConfigError> {
    METHOD_SCOPES
        .iter()
        .fold(GrpcMethods::builder(), |builder, (path, scope)| {
            builder.method(*path, [*scope])
        })
        .build()
}

/// The gRPC service over `store` behind `auth` and the per-method guard (every path, the
/// fallback too: an unknown service or method meets the guard's default before tonic's
/// `UNIMPLEMENTED`), and the metadata document (public) beside it.
pub fn router(
    auth: BearerAuthLayer,
    metadata: &ResourceMetadata,
    store: Store,
) -> Result<Router, ConfigError> {
    let auth = auth.realm("products").resource_metadata(metadata);
    let products = proto::products_server::ProductsServer::new(service::Catalogue::new(store));
    let grpc = tonic::service::Routes::new(products)
        .prepare()
        .into_axum_router()
        .layer(auth.require_grpc_methods(methods()?));
    Ok(grpc.merge(metadata.router()))
}

/// The text printed at start: where things are and how to call the service.
pub fn banner(running: &Running) -> String {
    let mut text = format!(
        "gRPC product service listening on {}\n  issuer:   {}\n  resource: {}\n  metadata: {}\n  methods:  {}\n",
        running.url(),
        running.issuer,
        running.audience,
        running.metadata_url,
        METHOD_SCOPES
            .iter()
            .map(|(path, scope)| format!("{path} ({scope})"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(dev) = &running.dev_issuer {
        text.push_str(&shopping_api::dev_apps_text(dev));
        text.push_str(&format!(
            "\nCall both methods as the reader (AddProduct gets PERMISSION_DENIED):\n  \
             cargo run -p grpc-products -- client\n\
             As the admin (both succeed):\n  \
             APP_ID=shopping-admin APP_SECRET=admin-secret SCOPE=\"read:products write:products\" \
             cargo run -p grpc-products -- client\n\
             (the client reads LOGTO_ENDPOINT={endpoint}, API_URL={url} and RESOURCE={audience} \
             by default)\n",
            endpoint = dev.endpoint(),
            url = running.url(),
            audience = running.audience,
        ));
    }
    text
}
