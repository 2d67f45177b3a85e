//! The README's code, kept true: its app (section "Add it to your axum app", without `main`) and
//! its integration test (section "Test your API") are quoted from this file, and
//! `the_readme_quotes_this_file` fails when the two drift apart.

// README: app
use axum::{Router, routing::get};
use scopegate::{BearerAuthLayer, Validator, extract::Auth, require_scopes};

async fn products(auth: Auth) -> String {
    format!("products for {}", auth.client_id().unwrap_or("?"))
}

/// The app, built from the Logto endpoint so that tests can point it at `scopegate-dev`.
pub fn app(logto_endpoint: &str) -> Result<Router, scopegate::ConfigError> {
    let config = scopegate::logto::config(logto_endpoint, "https://shopping.api").build()?;
    let auth = BearerAuthLayer::new(Validator::new(config)?).realm("shopping");
    Ok(Router::new()
        .route(
            "/products",
            get(products).route_layer(require_scopes(["read:products"])),
        )
        .route_layer(auth) // every route above needs a token
        .route("/health", get(|| async { "ok" }))) // routes below stay open
}
// README: end

// README: test
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use scopegate_dev::DevIssuer;
use tower::ServiceExt as _; // `oneshot`: tower's `util` feature

const API: &str = "https://shopping.api";

async fn status(app: &axum::Router, token: &str) -> StatusCode {
    let request = Request::get("/products")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn products_need_a_valid_token_with_read_products() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let app = app(&issuer.endpoint()).unwrap();

    let reader = issuer.mint(issuer.claims("reader", API, "read:products"));
    assert_eq!(status(&app, &reader).await, StatusCode::OK);

    let no_scope = issuer.mint(issuer.claims("reader", API, "write:products"));
    assert_eq!(status(&app, &no_scope).await, StatusCode::FORBIDDEN);

    // Expired more than the 60 s leeway ago: a token expired a second ago is still accepted.
    let expired = issuer.mint(issuer.claims_expired("reader", API, "read:products"));
    assert_eq!(status(&app, &expired).await, StatusCode::UNAUTHORIZED);

    let other_api = issuer.mint(issuer.claims("reader", "https://billing.api", "read:products"));
    assert_eq!(status(&app, &other_api).await, StatusCode::UNAUTHORIZED);
}
// README: end

/// Every `// README:` section of this file appears verbatim in the README.
#[test]
fn the_readme_quotes_this_file() {
    let readme = include_str!("../../../README.md");
    let this = include_str!("readme.rs");
    let mut sections = this.split("// README: ").skip(1);
    let mut count = 0;
    while let (Some(section), Some(_end)) = (sections.next(), sections.next()) {
        let (_, code) = section.split_once('\n').unwrap();
        assert!(
            readme.contains(code.trim_end()),
            "README.md no longer quotes tests/readme.rs:\n{code}"
        );
        count += 1;
    }
    assert_eq!(count, 2);
}

/// The README shows the answer to a request with no token; this is that answer.
#[tokio::test]
async fn the_readme_shows_the_no_token_answer() {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let request = Request::get("/products").body(Body::empty()).unwrap();
    let response = app(&issuer.endpoint())
        .unwrap()
        .oneshot(request)
        .await
        .unwrap();
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    let shown = format!(
        "{} Unauthorized\nwww-authenticate: {challenge}\n",
        response.status().as_u16()
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let readme = include_str!("../../../README.md");
    assert!(readme.contains(&shown), "README lacks {shown}");
    let body = std::str::from_utf8(&body).unwrap();
    assert!(
        readme.contains(&format!("\n{body}\n```")),
        "README lacks {body}"
    );
}
