//! The Logto Management API flow on loopback: the shopping API's dev issuer serves
//! `GET /api/applications` behind scopegate's own layer; scopegate-m2m's `ManagementApi` preset
//! and the `m2m-client --management` binary call it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use scopegate_dev::{
    DEV_MANAGEMENT_APP_ID, DEV_MANAGEMENT_APP_SECRET, DevClient, DevIssuer, MANAGEMENT_RESOURCE,
};
use scopegate_m2m::{
    ClientCredentials, ManagementApi, ManagementError, OAuthErrorCode, TokenError,
};
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

fn dev(shop: &Running) -> &DevIssuer {
    shop.dev_issuer
        .as_ref()
        .expect("no ISSUER: the dev issuer runs")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_management_app_lists_the_applications() {
    let shop = shop().await;
    let dev = dev(&shop);
    let api = ManagementApi::logto(
        dev.endpoint(),
        DEV_MANAGEMENT_APP_ID,
        DEV_MANAGEMENT_APP_SECRET,
    )
    .build()
    .unwrap();
    assert_eq!(api.token_source().resources(), [MANAGEMENT_RESOURCE]);
    assert_eq!(
        api.base_url().as_str(),
        format!("{}/", dev.management_api_url())
    );

    let apps = api.list_applications().await.unwrap();
    let mut ids: Vec<&str> = apps.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["dev-management", "shopping-admin", "shopping-reader"]);
    assert!(apps.iter().all(|a| a.kind == "MachineToMachine"));

    let token = api.token_source().cached_token().unwrap();
    assert_eq!(token.scope(), "all");
    // The same token serves later calls: the preset shares the source's cache.
    let raw = api.send(api.get("/applications").unwrap()).await.unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(dev.token_requests(), 1);
}

#[tokio::test]
async fn the_reader_app_is_refused_the_management_resource_by_the_token_endpoint() {
    let shop = shop().await;
    let api = ManagementApi::logto(dev(&shop).endpoint(), "shopping-reader", "reader-secret")
        .build()
        .unwrap();
    match api.list_applications().await.unwrap_err() {
        ManagementError::Token(TokenError::OAuth { status, error, .. }) => {
            assert_eq!(status, 400);
            assert_eq!(error, OAuthErrorCode::InvalidTarget);
        }
        other => panic!("expected invalid_target from the token endpoint, got {other:?}"),
    }
}

#[tokio::test]
async fn a_shopping_token_is_refused_by_the_management_api_as_invalid_token() {
    let shop = shop().await;
    let dev = dev(&shop);
    let reader = ClientCredentials::logto(dev.endpoint(), "shopping-reader", "reader-secret")
        .resource(DEFAULT_AUDIENCE)
        .scope("read:products")
        .build()
        .unwrap();
    let url = format!("{}/applications", dev.management_api_url());

    let token = reader.token().await.unwrap();
    let response = http()
        .get(&url)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"logto-management\""),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // Through the helper: one retry with a new token, then the typed 401.
    let api = ManagementApi::from_source(&dev.endpoint(), reader).unwrap();
    match api.list_applications().await.unwrap_err() {
        ManagementError::Unauthorized { error, .. } => {
            assert_eq!(error.as_deref(), Some("invalid_token"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }

    let anonymous = http().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous.headers()["www-authenticate"].to_str().unwrap();
    assert!(!challenge.contains("error="), "{challenge}");
}

#[tokio::test]
async fn a_role_without_all_gets_a_403_naming_the_permission() {
    // An app that may use the Management API resource, but whose role holds no permission: the
    // token it gets has no `all` (as Logto issues one), and the API refuses it.
    let dev = DevIssuer::builder()
        .client(DevClient::new(
            "viewer",
            "viewer-secret",
            MANAGEMENT_RESOURCE,
            Vec::<String>::new(),
        ))
        .client(DevClient::management("admin", "admin-secret"))
        .start()
        .await
        .unwrap();
    let viewer = ClientCredentials::logto(dev.endpoint(), "viewer", "viewer-secret")
        .resource(MANAGEMENT_RESOURCE)
        .build()
        .unwrap();
    let api = ManagementApi::from_source(&dev.endpoint(), viewer).unwrap();
    let error = api.list_applications().await.unwrap_err();
    assert_eq!(
        error,
        ManagementError::MissingPermission {
            permission: "all".into()
        }
    );
    assert!(
        error.to_string().contains("lacks the permission \"all\""),
        "{error}"
    );

    // The preset itself asks for `all`, which this dev issuer refuses to grant at once.
    let preset = ManagementApi::logto(dev.endpoint(), "viewer", "viewer-secret")
        .build()
        .unwrap();
    let refused = preset.list_applications().await.unwrap_err();
    assert!(
        matches!(
            refused,
            ManagementError::Token(ref e) if e.oauth_error() == Some(&OAuthErrorCode::InvalidScope)
        ),
        "{refused:?}"
    );

    let admin = ManagementApi::logto(dev.endpoint(), "admin", "admin-secret")
        .build()
        .unwrap();
    assert_eq!(admin.list_applications().await.unwrap().len(), 2);
}

fn client_binary(shop: &Running, app: Option<(&str, &str)>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_m2m-client"));
    command
        .arg("--management")
        .env("LOGTO_ENDPOINT", dev(shop).endpoint())
        .env_remove("TENANT_ID")
        .env_remove("APP_ID")
        .env_remove("APP_SECRET");
    if let Some((id, secret)) = app {
        command.env("APP_ID", id).env("APP_SECRET", secret);
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_m2m_client_binary_lists_applications_with_the_dev_app_by_default() {
    let shop = shop().await;
    let ok = tokio::task::block_in_place(|| client_binary(&shop, None));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stderr}");
    assert!(stdout.starts_with("3 applications:"), "{stdout}");
    for id in ["dev-management", "shopping-reader", "shopping-admin"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(id) && l.contains("MachineToMachine")),
            "{id} missing: {stdout}"
        );
    }
    assert!(
        stderr.contains("resource: https://default.logto.app/api, scope: all"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dev-management / management-secret"),
        "{stderr}"
    );

    let reader = tokio::task::block_in_place(|| {
        client_binary(&shop, Some(("shopping-reader", "reader-secret")))
    });
    assert!(!reader.status.success());
    let stderr = String::from_utf8_lossy(&reader.stderr);
    assert!(stderr.contains("invalid_target"), "{stderr}");
    assert!(!stderr.contains("reader-secret"), "{stderr}");
}
