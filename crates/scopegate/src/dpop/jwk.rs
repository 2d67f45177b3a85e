//! The proof's `jwk` header: a public key only, and its RFC 7638 thumbprint.

use serde_json::{Map, Value};

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
    // RFC 7638 §3.2: each key type's required members, in lexicographic order.
    let required: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut members = [("", ""); 4];
    for (slot, name) in members.iter_mut().zip(required) {
        *slot = (*name, jwk.get(*name)?.as_str()?);
    }
    // The signer (scopegate-m2m) hashes with the same function: one canonical form.
    scopegate_http::dpop::jwk_thumbprint(&members[..required.len()])
}

/// base64url(SHA-256(access token)): the `ath` claim (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    scopegate_http::dpop::access_token_hash(access_token)
}
