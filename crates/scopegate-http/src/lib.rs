//! # scopegate-http
//!
//! The HTTP plumbing that [`scopegate`](https://docs.rs/scopegate) (fetching an issuer's keys)
//! and [`scopegate-m2m`](https://docs.rs/scopegate-m2m) (requesting tokens) both need, written
//! once:
//!
//! * [`is_loopback`] and [`is_secure`]: where a secret or a key set may travel over plain http;
//! * [`read_capped`]: a response body read into memory up to a size cap
//!   ([`http_body_util::Limited`] does the counting);
//! * [`error_chain`]: an error and its sources on one line, for messages that say why;
//! * [`dpop::jwk_thumbprint`] and [`dpop::access_token_hash`]: the RFC 7638 thumbprint and the
//!   `ath` hash that a DPoP proof's signer and its checker must compute alike (RFC 9449);
//! * [`SingleFlight`]: one piece of work at a time (scopegate-m2m's token request) as its own
//!   task, its outcome shared by every caller that asked meanwhile;
//! * [`inner_service_accessors!`]: the accessors every middleware service offers for the
//!   service it wraps;
//! * [`client_builder`] (feature `reqwest`): a `reqwest` client on the TLS provider of the
//!   crypto backend chosen by features, never aws-lc-rs unless that backend is on.
//!
//! ```
//! let url = url::Url::parse("http://127.0.0.1:3001/oidc/jwks").unwrap();
//! assert!(scopegate_http::is_secure(&url, false));
//! let url = url::Url::parse("http://id.example.com/oidc/jwks").unwrap();
//! assert!(!scopegate_http::is_secure(&url, false));
//! ```
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `reqwest` | [`client_builder`] |
//! | `aws-lc-rs` | TLS through aws-lc-rs (it wins when both backends are on) |
//! | `rust-crypto` | TLS through ring, or the application's installed default rustls provider; no aws-lc-sys in the build |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod body;
pub mod dpop;
mod flight;
mod service;
#[cfg(feature = "reqwest")]
mod tls;

pub use body::{ReadError, read_capped};
pub use flight::{NoRuntime, SingleFlight, Waiter};
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use tls::client_builder;

/// Whether `url`'s host is a loopback host: `localhost`, `127.0.0.0/8` or `::1`. Traffic to it
/// never leaves the machine, so plain http there exposes nothing (local development, tests).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a secret, a token or a key set may go to (or come from) `url`: https, or http to a
/// loopback host, or any http when `allow_insecure_http` (closed test networks only). Other
/// schemes never.
pub fn is_secure(url: &url::Url, allow_insecure_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http || is_loopback(url),
        _ => false,
    }
}

/// The error and its sources on one line, separated by `": "`: an HTTP client's top-level
/// message ("error sending request") rarely says why.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_hosts() {
        for loopback in [
            "http://localhost:1/",
            "http://LOCALHOST/",
            "http://127.0.0.1/",
        ] {
            assert!(is_loopback(&url(loopback)), "{loopback}");
        }
        assert!(is_loopback(&url("http://127.9.9.9/")));
        assert!(is_loopback(&url("http://[::1]:80/")));
        assert!(!is_loopback(&url("http://localhost.example.com/")));
        assert!(!is_loopback(&url("http://10.0.0.1/")));
        assert!(!is_loopback(&url("file:///etc/passwd")));
    }

    #[test]
    fn https_or_loopback_or_the_opt_in() {
        assert!(is_secure(&url("https://id.example.com/"), false));
        assert!(is_secure(&url("http://127.0.0.1:3001/"), false));
        assert!(!is_secure(&url("http://id.example.com/"), false));
        assert!(is_secure(&url("http://id.example.com/"), true));
        assert!(!is_secure(&url("ftp://id.example.com/"), true));
    }

    #[test]
    fn the_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            error_chain(&error),
            "error sending request: connection refused"
        );
    }
}
