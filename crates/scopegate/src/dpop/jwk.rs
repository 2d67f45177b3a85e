//! The proof's `jwk` header: a public key only, and its RFC 7638 thumbprint.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ProofProblem;
use crate::jwks::VerificationKey;

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037
/// §2). A proof carrying any of them is refused: the client leaked its key (RFC 9449 §4.3).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The public key of a proof and its thumbprint.
pub(super) struct ProofKey {
    pub(super) key: VerificationKey,
    pub(super) thumbprint: String,
}

/// Reads the `jwk` header of a proof: refused when absent, private, or not a key scopegate can
/// verify with (the same rules as a JWKS key: curve, RSA size, `use`, `alg`).
pub(super) fn proof_key(header: &Map<String, Value>) -> Result<ProofKey, ProofProblem> {
    let jwk = header.get("jwk").ok_or(ProofProblem::BadKey)?;
    let members = jwk.as_object().ok_or(ProofProblem::BadKey)?;
    if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
        return Err(ProofProblem::PrivateKey);
    }
    let key = VerificationKey::from_jwk(jwk).map_err(|_| ProofProblem::BadKey)?;
    let thumbprint = thumbprint(members).ok_or(ProofProblem::BadKey)?;
    Ok(ProofKey { key, thumbprint })
}

/// The RFC 7638 JWK SHA-256 thumbprint, base64url: the value of `cnf.jkt` (RFC 9449 §6.1).
///
/// `None` for a key type without registered required members (RFC 7638 §3.2), or when one of
/// them is missing or not a string.
///
/// ```
/// // RFC 7638 §3.1's example key and thumbprint.
/// let jwk = serde_json::json!({
///     "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
/// });
/// assert_eq!(
///     scopegate::dpop::jwk_thumbprint(&jwk).as_deref(),
///     Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
/// );
/// ```
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    thumbprint(jwk.as_object()?)
}

fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let required: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    // RFC 7638 §3: the required members only, in lexicographic order, no whitespace. Their
    // values are base64url or fixed names, so they need no JSON escaping; anything else is
    // refused rather than escaped, as no valid key has it.
    let mut canonical = String::with_capacity(256);
    canonical.push('{');
    for (i, name) in required.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(canonical, "{sep}\"{name}\":\"{value}\"");
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// base64url(SHA-256(access token)): the `ath` claim (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}
