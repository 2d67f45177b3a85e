//! Unit tests of the builder and its checks.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checks::{basic_header, check_resource, parse_token_url, split_scopes};
use super::*;
use crate::error::ConfigError;
use crate::source::ClientCredentials;

#[test]
fn basic_header_form_encodes_before_base64() {
    let header = basic_header("my client:1", "p@ss w/rd+%").unwrap();
    let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
    let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(decoded, "my+client%3A1:p%40ss+w%2Frd%2B%25");
    assert!(header.is_sensitive());
}

#[test]
fn scopes_split_dedup_and_validate() {
    let scopes = split_scopes(&["read:a write:a".into(), "read:a".into(), "x".into()]).unwrap();
    assert_eq!(scopes, ["read:a", "write:a", "x"]);
    assert_eq!(
        split_scopes(&["bad\"scope".into()]),
        Err(ConfigError::InvalidScope("bad\"scope".into()))
    );
    assert!(split_scopes(&["tab\there".into()]).is_err());
    assert!(split_scopes(&["caf\u{e9}".into()]).is_err());
}

#[test]
fn token_url_rules() {
    assert!(parse_token_url("https://id.example.com/oidc/token", false).is_ok());
    assert!(parse_token_url("http://127.0.0.1:3001/oidc/token", false).is_ok());
    assert!(parse_token_url("http://localhost/token", false).is_ok());
    assert!(parse_token_url("http://[::1]:8080/token", false).is_ok());
    assert!(matches!(
        parse_token_url("http://id.example.com/token", false),
        Err(ConfigError::InsecureTokenUrl(_))
    ));
    assert!(parse_token_url("http://id.example.com/token", true).is_ok());
    assert!(parse_token_url("ftp://id.example.com/token", true).is_err());
    assert!(parse_token_url("https://id.example.com/token#x", false).is_err());
    assert!(parse_token_url("https://u:p@id.example.com/token", false).is_err());
    assert!(parse_token_url("/oidc/token", false).is_err());
}

#[test]
fn resources_are_absolute_uris_without_fragment() {
    assert!(check_resource("https://api.example.com").is_ok());
    assert!(check_resource("urn:logto:resource:organizations").is_ok());
    assert!(check_resource("api.example.com").is_err());
    assert!(check_resource("https://api.example.com/#frag").is_err());
}

#[test]
fn builder_validates_and_builds_the_body() {
    let source = ClientCredentials::builder("https://id.example.com/token", "id", "s3cret!")
        .resource("https://api.example.com")
        .scopes(["read:products", "write:products"])
        .extra_param("organization_id", "org 1")
        .build()
        .unwrap();
    let config = &source.inner.config;
    assert_eq!(
        std::str::from_utf8(&config.body).unwrap(),
        "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com\
         &scope=read%3Aproducts+write%3Aproducts&organization_id=org+1"
    );
    assert!(config.basic.is_some());

    let post = ClientCredentials::builder("https://id.example.com/token", "id", "s3cret!")
        .auth_method(ClientAuthMethod::SecretPost)
        .build()
        .unwrap();
    assert!(post.inner.config.basic.is_none());
    assert!(
        std::str::from_utf8(&post.inner.config.body)
            .unwrap()
            .ends_with("&client_id=id&client_secret=s3cret%21")
    );

    let err = |b: ClientCredentialsBuilder| b.build().unwrap_err();
    let base = || ClientCredentials::builder("https://id.example.com/token", "id", "secret");
    assert_eq!(
        err(ClientCredentials::builder("https://x.example/t", "", "s")),
        ConfigError::EmptyClientId
    );
    assert_eq!(
        err(ClientCredentials::builder("https://x.example/t", "i", "")),
        ConfigError::EmptyClientSecret
    );
    assert_eq!(
        err(base().extra_param("scope", "x")),
        ConfigError::ReservedParameter("scope".into())
    );
    assert!(matches!(
        err(base().timeout(Duration::ZERO)),
        ConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(base().max_margin_ratio(f64::NAN)),
        ConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(base().max_margin_ratio(1.5)),
        ConfigError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(base().resource("nope")),
        ConfigError::InvalidResource { .. }
    ));
}

#[test]
fn margin_is_capped_by_ratio() {
    let source = ClientCredentials::builder("https://id.example.com/token", "id", "secret")
        .build()
        .unwrap();
    let config = &source.inner.config;
    assert_eq!(
        config.margin_for(Duration::from_secs(3600)),
        Duration::from_secs(60)
    );
    assert_eq!(
        config.margin_for(Duration::from_secs(30)),
        Duration::from_secs(15)
    );
    assert_eq!(config.margin_for(Duration::ZERO), Duration::ZERO);
}

#[test]
fn logto_preset_derives_the_token_endpoint() {
    for endpoint in ["https://t.logto.app", "https://t.logto.app/"] {
        let source = ClientCredentials::logto(endpoint, "id", "secret")
            .build()
            .unwrap();
        assert_eq!(
            source.token_url().as_str(),
            "https://t.logto.app/oidc/token"
        );
    }
}

#[test]
fn debug_and_errors_redact_the_secret() {
    let builder = ClientCredentials::builder("https://id.example.com/t", "id", "hunter2 x");
    assert!(!format!("{builder:?}").contains("hunter2"));
    let source = builder.build().unwrap();
    assert!(!format!("{source:?}").contains("hunter2"));
    let scrubbed = source
        .inner
        .config
        .scrub("bad secret hunter2 x (hunter2+x)".to_owned());
    assert_eq!(scrubbed, "bad secret <redacted> (<redacted>)");
}

#[test]
fn a_token_url_with_user_info_is_not_echoed() {
    let error = ClientCredentials::builder("https://alice:pa55w0rd@id.example.com/t", "i", "s")
        .build()
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("pa55w0rd") && !text.contains("alice"),
        "{text}"
    );
    let error = ClientCredentials::builder("not a url://bob:hunter2@x", "i", "s")
        .build()
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"));
    let error = ClientCredentials::builder("https://id.example.com/t", "i", "s")
        .api_origin("https://carol:pw@api.example.com")
        .build()
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("pw@"), "{error:?}");
}

#[test]
fn lifetimes_are_bounded() {
    let source = ClientCredentials::builder("https://id.example.com/token", "id", "secret")
        .assumed_lifetime(Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(source.inner.config.assumed_lifetime, MAX_LIFETIME);
    assert_eq!(bound_lifetime(Duration::ZERO), MIN_LIFETIME);
    assert_eq!(
        bound_lifetime(Duration::from_secs(3600)),
        Duration::from_secs(3600)
    );
}

#[test]
fn api_origins_are_origins() {
    let base = || ClientCredentials::builder("https://id.example.com/t", "i", "s");
    assert!(base().api_origin("https://api.example.com").build().is_ok());
    assert!(
        base()
            .api_origin("http://api.internal:8080/")
            .build()
            .is_ok()
    );
    for bad in [
        "api.example.com",
        "https://api.example.com/products",
        "ftp://x.example",
    ] {
        assert!(
            matches!(
                base().api_origin(bad).build(),
                Err(ConfigError::InvalidApiOrigin { .. })
            ),
            "{bad}"
        );
    }
}
