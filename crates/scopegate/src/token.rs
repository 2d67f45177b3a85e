//! Finding the bearer token in a request (RFC 6750 §2.1).
//!
//! Only the `Authorization` header is read by default: tokens in query strings end up in logs and
//! caches, and tokens in form bodies force the body to be read (RFC 6750 §2.2, §2.3, §5.3).

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, HeaderName};

use crate::error::{AuthError, RequestProblem};

/// Extracts the token of an `Authorization: Bearer <token>` header.
///
/// * no header: [`AuthError::MissingToken`];
/// * several headers, another scheme, no token or several, characters outside RFC 6750's
///   `b64token`: [`AuthError::InvalidRequest`].
///
/// The scheme is matched case-insensitively (RFC 9110 §11.1); surrounding whitespace is ignored.
///
/// ```
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", "bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln".parse().unwrap());
/// assert_eq!(scopegate::token::bearer_token(&headers), Ok("eyJhbGciOiJFUzM4NCJ9.e30.c2ln"));
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    match authorization(headers)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(AuthError::InvalidRequest(RequestProblem::WrongScheme)),
    }
}

/// The scheme of an `Authorization` header scopegate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1): the token comes with a proof in the `DPoP` header.
    Dpop,
}

/// The scheme and token of the one `Authorization` header: `Bearer` or `DPoP`, both followed by
/// one token of the `b64token` syntax (RFC 6750 §2.1, RFC 9449 §7.1).
pub fn authorization(headers: &HeaderMap) -> Result<(Scheme, &str), AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::MissingToken)?;
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(RequestProblem::SeveralHeaders));
    }
    // from_utf8 has a fast path for ASCII; anything non-ASCII fails the b64token check anyway.
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| AuthError::InvalidRequest(RequestProblem::InvalidCharacters))?;
    parse_authorization(value)
}

/// Parses `Bearer <token>` (the value of an `Authorization` header).
pub fn parse_credentials(value: &str) -> Result<&str, AuthError> {
    match parse_authorization(value)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(AuthError::InvalidRequest(RequestProblem::WrongScheme)),
    }
}

/// The `Bearer` token of the one `Authorization` header, as bytes, its characters not checked
/// yet: the layer looks it up in the verified-token cache first, which holds checked tokens only,
/// and takes the checked path ([`locate_token`]) for anything else. Only the spelling clients
/// send, `Bearer` (any case) and one space, is taken here: a hit must equal a cached token byte
/// for byte, so any other spelling misses and the checked path trims and parses it.
pub(crate) fn unchecked_bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.as_bytes().split_at_checked(BEARER_PREFIX.len())?;
    scheme.eq_ignore_ascii_case(BEARER_PREFIX).then_some(token)
}

/// What precedes the token in the usual spelling of RFC 6750 §2.1's header.
const BEARER_PREFIX: &[u8] = b"bearer ";

fn parse_authorization(value: &str) -> Result<(Scheme, &str), AuthError> {
    let (scheme, token) = split_authorization(value)?;
    check_b64token(token)?;
    Ok((scheme, token))
}

/// The scheme and the token after it, the token's characters unchecked.
fn split_authorization(value: &str) -> Result<(Scheme, &str), AuthError> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(AuthError::InvalidRequest(RequestProblem::WrongScheme));
    };
    // RFC 6750: `"Bearer" 1*SP b64token`; RFC 9449 §7.1: the same for `DPoP`.
    Ok((scheme, rest.trim_start_matches(' ')))
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn check_b64token(token: &str) -> Result<(), AuthError> {
    if token.is_empty() {
        return Err(AuthError::InvalidRequest(RequestProblem::NotOneToken));
    }
    let body = token.trim_end_matches('=');
    if body.is_empty() {
        return Err(AuthError::InvalidRequest(RequestProblem::InvalidCharacters));
    }
    if all_b64token_bytes(body.as_bytes()) {
        return Ok(());
    }
    if body.bytes().any(|byte| byte == b' ' || byte == b'\t') {
        Err(AuthError::InvalidRequest(RequestProblem::NotOneToken))
    } else {
        Err(AuthError::InvalidRequest(RequestProblem::InvalidCharacters))
    }
}

/// Whether every byte is a `b64token` character. This runs on every request, over the whole
/// token: in blocks of 32 with no early exit and no branch per byte, so the compiler checks a
/// block in a few vector instructions (a third of the instructions of a byte-by-byte fold).
fn all_b64token_bytes(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(32);
    let mut bad = 0u8;
    for block in &mut blocks {
        for &byte in block {
            bad |= u8::from(!is_b64token_byte(byte));
        }
    }
    for &byte in blocks.remainder() {
        bad |= u8::from(!is_b64token_byte(byte));
    }
    bad == 0
}

#[inline(always)]
fn is_b64token_byte(byte: u8) -> bool {
    // `-./0-9` are one run (0x2D-0x39); lower-casing by `| 0x20` maps only letters into a-z.
    (byte.wrapping_sub(b'-') < 13)
        | ((byte | 0x20).wrapping_sub(b'a') < 26)
        | (byte == b'_')
        | (byte == b'~')
        | (byte == b'+')
}

/// A place a token may be found in, besides the `Authorization` header (which is always read).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenLocation {
    /// The value of a named cookie (e.g. for browser clients of a backend-for-frontend).
    Cookie(String),
    /// The whole value of a custom header (e.g. `X-Access-Token`), without a scheme.
    Header(HeaderName),
}

/// Finds the one bearer token of a request in the `Authorization` header and the extra
/// locations. A token in two places is [`RequestProblem::SeveralPlaces`] (RFC 6750 §2).
pub fn find_token<'h>(
    headers: &'h HeaderMap,
    extra: &[TokenLocation],
) -> Result<&'h str, AuthError> {
    match locate_token(headers, extra)? {
        (token, _, Scheme::Bearer) => Ok(token),
        (_, _, Scheme::Dpop) => Err(AuthError::InvalidRequest(RequestProblem::WrongScheme)),
    }
}

/// [`find_token`], also saying which extra location held the token (`None`: the `Authorization`
/// header) and with which scheme (`Bearer` for the extra locations).
pub(crate) fn locate_token<'h, 'l>(
    headers: &'h HeaderMap,
    extra: &'l [TokenLocation],
) -> Result<(&'h str, Option<&'l TokenLocation>, Scheme), AuthError> {
    let mut found = match authorization(headers) {
        Ok((scheme, token)) => Some((token, None, scheme)),
        Err(AuthError::MissingToken) => None,
        Err(other) => return Err(other),
    };
    for location in extra {
        let token = match location {
            TokenLocation::Cookie(name) => cookie_token(headers, name)?,
            TokenLocation::Header(name) => header_token(headers, name)?,
        };
        if let Some(token) = token {
            if found.is_some() {
                return Err(AuthError::InvalidRequest(RequestProblem::SeveralPlaces));
            }
            found = Some((token, Some(location), Scheme::Bearer));
        }
    }
    found.ok_or(AuthError::MissingToken)
}

fn header_token<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(RequestProblem::SeveralHeaders));
    }
    let token = value
        .to_str()
        .map_err(|_| AuthError::InvalidRequest(RequestProblem::InvalidCharacters))?
        .trim_matches([' ', '\t']);
    check_b64token(token)?;
    Ok(Some(token))
}

fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue; // other cookies' bytes are not ours to judge
        };
        for pair in header.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key != name {
                continue;
            }
            if found.is_some() {
                return Err(AuthError::InvalidRequest(RequestProblem::SeveralPlaces));
            }
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            check_b64token(value)?;
            found = Some(value);
        }
    }
    Ok(found)
}

/// The shape of a bearer token, which decides how it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A JWS in compact form (RFC 7515 §7.1): three segments separated by two dots. Validated
    /// locally (signature, claims).
    Jwt,
    /// Anything else: a handle only the authorization server can resolve, by introspection
    /// ([`introspect`](crate::introspect)).
    Opaque,
}

impl TokenKind {
    /// The kind of `token` (the bare token, without `Bearer `).
    ///
    /// ```
    /// use scopegate::token::TokenKind;
    /// assert_eq!(TokenKind::of("eyJhbGciOiJFUzM4NCJ9.e30.c2ln"), TokenKind::Jwt);
    /// assert_eq!(TokenKind::of("ek3Fd9AZcqlJ2bVHsvG0bU4bP6Zxd3q8Dz6qzXJ8m4s"), TokenKind::Opaque);
    /// ```
    pub fn of(token: &str) -> TokenKind {
        if token.bytes().filter(|b| *b == b'.').count() == 2 {
            TokenKind::Jwt
        } else {
            TokenKind::Opaque
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn the_b64token_check_is_rfc_6750s_alphabet_at_every_position() {
        let spec = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
        for byte in 0..=u8::MAX {
            assert_eq!(is_b64token_byte(byte), spec(byte), "byte {byte:#04x}");
            // In a 32-byte block and in the remainder, first and last.
            for at in [0, 31, 32, 40] {
                let mut bytes = vec![b'a'; 41];
                bytes[at] = byte;
                assert_eq!(
                    all_b64token_bytes(&bytes),
                    spec(byte),
                    "{byte:#04x} at {at}"
                );
            }
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn problem(values: &[&str]) -> AuthError {
        bearer_token(&headers(values)).unwrap_err()
    }

    #[test]
    fn accepts_well_formed_bearer_credentials() {
        for (value, token) in [
            ("Bearer abc.def.ghi", "abc.def.ghi"),
            ("bearer abc", "abc"),
            ("BEARER   abc", "abc"),
            ("  Bearer abc  ", "abc"),
            ("Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="),
        ] {
            assert_eq!(bearer_token(&headers(&[value])), Ok(token), "{value}");
        }
    }

    #[test]
    fn refuses_malformed_credentials() {
        use RequestProblem::*;
        assert_eq!(
            bearer_token(&HeaderMap::new()),
            Err(AuthError::MissingToken)
        );
        assert_eq!(
            problem(&["Bearer a", "Bearer b"]),
            AuthError::InvalidRequest(SeveralHeaders)
        );
        assert_eq!(
            problem(&["Basic dXNlcjpwYXNz"]),
            AuthError::InvalidRequest(WrongScheme)
        );
        assert_eq!(problem(&["Bearer"]), AuthError::InvalidRequest(NotOneToken));
        assert_eq!(
            problem(&["Bearer a b"]),
            AuthError::InvalidRequest(NotOneToken)
        );
        assert_eq!(
            problem(&["Bearer a,b"]),
            AuthError::InvalidRequest(InvalidCharacters)
        );
        assert_eq!(
            problem(&["Bearer ==="]),
            AuthError::InvalidRequest(InvalidCharacters)
        );
        assert_eq!(
            problem(&["Bearer a=b"]),
            AuthError::InvalidRequest(InvalidCharacters)
        );
        assert_eq!(
            problem(&["Bearerabc"]),
            AuthError::InvalidRequest(WrongScheme)
        );
        let mut map = HeaderMap::new();
        map.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(
            bearer_token(&map),
            Err(AuthError::InvalidRequest(InvalidCharacters))
        );
    }

    #[test]
    fn extra_locations() {
        let cookie = TokenLocation::Cookie("access_token".into());
        let custom = TokenLocation::Header(HeaderName::from_static("x-access-token"));
        let mut map = HeaderMap::new();
        map.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; access_token=abc.def.ghi"),
        );
        assert_eq!(
            find_token(&map, std::slice::from_ref(&cookie)),
            Ok("abc.def.ghi")
        );
        assert_eq!(find_token(&map, &[]), Err(AuthError::MissingToken));
        map.insert("x-access-token", HeaderValue::from_static("xyz"));
        assert_eq!(
            find_token(&map, &[cookie.clone(), custom.clone()]),
            Err(AuthError::InvalidRequest(RequestProblem::SeveralPlaces))
        );
        map.remove(COOKIE);
        assert_eq!(find_token(&map, &[cookie, custom]), Ok("xyz"));
    }
}
