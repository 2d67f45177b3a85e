//! `cargo run -p m2m-client [-- --add NAME PRICE_CENTS]`: gets an access token by the
//! client_credentials grant, calls `GET ${API_URL}/products`, then tries
//! `POST ${API_URL}/products` (a default product, or the one given with `--add`). It prints each
//! status, the `WWW-Authenticate` challenge of a refusal, and the body. It fails (exit 1) when
//! the GET does; a POST refused with `403 insufficient_scope` is the reader app's expected answer.
//!
//! | variable | default (the shopping API's embedded dev issuer) |
//! |---|---|
//! | `LOGTO_ENDPOINT` | `http://127.0.0.1:3010` (token endpoint: `${LOGTO_ENDPOINT}/oidc/token`); the shopping API takes the same variable, or `ISSUER=${LOGTO_ENDPOINT}/oidc` |
//! | `APP_ID` / `APP_SECRET` | `shopping-reader` / `reader-secret` |
//! | `RESOURCE` | `https://shopping.api` |
//! | `SCOPE` | `read:products` |
//! | `API_URL` | `http://127.0.0.1:3000`: https, or http to a loopback host (the token is not sent in clear text elsewhere) |
//! | `ALLOW_INSECURE_HTTP` | unset; `1` allows plain http to other hosts too (closed test networks only) |
//! | `USE_DPOP` | unset; `1` binds the token to a new ES256 key with DPoP (RFC 9449) and sends a proof with every call |
//! | `DPOP_KEY` | unset; the path of your ES256 key (PKCS#8 PEM, `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`) to use for DPoP instead |
//!
//! With `--management` it lists the applications through the Logto Management API instead (see
//! `management.rs` for its variables).

use std::process::ExitCode;
use std::time::Duration;

use scopegate_m2m::{ClientCredentials, DpopAlgorithm, DpopKey};

mod calls;
mod management;

/// The shopping API's embedded dev issuer (its `DEV_ISSUER_BIND` default).
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:3010";

use calls::NewProduct;

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [] => run(&NewProduct::default()).await,
        [flag, name, price] if flag == "--add" => match NewProduct::parse(name, price) {
            Ok(product) => run(&product).await,
            Err(message) => return usage(&message),
        },
        [flag] if flag == "--management" => management::run().await.map(|text| calls::Outcome {
            text,
            success: true,
        }),
        _ => return usage("unexpected arguments"),
    };
    match outcome {
        Ok(outcome) => {
            println!("{}", outcome.text);
            if outcome.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("m2m-client: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("m2m-client: {message}\nusage: m2m-client [--add NAME PRICE_CENTS | --management]");
    ExitCode::from(2)
}

async fn run(product: &NewProduct) -> Result<calls::Outcome, String> {
    let endpoint = var("LOGTO_ENDPOINT", DEFAULT_ENDPOINT);
    let api = var("API_URL", "http://127.0.0.1:3000");
    let insecure = match var("ALLOW_INSECURE_HTTP", "0").as_str() {
        "0" | "false" => false,
        "1" | "true" => true,
        other => {
            return Err(format!(
                "invalid settings: ALLOW_INSECURE_HTTP={other:?} is not 1 or 0"
            ));
        }
    };
    let mut builder = ClientCredentials::logto(
        &endpoint,
        var("APP_ID", "shopping-reader"),
        var("APP_SECRET", "reader-secret"),
    )
    .resource(var("RESOURCE", "https://shopping.api"))
    .scope(var("SCOPE", "read:products"));
    if insecure {
        builder = builder.allow_insecure_http();
    }
    if let Some(key) = dpop_key()? {
        builder = builder.dpop(key);
    }
    let source = builder
        .build()
        .map_err(|e| format!("invalid settings: {e}"))?;
    let url = format!("{}/products", api.trim_end_matches('/'));
    let parsed = url::Url::parse(&url).map_err(|_| format!("API_URL={api:?} is not a URL"))?;
    // Before any token exists: a wrong API_URL must not cost a token request, let alone the token.
    source.destination_allowed(&parsed).map_err(|e| {
        format!("API_URL: {e} (set ALLOW_INSECURE_HTTP=1 on a closed test network)")
    })?;

    let token = source
        .token()
        .await
        .map_err(|e| format!("cannot get a token from {}: {e}", source.token_url()))?;
    let expires_in = token.expires_in().as_secs();
    eprintln!(
        "got a {} token for scope {:?}, expiring in {expires_in} s",
        token.token_type(),
        token.scope()
    );

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    calls::get_and_post(&source, &http, &url, product).await
}

/// The DPoP key from `DPOP_KEY` (a PEM file) or `USE_DPOP=1` (a new one), or none. Not `DPOP`: the
/// shopping API reads that one (its mode), and both may run from one shell.
fn dpop_key() -> Result<Option<DpopKey>, String> {
    if let Ok(path) = std::env::var("DPOP_KEY") {
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| format!("invalid settings: DPOP_KEY={path:?}: {e}"))?;
        return DpopKey::from_pkcs8_pem(DpopAlgorithm::Es256, &pem)
            .map(Some)
            .map_err(|e| format!("invalid settings: DPOP_KEY={path:?}: {e}"));
    }
    match var("USE_DPOP", "0").as_str() {
        "0" | "false" => Ok(None),
        "1" | "true" => DpopKey::generate()
            .map(Some)
            .map_err(|e| format!("cannot make a DPoP key: {e}")),
        other => Err(format!(
            "invalid settings: USE_DPOP={other:?} is not 1 or 0"
        )),
    }
}
