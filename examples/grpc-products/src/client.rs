//! The client mode (`grpc-products client`): a token by client_credentials from scopegate-m2m,
//! then `ListProducts` and `AddProduct` through tonic's generated client, each call printed with
//! its status (and, for a refusal, the `www-authenticate` metadata).
//!
//! | variable | default |
//! |---|---|
//! | `LOGTO_ENDPOINT` | `http://127.0.0.1:3011` (the server's embedded dev issuer) |
//! | `APP_ID` / `APP_SECRET` | `shopping-reader` / `reader-secret` |
//! | `SCOPE` | `read:products` |
//! | `API_URL` | `http://127.0.0.1:50051` |
//! | `RESOURCE` | `API_URL` (the server's default resource) |

use std::fmt::Write as _;

use scopegate_m2m::{BearerTokenLayer, ClientCredentials};
use tonic::transport::{Channel, Endpoint};
use tower_layer::Layer as _;

use crate::proto::products_client::ProductsClient;
use crate::proto::{AddProductRequest, ListProductsRequest};
use crate::{DEFAULT_BIND, DEFAULT_DEV_ISSUER_BIND};

/// Every variable [`run`] reads.
pub const VARIABLES: [&str; 6] = [
    "LOGTO_ENDPOINT",
    "APP_ID",
    "APP_SECRET",
    "SCOPE",
    "API_URL",
    "RESOURCE",
];

/// What the calls printed, and whether every call succeeded.
#[derive(Debug)]
pub struct Outcome {
    /// One block per call.
    pub text: String,
    /// Every call answered `OK`.
    pub success: bool,
}

/// Gets a token, then calls `ListProducts` and `AddProduct` (a product named `name` at
/// `price_cents`). Settings come from `var` (the process environment in the program).
pub async fn run(
    var: impl Fn(&str) -> Option<String>,
    name: &str,
    price_cents: u64,
) -> Result<Outcome, String> {
    let get = |name: &str, default: &str| var(name).unwrap_or_else(|| default.to_owned());
    let endpoint = get(
        "LOGTO_ENDPOINT",
        &format!("http://{DEFAULT_DEV_ISSUER_BIND}"),
    );
    let api = get("API_URL", &format!("http://{DEFAULT_BIND}"));
    let api = api.trim_end_matches('/').to_owned();
    let source = ClientCredentials::logto(
        &endpoint,
        get("APP_ID", "shopping-reader"),
        get("APP_SECRET", "reader-secret"),
    )
    .resource(get("RESOURCE", &api))
    .scope(get("SCOPE", "read:products"))
    .build()
    .map_err(|e| format!("invalid settings: {e}"))?;
    let origin: http::Uri = api
        .parse()
        .map_err(|_| format!("API_URL={api:?} is not a URL"))?;
    let token = source
        .token()
        .await
        .map_err(|e| format!("cannot get a token from {}: {e}", source.token_url()))?;
    let mut text = format!(
        "got a {} token for scope {:?} from {}\n",
        token.token_type(),
        token.scope(),
        source.token_url()
    );
    // Lazily connected: a server that is not there is the first call's UNAVAILABLE.
    let channel: Channel = Endpoint::from(origin.clone()).connect_lazy();
    // The token goes on every call from the source (cached, renewed before it expires). gRPC
    // bodies are streams, so the layer never resends one; the origin makes each call's URI
    // absolute, which the layer checks before it sends the token anywhere.
    let authorized = BearerTokenLayer::new(source).without_retry().layer(channel);
    let mut client = ProductsClient::with_origin(authorized, origin);
    let mut success = true;

    let listed = client
        .list_products(ListProductsRequest {
            limit: 10,
            cursor: 0,
        })
        .await;
    let _ = writeln!(text, "\nListProducts {{ limit: 10 }} at {api}");
    match listed {
        Ok(response) => {
            let page = response.into_inner();
            let _ = writeln!(text, "  OK: {} products", page.products.len());
            for product in page.products {
                let _ = writeln!(
                    text,
                    "    #{} {} ({} cents)",
                    product.id, product.name, product.price_cents
                );
            }
        }
        Err(status) => {
            success = false;
            describe(&mut text, &status);
        }
    }

    let added = client
        .add_product(AddProductRequest {
            name: name.to_owned(),
            price_cents,
        })
        .await;
    let _ = writeln!(
        text,
        "\nAddProduct {{ name: {name:?}, price_cents: {price_cents} }} at {api}"
    );
    match added {
        Ok(response) => {
            let product = response.into_inner();
            let _ = writeln!(
                text,
                "  OK: added #{} {} ({} cents)",
                product.id, product.name, product.price_cents
            );
        }
        Err(status) => {
            success = false;
            describe(&mut text, &status);
        }
    }
    Ok(Outcome { text, success })
}

/// A refusal: its code, message and challenge.
fn describe(text: &mut String, status: &tonic::Status) {
    let _ = writeln!(text, "  {:?}: {}", status.code(), status.message());
    if let Some(challenge) = status
        .metadata()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
    {
        let _ = writeln!(text, "  www-authenticate: {challenge}");
    }
    if let Some(retry) = status
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
    {
        let _ = writeln!(text, "  retry-after: {retry}");
    }
}
