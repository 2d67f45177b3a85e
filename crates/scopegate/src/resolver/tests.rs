//! The trust rule against crafted `iss` values: every way to name another host or path.

use super::{IssuerPattern, IssuerTrust, PatternError};

#[test]
fn a_pattern_matches_its_tenants_only() {
    let pattern = IssuerPattern::new("https://{tenant}.logto.app/oidc").unwrap();
    assert_eq!(
        pattern.tenant_of("https://abc123.logto.app/oidc"),
        Some("abc123")
    );
    assert_eq!(pattern.tenant_of("https://a-b.logto.app/oidc"), Some("a-b"));
    let long = "a".repeat(63);
    assert_eq!(
        pattern.tenant_of(&format!("https://{long}.logto.app/oidc")),
        Some(long.as_str())
    );
    let crafted = [
        // Another host.
        "https://evil.com/.logto.app/oidc",
        "https://evil.com#.logto.app/oidc",
        "https://evil.com?.logto.app/oidc",
        "https://evil.com\\.logto.app/oidc",
        "https://a.evil.logto.app/oidc",
        "https://u@abc.logto.app/oidc",
        "https://abc.logto.app@evil.com/oidc",
        "https://abc.logto.app.evil.com/oidc",
        "https://logto.app/oidc",
        "https://.logto.app/oidc",
        // Another spelling of the same host, or another path.
        "https://ABC.logto.app/oidc",
        "HTTPS://abc.logto.app/oidc",
        "https://abc.logto.app:443/oidc",
        "https://abc.logto.app:8443/oidc",
        "https://abc.logto.app/oidc/",
        "https://abc.logto.app/oidc/../x",
        "https://abc.logto.app/OIDC",
        "https://abc.logto.app./oidc",
        "https://abc%2elogto.app/oidc",
        "https://ab%63.logto.app/oidc",
        "http://abc.logto.app/oidc",
        " https://abc.logto.app/oidc",
        "https://abc.logto.app/oidc ",
        // Not a tenant id.
        "https://-abc.logto.app/oidc",
        "https://abc-.logto.app/oidc",
        "https://ab_c.logto.app/oidc",
        "https://xn--80ak6aa92e.logto.app\u{0}/oidc",
        "https://аbc.logto.app/oidc", // Cyrillic а
    ];
    for iss in crafted {
        assert_eq!(pattern.tenant_of(iss), None, "{iss:?}");
    }
    let too_long = "a".repeat(64);
    assert_eq!(
        pattern.tenant_of(&format!("https://{too_long}.logto.app/oidc")),
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
        ("https://logto.app/oidc", Placeholder),
        ("https://{tenant}.{tenant}.app/oidc", Placeholder),
        ("https://{tenant}.logto.app/{x}", Placeholder),
        ("ftp://{tenant}.logto.app/oidc", NotAnIssuerUrl),
        ("https://u@{tenant}.logto.app/oidc", NotAnIssuerUrl),
        ("https://{tenant}.logto.app/oidc?x", NotAnIssuerUrl),
        ("https://{tenant}.logto.app/oidc#x", NotAnIssuerUrl),
        // The placeholder must fill a whole label with two fixed labels after it, or a segment.
        ("https://{tenant}logto.app/oidc", Placement),
        ("https://x{tenant}.logto.app/oidc", Placement),
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
            "HTTPS://{tenant}.Logto.app/oidc",
            "https://{tenant}.logto.app/oidc",
        ),
        (
            "https://{tenant}.logto.app:443/oidc",
            "https://{tenant}.logto.app/oidc",
        ),
        ("https://{tenant}.logto.app", "https://{tenant}.logto.app/"),
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
