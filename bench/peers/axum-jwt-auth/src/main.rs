//! `GET /products` behind axum-jwt-auth, configured as its README's "Remote JWKS" section shows: a
//! `RemoteJwksDecoder` on the issuer's JWKS URL (fetched at start, refreshed hourly in the
//! background), jsonwebtoken's `Validation` for ES384 with `iss` and `aud` (its defaults add `exp`
//! with 60 s leeway), and the `Claims` extractor in the handler. It has no scope check of its
//! own: the handler checks the scope and answers 403. It verifies the signature on every request.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_jwt_auth::{Claims, Decoder, RemoteJwksDecoder};
use jsonwebtoken::{Algorithm, Validation};
use peer_common::{Catalogue, Settings};
use serde::Deserialize;

/// The claim the route needs beyond what `Validation` checks.
#[derive(Debug, Clone, Deserialize)]
struct ScopeClaims {
    #[serde(default)]
    scope: String,
}

#[derive(Clone, FromRef)]
struct AppState {
    decoder: Decoder<ScopeClaims>,
    catalogue: Catalogue,
}

async fn products(claims: Claims<ScopeClaims>, State(catalogue): State<Catalogue>) -> Response {
    if !peer_common::grants(&claims.claims.scope) {
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
        let mut validation = Validation::new(Algorithm::ES384);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        let decoder = RemoteJwksDecoder::builder()
            .jwks_url(settings.jwks_uri.clone())
            .validation(validation)
            .build()
            .expect("axum-jwt-auth: the decoder");
        let decoder = Arc::new(decoder);
        // The background refresh runs until the process ends.
        let _refresh = decoder
            .initialize()
            .await
            .expect("axum-jwt-auth: the key set");
        let state = AppState {
            decoder,
            catalogue: Catalogue::load(&settings),
        };
        let app = axum::Router::new()
            .route("/products", get(products))
            .with_state(state);
        let listener = peer_common::listen(&settings).await;
        peer_common::ready(&settings, &listener);
        axum::serve(listener, app).await.expect("serve");
    });
}
