use super::*;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};

#[test]
fn challenge_attributes() {
    let responder = ErrorResponder::new().with_realm("shop \"main\"");
    let missing = responder.challenge(&AuthError::MissingToken).unwrap();
    assert_eq!(missing, r#"Bearer realm="shop \"main\"""#);
    let scope = responder
        .challenge(&AuthError::InsufficientScope {
            required: Arc::from("read:products"),
        })
        .unwrap();
    assert_eq!(
        scope,
        r#"Bearer realm="shop \"main\"", error="insufficient_scope", error_description="token lacks the scope this resource requires", scope="read:products""#
    );
    let no_realm = ErrorResponder::new()
        .challenge(&AuthError::Expired)
        .unwrap();
    assert_eq!(
        no_realm,
        r#"Bearer error="invalid_token", error_description="token has expired""#
    );
    assert!(
        responder
            .challenge(&AuthError::KeysUnavailable {
                retry_after: Duration::from_secs(3)
            })
            .is_none()
    );
}

#[test]
fn reasons_are_listed_in_declaration_order_and_unique() {
    for (index, reason) in Reason::ALL.iter().enumerate() {
        assert_eq!(*reason as usize, index, "{reason}");
    }
    let mut labels: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), Reason::ALL.len());
    assert_eq!(
        AuthError::MalformedToken(TokenProblem::TooLong).reason(),
        Reason::TokenTooLong
    );
    let refusal = ErrorResponder::new().respond(&AuthError::WrongAudience);
    let marked = refusal.extensions().get::<Refusal>().map(|r| r.0);
    assert_eq!(marked, Some(Reason::WrongAudience));
}

#[test]
fn control_characters_never_reach_the_header() {
    let responder = ErrorResponder::new().with_realm("a\r\nSet-Cookie: x\u{7f}é");
    let value = responder.challenge(&AuthError::MissingToken).unwrap();
    assert_eq!(value, r#"Bearer realm="aSet-Cookie: x""#);
}

#[test]
fn responses_have_status_headers_and_json() {
    let responder = ErrorResponder::new();
    let response = responder.respond(&AuthError::KeysUnavailable {
        retry_after: Duration::from_millis(1),
    });
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let response = responder.respond(&AuthError::Overloaded {
        retry_after: Duration::from_secs(2),
    });
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "2");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let response = responder.respond(&AuthError::InvalidRequest(RequestProblem::WrongScheme));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
}

#[test]
fn resource_metadata_is_in_every_challenge_and_the_route_scope_in_401s_only() {
    let responder = ErrorResponder::new()
        .with_realm("shop")
        .with_resource_metadata("https://a.example/.well-known/oauth-protected-resource")
        .with_challenge_scope("write:products");
    let metadata = r#"resource_metadata="https://a.example/.well-known/oauth-protected-resource""#;
    let missing = responder.challenge(&AuthError::MissingToken).unwrap();
    assert_eq!(
        missing,
        format!(r#"Bearer realm="shop", {metadata}, scope="write:products""#).as_str()
    );
    let expired = responder.challenge(&AuthError::Expired).unwrap();
    assert_eq!(
        expired,
        format!(
            r#"Bearer realm="shop", {metadata}, error="invalid_token", error_description="token has expired", scope="write:products""#
        )
        .as_str()
    );
    // A 403 names what the refused check needs, not the route's hint.
    let insufficient = AuthError::InsufficientScope {
        required: Arc::from("admin"),
    };
    let forbidden = responder.challenge(&insufficient).unwrap();
    let forbidden = forbidden.to_str().unwrap();
    assert!(forbidden.contains(metadata) && forbidden.ends_with(r#"scope="admin""#));
    // A 400 carries the metadata but no scope; a 503 no challenge at all.
    let bad = responder
        .challenge(&AuthError::InvalidRequest(RequestProblem::WrongScheme))
        .unwrap();
    assert!(bad.to_str().unwrap().contains(metadata) && !bad.to_str().unwrap().contains("scope="));
    // An empty hint is no hint.
    let empty = ErrorResponder::new().with_challenge_scope("");
    assert_eq!(empty.challenge(&AuthError::MissingToken).unwrap(), "Bearer");
}

#[test]
fn dpop_challenges() {
    let algs: Arc<str> = Arc::from("ES256 EdDSA");
    let schemes = |bearer, dpop_request| Schemes {
        bearer,
        dpop_algs: Some(Arc::clone(&algs)),
        dpop_request,
    };
    let both = ErrorResponder::new()
        .with_realm("shop")
        .with_schemes(schemes(true, false));
    // RFC 9449 §7.1: both challenges where both schemes are accepted, the error on one.
    assert_eq!(
        both.challenges(&AuthError::MissingToken),
        [
            r#"Bearer realm="shop""#,
            r#"DPoP realm="shop", algs="ES256 EdDSA""#
        ]
    );
    let proof = AuthError::Dpop(DpopRefusal::InvalidProof(ProofProblem::BadSignature));
    assert_eq!(
        both.challenges(&proof),
        [
            r#"Bearer realm="shop""#,
            r#"DPoP realm="shop", error="invalid_dpop_proof", error_description="DPoP proof signature is invalid", algs="ES256 EdDSA""#
        ]
    );
    let as_bearer = AuthError::Dpop(DpopRefusal::BoundTokenAsBearer);
    assert_eq!(
        both.challenges(&as_bearer)[0],
        r#"Bearer realm="shop", error="invalid_token", error_description="a DPoP-bound token must be sent with the DPoP scheme""#
    );
    // A general error of a DPoP request goes on the DPoP challenge.
    let dpop_request = ErrorResponder::new().with_schemes(schemes(true, true));
    assert_eq!(
        dpop_request.challenges(&AuthError::Expired),
        [
            "Bearer",
            r#"DPoP error="invalid_token", error_description="token has expired", algs="ES256 EdDSA""#
        ]
    );
    // Required: DPoP only, and it carries every error.
    let required = ErrorResponder::new().with_schemes(schemes(false, false));
    assert_eq!(
        required.challenges(&as_bearer),
        [
            r#"DPoP error="invalid_token", error_description="a DPoP-bound token must be sent with the DPoP scheme", algs="ES256 EdDSA""#
        ]
    );
    // RFC 9728 §5.1: resource_metadata (and a 401's route scope) on the DPoP challenge too.
    let published = ErrorResponder::new()
        .with_resource_metadata("https://a.example/.well-known/oauth-protected-resource")
        .with_challenge_scope("read:products")
        .with_schemes(schemes(true, true));
    assert_eq!(
        published.challenges(&proof)[1],
        r#"DPoP resource_metadata="https://a.example/.well-known/oauth-protected-resource", error="invalid_dpop_proof", error_description="DPoP proof signature is invalid", scope="read:products", algs="ES256 EdDSA""#
    );
    // use_dpop_nonce carries the nonce; a store outage is a 503 without challenge.
    let nonce = both.respond(&AuthError::Dpop(DpopRefusal::UseNonce {
        nonce: Arc::from("n-1"),
    }));
    assert_eq!(nonce.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(nonce.headers()["dpop-nonce"], "n-1");
    let down = both.respond(&AuthError::Dpop(DpopRefusal::StoreUnavailable {
        retry_after: Duration::from_secs(2),
    }));
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()[RETRY_AFTER], "2");
    assert!(down.headers().get(WWW_AUTHENTICATE).is_none());
}
