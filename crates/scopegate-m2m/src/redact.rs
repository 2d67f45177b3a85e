//! Keeping the client secret out of every text this crate produces: server error texts,
//! transport errors and configuration errors.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use url::form_urlencoded;

/// Texts taken from a server are cut to this many characters.
pub(crate) const MAX_TEXT_CHARS: usize = 512;
const REDACTED: &str = "<redacted>";

/// Every form in which the secret can travel, and so be echoed back: raw, form-encoded (as in
/// `client_secret_post` and inside Basic), percent-encoded, base64 of the Basic credentials
/// (RFC 6749 §2.3.1) and of the secret alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    forms: Vec<String>,
}

impl Redactor {
    pub(crate) fn new(client_id: &str, secret: &str) -> Redactor {
        let form = form_encode(secret);
        let basic = STANDARD.encode(format!("{}:{form}", form_encode(client_id)));
        let mut forms = vec![
            secret.to_owned(),
            form,
            utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
            basic.trim_end_matches('=').to_owned(),
            STANDARD_NO_PAD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ];
        forms.retain(|f| !f.is_empty());
        // Longest first, so that a form containing another is replaced whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// `text` with every form of the secret replaced.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), REDACTED);
            }
        }
        text
    }

    /// A server-supplied text made safe to log: scrubbed first (so that no part of a secret
    /// survives a cut), then control characters replaced, then cut to [`MAX_TEXT_CHARS`].
    pub(crate) fn clean(&self, text: &str) -> String {
        self.scrub(text)
            .chars()
            .take(MAX_TEXT_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (space becomes `+`).
pub(crate) fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `raw` with any user info (`user:password@`) of its authority replaced, for error messages
/// about URLs that may not even parse.
pub(crate) fn without_userinfo(raw: &str) -> String {
    let authority_start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!(
            "{}{REDACTED}{}",
            &raw[..authority_start],
            &raw[authority_start + at..]
        ),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_scrubbed() {
        let secret = "p@ss w/rd+%";
        let r = Redactor::new("my client", secret);
        let basic = STANDARD.encode("my+client:p%40ss+w%2Frd%2B%25");
        for form in [
            secret.to_owned(),
            "p%40ss+w%2Frd%2B%25".to_owned(),
            "p%40ss%20w%2Frd%2B%25".to_owned(),
            basic.clone(),
            format!("Basic {basic}"),
            STANDARD_NO_PAD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ] {
            let out = r.scrub(&format!("echo: {form} end"));
            assert!(out.contains(REDACTED), "{form} -> {out}");
            assert!(!out.contains("ss w") && !out.contains("%40ss"), "{out}");
        }
    }

    #[test]
    fn a_secret_straddling_the_cut_is_scrubbed_first() {
        let secret = "S3CRET-VALUE-0123456789";
        let r = Redactor::new("id", secret);
        let text = format!("{}{secret}", "x".repeat(MAX_TEXT_CHARS - 5));
        let out = r.clean(&text);
        assert_eq!(out.chars().count(), MAX_TEXT_CHARS);
        assert!(!out.contains("S3CRE"), "{out}");
    }

    #[test]
    fn userinfo_is_never_echoed() {
        assert_eq!(
            without_userinfo("https://user:pa55@id.example.com/token"),
            "https://<redacted>@id.example.com/token"
        );
        assert_eq!(
            without_userinfo("htps://u:p@a@x/t?q=@"),
            "htps://<redacted>@x/t?q=@"
        );
        assert_eq!(without_userinfo("https://x/t"), "https://x/t");
        assert_eq!(without_userinfo("u:p@host"), "<redacted>@host");
    }
}
