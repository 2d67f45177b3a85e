//! Key sets built from JWKS documents, and the algorithm-confusion attacks they must stop.

use scopegate::jwks::{KeyKind, KeySet, SkippedKey, VerificationKey};
use scopegate::{Algorithm, AlgorithmSet, AuthConfig, AuthError, JwksError, Validator};
use scopegate_dev::{DevIssuer, SigningAlgorithm, b64, sign_hmac};
use scopegate_tests::RESOURCE;
use serde_json::{Value, json};

async fn issuer(algorithm: SigningAlgorithm) -> DevIssuer {
    DevIssuer::builder()
        .algorithm(algorithm)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_key_type_is_usable_and_yields_its_algorithms() {
    let cases = [
        (
            SigningAlgorithm::ES256,
            KeyKind::P256,
            AlgorithmSet::one(Algorithm::ES256),
        ),
        (
            SigningAlgorithm::ES384,
            KeyKind::P384,
            AlgorithmSet::one(Algorithm::ES384),
        ),
        (
            SigningAlgorithm::RS256,
            KeyKind::Rsa { bits: 2048 },
            AlgorithmSet::RSA,
        ),
        (
            SigningAlgorithm::EdDSA,
            KeyKind::Ed25519,
            AlgorithmSet::one(Algorithm::EdDSA),
        ),
    ];
    for (algorithm, kind, algorithms) in cases {
        let jwk = issuer(algorithm).await.public_jwk();
        assert!(
            jwk.get("alg").is_none(),
            "like Logto, the dev issuer omits alg"
        );
        let key = VerificationKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kind(), kind);
        assert_eq!(key.algorithms(), algorithms);
        assert_eq!(key.kid(), jwk["kid"].as_str());
    }
}

#[tokio::test]
async fn the_jwk_alg_member_narrows_or_disqualifies_a_key() {
    let mut jwk = issuer(SigningAlgorithm::RS256).await.public_jwk();
    jwk["alg"] = json!("PS256");
    assert_eq!(
        VerificationKey::from_jwk(&jwk).unwrap().algorithms(),
        AlgorithmSet::one(Algorithm::PS256)
    );
    jwk["alg"] = json!("ES256");
    assert_eq!(
        VerificationKey::from_jwk(&jwk).unwrap_err(),
        SkippedKey::AlgorithmMismatch
    );
    jwk["alg"] = json!("RSA-OAEP");
    assert_eq!(
        VerificationKey::from_jwk(&jwk).unwrap_err(),
        SkippedKey::AlgorithmMismatch
    );
}

#[tokio::test]
async fn unusable_keys_are_skipped_without_losing_the_set() {
    let good = issuer(SigningAlgorithm::ES384).await.public_jwk();
    let mut enc = good.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let mut no_verify = good.clone();
    no_verify["key_ops"] = json!(["encrypt"]);
    no_verify["kid"] = json!("ops");
    let mut short_x = good.clone();
    short_x["x"] = json!(b64(&[1; 20]));
    short_x["kid"] = json!("short");
    let mut bad_b64 = good.clone();
    bad_b64["y"] = json!("***");
    bad_b64["kid"] = json!("b64");
    let cases = [
        (enc, SkippedKey::NotForSigning),
        (no_verify, SkippedKey::NotForSigning),
        (short_x, SkippedKey::Malformed("x")),
        (bad_b64, SkippedKey::Malformed("y")),
        (
            json!({ "kty": "EC", "crv": "P-521", "x": "AA", "y": "AA" }),
            SkippedKey::Unsupported,
        ),
        (
            json!({ "kty": "OKP", "crv": "Ed448", "x": "AA" }),
            SkippedKey::Unsupported,
        ),
        (
            json!({ "kty": "oct", "k": "c2VjcmV0" }),
            SkippedKey::Unsupported,
        ),
        (
            json!({ "kty": "RSA", "e": "AQAB" }),
            SkippedKey::Malformed("n"),
        ),
        (
            json!({ "kty": "RSA", "n": b64(&[0xff; 128]), "e": "AQAB" }),
            SkippedKey::WeakRsa,
        ),
        (
            json!({ "kty": "RSA", "n": b64(&[0xff; 256]), "e": "AAE" }),
            SkippedKey::Malformed("e"),
        ),
        (json!({ "kty": 5 }), SkippedKey::Malformed("kty")),
        (
            json!("not an object"),
            SkippedKey::Malformed("not an object"),
        ),
    ];
    let mut keys = vec![];
    for (jwk, reason) in cases {
        assert_eq!(
            VerificationKey::from_jwk(&jwk).unwrap_err(),
            reason,
            "{jwk}"
        );
        keys.push(jwk);
    }
    keys.push(good.clone());
    let set = KeySet::from_jwks(&json!({ "keys": keys }), 100).unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.get(good["kid"].as_str().unwrap()).is_some());
}

#[test]
fn documents_that_are_not_key_sets_fail_whole() {
    assert_eq!(
        KeySet::from_jwks_json(b"<html>", 100).unwrap_err(),
        JwksError::NotJson
    );
    assert_eq!(
        KeySet::from_jwks_json(b"{\"keys\":{}}", 100).unwrap_err(),
        JwksError::NotAJwks
    );
    assert_eq!(
        KeySet::from_jwks_json(b"{\"keys\":[]}", 100).unwrap_err(),
        JwksError::NoUsableKeys
    );
    let many = json!({ "keys": vec![json!({}); 101] }).to_string();
    assert_eq!(
        KeySet::from_jwks_json(many.as_bytes(), 100).unwrap_err(),
        JwksError::TooManyKeys {
            count: 101,
            max: 100
        }
    );
}

/// A validator that trusts exactly the keys `issuer` publishes now.
fn pinned(issuer: &DevIssuer) -> Validator {
    let keys = KeySet::from_jwks(&issuer.jwks(), 100).unwrap();
    let config = AuthConfig::builder(issuer.issuer(), RESOURCE)
        .jwks_static(keys)
        .build()
        .unwrap();
    Validator::new(config).unwrap()
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_is_refused() {
    let issuer = issuer(SigningAlgorithm::RS256).await;
    let validator = pinned(&issuer);
    let claims = issuer.claims("a", RESOURCE, "read:products");
    let jwk_bytes = issuer.public_jwk().to_string().into_bytes();
    for secret in [issuer.public_key_der(), jwk_bytes] {
        for alg in ["HS256", "HS384", "HS512"] {
            let header = json!({ "alg": alg, "typ": "at+jwt", "kid": issuer.kid() });
            let token = sign_hmac(&secret, &header, &claims);
            assert_eq!(
                validator.validate(&token).await.unwrap_err(),
                AuthError::DisallowedAlgorithm
            );
        }
    }
}

#[tokio::test]
async fn alg_none_is_refused_however_spelled() {
    let issuer = issuer(SigningAlgorithm::ES384).await;
    let validator = pinned(&issuer);
    let claims = issuer.claims("a", RESOURCE, "").to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": issuer.kid() }).to_string();
        let unsigned = format!("{}.{}.", b64(header.as_bytes()), b64(claims.as_bytes()));
        assert_eq!(
            validator.validate(&unsigned).await.unwrap_err(),
            AuthError::DisallowedAlgorithm
        );
        let signed = issuer.sign_raw(header.as_bytes(), claims.as_bytes());
        assert_eq!(
            validator.validate(&signed).await.unwrap_err(),
            AuthError::DisallowedAlgorithm
        );
    }
}

#[tokio::test]
async fn a_token_alg_that_does_not_fit_its_key_is_refused() {
    let issuer = issuer(SigningAlgorithm::ES384).await;
    let rsa_kid = issuer.add_key(SigningAlgorithm::RS256).unwrap();
    let ed_kid = issuer.add_key(SigningAlgorithm::EdDSA).unwrap();
    let validator = pinned(&issuer);
    let claims = issuer.claims("a", RESOURCE, "");
    let swaps = [
        // (header alg, header kid, key that actually signs)
        ("RS256", issuer.kid(), rsa_kid.clone()),
        ("ES384", rsa_kid.clone(), issuer.kid()),
        ("EdDSA", issuer.kid(), ed_kid.clone()),
        ("ES384", ed_kid.clone(), issuer.kid()),
        ("PS256", ed_kid.clone(), rsa_kid.clone()),
    ];
    for (alg, kid, signer) in swaps {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
        let token = issuer
            .mint_with_key(&signer, header, claims.clone())
            .unwrap();
        assert_eq!(
            validator.validate(&token).await.unwrap_err(),
            AuthError::KeyAlgorithmMismatch,
            "{alg} with kid of another key type"
        );
    }
    // Each added key does verify its own algorithm.
    for (alg, kid) in [
        ("RS256", rsa_kid.clone()),
        ("PS256", rsa_kid),
        ("EdDSA", ed_kid),
    ] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
        let token = issuer.mint_with_key(&kid, header, claims.clone()).unwrap();
        if alg == "PS256" {
            // The dev RSA key signs PKCS#1 v1.5: a PS256 header over it must fail the signature.
            assert_eq!(
                validator.validate(&token).await.unwrap_err(),
                AuthError::BadSignature
            );
        } else {
            validator.validate(&token).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_token_without_kid_tries_each_key_of_its_algorithm() {
    let issuer = issuer(SigningAlgorithm::ES384).await;
    let validator = pinned(&issuer);
    let header = json!({ "alg": "ES384", "typ": "at+jwt" });
    let token = issuer.mint_with_header(header.clone(), issuer.claims("a", RESOURCE, ""));
    validator.validate(&token).await.unwrap();

    // Two keys of the algorithm: no single key, yet the one that signed verifies it.
    let second = issuer.add_key(SigningAlgorithm::ES384).unwrap();
    let two_keys = pinned(&issuer);
    let token = issuer.mint_with_header(header.clone(), issuer.claims("b", RESOURCE, ""));
    let by_second = issuer
        .mint_with_key(&second, header, issuer.claims("c", RESOURCE, ""))
        .unwrap();
    for token in [token, by_second] {
        two_keys.validate(&token).await.unwrap();
    }
}

#[test]
fn key_debug_output_shows_no_key_material() {
    let jwk: Value = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": b64(&[9; 32]) });
    let key = VerificationKey::from_jwk(&jwk).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("k1") && !debug.contains(&b64(&[9; 32])));
}
