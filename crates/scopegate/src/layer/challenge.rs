//! What a layer's refusals say: the realm, `resource_metadata`, the 401 `scope`, the body
//! renderer and the DPoP challenge, kept in its two responders (one for `Bearer` requests, one
//! for `DPoP` requests).

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use super::BearerAuthLayer;
use crate::dpop::DpopConfig;
use crate::error::{AuthError, ErrorResponder};
use crate::metadata::{RequiredScopes, ResourceMetadata};

impl BearerAuthLayer {
    /// Sets both responders from `responder`, each with the challenges of the DPoP mode.
    pub(super) fn set_responder(&mut self, responder: ErrorResponder) {
        let settings = self.settings();
        let dpop = &settings.dpop;
        settings.dpop_responder = Arc::new(responder.clone().with_schemes(dpop.schemes(true)));
        settings.responder = Arc::new(responder.with_schemes(dpop.schemes(false)));
    }

    /// Sets how DPoP (RFC 9449) is handled: by default `allowed`, with an in-memory replay store
    /// and the URL rebuilt from each request. See [`dpop`](crate::dpop).
    #[must_use]
    pub fn dpop(mut self, config: DpopConfig) -> Self {
        self.settings().dpop = Arc::new(config);
        let responder = (*self.settings().responder).clone();
        self.set_responder(responder);
        self
    }

    /// Sets the `realm` of `WWW-Authenticate` challenges.
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let responder = (*self.settings().responder).clone().with_realm(realm);
        self.set_responder(responder);
        self
    }

    /// Points every challenge of this layer, and of the guards, extractors and per-operation
    /// checks behind it, to `metadata` (`resource_metadata="…"`, RFC 9728 §5.1), and records
    /// the scopes of routes made with [`require_scopes`](Self::require_scopes) in its
    /// `scopes_supported` (those recorded before are carried over).
    #[must_use]
    pub fn resource_metadata(mut self, metadata: &ResourceMetadata) -> Self {
        let shared = metadata.required_scopes();
        if !self.settings.scopes.same_as(shared) {
            shared.absorb(&self.settings.scopes);
            self.settings().scopes = shared.clone();
        }
        self.resource_metadata_url(metadata.url())
    }

    /// Sets the `resource_metadata` URL of every challenge directly, for a document published
    /// elsewhere (another service, a static file).
    #[must_use]
    pub fn resource_metadata_url(mut self, url: impl Into<String>) -> Self {
        let responder = (*self.settings().responder)
            .clone()
            .with_resource_metadata(url);
        self.set_responder(responder);
        self
    }

    /// Names `scopes` in the `scope` attribute of this layer's 401 challenges: what a client
    /// should request (RFC 6750 §3). Per route, prefer [`require_scopes`](Self::require_scopes),
    /// which sets it from the route's requirement.
    #[must_use]
    pub fn challenge_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let responder = (*self.settings().responder)
            .clone()
            .with_challenge_scope(scopes.join(" "));
        self.set_responder(responder);
        self
    }

    /// The scopes recorded by the per-route layers made from this one (and by your own
    /// [`RequiredScopes::record`] calls): the `scopes_supported` of the metadata.
    pub fn required_scopes(&self) -> &RequiredScopes {
        &self.settings.scopes
    }

    /// Renders refusal bodies your way; status, `WWW-Authenticate` and `Retry-After` stay as
    /// RFC 6750 wants them.
    #[must_use]
    pub fn body_renderer(
        mut self,
        renderer: impl Fn(&AuthError) -> (HeaderValue, Bytes) + Send + Sync + 'static,
    ) -> Self {
        let responder = (*self.settings().responder)
            .clone()
            .with_body_renderer(renderer);
        self.set_responder(responder);
        self
    }
}
