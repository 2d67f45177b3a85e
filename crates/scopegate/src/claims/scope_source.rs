//! [`ScopeSource`]: where an issuer puts the granted permissions.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::Claims;
use crate::error::AuthError;

/// Where an issuer puts the granted permissions. A token's [`Scopes`](super::Scopes) are the union of every
/// configured source that is present; a present source of the wrong shape rejects the token.
#[derive(Clone)]
#[non_exhaustive]
pub enum ScopeSource {
    /// `scope`: a space-delimited string (RFC 9068; Logto, Auth0, oidc-provider, Keycloak).
    Scope,
    /// `scp`: a space-delimited string (Entra ID) or an array of strings (Okta).
    Scp,
    /// `permissions`: an array of strings (Auth0 RBAC).
    Permissions,
    /// `realm_access.roles`: Keycloak realm roles.
    KeycloakRealmRoles,
    /// `resource_access.<client>.roles`: Keycloak client roles of the named client.
    KeycloakClientRoles(String),
    /// Any other shape: a function from the verified claims to scope names.
    Custom(ScopeMapper),
}

/// A function from verified claims to the scope names they grant.
pub type ScopeMapper = Arc<dyn Fn(&Claims) -> Result<Vec<String>, ScopeShapeError> + Send + Sync>;

/// A scope claim that is present but not of the shape its [`ScopeSource`] expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("scope claim has an unexpected shape")]
pub struct ScopeShapeError;

impl fmt::Debug for ScopeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeSource::Scope => f.write_str("Scope"),
            ScopeSource::Scp => f.write_str("Scp"),
            ScopeSource::Permissions => f.write_str("Permissions"),
            ScopeSource::KeycloakRealmRoles => f.write_str("KeycloakRealmRoles"),
            ScopeSource::KeycloakClientRoles(client) => {
                f.debug_tuple("KeycloakClientRoles").field(client).finish()
            }
            ScopeSource::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl ScopeSource {
    /// The default: `scope`, then `scp`.
    pub fn defaults() -> Vec<ScopeSource> {
        vec![ScopeSource::Scope, ScopeSource::Scp]
    }

    /// The claim this source reads, as named in a rejection.
    fn claim_name(&self) -> &'static str {
        match self {
            ScopeSource::Scope => "scope",
            ScopeSource::Scp => "scp",
            ScopeSource::Permissions => "permissions",
            ScopeSource::KeycloakRealmRoles => "realm_access.roles",
            ScopeSource::KeycloakClientRoles(_) => "resource_access.<client>.roles",
            ScopeSource::Custom(_) => "custom scope mapper",
        }
    }

    /// Adds this source's scopes to `out`; a claim of the wrong shape is an
    /// [`InvalidClaim`](AuthError::InvalidClaim) naming the claim read.
    pub(crate) fn collect(&self, claims: &Claims, out: &mut Vec<String>) -> Result<(), AuthError> {
        let raw = claims.raw();
        let shape = match self {
            ScopeSource::Scope | ScopeSource::Scp => {
                let name = self.claim_name();
                match raw.get(name) {
                    None | Some(Value::Null) => Ok(()),
                    Some(Value::String(s)) => {
                        out.extend(split_spaces(s));
                        Ok(())
                    }
                    // Okta sends `scp` as an array; `scope` is a string only (RFC 9068 §2.2.3).
                    Some(value) if matches!(self, ScopeSource::Scp) => {
                        string_array(Some(value), out)
                    }
                    Some(_) => Err(ScopeShapeError),
                }
            }
            ScopeSource::Permissions => string_array(raw.get("permissions"), out),
            ScopeSource::KeycloakRealmRoles => {
                let roles = raw.get("realm_access").and_then(|v| v.get("roles"));
                string_array(roles, out)
            }
            ScopeSource::KeycloakClientRoles(client) => {
                let roles = raw
                    .get("resource_access")
                    .and_then(|v| v.get(client))
                    .and_then(|v| v.get("roles"));
                string_array(roles, out)
            }
            ScopeSource::Custom(map) => map(claims).map(|scopes| out.extend(scopes)),
        };
        shape.map_err(|ScopeShapeError| AuthError::InvalidClaim(self.claim_name()))
    }
}

fn split_spaces(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned)
}

fn string_array(value: Option<&Value>, out: &mut Vec<String>) -> Result<(), ScopeShapeError> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    _ => return Err(ScopeShapeError),
                }
            }
            Ok(())
        }
        Some(_) => Err(ScopeShapeError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_name_the_claim_read() {
        let claims = |raw: Value| Claims {
            issuer: "i".into(),
            audience: vec!["a".into()].into(),
            expires_at: 0,
            not_before: None,
            issued_at: None,
            raw: crate::claims::RawClaims::from_map(raw.as_object().cloned().unwrap_or_default()),
        };
        let cases = [
            (
                ScopeSource::Scope,
                serde_json::json!({ "scope": ["a"] }),
                "scope",
            ),
            (ScopeSource::Scp, serde_json::json!({ "scp": 7 }), "scp"),
            (
                ScopeSource::Permissions,
                serde_json::json!({ "permissions": "a" }),
                "permissions",
            ),
            (
                ScopeSource::KeycloakRealmRoles,
                serde_json::json!({ "realm_access": { "roles": [1] } }),
                "realm_access.roles",
            ),
            (
                ScopeSource::KeycloakClientRoles("shop".into()),
                serde_json::json!({ "resource_access": { "shop": { "roles": "a" } } }),
                "resource_access.<client>.roles",
            ),
        ];
        for (source, raw, name) in cases {
            let mut out = Vec::new();
            let error = source.collect(&claims(raw), &mut out).unwrap_err();
            assert_eq!(error, AuthError::InvalidClaim(name), "{source:?}");
        }
        let mut out = Vec::new();
        let okta = serde_json::json!({ "scp": ["read:products"] });
        ScopeSource::Scp.collect(&claims(okta), &mut out).unwrap();
        assert_eq!(out, ["read:products"]);
    }
}
