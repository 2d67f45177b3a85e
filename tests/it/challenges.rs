//! `resource_metadata` and `scope` in every challenge (RFC 9728 §5.1, RFC 6750 §3), from each
//! place a refusal is made: the layer, a route guard, an extractor, a route's own scoped layer,
//! and a per-operation check in a handler. Over real HTTP on 127.0.0.1 with the dev issuer;
//! every `WWW-Authenticate` is parsed strictly as RFC 9110 auth-params.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::Request;
use scopegate::extract::{Auth, TokenClaims};
use scopegate::{AuthError, BearerAuthLayer, ResourceMetadata, Validator, require_scopes};
use scopegate_dev::{DevIssuer, SigningAlgorithm};
use scopegate_tests::challenge::{AuthParams, parse_auth_params};
use scopegate_tests::{Counters, RESOURCE, client, config_for, dev_issuer, serve};

/// What the tests compare of a refusal: status, parsed challenge, content type and body.
#[derive(Debug, PartialEq)]
struct Refused {
    status: u16,
    challenge: AuthParams,
    content_type: String,
    body: String,
}

async fn call(request: reqwest::RequestBuilder) -> Refused {
    let response = request.send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let challenge = parse_auth_params(&header("www-authenticate"))
        .unwrap_or_else(|e| panic!("{}: {e}", header("www-authenticate")));
    let content_type = header("content-type");
    Refused {
        status: response.status().as_u16(),
        challenge,
        content_type,
        body: response.text().await.unwrap(),
    }
}

#[derive(serde::Deserialize)]
struct NeedsOrganization {
    #[allow(dead_code)] // only its presence is checked, by deserializing
    organization_id: String,
}

/// One JSON-RPC-like endpoint: the operation's scopes are checked in the handler.
async fn operation(auth: Auth, method: String) -> Response {
    let scopes = if method == "add_product" {
        ["write:products"]
    } else {
        ["read:products"]
    };
    match auth.require_scopes(scopes) {
        Ok(()) => format!("{method} done").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// The same, for code that holds the request itself (it reads the body before dispatching).
async fn raw_operation(request: Request<Body>) -> Response {
    let auth = match Auth::from_extensions(request.extensions()) {
        Ok(auth) => auth,
        Err(refusal) => return refusal.into_response(),
    };
    let body = axum::body::to_bytes(request.into_body(), 1024)
        .await
        .unwrap();
    let scope = if &body[..] == b"add_product" {
        "write:products"
    } else {
        "read:products"
    };
    match auth.require_scopes([scope]) {
        Ok(()) => "done".into_response(),
        Err(refusal) => refusal.to_http_response().map(Body::new),
    }
}

struct Kit {
    issuer: DevIssuer,
    base: String,
    metadata_url: String,
    handler_runs: Arc<AtomicUsize>,
    counters: Arc<Counters>,
}

impl Kit {
    fn token(&self, scope: &str) -> String {
        self.issuer
            .mint(self.issuer.claims("read-app", RESOURCE, scope))
    }
}

async fn kit() -> Kit {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let counters = Arc::new(Counters::default());
    let validator: Validator =
        counters.build(Validator::builder().issuer(config_for(&issuer).build().unwrap()));
    let metadata_url = "https://shop.example.com/.well-known/oauth-protected-resource";
    let metadata = ResourceMetadata::builder(&validator, RESOURCE)
        .metadata_url(metadata_url)
        .build()
        .unwrap();
    // A body renderer of its own: a refusal made anywhere must use it.
    let auth = BearerAuthLayer::new(validator)
        .realm("shopping")
        .resource_metadata(&metadata)
        .body_renderer(|error| {
            let body = format!("refused: {}", error.reason());
            (http::HeaderValue::from_static("text/plain"), body.into())
        });
    let handler_runs = Arc::new(AtomicUsize::new(0));
    let runs = Arc::clone(&handler_runs);
    let write_products = post(move || {
        runs.fetch_add(1, Ordering::SeqCst);
        async { "created" }
    })
    .route_layer(auth.require_scopes(["write:products"]));
    let covered = Router::new()
        .route("/layer", get(|| async { "ok" }))
        .route(
            "/guard",
            get(|| async { "ok" }).route_layer(require_scopes(["write:products"])),
        )
        .route(
            "/claims",
            get(|_: TokenClaims<NeedsOrganization>| async { "ok" }),
        )
        .route("/operation", post(operation))
        .route("/raw-operation", post(raw_operation))
        // A route's own scoped layer inside the router-wide one: validated and counted once.
        .route(
            "/nested",
            get(|| async { "ok" }).route_layer(auth.require_scopes(["read:products"])),
        )
        .route_layer(auth.clone());
    let anonymous = Router::new()
        .route(
            "/extractor",
            get(|auth: Auth| async move { auth.scopes().to_string() }),
        )
        .route_layer(auth.clone().allow_anonymous());
    let app = Router::new()
        .route("/products", write_products)
        .merge(covered)
        .merge(anonymous)
        .merge(metadata.router());
    let addr = serve(app).await;
    Kit {
        issuer,
        base: format!("http://{addr}"),
        metadata_url: metadata_url.to_owned(),
        handler_runs,
        counters,
    }
}

#[tokio::test]
async fn every_challenge_points_to_the_metadata() {
    let kit = kit().await;
    let http = client();
    let url = |path: &str| format!("{}{path}", kit.base);
    let reader = kit.token("read:products");

    // The layer: no token, then a token it refuses.
    let missing = call(http.get(url("/layer"))).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.challenge.scheme, "Bearer");
    assert_eq!(missing.challenge.get("realm"), Some("shopping"));
    assert_eq!(
        missing.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );
    assert_eq!(missing.challenge.get("error"), None);
    assert_eq!(missing.body, "refused: missing_token");
    let forged = call(http.get(url("/layer")).bearer_auth(format!("{reader}x"))).await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.challenge.get("error"), Some("invalid_token"));
    assert_eq!(
        forged.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );

    // A route guard behind the layer.
    let guard = call(http.get(url("/guard")).bearer_auth(&reader)).await;
    assert_eq!(guard.status, 403);
    assert_eq!(guard.challenge.get("error"), Some("insufficient_scope"));
    assert_eq!(guard.challenge.get("scope"), Some("write:products"));
    assert_eq!(
        guard.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );
    assert_eq!(guard.challenge.get("realm"), Some("shopping"));

    // Extractors: an anonymous request let through to a handler that needs `Auth` (401), and
    // claims that do not fit the handler's type (401 invalid_token).
    let extractor = call(http.get(url("/extractor"))).await;
    assert_eq!(extractor.status, 401);
    assert_eq!(
        extractor.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );
    assert_eq!(extractor.body, "refused: missing_token");
    let claims = call(http.get(url("/claims")).bearer_auth(&reader)).await;
    assert_eq!(claims.status, 401);
    assert_eq!(claims.challenge.get("error"), Some("invalid_token"));
    assert_eq!(
        claims.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );
}

#[tokio::test]
async fn a_per_operation_refusal_is_the_guards_403_exactly() {
    let kit = kit().await;
    let http = client();
    let reader = kit.token("read:products");
    let guard = call(http.get(format!("{}/guard", kit.base)).bearer_auth(&reader)).await;
    for path in ["/operation", "/raw-operation"] {
        let endpoint = format!("{}{path}", kit.base);
        let allowed = http
            .post(&endpoint)
            .bearer_auth(&reader)
            .body("list_products")
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 200, "{path}");
        let refused = call(
            http.post(&endpoint)
                .bearer_auth(&reader)
                .body("add_product"),
        )
        .await;
        // Same status, challenge (realm, resource_metadata, error, scope), renderer and body.
        assert_eq!(refused, guard, "{path}");
    }
    let admin = kit.token("read:products write:products");
    let done = http
        .post(format!("{}/operation", kit.base))
        .bearer_auth(&admin)
        .body("add_product")
        .send()
        .await
        .unwrap();
    assert_eq!(done.text().await.unwrap(), "add_product done");
    // Each refusal above was counted as its request's verdict, by the layer.
    assert_eq!(
        kit.counters.total("scopegate_validations_total"),
        6,
        "guard, 2 allowed, 2 refused, 1 admin"
    );
}

#[tokio::test]
async fn a_route_needing_write_products_says_so_to_a_request_without_a_token() {
    let kit = kit().await;
    let http = client();
    let products = format!("{}/products", kit.base);
    let missing = call(http.post(&products)).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.challenge.get("scope"), Some("write:products"));
    assert_eq!(missing.challenge.get("error"), None);
    assert_eq!(
        missing.challenge.get("resource_metadata"),
        Some(kit.metadata_url.as_str())
    );
    let expired = kit.issuer.mint(kit.issuer.claims_expired(
        "read-app",
        RESOURCE,
        "write:products",
    ));
    let invalid = call(http.post(&products).bearer_auth(expired)).await;
    assert_eq!(invalid.status, 401);
    assert_eq!(invalid.challenge.get("error"), Some("invalid_token"));
    assert_eq!(invalid.challenge.get("scope"), Some("write:products"));
    let reader = call(http.post(&products).bearer_auth(kit.token("read:products"))).await;
    assert_eq!(reader.status, 403);
    assert_eq!(reader.challenge.get("scope"), Some("write:products"));
    // None of these reached the handler.
    assert_eq!(kit.handler_runs.load(Ordering::SeqCst), 0);

    let admin = kit.token("write:products");
    let created = http
        .post(&products)
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(kit.handler_runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_scoped_layer_inside_the_router_wide_one_validates_and_counts_once() {
    let kit = kit().await;
    let http = client();
    let nested = format!("{}/nested", kit.base);
    let ok = http
        .get(&nested)
        .bearer_auth(kit.token("read:products"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let refused = call(http.get(&nested).bearer_auth(kit.token("write:products"))).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.challenge.get("scope"), Some("read:products"));
    assert_eq!(kit.counters.total("scopegate_validations_total"), 2);
    assert_eq!(kit.counters.signature_checks(), 2);
}

#[test]
fn auth_errors_outside_any_layer_still_render() {
    // No layer: the plain `IntoResponse` of `AuthError` (no realm, JSON body).
    let response = AuthError::MissingToken.into_response();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert_eq!(parse_auth_params(challenge).unwrap().params.len(), 0);
}

/// A refusal as a gRPC client reads it.
#[derive(Debug)]
struct GrpcRefused {
    status: u16,
    content_type: String,
    grpc_status: String,
    grpc_message: String,
    challenges: Vec<String>,
    body: String,
}

async fn grpc_call(request: reqwest::RequestBuilder) -> GrpcRefused {
    let response = request
        .header("content-type", "application/grpc+proto")
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    let header = |name| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    GrpcRefused {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        grpc_status: header("grpc-status"),
        grpc_message: header("grpc-message"),
        challenges: headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
        body: response.text().await.unwrap(),
    }
}

/// The layer, a route's scoped layer, a guard, the extractors and a per-operation check answer
/// a gRPC request (`content-type: application/grpc+proto`) with a gRPC status: HTTP 200, no body
/// (the layer's body renderer is not asked), and the very challenge the HTTP answer carries.
#[tokio::test]
async fn every_refusal_path_answers_a_grpc_request_with_a_grpc_status() {
    let kit = kit().await;
    let http = client();
    let url = |path: &str| format!("{}{path}", kit.base);
    let reader = kit.token("read:products");
    let writer = kit.token("write:products");
    let cases: Vec<(&str, reqwest::RequestBuilder, &str)> = vec![
        ("layer, no token", http.get(url("/layer")), "16"),
        (
            "layer, forged token",
            http.get(url("/layer")).bearer_auth(format!("{reader}x")),
            "16",
        ),
        (
            "layer, malformed credentials",
            http.get(url("/layer")).header("authorization", "Basic abc"),
            "16",
        ),
        ("scoped layer, no token", http.post(url("/products")), "16"),
        (
            "scoped layer, reader",
            http.post(url("/products")).bearer_auth(&reader),
            "7",
        ),
        (
            "nested scoped layer, writer",
            http.get(url("/nested")).bearer_auth(&writer),
            "7",
        ),
        ("guard", http.get(url("/guard")).bearer_auth(&reader), "7"),
        ("extractor, anonymous", http.get(url("/extractor")), "16"),
        (
            "extractor, claims",
            http.get(url("/claims")).bearer_auth(&reader),
            "16",
        ),
        (
            "per-operation check",
            http.post(url("/operation"))
                .bearer_auth(&reader)
                .body("add_product"),
            "7",
        ),
        (
            "per-operation check, whole request",
            http.post(url("/raw-operation"))
                .bearer_auth(&reader)
                .body("add_product"),
            "7",
        ),
    ];
    for (name, request, grpc_status) in cases {
        let again = request.try_clone().unwrap();
        let answer = call(request).await;
        assert!(answer.status >= 400, "{name}: {answer:?}");
        assert!(answer.body.starts_with("refused: "), "{name}");
        let grpc = grpc_call(again).await;
        assert_eq!(grpc.status, 200, "{name}: {grpc:?}");
        assert_eq!(grpc.content_type, "application/grpc", "{name}");
        assert_eq!(grpc.grpc_status, grpc_status, "{name}: {grpc:?}");
        assert!(!grpc.grpc_message.is_empty(), "{name}");
        assert_eq!(grpc.body, "", "{name}: no body, no renderer");
        // The same challenge, parameter for parameter.
        let challenge = parse_auth_params(&grpc.challenges[0]).unwrap();
        assert_eq!(challenge, answer.challenge, "{name}");
        assert_eq!(
            challenge.get("resource_metadata"),
            Some(kit.metadata_url.as_str()),
            "{name}"
        );
    }
    let refused = grpc_call(http.post(url("/products")).bearer_auth(&reader)).await;
    let challenge = parse_auth_params(&refused.challenges[0]).unwrap();
    assert_eq!(challenge.get("scope"), Some("write:products"));
    assert!(refused.grpc_message.ends_with("(needs write:products)"));
    // None reached the handler; an allowed gRPC request does.
    assert_eq!(kit.handler_runs.load(Ordering::SeqCst), 0);
    let created = http
        .post(url("/products"))
        .bearer_auth(&writer)
        .header("content-type", "application/grpc")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert!(created.headers().get("grpc-status").is_none());
    assert_eq!(kit.handler_runs.load(Ordering::SeqCst), 1);
}
