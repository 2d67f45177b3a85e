//! Handler and guard tests with no issuer, no signature and no socket (feature `testing`).
//!
//! [`TestAuth`] builds the [`AuthContext`] that [`BearerAuthLayer`](crate::BearerAuthLayer)
//! would have put in the request after verifying a token, and attaches it to a request. Guards
//! ([`require_scopes`](crate::require_scopes), [`GuardLayer`](crate::GuardLayer)) and extractors
//! then answer exactly as behind the layer: a missing scope is `403 insufficient_scope`, through
//! the same responder. What this cannot test is the token itself (signature, `exp`, `aud`):
//! for that, mint real tokens with `scopegate-dev`.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! scopegate = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::post};
//! use scopegate::{extract::Auth, require_scopes, testing::TestAuth};
//! use tower::ServiceExt as _;
//!
//! async fn add_product(auth: Auth) -> String {
//!     format!("added by {}", auth.client_id().unwrap_or("?"))
//! }
//!
//! // The app's routes and guards, without the layer: the test plays the layer's part.
//! let app = Router::new()
//!     .route("/products", post(add_product).route_layer(require_scopes(["write:products"])));
//!
//! let admin = TestAuth::new().client_id("shopping-admin").scopes("read:products write:products");
//! let request = admin.attach(Request::post("/products").body(Body::empty()).unwrap());
//! let response = app.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let reader = TestAuth::new().client_id("shopping-reader").scopes("read:products");
//! let request = reader.attach(Request::post("/products").body(Body::empty()).unwrap());
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! # }
//! ```

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::{AuthContext, Claims, Scopes};
use crate::error::ErrorResponder;
use crate::jwks::VerificationKey;
use crate::layer::Covered;

/// The issuer of contexts that name none.
pub const TEST_ISSUER: &str = "https://issuer.test";

/// Builds an [`AuthContext`] by hand: the scopes, `client_id`, `sub`, organization and any
/// other claims a verified token would carry. Nothing is signed or checked.
#[derive(Debug, Clone)]
#[must_use]
pub struct TestAuth {
    issuer: String,
    audience: Vec<String>,
    scopes: Scopes,
    organization: Option<Box<str>>,
    algorithm: Algorithm,
    expires_at: i64,
    claims: Map<String, Value>,
    dpop_thumbprint: Option<Box<str>>,
    responder: ErrorResponder,
}

impl Default for TestAuth {
    fn default() -> Self {
        TestAuth::new()
    }
}

impl TestAuth {
    /// A context from [`TEST_ISSUER`] with no scopes, no `client_id` or `sub`, and no
    /// organization, expiring in an hour, as if signed ES384.
    pub fn new() -> TestAuth {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        TestAuth {
            issuer: TEST_ISSUER.to_owned(),
            audience: Vec::new(),
            scopes: Scopes::default(),
            organization: None,
            algorithm: Algorithm::ES384,
            expires_at: now + 3600,
            claims: Map::new(),
            dpop_thumbprint: None,
            responder: ErrorResponder::new(),
        }
    }

    /// The granted scopes, space-delimited like a `scope` claim (`"read:products write:products"`).
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.scopes = Scopes::from_space_delimited(scopes);
        self.claims.insert("scope".into(), Value::from(scopes));
        self
    }

    /// `client_id` (RFC 9068 §2.2).
    pub fn client_id(self, client_id: &str) -> Self {
        self.claim("client_id", client_id)
    }

    /// `sub`.
    pub fn subject(self, subject: &str) -> Self {
        self.claim("sub", subject)
    }

    /// The organization (tenant) that [`AuthContext::organization_id`] answers, as an
    /// [`OrganizationSource`](crate::OrganizationSource) would have read it.
    pub fn organization(mut self, organization: &str) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// `iss` (default [`TEST_ISSUER`]).
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.issuer = issuer.to_owned();
        self
    }

    /// One more `aud` value.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience.push(audience.to_owned());
        self
    }

    /// `exp`, in seconds since the Unix epoch.
    pub fn expires_at(mut self, exp: i64) -> Self {
        self.expires_at = exp;
        self
    }

    /// The algorithm [`AuthContext::algorithm`] answers.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Any claim, read by [`Claims::get`], [`Claims::deserialize`] or
    /// [`TokenClaims<T>`](crate::extract::TokenClaims). Registered claims set here (`scope`,
    /// `iss`, `aud`, `exp`) do not change the typed values: use their own methods.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// A DPoP-bound token: `cnf.jkt` (RFC 9449 §6.1) is `thumbprint`, and
    /// [`AuthContext::dpop_thumbprint`] answers it, as after the layer checked a proof of that key.
    pub fn dpop_thumbprint(mut self, thumbprint: &str) -> Self {
        self.dpop_thumbprint = Some(thumbprint.into());
        self.claim("cnf", serde_json::json!({ "jkt": thumbprint }))
    }

    /// The responder that guards and extractors answer refusals with (default: no realm), as
    /// [`BearerAuthLayer::realm`](crate::BearerAuthLayer::realm) would set it.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.responder = self.responder.with_realm(realm);
        self
    }

    /// The context.
    pub fn build(&self) -> AuthContext {
        let mut raw = self.claims.clone();
        raw.insert("iss".into(), Value::from(self.issuer.as_str()));
        raw.insert("exp".into(), Value::from(self.expires_at));
        if !self.audience.is_empty() {
            raw.insert("aud".into(), Value::from(self.audience.clone()));
        }
        AuthContext {
            claims: Claims {
                issuer: self.issuer.as_str().into(),
                audience: self.audience.clone().into(),
                expires_at: self.expires_at,
                not_before: None,
                issued_at: None,
                raw: crate::claims::RawClaims::from_map(raw),
            },
            scopes: self.scopes.clone(),
            // The key is never used to verify anything: a context made here enters no cache.
            signed: Some((
                self.algorithm,
                Arc::new(VerificationKey::symmetric(&[], AlgorithmSet::EMPTY)),
            )),
            issuer_index: 0,
            organization: self.organization.clone(),
            introspected: false,
            dpop_thumbprint: self.dpop_thumbprint.clone(),
        }
    }

    /// `request`, as the layer passes it on after verifying a token with these claims: the
    /// context and the layer's responder in its extensions.
    pub fn attach<B>(&self, mut request: http::Request<B>) -> http::Request<B> {
        request.extensions_mut().insert(Arc::new(self.build()));
        let covered = Covered::of(&Arc::new(self.responder.clone()), request.headers());
        request.extensions_mut().insert(covered);
        request
    }
}

/// `request`, as a layer in optional mode passes on a request without a token: guards and
/// extractors that need a token answer `401`.
pub fn anonymous<B>(mut request: http::Request<B>) -> http::Request<B> {
    let covered = Covered::of(&Arc::new(ErrorResponder::new()), request.headers());
    request.extensions_mut().insert(covered);
    request
}
