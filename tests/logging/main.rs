//! What scopegate logs (rejections, key fetches), in a test binary of its own.
//!
//! tracing caches per-callsite interest process-wide. When another test thread reaches the same
//! callsite while a test installs a scoped subscriber, the cached answer can be "never" and the
//! event is lost (seen under CPU load). Here one global subscriber is installed before any test
//! does anything, and each test reads only the lines of its own issuer or client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::routing::get;
use scopegate::{AuthConfig, AuthError, BearerAuthLayer, Validator, require_scopes};
use scopegate_dev::{JwksFault, SigningAlgorithm};
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

/// The process's one subscriber, installed by whichever test comes first.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

impl Captured {
    /// The captured lines that contain `marker` (an issuer URL or a client id of one test).
    fn lines_with(&self, marker: &str) -> Vec<String> {
        let log = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        log.lines()
            .filter(|l| l.contains(marker))
            .map(str::to_owned)
            .collect()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn rejections_log_reason_and_ids_but_never_the_token() {
    let captured = captured();
    let forged = runtime().block_on(async {
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
        .find(|l| l.contains("rejected bearer token") && l.contains("bad_signature"))
        .expect("an event");
    assert!(line.contains("reason=\"bad_signature\""), "{line}");
    assert!(line.contains("client_id=Some(\"read-app\")"), "{line}");
    assert!(line.contains("kid=Some("), "{line}");
    assert!(!log.contains(&forged) && !log.contains("c2lnbmF0dXJlLW9mLWFub3RoZXI"));
}

/// Issue 20 item 8: a wrong audience is fixed by comparing the token's `aud` with the accepted
/// audiences, so the debug line shows both.
#[test]
fn a_wrong_audience_logs_the_tokens_aud_and_the_accepted_audiences() {
    let captured = captured();
    runtime().block_on(async {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
        let token = issuer.mint(issuer.claims("aud-app", "https://billing.api", "read:products"));
        assert_eq!(
            validator.validate(&token).await.unwrap_err(),
            AuthError::WrongAudience
        );
    });
    let lines = captured.lines_with("client_id=Some(\"aud-app\")");
    let line = lines.first().expect("a rejection line");
    assert!(line.contains("reason=\"wrong_audience\""), "{line}");
    assert!(
        line.contains(r#"aud=Some(["https://billing.api"])"#),
        "{line}"
    );
    assert!(
        line.contains(r#"accepted=Some(["https://shopping.api"])"#),
        "{line}"
    );
}

/// Issue 20 item 9: before any key set was fetched, a failure says so (not "keeping the previous
/// set") and names the URL once; once a set is held, a failure says it is kept.
#[test]
fn a_first_fetch_failure_says_no_key_set_yet_and_names_the_url_once() {
    let captured = captured();
    let (closed, error) = runtime().block_on(async {
        // A port that was free a moment ago: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}/oidc/jwks", listener.local_addr().unwrap());
        drop(listener);
        let config = AuthConfig::builder("https://unreachable.example/oidc", RESOURCE)
            .jwks_uri(closed.clone())
            .build()
            .unwrap();
        let validator = Validator::new(config).unwrap();
        (closed, validator.warm_up().await.unwrap_err())
    });
    assert_eq!(error.to_string().matches(&closed).count(), 1, "{error}");
    let lines = captured.lines_with(&closed);
    let line = lines
        .iter()
        .find(|l| l.contains("fetching signing keys failed"))
        .expect("a failure line");
    assert!(line.contains("no key set yet"), "{line}");
    assert!(!line.contains("keeping the previous set"), "{line}");
    assert_eq!(line.matches(&closed).count(), 1, "{line}");

    let jwks = runtime().block_on(async {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
        validator.warm_up().await.unwrap();
        issuer.set_jwks_fault(Some(JwksFault::Status(500)));
        validator.warm_up().await.unwrap_err();
        issuer.jwks_uri()
    });
    let lines = captured.lines_with(&jwks);
    let line = lines
        .iter()
        .find(|l| l.contains("fetching signing keys failed"))
        .expect("a failure line");
    assert!(line.contains("keeping the previous set"), "{line}");
}

/// Issue 20 item 12: a refresh that finds the same keys is DEBUG; a changed set is INFO.
#[test]
fn a_refresh_logs_at_info_only_when_the_key_set_changed() {
    let captured = captured();
    let jwks = runtime().block_on(async {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
        validator.warm_up().await.unwrap();
        validator.warm_up().await.unwrap();
        issuer.rotate_key().unwrap();
        validator.warm_up().await.unwrap();
        issuer.jwks_uri()
    });
    let levels: Vec<&str> = captured
        .lines_with(&jwks)
        .iter()
        .filter(|l| l.contains("fetched signing keys"))
        .map(|l| {
            if l.contains(" INFO ") {
                "INFO"
            } else if l.contains(" DEBUG ") {
                "DEBUG"
            } else {
                "?"
            }
        })
        .collect();
    assert_eq!(levels, ["INFO", "DEBUG", "INFO"]);
}

/// Issue 16 item 5: an introspection endpoint that fails is logged once per outage (a warning
/// when it starts, a line when it ends), however many requests it fails.
#[test]
fn an_introspection_outage_is_logged_once() {
    use scopegate::introspect::IntrospectionConfig;
    let captured = captured();
    let issuer_url = runtime().block_on(async {
        let issuer = scopegate_dev::DevIssuer::builder()
            .client(scopegate_dev::DevClient::new(
                "api",
                "api-secret",
                RESOURCE,
                [""; 0],
            ))
            .start()
            .await
            .unwrap();
        let config = config_for(&issuer)
            .introspection(IntrospectionConfig::new("api", "api-secret"))
            .build()
            .unwrap();
        let validator = Validator::new(config).unwrap();
        issuer.set_introspection_fault(Some(JwksFault::Status(502)));
        for i in 0..5 {
            let error = validator
                .validate(&format!("opaque-{i}"))
                .await
                .unwrap_err();
            assert!(matches!(error, AuthError::IntrospectionUnavailable { .. }));
        }
        issuer.set_introspection_fault(None);
        let token = issuer.issue_opaque("app", None, "read:products");
        validator.validate(&token).await.unwrap();
        issuer.issuer().to_owned()
    });
    let marker = format!("issuer={issuer_url}");
    let warnings = captured
        .lines_with(&marker)
        .into_iter()
        .filter(|l| l.contains("introspection endpoint unavailable"))
        .count();
    assert_eq!(warnings, 1, "{:?}", captured.lines_with(&marker));
    let recovered = captured.lines_with(&marker);
    assert!(
        recovered.iter().any(|l| l.contains("answers again")),
        "{recovered:?}"
    );
}
