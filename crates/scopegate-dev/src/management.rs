//! A minimal Logto Management API: the built-in resource, a dev app that may use it, and
//! `GET /api/applications`, guarded by scopegate's own layer.
//!
//! Logto protects its Management API with one permission, `all`, on the resource
//! `https://<tenant-id>.logto.app/api` (`https://default.logto.app/api` on Logto OSS), and serves
//! it under `<endpoint>/api/`. The dev issuer does the same for the one route a client needs to
//! show the flow works: the list of its applications.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopegate_dev::DevIssuerError> {
//! use scopegate_dev::{DevClient, DevIssuer, MANAGEMENT_RESOURCE};
//!
//! let issuer = DevIssuer::builder()
//!     .client(DevClient::management("dev-management", "management-secret"))
//!     .start()
//!     .await?;
//! assert_eq!(issuer.management_api_url(), format!("{}/api", issuer.endpoint()));
//! assert_eq!(issuer.clients()[0].resources, [MANAGEMENT_RESOURCE]);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::get;
use axum::{Json, handler::Handler};
use scopegate::{AuthConfig, BearerAuthLayer, Validator, require_scopes};
use serde_json::{Value, json};

use crate::{DevClient, DevIssuerError, State};

/// The Logto Management API's resource indicator on Logto OSS, whose tenant is `default`.
pub const MANAGEMENT_RESOURCE: &str = "https://default.logto.app/api";
/// The one permission of the Logto Management API; every route requires it.
pub const MANAGEMENT_SCOPE: &str = "all";
/// The id of the dev management app that the shopping API's dev issuer registers.
pub const DEV_MANAGEMENT_APP_ID: &str = "dev-management";
/// The secret of [`DEV_MANAGEMENT_APP_ID`]. A dev value, printed in banners on purpose.
pub const DEV_MANAGEMENT_APP_SECRET: &str = "management-secret";

/// The `realm` of the Management API's challenges.
const REALM: &str = "logto-management";

impl DevClient {
    /// A machine-to-machine app holding the Management API's `all` permission, as a Logto app
    /// given the built-in "Logto Management API access" role.
    pub fn management(id: impl Into<String>, secret: impl Into<String>) -> DevClient {
        DevClient::new(id, secret, MANAGEMENT_RESOURCE, [MANAGEMENT_SCOPE])
    }
}

/// The Management API routes of the issuer `issuer`, behind a scopegate layer that accepts only
/// this issuer's tokens for [`MANAGEMENT_RESOURCE`] (keys from its own JWKS endpoint, fetched on
/// the first request) and a guard requiring [`MANAGEMENT_SCOPE`].
pub(crate) fn routes(issuer: &str) -> Result<Router<Arc<State>>, DevIssuerError> {
    let config = AuthConfig::builder(issuer, MANAGEMENT_RESOURCE)
        .jwks_uri(format!("{issuer}/jwks"))
        .build()?;
    let auth = BearerAuthLayer::new(Validator::new(config)?).realm(REALM);
    let applications = applications.layer(require_scopes([MANAGEMENT_SCOPE]));
    Ok(Router::new()
        .route("/api/applications", get(applications))
        .route_layer(auth))
}

/// `GET /api/applications`: the registered apps in the shape of Logto's `Application` (the
/// fields a list needs; never the secret). Logto paginates only when asked (`page`), so the
/// whole list is one answer here too.
async fn applications(Extract(state): Extract<Arc<State>>) -> Json<Vec<Value>> {
    Json(
        state
            .clients
            .iter()
            .map(|client| {
                json!({
                    "id": client.id,
                    "name": client.id,
                    "description": null,
                    "type": "MachineToMachine",
                    "isThirdParty": false,
                })
            })
            .collect(),
    )
}
