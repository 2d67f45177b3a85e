//! The catalogue against its own users (issue 24, items 7–9): a bounded store, paginated
//! listing, input it must refuse, and start-up settings that would expose the dev issuer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use shopping_api::{
    DEFAULT_AUDIENCE, DEFAULT_PAGE_SIZE, MAX_BODY_BYTES, MAX_PAGE_SIZE, MAX_PRICE_CENTS, Running,
    Settings, SetupError, start,
};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn shop(max_products: usize) -> (Running, String, String) {
    let settings = Settings {
        bind: loopback(),
        dev_issuer_bind: loopback(),
        max_products,
        ..Settings::default()
    };
    let running = start(settings).await.expect("the shop starts");
    let token: Value = http()
        .post(running.dev_issuer.as_ref().unwrap().token_endpoint())
        .basic_auth("shopping-admin", Some("admin-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", DEFAULT_AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let products = format!("http://{}/products", running.addr);
    let token = token["access_token"].as_str().unwrap().to_owned();
    (running, products, token)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = http()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// GET `url`: the status, the products and the `Link` header's next URL.
async fn page(url: &str, token: &str) -> (u16, Vec<Value>, Option<String>) {
    let response = http().get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let next = response.headers().get("link").map(|link| {
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        link[1..link.find('>').unwrap()].to_owned()
    });
    let body: Value = response.json().await.unwrap();
    let items = body.as_array().cloned().unwrap_or_default();
    (status, items, next)
}

#[tokio::test]
async fn the_store_is_bounded_and_listing_is_paginated() {
    let capacity = DEFAULT_PAGE_SIZE + 5;
    let (running, products, token) = shop(capacity).await;
    let mut created = 3; // the seed
    loop {
        let product = json!({ "name": format!("item {created}"), "price_cents": 100 });
        let (status, body) = post(&products, &token, &product).await;
        if status != 201 {
            assert_eq!(status, 507, "{body}");
            assert_eq!(body["error"], "store_full");
            break;
        }
        created += 1;
        assert!(created <= capacity, "the store grew past its capacity");
    }
    assert_eq!(created, capacity);

    // The default page is bounded, and the Link header walks the rest in order.
    let (status, first, mut next) = page(&products, &token).await;
    assert_eq!(status, 200);
    assert_eq!(first.len(), DEFAULT_PAGE_SIZE);
    let mut ids: Vec<u64> = first.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    while let Some(path) = next {
        let (status, items, after) = page(&format!("http://{}{path}", running.addr), &token).await;
        assert_eq!(status, 200);
        ids.extend(items.iter().map(|p| p["id"].as_u64().unwrap()));
        next = after;
    }
    assert_eq!(ids, (1..=capacity as u64).collect::<Vec<_>>());

    let (_, three, next) = page(&format!("{products}?limit=3&cursor=3"), &token).await;
    assert_eq!(
        three
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [4, 5, 6]
    );
    assert_eq!(next.as_deref(), Some("/products?limit=3&cursor=6"));
    let (_, past_the_end, next) = page(&format!("{products}?cursor=999999"), &token).await;
    assert!(past_the_end.is_empty() && next.is_none());

    let too_many = MAX_PAGE_SIZE + 1;
    for query in [
        "limit=0",
        &format!("limit={too_many}"),
        "limit=x",
        "cursor=-1",
        "cursor=abc",
    ] {
        let response = http()
            .get(format!("{products}?{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{query}");
    }
}

#[tokio::test]
async fn input_the_catalogue_refuses() {
    let (_running, products, token) = shop(100).await;
    let oversized = json!({ "name": "x".repeat(MAX_BODY_BYTES), "price_cents": 100 });
    let (status, body) = post(&products, &token, &oversized).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "body_too_large");

    let refused = [
        json!({ "name": "mug", "price_cents": MAX_PRICE_CENTS + 1 }),
        json!({ "name": "mug", "price_cents": u64::MAX }),
        json!({ "name": "mug", "price_cents": 0 }),
        json!({ "name": "\u{1b}[2J\u{1b}[31mFREE", "price_cents": 100 }),
        json!({ "name": "invoice\u{202e}fdp.exe", "price_cents": 100 }),
        json!({ "name": "\u{2066}isolate\u{2069}", "price_cents": 100 }),
        json!({ "name": "two\u{2028}lines", "price_cents": 100 }),
        json!({ "name": "bell\u{7}", "price_cents": 100 }),
        json!({ "name": "c1\u{9b}31m", "price_cents": 100 }),
    ];
    for product in refused {
        let (status, body) = post(&products, &token, &product).await;
        assert_eq!(status, 422, "{product}: {body}");
        assert_eq!(body["error"], "invalid_body", "{product}");
        assert!(body["error_description"].is_string());
    }
    // Ordinary Unicode, emoji sequences (with ZWJ) and the largest exact price are fine.
    for name in ["Café crème", "👩‍💻 sticker", "日本茶"] {
        let product = json!({ "name": name, "price_cents": MAX_PRICE_CENTS });
        let (status, body) = post(&products, &token, &product).await;
        assert_eq!(status, 201, "{name}: {body}");
        assert_eq!(body["price_cents"], MAX_PRICE_CENTS);
    }
}

#[tokio::test]
async fn the_dev_issuer_never_listens_on_the_network_unless_forced() {
    for (bind, dev_issuer_bind) in [
        (SocketAddr::from(([0, 0, 0, 0], 0)), loopback()),
        (loopback(), SocketAddr::from(([0, 0, 0, 0], 0))),
        ("[::]:0".parse().unwrap(), loopback()),
    ] {
        let settings = Settings {
            bind,
            dev_issuer_bind,
            ..Settings::default()
        };
        // Refused before anything listens.
        match start(settings).await {
            Err(SetupError::DevIssuerOnNetwork { addr }) => assert!(!addr.ip().is_loopback()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let forced = Settings::from_lookup(|name| match name {
        "BIND" => Some("0.0.0.0:3000".into()),
        "ALLOW_DEV_ISSUER_ON_NETWORK" => Some("1".into()),
        _ => None,
    })
    .unwrap();
    assert!(forced.check_exposure().is_ok());
    let warnings = forced.warnings().join("\n");
    assert!(warnings.contains("published secrets"), "{warnings}");
    assert_eq!(
        warnings.contains("/metrics"),
        cfg!(feature = "metrics"),
        "{warnings}"
    );
    // A real issuer may serve on the network; /metrics there still gets its warning, and a
    // wildcard address one saying that the challenges need METADATA_URL to point anywhere.
    let real = Settings {
        issuer: Some("https://id.example.com/oidc".into()),
        bind: SocketAddr::from(([0, 0, 0, 0], 3000)),
        ..Settings::default()
    };
    assert!(real.check_exposure().is_ok());
    let warnings = real.warnings();
    assert_eq!(warnings.len(), 1 + usize::from(cfg!(feature = "metrics")));
    assert!(warnings[0].contains("METADATA_URL"), "{warnings:?}");
    let published = Settings {
        metadata_url: Some("https://shop.example.com/.well-known/oauth-protected-resource".into()),
        ..real
    };
    assert_eq!(
        published.warnings().len(),
        usize::from(cfg!(feature = "metrics"))
    );
    assert!(Settings::default().warnings().is_empty());
    assert!(
        Settings::from_lookup(|name| (name == "ALLOW_DEV_ISSUER_ON_NETWORK").then(|| "yes".into()))
            .is_err()
    );
}
