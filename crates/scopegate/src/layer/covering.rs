//! What a layer leaves a request for the guards and extractors behind it: an anonymous request
//! carries the layer's responder (`Covered`); a verified one carries only its context, and the
//! layer's response future answers what they refuse (`Covering`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{AuthError, ErrorResponder, Shape};

/// Put in the extensions of a request the layer let through without a token, so that guards and
/// extractors answer with the same realm and renderer, in the request's shape (HTTP or gRPC),
/// and can tell "anonymous" from "not covered". A request with a verified token carries its
/// `Arc<AuthContext>` alone: what guards and extractors refuse on it is answered again by the
/// layer on the way out (`ForLayer`).
#[derive(Clone, Debug)]
pub(crate) struct Covered(pub(crate) Arc<ErrorResponder>, pub(crate) Shape);

impl Covered {
    /// `responder` for the request with these headers.
    pub(crate) fn of(responder: &Arc<ErrorResponder>, request: &http::HeaderMap) -> Covered {
        Covered(Arc::clone(responder), Shape::of(request))
    }
}

/// What a let-through request's response future answers refusals marked `ForLayer` with: the
/// layer's responder, in the request's shape.
pub(crate) struct Covering(pub(crate) Arc<ErrorResponder>, pub(crate) Shape);

impl Covering {
    pub(crate) fn of(responder: &Arc<ErrorResponder>, request: &http::HeaderMap) -> Covering {
        Covering(Arc::clone(responder), Shape::of(request))
    }
}

/// A guard or extractor ran where no [`BearerAuthLayer`](crate::BearerAuthLayer) did: say so in
/// the log, once, and refuse as if no token had been sent.
pub(crate) fn not_configured() -> AuthError {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        tracing::error!(
            target: "scopegate::config",
            "a scope guard or extractor ran on a route without BearerAuthLayer; \
             refusing every request on it (add the layer with Router::layer)"
        );
    }
    AuthError::NotConfigured
}
