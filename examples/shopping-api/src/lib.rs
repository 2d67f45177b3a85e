//! The shopping API: a resource server protected by scopegate.
//!
//! * `GET /health`: open; liveness, independent of the issuer.
//! * `GET /ready`: open; `200` once every issuer's keys are usable, `503` (JSON naming the issuers
//!   that are not ready) before that. It starts while the issuer is down and becomes ready when it
//!   comes back, with no restart.
//! * `GET /products?limit=N&cursor=C`: needs `read:products`. A page of products as a JSON
//!   array (`limit` 1 to 1,000, default 100); when more follow, `Link: <...>; rel="next"`.
//! * `POST /products`: needs `write:products`; body `{"name": "...", "price_cents": 1290}` of at
//!   most 16 KiB (else 413). A name of 1 to 200 characters without control characters, bidi
//!   controls or line separators, a price from 1 to 2^53 − 1 (else 422). The store holds at
//!   most `MAX_PRODUCTS` (else 507).
//! * `GET /.well-known/oauth-protected-resource` (the path RFC 9728 §3.1 derives from the
//!   audience): open; the protected-resource metadata, naming the audience as `resource`, the
//!   issuer as its authorization server and the scopes the routes require. Every challenge
//!   points to it (`resource_metadata="…"`). The audience `https://shopping.api` is not where the
//!   API is served, so the document's URL is `http://<BIND>/…` unless `METADATA_URL` says
//!   otherwise; an `AUDIENCE` that is not an http(s) URL publishes none.
//! * `GET /openapi.json`: open; the OpenAPI 3.1 document. Its security (the OAuth 2.0
//!   client-credentials flow at the issuer's token URL, found in the issuer's discovery
//!   document, and each guarded operation's scopes) is written from the [`guarded_routes`] the
//!   router's guards are built from. `503` + `Retry-After` while the issuer's metadata is
//!   unreachable.
//! * `GET /metrics` (feature `metrics`, on by default): scopegate's counters in the Prometheus
//!   text format. Unauthenticated, as scrapers expect: a non-loopback `BIND` logs a warning at
//!   start. Keep the port off the public internet.
//!
//! DPoP (RFC 9449) is accepted beside `Bearer` by default: `DPOP=disabled|allowed|required`,
//! `PUBLIC_URL` (the external base URL proofs name), `REDIS_URL` (the replay store shared by
//! every replica; in memory without it).
//!
//! Configured from the environment ([`Settings::from_env`]); with no `ISSUER` it starts the
//! embedded dev issuer with two apps, so it runs with no account anywhere. That dev issuer also
//! serves a minimal Logto Management API (`GET /api/applications`) and registers a third app that
//! may call it ([`scopegate_dev::DEV_MANAGEMENT_APP_ID`]). Its secrets are published, so it
//! refuses to start on a non-loopback address unless `ALLOW_DEV_ISSUER_ON_NETWORK=1`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod env;
mod introspection;
pub mod openapi;
mod products;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use env::Env;
use scopegate::GuardedRoute;
use scopegate::dpop::{DpopConfig, DpopMode, ProofVerifier, PublicUrl, RedisReplayStore};
use scopegate::guard::GuardedRouterExt;
use scopegate::{AuthConfig, BearerAuthLayer, RequiredScopes, ResourceMetadata, Validator};
use scopegate_dev::{
    DEV_MANAGEMENT_APP_ID, DEV_MANAGEMENT_APP_SECRET, DevClient, DevIssuer, DevIssuerBuilder,
    OpaqueTokens,
};

pub use introspection::{DEFAULT_INTROSPECTION_CACHE, IntrospectionSettings};
pub use products::{
    BodyError, DEFAULT_MAX_PRODUCTS, DEFAULT_PAGE_SIZE, MAX_BODY_BYTES, MAX_NAME_CHARS,
    MAX_PAGE_SIZE, MAX_PRICE_CENTS, Product, Store, StoreFull, list as list_products,
};

/// The API's resource indicator unless `AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "https://shopping.api";
/// Where the API listens unless `BIND` says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// Where the embedded dev issuer listens unless `DEV_ISSUER_BIND` says otherwise: the m2m
/// client's default `LOGTO_ENDPOINT`. Not 3001 (a local Logto), 3002 (its admin console) or 3003
/// (the MCP example), so that it runs beside them.
pub const DEFAULT_DEV_ISSUER_BIND: &str = "127.0.0.1:3010";
/// How long the start waits for the issuer's keys unless `WARM_UP_SECS` says otherwise; then
/// it serves regardless (`/ready` answers 503 until the keys arrive).
pub const DEFAULT_WARM_UP: Duration = Duration::from_secs(5);

/// Every variable [`Settings::from_env`] reads. Set but empty, each is a mistake (exit code 2),
/// never a silent default.
pub const VARIABLES: [&str; 18] = [
    "ISSUER",
    "LOGTO_ENDPOINT",
    "AUDIENCE",
    "JWKS_URI",
    "METADATA_URL",
    "BIND",
    "DEV_ISSUER_BIND",
    "WARM_UP_SECS",
    "MAX_PRODUCTS",
    "ALLOW_DEV_ISSUER_ON_NETWORK",
    "INTROSPECTION_CLIENT_ID",
    "INTROSPECTION_CLIENT_SECRET",
    "INTROSPECTION_URL",
    "INTROSPECTION_CACHE_SECONDS",
    "INTROSPECT",
    "DPOP",
    "PUBLIC_URL",
    "REDIS_URL",
];

/// The embedded dev issuer's apps: (id, secret, scopes).
pub const DEV_APPS: [(&str, &str, &[&str]); 2] = [
    ("shopping-reader", "reader-secret", &["read:products"]),
    (
        "shopping-admin",
        "admin-secret",
        &["read:products", "write:products"],
    ),
];

/// A configuration mistake: reported in one line, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An environment variable is set to nothing (an empty `AUDIENCE=` would otherwise fall back
    /// to the default silently).
    #[error("{name} is set but empty: give it a value, or unset it for the default")]
    EmptyVariable {
        /// The variable.
        name: &'static str,
    },
    /// Two variables that say the same thing are both set.
    #[error(
        "ISSUER and LOGTO_ENDPOINT are both set: set one (LOGTO_ENDPOINT={endpoint} means \
         ISSUER={endpoint}/oidc and JWKS_URI={endpoint}/oidc/jwks)"
    )]
    IssuerAndEndpoint {
        /// The `LOGTO_ENDPOINT` value.
        endpoint: String,
    },
    /// An environment variable does not parse.
    #[error("{name}={value:?} is not {expected}")]
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The scopegate configuration is refused.
    #[error("{setting}: invalid authorization settings: {source}")]
    Config {
        /// The environment variable(s) the refused setting comes from.
        setting: &'static str,
        /// Why it is refused.
        source: scopegate::ConfigError,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// One of the two introspection credentials is set without the other.
    #[error(
        "INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET go together: {missing} is not set"
    )]
    IntrospectionHalfSet {
        /// The variable that is not set.
        missing: &'static str,
    },
    /// An introspection setting without the credentials that turn introspection on.
    #[error(
        "{name} is set, but opaque tokens are off: set INTROSPECTION_CLIENT_ID and \
         INTROSPECTION_CLIENT_SECRET to turn them on"
    )]
    IntrospectionWithoutCredentials {
        /// The variable set in vain.
        name: &'static str,
    },
    /// The dev issuer could not start.
    #[error("cannot start the dev issuer: {0}")]
    DevIssuer(#[from] scopegate_dev::DevIssuerError),
    /// The embedded dev issuer, whose secrets are published, would be reachable from the
    /// network.
    #[error(
        "refusing to listen on {addr} with the embedded dev issuer: its app secrets are published \
         and grant write access; set ISSUER, or bind to 127.0.0.1, or set \
         ALLOW_DEV_ISSUER_ON_NETWORK=1 to do it anyway"
    )]
    DevIssuerOnNetwork {
        /// The non-loopback address.
        addr: SocketAddr,
    },
}

/// What the API is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The expected `iss`; `None` starts the embedded dev issuer.
    pub issuer: Option<String>,
    /// The API's resource indicator (`aud`).
    pub audience: String,
    /// The JWKS URL; `None` means discovery from the issuer.
    pub jwks_uri: Option<String>,
    /// Where the protected-resource metadata is published (the `resource_metadata` of the
    /// challenges); `None` means `http://<BIND>` and the path RFC 9728 derives from the audience.
    pub metadata_url: Option<String>,
    /// Where the API listens.
    pub bind: SocketAddr,
    /// Where the embedded dev issuer listens (when there is no `ISSUER`).
    pub dev_issuer_bind: SocketAddr,
    /// How long the start waits for the issuer's keys before serving regardless.
    pub warm_up: Duration,
    /// The most products the store holds.
    pub max_products: usize,
    /// Start with the embedded dev issuer even when the API or the issuer listens on a
    /// non-loopback address.
    pub allow_dev_issuer_on_network: bool,
    /// Opaque tokens by introspection; `None`: JWTs only.
    pub introspection: Option<IntrospectionSettings>,
    /// Which schemes are accepted: `Bearer`, `DPoP` or both (the default).
    pub dpop: DpopMode,
    /// The external base URL that DPoP proofs name (`htu`); `None`: rebuilt from each request.
    pub public_url: Option<String>,
    /// The Redis that records DPoP proofs, shared by every replica; `None`: in memory.
    pub redis_url: Option<String>,
}

impl Default for Settings {
    /// The defaults of [`from_env`](Self::from_env) with an empty environment.
    fn default() -> Self {
        let loopback = |addr: &str| {
            addr.parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
        };
        Settings {
            issuer: None,
            audience: DEFAULT_AUDIENCE.to_owned(),
            jwks_uri: None,
            metadata_url: None,
            bind: loopback(DEFAULT_BIND),
            dev_issuer_bind: loopback(DEFAULT_DEV_ISSUER_BIND),
            warm_up: DEFAULT_WARM_UP,
            max_products: DEFAULT_MAX_PRODUCTS,
            allow_dev_issuer_on_network: false,
            introspection: None,
            dpop: DpopMode::Allowed,
            public_url: None,
            redis_url: None,
        }
    }
}

impl Settings {
    /// Reads the [`VARIABLES`]: `ISSUER` (or `LOGTO_ENDPOINT`, the m2m client's name, from which
    /// `ISSUER` is `<endpoint>/oidc` and `JWKS_URI` `<endpoint>/oidc/jwks`), `AUDIENCE`,
    /// `JWKS_URI`, `METADATA_URL`, `BIND`, `DEV_ISSUER_BIND`, `WARM_UP_SECS`, `MAX_PRODUCTS`,
    /// `ALLOW_DEV_ISSUER_ON_NETWORK` (`1` or `true`), `DPOP` (`disabled`, `allowed` or
    /// `required`), `PUBLIC_URL`, `REDIS_URL`, and for opaque tokens
    /// `INTROSPECTION_CLIENT_ID`, `INTROSPECTION_CLIENT_SECRET`, `INTROSPECTION_URL`,
    /// `INTROSPECTION_CACHE_SECONDS` and `INTROSPECT` ([`IntrospectionSettings`]).
    pub fn from_env() -> Result<Settings, SetupError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), from any lookup (for tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SetupError> {
        let env = Env(var);
        env.refuse_empty(&VARIABLES)?;
        let max_products = env.positive("MAX_PRODUCTS", DEFAULT_MAX_PRODUCTS)?;
        let allow_dev_issuer_on_network = env.flag("ALLOW_DEV_ISSUER_ON_NETWORK")?;
        let dpop = match env.var("DPOP") {
            None => DpopMode::Allowed,
            Some(value) => value.parse().map_err(|_| SetupError::InvalidVariable {
                name: "DPOP",
                value,
                expected: "disabled, allowed or required",
            })?,
        };
        let public_url = match env.var("PUBLIC_URL") {
            Some(value) if PublicUrl::base(&value).is_none() => {
                return Err(SetupError::InvalidVariable {
                    name: "PUBLIC_URL",
                    value,
                    expected: "an http(s) URL without query, e.g. https://api.example.com",
                });
            }
            other => other,
        };
        let redis_url = match env.var("REDIS_URL") {
            Some(value) if RedisReplayStore::builder(value.as_str()).build().is_err() => {
                return Err(SetupError::InvalidVariable {
                    name: "REDIS_URL",
                    value,
                    expected: "a Redis URL, e.g. redis://127.0.0.1:6379/",
                });
            }
            other => other,
        };
        // Logto's documents live under <endpoint>/oidc (DESIGN: issuer = <endpoint>/oidc).
        let (issuer, derived_jwks) = match (env.url("ISSUER")?, env.url("LOGTO_ENDPOINT")?) {
            (Some(_), Some(endpoint)) => return Err(SetupError::IssuerAndEndpoint { endpoint }),
            (Some(issuer), None) => (Some(issuer), None),
            (None, Some(endpoint)) => {
                let endpoint = endpoint.trim_end_matches('/');
                (
                    Some(format!("{endpoint}/oidc")),
                    Some(format!("{endpoint}/oidc/jwks")),
                )
            }
            (None, None) => (None, None),
        };
        Ok(Settings {
            issuer,
            audience: env
                .var("AUDIENCE")
                .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            jwks_uri: env.url("JWKS_URI")?.or(derived_jwks),
            metadata_url: env.url("METADATA_URL")?,
            bind: env.addr("BIND", DEFAULT_BIND)?,
            dev_issuer_bind: env.addr("DEV_ISSUER_BIND", DEFAULT_DEV_ISSUER_BIND)?,
            warm_up: env.seconds("WARM_UP_SECS", DEFAULT_WARM_UP)?,
            max_products,
            allow_dev_issuer_on_network,
            introspection: IntrospectionSettings::from_lookup(&env.0)?,
            dpop,
            public_url,
            redis_url,
        })
    }

    /// Refuses a setup that would expose the embedded dev issuer's published secrets.
    pub fn check_exposure(&self) -> Result<(), SetupError> {
        if self.issuer.is_some() || self.allow_dev_issuer_on_network {
            return Ok(());
        }
        refuse_dev_issuer_on_network([self.bind, self.dev_issuer_bind])
    }

    /// What an operator should hear at start about this setup.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.issuer.is_none()
            && self.allow_dev_issuer_on_network
            && (!self.bind.ip().is_loopback() || !self.dev_issuer_bind.ip().is_loopback())
        {
            warnings.push(
                "the embedded dev issuer runs on a network address (ALLOW_DEV_ISSUER_ON_NETWORK):                  its published secrets grant write access to anyone who reaches it"
                    .to_owned(),
            );
        }
        if self.bind.ip().is_unspecified() && self.metadata_url.is_none() {
            warnings.push(format!(
                "BIND={} is a wildcard address, which clients cannot reach: set METADATA_URL to \
                 the API's public URL of /.well-known/oauth-protected-resource, or the challenges \
                 point to an address no client can fetch",
                self.bind
            ));
        }
        if cfg!(feature = "metrics") && !self.bind.ip().is_loopback() {
            warnings.push(format!(
                "GET /metrics is served without authentication on {}: keep that port off                  untrusted networks, or build without the `metrics` feature",
                self.bind
            ));
        }
        warnings
    }
}

/// Refuses the first non-loopback address among those the embedded dev issuer, or an API
/// trusting it, would listen on: its published secrets grant write access.
pub fn refuse_dev_issuer_on_network(
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<(), SetupError> {
    match addrs.into_iter().find(|addr| !addr.ip().is_loopback()) {
        Some(addr) => Err(SetupError::DevIssuerOnNetwork { addr }),
        None => Ok(()),
    }
}

/// The guarded routes, each declared once: `GET /products` needs `read:products`,
/// `POST /products` `write:products`. The router's guards are built from these, and record them
/// for the metadata's `scopes_supported` and the OpenAPI document.
pub fn guarded_routes() -> [GuardedRoute; 2] {
    [
        GuardedRoute::get("/products").require_scopes(["read:products"]),
        GuardedRoute::post("/products").require_scopes(["write:products"]),
    ]
}

/// The routes: the [`guarded_routes`], each authenticated by `auth` with its own scopes (a
/// request without a token is told them in its 401), and the open `GET /health`.
pub fn router(auth: BearerAuthLayer, store: Store) -> Router {
    let [list, create] = guarded_routes();
    Router::new()
        .guarded_route(&auth, &list, products::list)
        .guarded_route(&auth, &create, products::create)
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(store)
}

/// The same routes with no authorization at all: only for measuring what authorization costs
/// (`bench/load.sh`).
pub fn unprotected_router(store: Store) -> Router {
    let products = get(products::list).merge(axum::routing::post(products::create));
    Router::new()
        .route("/products", products)
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(store)
}

/// `GET /health`: liveness, independent of the issuer.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses((status = 200, description = "The process runs"))
)]
async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// A started API (and dev issuer, if one was needed).
#[derive(Debug)]
pub struct Running {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The expected issuer.
    pub issuer: String,
    /// The embedded dev issuer, when `ISSUER` was not set.
    pub dev_issuer: Option<DevIssuer>,
    /// The validator (for its statistics).
    pub validator: Validator,
    /// The published protected-resource metadata (none for an audience that is not a URL).
    pub metadata: Option<ResourceMetadata>,
    /// What the router's guards recorded: their routes and scopes.
    pub required_scopes: RequiredScopes,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Serves until the process is stopped.
    pub async fn wait(self) {
        let _ = self.server.await;
    }
}

/// Which environment variable a refused authorization setting comes from.
pub fn setting_of(error: &scopegate::ConfigError) -> &'static str {
    use scopegate::ConfigError as E;
    match error {
        E::EmptyIssuer
        | E::IssuerNotDiscoverable(_)
        | E::IssuerMissingScheme(_)
        | E::IssuerNotAUrl(_)
        | E::DuplicateIssuer(_) => "ISSUER",
        E::NoAudience
        | E::AudienceNotAUri(_)
        | E::InvalidResource(_)
        | E::ResourceNotAnAudience(_) => "AUDIENCE",
        E::InvalidMetadataUrl(_) => "METADATA_URL",
        E::InsecureJwksUrl(_) | E::InvalidJwksUrl(_) => "JWKS_URI",
        E::InsecureIntrospectionUrl(_) | E::InvalidIntrospectionUrl(_) => "INTROSPECTION_URL",
        E::InvalidIntrospection(_) => "INTROSPECTION_CLIENT_ID",
        _ => "ISSUER, AUDIENCE, JWKS_URI",
    }
}

/// The embedded dev issuer on `bind` with the [`DEV_APPS`], for the resource `audience`, and
/// the app of its Management API, ready to start (or to add to).
pub fn dev_issuer_builder(bind: SocketAddr, audience: &str) -> DevIssuerBuilder {
    let mut builder = DevIssuer::builder().bind(bind);
    for (id, secret, scopes) in DEV_APPS {
        builder = builder.client(DevClient::new(id, secret, audience, scopes.iter().copied()));
    }
    builder.client(DevClient::management(
        DEV_MANAGEMENT_APP_ID,
        DEV_MANAGEMENT_APP_SECRET,
    ))
}

/// Starts [`dev_issuer_builder`]'s dev issuer.
pub async fn start_dev_issuer(bind: SocketAddr, audience: &str) -> Result<DevIssuer, SetupError> {
    Ok(dev_issuer_builder(bind, audience).start().await?)
}

/// Starts the dev issuer if needed, waits up to `settings.warm_up` for the issuer's keys, and
/// serves the API, keys or not: an unreachable issuer is not a configuration error, and while it
/// is down `/ready` answers 503 and protected routes 503 with `Retry-After`. Only configuration
/// errors (and a port that cannot be bound) fail here.
pub async fn start(settings: Settings) -> Result<Running, SetupError> {
    // Before anything listens.
    settings.check_exposure()?;
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    // Before anything is measured: the key fetch at start is the first event worth counting.
    #[cfg(feature = "metrics")]
    let metrics = prometheus();
    let (issuer, dev_issuer) = match &settings.issuer {
        Some(issuer) => (issuer.clone(), None),
        None => {
            let mut builder = dev_issuer_builder(settings.dev_issuer_bind, &settings.audience);
            // With introspection on, the dev issuer behaves as Logto: a token requested without
            // `resource` is opaque, and the API may introspect with its own credentials.
            if let Some(introspection) = &settings.introspection {
                builder =
                    builder
                        .opaque_tokens(OpaqueTokens::WithoutResource)
                        .client(DevClient::new(
                            introspection.client_id.clone(),
                            introspection.client_secret.clone(),
                            settings.audience.clone(),
                            [""; 0],
                        ));
            }
            let dev = builder.start().await?;
            (dev.issuer().to_owned(), Some(dev))
        }
    };
    let mut config = AuthConfig::builder(issuer.clone(), settings.audience.clone());
    if let Some(jwks_uri) = &settings.jwks_uri {
        config = config.jwks_uri(jwks_uri.clone());
    }
    if let Some(introspection) = &settings.introspection {
        config = config.introspection(introspection.config());
    }
    let refused = |source| SetupError::Config {
        setting: setting_of(&source),
        source,
    };
    let validator = config.build().and_then(Validator::new).map_err(refused)?;
    // Logs the issuers still without keys; the background retries take it from there.
    let readiness = validator.warm_up_for(settings.warm_up).await;
    for issuer in readiness.not_ready() {
        // A Logto endpoint given as the issuer: say which issuer to set.
        if let Some(hint) = issuer
            .last_error
            .as_ref()
            .and_then(scopegate::logto::discovery_hint)
        {
            tracing::warn!(issuer = %issuer.issuer, "{hint}");
        }
    }

    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|source| SetupError::Bind {
            addr: settings.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SetupError::Bind {
        addr: settings.bind,
        source,
    })?;
    let metadata = publish_metadata(&settings, &validator, addr)?;
    let mut auth = BearerAuthLayer::new(validator.clone())
        .realm("shopping")
        .dpop(dpop_config(&settings));
    if let Some(metadata) = &metadata {
        auth = auth.resource_metadata(metadata);
    }
    let required_scopes = auth.required_scopes().clone();
    let mut app = router(
        auth.clone(),
        Store::seeded_with_capacity(settings.max_products),
    )
    .route_service("/ready", validator.ready_service())
    .merge(openapi::router(&auth));
    if let Some(metadata) = &metadata {
        app = app.merge(metadata.router());
    }
    #[cfg(feature = "metrics")]
    let app = match metrics {
        Some(handle) => app.route("/metrics", get(move || async move { handle.render() })),
        None => app,
    };
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(Running {
        addr,
        issuer,
        dev_issuer,
        validator,
        metadata,
        required_scopes,
        server,
    })
}

/// The protected-resource metadata of the audience, published at `METADATA_URL`, or on the
/// API's own address at the path RFC 9728 §3.1 derives from the audience: the audience
/// (`https://shopping.api`) names the API, it is not where the API is served. `None`, with a
/// warning, for an audience that is not an http(s) URL (`urn:…`), which a document cannot name.
fn publish_metadata(
    settings: &Settings,
    validator: &Validator,
    addr: SocketAddr,
) -> Result<Option<ResourceMetadata>, SetupError> {
    let refused = |source| SetupError::Config {
        setting: setting_of(&source),
        source,
    };
    let url = match (&settings.metadata_url, well_known_path(&settings.audience)) {
        (Some(url), _) => url.clone(),
        (None, Some(path)) => format!("http://{addr}{path}"),
        (None, None) => {
            tracing::warn!(
                audience = %settings.audience,
                "AUDIENCE is not an http(s) URL: no protected-resource metadata is published"
            );
            return Ok(None);
        }
    };
    ResourceMetadata::builder(validator, settings.audience.clone())
        .resource_name("Shopping API")
        .metadata_url(url)
        .build()
        .map(Some)
        .map_err(refused)
}

/// The path (and query) of the audience's RFC 9728 metadata URL.
fn well_known_path(audience: &str) -> Option<String> {
    let url = url::Url::parse(&scopegate::metadata::well_known_url(audience)?).ok()?;
    Some(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

/// `DPOP`, `PUBLIC_URL` and `REDIS_URL` (all checked by [`Settings::from_lookup`]).
fn dpop_config(settings: &Settings) -> DpopConfig {
    let mut verifier = ProofVerifier::builder();
    if let Some(url) = &settings.redis_url
        && let Ok(store) = RedisReplayStore::builder(url.as_str()).build()
    {
        verifier = verifier.replay_store(store);
    }
    let mut config = DpopConfig::new(settings.dpop).verifier(verifier.build());
    if let Some(base) = settings.public_url.as_deref().and_then(PublicUrl::base) {
        config = config.public_url(base);
    }
    config
}

/// The process-wide Prometheus recorder (installed once, however many APIs a process starts).
#[cfg(feature = "metrics")]
fn prometheus() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "metrics recorder not installed; /metrics is off");
                None
            }
        })
        .clone()
}

/// The embedded dev issuer and its [`DEV_APPS`], as the banners of the examples print them.
pub fn dev_apps_text(dev: &DevIssuer) -> String {
    let mut text = format!(
        "\nNo ISSUER set: embedded dev issuer at {} with two apps:\n",
        dev.issuer()
    );
    for (id, secret, scopes) in DEV_APPS {
        text.push_str(&format!(
            "  {id:<16} secret {secret:<14} scopes: {}\n",
            scopes.join(" ")
        ));
    }
    text
}

/// The text printed at start: where things are and, with the dev issuer, how to call the API.
pub fn banner(running: &Running, audience: &str) -> String {
    let api = format!("http://{}", running.addr);
    let mut text = format!(
        "shopping API listening on {api}\n  issuer:   {}\n  audience: {audience}\n",
        running.issuer
    );
    if let Some(metadata) = &running.metadata {
        text.push_str(&format!("  metadata: {}\n", metadata.url()));
    }
    text.push_str(&format!("  openapi:  {api}{}\n", openapi::OPENAPI_PATH));
    if let Some(dev) = &running.dev_issuer {
        let token_endpoint = dev.token_endpoint();
        text.push_str(&dev_apps_text(dev));
        let token = |app: &str, secret: &str, scope: &str| {
            format!(
                "TOKEN=$(curl -s -u {app}:{secret} -d grant_type=client_credentials \
                 -d resource={audience} -d scope=\"{scope}\" {token_endpoint} \
                 | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
            )
        };
        let post = format!(
            "curl -i -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \
             -d '{{\"name\": \"Tea, 100 bags\", \"price_cents\": 1299}}' {api}/products"
        );
        text.push_str(&format!(
            "\nGet a token and call the API:\n  {}\n  \
             curl -H \"Authorization: Bearer $TOKEN\" {api}/products\n\
             \nAdd a product (the reader's token gets 403 insufficient_scope):\n  {post}\n\
             \nWith the admin's token it is 201 Created:\n  {}\n  {post}\n\
             \nOr, in another terminal: cargo run -p m2m-client\n",
            token("shopping-reader", "reader-secret", "read:products"),
            token(
                "shopping-admin",
                "admin-secret",
                "read:products write:products"
            ),
        ));
        text.push_str(&format!(
            "\nLogto Management API (resource {}, permission {}) at {}:\n  \
             {DEV_MANAGEMENT_APP_ID:<16} secret {DEV_MANAGEMENT_APP_SECRET}\n\
             List the apps with: cargo run -p m2m-client -- --management\n",
            scopegate_dev::MANAGEMENT_RESOURCE,
            scopegate_dev::MANAGEMENT_SCOPE,
            dev.management_api_url(),
        ));
    }
    text
}
