//! The trust rule against crafted `iss` values: every way to name another host or path.

use super::{IssuerPattern, IssuerTrust, PatternError};

#[test]
fn a_pattern_matches_its_tenants_only() {
    let pattern = IssuerPattern::new("https://{tenant}.saas.example/oidc").unwrap();
    assert_eq!(
        pattern.tenant_of("https://abc123.saas.example/oidc"),
        Some("abc123")
    );
    assert_eq!(
        pattern.tenant_of("https://a-b.saas.example/oidc"),
        Some("a-b")
    );
    let long = "a".repeat(63);
    assert_eq!(
        pattern.tenant_of(&format!("https://{long}.saas.example/oidc")),
        Some(long.as_str())
    );
    let crafted = [
        // Another host.
        "https://evil.com/.saas.example/oidc",
        "https://evil.com#.saas.example/oidc",
        "https://evil.com?.saas.example/oidc",
        "https://evil.com\\.saas.example/oidc",
        "https://a.evil.saas.example/oidc",
        "https://u@abc.saas.example/oidc",
        "https://abc.saas.example@evil.com/oidc",
        "https://abc.saas.example.evil.com/oidc",
        "https://saas.example/oidc",
        "https://.saas.example/oidc",
        // Another spelling of the same host, or another path.
        "https://ABC.saas.example/oidc",
        "HTTPS://abc.saas.example/oidc",
        "https://abc.saas.example:443/oidc",
        "https://abc.saas.example:8443/oidc",
        "https://abc.saas.example/oidc/",
        "https://abc.saas.example/oidc/../x",
        "https://abc.saas.example/OIDC",
        "https://abc.saas.example./oidc",
        "https://abc%2esaas.example/oidc",
        "https://ab%63.saas.example/oidc",
        "http://abc.saas.example/oidc",
        " https://abc.saas.example/oidc",
        "https://abc.saas.example/oidc ",
        // Not a tenant id.
        "https://-abc.saas.example/oidc",
        "https://abc-.saas.example/oidc",
        "https://ab_c.saas.example/oidc",
        "https://xn--80ak6aa92e.saas.example\u{0}/oidc",
        "https://аbc.saas.example/oidc", // Cyrillic а
    ];
    for iss in crafted {
        assert_eq!(pattern.tenant_of(iss), None, "{iss:?}");
    }
    let too_long = "a".repeat(64);
    assert_eq!(
        pattern.tenant_of(&format!("https://{too_long}.saas.example/oidc")),
        None
    );
}

#[test]
fn a_path_pattern_takes_one_whole_segment() {
    let pattern = IssuerPattern::new("http://127.0.0.1:8080/t/{tenant}/oidc").unwrap();
    assert_eq!(
        pattern.tenant_of("http://127.0.0.1:8080/t/acme/oidc"),
        Some("acme")
    );
    for iss in [
        "http://127.0.0.1:8080/t/a/b/oidc",
        "http://127.0.0.1:8080/t/../oidc",
        "http://127.0.0.1:8080/t/./oidc",
        "http://127.0.0.1:8080/t/%2e%2e/oidc",
        "http://127.0.0.1:8080/t//oidc",
        "http://127.0.0.1:8081/t/acme/oidc",
        "http://localhost:8080/t/acme/oidc",
    ] {
        assert_eq!(pattern.tenant_of(iss), None, "{iss:?}");
    }
    let entra = IssuerPattern::new("https://login.microsoftonline.com/{tenant}/v2.0").unwrap();
    let id = "9188040d-6c67-4c5b-b112-36a304b66dad";
    assert_eq!(
        entra
            .issuer_of(id)
            .and_then(|iss| entra.tenant_of(&iss).map(str::to_owned)),
        Some(id.to_owned())
    );
}

#[test]
fn unsafe_patterns_are_refused() {
    use PatternError::*;
    let cases = [
        ("https://saas.example/oidc", Placeholder),
        ("https://{tenant}.{tenant}.app/oidc", Placeholder),
        ("https://{tenant}.saas.example/{x}", Placeholder),
        ("ftp://{tenant}.saas.example/oidc", NotAnIssuerUrl),
        ("https://u@{tenant}.saas.example/oidc", NotAnIssuerUrl),
        ("https://{tenant}.saas.example/oidc?x", NotAnIssuerUrl),
        ("https://{tenant}.saas.example/oidc#x", NotAnIssuerUrl),
        // The placeholder must fill a whole label with two fixed labels after it, or a segment.
        ("https://{tenant}saas.example/oidc", Placement),
        ("https://x{tenant}.saas.example/oidc", Placement),
        ("https://{tenant}.app/oidc", Placement),
        ("https://acme.{tenant}/oidc", Placement),
        ("https://id.example:{tenant}/oidc", NotAnIssuerUrl),
        ("https://id.example/t/x{tenant}/oidc", Placement),
        ("https://id.example/t/{tenant}x/oidc", Placement),
        ("{tenant}://id.example/oidc", NotAnIssuerUrl),
    ];
    for (pattern, error) in cases {
        assert_eq!(IssuerPattern::new(pattern), Err(error), "{pattern}");
    }
    // Not written as the parser writes it: iss is compared byte for byte, so say the fix.
    for (pattern, canonical) in [
        (
            "HTTPS://{tenant}.Saas.example/oidc",
            "https://{tenant}.saas.example/oidc",
        ),
        (
            "https://{tenant}.saas.example:443/oidc",
            "https://{tenant}.saas.example/oidc",
        ),
        (
            "https://{tenant}.saas.example",
            "https://{tenant}.saas.example/",
        ),
        (
            "https://id.example/a/../t/{tenant}",
            "https://id.example/t/{tenant}",
        ),
    ] {
        assert_eq!(
            IssuerPattern::new(pattern),
            Err(NotCanonical(canonical.to_owned())),
            "{pattern}"
        );
    }
}

#[test]
fn an_allow_list_never_yields_an_empty_tenant() {
    let trust = IssuerTrust::allow_list(|iss: &str| {
        Some(iss.len().to_string()).filter(|_| iss.starts_with("https://"))
    });
    assert_eq!(trust.tenant_of("https://a.example").as_deref(), Some("17"));
    assert_eq!(trust.tenant_of("http://a.example"), None);
    let empty = IssuerTrust::allow_list(|_: &str| Some(String::new()));
    assert_eq!(empty.tenant_of("https://a.example"), None);
}
