//! Issue 20 items 5–7: configuration mistakes a new user makes, and error messages that name the
//! fix. Each test asserts the words that point to it, against a real dev issuer where one is
//! involved.

use scopegate::{AuthConfig, ConfigError, JwksError, Validator};
use scopegate_dev::SigningAlgorithm;
use scopegate_tests::{RESOURCE, dev_issuer};

/// The message of the error `warm_up` gives for a config with this issuer (keys by discovery).
async fn discovery_error(issuer: &str) -> JwksError {
    let config = AuthConfig::builder(issuer, RESOURCE).build().unwrap();
    Validator::new(config).unwrap().warm_up().await.unwrap_err()
}

#[tokio::test]
async fn an_issuer_mismatch_shows_both_values_and_that_a_trailing_slash_counts() {
    let dev = dev_issuer(SigningAlgorithm::ES384).await;
    let configured = format!("{}/", dev.issuer());
    let message = discovery_error(&configured).await.to_string();
    assert!(message.contains(&format!("{configured:?}")), "{message}");
    assert!(
        message.contains(&format!("{:?}", dev.issuer())),
        "{message}"
    );
    assert!(message.contains("a trailing slash counts"), "{message}");
}

#[tokio::test]
async fn a_logto_endpoint_given_as_the_issuer_is_told_to_add_oidc() {
    let dev = dev_issuer(SigningAlgorithm::ES384).await;
    // The dev issuer is shaped like Logto: its documents live under <endpoint>/oidc only.
    let endpoint = dev.endpoint();
    let error = discovery_error(&endpoint).await;
    assert_eq!(
        error,
        JwksError::NoDiscoveryDocument {
            issuer: endpoint.clone()
        }
    );
    let message = error.to_string();
    assert!(
        message.contains("check the issuer, its path included"),
        "{message}"
    );
    // The core knows no vendor; the Logto preset recognises the endpoint.
    assert_eq!(
        scopegate::logto::discovery_hint(&error),
        Some(format!("for Logto the issuer is `{endpoint}/oidc`"))
    );
    // The advice is right: that issuer works.
    let config = AuthConfig::builder(format!("{endpoint}/oidc"), RESOURCE)
        .build()
        .unwrap();
    Validator::new(config).unwrap().warm_up().await.unwrap();
}

#[tokio::test]
async fn a_missing_discovery_document_elsewhere_gets_no_logto_advice() {
    let dev = dev_issuer(SigningAlgorithm::ES384).await;
    // A path other than /oidc on a host that is not *.logto.app: nothing suggests Logto.
    let issuer = format!("{}/auth", dev.endpoint());
    let error = discovery_error(&issuer).await;
    assert_eq!(error, JwksError::NoDiscoveryDocument { issuer });
    assert_eq!(scopegate::logto::discovery_hint(&error), None);
}

#[test]
fn a_plain_http_issuer_on_another_host_names_allow_insecure_http() {
    let issuer = "http://id.example.com/oidc";
    let error = AuthConfig::builder(issuer, RESOURCE).build().unwrap_err();
    assert_eq!(error, ConfigError::IssuerNotDiscoverable(issuer.into()));
    let message = error.to_string();
    assert!(message.contains("allow_insecure_http()"), "{message}");
    assert!(message.contains("swap the keys"), "{message}");
    // The named fix works.
    AuthConfig::builder(issuer, RESOURCE)
        .allow_insecure_http()
        .build()
        .unwrap();

    let jwks = "http://id.example.com/oidc/jwks";
    let message = AuthConfig::builder("https://id.example.com/oidc", RESOURCE)
        .jwks_uri(jwks)
        .build()
        .unwrap_err()
        .to_string();
    assert!(message.contains("allow_insecure_http()"), "{message}");
}

#[test]
fn an_issuer_without_a_scheme_is_told_it_is_missing_one() {
    for issuer in ["abc123.logto.app/oidc", "localhost:3001/oidc"] {
        let message = AuthConfig::builder(issuer, RESOURCE)
            .build()
            .unwrap_err()
            .to_string();
        assert!(message.contains("missing a scheme"), "{message}");
        assert!(message.contains(&format!("https://{issuer}")), "{message}");
        assert!(!message.contains("set a JWKS URL"), "{message}");
    }
}
