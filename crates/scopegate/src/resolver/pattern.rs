//! [`IssuerPattern`]: an issuer URL with one `{tenant}` placeholder, matched against `iss` byte
//! for byte, the placeholder standing for a restricted tenant id.

use std::fmt;

use url::Url;

/// The placeholder a pattern holds exactly once.
pub const PLACEHOLDER: &str = "{tenant}";

/// Longest tenant id (a DNS label's limit, RFC 1035 §2.3.4).
pub const MAX_TENANT_LEN: usize = 63;

/// Why a string is not a usable [`IssuerPattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern does not hold `{tenant}` exactly once, or holds other braces.
    #[error("an issuer pattern holds `{{tenant}}` exactly once and no other braces")]
    Placeholder,
    /// The pattern is no http(s) URL with a host, or has userinfo, a query or a fragment.
    #[error("an issuer pattern is an http(s) URL with a host, and no userinfo, query or fragment")]
    NotAnIssuerUrl,
    /// The pattern is not written as the URL parser writes it back (case, default port, dot
    /// segments, percent-encoding, a missing `/` path): `iss` is compared byte for byte.
    #[error("the issuer pattern is not in canonical form; write it as {0:?}")]
    NotCanonical(String),
    /// `{tenant}` is not a whole first host label followed by two fixed labels, nor a whole
    /// path segment.
    #[error(
        "`{{tenant}}` must be the first label of a host with two fixed labels after it \
         (`https://{{tenant}}.id.example/oidc`) or a whole path segment (`https://id.example/t/{{tenant}}`)"
    )]
    Placement,
}

/// An issuer URL with one `{tenant}` placeholder, such as `https://{tenant}.logto.app/oidc`:
/// `iss` matches if it is the pattern with the placeholder replaced by a valid tenant id.
///
/// Why a crafted `iss` cannot name another host or path through a pattern:
///
/// * The pattern must be a URL in canonical form (as the WHATWG URL parser writes it back):
///   lowercase scheme and host, no default port, no `.`/`..` segments, no userinfo, query or
///   fragment. `iss` is then compared to it byte for byte, so `HTTPS://`, `:443`, `/oidc/` or
///   `/./oidc` are simply other strings.
/// * The tenant id is 1 to 63 of `a-z`, `0-9` and `-`, neither first nor last a `-`. That leaves
///   out every character that changes what a URL means: `.` (another domain, or a `..` segment),
///   `/`, `\`, `:` (a port), `@` (userinfo), `%` (percent-encoding), `?`, `#`, uppercase letters
///   (another spelling of the same host, hence another issuer string), and everything non-ASCII.
/// * The placeholder fills a whole component: the first label of a host that keeps at least two
///   fixed labels after it (`{tenant}.logto.app`, never `{tenant}logto.app`, which an attacker
///   could register as `evillogto.app`, nor `acme.{tenant}`, a top-level domain), or a whole path
///   segment (`/t/{tenant}/oidc`). Never the scheme, port, userinfo, query or fragment.
///
/// ```
/// use scopegate::resolver::IssuerPattern;
///
/// let pattern = IssuerPattern::new("https://{tenant}.logto.app/oidc")?;
/// assert_eq!(pattern.tenant_of("https://abc123.logto.app/oidc"), Some("abc123"));
/// for crafted in [
///     "https://evil.com#.logto.app/oidc",       // `#` and `.` are no tenant characters
///     "https://abc123.logto.app/oidc/",         // a trailing slash is another issuer
///     "https://ABC123.logto.app/oidc",          // so is another case
///     "https://abc123.logto.app:8443/oidc",     // or a port
///     "https://u@abc123.logto.app/oidc",        // or userinfo
///     "https://abc%2e123.logto.app/oidc",       // or percent-encoding
/// ] {
///     assert_eq!(pattern.tenant_of(crafted), None, "{crafted}");
/// }
/// # Ok::<(), scopegate::resolver::PatternError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerPattern {
    prefix: Box<str>,
    suffix: Box<str>,
}

impl IssuerPattern {
    /// Checks `pattern` (see [`PatternError`] for what is refused).
    pub fn new(pattern: &str) -> Result<IssuerPattern, PatternError> {
        let (prefix, suffix) = pattern
            .split_once(PLACEHOLDER)
            .ok_or(PatternError::Placeholder)?;
        if [prefix, suffix]
            .iter()
            .any(|part| part.contains(['{', '}']))
        {
            return Err(PatternError::Placeholder);
        }
        // A sample tenant of the widest form: if the parser writes this URL back unchanged, it
        // writes back unchanged every URL the pattern matches.
        let sample = format!("{prefix}a-0{suffix}");
        let url = Url::parse(&sample).map_err(|_| PatternError::NotAnIssuerUrl)?;
        if !matches!(url.scheme(), "https" | "http")
            || url.host().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(PatternError::NotAnIssuerUrl);
        }
        if url.as_str() != sample {
            let canonical = url.as_str().replacen("a-0", PLACEHOLDER, 1);
            return Err(PatternError::NotCanonical(canonical));
        }
        let authority_start = url.scheme().len() + "://".len();
        let in_host = prefix.len() == authority_start;
        let in_path = prefix[authority_start..].contains('/')
            && prefix.ends_with('/')
            && (suffix.is_empty() || suffix.starts_with('/'));
        let host_ok = in_host
            && url.host_str().is_some_and(|host| {
                host.starts_with("a-0.") && host.matches('.').count() >= 2 && !host.ends_with('.')
            });
        if !(host_ok || in_path) {
            return Err(PatternError::Placement);
        }
        Ok(IssuerPattern {
            prefix: prefix.into(),
            suffix: suffix.into(),
        })
    }

    /// The tenant id `iss` names, if it matches the pattern exactly with a valid id.
    pub fn tenant_of<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let tenant = iss
            .strip_prefix(&*self.prefix)?
            .strip_suffix(&*self.suffix)?;
        is_tenant_id(tenant).then_some(tenant)
    }

    /// The issuer of `tenant`, if it is a valid tenant id.
    ///
    /// ```
    /// let pattern = scopegate::resolver::IssuerPattern::new("https://{tenant}.logto.app/oidc")?;
    /// assert_eq!(pattern.issuer_of("abc123").as_deref(), Some("https://abc123.logto.app/oidc"));
    /// assert_eq!(pattern.issuer_of("evil.com/"), None);
    /// # Ok::<(), scopegate::resolver::PatternError>(())
    /// ```
    pub fn issuer_of(&self, tenant: &str) -> Option<String> {
        is_tenant_id(tenant).then(|| format!("{}{tenant}{}", self.prefix, self.suffix))
    }
}

impl fmt::Debug for IssuerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IssuerPattern({}{PLACEHOLDER}{})",
            self.prefix, self.suffix
        )
    }
}

/// 1 to [`MAX_TENANT_LEN`] of `a-z`, `0-9`, `-`, neither first nor last a `-` (RFC 1123 §2.1
/// host labels, lowercase only).
fn is_tenant_id(id: &str) -> bool {
    (1..=MAX_TENANT_LEN).contains(&id.len())
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
