//! Unit tests of the preset's settings, the path confinement and what `Debug` shows.

use super::*;
use crate::{ClientCredentials, ConfigError};

fn api(endpoint: &str) -> ManagementApi {
    ManagementApi::logto(endpoint, "id", "secret")
        .build()
        .unwrap()
}

#[test]
fn the_resource_follows_the_tenant() {
    let cases = [
        ("https://abc123.logto.app", "https://abc123.logto.app/api"),
        ("https://abc123.logto.app/", "https://abc123.logto.app/api"),
        ("http://localhost:3001", "https://default.logto.app/api"),
        ("http://127.0.0.1:3001/", "https://default.logto.app/api"),
        ("https://auth.example.com", "https://default.logto.app/api"),
        ("https://a.b.logto.app", "https://default.logto.app/api"),
    ];
    for (endpoint, resource) in cases {
        assert_eq!(api(endpoint).token_source().resources(), [resource]);
        assert_eq!(api(endpoint).token_source().scopes(), ["all"]);
    }
    let custom = ManagementApi::logto("https://auth.example.com", "id", "secret")
        .tenant_id("xyz789")
        .build()
        .unwrap();
    assert_eq!(
        custom.token_source().resources(),
        ["https://xyz789.logto.app/api"]
    );
    assert_eq!(
        custom.token_source().token_url().as_str(),
        "https://auth.example.com/oidc/token"
    );
}

#[test]
fn bad_settings_are_refused() {
    let build = |endpoint: &str, tenant: Option<&str>| {
        let mut builder = ManagementApi::logto(endpoint, "id", "secret");
        if let Some(tenant) = tenant {
            builder = builder.tenant_id(tenant);
        }
        builder.build().map(|_| ())
    };
    for tenant in ["", "a/b", "a.b", "ABC", "a b", "x@y"] {
        assert!(
            matches!(
                build("https://abc.logto.app", Some(tenant)),
                Err(ConfigError::InvalidSetting(_))
            ),
            "{tenant:?}"
        );
    }
    assert!(matches!(
        build("logto.example.com", None),
        Err(ConfigError::InvalidTokenUrl { .. })
    ));
    assert!(matches!(
        build("https://logto.example.com/?x=1", None),
        Err(ConfigError::InvalidSetting(_))
    ));
    assert!(matches!(
        build("http://logto.example.com", None),
        Err(ConfigError::InsecureTokenUrl(_))
    ));
    let insecure = ManagementApi::logto("http://logto.internal", "id", "secret")
        .allow_insecure_http()
        .build()
        .unwrap();
    assert_eq!(insecure.base_url().as_str(), "http://logto.internal/api/");
    let source = ClientCredentials::logto("https://abc.logto.app", "id", "s")
        .build()
        .unwrap();
    assert!(matches!(
        ManagementApi::from_source("http://logto.example.com", source),
        Err(ConfigError::InsecureTokenUrl(_))
    ));
}

#[test]
fn paths_stay_under_the_api_base() {
    let api = api("https://abc.logto.app/");
    for (path, url) in [
        ("applications", "https://abc.logto.app/api/applications"),
        ("/applications", "https://abc.logto.app/api/applications"),
        (
            "applications/x1?page=2",
            "https://abc.logto.app/api/applications/x1?page=2",
        ),
        ("", "https://abc.logto.app/api/"),
    ] {
        assert_eq!(api.url(path).unwrap().as_str(), url);
    }
    for path in [
        "../oidc/token",
        "/../oidc/token",
        "%2e%2e/oidc/token",
        "applications/../../oidc/token",
        "//evil.example/api/",
        "https://evil.example/api/applications",
        "https://abc.logto.app/oidc/token",
        "https://user:pw@abc.logto.app/api/x",
    ] {
        assert!(
            matches!(api.url(path), Err(ManagementError::InvalidPath { .. })),
            "{path}"
        );
    }
}

#[test]
fn debug_never_shows_the_secret() {
    let builder = ManagementApi::logto("https://abc.logto.app", "id", "hunter2");
    assert!(!format!("{builder:?}").contains("hunter2"));
    assert!(!format!("{:?}", builder.build().unwrap()).contains("hunter2"));
}

#[test]
fn applications_keep_only_the_listed_fields() {
    let apps: Vec<Application> = serde_json::from_str(
        r#"[{"id":"a1","name":"Backend","type":"MachineToMachine","secret":"s3cret",
             "description":null,"oidcClientMetadata":{}},
            {"id":"a2","name":"Web","type":"SPA","description":"the shop"}]"#,
    )
    .unwrap();
    assert_eq!(apps[0].kind, "MachineToMachine");
    assert_eq!(apps[1].description.as_deref(), Some("the shop"));
    assert!(!format!("{apps:?}").contains("s3cret"));
}
