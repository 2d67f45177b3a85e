//! What the `bearer` and `bearer_cached` targets share: the fixed key set, the validator, and the
//! contract every answer is held to.

use std::sync::OnceLock;

use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use scopegate::token::{bearer_token, parse_credentials};
use scopegate::{AuthConfig, AuthContext, AuthError, CacheConfig, ErrorCode, KeySet, Validator};

/// Public keys only (ES384, ES256, RS256, PS256, EdDSA). The seed tokens in `seeds/bearer/` were
/// signed with their private halves, which `examples/make_seeds.rs` never wrote anywhere.
const JWKS: &[u8] = include_bytes!("../../jwks.json");
const ISSUER: &str = "https://issuer.fuzz.invalid/oidc";
const AUDIENCE: &str = "https://api.fuzz.invalid";

/// The only tokens that may ever be accepted: the valid seeds. No private key exists to sign any
/// other, so an accepted token whose header or payload differs from all of them is a forgery.
const SIGNED: [&str; 5] = [
    include_str!("../../seeds/bearer/valid-ES256"),
    include_str!("../../seeds/bearer/valid-ES384"),
    include_str!("../../seeds/bearer/valid-EdDSA"),
    include_str!("../../seeds/bearer/valid-PS256"),
    include_str!("../../seeds/bearer/valid-RS256"),
];

pub struct Harness {
    runtime: tokio::runtime::Runtime,
    validator: Validator,
    /// `header.payload` of each valid seed.
    signed: Vec<&'static str>,
}

impl Harness {
    pub fn new(cache: CacheConfig) -> Harness {
        let keys = KeySet::from_jwks_json(JWKS, 100).expect("jwks.json is a usable key set");
        let config = AuthConfig::builder(ISSUER, AUDIENCE)
            .jwks_static(keys)
            .build()
            .expect("valid config");
        let validator = Validator::builder()
            .issuer(config)
            .cache(cache)
            .build()
            .expect("valid validator");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let signed = SIGNED
            .iter()
            .map(|seed| {
                let token = seed.trim().strip_prefix("Bearer ").expect("a Bearer seed");
                &token[..token.rfind('.').expect("a JWS")]
            })
            .collect();
        Harness {
            runtime,
            validator,
            signed,
        }
    }

    /// The one harness of this process, built with `cache` on first use.
    pub fn shared(cache: fn() -> CacheConfig) -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(|| Harness::new(cache()))
    }

    /// The token of the header value `data`, if extraction accepts it; otherwise extraction's
    /// refusal has been checked.
    pub fn extract<'d>(&self, data: &'d [u8], headers: &'d mut HeaderMap) -> Option<&'d str> {
        // What hyper hands the layer: any bytes a header value may hold.
        let value = HeaderValue::from_bytes(data).ok()?;
        headers.insert(AUTHORIZATION, value);
        let extracted = bearer_token(headers);
        // The two entry points must agree on every value both can see.
        if let Ok(text) = std::str::from_utf8(data) {
            assert_eq!(
                parse_credentials(text).ok(),
                extracted.as_ref().ok().copied()
            );
        }
        match extracted {
            Ok(token) => Some(token),
            Err(error) => {
                assert_eq!(error.status(), 400, "{error:?}");
                assert_eq!(error.code(), Some(ErrorCode::InvalidRequest));
                None
            }
        }
    }

    /// Validates `token` and holds the answer to the contract: 401 `invalid_token` (never a 503:
    /// the keys are static), or acceptance of a token that is exactly a seed's header and payload.
    pub fn validate(&self, token: &str) -> Result<std::sync::Arc<AuthContext>, AuthError> {
        let outcome = self.runtime.block_on(self.validator.validate(token));
        match &outcome {
            Ok(auth) => {
                let signing_input = &token[..token.rfind('.').unwrap_or(0)];
                assert!(
                    self.signed.contains(&signing_input),
                    "accepted a token that no seed signed: {token}"
                );
                assert_eq!(auth.issuer(), ISSUER);
                assert!(auth.claims().audience().iter().any(|aud| aud == AUDIENCE));
            }
            Err(error) => {
                assert_eq!(error.status(), 401, "{error:?}");
                assert_eq!(error.code(), Some(ErrorCode::InvalidToken), "{error:?}");
            }
        }
        outcome
    }
}
