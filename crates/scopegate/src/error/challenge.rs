//! The `WWW-Authenticate` challenges of a refusal: `Bearer` (RFC 6750 §3), `DPoP` (RFC 9449
//! §7.1), or both where both schemes are accepted.

use std::sync::Arc;

use http::{HeaderValue, StatusCode};

use super::responder::push_param;
use super::{AuthError, ErrorResponder};

/// The schemes a responder challenges with, and the one the refused request used.
#[derive(Debug, Clone)]
pub(crate) struct Schemes {
    /// `Bearer` is accepted (not in DPoP's `required` mode).
    pub(crate) bearer: bool,
    /// `DPoP` is accepted, with these proof algorithms (the `algs` parameter).
    pub(crate) dpop_algs: Option<Arc<str>>,
    /// The request used the `DPoP` scheme: a general error (an expired token, a missing scope)
    /// goes on the `DPoP` challenge.
    pub(crate) dpop_request: bool,
}

impl Default for Schemes {
    fn default() -> Self {
        Schemes {
            bearer: true,
            dpop_algs: None,
            dpop_request: false,
        }
    }
}

impl ErrorResponder {
    /// Every `WWW-Authenticate` value for `error`, `Bearer` first; none for a 503.
    pub fn challenges(&self, error: &AuthError) -> Vec<HeaderValue> {
        if error.retry_after().is_some() {
            return Vec::new();
        }
        let schemes = self.schemes();
        let dpop_offered = schemes.dpop_algs.is_some();
        let wants_dpop = match error {
            AuthError::Dpop(refusal) if refusal.on_dpop_challenge() => true,
            _ => schemes.dpop_request,
        };
        let error_on_dpop = dpop_offered && (wants_dpop || !schemes.bearer);
        let mut out = Vec::with_capacity(2);
        if schemes.bearer || !dpop_offered {
            out.push(self.one("Bearer", (!error_on_dpop).then_some(error), None));
        }
        if let Some(algs) = &schemes.dpop_algs {
            out.push(self.one("DPoP", error_on_dpop.then_some(error), Some(algs)));
        }
        out
    }

    /// One challenge: realm, `resource_metadata` (RFC 9728 §5.1, in every challenge), the error,
    /// the scope (of the refused check on a 403, the route's on a 401), and DPoP's `algs`.
    fn one(
        &self,
        scheme: &'static str,
        error: Option<&AuthError>,
        algs: Option<&str>,
    ) -> HeaderValue {
        let mut value = String::from(scheme);
        let mut sep = " ";
        let mut param = |name: &str, text: &str| {
            push_param(&mut value, sep, name, text);
            sep = ", ";
        };
        if let Some(realm) = self.realm() {
            param("realm", realm);
        }
        if let Some(url) = self.resource_metadata() {
            param("resource_metadata", url);
        }
        if let Some(error) = error
            && let Some(code) = error.code()
        {
            param("error", code.as_str());
            param("error_description", &error.to_string());
        }
        match error {
            Some(AuthError::InsufficientScope { required }) => param("scope", required),
            Some(error) if error.status() != StatusCode::UNAUTHORIZED => {}
            // A 401 (or the challenge beside the one carrying the error): what to ask for.
            _ => {
                if let Some(scope) = self.challenge_scope() {
                    param("scope", scope);
                }
            }
        }
        if let Some(algs) = algs {
            param("algs", algs);
        }
        // Every piece is quoted and stripped of control characters, so this cannot fail; the
        // fallback keeps a valid challenge if it ever did.
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(scheme))
    }
}
