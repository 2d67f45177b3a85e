//! What a verified token says: registered claims, the granted [`Scopes`], and the rest of the
//! claim set as typed values on request.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::jwks::VerificationKey;

mod raw;
mod scope_source;
pub(crate) use raw::RawClaims;
pub use scope_source::{ScopeMapper, ScopeShapeError, ScopeSource};

/// One scope (RFC 6749 §3.3 `scope-token`), e.g. `read:products`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Box<str>);

impl Scope {
    /// The scope as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Scope {
    fn from(value: &str) -> Self {
        Scope(value.into())
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The set of scopes a token grants: sorted and without duplicates. Cheap to clone: the
/// tokens of one client share one set in the verified-token cache.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Arc<[Scope]>);

impl Scopes {
    /// Parses a space-delimited `scope` value (RFC 6749 §3.3, RFC 9068 §2.2.3).
    pub fn from_space_delimited(value: &str) -> Scopes {
        value.split(' ').filter(|s| !s.is_empty()).collect()
    }

    /// Whether the set grants `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    /// Whether the set grants every one of `scopes`.
    pub fn contains_all<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        scopes.iter().all(|s| self.contains(s.as_ref()))
    }

    /// Whether the set grants at least one of `scopes`.
    pub fn contains_any<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        scopes.iter().any(|s| self.contains(s.as_ref()))
    }

    /// The scopes, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the token grants no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> FromIterator<&'a str> for Scopes {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut scopes: Vec<Scope> = iter.into_iter().map(Scope::from).collect();
        scopes.sort_unstable();
        scopes.dedup();
        Scopes(scopes.into())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

impl fmt::Display for Scopes {
    /// Space-delimited, as in a `scope` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

/// The claim set of a verified token.
///
/// The registered claims are checked and typed; every claim, registered or not, stays reachable
/// through [`get`](Claims::get) and [`deserialize`](Claims::deserialize). A cached token keeps
/// its claims as the payload's JSON text: [`deserialize`](Claims::deserialize) and the string
/// claims ([`subject`](Claims::subject), [`str_claim`](Claims::str_claim)...) read that text,
/// and the first call of [`raw`](Claims::raw) or [`get`](Claims::get) parses it into a map that
/// the token's cache entry then keeps.
#[derive(Clone, PartialEq)]
pub struct Claims {
    /// The issuer's own string, shared with its config.
    pub(crate) issuer: Arc<str>,
    /// Shared by the tokens of one issuer that name the same audiences.
    pub(crate) audience: Arc<[String]>,
    pub(crate) expires_at: i64,
    pub(crate) not_before: Option<i64>,
    pub(crate) issued_at: Option<i64>,
    pub(crate) raw: RawClaims,
}

/// A claim that exists but does not deserialize into the requested type.
#[derive(Debug, thiserror::Error)]
#[error("claim does not have the requested type: {0}")]
pub struct ClaimTypeError(#[from] serde_json::Error);

impl Claims {
    /// `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `aud`, as a list even when the token sent one string.
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `exp`, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// `nbf`, in seconds since the Unix epoch.
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// `iat`, in seconds since the Unix epoch.
    pub fn issued_at(&self) -> Option<i64> {
        self.issued_at
    }

    /// `sub`: for a machine-to-machine token, the client (application) id.
    pub fn subject(&self) -> Option<&str> {
        self.str_claim("sub")
    }

    /// `client_id` (RFC 9068 §2.2).
    pub fn client_id(&self) -> Option<&str> {
        self.str_claim("client_id")
    }

    /// `jti`.
    pub fn jwt_id(&self) -> Option<&str> {
        self.str_claim("jti")
    }

    /// A string claim, if present and a string.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.raw.str_claim(name)
    }

    /// Any claim as a typed value: `Ok(None)` when absent.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ClaimTypeError> {
        match self.raw.map().get(name) {
            None => Ok(None),
            Some(value) => Ok(Some(T::deserialize(value)?)),
        }
    }

    /// The whole claim set as your own type (e.g. a struct with the custom claims you use).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ClaimTypeError> {
        Ok(self.raw.deserialize()?)
    }

    /// Every claim, as sent.
    pub fn raw(&self) -> &Map<String, Value> {
        self.raw.map()
    }
}

impl fmt::Debug for Claims {
    /// Shows the registered claims only: custom claims may be personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("iss", &self.issuer)
            .field("sub", &self.subject())
            .field("client_id", &self.client_id())
            .field("aud", &self.audience)
            .field("exp", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What the layer puts in the request extensions for a verified token: a JWT checked locally,
/// or a token the authorization server vouched for by introspection (RFC 7662), in the same
/// shape, so guards and extractors work unchanged.
#[derive(Clone)]
pub struct AuthContext {
    pub(crate) claims: Claims,
    pub(crate) scopes: Scopes,
    /// The signature's algorithm and key; `None` for an opaque token, known by introspection
    /// only.
    pub(crate) signed: Option<(Algorithm, Arc<VerificationKey>)>,
    pub(crate) issuer_index: usize,
    pub(crate) organization: Option<Box<str>>,
    /// Whether the authorization server was asked about the token (RFC 7662).
    pub(crate) introspected: bool,
    /// `cnf.jkt`: the thumbprint of the key the token is bound to (RFC 9449 §6.1).
    pub(crate) dpop_thumbprint: Option<Box<str>>,
}

impl AuthContext {
    /// The RFC 7638 thumbprint of the key the token is bound to (`cnf.jkt`), for a DPoP-bound
    /// token. The layer has checked the request's proof against it.
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        self.dpop_thumbprint.as_deref()
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.claims.subject()
    }

    /// `client_id`.
    pub fn client_id(&self) -> Option<&str> {
        self.claims.client_id()
    }

    /// `iss`.
    pub fn issuer(&self) -> &str {
        &self.claims.issuer
    }

    /// The organization (tenant, workspace) the token is for, read by the issuer's
    /// [`OrganizationSource`](crate::organization::OrganizationSource)s; `None` when none is
    /// configured or found.
    pub fn organization_id(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// The algorithm the token was signed with; `None` for an opaque token (introspected).
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.signed.as_ref().map(|(alg, _)| *alg)
    }

    /// The `kid` of the key that verified the token.
    pub fn key_id(&self) -> Option<&str> {
        self.signed.as_ref().and_then(|(_, key)| key.kid())
    }

    /// Whether the authorization server vouched for the token by introspection (RFC 7662):
    /// always for an opaque token, and for a JWT under
    /// [`IntrospectionPolicy::Always`](crate::introspect::IntrospectionPolicy::Always).
    pub fn is_introspected(&self) -> bool {
        self.introspected
    }
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("claims", &self.claims)
            .field("scopes", &self.scopes)
            .field("algorithm", &self.algorithm())
            .field("organization", &self.organization)
            .field("kid", &self.key_id())
            .field("introspected", &self.introspected)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_sort_and_dedupe() {
        let scopes = Scopes::from_space_delimited("write:products  read:products read:products ");
        assert_eq!(scopes.len(), 2);
        assert!(scopes.contains("read:products"));
        assert!(!scopes.contains("read"));
        assert!(scopes.contains_all(&["read:products", "write:products"]));
        assert!(scopes.contains_any(&["admin", "write:products"]));
        assert!(!scopes.contains_any::<&str>(&[]));
        assert_eq!(scopes.to_string(), "read:products write:products");
    }
}
