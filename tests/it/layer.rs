//! The tower layer, scope guards, extractors and RFC 6750 responses, over real HTTP: an axum app
//! on 127.0.0.1 with the dev issuer.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, Full};
use scopegate::extract::{Auth, TokenClaims};
use scopegate::{AuthError, BearerAuthLayer, Scopes, Validator, require_any_scope, require_scopes};
use scopegate_dev::{DevIssuer, JwksFault, SigningAlgorithm, unix_now};
use scopegate_tests::{
    RESOURCE, Reply, client, config_for, dev_issuer, get as get_url, send, serve,
};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt as _};

async fn ok() -> &'static str {
    "ok"
}

async fn me(auth: Auth) -> String {
    format!("{} {}", auth.client_id().unwrap_or("-"), auth.scopes())
}

async fn maybe_me(auth: Option<Auth>) -> String {
    match auth {
        Some(auth) => format!("hello {}", auth.client_id().unwrap_or("-")),
        None => "hello stranger".to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct AppClaims {
    client_id: String,
    exp: i64,
}

fn app(layer: BearerAuthLayer) -> Router {
    Router::new()
        .route(
            "/read",
            get(ok).route_layer(require_scopes(["read:products"])),
        )
        .route(
            "/write",
            get(ok).route_layer(require_scopes(["write:products"])),
        )
        .route(
            "/both",
            get(ok).route_layer(require_scopes(["read:products", "write:products"])),
        )
        .route(
            "/either",
            get(ok).route_layer(require_any_scope(["write:products", "admin"])),
        )
        .route("/me", get(me))
        .route("/maybe", get(maybe_me))
        .route(
            "/scopes",
            get(|scopes: Scopes| async move { scopes.to_string() }),
        )
        .route(
            "/claims",
            get(|TokenClaims(c): TokenClaims<AppClaims>| async move {
                format!("{} {}", c.client_id, c.exp > 0)
            }),
        )
        .route_layer(layer)
        // Added after the auth layer: not covered by it.
        .route("/health", get(ok))
        .route("/misconfigured", get(me))
        .route(
            "/misconfigured-guard",
            get(ok).route_layer(require_scopes(["read:products"])),
        )
}

struct Fixture {
    issuer: DevIssuer,
    base: String,
}

impl Fixture {
    async fn new(configure: impl FnOnce(BearerAuthLayer) -> BearerAuthLayer) -> Fixture {
        let issuer = dev_issuer(SigningAlgorithm::ES384).await;
        let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
        let layer = configure(BearerAuthLayer::new(validator).realm("shopping"));
        let addr = serve(app(layer)).await;
        Fixture {
            issuer,
            base: format!("http://{addr}"),
        }
    }

    fn token(&self, scope: &str) -> String {
        self.issuer
            .mint(self.issuer.claims("read-app", RESOURCE, scope))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        get_url(&format!("{}{path}", self.base), token).await
    }

    async fn get_with(&self, path: &str, values: &[&str]) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        for value in values {
            headers.append(
                "authorization",
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        send(
            client()
                .get(format!("{}{path}", self.base))
                .headers(headers),
        )
        .await
    }
}

fn assert_challenge(reply: &Reply, status: u16, error: Option<&str>) {
    assert_eq!(reply.status, status, "{reply:?}");
    let challenge = reply.challenge.as_ref().expect("WWW-Authenticate");
    assert_eq!(challenge.scheme, "Bearer");
    assert_eq!(challenge.get("realm"), Some("shopping"));
    assert_eq!(challenge.get("error"), error, "{reply:?}");
    if let Some(error) = error {
        assert_eq!(reply.body["error"], error);
        let description = challenge.get("error_description").expect("a description");
        assert_eq!(reply.body["error_description"], description);
        assert!(!description.is_empty() && description.len() < 80);
    }
}

#[tokio::test]
async fn no_credentials_is_401_without_error_code() {
    let f = Fixture::new(|l| l).await;
    let reply = f.get("/read", None).await;
    assert_challenge(&reply, 401, None);
    assert_eq!(reply.challenge.unwrap().params.len(), 1, "only the realm");
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let f = Fixture::new(|l| l).await;
    let token = f.token("read:products");
    let two_headers = [format!("Bearer {token}"), format!("Bearer {token}")];
    let cases: Vec<Vec<String>> = vec![
        vec!["Basic cmVhZC1hcHA6cmVhZC1zZWNyZXQ=".into()],
        vec![format!("Bearer {token} {token}")],
        vec!["Bearer".into()],
        vec!["Bearer abc,def".into()],
        vec!["Bearer a\"b".into()],
        two_headers.to_vec(),
    ];
    for values in cases {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let reply = f.get_with("/read", &refs).await;
        assert_challenge(&reply, 400, Some("invalid_request"));
    }
}

/// The cache is looked up before a header's characters are checked, for the one spelling
/// clients send (`Bearer`, any case, one space): every other spelling of a cached token, and
/// everything around it, gets the checked path's answer, never a hit on a near miss.
#[tokio::test]
async fn a_cached_token_in_any_spelling_gets_the_checked_answer() {
    let f = Fixture::new(|l| l).await;
    let token = f.token("read:products");
    assert_eq!(f.get("/read", Some(&token)).await.status, 200, "now cached");
    let accepted = [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token} "),
        format!("Bearer {token}\t"),
    ];
    for value in &accepted {
        let reply = f.get_with("/read", &[value]).await;
        assert_eq!(reply.status, 200, "{value:?}: {reply:?}");
    }
    let refused = [
        vec![format!("Bearer {token} {token}")],
        vec![format!("Bearer {token},")],
        vec![format!("Bearer {token}\"")],
        vec![format!("Bearer {token}"), format!("Bearer {token}")],
        vec![format!("Bearer{token}")],
    ];
    for values in &refused {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let reply = f.get_with("/read", &refs).await;
        assert_challenge(&reply, 400, Some("invalid_request"));
    }
    // One byte more or less is another token: its signature decides.
    for value in [
        format!("Bearer {token}A"),
        format!("Bearer {}", &token[1..]),
    ] {
        let reply = f.get_with("/read", &[&value]).await;
        assert_challenge(&reply, 401, Some("invalid_token"));
    }
}

#[tokio::test]
async fn bad_tokens_are_401_invalid_token() {
    let f = Fixture::new(|l| l).await;
    let issuer = &f.issuer;
    let good = f.token("read:products");
    let (signing_input, _) = good.rsplit_once('.').unwrap();
    let mut expired = issuer.claims("read-app", RESOURCE, "read:products");
    expired["exp"] = json!(unix_now() - 3600);
    let mut unknown_kid = issuer.header();
    unknown_kid["kid"] = json!("rotated-away");
    let cases = [
        ("garbage", "not-a-jwt".to_owned()),
        ("forged signature", format!("{signing_input}.AAAA")),
        ("expired", issuer.mint(expired)),
        (
            "unknown kid",
            issuer.mint_with_header(unknown_kid, issuer.claims("a", RESOURCE, "")),
        ),
        (
            "wrong audience",
            issuer.mint(issuer.claims("a", "https://other.api", "read:products")),
        ),
    ];
    for (name, token) in cases {
        let reply = f.get("/read", Some(&token)).await;
        assert_challenge(&reply, 401, Some("invalid_token"));
        assert!(
            !reply.text.contains(&token),
            "{name}: the body never echoes the token"
        );
    }
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope_naming_the_scope() {
    let f = Fixture::new(|l| l).await;
    let reader = f.token("read:products");
    assert_eq!(f.get("/read", Some(&reader)).await.status, 200);
    let reply = f.get("/write", Some(&reader)).await;
    assert_challenge(&reply, 403, Some("insufficient_scope"));
    assert_eq!(
        reply.challenge.unwrap().get("scope"),
        Some("write:products")
    );

    let reply = f.get("/both", Some(&reader)).await;
    assert_challenge(&reply, 403, Some("insufficient_scope"));
    assert_eq!(
        reply.challenge.unwrap().get("scope"),
        Some("read:products write:products")
    );
}

#[tokio::test]
async fn all_of_and_any_of_guards() {
    let f = Fixture::new(|l| l).await;
    let reader = f.token("read:products");
    let writer = f.token("write:products");
    let admin = f.token("read:products write:products");
    let cases = [
        ("/both", &reader, 403),
        ("/both", &writer, 403),
        ("/both", &admin, 200),
        ("/either", &reader, 403),
        ("/either", &writer, 200),
        ("/either", &admin, 200),
    ];
    for (path, token, status) in cases {
        assert_eq!(f.get(path, Some(token)).await.status, status, "{path}");
    }
    let admin_only = f.token("admin");
    assert_eq!(f.get("/either", Some(&admin_only)).await.status, 200);
}

#[tokio::test]
async fn routes_outside_the_layer_stay_open_and_extractors_there_fail_closed() {
    let f = Fixture::new(|l| l).await;
    assert_eq!(f.get("/health", None).await.status, 200);
    // An extractor or guard on a route the layer does not cover refuses, whatever is sent.
    let admin = f.token("read:products write:products");
    for path in ["/misconfigured", "/misconfigured-guard"] {
        for token in [None, Some(admin.as_str())] {
            let reply = f.get(path, token).await;
            assert_eq!(reply.status, 401, "{path}");
            assert_eq!(reply.error(), None);
        }
    }
}

#[tokio::test]
async fn extractors_read_the_context() {
    let f = Fixture::new(|l| l).await;
    let token = f.token("write:products read:products");
    assert_eq!(
        f.get("/me", Some(&token)).await.text,
        "read-app read:products write:products"
    );
    assert_eq!(
        f.get("/scopes", Some(&token)).await.text,
        "read:products write:products"
    );
    assert_eq!(f.get("/claims", Some(&token)).await.text, "read-app true");
    let mut claims = f.issuer.claims("x", RESOURCE, "");
    claims.as_object_mut().unwrap().remove("client_id");
    let reply = f.get("/claims", Some(&f.issuer.mint(claims))).await;
    assert_challenge(&reply, 401, Some("invalid_token"));
}

#[tokio::test]
async fn optional_mode_lets_anonymous_through_and_still_refuses_bad_tokens() {
    let f = Fixture::new(BearerAuthLayer::allow_anonymous).await;
    assert_eq!(f.get("/maybe", None).await.text, "hello stranger");
    let token = f.token("");
    assert_eq!(f.get("/maybe", Some(&token)).await.text, "hello read-app");
    let reply = f.get("/maybe", Some("not-a-jwt")).await;
    assert_challenge(&reply, 401, Some("invalid_token"));
    assert_challenge(
        &f.get("/maybe", Some("a b")).await,
        400,
        Some("invalid_request"),
    );
    // Routes that need scopes (or an Auth) still need a token.
    assert_challenge(&f.get("/read", None).await, 401, None);
    assert_challenge(&f.get("/me", None).await, 401, None);
}

#[tokio::test]
async fn unreachable_keys_are_503_with_retry_after() {
    let f = Fixture::new(|l| l).await;
    f.issuer.set_jwks_fault(Some(JwksFault::Status(503)));
    let reply = f.get("/read", Some(&f.token("read:products"))).await;
    assert_eq!(reply.status, 503);
    assert!(
        reply.challenge.is_none(),
        "a 503 is no authentication challenge"
    );
    let retry: u64 = reply.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=10).contains(&retry));
    assert_eq!(reply.body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn custom_bodies_keep_status_and_challenge() {
    let f = Fixture::new(|l| {
        l.body_renderer(|error: &AuthError| {
            (
                HeaderValue::from_static("text/plain"),
                Bytes::from(format!("nope: {}", error.reason())),
            )
        })
    })
    .await;
    let reply = f.get("/write", Some(&f.token("read:products"))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.text, "nope: insufficient_scope");
    assert_eq!(reply.error(), Some("insufficient_scope"));
    assert_eq!(
        reply.challenge.as_ref().unwrap().get("realm"),
        Some("shopping")
    );
    let reply = f.get("/read", Some("x.y.z")).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (401, "nope: malformed_token")
    );
}

#[tokio::test]
async fn the_layer_works_on_a_plain_tower_service() {
    let issuer = dev_issuer(SigningAlgorithm::EdDSA).await;
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator))
        .layer(require_scopes(["read:products"]))
        .service_fn(|request: Request<Full<Bytes>>| async move {
            let auth = request
                .extensions()
                .get::<Arc<scopegate::AuthContext>>()
                .cloned();
            let who = auth
                .and_then(|a| a.client_id().map(str::to_owned))
                .unwrap_or_default();
            Ok::<_, Infallible>(Response::new(Full::from(who)))
        });
    let call = |token: Option<String>| {
        let service = service.clone();
        async move {
            let mut request = Request::builder().uri("/");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let response = service
                .oneshot(request.body(Full::default()).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let token = issuer.mint(issuer.claims("tower-app", RESOURCE, "read:products"));
    assert_eq!(
        call(Some(token.clone())).await,
        (200, "tower-app".to_owned())
    );
    assert_eq!(call(Some(token)).await.0, 200, "second call is a cache hit");
    assert_eq!(call(None).await.0, 401);
    let writer = issuer.mint(issuer.claims("w", RESOURCE, "write:products"));
    assert_eq!(call(Some(writer)).await.0, 403);
}
