//! Reading token endpoint answers: RFC 6749 §5.1 (success) and §5.2 (error).

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

use crate::config::{Config, MAX_LIFETIME};
use crate::error::{OAuthErrorCode, TokenError};
use crate::redact::MAX_TEXT_CHARS;

/// The useful part of a successful token response.
#[derive(Debug)]
pub(crate) struct Granted {
    pub(crate) secret: Box<str>,
    /// `Bearer <secret>` or `DPoP <secret>`, sensitive.
    pub(crate) header: HeaderValue,
    /// `token_type: DPoP` (RFC 9449 §5).
    pub(crate) dpop_bound: bool,
    pub(crate) expires_in: Option<Duration>,
    pub(crate) scope: Option<String>,
}

fn invalid(reason: &'static str) -> TokenError {
    TokenError::InvalidResponse { reason }
}

/// Parses a 2xx answer.
pub(crate) fn parse_success(
    status: StatusCode,
    body: &[u8],
    config: &Config,
) -> Result<Granted, TokenError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("the body is not JSON"))?;
    let Value::Object(object) = value else {
        return Err(invalid("the body is not a JSON object"));
    };
    let secret = match object.get("access_token") {
        Some(Value::String(token)) => token,
        Some(_) => return Err(invalid("access_token is not a string")),
        None => {
            // Some servers answer errors with 200.
            return Err(oauth_error(status, &object, config)
                .unwrap_or_else(|| invalid("access_token is missing")));
        }
    };
    if secret.is_empty() {
        return Err(invalid("access_token is empty"));
    }
    // RFC 6750 §2.1 allows only b64token characters; anything visible is taken, but nothing a
    // header cannot carry (controls, spaces, non-ASCII).
    if !secret.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return Err(invalid(
            "access_token has characters an Authorization header cannot carry",
        ));
    }
    // RFC 9449 §5: `DPoP` only answers a request that carried a proof; a server without DPoP
    // answers `Bearer` to it, and the token is then used as a bearer token.
    let dpop_bound = match object.get("token_type") {
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => false,
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("dpop") && config.dpop.is_some() => {
            true
        }
        Some(Value::String(kind)) => {
            return Err(TokenError::UnsupportedTokenType {
                token_type: config.redact.clean(kind),
            });
        }
        Some(_) => return Err(invalid("token_type is not a string")),
        None => return Err(invalid("token_type is missing")),
    };
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => Duration::from_secs(secs),
            (None, Some(secs)) if secs >= 0.0 => {
                Duration::try_from_secs_f64(secs).unwrap_or(MAX_LIFETIME)
            }
            _ => return Err(invalid("expires_in is negative")),
        }),
        // Older Entra ID (v1) endpoints send the number as a string.
        Some(Value::String(text)) => Some(Duration::from_secs(
            text.trim()
                .parse::<u64>()
                .map_err(|_| invalid("expires_in is not a number"))?,
        )),
        Some(_) => return Err(invalid("expires_in is not a number")),
    }
    .map(|lifetime| lifetime.min(MAX_LIFETIME));
    let scope = match object.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(scope)) => Some(scope.trim().to_owned()),
        Some(_) => return Err(invalid("scope is not a string")),
    };
    let scheme = if dpop_bound { "DPoP" } else { "Bearer" };
    let mut header = HeaderValue::try_from(format!("{scheme} {secret}"))
        .map_err(|_| invalid("access_token has characters an Authorization header cannot carry"))?;
    header.set_sensitive(true);
    Ok(Granted {
        secret: secret.as_str().into(),
        header,
        dpop_bound,
        expires_in,
        scope,
    })
}

/// Turns a non-2xx answer into an error: the server's OAuth error when the body carries one.
pub(crate) fn parse_failure(status: StatusCode, body: &[u8], config: &Config) -> TokenError {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => oauth_error(status, &object, config),
        _ => None,
    }
    .unwrap_or(TokenError::Status { status })
}

fn oauth_error(
    status: StatusCode,
    object: &Map<String, Value>,
    config: &Config,
) -> Option<TokenError> {
    let code = object.get("error")?.as_str()?;
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(|text| config.redact.clean(text))
    };
    Some(TokenError::OAuth {
        status,
        error: OAuthErrorCode::from(config.redact.clean(code).as_str()),
        error_description: text("error_description"),
        error_uri: text("error_uri"),
    })
}

/// The `error` code of an RFC 6749 §5.2 body, if it is one.
pub(crate) fn error_code(body: &[u8]) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct ErrorBody<'a> {
        #[serde(borrow)]
        error: &'a str,
    }
    serde_json::from_slice::<ErrorBody<'_>>(body)
        .ok()
        .map(|b| b.error)
}

/// Cuts a text that holds no secret of ours (Management API answers) to a loggable size and
/// replaces control characters; token endpoint texts go through `Redactor::clean`.
pub(crate) fn clean_text(text: &str) -> String {
    text.chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientCredentials;

    fn config() -> ClientCredentials {
        ClientCredentials::builder("https://id.example.com/token", "id", "s3cr3t-value")
            .scope("read:a")
            .build()
            .unwrap()
    }

    fn ok(body: &str) -> Result<Granted, TokenError> {
        parse_success(StatusCode::OK, body.as_bytes(), &config().inner.config)
    }

    #[test]
    fn parses_a_standard_answer() {
        let granted = ok(
            r#"{"access_token":"eyJ.a.b","token_type":"bearer","expires_in":3600,"scope":"read:a"}"#,
        )
        .unwrap();
        assert_eq!(&*granted.secret, "eyJ.a.b");
        assert_eq!(granted.header.to_str().unwrap(), "Bearer eyJ.a.b");
        assert!(granted.header.is_sensitive());
        assert_eq!(granted.expires_in, Some(Duration::from_secs(3600)));
        assert_eq!(granted.scope.as_deref(), Some("read:a"));
    }

    #[test]
    fn a_dpop_token_needs_a_dpop_key() {
        let body = r#"{"access_token":"eyJ.a.b","token_type":"DPoP","expires_in":60}"#;
        // Without a key, nothing could present it.
        assert_eq!(
            ok(body).unwrap_err(),
            TokenError::UnsupportedTokenType {
                token_type: "DPoP".into()
            }
        );
        let with_key = ClientCredentials::builder("https://id.example.com/token", "id", "secret")
            .dpop(crate::DpopKey::generate().unwrap())
            .build()
            .unwrap();
        let granted =
            parse_success(StatusCode::OK, body.as_bytes(), &with_key.inner.config).unwrap();
        assert!(granted.dpop_bound);
        assert_eq!(granted.header.to_str().unwrap(), "DPoP eyJ.a.b");
        assert!(granted.header.is_sensitive());
        // A server without DPoP answers Bearer to a request with a proof: a bearer token.
        let bearer = r#"{"access_token":"eyJ.a.b","token_type":"Bearer"}"#;
        let granted =
            parse_success(StatusCode::OK, bearer.as_bytes(), &with_key.inner.config).unwrap();
        assert!(!granted.dpop_bound);
        assert_eq!(granted.header.to_str().unwrap(), "Bearer eyJ.a.b");
        assert_eq!(
            error_code(br#"{"error":"use_dpop_nonce"}"#),
            Some("use_dpop_nonce")
        );
        assert_eq!(error_code(b"not json"), None);
    }

    #[test]
    fn expires_in_forms() {
        let with = |e: &str| {
            ok(&format!(
                r#"{{"access_token":"t","token_type":"Bearer","expires_in":{e}}}"#
            ))
        };
        assert_eq!(
            with(r#""3599""#).unwrap().expires_in,
            Some(Duration::from_secs(3599))
        );
        assert_eq!(
            with("1.5").unwrap().expires_in,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(with("null").unwrap().expires_in, None);
        assert_eq!(with("1e300").unwrap().expires_in, Some(MAX_LIFETIME));
        assert_eq!(with("-1").unwrap_err(), invalid("expires_in is negative"));
        assert_eq!(
            with("true").unwrap_err(),
            invalid("expires_in is not a number")
        );
        assert_eq!(
            with(r#""soon""#).unwrap_err(),
            invalid("expires_in is not a number")
        );
    }

    #[test]
    fn rejects_bad_answers() {
        assert_eq!(ok("not json").unwrap_err(), invalid("the body is not JSON"));
        assert_eq!(
            ok("[]").unwrap_err(),
            invalid("the body is not a JSON object")
        );
        assert_eq!(
            ok(r#"{"token_type":"Bearer"}"#).unwrap_err(),
            invalid("access_token is missing")
        );
        assert_eq!(
            ok(r#"{"access_token":"","token_type":"Bearer"}"#).unwrap_err(),
            invalid("access_token is empty")
        );
        assert!(ok(r#"{"access_token":"a b","token_type":"Bearer"}"#).is_err());
        assert!(ok(r#"{"access_token":"a\nb","token_type":"Bearer"}"#).is_err());
        assert_eq!(
            ok(r#"{"access_token":"t"}"#).unwrap_err(),
            invalid("token_type is missing")
        );
        assert_eq!(
            ok(r#"{"access_token":"t","token_type":"DPoP"}"#).unwrap_err(),
            TokenError::UnsupportedTokenType {
                token_type: "DPoP".into()
            }
        );
        assert_eq!(
            ok(r#"{"access_token":"t","token_type":"Bearer","scope":7}"#).unwrap_err(),
            invalid("scope is not a string")
        );
    }

    #[test]
    fn an_error_in_a_200_is_an_oauth_error() {
        let err = ok(r#"{"error":"invalid_scope"}"#).unwrap_err();
        assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidScope));
    }

    #[test]
    fn failures_carry_the_oauth_error_scrubbed() {
        let source = config();
        let config = &source.inner.config;
        let body =
            br#"{"error":"invalid_client","error_description":"secret s3cr3t-value\nis wrong"}"#;
        let err = parse_failure(StatusCode::UNAUTHORIZED, body, config);
        assert_eq!(
            err,
            TokenError::OAuth {
                status: StatusCode::UNAUTHORIZED,
                error: OAuthErrorCode::InvalidClient,
                error_description: Some("secret <redacted> is wrong".into()),
                error_uri: None,
            }
        );
        assert!(!err.to_string().contains("s3cr3t"));
        assert_eq!(
            err.to_string(),
            "token endpoint refused the request: HTTP 401 Unauthorized, error invalid_client: \
             secret <redacted> is wrong"
        );
        assert_eq!(
            parse_failure(StatusCode::BAD_GATEWAY, b"<html>", config),
            TokenError::Status {
                status: StatusCode::BAD_GATEWAY
            }
        );
        let other = parse_failure(StatusCode::BAD_REQUEST, br#"{"error":"slow_down"}"#, config);
        assert_eq!(
            other.oauth_error(),
            Some(&OAuthErrorCode::Other("slow_down".into()))
        );
    }

    #[test]
    fn transient_errors() {
        assert!(
            TokenError::Status {
                status: StatusCode::SERVICE_UNAVAILABLE
            }
            .is_transient()
        );
        assert!(
            !parse_failure(
                StatusCode::UNAUTHORIZED,
                br#"{"error":"invalid_client"}"#,
                &config().inner.config
            )
            .is_transient()
        );
    }
}
