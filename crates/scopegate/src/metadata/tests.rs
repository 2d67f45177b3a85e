use super::*;

#[test]
fn well_known_urls_insert_the_segment_before_the_path() {
    let cases = [
        (
            "https://api.example.com/mcp",
            "https://api.example.com/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://api.example.com",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com:8443/a/b/",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b/",
        ),
        (
            "https://api.example.com/x?tenant=1",
            "https://api.example.com/.well-known/oauth-protected-resource/x?tenant=1",
        ),
        (
            "http://127.0.0.1:3003/mcp",
            "http://127.0.0.1:3003/.well-known/oauth-protected-resource/mcp",
        ),
    ];
    for (resource, expected) in cases {
        assert_eq!(
            well_known_url(resource).as_deref(),
            Some(expected),
            "{resource}"
        );
    }
    assert_eq!(well_known_url("urn:example:api"), None);
    assert_eq!(well_known_url("not a url"), None);
}

#[test]
fn required_scopes_are_shared_sorted_and_unique() {
    let scopes = RequiredScopes::new();
    let clone = scopes.clone();
    clone.record(["write:products", "read:products"]);
    scopes.record(["read:products", ""]);
    assert_eq!(scopes.to_vec(), ["read:products", "write:products"]);
    assert!(scopes.same_as(&clone) && !scopes.same_as(&RequiredScopes::new()));
}

#[test]
fn guarded_routes_reach_the_metadata_whichever_comes_first() {
    use crate::{AuthConfig, BearerAuthLayer, GuardedRoute};
    let config = AuthConfig::builder("https://issuer.example.com", "https://api.example.com")
        .build()
        .expect("a valid config");
    let validator = Validator::new(config).expect("a valid validator");
    let metadata = ResourceMetadata::builder(&validator, "https://api.example.com")
        .build()
        .expect("a valid document");
    let auth = BearerAuthLayer::new(validator);
    let before = GuardedRoute::get("/products").require_scopes(["read:products"]);
    let _layer = auth.guard(&before);
    // Routes guarded before the layer learns of the document are carried over.
    let auth = auth.resource_metadata(&metadata);
    let after = GuardedRoute::post("/products").require_any_scope(["write:products", "admin"]);
    let _layer = auth.guard(&after);
    let recorded = metadata.required_scopes();
    assert_eq!(recorded.routes(), [before, after]);
    assert_eq!(
        recorded.to_vec(),
        ["admin", "read:products", "write:products"]
    );
    let document: serde_json::Value = serde_json::from_slice(&metadata.to_json()).unwrap();
    assert_eq!(
        document["scopes_supported"],
        serde_json::json!(["admin", "read:products", "write:products"])
    );
}
