//! axum extractors that read what [`BearerAuthLayer`](crate::BearerAuthLayer) put in the
//! request extensions.
//!
//! Used on a route the layer does not cover, they refuse the request (401) and log the
//! configuration mistake once: a missing layer never means an open route.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::Extensions;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::claims::{AuthContext, Scopes};
use crate::error::{AuthError, ErrorResponder, Shape, respond_covered};
use crate::layer::{Covered, not_configured};

/// The verified token of the request, with the challenge of the layer that verified it.
///
/// ```
/// use scopegate::extract::Auth;
///
/// async fn whoami(auth: Auth) -> String {
///     format!("{} with {}", auth.client_id().unwrap_or("?"), auth.scopes())
/// }
/// ```
///
/// `Option<Auth>` is `None` for anonymous requests let through by
/// [`allow_anonymous`](crate::BearerAuthLayer::allow_anonymous).
///
/// # Per-operation checks
/// Where one route serves several operations (a JSON-RPC endpoint, MCP tools, GraphQL fields),
/// the handler requires each operation's scopes itself. The refusal renders exactly like a
/// route guard's 403: the layer's realm, `resource_metadata`, body renderer, and
/// `scope="…"` naming what the operation needs; the layer counts it as the request's verdict.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use scopegate::extract::Auth;
///
/// async fn rpc(auth: Auth, method: String) -> Response {
///     let scopes: &[&str] = match method.as_str() {
///         "add_product" => &["write:products"],
///         _ => &["read:products"],
///     };
///     if let Err(refusal) = auth.require_scopes(scopes) {
///         return refusal.into_response(); // 403 insufficient_scope, scope="write:products"
///     }
///     format!("{method} done").into_response()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    context: Arc<AuthContext>,
    /// The covering layer's, when the request carries it (see [`AuthRejection`]).
    responder: Option<Arc<ErrorResponder>>,
    /// How the request is answered: HTTP, or a gRPC status.
    shape: Shape,
}

impl Deref for Auth {
    type Target = AuthContext;

    fn deref(&self) -> &AuthContext {
        &self.context
    }
}

impl Auth {
    /// The verified token of a request behind a [`BearerAuthLayer`](crate::BearerAuthLayer),
    /// read from its extensions: for code that holds the request itself (a handler that reads
    /// the body before dispatching it), where an extractor cannot run.
    pub fn from_extensions(extensions: &Extensions) -> Result<Auth, AuthRejection> {
        required(extensions)
    }

    /// The verified token's context.
    pub fn context(&self) -> &Arc<AuthContext> {
        &self.context
    }

    /// The context, unwrapped.
    pub fn into_context(self) -> Arc<AuthContext> {
        self.context
    }

    /// `Ok` if the token holds every one of `scopes`; otherwise the 403 `insufficient_scope`
    /// refusal naming them, as the layer renders it.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), AuthRejection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.check(scopes, true)
    }

    /// `Ok` if the token holds at least one of `scopes`; otherwise the 403 refusal naming them.
    pub fn require_any_scope<I, S>(&self, scopes: I) -> Result<(), AuthRejection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.check(scopes, false)
    }

    fn check<I, S>(&self, scopes: I, all: bool) -> Result<(), AuthRejection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes: Vec<S> = scopes.into_iter().collect();
        let held = self.context.scopes();
        let met = if all {
            held.contains_all(&scopes)
        } else {
            held.contains_any(&scopes)
        };
        if met {
            return Ok(());
        }
        let required: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
        Err(self.refuse(AuthError::InsufficientScope {
            required: Arc::from(required.join(" ")),
        }))
    }

    /// Any refusal of this request, answered by the layer's responder (and counted by the
    /// layer as the request's verdict).
    pub fn refuse(&self, error: AuthError) -> AuthRejection {
        AuthRejection {
            error,
            responder: self.responder.clone(),
            shape: self.shape,
        }
    }
}

/// The refusal of an extractor, rendered with the layer's realm and body renderer.
///
/// Behind a layer that verified the request's token, the refusal is rendered with the default
/// responder and answered again by that layer, with its own, on the way out: what leaves the
/// server always carries the layer's realm, `resource_metadata`, `scope` and body renderer.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    error: AuthError,
    responder: Option<Arc<ErrorResponder>>,
    shape: Shape,
}

impl AuthRejection {
    /// A refusal answered with the responder of the layer covering `parts` (if any), in the
    /// request's shape.
    pub(crate) fn new(error: AuthError, parts: &Parts) -> AuthRejection {
        AuthRejection {
            error,
            responder: responder(&parts.extensions),
            shape: Shape::of(&parts.headers),
        }
    }

    /// The response (or, for a gRPC request, its gRPC status), as an `http` response (what
    /// [`IntoResponse`] gives, before axum's body type). Its challenge and body are the
    /// layer's once it has passed the layer (see above).
    pub fn to_http_response(&self) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        respond_covered(self.responder.as_deref(), &self.error, self.shape)
    }

    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.to_http_response().map(axum::body::Body::new)
    }
}

/// The request's verified token: `Ok(None)` for an anonymous request the layer let through, an
/// error where no layer ran.
///
/// Where no layer ran, the request's shape is not known here: the refusal is HTTP's. The
/// extractors, which hold the request's head, correct it with [`AuthRejection::shaped`].
fn lookup(extensions: &Extensions) -> Result<Option<Auth>, AuthRejection> {
    let covered = extensions.get::<Covered>();
    match (extensions.get::<Arc<AuthContext>>(), covered) {
        (Some(context), _) => Ok(Some(Auth {
            context: Arc::clone(context),
            responder: covered.map(|Covered(responder, _)| Arc::clone(responder)),
            shape: covered.map_or(Shape::Http, |Covered(_, shape)| *shape),
        })),
        // Anonymous, let through by an optional layer.
        (None, Some(_)) => Ok(None),
        (None, None) => Err(AuthRejection {
            error: not_configured(),
            responder: None,
            shape: Shape::Http,
        }),
    }
}

fn responder(extensions: &Extensions) -> Option<Arc<ErrorResponder>> {
    extensions
        .get::<Covered>()
        .map(|Covered(responder, _)| Arc::clone(responder))
}

pub(crate) fn required(extensions: &Extensions) -> Result<Auth, AuthRejection> {
    lookup(extensions)?.ok_or_else(|| AuthRejection {
        error: AuthError::MissingToken,
        responder: responder(extensions),
        shape: extensions
            .get::<Covered>()
            .map_or(Shape::Http, |Covered(_, shape)| *shape),
    })
}

impl AuthRejection {
    /// This refusal in the shape of the request with these headers (for the extractors, which
    /// see a request no layer covered).
    pub(crate) fn shaped(mut self, parts: &Parts) -> AuthRejection {
        self.shape = Shape::of(&parts.headers);
        self
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(&parts.extensions).map_err(|rejection| rejection.shaped(parts))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        lookup(&parts.extensions).map_err(|rejection| rejection.shaped(parts))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(&parts.extensions)
            .map(|auth| auth.scopes().clone())
            .map_err(|rejection| rejection.shaped(parts))
    }
}

/// The whole claim set of the verified token as your own type.
///
/// A token whose claims do not fit `T` is refused with 401 `invalid_token`.
///
/// ```
/// use scopegate::extract::TokenClaims;
///
/// #[derive(serde::Deserialize)]
/// struct MyClaims { sub: String, organization_id: Option<String> }
///
/// async fn handler(TokenClaims(claims): TokenClaims<MyClaims>) -> String {
///     claims.sub
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TokenClaims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for TokenClaims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = required(&parts.extensions).map_err(|rejection| rejection.shaped(parts))?;
        auth.claims()
            .deserialize()
            .map(TokenClaims)
            .map_err(|_| auth.refuse(AuthError::InvalidClaim("custom")))
    }
}
