//! An MCP server protected by scopegate: the shopping API's product store as two MCP tools,
//! over rmcp's streamable HTTP transport on axum.
//!
//! * `POST /mcp` (and `GET`, `DELETE`): the MCP endpoint. Every request needs a bearer token
//!   for the resource `AUDIENCE`; a `tools/call` of `list_products` needs `read:products`, of
//!   `add_product` `write:products`, else HTTP 403 `insufficient_scope` naming the scope
//!   ([`gate`]). `tools/list` lists both tools to every token.
//!
//! Configured from the environment ([`Settings::from_env`]); with no `ISSUER` it starts the
//! shopping API's embedded dev issuer with its two apps, so it runs with no account anywhere.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod gate;
pub mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::any_service;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use scopegate::{BearerAuthLayer, ConfigError, ResourceMetadata, Validator};
use scopegate_dev::DevIssuer;
use shopping_api::env::Env;
use shopping_api::server::{self, Served};
use shopping_api::{DEFAULT_WARM_UP, DEV_APPS, SetupError, Store};

pub use tools::{Catalogue, TOOL_SCOPES, required_scopes};

/// Where the server listens unless `BIND` says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:3003";
/// The path of the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";
/// Where the embedded dev issuer listens: any free loopback port, clear of a shopping API's dev
/// issuer on 3010. MCP clients find it through the metadata, and the banner prints it.
pub const DEV_ISSUER_BIND: &str = "127.0.0.1:0";

/// Every variable [`Settings::from_env`] reads. Set but empty, each is a mistake (exit code 2),
/// never a silent default.
pub const VARIABLES: [&str; 5] = [
    "ISSUER",
    "AUDIENCE",
    "JWKS_URI",
    "BIND",
    "ALLOW_DEV_ISSUER_ON_NETWORK",
];

/// What the server is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The expected `iss`; `None` starts the embedded dev issuer.
    pub issuer: Option<String>,
    /// The resource (`aud`, and the metadata's `resource`); `None` means this server's own URL,
    /// `http://<BIND>/mcp`.
    pub audience: Option<String>,
    /// The JWKS URL; `None` means discovery from the issuer.
    pub jwks_uri: Option<String>,
    /// Where the server listens.
    pub bind: SocketAddr,
    /// Start with the embedded dev issuer even when the server listens on a non-loopback
    /// address.
    pub allow_dev_issuer_on_network: bool,
}

impl Settings {
    /// Reads the [`VARIABLES`]: `ISSUER`, `AUDIENCE` (a URL), `JWKS_URI`, `BIND` and
    /// `ALLOW_DEV_ISSUER_ON_NETWORK` (`1` or `true`).
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
            allow_dev_issuer_on_network: env.flag("ALLOW_DEV_ISSUER_ON_NETWORK")?,
        })
    }
}

/// A started server (and dev issuer, if one was needed).
#[derive(Debug)]
pub struct Running {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The MCP endpoint's URL.
    pub url: String,
    /// The resource: the audience tokens must carry.
    pub audience: String,
    /// The expected issuer.
    pub issuer: String,
    /// The embedded dev issuer, when `ISSUER` was not set.
    pub dev_issuer: Option<DevIssuer>,
    served: Served,
}

impl Running {
    /// Serves until the process is stopped.
    pub async fn wait(self) {
        self.served.wait().await;
    }
}

/// Binds `settings.bind` and [`start_on`] it.
pub async fn start(settings: Settings) -> Result<Running, SetupError> {
    if settings.issuer.is_none() && !settings.allow_dev_issuer_on_network {
        // Before anything listens (start_on checks the bound address again, for its callers).
        shopping_api::refuse_dev_issuer_on_network([settings.bind])?;
    }
    let (listener, _) = server::bind(settings.bind).await?;
    start_on(listener, settings).await
}

/// Serves on `listener` (whose address makes the default audience): starts the dev issuer if
/// needed, waits a bounded time for the issuer's keys, and serves, keys or not (until they
/// come, tokens get 503 with `Retry-After`).
pub async fn start_on(
    listener: tokio::net::TcpListener,
    settings: Settings,
) -> Result<Running, SetupError> {
    let addr = listener.local_addr().map_err(|source| SetupError::Bind {
        addr: settings.bind,
        source,
    })?;
    if settings.issuer.is_none() && !settings.allow_dev_issuer_on_network {
        shopping_api::refuse_dev_issuer_on_network([addr])?;
    }
    let url = format!("http://{addr}{MCP_PATH}");
    let audience = settings.audience.clone().unwrap_or_else(|| url.clone());
    let (issuer, dev_issuer) = match &settings.issuer {
        Some(issuer) => (issuer.clone(), None),
        None => {
            let bind = DEV_ISSUER_BIND.parse().unwrap_or(addr);
            let dev = shopping_api::start_dev_issuer(bind, &audience).await?;
            (dev.issuer().to_owned(), Some(dev))
        }
    };
    let jwks_uri = settings.jwks_uri.as_deref();
    let validator = server::validator(&issuer, &audience, jwks_uri, DEFAULT_WARM_UP).await?;
    let metadata = metadata(&validator, &audience).map_err(|source| SetupError::Config {
        setting: shopping_api::setting_of(&source),
        source,
    })?;
    let app = router(BearerAuthLayer::new(validator), &metadata, Store::seeded());
    Ok(Running {
        addr,
        url,
        audience,
        issuer,
        dev_issuer,
        served: Served::spawn(listener, app),
    })
}

/// The RFC 9728 document of the resource `audience` (an audience `validator` accepts), naming
/// its issuers and, as `scopes_supported`, the scopes of [`TOOL_SCOPES`].
pub fn metadata(validator: &Validator, audience: &str) -> Result<ResourceMetadata, ConfigError> {
    ResourceMetadata::builder(validator, audience)
        .resource_name("scopegate MCP example: product catalogue")
        .scopes_supported(
            TOOL_SCOPES
                .iter()
                .flat_map(|(_, scopes)| scopes.iter().copied()),
        )
        .build()
}

/// The MCP endpoint at [`MCP_PATH`], behind `auth` and the per-tool check, over `store`, and
/// the metadata document (public) at its RFC 9728 §3.1 path.
///
/// Challenges point to `metadata`; a 401 names `read:products`, the scope that makes the server
/// useful (listing the catalogue): a client asks for more when a tool's 403 names it (the MCP
/// spec's step-up). The resource's host is one rmcp accepts in `Host`, beside loopback (rmcp's
/// guard against DNS rebinding).
pub fn router(auth: BearerAuthLayer, metadata: &ResourceMetadata, store: Store) -> Router {
    let auth = auth
        .realm("mcp")
        .resource_metadata(metadata)
        .challenge_scopes(["read:products"]);
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = url::Url::parse(metadata.resource())
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
    {
        hosts.push(host);
    }
    // Stateless, JSON answers: each POST stands alone with its own token, so there is no session
    // that a second token could ride on.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(gate::MAX_MESSAGE_BYTES);
    let mcp = StreamableHttpService::new(
        move || Ok(Catalogue::new(store.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route(
            MCP_PATH,
            any_service(mcp).layer(from_fn(gate::require_tool_scopes)),
        )
        .route_layer(auth)
        .merge(metadata.router())
}

/// The text printed at start: where things are and how to connect.
pub fn banner(running: &Running) -> String {
    let mut text = format!(
        "MCP server listening on {}\n  issuer:   {}\n  resource: {}\n  tools:    {}\n",
        running.url,
        running.issuer,
        running.audience,
        TOOL_SCOPES
            .iter()
            .map(|(tool, scopes)| format!("{tool} ({})", scopes.join(" ")))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(dev) = &running.dev_issuer {
        text.push_str(&format!(
            "\nNo ISSUER set: embedded dev issuer at {} with two apps \
             (client_credentials, client_secret_basic):\n",
            dev.issuer()
        ));
        for (id, secret, scopes) in DEV_APPS {
            text.push_str(&format!(
                "  {id:<16} secret {secret:<14} scopes: {}\n",
                scopes.join(" ")
            ));
        }
        text.push_str(&format!(
            "\nConnect an MCP client to {url} with one of these apps: it finds the issuer by \
             the 401's resource_metadata and asks for a token with resource={audience}.\n\
             By hand:\n  \
             TOKEN=$(curl -s -u shopping-admin:admin-secret -d grant_type=client_credentials \
             -d resource={audience} {token} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n  \
             curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \
             -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
             -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\
             \"params\":{{\"name\":\"list_products\",\"arguments\":{{}}}}}}' {url}\n",
            url = running.url,
            audience = running.audience,
            token = dev.token_endpoint(),
        ));
    }
    text
}
