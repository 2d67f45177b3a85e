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
