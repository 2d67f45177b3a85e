//! The two DPoP hashes (RFC 9449) that a proof's signer (scopegate-m2m) and its checker
//! (scopegate) must compute byte for byte alike, or a bound token never matches its key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The RFC 7638 SHA-256 thumbprint, base64url, of a JWK given by its required members (RFC
/// 7638 §3.2: `crv`, `kty`, `x`, `y` for EC; `e`, `kty`, `n` for RSA; `crv`, `kty`, `x` for
/// OKP), in lexicographic order of their names. That is the value of `cnf.jkt` (RFC 9449 §6.1).
///
/// `None` when the names are not in order or a value holds anything but base64url characters:
/// valid keys have only those, so the canonical JSON needs no escaping, and anything else is
/// refused rather than escaped.
///
/// ```
/// // RFC 7638 §3.1's example key and thumbprint.
/// let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
/// assert_eq!(
///     scopegate_http::dpop::jwk_thumbprint(&[("e", "AQAB"), ("kty", "RSA"), ("n", n)]).as_deref(),
///     Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
/// );
/// ```
pub fn jwk_thumbprint(required_members: &[(&str, &str)]) -> Option<String> {
    // RFC 7638 §3: the required members only, in lexicographic order, no whitespace.
    if !required_members.windows(2).all(|w| w[0].0 < w[1].0) {
        return None;
    }
    let mut canonical = String::with_capacity(256);
    canonical.push('{');
    for (i, (name, value)) in required_members.iter().enumerate() {
        let plain = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !plain(name) || !plain(value) {
            return None;
        }
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(canonical, "{sep}\"{name}\":\"{value}\"");
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// base64url(SHA-256(access token)): a proof's `ath` claim (RFC 9449 §4.2).
///
/// ```
/// assert_eq!(
///     scopegate_http::dpop::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::jwk_thumbprint;

    #[test]
    fn members_out_of_order_or_with_json_specials_have_no_thumbprint() {
        assert!(jwk_thumbprint(&[("kty", "EC"), ("crv", "P-256")]).is_none());
        assert!(jwk_thumbprint(&[("crv", "P-256"), ("kty", "E\"C")]).is_none());
        assert!(jwk_thumbprint(&[("crv", "P-256"), ("kty", "EC")]).is_some());
    }
}
