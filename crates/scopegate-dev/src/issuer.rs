//! [`DevIssuer`], the handle on a running issuer: where its endpoints are, whom it knows, and the
//! settings tests change while it serves. Minting and keys add to it from their own modules
//! ([`mint`](crate::mint), [`keyset`](crate::keyset)).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::{DevClient, OpaqueTokens, State, lock, tenants};

/// A running dev issuer. Stops serving when dropped.
pub struct DevIssuer {
    pub(crate) state: Arc<State>,
    pub(crate) addr: SocketAddr,
    /// Shared by the tenants of
    /// [`DevIssuerBuilder::start_tenants`](crate::DevIssuerBuilder::start_tenants): serving
    /// stops when the last of them is dropped. Held for that drop; read only by the `testing`
    /// counters.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) server: Arc<tenants::ServerTask>,
}

impl fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// The issuer identifier, `http://127.0.0.1:<port>/oidc` (`…/t/<tenant>/oidc` for the
    /// tenants of [`DevIssuerBuilder::start_tenants`](crate::DevIssuerBuilder::start_tenants)).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The introspection endpoint (RFC 7662), `<issuer>/token/introspection`.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/token/introspection", self.state.issuer)
    }

    /// The revocation endpoint (RFC 7009), `<issuer>/token/revocation`.
    pub fn revocation_endpoint(&self) -> String {
        format!("{}/token/revocation", self.state.issuer)
    }

    /// Issues an opaque access token to `client_id` directly (no token request), for `audience`
    /// if given, granting `scope`.
    pub fn issue_opaque(&self, client_id: &str, audience: Option<&str>, scope: &str) -> String {
        self.state.issue_opaque(client_id, audience, scope)
    }

    /// Revokes `token` (opaque, or a JWT this issuer issued): introspection says
    /// `active: false` from now on. Returns whether the token was known.
    pub fn revoke(&self, token: &str) -> bool {
        self.state.revoke(token)
    }

    /// Changes when the token endpoint issues opaque tokens.
    pub fn set_opaque_tokens(&self, opaque: OpaqueTokens) {
        *lock(&self.state.opaque_tokens) = opaque;
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.state.issuer)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.issuer)
    }

    /// The endpoint as Logto calls it: the issuer without `/oidc`.
    pub fn endpoint(&self) -> String {
        let issuer = &self.state.issuer;
        issuer.strip_suffix("/oidc").unwrap_or(issuer).to_owned()
    }

    /// The base URL of the Management API, `<endpoint>/api` (see
    /// [`management`](crate::management)).
    pub fn management_api_url(&self) -> String {
        format!("{}/api", self.endpoint())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registered applications.
    pub fn clients(&self) -> &[DevClient] {
        &self.state.clients
    }

    /// Sets the lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        *lock(&self.state.token_ttl) = ttl;
    }
}
