use super::*;

#[test]
fn typ_policies() {
    let lenient = TokenTypePolicy::Lenient;
    let strict = TokenTypePolicy::Strict;
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        assert!(
            lenient.accepts(Some(typ)) && strict.accepts(Some(typ)),
            "{typ}"
        );
    }
    assert!(lenient.accepts(Some("JWT")) && lenient.accepts(None));
    assert!(!strict.accepts(Some("JWT")) && !strict.accepts(None));
    for typ in [
        "id+jwt",
        "application/jwt",
        "",
        "logout+jwt",
        "application/",
    ] {
        assert!(!lenient.accepts(Some(typ)), "{typ}");
    }
}

#[test]
fn builder_rejects_open_doors() {
    let base = || AuthConfig::builder("https://id.example.com/oidc", "https://shopping.api");
    assert!(base().build().is_ok());
    assert_eq!(
        AuthConfig::builder("https://i", "").build().unwrap_err(),
        ConfigError::NoAudience
    );
    assert_eq!(
        base().algorithms([Algorithm::HS256]).build().unwrap_err(),
        ConfigError::SymmetricMismatch
    );
    assert_eq!(
        base().symmetric_secret(*b"short").build().unwrap_err(),
        ConfigError::WeakSecret
    );
    assert!(base().symmetric_secret([7u8; 32]).build().is_ok());
    assert_eq!(
        base().algorithms([]).build().unwrap_err(),
        ConfigError::NoAlgorithms
    );
    assert_eq!(
        base()
            .leeway(Duration::from_secs(3600))
            .build()
            .unwrap_err(),
        ConfigError::LeewayTooLarge
    );
    assert!(matches!(
        base().jwks_uri("http://keys.example.com/jwks").build(),
        Err(ConfigError::InsecureJwksUrl(_))
    ));
    assert!(base().jwks_uri("http://127.0.0.1:9/jwks").build().is_ok());
    assert!(matches!(
        AuthConfig::builder("http://id.example.com", "a").build(),
        Err(ConfigError::IssuerNotDiscoverable(_))
    ));
    for no_scheme in ["id.example.com/oidc", "localhost:3001/oidc"] {
        assert_eq!(
            AuthConfig::builder(no_scheme, "a").build().unwrap_err(),
            ConfigError::IssuerMissingScheme(no_scheme.into())
        );
    }
    assert!(
        AuthConfig::builder("not a url", "a")
            .jwks_uri("https://id.example.com/jwks")
            .build()
            .is_ok()
    );
}
