//! Every request's verdict in `scopegate_validations_total`, including refusals made behind the
//! layer (guards, the organization guard, extractors, a handler's `AuthError`), counted with exact
//! values in a Prometheus recorder of this test's own; and the services' accessors and their
//! futures' behaviour when polled after completion.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{Request, Response};
use http_body_util::Full;
use metrics_exporter_prometheus::PrometheusBuilder;
use scopegate::extract::{Auth, TokenClaims};
use scopegate::guard::{
    GuardedRouterExt as _, OrganizationFrom, OrganizationRequirement, require_organization,
};
use scopegate::organization::OrganizationSource;
use scopegate::{AuthError, BearerAuthLayer, GuardLayer, GuardedRoute, Validator, require_scopes};
use scopegate_dev::DevIssuer;
use scopegate_tests::{RESOURCE, config_for, get as get_url, serve};
use tower::{Layer as _, Service as _, ServiceExt as _};

#[derive(serde::Deserialize)]
struct NeedsDepartment {
    #[allow(dead_code)] // read by serde only: its absence is the point
    department: String,
}

/// The value of one series in the Prometheus text, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

#[tokio::test]
async fn refusals_behind_the_layer_are_the_verdict_not_accepted() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let issuer = DevIssuer::builder().start().await.unwrap();
    let config = config_for(&issuer)
        .organization_sources([OrganizationSource::claim("organization_id")])
        .build()
        .unwrap();
    // The counters bind to the recorder current when the validator is built: this test's own.
    let validator = metrics::with_local_recorder(&recorder, || Validator::new(config).unwrap());

    let read = || get(|| async { "ok" }).route_layer(require_scopes(["read:products"]));
    let app = Router::new()
        .route("/read", read())
        .route(
            "/write",
            get(|| async { "ok" }).route_layer(require_scopes(["write:products"])),
        )
        .route(
            "/orgs/{org}",
            get(|| async { "ok" }).route_layer(require_organization(OrganizationFrom::path("org"))),
        )
        .route(
            "/claims",
            get(|_: TokenClaims<NeedsDepartment>| async { "ok" }),
        )
        .route(
            "/refuse",
            get(|| async {
                AuthError::InsufficientScope {
                    required: Arc::from("admin"),
                }
            }),
        )
        .route("/own-403", get(|| async { StatusCode::FORBIDDEN }))
        .route_layer(BearerAuthLayer::new(validator.clone()));
    let base = format!("http://{}", serve(app).await);
    let anonymous = Router::new()
        .route("/read", read())
        .route(
            "/open",
            get(|auth: Option<Auth>| async move { auth.is_some().to_string() }),
        )
        .route_layer(BearerAuthLayer::new(validator.clone()).allow_anonymous());
    let anon = format!("http://{}", serve(anonymous).await);

    let mut claims = issuer.claims("app", RESOURCE, "read:products");
    claims["organization_id"] = serde_json::json!("acme");
    let token = issuer.mint(claims);
    let t = Some(token.as_str());
    let mut statuses = Vec::new();
    for (url, token) in [
        (format!("{base}/read"), t),        // accepted (first sight)
        (format!("{base}/read"), t),        // accepted (cache hit)
        (format!("{base}/write"), t),       // insufficient_scope: the guard
        (format!("{base}/orgs/acme"), t),   // accepted
        (format!("{base}/orgs/globex"), t), // wrong_organization: the organization guard
        (format!("{base}/claims"), t),      // invalid_claim: the extractor
        (format!("{base}/refuse"), t),      // insufficient_scope: the handler's AuthError
        (format!("{base}/own-403"), t),     // accepted: the handler's own 403 is no refusal
        (format!("{base}/read"), None),     // missing_token: the layer
        (format!("{anon}/read"), None),     // missing_token: the guard behind an open layer
        (format!("{anon}/open"), None),     // no verdict: anonymous and let through
        (format!("{anon}/open"), t),        // accepted
    ] {
        statuses.push(get_url(&url, token).await.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 403, 200, 403, 401, 403, 403, 401, 401, 200, 200]
    );

    // The inner service fails: the token was accepted and nothing refused it.
    let failing = BearerAuthLayer::new(validator.clone()).layer(tower::service_fn(
        |_: Request<Full<Bytes>>| async { Err::<Response<Full<Bytes>>, _>("inner failure") },
    ));
    let request = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .body(Full::default())
        .unwrap();
    assert_eq!(failing.oneshot(request).await.unwrap_err(), "inner failure");

    let text = metrics.render();
    let series = |outcome: &str, reason: &str| {
        format!(r#"scopegate_validations_total{{outcome="{outcome}",reason="{reason}"}}"#)
    };
    let expected = [
        (series("accepted", "ok"), 6.0),
        (series("rejected", "insufficient_scope"), 2.0),
        (series("rejected", "wrong_organization"), 1.0),
        (series("rejected", "invalid_claim"), 1.0),
        (series("rejected", "missing_token"), 2.0),
    ];
    for (series, value) in &expected {
        assert_eq!(sample(&text, series), *value, "{series} in\n{text}");
    }
    // Nothing else moved: every request above has exactly one verdict (one anonymous has none).
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("scopegate_validations_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 12.0, "{text}");
}

#[tokio::test]
async fn services_give_access_to_the_inner_service() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let inner = tower::service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let mut layered = BearerAuthLayer::new(validator).layer(inner);
    let _: &_ = layered.get_ref();
    let _: &mut _ = layered.get_mut();
    let mut guarded = require_scopes(["read:products"]).layer(layered.into_inner());
    let _: &mut _ = guarded.get_mut();
    let mut inner = guarded.into_inner();
    let response = inner.call(Request::new(Full::default())).await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "the unwrapped service is the bare one"
    );
}

#[tokio::test]
async fn a_refusal_polled_after_completion_panics() {
    let inner = tower::service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    // No BearerAuthLayer in front: the guard refuses (401, fail closed).
    let mut guard = GuardLayer::new(OrganizationRequirement::header(
        http::HeaderName::from_static("x-org"),
    ))
    .layer(inner);
    let mut future = Box::pin(guard.call(Request::new(Full::default())));
    let response = future.as_mut().await.unwrap();
    assert_eq!(response.status(), 401);
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        future.as_mut().now_or_never()
    }));
    assert!(
        again.is_err(),
        "a second poll is a caller bug, not an answer"
    );
}

/// A route's own scoped layer (`guard`, `require_scopes`) checks the scopes in its service: the
/// same answers and verdicts as a layer with a guard behind it, on first sight and on a cache
/// hit, and a token is required even where the layer it was made from is optional.
#[tokio::test]
async fn a_scoped_layer_refuses_and_counts_as_a_guard_would() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let issuer = DevIssuer::builder().start().await.unwrap();
    let config = config_for(&issuer).build().unwrap();
    let validator = metrics::with_local_recorder(&recorder, || Validator::new(config).unwrap());
    let auth = BearerAuthLayer::new(validator);
    let optional = auth.clone().allow_anonymous();
    let read = GuardedRoute::get("/read").require_scopes(["read:products"]);
    let write = GuardedRoute::get("/write").require_scopes(["write:products"]);
    let open = GuardedRoute::get("/open");
    let app = Router::new()
        .guarded_route(&auth, &read, || async { "ok" })
        .guarded_route(&auth, &write, || async { "ok" })
        .guarded_route(&optional, &open, || async { "ok" });
    let base = format!("http://{}", serve(app).await);

    let reader = issuer.mint(issuer.claims("app", RESOURCE, "read:products"));
    let t = Some(reader.as_str());
    let mut answers = Vec::new();
    for (path, token) in [
        ("/write", t),   // insufficient_scope on first sight
        ("/read", t),    // accepted (from the cache)
        ("/write", t),   // insufficient_scope on a cache hit
        ("/open", t),    // accepted: a valid token is all this route needs
        ("/open", None), // missing_token: the layer was optional, the route is not
    ] {
        let got = get_url(&format!("{base}{path}"), token).await;
        let scope = got.challenge.as_ref().and_then(|c| c.get("scope"));
        answers.push((got.status, scope.map(str::to_owned)));
    }
    let write_scope = Some("write:products".to_owned());
    assert_eq!(
        answers,
        [
            (403, write_scope.clone()),
            (200, None),
            (403, write_scope),
            (200, None),
            (401, None),
        ]
    );

    let text = metrics.render();
    let series = |outcome: &str, reason: &str| {
        format!(r#"scopegate_validations_total{{outcome="{outcome}",reason="{reason}"}}"#)
    };
    assert_eq!(sample(&text, &series("accepted", "ok")), 2.0, "{text}");
    let scope = series("rejected", "insufficient_scope");
    assert_eq!(sample(&text, &scope), 2.0, "{text}");
    let missing = series("rejected", "missing_token");
    assert_eq!(sample(&text, &missing), 1.0, "{text}");
}
