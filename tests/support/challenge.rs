//! A strict parser of one `WWW-Authenticate` challenge (RFC 9110 §11.6.1, §11.2):
//!
//! ```text
//! challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Anything else is an error, not a guess: an unquoted value that is not a token, a parameter
//! named twice (§11.2: "each parameter name MUST only occur once per challenge"), an
//! unterminated quoted-string, a control character, or text left over. Self-contained (std
//! only), so the example crates' tests include it by path.

use std::collections::BTreeMap;

/// One parsed challenge: its scheme and its auth-params, names in lower case (they are
/// case-insensitive), values unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParams {
    /// The auth-scheme as sent (e.g. `Bearer`).
    pub scheme: String,
    /// The parameters.
    pub params: BTreeMap<String, String>,
}

impl AuthParams {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Parses `value`, a single challenge with auth-params (no token68).
pub fn parse_auth_params(value: &str) -> Result<AuthParams, String> {
    let (challenge, rest) = parse_one(value)?;
    if !rest.is_empty() {
        return Err(format!(
            "a second challenge {rest:?} after the first in {value:?}"
        ));
    }
    Ok(challenge)
}

/// Parses a `WWW-Authenticate` field value that may hold several challenges
/// (RFC 9110 §11.6.1: `#challenge`), as a fetch client that joins the header lines reports it;
/// e.g. `Bearer realm="a", DPoP algs="ES256"`.
pub fn parse_challenges(value: &str) -> Result<Vec<AuthParams>, String> {
    let mut challenges = Vec::new();
    let mut rest = value;
    loop {
        let (challenge, remaining) = parse_one(rest)?;
        challenges.push(challenge);
        if remaining.is_empty() {
            return Ok(challenges);
        }
        rest = remaining;
    }
}

/// One challenge from the start of `value`, and what follows its separating comma (empty when
/// it was the last). After a comma, `token =` continues this challenge's auth-params and a
/// `token` followed by a space or the end starts the next challenge.
fn parse_one(value: &str) -> Result<(AuthParams, &str), String> {
    let scheme_end = value.find(|c: char| !is_tchar(c)).unwrap_or(value.len());
    let scheme = &value[..scheme_end];
    if scheme.is_empty() {
        return Err(format!("no auth-scheme in {value:?}"));
    }
    let mut rest = &value[scheme_end..];
    let mut params = BTreeMap::new();
    let done = |params| AuthParams {
        scheme: scheme.to_owned(),
        params,
    };
    if rest.is_empty() {
        return Ok((done(params), ""));
    }
    if let Some(next) = rest.strip_prefix(',') {
        return Ok((done(params), ows(next)));
    }
    rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("no SP after the scheme in {value:?}"))?
        .trim_start_matches(' ');
    loop {
        let name_end = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("expected a parameter name at {rest:?}"));
        }
        let after = ows(&rest[name_end..]);
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after {name:?}"))?;
        let after = ows(after);
        let (parsed, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((at, '"')) => break at + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) if c == '\t' || (' '..='~').contains(&c) => out.push(c),
                        other => return Err(format!("bad quoted-pair {other:?} in {name:?}")),
                    },
                    Some((_, c)) if c == '\t' || (' '..='~').contains(&c) => out.push(c),
                    Some((_, c)) => return Err(format!("{c:?} in the value of {name:?}")),
                    None => return Err(format!("unterminated quoted-string in {name:?}")),
                }
            };
            (out, &quoted[end..])
        } else {
            let end = after.find(|c: char| !is_tchar(c)).unwrap_or(after.len());
            if end == 0 {
                return Err(format!("empty or invalid token value for {name:?}"));
            }
            (after[..end].to_owned(), &after[end..])
        };
        if params.insert(name.clone(), parsed).is_some() {
            return Err(format!("parameter {name:?} occurs twice"));
        }
        let remaining = ows(remaining);
        if remaining.is_empty() {
            return Ok((done(params), ""));
        }
        let next = ows(remaining
            .strip_prefix(',')
            .ok_or_else(|| format!("expected ',' before {remaining:?}"))?);
        if starts_a_challenge(next) {
            return Ok((done(params), next));
        }
        rest = next;
    }
}

/// Whether `text` begins with an auth-scheme rather than an auth-param: a token not followed
/// (after optional whitespace) by `=`.
fn starts_a_challenge(text: &str) -> bool {
    let end = text.find(|c: char| !is_tchar(c)).unwrap_or(text.len());
    end > 0 && !ows(&text[end..]).starts_with('=')
}

/// RFC 9110 §5.6.3 optional whitespace, skipped.
fn ows(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_token_values_and_refuses_the_rest() {
        let parsed =
            parse_auth_params(r#"Bearer realm="a \"b\"", error=invalid_token , Scope="x y""#)
                .unwrap();
        assert_eq!(parsed.scheme, "Bearer");
        assert_eq!(parsed.get("realm"), Some(r#"a "b""#));
        assert_eq!(parsed.get("error"), Some("invalid_token"));
        assert_eq!(parsed.get("scope"), Some("x y"));
        assert_eq!(parse_auth_params("Bearer").unwrap().params.len(), 0);
        for bad in [
            r#"Bearer realm="a", realm="b""#,
            r#"Bearer realm="open"#,
            "Bearer realm=a b",
            r#"Bearer realm="a" scope="b""#,
            "Bearer =x",
            r#"Bearer realm="a","#,
            "Bearer  realm=\"a\u{1}\"",
        ] {
            assert!(parse_auth_params(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_list_of_challenges_and_refuses_it_where_one_is_due() {
        let joined = r#"Bearer realm="mcp", scope="a b", DPoP algs="ES256 EdDSA", realm="mcp""#;
        let parsed = parse_challenges(joined).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].scheme, "Bearer");
        assert_eq!(parsed[0].get("scope"), Some("a b"));
        assert_eq!(parsed[1].scheme, "DPoP");
        assert_eq!(parsed[1].get("algs"), Some("ES256 EdDSA"));
        assert_eq!(parsed[1].get("realm"), Some("mcp"));
        assert_eq!(parse_challenges("Basic, Bearer").unwrap().len(), 2);
        assert!(parse_auth_params(joined).is_err());
        assert!(parse_challenges(r#"Bearer realm="a", "#).is_err());
    }
}
