//! What a rejection logs, in a test binary of its own.
//!
//! tracing caches per-callsite interest process-wide. When another test thread reaches the same
//! callsite while this test installs its scoped subscriber, the cached answer can be "never" and
//! the event is lost (seen under CPU load). Alone in its process, this test has no such neighbour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use scopegate::{BearerAuthLayer, Validator, require_scopes};
use scopegate_dev::SigningAlgorithm;
use scopegate_tests::{RESOURCE, config_for, dev_issuer, get as get_url, serve};

/// Collects tracing output so the test can read what a rejection logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn rejections_log_reason_and_ids_but_never_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let forged = runtime.block_on(async {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
        let app = Router::new()
            .route(
                "/read",
                get(|| async { "ok" }).route_layer(require_scopes(["read:products"])),
            )
            .route_layer(BearerAuthLayer::new(validator));
        let base = format!("http://{}", serve(app).await);
        let good = issuer.mint(issuer.claims("read-app", RESOURCE, "read:products"));
        let (signing_input, _) = good.rsplit_once('.').unwrap();
        let forged = format!("{signing_input}.c2lnbmF0dXJlLW9mLWFub3RoZXI");
        assert_eq!(
            get_url(&format!("{base}/read"), Some(&forged)).await.status,
            401
        );
        forged
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("rejected bearer token"))
        .expect("an event");
    assert!(line.contains("reason=\"bad_signature\""), "{line}");
    assert!(line.contains("client_id=Some(\"read-app\")"), "{line}");
    assert!(line.contains("kid=Some("), "{line}");
    assert!(!log.contains(&forged) && !log.contains("c2lnbmF0dXJlLW9mLWFub3RoZXI"));
}
