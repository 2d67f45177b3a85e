//! `GET /openapi.json` of the running shopping API over loopback: the document states the
//! security its router's guards enforce (issue 18 item 4), and it is valid OpenAPI 3.1 by
//! a real validator.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use scopegate::GuardedRoute;
use scopegate::ScopeRule;
use scopegate_tests::interop::validate_openapi;
use serde_json::{Value, json};
use shopping_api::{Running, Settings, start};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The shopping API as `cargo run -p shopping-api` starts it (the dev issuer), on free ports.
async fn shop() -> Running {
    start(Settings {
        bind: loopback(),
        dev_issuer_bind: loopback(),
        ..Settings::default()
    })
    .await
    .expect("the shopping API starts")
}

async fn document(http: &Client, shop: &Running) -> (Vec<u8>, Value) {
    let response = http
        .get(format!("http://{}/openapi.json", shop.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = response.bytes().await.unwrap().to_vec();
    let doc = serde_json::from_slice(&bytes).unwrap();
    (bytes, doc)
}

/// The `security` a route's guard means: OR of objects, each an AND of scopes.
fn expected_security(route: &GuardedRoute) -> Value {
    match route.rule() {
        ScopeRule::AllOf => json!([{ "oauth2": route.scopes() }]),
        ScopeRule::AnyOf => route
            .scopes()
            .iter()
            .map(|scope| json!({ "oauth2": [scope] }))
            .collect(),
    }
}

/// Every (path, method) of the document with its operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            out.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_what_the_guards_enforce() {
    let shop = shop().await;
    let http = Client::new();
    let (_, doc) = document(&http, &shop).await;

    // The router's own definitions: what its guards recorded while it was built.
    let routes = shop.required_scopes.routes();
    let declared: BTreeSet<_> = shopping_api::guarded_routes()
        .iter()
        .map(|r| (r.path().to_owned(), r.method()))
        .collect();
    let recorded: BTreeSet<_> = routes
        .iter()
        .map(|r| (r.path().to_owned(), r.method()))
        .collect();
    assert_eq!(recorded, declared);
    let mut guarded = BTreeSet::new();
    for route in &routes {
        let method = route.method().as_str().to_ascii_lowercase();
        let operation = &doc["paths"][route.path()][&method];
        // The handler's annotation and the guard name the same operation.
        assert!(
            operation["operationId"].is_string(),
            "{method} {}: {operation}",
            route.path()
        );
        assert_eq!(
            operation["security"],
            expected_security(route),
            "{method} {}",
            route.path()
        );
        for status in ["401", "403"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {status}"
            );
        }
        guarded.insert((route.path().to_owned(), method));
    }
    // The two operations, literally.
    assert_eq!(
        doc["paths"]["/products"]["get"]["security"],
        json!([{ "oauth2": ["read:products"] }])
    );
    assert_eq!(
        doc["paths"]["/products"]["post"]["security"],
        json!([{ "oauth2": ["write:products"] }])
    );

    // The client-credentials flow at the dev issuer's token URL, offering every scope required.
    let dev = shop
        .dev_issuer
        .as_ref()
        .expect("no ISSUER: the dev issuer runs");
    let scheme = &doc["components"]["securitySchemes"]["oauth2"];
    assert_eq!(scheme["type"], "oauth2");
    let flow = &scheme["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], dev.token_endpoint());
    let offered: Vec<&String> = flow["scopes"].as_object().unwrap().keys().collect();
    assert_eq!(
        offered,
        shop.required_scopes.to_vec().iter().collect::<Vec<_>>()
    );
    assert_eq!(flow["scopes"]["read:products"], "List the products");

    // Open operations: no requirement, and no document-wide one to inherit.
    assert_eq!(doc.get("security"), None);
    let open: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|(path, method, _)| !guarded.contains(&(path.clone(), method.clone())))
        .collect();
    let open_names: BTreeSet<_> = open.iter().map(|(p, m, _)| format!("{m} {p}")).collect();
    assert!(open_names.contains("get /health"), "{open_names:?}");
    assert!(open_names.contains("get /openapi.json"), "{open_names:?}");
    for (path, method, operation) in &open {
        assert_eq!(operation.get("security"), None, "{method} {path}");
    }

    // The document and the running router agree: without a token, every operation the
    // document secures is refused with a Bearer challenge, and every other one answers.
    for (path, method, operation) in operations(&doc) {
        let url = format!("http://{}{path}", shop.addr);
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let response = http.request(method.clone(), url).send().await.unwrap();
        if operation.get("security").is_some() {
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            let challenge = response.headers()["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.starts_with("Bearer"),
                "{method} {path}: {challenge}"
            );
        } else {
            assert!(
                response.status().is_success(),
                "{method} {path}: {}",
                response.status()
            );
        }
    }

    // The token URL is the real one: a reader's token from it lists products, and is refused
    // on POST (write:products, as the document says).
    let audience = shopping_api::DEFAULT_AUDIENCE;
    let token: Value = http
        .post(flow["tokenUrl"].as_str().unwrap())
        .basic_auth("shopping-reader", Some("reader-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", audience),
            ("scope", "read:products"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token");
    let products = format!("http://{}/products", shop.addr);
    let list = http.get(&products).bearer_auth(token).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let add = http
        .post(&products)
        .bearer_auth(token)
        .json(&json!({ "name": "Tea", "price_cents": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(add.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_validates_as_openapi_3_1() {
    let shop = shop().await;
    let (bytes, mut doc) = document(&Client::new(), &shop).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let verdict = validate_openapi(&bytes);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["version"], "3.1");

    // The validator does judge: the same document without its token URL is refused.
    let flow = &mut doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
    flow.as_object_mut().unwrap().remove("tokenUrl");
    let verdict = validate_openapi(&serde_json::to_vec(&doc).unwrap());
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert!(
        verdict["errors"].to_string().contains("tokenUrl"),
        "{verdict}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_issuers_metadata_the_document_is_503_not_a_guess() {
    // A loopback port where nothing listens: the issuer is down at start.
    let port = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let shop = start(Settings {
        issuer: Some(format!("http://127.0.0.1:{port}/oidc")),
        bind: loopback(),
        warm_up: Duration::ZERO,
        ..Settings::default()
    })
    .await
    .expect("an unreachable issuer is no start-up failure");
    let response = Client::new()
        .get(format!("http://{}/openapi.json", shop.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("token endpoint") && description.contains(&port.to_string()),
        "{description}"
    );
}
