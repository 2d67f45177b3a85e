//! One issuer's state, and the context handlers see once its token has passed.

use std::sync::Arc;

use super::ParsedToken;
use super::claims_check::CheckedClaims;
use super::shared::Shared;
use crate::claims::{AuthContext, Claims, RawClaims};
use crate::config::AuthConfig;
use crate::dpop;
use crate::error::AuthError;
use crate::jwks::{KeySource, VerificationKey};

/// One issuer: its config, its key source, its HMAC secret if it has one, and what its cached
/// tokens share.
pub(crate) struct IssuerState {
    pub(crate) config: AuthConfig,
    pub(crate) keys: KeySource,
    pub(super) secret: Option<Arc<VerificationKey>>,
    pub(super) shared: Shared,
}

impl IssuerState {
    /// The header's `alg` on the allow-list and its `typ` as the config's policy wants.
    pub(super) fn accepts_header(&self, parsed: &ParsedToken<'_>) -> Result<(), AuthError> {
        if !self.config.algorithms.contains(parsed.alg) {
            return Err(AuthError::DisallowedAlgorithm);
        }
        if !self.config.token_type.accepts(parsed.typ.as_deref()) {
            return Err(AuthError::WrongTokenType);
        }
        Ok(())
    }

    /// What handlers see: the checked claims, the scopes of the config's scope sources, then
    /// the organization of its organization sources.
    pub(super) fn context(
        &self,
        issuer_index: usize,
        parsed: &mut ParsedToken<'_>,
        checked: CheckedClaims,
        key: Arc<VerificationKey>,
    ) -> Result<AuthContext, AuthError> {
        let config = &self.config;
        let mut claims = Claims {
            issuer: Arc::clone(&config.issuer),
            audience: self.shared.audience(checked.audience),
            expires_at: checked.expires_at,
            not_before: checked.not_before,
            issued_at: checked.issued_at,
            // Moved, not cloned: this is the hot path of a first sight.
            raw: RawClaims::parsed(
                std::mem::take(&mut parsed.payload),
                std::mem::take(&mut parsed.claims),
            ),
        };
        let mut granted = Vec::new();
        for source in &config.scope_sources {
            if let Err(error) = source.collect(&claims, &mut granted) {
                // Give the claims back for the rejection's log line.
                parsed.claims = claims.raw.into_map();
                return Err(error);
            }
        }
        let scopes = self
            .shared
            .scopes(granted.iter().map(String::as_str).collect());
        let organization = config
            .organization_sources
            .iter()
            .find_map(|s| s.find(&claims));
        // RFC 9449 §6: read in every mode, so that a binding is never ignored.
        let dpop_thumbprint = match dpop::confirmation(claims.raw.map()) {
            Ok(thumbprint) => thumbprint,
            Err(error) => {
                parsed.claims = claims.raw.into_map();
                return Err(error);
            }
        };
        // The cache keeps the text only; the map is parsed again if a handler asks for it.
        claims.raw.shed_map();
        Ok(AuthContext {
            claims,
            scopes,
            signed: Some((parsed.alg, key)),
            issuer_index,
            organization,
            introspected: false,
            dpop_thumbprint,
        })
    }
}
