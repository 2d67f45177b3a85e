//! `GET /products` in the peers' harness with no auth at all. `bench/peers.sh` measures it beside
//! bench-server's ceiling (`AUTH_MODE=off`): when the two agree, the peers' handler costs what
//! the shopping API's does, and the peers' ratios to the ceiling measure their auth alone.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use peer_common::{Catalogue, Settings};

async fn products(State(catalogue): State<Catalogue>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        catalogue.page_json(),
    )
}

fn main() {
    peer_common::run(async {
        let settings = Settings::from_env();
        let app = axum::Router::new()
            .route("/products", get(products))
            .with_state(Catalogue::load(&settings));
        let listener = peer_common::listen(&settings).await;
        peer_common::ready(&settings, &listener);
        axum::serve(listener, app).await.expect("serve");
    });
}
