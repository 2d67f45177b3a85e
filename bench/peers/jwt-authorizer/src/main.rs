//! `GET /products` behind jwt-authorizer, configured as its README shows: an `Authorizer` built
//! `from_jwks_url` (keys fetched at start, refetched on an unknown `kid` at most every 10 s), a
//! `Validation` with `iss` and `aud` (its defaults add `exp` with 60 s leeway; `nbf` is off), and a
//! `check` for the scope, which it answers with 403 `insufficient_scope`. It verifies the
//! signature on every request; the algorithms are those of the key (ES256, ES384 for an EC key).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use jwt_authorizer::{IntoLayer, JwtAuthorizer, Validation};
use peer_common::{Catalogue, Settings};
use serde::Deserialize;

/// The claim the route needs beyond what `Validation` checks.
#[derive(Debug, Clone, Deserialize)]
struct ScopeClaims {
    #[serde(default)]
    scope: String,
}

async fn products(State(catalogue): State<Catalogue>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        catalogue.page_json(),
    )
}

fn main() {
    peer_common::run(async {
        let settings = Settings::from_env();
        let validation = Validation::new()
            .iss(&[&settings.issuer])
            .aud(&[&settings.audience]);
        let authorizer = JwtAuthorizer::<ScopeClaims>::from_jwks_url(&settings.jwks_uri)
            .validation(validation)
            .check(|claims: &ScopeClaims| peer_common::grants(&claims.scope))
            .build()
            .await
            .expect("jwt-authorizer: the key set");
        let app = axum::Router::new()
            .route("/products", get(products))
            .layer(authorizer.into_layer())
            .with_state(Catalogue::load(&settings));
        let listener = peer_common::listen(&settings).await;
        peer_common::ready(&settings, &listener);
        axum::serve(listener, app).await.expect("serve");
    });
}
