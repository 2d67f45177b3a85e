//! JOSE parsing: a compact JWS split into its segments and its header and payload decoded as
//! strict JSON, before anything about it is trusted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::error::{AuthError, TokenProblem};
use crate::json;

/// A token split and decoded, not yet verified.
pub(crate) struct ParsedToken<'t> {
    pub(super) signing_input: &'t str,
    pub(super) signature: &'t str,
    pub(super) alg: Algorithm,
    pub(super) kid: Option<String>,
    pub(super) typ: Option<String>,
    pub(super) claims: Map<String, Value>,
    /// The JSON text `claims` was parsed from (the decoded payload).
    pub(super) payload: Box<str>,
}

impl<'t> ParsedToken<'t> {
    /// Splits `token` into its three segments and decodes header and payload (RFC 7515 §7.1),
    /// refusing anything that is not a compact JWS of strict JSON.
    pub(super) fn parse(token: &'t str) -> Result<ParsedToken<'t>, AuthError> {
        let malformed = AuthError::MalformedToken;
        let mut dots = token.match_indices('.').map(|(i, _)| i);
        let (first, second) = match (dots.next(), dots.next(), dots.next()) {
            (Some(first), Some(second), None) => (first, second),
            (Some(_), Some(_), Some(_)) if token.split('.').count() == 5 => {
                return Err(malformed(TokenProblem::Encrypted));
            }
            _ => return Err(malformed(TokenProblem::NotJws)),
        };
        let (_, header) = decode_json(&token[..first])?;
        let payload = &token[first + 1..second];

        let text = |name: &str| -> Result<Option<String>, AuthError> {
            match header.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(malformed(TokenProblem::Header)),
            }
        };
        let alg = text("alg")?.ok_or(malformed(TokenProblem::Header))?;
        let alg: Algorithm = alg.parse().map_err(|_| AuthError::DisallowedAlgorithm)?;
        // RFC 7515 §4.1.11: an extension we do not implement must not be ignored. We implement
        // none, so any `crit` refuses the token; `b64: false` (RFC 7797) changes what is signed.
        if header.contains_key("crit") || header.get("b64").is_some_and(|b| b != &Value::Bool(true))
        {
            return Err(AuthError::UnsupportedHeader);
        }
        let kid = text("kid")?;
        let typ = text("typ")?;
        // `jku`, `x5u`, `jwk` and `x5c` are deliberately never read: keys come from the
        // configured source only.
        let (payload, claims) = decode_json(payload)?;
        Ok(ParsedToken {
            signing_input: &token[..second],
            signature: &token[second + 1..],
            alg,
            kid,
            typ,
            claims,
            payload,
        })
    }
}

/// One base64url segment (RFC 7515 §2: no padding) holding one strict JSON object: its text
/// and the object.
fn decode_json(segment: &str) -> Result<(Box<str>, Map<String, Value>), AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::MalformedToken(TokenProblem::Base64))?;
    let object =
        json::parse_object(&bytes).map_err(|_| AuthError::MalformedToken(TokenProblem::Json))?;
    // JSON that parsed is UTF-8 (RFC 8259 §8.1): this never refuses a token that parsed.
    let text =
        String::from_utf8(bytes).map_err(|_| AuthError::MalformedToken(TokenProblem::Json))?;
    Ok((text.into_boxed_str(), object))
}
