//! The request's external URI for `htu` (RFC 9449 §4.3, check 9): rebuilt from the request, a
//! configured public base URL, or trusted forwarding headers; compared after RFC 3986 §6.2.2
//! and §6.2.3 normalization.

use http::header::HOST;
use http::request::Parts;
use url::Url;

use super::ProofProblem;

/// Where the external URL of a request (the one a client signs in `htu`) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PublicUrl {
    /// The request's own URI: its scheme if it has one (else `http`: a server behind no TLS
    /// terminator), its authority or `Host` header, and its path. The default.
    #[default]
    FromRequest,
    /// A fixed base URL (e.g. `https://api.example.com` or `https://example.com/shop`): the
    /// request's path is appended to its path. For servers behind proxies or TLS terminators.
    Base(Url),
    /// `Forwarded` (RFC 7239: `proto`, `host`) or else `X-Forwarded-Proto` / `X-Forwarded-Host`,
    /// falling back to [`FromRequest`](Self::FromRequest) for what they leave out. Only when every
    /// request comes through a proxy that sets them: a client could otherwise choose its `htu`.
    TrustForwardedHeaders,
}

impl PublicUrl {
    /// A fixed base URL from text; `None` unless it is an absolute `http(s)` URL without query or
    /// fragment.
    pub fn base(url: &str) -> Option<PublicUrl> {
        let url = Url::parse(url).ok()?;
        let ok = matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.query().is_none()
            && url.fragment().is_none();
        ok.then_some(PublicUrl::Base(url))
    }

    /// The request's external URI without query or fragment, or `None` when the request names
    /// no host at all.
    pub fn request_uri(&self, parts: &Parts) -> Option<String> {
        let path = parts.uri.path();
        match self {
            PublicUrl::Base(base) => {
                let prefix = base.as_str().trim_end_matches('/');
                Some(format!("{prefix}{path}"))
            }
            PublicUrl::FromRequest => {
                let (scheme, host) = from_request(parts)?;
                Some(format!("{scheme}://{host}{path}"))
            }
            PublicUrl::TrustForwardedHeaders => {
                let (mut proto, mut host) = forwarded(parts);
                if proto.is_none() {
                    proto = header(parts, "x-forwarded-proto");
                }
                if host.is_none() {
                    host = header(parts, "x-forwarded-host");
                }
                let fallback = from_request(parts);
                let scheme = proto.or_else(|| fallback.as_ref().map(|f| f.0))?;
                let host = host.or_else(|| fallback.as_ref().map(|f| f.1))?;
                Some(format!("{scheme}://{host}{path}"))
            }
        }
    }
}

fn from_request(parts: &Parts) -> Option<(&str, &str)> {
    let scheme = parts.uri.scheme_str().unwrap_or("http");
    let host = match parts.uri.authority() {
        Some(authority) => authority.as_str(),
        None => header(parts, HOST.as_str())?,
    };
    Some((scheme, host))
}

/// The one value of a header, trimmed, or `None` (absent, repeated, not text, or a list).
fn header<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    let mut values = parts.headers.get_all(name).iter();
    let value = values.next()?.to_str().ok()?.trim();
    (values.next().is_none() && !value.is_empty() && !value.contains(',')).then_some(value)
}

/// `proto` and `host` of the first element of `Forwarded` (the hop nearest the client is the
/// one the client addressed).
fn forwarded(parts: &Parts) -> (Option<&str>, Option<&str>) {
    let Some(value) = parts.headers.get("forwarded").and_then(|v| v.to_str().ok()) else {
        return (None, None);
    };
    let first = value.split(',').next().unwrap_or_default();
    let (mut proto, mut host) = (None, None);
    for pair in first.split(';') {
        let Some((name, value)) = pair.trim().split_once('=') else {
            continue;
        };
        let value = value.trim_matches('"');
        if name.eq_ignore_ascii_case("proto") {
            proto = Some(value);
        } else if name.eq_ignore_ascii_case("host") {
            host = Some(value);
        }
    }
    (proto, host)
}

/// Whether the proof's `htu` names `expected`: both parsed (scheme and host lowercased, default
/// port dropped, dot segments removed: RFC 3986 §6.2.2.1, §6.2.2.3, §6.2.3) and their
/// percent-encodings normalized (§6.2.2.2). `htu` with a query or fragment is refused outright.
pub(super) fn check_htu(htu: &str, expected: &str) -> Result<(), ProofProblem> {
    let proof = Url::parse(htu).map_err(|_| ProofProblem::WrongUri)?;
    if proof.query().is_some() || proof.fragment().is_some() {
        return Err(ProofProblem::UriWithQuery);
    }
    let expected = Url::parse(expected).map_err(|_| ProofProblem::WrongUri)?;
    if normalized(&proof) == normalized(&expected) {
        Ok(())
    } else {
        Err(ProofProblem::WrongUri)
    }
}

/// The URL without query and fragment, percent-encodings in upper case, unreserved characters
/// decoded.
fn normalized(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let text = url.as_str().as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(text.get(i + 1)), hex(text.get(i + 2)))
        {
            let byte = hi * 16 + lo;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push(text[i + 1].to_ascii_uppercase() as char);
                out.push(text[i + 2].to_ascii_uppercase() as char);
            }
            i += 3;
            continue;
        }
        out.push(text[i] as char);
        i += 1;
    }
    out
}

fn hex(byte: Option<&u8>) -> Option<u8> {
    (*byte? as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::get(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn htu_comparison_normalizes() {
        let expected = "http://api.test:8080/products";
        for same in [
            "http://api.test:8080/products",
            "HTTP://API.test:8080/products",
            "http://api.test:8080/a/../products",
            "http://api.test:8080/%70roducts",
        ] {
            assert_eq!(check_htu(same, expected), Ok(()), "{same}");
        }
        assert_eq!(
            check_htu("https://a.test:443/x", "https://a.test/x"),
            Ok(())
        );
        assert_eq!(
            check_htu("http://api.test:8081/products", expected),
            Err(ProofProblem::WrongUri)
        );
        assert_eq!(
            check_htu("http://api.test:8080/products?x=1", expected),
            Err(ProofProblem::UriWithQuery)
        );
        assert_eq!(
            check_htu("http://api.test:8080/products#f", expected),
            Err(ProofProblem::UriWithQuery)
        );
        assert_eq!(
            check_htu("not a url", expected),
            Err(ProofProblem::WrongUri)
        );
    }

    #[test]
    fn request_uri_sources() {
        let p = parts("/products?limit=1", &[("host", "api.test:3000")]);
        assert_eq!(
            PublicUrl::FromRequest.request_uri(&p).as_deref(),
            Some("http://api.test:3000/products")
        );
        let base = PublicUrl::base("https://shop.example.com/api/").unwrap();
        assert_eq!(
            base.request_uri(&p).as_deref(),
            Some("https://shop.example.com/api/products")
        );
        assert_eq!(PublicUrl::base("https://x.test/?q"), None);
        let proxied = parts(
            "/products",
            &[
                ("host", "10.0.0.5:3000"),
                (
                    "forwarded",
                    "proto=https;host=\"shop.example.com\", proto=http",
                ),
            ],
        );
        assert_eq!(
            PublicUrl::TrustForwardedHeaders
                .request_uri(&proxied)
                .as_deref(),
            Some("https://shop.example.com/products")
        );
        // Not trusted unless configured.
        assert_eq!(
            PublicUrl::FromRequest.request_uri(&proxied).as_deref(),
            Some("http://10.0.0.5:3000/products")
        );
        let x = parts(
            "/p",
            &[("host", "internal"), ("x-forwarded-proto", "https")],
        );
        assert_eq!(
            PublicUrl::TrustForwardedHeaders.request_uri(&x).as_deref(),
            Some("https://internal/p")
        );
        assert_eq!(PublicUrl::FromRequest.request_uri(&parts("/p", &[])), None);
    }
}
