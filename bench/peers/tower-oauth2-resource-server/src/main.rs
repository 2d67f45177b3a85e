//! `GET /products` behind tower-oauth2-resource-server, configured as its README and axum example
//! show: one tenant built from the issuer URL (OpenID Connect discovery at start finds the JWKS
//! URL; the key set is refetched every 60 s), with the audience; its recommended claims check is
//! `exp`, `aud`, `iss` (and `nbf` when the issuer lists it). The claims reach the handler as an
//! extension; it has no scope check of its own, so the handler checks the scope and answers 403.
//! It verifies the signature on every request.

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use peer_common::{Catalogue, Settings};
use serde::Deserialize;
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;

/// The claim the route needs beyond what the tenant's claims check covers.
#[derive(Debug, Clone, Deserialize)]
struct ScopeClaims {
    #[serde(default)]
    scope: String,
}

async fn products(
    Extension(claims): Extension<ScopeClaims>,
    State(catalogue): State<Catalogue>,
) -> Response {
    if !peer_common::grants(&claims.scope) {
        return StatusCode::FORBIDDEN.into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        catalogue.page_json(),
    )
        .into_response()
}

fn main() {
    peer_common::run(async {
        let settings = Settings::from_env();
        let tenant = TenantConfiguration::builder(settings.issuer.clone())
            .audiences(&[&settings.audience])
            .build()
            .await
            .expect("tower-oauth2-resource-server: discovery");
        let server = OAuth2ResourceServer::<ScopeClaims>::builder()
            .add_tenant(tenant)
            .build()
            .await
            .expect("tower-oauth2-resource-server: the key set");
        let app = axum::Router::new()
            .route("/products", get(products))
            .layer(server.into_layer())
            .with_state(Catalogue::load(&settings));
        let listener = peer_common::listen(&settings).await;
        peer_common::ready(&settings, &listener);
        axum::serve(listener, app).await.expect("serve");
    });
}
