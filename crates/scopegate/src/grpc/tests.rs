use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt as _;

use super::*;
use crate::ConfigError;
use crate::error::grpc::{is_grpc, message};
use crate::error::{AuthError, ErrorResponder, Reason, RequestProblem};

fn grpc_request(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

async fn body_of(response: http::Response<http_body_util::Full<Bytes>>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

#[test]
fn grpc_requests_are_told_by_their_content_type() {
    for grpc in [
        "application/grpc",
        "application/grpc+proto",
        "application/grpc+json",
        "Application/GRPC",
        "application/grpc; charset=utf-8",
    ] {
        assert!(is_grpc(&grpc_request(grpc)), "{grpc}");
    }
    for other in [
        "application/json",
        "application/grpc-web",
        "application/grpc-web+proto",
        "application/grpcx",
        "application/grp",
        "text/plain",
    ] {
        assert!(!is_grpc(&grpc_request(other)), "{other}");
    }
    assert!(!is_grpc(&HeaderMap::new()));
}

#[test]
fn the_message_is_percent_encoded_as_the_grpc_spec_asks() {
    let encoded = message(&AuthError::InsufficientScope {
        required: Arc::from("write:products 100%\u{e9}\n"),
    });
    // Space and VCHAR pass, except `%`; controls and UTF-8 bytes are encoded.
    assert_eq!(
        encoded,
        "insufficient_scope: token lacks the scope this resource requires \
         (needs write:products 100%25%C3%A9%0A)"
    );
    assert_eq!(
        message(&AuthError::MissingToken),
        "no bearer token in the request"
    );
}

#[tokio::test]
async fn a_grpc_refusal_is_trailers_only_with_the_challenge_as_metadata() {
    let responder = ErrorResponder::new()
        .with_realm("shop")
        .with_resource_metadata("https://a.example/.well-known/oauth-protected-resource")
        .with_challenge_scope("read:products")
        // A gRPC answer has no body: the renderer is never asked.
        .with_body_renderer(|_| panic!("no body for a gRPC answer"));
    let request = grpc_request("application/grpc");
    let cases = [
        (AuthError::MissingToken, "16", None),
        (AuthError::Expired, "16", Some("invalid_token")),
        (
            AuthError::InvalidRequest(RequestProblem::WrongScheme),
            "16",
            Some("invalid_request"),
        ),
        (
            AuthError::InsufficientScope {
                required: Arc::from("write:products"),
            },
            "7",
            Some("insufficient_scope"),
        ),
        (AuthError::MethodNotListed, "7", Some("insufficient_scope")),
    ];
    for (error, status, code) in cases {
        let response = responder.respond_to(&error, &request);
        assert_eq!(response.status(), StatusCode::OK, "{error:?}");
        let headers = response.headers();
        assert_eq!(headers[CONTENT_TYPE], "application/grpc");
        assert_eq!(headers["grpc-status"], status, "{error:?}");
        assert!(headers["grpc-message"].to_str().unwrap().contains("token") || code.is_some());
        // The same challenge as the HTTP answer, byte for byte.
        let challenge = responder.challenge(&error).unwrap();
        assert_eq!(headers[WWW_AUTHENTICATE], challenge, "{error:?}");
        let challenge = challenge.to_str().unwrap();
        assert!(challenge.contains(
            "resource_metadata=\"https://a.example/.well-known/oauth-protected-resource\""
        ));
        match code {
            Some(code) => assert!(challenge.contains(&format!("error=\"{code}\""))),
            None => assert!(!challenge.contains("error=")),
        }
        assert_eq!(
            response
                .extensions()
                .get::<crate::error::Refusal>()
                .map(|r| r.0),
            Some(error.reason())
        );
        assert!(body_of(response).await.is_empty(), "{error:?}");
    }
    let forbidden = responder.respond_to(
        &AuthError::InsufficientScope {
            required: Arc::from("write:products"),
        },
        &request,
    );
    assert!(
        forbidden.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with("scope=\"write:products\"")
    );
    assert_eq!(
        forbidden.headers()["grpc-message"],
        "insufficient_scope: token lacks the scope this resource requires (needs write:products)"
    );
}

#[tokio::test]
async fn an_unavailable_issuer_is_unavailable_with_retry_after() {
    let response = ErrorResponder::new().respond_to(
        &AuthError::KeysUnavailable {
            retry_after: Duration::from_millis(1500),
        },
        &grpc_request("application/grpc+proto"),
    );
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "14");
    assert_eq!(response.headers()[RETRY_AFTER], "2");
    assert_eq!(
        response.headers()["grpc-message"],
        "the issuer's signing keys are temporarily unavailable"
    );
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    assert_eq!(
        response
            .extensions()
            .get::<crate::error::Refusal>()
            .map(|r| r.0),
        Some(Reason::KeysUnavailable)
    );
}

#[tokio::test]
async fn any_other_request_still_gets_the_rfc_6750_answer() {
    let responder = ErrorResponder::new().with_realm("shop");
    for request in [
        HeaderMap::new(),
        grpc_request("application/json"),
        grpc_request("application/grpc-web"),
    ] {
        let error = AuthError::InsufficientScope {
            required: Arc::from("write:products"),
        };
        let response = responder.respond_to(&error, &request);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert!(response.headers().get("grpc-status").is_none());
        let expected = responder.respond(&error);
        assert_eq!(response.headers(), expected.headers());
        assert_eq!(body_of(response).await, body_of(expected).await);
    }
}

#[test]
fn method_tables_are_checked_at_build() {
    let bad_paths = [
        "shop.v1.Products/AddProduct",
        "/shop.v1.Products",
        "/shop.v1.Products/",
        "/shop..Products/AddProduct",
        "/shop.v1.Products/Add/Product",
        "/shop.v1.Products/Add Product",
        "/1shop.Products/AddProduct",
        "",
    ];
    for path in bad_paths {
        let built = GrpcMethods::builder().method(path, ["x"]).build();
        assert_eq!(
            built.unwrap_err(),
            ConfigError::InvalidGrpcMethodPath(path.to_owned()),
            "{path}"
        );
    }
    let twice = GrpcMethods::builder()
        .method("/a.B/C", ["x"])
        .method("/a.B/C", ["y"])
        .build();
    assert_eq!(
        twice.unwrap_err(),
        ConfigError::DuplicateGrpcMethod("/a.B/C".into())
    );
    for scope in ["", "read:products write:products", "a\"b"] {
        let built = GrpcMethods::builder().method("/a.B/C", [scope]).build();
        assert_eq!(
            built.unwrap_err(),
            ConfigError::InvalidGrpcScope(scope.into())
        );
    }
    let open = GrpcMethods::builder()
        .unknown_methods(UnknownMethods::RequireScopes(Vec::new()))
        .build();
    assert_eq!(open.unwrap_err(), ConfigError::OpenGrpcDefault);
    let fine = GrpcMethods::builder()
        .method("/grpc.health.v1.Health/Check", Vec::<String>::new())
        .method("/_x.Y_2/Z_", ["b", "a"])
        .unknown_methods(UnknownMethods::RequireScopes(vec!["a".into()]))
        .build()
        .unwrap();
    assert_eq!(fine.scopes(), ["a", "b"]);
}
