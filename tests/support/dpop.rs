//! DPoP proofs crafted by hand (RFC 9449 §4.2): good ones, and every malformed kind, with no
//! client library. The key is an ES256 (or RSA) key pair of aws-lc-rs.

use aws_lc_rs::encoding::{AsBigEndian as _, EcPrivateKeyBin};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// A client's proof key.
pub struct ProofKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKey")
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

impl Default for ProofKey {
    fn default() -> Self {
        ProofKey::generate()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl ProofKey {
    /// A new P-256 key.
    pub fn generate() -> ProofKey {
        ProofKey {
            pair: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public JWK.
    pub fn public_jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        })
    }

    /// The JWK with its private scalar `d`: what a careless client would leak.
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        let d: EcPrivateKeyBin<'_> = self.pair.private_key().as_be_bytes().unwrap();
        jwk["d"] = json!(b64(d.as_ref()));
        jwk
    }

    /// The RFC 7638 thumbprint: the token's `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        scopegate::dpop::jwk_thumbprint(&self.public_jwk()).unwrap()
    }

    /// A good proof for `method` `htu`, bound to `token` (`ath`), issued now, with a fresh `jti`.
    pub fn proof(&self, method: &str, htu: &str, token: Option<&str>) -> String {
        Proof::new(self, method, htu, token).sign()
    }

    /// Signs `header.claims` with this key (ES256), whatever they say.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }
}

/// A proof being made: the header and claims, to be changed before signing.
#[derive(Debug)]
pub struct Proof<'k> {
    key: &'k ProofKey,
    /// The JOSE header (`typ`, `alg`, `jwk`).
    pub header: Value,
    /// The claims (`jti`, `htm`, `htu`, `iat`, `ath`).
    pub claims: Value,
}

impl<'k> Proof<'k> {
    /// A good proof, unsigned yet.
    pub fn new(key: &'k ProofKey, method: &str, htu: &str, token: Option<&str>) -> Proof<'k> {
        let mut claims = json!({
            "jti": random_jti(),
            "htm": method,
            "htu": htu,
            "iat": scopegate_dev::unix_now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(scopegate::dpop::access_token_hash(token));
        }
        Proof {
            key,
            header: json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk() }),
            claims,
        }
    }

    /// Sets a claim (`Value::Null` removes it).
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        set(&mut self.claims, name, value);
        self
    }

    /// Sets a header member (`Value::Null` removes it).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        set(&mut self.header, name, value);
        self
    }

    /// Signed with the key.
    pub fn sign(&self) -> String {
        self.key.sign(&self.header, &self.claims)
    }

    /// Header and claims with no signature at all (`alg: none`).
    pub fn unsigned(&self) -> String {
        format!(
            "{}.{}.",
            b64(self.header.to_string().as_bytes()),
            b64(self.claims.to_string().as_bytes())
        )
    }

    /// Signed with HMAC-SHA256 under `secret` (for `alg: HS256`).
    pub fn sign_hmac(&self, secret: &[u8]) -> String {
        scopegate_dev::sign_hmac(secret, &self.header, &self.claims)
    }
}

fn set(object: &mut Value, name: &str, value: Value) {
    let map = object.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
}

/// 128 random bits, base64url.
pub fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    b64(&bytes)
}

/// The last segment (the signature) with one bit flipped.
pub fn corrupt_signature(proof: &str) -> String {
    let (head, signature) = proof.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[0] ^= 1;
    format!("{head}.{}", b64(&bytes))
}
