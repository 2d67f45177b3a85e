//! The Logto Management API preset against a real `oidc-provider` set up like Logto: the
//! management resource `https://default.logto.app/api` with its one permission, `all`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate::{AuthConfig, Validator};
use scopegate_m2m::{ManagementApi, OAuthErrorCode, TokenError};
use scopegate_tests::interop::Provider;
use serde_json::Value;

const MANAGEMENT_RESOURCE: &str = "https://default.logto.app/api";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preset_gets_a_management_api_token_from_oidc_provider() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    // A loopback endpoint is not `<tenant>.logto.app`: the tenant is `default`, as on Logto OSS.
    let api = ManagementApi::logto(provider.endpoint(), "management-app", "management-secret")
        .build()
        .unwrap();
    assert_eq!(api.token_source().resources(), [MANAGEMENT_RESOURCE]);
    assert_eq!(
        api.base_url().as_str(),
        format!("{}/api/", provider.endpoint())
    );

    let token = api.token_source().token().await.unwrap();
    assert!(token.scope_from_server(), "oidc-provider states the scope");
    assert_eq!(token.scope(), "all");
    let claims = claims_of(token.secret());
    assert_eq!(claims["aud"], MANAGEMENT_RESOURCE);
    assert_eq!(claims["scope"], "all");
    assert_eq!(claims["client_id"], "management-app");
    assert_eq!(claims["iss"], provider.issuer.as_str());

    // The token is one an API guarding the management resource accepts, with `all` granted.
    let config = AuthConfig::builder(provider.issuer.clone(), MANAGEMENT_RESOURCE)
        .jwks_uri(provider.jwks_uri())
        .build()
        .unwrap();
    let context = Validator::new(config)
        .unwrap()
        .validate(token.secret())
        .await
        .unwrap();
    assert!(context.has_scope("all"));
    assert_eq!(context.client_id(), Some("management-app"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_without_the_management_role_is_refused_typed() {
    let provider = tokio::task::block_in_place(|| Provider::start("ES384", 0));
    let reader = ManagementApi::logto(provider.endpoint(), "read-app", "read-secret")
        .build()
        .unwrap();
    match reader.token_source().token().await.unwrap_err() {
        TokenError::OAuth { status, error, .. } => {
            assert_eq!(status, 400);
            assert_eq!(error, OAuthErrorCode::InvalidScope);
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }
    let wrong = ManagementApi::logto(provider.endpoint(), "management-app", "wrong")
        .build()
        .unwrap();
    let error = wrong.token_source().token().await.unwrap_err();
    assert_eq!(error.oauth_error(), Some(&OAuthErrorCode::InvalidClient));
}
