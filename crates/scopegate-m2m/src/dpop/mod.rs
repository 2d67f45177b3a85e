//! DPoP (RFC 9449), the client side: proofs of possession of a key, which bind the access token
//! to that key so that a stolen token is useless without it.
//!
//! Give the token source a [`DpopKey`] with
//! [`ClientCredentialsBuilder::dpop`](crate::ClientCredentialsBuilder::dpop), and then:
//! - every token request carries a proof (RFC 9449 §5); a server that issues a bound token
//!   answers `token_type: DPoP`, and the token goes out as `Authorization: DPoP <token>`
//!   (a server without DPoP answers `Bearer`, which is used as before);
//! - a token endpoint's `400 use_dpop_nonce` with a `DPoP-Nonce` header is retried once with
//!   that nonce (§8);
//! - every API call through [`send`](crate::ClientCredentials::send) or the tower layer carries
//!   a fresh proof for its method and URL, with `ath` (the token's hash, §4.2) and the nonce
//!   that origin last sent in `DPoP-Nonce`; a `401` with `error="use_dpop_nonce"` is retried
//!   once with the new nonce, without dropping the token (§9).
//!
//! ```no_run
//! use scopegate_m2m::{ClientCredentials, DpopKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = ClientCredentials::logto("https://tenant.logto.app", "app-id", "app-secret")
//!     .resource("https://api.example.com")
//!     .dpop(DpopKey::generate()?) // ES256; or DpopKey::from_pkcs8_pem(..) for your own key
//!     .build()?;
//! let response = source.send(reqwest::Client::new().get("https://api.example.com/products")).await?;
//! # Ok(()) }
//! ```
//!
//! The key is created or loaded by the crate's crypto backend (`aws-lc-rs`, the default, or
//! `rust-crypto`); proofs are ES256 or ES384 (RFC 7518 §3.4).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use url::Url;

mod backend;

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Longest nonce kept; a server's nonce is an opaque, short string.
const MAX_NONCE_LEN: usize = 1024;
/// Origins whose nonce is remembered; past it the memory starts over (a nonce missed only costs
/// one `use_dpop_nonce` round trip).
const MAX_NONCE_ORIGINS: usize = 64;

/// A proof's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopAlgorithm {
    /// ECDSA on P-256 with SHA-256, the algorithm every DPoP server supports; the default.
    #[default]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl DpopAlgorithm {
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            DpopAlgorithm::Es256 => "ES256",
            DpopAlgorithm::Es384 => "ES384",
        }
    }

    fn curve(self) -> &'static str {
        match self {
            DpopAlgorithm::Es256 => "P-256",
            DpopAlgorithm::Es384 => "P-384",
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            DpopAlgorithm::Es256 => 32,
            DpopAlgorithm::Es384 => 48,
        }
    }
}

/// A DPoP key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The crypto backend could not generate a key or random bytes.
    #[error("the crypto backend could not generate a DPoP key or random bytes")]
    KeyGeneration,
    /// The key is not a PKCS#8 private key of the algorithm's curve.
    #[error("not a PKCS#8 EC private key for the chosen DPoP algorithm")]
    InvalidKey,
    /// The PEM text holds no `PRIVATE KEY` block.
    #[error("no PEM `PRIVATE KEY` block")]
    Pem,
    /// The crypto backend failed to sign a proof.
    #[error("the crypto backend could not sign a DPoP proof")]
    Signing,
}

/// The private key that DPoP proofs are signed with. Cheap to clone; its `Debug` output shows
/// the algorithm and the public key's thumbprint, never the private key.
#[derive(Clone)]
pub struct DpopKey(Arc<KeyData>);

struct KeyData {
    algorithm: DpopAlgorithm,
    key: backend::SigningKey,
    jwk: Value,
    thumbprint: String,
    /// base64url of the proof header, which is the same for every proof of this key.
    header: String,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("algorithm", &self.0.algorithm)
            .field("thumbprint", &self.0.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A new ES256 key, made by the crypto backend; it lives as long as the process.
    pub fn generate() -> Result<DpopKey, DpopError> {
        DpopKey::generate_for(DpopAlgorithm::Es256)
    }

    /// A new key for `algorithm`.
    pub fn generate_for(algorithm: DpopAlgorithm) -> Result<DpopKey, DpopError> {
        DpopKey::new(algorithm, backend::SigningKey::generate(algorithm)?)
    }

    /// Your key, as PKCS#8 DER (RFC 5958) of an EC private key on `algorithm`'s curve.
    pub fn from_pkcs8_der(algorithm: DpopAlgorithm, der: &[u8]) -> Result<DpopKey, DpopError> {
        DpopKey::new(algorithm, backend::SigningKey::from_pkcs8(algorithm, der)?)
    }

    /// Your key, as a PEM `-----BEGIN PRIVATE KEY-----` block (PKCS#8, as `openssl genpkey`
    /// writes it).
    ///
    /// ```
    /// # fn main() -> Result<(), scopegate_m2m::DpopError> {
    /// use scopegate_m2m::{DpopAlgorithm, DpopKey};
    /// let pem = "-----BEGIN PRIVATE KEY-----
    /// MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQhBQxmW/Xsc6Cv+g
    /// n83/JxTh1FMYMpifpzeySE01/rGhRANCAATunOiN8016zqvdZj4pHXrxfE+mH0Gx
    /// HzVwHx1ManGXg0D4xSGpaGUOxgKOjRyIYXflz0oRgiJscTy+J0LVub8x
    /// -----END PRIVATE KEY-----";
    /// let key = DpopKey::from_pkcs8_pem(DpopAlgorithm::Es256, pem)?;
    /// assert_eq!(key.thumbprint(), "FhfVkf6YPUE7prHY6UrDJgWLyTGGL80xL1c9L7t_FxE");
    /// # Ok(()) }
    /// ```
    pub fn from_pkcs8_pem(algorithm: DpopAlgorithm, pem: &str) -> Result<DpopKey, DpopError> {
        let body = pem
            .split_once("-----BEGIN PRIVATE KEY-----")
            .and_then(|(_, rest)| rest.split_once("-----END PRIVATE KEY-----"))
            .map(|(body, _)| body)
            .ok_or(DpopError::Pem)?;
        let text: String = body.split_whitespace().collect();
        let der = STANDARD.decode(text).map_err(|_| DpopError::Pem)?;
        DpopKey::from_pkcs8_der(algorithm, &der)
    }

    fn new(algorithm: DpopAlgorithm, key: backend::SigningKey) -> Result<DpopKey, DpopError> {
        let point = key.public_point();
        let (x, y) = backend::coordinates(algorithm, &point)?;
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        // RFC 7638 §3.2: an EC key's required members, in order. scopegate checks bound tokens
        // with the same function, so signer and checker cannot disagree on the canonical form.
        let thumbprint = scopegate_http::dpop::jwk_thumbprint(&[
            ("crv", algorithm.curve()),
            ("kty", "EC"),
            ("x", &x),
            ("y", &y),
        ])
        .ok_or(DpopError::InvalidKey)?;
        // RFC 9449 §4.2: the public key only, never a private member.
        let jwk = json!({ "kty": "EC", "crv": algorithm.curve(), "x": x, "y": y });
        let header = json!({ "typ": "dpop+jwt", "alg": algorithm.as_str(), "jwk": jwk });
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(DpopKey(Arc::new(KeyData {
            algorithm,
            key,
            jwk,
            thumbprint,
            header,
        })))
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> DpopAlgorithm {
        self.0.algorithm
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`), as it goes in every proof's header.
    pub fn public_jwk(&self) -> &Value {
        &self.0.jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key: what a bound token carries as
    /// `cnf.jkt` (RFC 9449 §6.1).
    pub fn thumbprint(&self) -> &str {
        &self.0.thumbprint
    }

    /// A fresh proof (RFC 9449 §4.2) for a request of `method` to `url` (its query and fragment
    /// are left out of `htu`), with `ath` when `access_token` is given and the server's `nonce`.
    /// The token source makes these for you; this is for requests sent otherwise.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, DpopError> {
        let ath = access_token.map(access_token_hash);
        self.sign_proof(method, url, ath.as_deref(), nonce)
    }

    pub(crate) fn sign_proof(
        &self,
        method: &str,
        url: &Url,
        ath: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, DpopError> {
        let mut jti = [0u8; 16];
        backend::random(&mut jti)?;
        // `iat` is a timestamp the server judges, not a decision of ours: the wall clock it is.
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut claims = Map::new();
        claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(jti).into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu(url).into());
        claims.insert("iat".into(), iat.into());
        if let Some(ath) = ath {
            claims.insert("ath".into(), ath.into());
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string());
        let signing_input = format!("{}.{payload}", self.0.header);
        let signature = self.0.key.sign(signing_input.as_bytes())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// `ath`: base64url(SHA-256(the access token)) (RFC 9449 §4.2).
pub(crate) fn access_token_hash(token: &str) -> String {
    scopegate_http::dpop::access_token_hash(token)
}

/// `htu`: the URL without query and fragment (RFC 9449 §4.2); `url` has already lowercased the
/// scheme and host and dropped a default port (RFC 3986 §6.2.2–6.2.3). User info is left out
/// too: it is not part of the target.
pub(crate) fn htu(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// The key and the nonces servers gave it: the DPoP state of one token source.
pub(crate) struct Dpop {
    pub(crate) key: DpopKey,
    /// The last `DPoP-Nonce` per origin (the token endpoint's and each API's are independent,
    /// RFC 9449 §8 and §9).
    nonces: Mutex<HashMap<String, Arc<str>>>,
}

impl Dpop {
    pub(crate) fn new(key: DpopKey) -> Dpop {
        Dpop {
            key,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// A proof for `method url` with the origin's current nonce, as a header value.
    pub(crate) fn header(
        &self,
        method: &str,
        url: &Url,
        ath: Option<&str>,
    ) -> Result<HeaderValue, DpopError> {
        let nonce = self.nonce(url);
        let proof = self.key.sign_proof(method, url, ath, nonce.as_deref())?;
        // Only base64url and dots: always a valid header value.
        HeaderValue::try_from(proof).map_err(|_| DpopError::Signing)
    }

    fn nonce(&self, url: &Url) -> Option<Arc<str>> {
        let nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        nonces.get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the `DPoP-Nonce` of an answer from `url`'s origin; true when it is new.
    pub(crate) fn remember(&self, url: &Url, headers: &HeaderMap) -> bool {
        let Some(nonce) = headers.get(DPOP_NONCE).and_then(valid_nonce) else {
            return false;
        };
        let origin = url.origin().ascii_serialization();
        let mut nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        if nonces.get(&origin).is_some_and(|known| **known == *nonce) {
            return false;
        }
        if nonces.len() >= MAX_NONCE_ORIGINS && !nonces.contains_key(&origin) {
            nonces.clear();
        }
        nonces.insert(origin, nonce.into());
        true
    }
}

/// RFC 9449 §8.1: `nonce = 1*NQCHAR`; anything else is not a nonce and is ignored.
fn valid_nonce(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let nqchar = |b: &u8| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E);
    (!bytes.is_empty() && bytes.len() <= MAX_NONCE_LEN && bytes.iter().all(nqchar))
        .then(|| value.to_str().ok())
        .flatten()
}

/// Whether an API's 401 asks for a nonce: `error="use_dpop_nonce"`, a code only the `DPoP`
/// challenge has (RFC 9449 §9), whether it comes alone or after a `Bearer` challenge.
pub(crate) fn asks_for_nonce(headers: &HeaderMap) -> bool {
    const CODE: &[u8] = b"error=\"use_dpop_nonce\"";
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .any(|value| value.as_bytes().windows(CODE.len()).any(|w| w == CODE))
}

#[cfg(test)]
mod tests;
