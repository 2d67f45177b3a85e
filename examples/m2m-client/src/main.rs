//! `cargo run -p m2m-client`: gets an access token by the client_credentials grant and calls
//! `GET ${API_URL}/products`.
//!
//! | variable | default (the shopping API's embedded dev issuer) |
//! |---|---|
//! | `LOGTO_ENDPOINT` | `http://127.0.0.1:3001` (token endpoint: `${LOGTO_ENDPOINT}/oidc/token`) |
//! | `APP_ID` / `APP_SECRET` | `shopping-reader` / `reader-secret` |
//! | `RESOURCE` | `https://shopping.api` |
//! | `SCOPE` | `read:products` |
//! | `API_URL` | `http://127.0.0.1:3000` |
//!
//! With `--management` it lists the applications through the Logto Management API instead (see
//! `management.rs` for its variables).

use std::process::ExitCode;
use std::time::Duration;

use scopegate_m2m::ClientCredentials;

mod management;

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
        [] => run().await,
        [flag] if flag == "--management" => management::run().await,
        _ => {
            eprintln!("usage: m2m-client [--management]");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("m2m-client: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
    let endpoint = var("LOGTO_ENDPOINT", "http://127.0.0.1:3001");
    let api = var("API_URL", "http://127.0.0.1:3000");
    let source = ClientCredentials::logto(
        &endpoint,
        var("APP_ID", "shopping-reader"),
        var("APP_SECRET", "reader-secret"),
    )
    .resource(var("RESOURCE", "https://shopping.api"))
    .scope(var("SCOPE", "read:products"))
    .build()
    .map_err(|e| format!("invalid settings: {e}"))?;

    let token = source
        .token()
        .await
        .map_err(|e| format!("cannot get a token from {}: {e}", source.token_url()))?;
    let expires_in = token.expires_in().as_secs();
    eprintln!(
        "got a token for scope {:?}, expiring in {expires_in} s",
        token.scope()
    );

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let url = format!("{}/products", api.trim_end_matches('/'));
    let response = source
        .send(http.get(&url))
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?;
    if !status.is_success() {
        let challenge = challenge.map(|c| format!(" ({c})")).unwrap_or_default();
        return Err(format!("GET {url} answered {status}{challenge}: {body}"));
    }
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("GET {url} did not answer JSON: {e}"))?;
    serde_json::to_string_pretty(&json).map_err(|e| e.to_string())
}
