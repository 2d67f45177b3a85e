//! `GET /openapi.json`: the API's OpenAPI 3.1 document. Operations and bodies come from the
//! handlers' utoipa annotations; the security (the OAuth 2.0 client-credentials scheme at the
//! issuer's token URL, and each guarded operation's scopes) from the guards the router was built
//! with ([`scopegate::openapi::OpenApiSecurity`]), so no scope is written twice.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scopegate::BearerAuthLayer;
use scopegate::openapi::{OpenApiError, OpenApiSecurity, OpenApiSecurityBuilder};
use tokio::sync::OnceCell;
use utoipa::OpenApi as _;

use crate::products::{NewProduct, Product};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// How long a client should wait after a 503 (the issuer's metadata was unreachable).
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// The document without its security: what the handlers' annotations say.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Shopping API",
        description = "Example resource server protected by scopegate. Tokens: OAuth 2.0 client \
                       credentials with `resource` set to the API's audience."
    ),
    paths(
        crate::products::list,
        crate::products::create,
        crate::health,
        document
    ),
    components(schemas(Product, NewProduct))
)]
struct Annotated;

/// The document's state: the security settings, and the JSON once it could be made.
#[derive(Clone)]
struct Document {
    security: OpenApiSecurityBuilder,
    json: Arc<OnceCell<Bytes>>,
}

impl Document {
    /// The JSON, made on the first request that finds the issuer's token endpoint (discovery
    /// may fail while the issuer is down: the API starts without it, as without its keys).
    async fn json(&self) -> Result<Bytes, OpenApiError> {
        self.json
            .get_or_try_init(|| async {
                let security = self.security.clone().discover().await?.build()?;
                let mut doc = Annotated::openapi();
                security.apply(&mut doc);
                // Plain data (strings, maps, numbers): serializing cannot fail.
                Ok(Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()))
            })
            .await
            .cloned()
    }
}

/// The router serving [`OPENAPI_PATH`], open (clients read it before they have a token). The
/// security is read from the routes `auth` guards when the document is first asked for, so
/// merge this after building them.
pub fn router(auth: &BearerAuthLayer) -> Router {
    let security = OpenApiSecurity::builder(auth)
        .scope_description("read:products", "List the products")
        .scope_description("write:products", "Add products");
    let state = Document {
        security,
        json: Arc::new(OnceCell::new()),
    };
    Router::new()
        .route(OPENAPI_PATH, get(document))
        .with_state(state)
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"),
        (status = 503, description = "The issuer's token endpoint is not known yet; retry after `Retry-After` seconds"),
    )
)]
async fn document(State(doc): State<Document>) -> Response {
    match doc.json().await {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "no OpenAPI document yet");
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": error.to_string(),
            });
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs()),
            );
            response
        }
    }
}
