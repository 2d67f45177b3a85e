//! Writes `jwks.json` (public keys only) and the seed inputs in `seeds/bearer/`, from fresh keys
//! whose private halves die with this process. Run it only to replace both together (see
//! README.md): seeds signed by other keys would stop at the signature check.

use std::path::Path;

use scopegate::{AuthConfig, KeySet, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64};
use serde_json::json;

const ISSUER: &str = "https://issuer.fuzz.invalid/oidc";
const AUDIENCE: &str = "https://api.fuzz.invalid";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = dir.join("seeds/bearer");
    std::fs::create_dir_all(&seeds).unwrap();
    let issuer = DevIssuer::builder().start().await.unwrap();
    let mut keys = vec![("ES384", issuer.kid())];
    for alg in [
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
        SigningAlgorithm::PS256,
        SigningAlgorithm::EdDSA,
    ] {
        keys.push((alg.as_str(), issuer.add_key(alg).unwrap()));
    }
    let jwks = serde_json::to_string_pretty(&issuer.jwks()).unwrap();
    std::fs::write(dir.join("jwks.json"), jwks.clone() + "\n").unwrap();
    // The fuzz target's own configuration: the valid seeds must pass it, or the fuzzer would
    // never get past the signature check.
    let config = AuthConfig::builder(ISSUER, AUDIENCE)
        .jwks_static(KeySet::from_jwks_json(jwks.as_bytes(), 100).unwrap())
        .build()
        .unwrap();
    let validator = Validator::new(config).unwrap();

    let claims = |scope: &str| {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "fuzz-app", "client_id": "fuzz-app",
            "scope": scope, "iat": 1_700_000_000, "exp": 4_102_444_800_i64, "jti": "seed",
        })
    };
    let write = |name: &str, value: &str| std::fs::write(seeds.join(name), value).unwrap();
    for (alg, kid) in &keys {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
        let token = issuer
            .mint_with_key(kid, header, claims("read:products write:products"))
            .unwrap();
        validator.validate(&token).await.unwrap();
        write(&format!("valid-{alg}"), &format!("Bearer {token}"));
    }
    // A few wrong shapes, so the early branches start covered.
    let (es384, kid) = &keys[0];
    let mut expired = claims("read:products");
    expired["exp"] = json!(1_700_000_100);
    let header = json!({ "alg": es384, "typ": "at+jwt", "kid": kid });
    let token = issuer.mint_with_key(kid, header, expired).unwrap();
    write("expired-ES384", &format!("Bearer {token}"));
    let mut aud_list = claims("read:products");
    aud_list["aud"] = json!([AUDIENCE, "https://other.invalid"]);
    aud_list["nbf"] = json!(1_700_000_000.5);
    let header = json!({ "alg": es384, "kid": kid, "crit": ["b64"], "b64": false });
    let token = issuer.mint_with_key(kid, header, aud_list).unwrap();
    write("crit-b64-ES384", &format!("Bearer {token}"));
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims("").to_string().as_bytes())
    );
    write("alg-none", &format!("bearer {none}"));
    write("jwe", "Bearer eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d");
    write("basic", "Basic ZnV6ejpmdXp6");
    write("two-tokens", "Bearer a.b.c d.e.f");
    println!(
        "wrote {} and {}",
        dir.join("jwks.json").display(),
        seeds.display()
    );
}
