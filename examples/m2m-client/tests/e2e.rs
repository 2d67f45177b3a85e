//! The whole machine-to-machine flow, end to end on loopback: the shopping API with its embedded
//! dev issuer, scopegate-m2m token sources, and the `m2m-client` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use scopegate_m2m::{ClientCredentials, OAuthErrorCode, TestClock, TokenError};
use serde_json::{Value, json};
use shopping_api::{DEFAULT_AUDIENCE, Running, Settings, start};

async fn shop() -> Running {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let settings = Settings {
        issuer: None,
        audience: DEFAULT_AUDIENCE.to_owned(),
        jwks_uri: None,
        bind: loopback,
        dev_issuer_bind: loopback,
        warm_up: shopping_api::DEFAULT_WARM_UP,
        ..Settings::default()
    };
    start(settings).await.expect("the shop starts")
}

fn app(shop: &Running, id: &str, secret: &str, scope: &str) -> ClientCredentials {
    let endpoint = shop.dev_issuer.as_ref().unwrap().endpoint();
    ClientCredentials::logto(&endpoint, id, secret)
        .resource(DEFAULT_AUDIENCE)
        .scope(scope)
        .build()
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn read_app_reads_and_cannot_write_admin_app_writes() {
    let shop = shop().await;
    let api = format!("http://{}", shop.addr);
    let reader = app(&shop, "shopping-reader", "reader-secret", "read:products");
    let admin = app(
        &shop,
        "shopping-admin",
        "admin-secret",
        "read:products write:products",
    );

    let response = reader
        .send(http().get(format!("{api}/products")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let products: Vec<Value> = response.json().await.unwrap();
    assert_eq!(products.len(), 3);

    let new = json!({ "name": "Grinder", "price_cents": 8900 });
    let response = reader
        .send(http().post(format!("{api}/products")).json(&new))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"write:products\""),
        "{challenge}"
    );

    let response = admin
        .send(http().post(format!("{api}/products")).json(&new))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (created["id"].as_u64(), created["name"].as_str()),
        (Some(4), Some("Grinder"))
    );

    let bad = json!({ "name": "", "price_cents": 0 });
    let response = admin
        .send(http().post(format!("{api}/products")).json(&bad))
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "invalid_body");
    let response = admin
        .send(
            http()
                .post(format!("{api}/products"))
                .body("{oops")
                .header("content-type", "application/json"),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    let health = http().get(format!("{api}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn one_token_request_serves_many_api_calls() {
    let shop = shop().await;
    let api = format!("http://{}/products", shop.addr);
    let reader = app(&shop, "shopping-reader", "reader-secret", "read:products");
    for _ in 0..25 {
        let response = reader.send(http().get(&api)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(shop.dev_issuer.as_ref().unwrap().token_requests(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let shop = shop().await;
    let reader = app(&shop, "shopping-reader", "reader-secret", "read:products");
    let calls = (0..50).map(|_| {
        let reader = reader.clone();
        tokio::spawn(async move { reader.token().await })
    });
    let tokens: Vec<String> = futures_join(calls).await;
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(shop.dev_issuer.as_ref().unwrap().token_requests(), 1);
}

async fn futures_join(
    handles: impl Iterator<
        Item = tokio::task::JoinHandle<Result<scopegate_m2m::AccessToken, TokenError>>,
    >,
) -> Vec<String> {
    let mut tokens = Vec::new();
    for handle in handles {
        tokens.push(handle.await.unwrap().unwrap().secret().to_owned());
    }
    tokens
}

#[tokio::test]
async fn a_token_due_for_refresh_is_replaced_in_the_background_and_the_new_one_works() {
    let shop = shop().await;
    let dev = shop.dev_issuer.as_ref().unwrap();
    let api = format!("http://{}/products", shop.addr);
    let clock = TestClock::new();
    let reader = ClientCredentials::logto(dev.endpoint(), "shopping-reader", "reader-secret")
        .resource(DEFAULT_AUDIENCE)
        .scope("read:products")
        .clock(clock.clone())
        .build()
        .unwrap();
    let first = reader.token().await.unwrap();
    assert_eq!(reader.send(http().get(&api)).await.unwrap().status(), 200);
    assert_eq!(dev.token_requests(), 1);
    // Due (the margin is 60 s of the hour): the valid token is still handed out at once...
    clock.advance(first.refresh_at() - first.issued_at());
    assert_eq!(reader.token().await.unwrap().secret(), first.secret());
    // ...and once it has expired, callers wait for the new one, fetched once.
    clock.advance(first.expires_in());
    let second = reader.token().await.unwrap();
    assert_ne!(first.secret(), second.secret());
    assert_eq!(dev.token_requests(), 2);
    assert_eq!(reader.send(http().get(&api)).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_wrong_secret_surfaces_the_servers_oauth_error() {
    let shop = shop().await;
    let wrong = app(&shop, "shopping-reader", "not-the-secret", "read:products");
    match wrong.token().await.unwrap_err() {
        TokenError::OAuth { status, error, .. } => {
            assert_eq!(status, 401);
            assert_eq!(error, OAuthErrorCode::InvalidClient);
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
    let greedy = app(&shop, "shopping-reader", "reader-secret", "write:products");
    let error = greedy.token().await.unwrap_err();
    assert_eq!(error.oauth_error(), Some(&OAuthErrorCode::InvalidScope));
}

fn client_binary(shop: &Running, secret: &str) -> std::process::Output {
    client_binary_as(shop, "shopping-reader", secret, "", &[])
}

fn client_binary_as(
    shop: &Running,
    id: &str,
    secret: &str,
    scope: &str,
    args: &[&str],
) -> std::process::Output {
    client_binary_at(
        shop,
        id,
        secret,
        scope,
        args,
        &format!("http://{}", shop.addr),
    )
}

fn client_binary_to(shop: &Running, secret: &str, api_url: &str) -> std::process::Output {
    client_binary_at(shop, "shopping-reader", secret, "", &[], api_url)
}

fn client_binary_at(
    shop: &Running,
    id: &str,
    secret: &str,
    scope: &str,
    args: &[&str],
    api_url: &str,
) -> std::process::Output {
    let dev = shop.dev_issuer.as_ref().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_m2m-client"));
    command
        .args(args)
        .env("LOGTO_ENDPOINT", dev.endpoint())
        .env("API_URL", api_url)
        .env("APP_ID", id)
        .env("APP_SECRET", secret)
        .env_remove("RESOURCE")
        .env_remove("SCOPE")
        .env_remove("ALLOW_INSECURE_HTTP")
        .env_remove("USE_DPOP")
        .env_remove("DPOP_KEY");
    if !scope.is_empty() {
        command.env("SCOPE", scope);
    }
    command.output().unwrap()
}

/// The printed answer to `method` (`GET` or `POST`): its status line, challenge and body.
fn answer<'a>(stdout: &'a str, method: &str) -> &'a str {
    let start = stdout
        .find(&format!("{method} http://"))
        .unwrap_or_else(|| panic!("no {method} in {stdout}"));
    let rest = &stdout[start..];
    rest.split("\n\n").next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_m2m_client_binary_never_sends_the_token_in_clear_text_to_another_host() {
    let shop = shop().await;
    // Nothing is sent anywhere: the URL is refused before a token is even requested.
    let refused = tokio::task::block_in_place(|| {
        client_binary_to(&shop, "reader-secret", "http://attacker.example/collect")
    });
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refusing to send the access token to http://attacker.example"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());
    assert_eq!(shop.dev_issuer.as_ref().unwrap().token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_m2m_client_binary_prints_products_or_the_reason() {
    let shop = shop().await;
    let ok = tokio::task::block_in_place(|| client_binary(&shop, "reader-secret"));
    let stdout = String::from_utf8(ok.stdout).unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let get = answer(&stdout, "GET");
    assert!(get.contains("/products -> 200 OK\n"), "{get}");
    let products: Vec<Value> = serde_json::from_str(get.split_once('\n').unwrap().1).unwrap();
    assert_eq!(products[0]["name"], "Coffee beans, 1 kg");

    let failed = tokio::task::block_in_place(|| client_binary(&shop, "wrong"));
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
}

/// Issue 20 item 2: the quick start's two runs. The reader's POST is refused with 403 and a
/// challenge naming the missing scope; the admin's is created (201).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_run_shows_403_with_its_challenge_and_the_admin_run_201() {
    let shop = shop().await;
    let reader = tokio::task::block_in_place(|| client_binary(&shop, "reader-secret"));
    let stdout = String::from_utf8(reader.stdout).unwrap();
    assert!(reader.status.success(), "{stdout}");
    let post = answer(&stdout, "POST");
    assert!(post.contains("/products -> 403 Forbidden\n"), "{post}");
    // The challenge points to the API's protected-resource metadata (RFC 9728 §5.1).
    let challenge = format!(
        "WWW-Authenticate: Bearer realm=\"shopping\", resource_metadata=\"http://{}/.well-known/\
         oauth-protected-resource\", error=\"insufficient_scope\"",
        shop.addr
    );
    assert!(
        post.contains(&challenge) && post.contains("scope=\"write:products\""),
        "{post}"
    );

    let admin = tokio::task::block_in_place(|| {
        client_binary_as(
            &shop,
            "shopping-admin",
            "admin-secret",
            "read:products write:products",
            &["--add", "Green tea, 50 bags", "899"],
        )
    });
    let stdout = String::from_utf8(admin.stdout).unwrap();
    assert!(admin.status.success(), "{stdout}");
    let post = answer(&stdout, "POST");
    assert!(post.contains("/products -> 201 Created\n"), "{post}");
    assert!(!post.contains("WWW-Authenticate"), "{post}");
    let created: Value = serde_json::from_str(post.split_once('\n').unwrap().1).unwrap();
    assert_eq!(created["name"], "Green tea, 50 bags");
    assert_eq!(created["price_cents"], 899);

    let bad = tokio::task::block_in_place(|| {
        client_binary_as(
            &shop,
            "shopping-admin",
            "admin-secret",
            "",
            &["--add", "x", "cheap"],
        )
    });
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a number of cents"));
}

/// Issue 15: DPoP end to end. The shop's dev issuer binds the token to the client's key, and
/// the shop (DPoP `allowed`, its default) takes it only with a fresh proof per call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_bound_token_works_with_proofs_and_never_as_bearer() {
    let shop = shop().await;
    let products = format!("http://{}/products", shop.addr);
    let endpoint = shop.dev_issuer.as_ref().unwrap().endpoint();
    let key = scopegate_m2m::DpopKey::generate().unwrap();
    let source = ClientCredentials::logto(&endpoint, "shopping-reader", "reader-secret")
        .resource(DEFAULT_AUDIENCE)
        .scope("read:products")
        .dpop(key.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        let response = source.send(http().get(&products)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let token = source.cached_token().unwrap();
    assert_eq!(token.token_type(), "DPoP");
    let as_bearer = http()
        .get(&products)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), 401);
    // A proof for another request (POST) does not carry a GET.
    let url = reqwest::Url::parse(&products).unwrap();
    let proof = key.proof("POST", &url, Some(token.secret()), None).unwrap();
    let misused = http()
        .get(&products)
        .header("authorization", format!("DPoP {}", token.secret()))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(misused.status(), 401);

    // The binary, with `USE_DPOP=1`.
    let dev = shop.dev_issuer.as_ref().unwrap();
    let run = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_m2m-client"))
            .env("LOGTO_ENDPOINT", dev.endpoint())
            .env("API_URL", format!("http://{}", shop.addr))
            .env("USE_DPOP", "1")
            .env_remove("DPOP_KEY")
            .env_remove("APP_ID")
            .env_remove("APP_SECRET")
            .env_remove("RESOURCE")
            .env_remove("SCOPE")
            .env_remove("ALLOW_INSECURE_HTTP")
            .output()
            .unwrap()
    });
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("got a DPoP token"), "{stderr}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(
        answer(&stdout, "GET").contains("/products -> 200 OK\n"),
        "{stdout}"
    );
}
