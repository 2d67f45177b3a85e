//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` or `client_secret_post`, never both. Apart from the endpoints because all
//! three share it, and the secret comparison belongs in one place.

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::OAuthRefusal;
use super::token::TokenRequest;
use crate::State;

/// The client authentication methods of the token endpoint (RFC 6749 §2.3.1), both implemented
/// by [`client_credentials`].
pub(crate) const TOKEN_ENDPOINT_AUTH_METHODS: [&str; 2] =
    ["client_secret_basic", "client_secret_post"];

/// The client's id and secret, from HTTP Basic (`client_secret_basic`) or the form
/// (`client_secret_post`), RFC 6749 §2.3.1; a request using both is refused, as that section
/// requires.
pub(super) fn client_credentials(
    headers: &HeaderMap,
    request: &mut TokenRequest,
) -> Result<(String, String), (StatusCode, &'static str, &'static str)> {
    let in_form = (request.client_id.take(), request.client_secret.take());
    let basic = headers.contains_key(header::AUTHORIZATION);
    match (basic, in_form) {
        (true, (None, None)) => basic_credentials(headers).ok_or((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed HTTP Basic client authentication",
        )),
        (true, _) => Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one client authentication method",
        )),
        (false, (Some(id), Some(secret))) => Ok((id, secret)),
        (false, _) => Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required (client_secret_basic or client_secret_post)",
        )),
    }
}

/// The registered client with this id and secret, or the `invalid_client` refusal.
pub(super) fn registered_client<'s>(
    state: &'s State,
    id: &str,
    secret: &str,
) -> Result<&'s crate::DevClient, OAuthRefusal> {
    let client = state.clients.iter().find(|c| c.id == id);
    client
        .filter(|c| constant_time_eq(c.secret.as_bytes(), secret.as_bytes()))
        .ok_or(OAuthRefusal {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed",
        })
}

/// The id of the client that authenticated by `client_secret_basic` or `client_secret_post`
/// (RFC 6749 §2.3.1; not both, §2.3), or the refusal.
pub(crate) fn authenticate_client(
    state: &State,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<String, OAuthRefusal> {
    let field = |name: &str| {
        let mut values = form.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.clone()),
            _ => None,
        }
    };
    let posted = field("client_id").zip(field("client_secret"));
    let (id, secret) = match (basic_credentials(headers), posted) {
        (Some(basic), None) => basic,
        (None, Some(posted)) => posted,
        _ => {
            return Err(OAuthRefusal {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "exactly one client authentication method is required",
            });
        }
    };
    registered_client(state, &id, &secret).map(|c| c.id.clone())
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
