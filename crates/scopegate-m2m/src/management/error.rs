//! [`ManagementError`]: why a Management API call failed, read from the refusal.
//!
//! A refusal is read the RFC 6750 way first (the `WWW-Authenticate: Bearer` challenge: `error`,
//! `error_description`, and for 403 `scope`, the missing permission), then the Logto way (a JSON
//! body `{"code": "auth.forbidden", "message": ...}` and no challenge).

use http::{HeaderMap, StatusCode, header::WWW_AUTHENTICATE};
use serde_json::Value;

use crate::TokenError;
use crate::management::MANAGEMENT_SCOPE;
use crate::response::clean_text;

/// The largest refusal body read for its `code` and `message`.
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The code Logto's Management API answers, with 403, to a valid token that lacks `all` (its
/// `koaAuth` middleware checks that one permission and nothing else).
const LOGTO_FORBIDDEN: &str = "auth.forbidden";

/// Why a Management API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManagementError {
    /// No token: the token endpoint refused (for an app that may not use the Management API:
    /// `invalid_target` or `invalid_scope`), or could not be reached.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// 403: the token is valid but lacks this permission (space-separated if several). For the
    /// Logto Management API it is `all`: give the app a role holding it (in the console, the
    /// built-in "Logto Management API access" role).
    #[error(
        "the Management API refused the token (HTTP 403): it lacks the permission {permission:?}"
    )]
    MissingPermission {
        /// The missing permission, from the challenge's `scope` (RFC 6750 §3), else `all`.
        permission: String,
    },
    /// 401, also after one retry with a new token: the token is not accepted here (wrong
    /// audience, issuer or signature, expired).
    #[error(
        "the Management API refused the token (HTTP 401){}",
        Detail(error, description)
    )]
    Unauthorized {
        /// The challenge's `error` (`invalid_token`), or Logto's `code`.
        error: Option<String>,
        /// The challenge's `error_description`, or Logto's `message`.
        description: Option<String>,
    },
    /// Another non-2xx answer.
    #[error("the Management API answered HTTP {status}{}", Detail(code, message))]
    Status {
        /// The status.
        status: StatusCode,
        /// The body's `code` (Logto's error code), if any.
        code: Option<String>,
        /// The body's `message`, if any.
        message: Option<String>,
    },
    /// The request could not be sent or the answer not read.
    #[error("Management API request failed: {message}")]
    Transport {
        /// The transport error and its causes.
        message: String,
    },
    /// A 2xx answer that is not what was expected.
    #[error("invalid Management API response: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// The path (or a request's URL) is outside `<endpoint>/api/`; the token is never sent
    /// there.
    #[error("{path:?} is not under the Management API's base URL")]
    InvalidPath {
        /// The path or URL as given.
        path: String,
    },
}

struct Detail<'a>(&'a Option<String>, &'a Option<String>);

impl std::fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.0, self.1) {
            (Some(code), Some(text)) => write!(f, ": {code}: {text}"),
            (Some(one), None) | (None, Some(one)) => write!(f, ": {one}"),
            (None, None) => Ok(()),
        }
    }
}

impl ManagementError {
    pub(crate) fn transport(error: &reqwest::Error) -> ManagementError {
        ManagementError::Transport {
            message: scopegate_http::error_chain(error),
        }
    }

    /// Reads a non-2xx answer.
    pub(crate) fn from_refusal(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ManagementError {
        let challenge = bearer_challenge(headers);
        let param = |name: &str| {
            challenge
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| clean_text(value))
        };
        let (code, message) = logto_body(body);
        match status {
            StatusCode::FORBIDDEN if param("error").as_deref() == Some("insufficient_scope") => {
                ManagementError::MissingPermission {
                    permission: param("scope").unwrap_or_else(|| MANAGEMENT_SCOPE.to_owned()),
                }
            }
            StatusCode::FORBIDDEN if code.as_deref() == Some(LOGTO_FORBIDDEN) => {
                ManagementError::MissingPermission {
                    permission: MANAGEMENT_SCOPE.to_owned(),
                }
            }
            StatusCode::UNAUTHORIZED => ManagementError::Unauthorized {
                error: param("error").or(code),
                description: param("error_description").or(message),
            },
            _ => ManagementError::Status {
                status,
                code,
                message,
            },
        }
    }
}

/// Logto's error body: `{"code": "...", "message": "..."}`.
fn logto_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(clean_text);
    (text("code"), text("message"))
}

/// The auth-params of the first `Bearer` challenge among the `WWW-Authenticate` headers.
fn bearer_challenge(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(bearer_params)
        .unwrap_or_default()
}

/// Parses `Bearer name=value, name="quoted \" value", ...` (RFC 9110 §11.6.1 auth-params, RFC
/// 6750 §3). Written here because the header crates parse only Basic or opaque challenges; it
/// reads up to the end or the next challenge and gives up (`None`) on anything else.
fn bearer_params(value: &str) -> Option<Vec<(String, String)>> {
    let value = value.trim_start();
    let (scheme, mut rest) = value.split_at(value.find([' ', '\t']).unwrap_or(value.len()));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let name_len = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        if name_len == 0 {
            return Some(params);
        }
        let (name, after) = rest.split_at(name_len);
        let Some(after) = after.trim_start_matches([' ', '\t']).strip_prefix('=') else {
            // A token not followed by `=` starts the next challenge.
            return Some(params);
        };
        let after = after.trim_start_matches([' ', '\t']);
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => quoted_string(quoted)?,
            None => {
                let len = after.find(|c: char| !is_tchar(c)).unwrap_or(after.len());
                (after[..len].to_owned(), &after[len..])
            }
        };
        params.push((name.to_owned(), value));
        rest = remaining;
    }
}

/// The rest of a quoted-string after its opening quote: the unescaped text and what follows.
fn quoted_string(input: &str) -> Option<(String, &str)> {
    let mut text = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((text, &input[i + 1..])),
            '\\' => text.push(chars.next()?.1),
            c => text.push(c),
        }
    }
    None
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn refusal(status: u16, challenge: Option<&str>, body: &str) -> ManagementError {
        let mut headers = HeaderMap::new();
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_str(challenge).unwrap());
        }
        let status = StatusCode::from_u16(status).unwrap();
        ManagementError::from_refusal(status, &headers, body.as_bytes())
    }

    #[test]
    fn a_403_names_the_missing_permission() {
        let scopegate = refusal(
            403,
            Some(
                r#"Bearer realm="logto-management", error="insufficient_scope", error_description="the token lacks a required scope", scope="all""#,
            ),
            r#"{"error":"insufficient_scope"}"#,
        );
        assert_eq!(
            scopegate,
            ManagementError::MissingPermission {
                permission: "all".into()
            }
        );
        assert!(scopegate.to_string().contains("\"all\""));
        let several = refusal(
            403,
            Some(r#"Bearer error=insufficient_scope,scope="read:a write:a""#),
            "",
        );
        assert_eq!(
            several,
            ManagementError::MissingPermission {
                permission: "read:a write:a".into()
            }
        );
        // Logto itself: no challenge, its own error code.
        let logto = refusal(
            403,
            None,
            r#"{"message":"Forbidden","code":"auth.forbidden"}"#,
        );
        assert_eq!(
            logto,
            ManagementError::MissingPermission {
                permission: "all".into()
            }
        );
        // Other 403s are not about permissions.
        let quota = refusal(
            403,
            None,
            r#"{"message":"Limit exceeded","code":"subscription.limit_exceeded"}"#,
        );
        assert!(matches!(
            quota,
            ManagementError::Status { status, code: Some(code), .. }
                if status == 403 && code == "subscription.limit_exceeded"
        ));
    }

    #[test]
    fn a_401_carries_the_challenge_or_logto_code() {
        let scopegate = refusal(
            401,
            Some(
                r#"Bearer realm="x", error="invalid_token", error_description="the token is \"not\" for this API""#,
            ),
            "",
        );
        assert_eq!(
            scopegate,
            ManagementError::Unauthorized {
                error: Some("invalid_token".into()),
                description: Some("the token is \"not\" for this API".into()),
            }
        );
        let logto = refusal(
            401,
            None,
            r#"{"message":"Unauthorized","code":"auth.unauthorized"}"#,
        );
        assert_eq!(
            logto.to_string(),
            "the Management API refused the token (HTTP 401): auth.unauthorized: Unauthorized"
        );
        let bare = refusal(500, Some("Basic realm=\"x\""), "<html>");
        assert_eq!(
            bare.to_string(),
            "the Management API answered HTTP 500 Internal Server Error"
        );
    }

    #[test]
    fn challenges_parse_strictly() {
        let params =
            bearer_params(r#"Bearer realm="a\\b", error=x , scope="", Basic realm="y""#).unwrap();
        assert_eq!(
            params,
            [
                ("realm".to_owned(), "a\\b".to_owned()),
                ("error".to_owned(), "x".to_owned()),
                ("scope".to_owned(), String::new()),
            ]
        );
        assert_eq!(bearer_params("Bearer"), Some(Vec::new()));
        assert_eq!(bearer_params("Basic realm=\"x\""), None);
        assert_eq!(bearer_params(r#"Bearer error="unterminated"#), None);
        assert_eq!(bearer_params("Bearerx error=a"), None);
        // Control characters in a server's text are not passed on.
        let error = refusal(401, Some("Bearer error_description=\"a\tb\""), "");
        assert!(matches!(
            error,
            ManagementError::Unauthorized { description: Some(d), .. } if d == "a b"
        ));
    }
}
