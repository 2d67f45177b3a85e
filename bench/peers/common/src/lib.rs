//! What the peer servers of `bench/peers.sh` share, so that between them and `bench/server` only
//! the auth layer differs: the settings, the runtime (one tokio worker, as bench-server has), the
//! catalogue behind `GET /products`, the scope check and the `ready` file.
//!
//! Settings, from the environment (`bench/peers.sh` sets them):
//! * `BENCH_ISSUER`, `BENCH_JWKS_URI`, `BENCH_AUDIENCE`: the dev issuer that minted the tokens (a bench-server
//!   process started by `bench/peers.sh`), its key set, and the API's audience;
//! * `PRODUCTS_FILE`: the JSON array that bench-server's `GET /products` answers, which the peers
//!   serve as the shopping API does (the products in memory, serialised on each request);
//! * `TOKENS_DIR`: where to write `ready` with the address once listening; `BIND` (default
//!   `127.0.0.1:0`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

/// The scope the shopping API's `GET /products` needs.
pub const SCOPE: &str = "read:products";

/// Where the peer server gets its keys, tokens' issuer and audience, and where it reports.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    products_file: PathBuf,
    tokens_dir: PathBuf,
    bind: SocketAddr,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set (bench/peers.sh sets it)"))
}

impl Settings {
    pub fn from_env() -> Settings {
        let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
        Settings {
            issuer: var("BENCH_ISSUER"),
            jwks_uri: var("BENCH_JWKS_URI"),
            audience: var("BENCH_AUDIENCE"),
            products_file: var("PRODUCTS_FILE").into(),
            tokens_dir: var("TOKENS_DIR").into(),
            bind: bind
                .parse()
                .expect("BIND must be an address such as 127.0.0.1:0"),
        }
    }
}

/// One product, with the shopping API's fields in its order, so the body is the same bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Product {
    id: u64,
    name: String,
    price_cents: u64,
}

/// The products in memory behind a lock, as the shopping API's store holds them.
#[derive(Debug, Clone)]
pub struct Catalogue(Arc<RwLock<Vec<Product>>>);

impl Catalogue {
    pub fn load(settings: &Settings) -> Catalogue {
        let text = std::fs::read_to_string(&settings.products_file).expect("PRODUCTS_FILE");
        let products =
            serde_json::from_str(&text).expect("PRODUCTS_FILE: a JSON array of products");
        Catalogue(Arc::new(RwLock::new(products)))
    }

    /// The body of `GET /products`: the products serialised on each request, as the shopping
    /// API does (its page of up to 100 holds them all).
    pub fn page_json(&self) -> Vec<u8> {
        let products = self.0.read().unwrap_or_else(PoisonError::into_inner);
        serde_json::to_vec(&*products).unwrap_or_default()
    }
}

/// Whether a `scope` claim grants [`SCOPE`]: RFC 6749 §3.3, space-delimited and case-sensitive.
pub fn grants(scope: &str) -> bool {
    scope.split(' ').any(|s| s == SCOPE)
}

/// Runs the server on one tokio worker thread, as bench-server does.
pub fn run<F: Future<Output = ()>>(server: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(server);
}

/// Binds the listener; call [`ready`] once the server is set up.
pub async fn listen(settings: &Settings) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(settings.bind)
        .await
        .expect("bind")
}

/// Tells `bench/peers.sh` where the server listens.
pub fn ready(settings: &Settings, listener: &tokio::net::TcpListener) {
    let addr = listener.local_addr().expect("local address");
    std::fs::write(settings.tokens_dir.join("ready"), addr.to_string()).expect("write ready");
}
