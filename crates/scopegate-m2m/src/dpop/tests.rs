use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use super::*;

/// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`; its thumbprint computed
/// apart from this crate (Python: hashlib over the RFC 7638 member string).
const PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQhBQxmW/Xsc6Cv+g
n83/JxTh1FMYMpifpzeySE01/rGhRANCAATunOiN8016zqvdZj4pHXrxfE+mH0Gx
HzVwHx1ManGXg0D4xSGpaGUOxgKOjRyIYXflz0oRgiJscTy+J0LVub8x
-----END PRIVATE KEY-----";

fn segments(proof: &str) -> (Value, Value, Vec<u8>) {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    let json = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (
        json(parts[0]),
        json(parts[1]),
        URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
}

#[test]
fn a_supplied_key_has_the_thumbprint_computed_elsewhere() {
    let key = DpopKey::from_pkcs8_pem(DpopAlgorithm::Es256, PEM).unwrap();
    assert_eq!(
        key.thumbprint(),
        "FhfVkf6YPUE7prHY6UrDJgWLyTGGL80xL1c9L7t_FxE"
    );
    assert_eq!(
        key.public_jwk()["x"],
        "7pzojfNNes6r3WY-KR168XxPph9BsR81cB8dTGpxl4M"
    );
    assert_eq!(
        key.public_jwk()["y"],
        "QPjFIaloZQ7GAo6NHIhhd-XPShGCImxxPL4nQtW5vzE"
    );
    // The wrong curve for the key, or not a key at all.
    assert_eq!(
        DpopKey::from_pkcs8_pem(DpopAlgorithm::Es384, PEM).unwrap_err(),
        DpopError::InvalidKey
    );
    assert_eq!(
        DpopKey::from_pkcs8_pem(DpopAlgorithm::Es256, "no pem").unwrap_err(),
        DpopError::Pem
    );
    assert!(
        !format!("{key:?}").contains("QhBQxmW"),
        "Debug shows no private key"
    );
}

#[test]
fn a_proof_has_the_rfc_9449_header_and_claims() {
    for algorithm in [DpopAlgorithm::Es256, DpopAlgorithm::Es384] {
        let key = DpopKey::generate_for(algorithm).unwrap();
        let url = Url::parse("HTTPS://API.Example.com:443/products?limit=5#top").unwrap();
        let proof = key
            .proof("GET", &url, Some("the-token"), Some("n-1"))
            .unwrap();
        let (header, claims, signature) = segments(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], algorithm.as_str());
        assert_eq!(&header["jwk"], key.public_jwk());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                header["jwk"].get(private).is_none(),
                "no private member {private}"
            );
        }
        assert_eq!(
            signature.len(),
            2 * algorithm.coordinate_len(),
            "JWS r || s"
        );
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example.com/products");
        assert_eq!(claims["nonce"], "n-1");
        // base64url(SHA-256("the-token")), computed independently (Python's hashlib).
        assert_eq!(claims["ath"], "wqc_z2HfvcrceaELozCy7162b8Cmc17Wm3lrs8l7l64");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(claims["iat"].as_u64().unwrap().abs_diff(now) <= 5);
        assert!(
            URL_SAFE_NO_PAD
                .decode(claims["jti"].as_str().unwrap())
                .unwrap()
                .len()
                >= 12
        );
    }
}

#[test]
fn every_proof_has_its_own_jti_and_no_ath_or_nonce_unless_given() {
    let key = DpopKey::generate().unwrap();
    let url = Url::parse("http://127.0.0.1:8080/oidc/token").unwrap();
    let first = segments(&key.proof("POST", &url, None, None).unwrap()).1;
    let second = segments(&key.proof("POST", &url, None, None).unwrap()).1;
    assert_ne!(first["jti"], second["jti"]);
    assert_eq!(first["htu"], "http://127.0.0.1:8080/oidc/token");
    assert!(first.get("ath").is_none() && first.get("nonce").is_none());
}

#[test]
fn nonces_are_kept_per_origin_and_only_when_well_formed() {
    let dpop = Dpop::new(DpopKey::generate().unwrap());
    let api = Url::parse("https://api.example.com/products").unwrap();
    let other = Url::parse("https://api.example.com:8443/products").unwrap();
    let with = |nonce: &'static [u8]| {
        let mut headers = HeaderMap::new();
        headers.insert(DPOP_NONCE, HeaderValue::from_bytes(nonce).unwrap());
        headers
    };
    assert!(dpop.remember(&api, &with(b"abc")));
    assert!(
        !dpop.remember(&api, &with(b"abc")),
        "the same nonce is not news"
    );
    assert_eq!(dpop.nonce(&api).as_deref(), Some("abc"));
    assert_eq!(dpop.nonce(&other), None, "another port is another origin");
    // RFC 9449 §8.1: NQCHAR excludes space, '"' and '\'.
    for bad in [&b"a b"[..], b"a\"b", b"a\\b", b""] {
        assert!(!dpop.remember(&api, &with(bad)), "{bad:?}");
    }
    assert_eq!(dpop.nonce(&api).as_deref(), Some("abc"));
    let proof = dpop.header("GET", &api, None).unwrap();
    let claims = segments(proof.to_str().unwrap()).1;
    assert_eq!(claims["nonce"], "abc");
}

#[test]
fn only_a_use_dpop_nonce_challenge_asks_for_a_nonce() {
    let with = |value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.append(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(value),
        );
        headers
    };
    assert!(asks_for_nonce(&with(
        r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
    )));
    assert!(asks_for_nonce(&with(
        r#"Bearer realm="shop", DPoP algs="ES256", error="use_dpop_nonce""#
    )));
    assert!(!asks_for_nonce(&with(r#"DPoP error="invalid_dpop_proof""#)));
    assert!(!asks_for_nonce(&HeaderMap::new()));
}
