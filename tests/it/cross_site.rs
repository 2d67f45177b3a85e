//! Cookie-borne tokens and cross-site requests (issue 12, item 7): a browser attaches the cookie
//! to requests that any site's page makes, so unsafe methods with a cookie token are refused when
//! `Sec-Fetch-Site` or `Origin` says the request is cross-site, unless the origin is allowed.

use axum::Router;
use axum::routing::get;
use reqwest::Method;
use scopegate::token::TokenLocation;
use scopegate::{BearerAuthLayer, Validator};
use scopegate_dev::SigningAlgorithm;
use scopegate_tests::{RESOURCE, Reply, client, config_for, dev_issuer, send, serve};

const COOKIE: &str = "access_token";
const SHOP: &str = "https://shop.example";

/// `GET`, `POST`, `PUT`, `PATCH` and `DELETE` on `/products`, behind `layer`.
async fn api(layer: BearerAuthLayer) -> String {
    let app = Router::new()
        .route(
            "/products",
            get(|| async { "read" })
                .post(|| async { "created" })
                .put(|| async { "replaced" })
                .patch(|| async { "changed" })
                .delete(|| async { "deleted" }),
        )
        .layer(layer);
    format!("http://{}/products", serve(app).await)
}

async fn call(url: &str, method: Method, cookie: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let mut request = client().request(method, url);
    if let Some(token) = cookie {
        request = request.header("cookie", format!("theme=dark; {COOKIE}={token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request).await
}

#[tokio::test]
async fn cookie_tokens_on_unsafe_cross_site_requests_are_refused() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let token = issuer.mint(issuer.claims("browser", RESOURCE, "read:products"));
    let validator = Validator::new(config_for(&issuer).build().unwrap()).unwrap();
    let cookie_layer = || {
        BearerAuthLayer::new(validator.clone()).token_location(TokenLocation::Cookie(COOKIE.into()))
    };
    // The default: no origin is trusted.
    let url = api(cookie_layer()).await;
    let evil = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let reply = call(&url, method.clone(), Some(&token), &evil).await;
        assert_eq!(reply.status, 403, "{method}: {}", reply.text);
        assert_eq!(reply.error(), Some("invalid_request"), "{method}");
        assert_eq!(reply.body["error"], "invalid_request");
        assert!(
            reply.text.contains("cookie") && reply.text.contains("cross-site"),
            "{}",
            reply.text
        );
    }
    // Older browsers send no Fetch Metadata; `Origin` alone decides.
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches("/products")
        .to_owned();
    for origin in ["https://evil.example", "null"] {
        let reply = call(&url, Method::POST, Some(&token), &[("origin", origin)]).await;
        assert_eq!(reply.status, 403, "Origin: {origin}");
    }
    let same_site = [
        ("sec-fetch-site", "same-site"),
        ("origin", "https://sub.shop.example"),
    ];
    assert_eq!(
        call(&url, Method::POST, Some(&token), &same_site)
            .await
            .status,
        403
    );

    // What stays open: safe methods, same-origin requests, non-browser clients, and tokens
    // that a browser never attaches by itself.
    let own_origin = format!("http://{host}");
    for (method, headers, why) in [
        (Method::GET, &evil[..], "a safe method"),
        (
            Method::POST,
            &[("sec-fetch-site", "same-origin")][..],
            "same origin",
        ),
        (
            Method::POST,
            &[("origin", own_origin.as_str())][..],
            "Origin naming the host",
        ),
        (Method::DELETE, &[][..], "no browser headers"),
    ] {
        let reply = call(&url, method, Some(&token), headers).await;
        assert_eq!(reply.status, 200, "{why}: {}", reply.text);
    }
    let mut request = client().post(&url).bearer_auth(&token);
    for (name, value) in evil {
        request = request.header(name, value);
    }
    assert_eq!(send(request).await.status, 200, "Authorization header");

    // An allowed origin may send them; others still may not.
    let url = api(cookie_layer().allowed_origin(SHOP)).await;
    let shop = [("sec-fetch-site", "cross-site"), ("origin", SHOP)];
    assert_eq!(
        call(&url, Method::POST, Some(&token), &shop).await.status,
        200
    );
    assert_eq!(
        call(&url, Method::POST, Some(&token), &evil).await.status,
        403
    );

    // The explicit opt-out.
    let url = api(cookie_layer().allow_cross_site_cookie_tokens()).await;
    assert_eq!(
        call(&url, Method::POST, Some(&token), &evil).await.status,
        200
    );
}
