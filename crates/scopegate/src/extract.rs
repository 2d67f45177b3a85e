//! axum extractors that read what [`BearerAuthLayer`](crate::BearerAuthLayer) put in the
//! request extensions.
//!
//! Used on a route the layer does not cover, they refuse the request (401) and log the
//! configuration mistake once: a missing layer never means an open route.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::claims::{AuthContext, Scopes};
use crate::error::{AuthError, ErrorResponder};
use crate::layer::{Covered, not_configured};

/// The verified token of the request.
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
#[derive(Debug, Clone)]
pub struct Auth(pub Arc<AuthContext>);

impl Deref for Auth {
    type Target = AuthContext;

    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

/// The refusal of an extractor, rendered with the layer's realm and body renderer.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    error: AuthError,
    responder: Option<Arc<ErrorResponder>>,
}

impl AuthRejection {
    /// A refusal answered with the responder of the layer covering `parts` (if any).
    pub(crate) fn new(error: AuthError, parts: &Parts) -> AuthRejection {
        AuthRejection {
            error,
            responder: responder(parts),
        }
    }

    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let responder = self.responder.unwrap_or_default();
        responder.respond(&self.error).map(axum::body::Body::new)
    }
}

/// The request's context: `Ok(None)` for an anonymous request the layer let through, an error
/// where no layer ran.
fn lookup(parts: &Parts) -> Result<Option<Arc<AuthContext>>, AuthRejection> {
    if parts.extensions.get::<Covered>().is_none() {
        return Err(AuthRejection {
            error: not_configured(),
            responder: None,
        });
    }
    Ok(parts.extensions.get::<Arc<AuthContext>>().cloned())
}

fn responder(parts: &Parts) -> Option<Arc<ErrorResponder>> {
    parts
        .extensions
        .get::<Covered>()
        .map(|Covered(responder)| Arc::clone(responder))
}

pub(crate) fn required(parts: &Parts) -> Result<Arc<AuthContext>, AuthRejection> {
    lookup(parts)?.ok_or_else(|| AuthRejection {
        error: AuthError::MissingToken,
        responder: responder(parts),
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts).map(Auth)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(lookup(parts)?.map(Auth))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts).map(|context| context.scopes().clone())
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
        let context = required(parts)?;
        context
            .claims()
            .deserialize()
            .map(TokenClaims)
            .map_err(|_| AuthRejection {
                error: AuthError::InvalidClaim("custom"),
                responder: responder(parts),
            })
    }
}
