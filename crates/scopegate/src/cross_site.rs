//! Cross-site request forgery through cookie-borne tokens.
//!
//! A browser attaches cookies to every request for the API's site, including requests that a page
//! of another site makes. With the token in a cookie ([`TokenLocation::Cookie`]), any site could
//! therefore make a visitor's browser `POST` with the visitor's token. The `Authorization` header
//! and custom headers carry no such risk: a browser sends them only when the page's own script
//! sets them, and a cross-origin page may not without a CORS preflight the API would refuse.
//!
//! So, unless the layer opts out, a cookie-borne token on an unsafe method (anything but `GET`,
//! `HEAD`, `OPTIONS`, `TRACE`: RFC 9110 §9.2.1) is refused when the request is cross-site:
//!
//! 1. `Sec-Fetch-Site` (Fetch Metadata, sent by every current browser and not settable by
//!    scripts): `same-origin` and `none` (typed by the user) pass; `same-site` and `cross-site`
//!    pass only when `Origin` is an allowed origin.
//! 2. Without it, `Origin` (RFC 6454; browsers send it on every unsafe request): it must be an
//!    allowed origin or name the request's own host. `Origin: null` (sandboxed frames, some
//!    redirects) never passes.
//! 3. Without either header the request did not come from a browser that could be driven by
//!    another site (curl, a server), so the cookie is not an ambient credential: it passes.
//!
//! [`TokenLocation::Cookie`]: crate::token::TokenLocation::Cookie

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Method, Uri};

use crate::error::AuthError;

/// `Sec-Fetch-Site` (Fetch Metadata Request Headers); not in `http`'s constants.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Which cross-site requests may carry a cookie-borne token on an unsafe method.
#[derive(Debug, Clone, Default)]
pub(crate) struct CrossSitePolicy {
    /// Origins (`scheme://host[:port]`, lower case, no trailing slash) trusted to send them.
    allowed_origins: Vec<String>,
    /// Set by the explicit opt-out: no check at all.
    allow_all: bool,
}

impl CrossSitePolicy {
    pub(crate) fn allow_origin(&mut self, origin: &str) {
        self.allowed_origins
            .push(origin.trim_end_matches('/').to_ascii_lowercase());
    }

    pub(crate) fn allow_all(&mut self) {
        self.allow_all = true;
    }

    /// Whether a request with a cookie-borne token may go on to validation.
    pub(crate) fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), AuthError> {
        if self.allow_all || is_safe(method) {
            return Ok(());
        }
        let mut origins = headers.get_all(ORIGIN).iter();
        let origin = match (origins.next(), origins.next()) {
            (Some(_), Some(_)) => return Err(AuthError::CrossSiteRequest),
            (origin, _) => origin.map(|o| o.to_str().unwrap_or("null")),
        };
        let allowed = origin.is_some_and(|o| {
            self.allowed_origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(o))
        });
        let passes = match headers.get(SEC_FETCH_SITE).map(|v| v.as_bytes()) {
            Some(b"same-origin" | b"none") => true,
            Some(_) => allowed,
            None => match origin {
                None => true,
                Some(origin) => allowed || names_own_host(origin, uri, headers),
            },
        };
        if passes {
            Ok(())
        } else {
            Err(AuthError::CrossSiteRequest)
        }
    }
}

/// RFC 9110 §9.2.1: methods a browser may send cross-site without the user's intent mattering.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to (`Host`, or
/// the URI's authority in HTTP/2). The scheme is not compared: behind a TLS-terminating proxy
/// the server cannot know it.
fn names_own_host(origin: &str, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        return false; // `null`, or not an origin at all
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    host.is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &CrossSitePolicy, method: Method, pairs: &[(&str, &str)]) -> bool {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let uri = Uri::from_static("/products");
        policy.check(&method, &uri, &headers).is_ok()
    }

    #[test]
    fn unsafe_cross_site_requests_need_an_allowed_origin() {
        let mut policy = CrossSitePolicy::default();
        policy.allow_origin("https://Shop.example/");
        let host = ("host", "api.example");
        for (method, headers, passes) in [
            (Method::GET, vec![("sec-fetch-site", "cross-site")], true),
            (Method::POST, vec![("sec-fetch-site", "cross-site")], false),
            (Method::DELETE, vec![("sec-fetch-site", "same-site")], false),
            (Method::POST, vec![("sec-fetch-site", "same-origin")], true),
            (Method::POST, vec![("sec-fetch-site", "none")], true),
            (
                Method::PUT,
                vec![
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://shop.example"),
                ],
                true,
            ),
            (
                Method::PATCH,
                vec![("origin", "https://evil.example"), host],
                false,
            ),
            (Method::POST, vec![("origin", "null"), host], false),
            (
                Method::POST,
                vec![("origin", "https://api.example"), host],
                true,
            ),
            (
                Method::POST,
                vec![("origin", "https://api.example.evil"), host],
                false,
            ),
            (
                Method::POST,
                vec![
                    ("origin", "https://shop.example"),
                    ("origin", "https://evil.example"),
                ],
                false,
            ),
            (Method::POST, vec![host], true),
        ] {
            assert_eq!(
                check(&policy, method.clone(), &headers),
                passes,
                "{method} {headers:?}"
            );
        }
        policy.allow_all();
        assert!(check(
            &policy,
            Method::POST,
            &[("sec-fetch-site", "cross-site")]
        ));
    }
}
