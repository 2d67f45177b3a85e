//! Where an access token or the client secret may be sent: https, or plain http to a loopback
//! host, or an origin the user allowed explicitly. One rule for the token endpoint (every hop
//! of the token request) and for the APIs the token is presented to.

use url::{Origin, Url};

/// Why a request was not sent with the access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// Plain http to a host that is not loopback: the token would travel in clear text. Allow it
    /// with [`allow_insecure_http`](crate::ClientCredentialsBuilder::allow_insecure_http) or by
    /// listing the origin with [`api_origin`](crate::ClientCredentialsBuilder::api_origin).
    #[error(
        "refusing to send the access token to {origin}: plain http to a host that is not loopback"
    )]
    InsecureHttp {
        /// The request's origin (`scheme://host:port`).
        origin: String,
    },
    /// An allow-list of API origins is configured and does not hold this one.
    #[error("refusing to send the access token to {origin}: not an allowed API origin")]
    NotAllowed {
        /// The request's origin.
        origin: String,
    },
    /// The request URI is not an absolute http(s) URI, so where the token would go cannot be
    /// told. Put the token layer where requests already carry their scheme and host.
    #[error("refusing to send the access token: the request URI is not an absolute http(s) URI")]
    NotAbsolute,
}

/// The checked destination rule for API requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Destinations {
    pub(crate) allow_insecure_http: bool,
    /// When not empty, the only origins that get the token.
    pub(crate) origins: Vec<Origin>,
}

impl Destinations {
    pub(crate) fn check(&self, url: &Url) -> Result<(), DestinationError> {
        let origin = url.origin();
        if !matches!(url.scheme(), "https" | "http") || !origin.is_tuple() {
            return Err(DestinationError::NotAbsolute);
        }
        if !self.origins.is_empty() {
            // An explicitly listed origin is allowed whatever its scheme: that is the opt-in.
            return match self.origins.contains(&origin) {
                true => Ok(()),
                false => Err(DestinationError::NotAllowed {
                    origin: origin.ascii_serialization(),
                }),
            };
        }
        if scopegate_http::is_secure(url, self.allow_insecure_http) {
            Ok(())
        } else {
            Err(DestinationError::InsecureHttp {
                origin: origin.ascii_serialization(),
            })
        }
    }

    /// The same check for an `http::Uri` (the tower layer's requests).
    pub(crate) fn check_uri(&self, uri: &http::Uri) -> Result<Url, DestinationError> {
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(DestinationError::NotAbsolute);
        }
        let url = Url::parse(&uri.to_string()).map_err(|_| DestinationError::NotAbsolute)?;
        self.check(&url)?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn https_or_loopback_by_default() {
        let d = Destinations::default();
        assert!(d.check(&url("https://api.example.com/x")).is_ok());
        assert!(d.check(&url("http://127.0.0.1:3000/x")).is_ok());
        assert!(d.check(&url("http://localhost/x")).is_ok());
        assert!(d.check(&url("http://[::1]:80/x")).is_ok());
        assert_eq!(
            d.check(&url("http://attacker.example/collect")),
            Err(DestinationError::InsecureHttp {
                origin: "http://attacker.example".into()
            })
        );
        assert!(d.check(&url("ftp://x.example/")).is_err());
        let open = Destinations {
            allow_insecure_http: true,
            ..Destinations::default()
        };
        assert!(open.check(&url("http://api.internal/x")).is_ok());
    }

    #[test]
    fn an_allow_list_is_exact_and_is_the_opt_in() {
        let d = Destinations {
            allow_insecure_http: false,
            origins: vec![
                url("https://api.example.com").origin(),
                url("http://api.internal:8080").origin(),
            ],
        };
        assert!(
            d.check(&url("https://API.example.com:443/products"))
                .is_ok()
        );
        assert!(d.check(&url("http://api.internal:8080/products")).is_ok());
        assert!(d.check(&url("https://api.example.com:8443/")).is_err());
        assert!(d.check(&url("http://api.example.com/")).is_err());
        assert!(d.check(&url("http://127.0.0.1/")).is_err());
    }

    #[test]
    fn uris_must_be_absolute() {
        let d = Destinations::default();
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert_eq!(
            d.check_uri(&uri("/products")),
            Err(DestinationError::NotAbsolute)
        );
        assert!(d.check_uri(&uri("http://127.0.0.1:1/p")).is_ok());
        assert!(d.check_uri(&uri("http://evil.example/p")).is_err());
    }
}
