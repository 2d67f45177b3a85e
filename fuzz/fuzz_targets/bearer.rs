//! Arbitrary bytes as the value of an `Authorization` header, through the layer's own steps:
//! bearer extraction (RFC 6750 §2.1), then full validation against a fixed key set.
//!
//! Besides "no panic, no hang, no sanitizer report", every input is held to what the layer
//! promises: extraction refuses with 400, validation with 401 `invalid_token` (never a 503: the
//! keys are static), and a token that passes really is for the configured issuer and audience.
#![no_main]

use std::sync::OnceLock;

use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use scopegate::token::{bearer_token, parse_credentials};
use scopegate::{AuthConfig, CacheConfig, ErrorCode, KeySet, Validator};

/// Public keys only (ES384, ES256, RS256, PS256, EdDSA). The seed tokens in `seeds/bearer/` were
/// signed with their private halves, which `examples/make_seeds.rs` never wrote anywhere.
const JWKS: &[u8] = include_bytes!("../jwks.json");
const ISSUER: &str = "https://issuer.fuzz.invalid/oidc";
const AUDIENCE: &str = "https://api.fuzz.invalid";

struct Harness {
    runtime: tokio::runtime::Runtime,
    validator: Validator,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let keys = KeySet::from_jwks_json(JWKS, 100).expect("jwks.json is a usable key set");
        let config = AuthConfig::builder(ISSUER, AUDIENCE)
            .jwks_static(keys)
            .build()
            .expect("valid config");
        // No caches: an input's outcome must not depend on the inputs run before it.
        let validator = Validator::builder()
            .issuer(config)
            .cache(CacheConfig::disabled())
            .build()
            .expect("valid validator");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        Harness { runtime, validator }
    })
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    // What hyper hands the layer: any bytes a header value may hold.
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    let extracted = bearer_token(&headers);
    // The two entry points must agree on every value both can see.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(
            parse_credentials(text).ok(),
            extracted.as_ref().ok().copied()
        );
    }
    let token = match extracted {
        Ok(token) => token,
        Err(error) => {
            assert_eq!(error.status(), 400, "{error:?}");
            assert_eq!(error.code(), Some(ErrorCode::InvalidRequest));
            return;
        }
    };
    match harness.runtime.block_on(harness.validator.validate(token)) {
        Ok(auth) => {
            assert_eq!(auth.issuer(), ISSUER);
            assert!(auth.claims().audience().iter().any(|aud| aud == AUDIENCE));
        }
        Err(error) => {
            assert_eq!(error.status(), 401, "{error:?}");
            assert_eq!(error.code(), Some(ErrorCode::InvalidToken), "{error:?}");
        }
    }
});
