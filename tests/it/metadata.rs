//! RFC 9728 protected-resource metadata, served by a real API on 127.0.0.1: the document's
//! fields, its path-inserted well-known URL, the configuration mistakes refused when it is
//! built, and the opt-in RFC 3986 comparison of URI audiences.

use axum::Router;
use axum::routing::{get, post};
use scopegate::{
    AudienceMatcher, AuthConfig, BearerAuthLayer, ConfigError, GuardedRoute, ResourceMetadata,
    Validator,
};
use scopegate_dev::SigningAlgorithm;
use scopegate_tests::challenge::parse_auth_params;
use scopegate_tests::{client, dev_issuer};
use serde_json::{Value, json};

#[tokio::test]
async fn the_document_names_the_audience_the_issuer_and_the_routes_scopes() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    // The resource is where the API is served: bind first to know the port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resource = format!("http://{addr}/mcp");
    let config = AuthConfig::builder(issuer.issuer(), &resource)
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let metadata = ResourceMetadata::builder(&validator, &resource)
        .resource_name("Products over MCP")
        .resource_documentation("https://docs.example.com/mcp")
        .scopes_supported(["admin:products"])
        .build()
        .unwrap();
    let well_known = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(metadata.url(), well_known);
    assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource/mcp");

    let auth = BearerAuthLayer::new(validator).resource_metadata(&metadata);
    let app = Router::new()
        .route(
            "/mcp",
            post(|| async { "ok" })
                .route_layer(auth.require_scopes(["read:products"]))
                .merge(
                    get(|| async { "ok" })
                        .route_layer(auth.require_any_scope(["write:products", "read:products"])),
                ),
        )
        .merge(metadata.router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let http = client();
    let response = http.get(&well_known).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let document: Value = response.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": resource,
            "authorization_servers": [issuer.issuer()],
            "scopes_supported": ["admin:products", "read:products", "write:products"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Products over MCP",
            "resource_documentation": "https://docs.example.com/mcp",
        })
    );
    // Byte for byte the audience the validator checks.
    assert_eq!(document["resource"].as_str(), Some(resource.as_str()));

    let head = http.head(&well_known).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.unwrap().is_empty());
    let put = http.put(&well_known).send().await.unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, HEAD");
    // The document is public; the resource is not.
    let refused = http
        .post(format!("http://{addr}/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge =
        parse_auth_params(refused.headers()["www-authenticate"].to_str().unwrap()).unwrap();
    assert_eq!(
        challenge.get("resource_metadata"),
        Some(well_known.as_str())
    );
    assert_eq!(challenge.get("scope"), Some("read:products"));
}

#[tokio::test]
async fn a_resource_that_is_not_the_audience_byte_for_byte_is_refused() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let config = AuthConfig::builder(issuer.issuer(), "https://api.example.com/mcp")
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    for other in [
        "https://api.example.com/mcp/",
        "https://API.example.com/mcp",
        "https://api.example.com:443/mcp",
        "https://billing.example.com/mcp",
    ] {
        assert_eq!(
            ResourceMetadata::builder(&validator, other)
                .build()
                .unwrap_err(),
            ConfigError::ResourceNotAnAudience(other.to_owned()),
        );
    }
    let error = ResourceMetadata::builder(&validator, "https://api.example.com/mcp")
        .metadata_url("/relative")
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ConfigError::InvalidMetadataUrl("/relative".to_owned())
    );

    // RFC 9728 §2: an https URL without a fragment (http only on loopback).
    for (audience, allowed) in [
        ("http://api.example.com/mcp", false),
        ("https://api.example.com/mcp#part", false),
        ("urn:example:api", false),
        ("http://localhost:3003/mcp", true),
    ] {
        let config = AuthConfig::builder(issuer.issuer(), audience)
            .jwks_uri(issuer.jwks_uri())
            .build()
            .unwrap();
        let validator = Validator::new(config).unwrap();
        let built = ResourceMetadata::builder(&validator, audience).build();
        match allowed {
            true => assert!(built.is_ok(), "{audience}: {built:?}"),
            false => assert_eq!(
                built.unwrap_err(),
                ConfigError::InvalidResource(audience.to_owned())
            ),
        }
    }
    let error = AuthConfig::builder(issuer.issuer(), "https://api.example.com/mcp")
        .audience_matcher(AudienceMatcher::uri("not a uri"))
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::AudienceNotAUri("not a uri".to_owned()));
}

#[tokio::test]
async fn uri_audiences_compare_normalized_only_when_asked() {
    let issuer = dev_issuer(SigningAlgorithm::ES384).await;
    let configured = "https://mcp.example.com/mcp";
    let app = |normalize: bool| {
        let mut config =
            AuthConfig::builder(issuer.issuer(), configured).jwks_uri(issuer.jwks_uri());
        if normalize {
            config = config.normalize_uri_audiences();
        }
        let validator = Validator::new(config.build().unwrap()).unwrap();
        Router::new()
            .route("/mcp", get(|| async { "ok" }))
            .route_layer(BearerAuthLayer::new(validator))
    };
    let exact = scopegate_tests::serve(app(false)).await;
    let normalized = scopegate_tests::serve(app(true)).await;
    let http = client();
    let status = |addr: std::net::SocketAddr, aud: &str| {
        let token = issuer.mint(issuer.claims("read-app", aud, "read:products"));
        let request = http.get(format!("http://{addr}/mcp")).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let equivalent = [
        "https://mcp.example.com/mcp",
        "HTTPS://MCP.Example.COM/mcp",
        "https://mcp.example.com:443/mcp",
        "https://mcp.example.com/a/../mcp",
        "https://mcp.example.com/%6Dcp",
    ];
    for aud in equivalent {
        assert_eq!(status(normalized, aud).await, 200, "normalized: {aud}");
        let expected = if aud == configured { 200 } else { 401 };
        assert_eq!(status(exact, aud).await, expected, "exact: {aud}");
    }
    for different in [
        "https://mcp.example.com/mcp/",
        "https://mcp.example.com/MCP",
        "http://mcp.example.com/mcp",
        "https://mcp.example.com:8443/mcp",
        "https://mcp.example.com/mcp\t",
    ] {
        assert_eq!(status(normalized, different).await, 401, "{different:?}");
    }
    // An empty path is "/": equal after normalization, not before.
    let root = AuthConfig::builder(issuer.issuer(), "https://mcp.example.com")
        .jwks_uri(issuer.jwks_uri())
        .normalize_uri_audiences()
        .build()
        .unwrap();
    assert!(root.accepts_audience("https://mcp.example.com/"));
    let exact_root = AuthConfig::builder(issuer.issuer(), "https://mcp.example.com")
        .jwks_uri(issuer.jwks_uri())
        .build()
        .unwrap();
    assert!(!exact_root.accepts_audience("https://mcp.example.com/"));
}

#[test]
fn guarded_routes_reach_the_metadata_whichever_comes_first() {
    let config = AuthConfig::builder("https://issuer.example.com", "https://api.example.com")
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();
    let metadata = ResourceMetadata::builder(&validator, "https://api.example.com")
        .build()
        .unwrap();
    let auth = BearerAuthLayer::new(validator);
    let before = GuardedRoute::get("/products").require_scopes(["read:products"]);
    let _layer = auth.guard(&before);
    // Routes guarded before the layer learns of the document are carried over.
    let auth = auth.resource_metadata(&metadata);
    let after = GuardedRoute::post("/products").require_any_scope(["write:products", "admin"]);
    let _layer = auth.guard(&after);
    let recorded = metadata.required_scopes();
    assert_eq!(recorded.routes(), [before, after]);
    let document: Value = serde_json::from_slice(&metadata.to_json()).unwrap();
    assert_eq!(
        document["scopes_supported"],
        json!(["admin", "read:products", "write:products"])
    );
}
