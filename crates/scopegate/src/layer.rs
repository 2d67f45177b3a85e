//! [`BearerAuthLayer`]: validates the bearer token of every request and puts the
//! [`AuthContext`] in the request extensions.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::claims::AuthContext;
use crate::cross_site::CrossSitePolicy;
use crate::dpop::DpopConfig;
use crate::error::{AuthError, ErrorResponder};
use crate::metadata::RequiredScopes;
use crate::route::ScopeRequirement;
use crate::token::{Scheme, TokenLocation, locate_token, unchecked_bearer};
use crate::validate::Validator;
use crate::verify_pool::peer_address;

mod challenge;
mod covering;
mod dpop;
mod future;
use covering::Covering;
pub(crate) use covering::{Covered, not_configured};
pub use future::ResponseFuture;

/// Checks `Authorization: Bearer` tokens with a [`Validator`].
///
/// A request with a valid token reaches the inner service with an `Arc<AuthContext>` in its
/// extensions; any other request is answered by the layer (400/401/503, see
/// [`error`](crate::error)). Scope checks are per route: see [`guard`](crate::guard).
///
/// ```
/// use scopegate::{AuthConfig, BearerAuthLayer, Validator};
/// # fn demo() -> Result<(), scopegate::ConfigError> {
/// let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://shopping.api").build()?;
/// let layer = BearerAuthLayer::new(Validator::new(config)?).realm("shopping");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BearerAuthLayer {
    validator: Validator,
    settings: Arc<Settings>,
}

#[derive(Clone)]
struct Settings {
    /// Answers `Bearer` requests (and requests without a token).
    responder: Arc<ErrorResponder>,
    /// Answers `DPoP` requests: a general error goes on the `DPoP` challenge.
    dpop_responder: Arc<ErrorResponder>,
    dpop: Arc<DpopConfig>,
    allow_anonymous: bool,
    locations: Vec<TokenLocation>,
    cross_site: CrossSitePolicy,
    /// Shared by every clone and every per-route layer made from this one.
    scopes: RequiredScopes,
    /// The scopes of the one route this layer guards ([`guard`](BearerAuthLayer::guard),
    /// [`require_scopes`](BearerAuthLayer::require_scopes)): checked on the token this layer
    /// accepts, so a guarded route runs one service per request, not a layer and a guard.
    route_scopes: Option<Arc<ScopeRequirement>>,
}

impl fmt::Debug for BearerAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("validator", &self.validator)
            .field("responder", &self.settings.responder)
            .field("dpop", &self.settings.dpop)
            .field("allow_anonymous", &self.settings.allow_anonymous)
            .field("locations", &self.settings.locations)
            .field("cross_site", &self.settings.cross_site)
            .field("required_scopes", &self.settings.scopes)
            .field("route_scopes", &self.settings.route_scopes)
            .finish()
    }
}

impl BearerAuthLayer {
    /// A layer that requires a valid token on every request.
    pub fn new(validator: Validator) -> Self {
        let mut layer = BearerAuthLayer {
            validator,
            settings: Arc::new(Settings {
                responder: Arc::new(ErrorResponder::new()),
                dpop_responder: Arc::new(ErrorResponder::new()),
                dpop: Arc::new(DpopConfig::default()),
                allow_anonymous: false,
                locations: Vec::new(),
                cross_site: CrossSitePolicy::default(),
                scopes: RequiredScopes::new(),
                route_scopes: None,
            }),
        };
        layer.set_responder(ErrorResponder::new());
        layer
    }

    fn settings(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Lets requests without any token through without an [`AuthContext`] (for routes that only
    /// personalise). A token that is present but invalid is still refused.
    #[must_use]
    pub fn allow_anonymous(mut self) -> Self {
        self.settings().allow_anonymous = true;
        self
    }

    /// Also looks for the token in `location` (a cookie or a custom header). A request with
    /// tokens in two places is refused with `invalid_request`.
    ///
    /// A token from a cookie is refused on unsafe methods (`POST`, `PUT`, `PATCH`, `DELETE`, …)
    /// of cross-site requests (403 `invalid_request`), judged from `Sec-Fetch-Site` and `Origin`:
    /// the browser attaches the cookie whoever wrote the page. Name the sites of your own front
    /// ends with [`allowed_origin`](Self::allowed_origin). Set the cookie `SameSite=Strict` (or
    /// `Lax`), `Secure` and `HttpOnly` as well.
    #[must_use]
    pub fn token_location(mut self, location: TokenLocation) -> Self {
        self.settings().locations.push(location);
        self
    }

    /// Trusts cross-site requests from `origin` (`scheme://host[:port]`, e.g.
    /// `https://shop.example.com`) to carry a cookie-borne token on unsafe methods.
    ///
    /// ```
    /// use scopegate::token::TokenLocation;
    /// # fn demo(validator: scopegate::Validator) {
    /// let layer = scopegate::BearerAuthLayer::new(validator)
    ///     .token_location(TokenLocation::Cookie("access_token".into()))
    ///     .allowed_origin("https://shop.example.com");
    /// # }
    /// ```
    #[must_use]
    pub fn allowed_origin(mut self, origin: impl AsRef<str>) -> Self {
        self.settings().cross_site.allow_origin(origin.as_ref());
        self
    }

    /// Turns the cross-site check of cookie-borne tokens off: any site can then make a visitor's
    /// browser send unsafe requests with the visitor's token. Only for cookies that are
    /// `SameSite=Strict`, or behind your own CSRF defence.
    #[must_use]
    pub fn allow_cross_site_cookie_tokens(mut self) -> Self {
        self.settings().cross_site.allow_all();
        self
    }

    /// The validator this layer uses.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// This layer, guarding one route that requires `scopes`.
    pub(crate) fn with_route_scopes(mut self, scopes: Arc<ScopeRequirement>) -> Self {
        self.settings().route_scopes = Some(scopes);
        self
    }

    pub(crate) fn route_scopes(&self) -> Option<&ScopeRequirement> {
        self.settings.route_scopes.as_deref()
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuthService {
            inner,
            validator: self.validator.clone(),
            settings: Arc::clone(&self.settings),
        }
    }
}

/// The service of [`BearerAuthLayer`].
#[derive(Clone)]
pub struct BearerAuthService<S> {
    inner: S,
    validator: Validator,
    settings: Arc<Settings>,
}

impl<S> BearerAuthService<S> {
    scopegate_http::inner_service_accessors!();

    /// A request whose `Bearer` token the verified-token cache knows: bound tokens refused,
    /// the context and this layer's responder in the extensions, the verdict left to the
    /// response.
    fn accept_cached<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
        context: Arc<AuthContext>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    {
        let settings = &self.settings;
        // Never fail open: a token bound to a key is no bearer token (RFC 9449 §7.2).
        if let Err(error) = settings.dpop.bind_bearer(&context) {
            self.validator.record_rejection(&error, None);
            return ResponseFuture::refused(&settings.responder, &error, request.headers());
        }
        if let Err(error) = check_route_scopes(settings.route_scopes.as_deref(), &context) {
            self.validator.count_rejection(&error);
            return ResponseFuture::refused(&settings.responder, &error, request.headers());
        }
        let covering = Covering::of(&settings.responder, request.headers());
        request.extensions_mut().insert(context);
        let verdict = self.validator.pending_verdict(false);
        ResponseFuture::calling(self.inner.call(request), Some(verdict), covering)
    }
}

impl<S: fmt::Debug> fmt::Debug for BearerAuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthService")
            .field("inner", &self.inner)
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

/// A request's validation when it cannot be answered at once (a token's first sight, or a DPoP
/// proof): boxed only then.
pub(super) type Validation = Pin<Box<dyn Future<Output = Result<Validated, AuthError>> + Send>>;

/// What a validation that passed gives the inner service and the response.
pub(super) struct Validated {
    pub(super) context: Arc<AuthContext>,
    /// A `DPoP-Nonce` for the response: the server nonce moved on (RFC 9449 §8.2).
    pub(super) nonce: Option<HeaderValue>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &self.settings;
        // An outer scopegate layer already verified this request's token (a router-wide layer
        // and a route's own): answer with this layer's challenge, but do not validate or count
        // the request twice.
        if let Some(context) = request.extensions().get::<Arc<AuthContext>>() {
            // A bound token came with the DPoP scheme (the outer layer refused it otherwise).
            let responder = if context.dpop_thumbprint().is_some() {
                &settings.dpop_responder
            } else {
                &settings.responder
            };
            // Refused in the response: the outer layer's verdict counts it.
            if let Err(error) = check_route_scopes(settings.route_scopes.as_deref(), context) {
                return ResponseFuture::refused(responder, &error, request.headers());
            }
            // What is refused behind this layer is answered with its responder, not the outer
            // one's: this future is the first to see the response.
            let covering = Covering::of(responder, request.headers());
            return ResponseFuture::calling(self.inner.call(request), None, covering);
        }
        // The common case first: a cached token in the `Authorization` header, found before
        // its characters are checked (a hit is a token that passed every check; anything else
        // takes the checked path below, so every refusal is as before).
        if settings.locations.is_empty()
            && let Some(token) = unchecked_bearer(request.headers())
            && let Some(context) = self.validator.cached_context(token)
        {
            return self.accept_cached(request, context);
        }
        let token = match locate_token(request.headers(), &settings.locations) {
            Ok((token, _, Scheme::Dpop)) => {
                let token = Box::<str>::from(token);
                return self.call_dpop(request, token);
            }
            Ok((token, Some(TokenLocation::Cookie(_)), _)) => {
                let checked =
                    settings
                        .cross_site
                        .check(request.method(), request.uri(), request.headers());
                if let Err(error) = checked {
                    self.validator.record_rejection(&error, None);
                    return ResponseFuture::refused(&settings.responder, &error, request.headers());
                }
                token
            }
            Ok((token, _, _)) => token,
            // A guarded route needs a token even behind an optional layer.
            Err(AuthError::MissingToken)
                if settings.allow_anonymous && settings.route_scopes.is_none() =>
            {
                let covered = Covered::of(&settings.responder, request.headers());
                let covering = Covering(Arc::clone(&covered.0), covered.1);
                request.extensions_mut().insert(covered);
                let verdict = self.validator.pending_verdict(true);
                return ResponseFuture::calling(self.inner.call(request), Some(verdict), covering);
            }
            Err(error) => {
                self.validator.record_rejection(&error, None);
                return ResponseFuture::refused(&settings.responder, &error, request.headers());
            }
        };
        match self.validator.validate_cached(token) {
            Some(Ok(context)) => self.accept_cached(request, context),
            Some(Err(error)) => {
                ResponseFuture::refused(&settings.responder, &error, request.headers())
            }
            None => {
                let validator = self.validator.clone();
                let dpop = Arc::clone(&settings.dpop);
                let route_scopes = settings.route_scopes.clone();
                let token = token.to_owned();
                let peer = peer_address(request.extensions());
                let validation: Validation = Box::pin(async move {
                    let context = validator.validate_uncached(&token, peer).await?;
                    if let Err(error) = dpop.bind_bearer(&context) {
                        validator.record_rejection(&error, None);
                        return Err(error);
                    }
                    if let Err(error) = check_route_scopes(route_scopes.as_deref(), &context) {
                        validator.count_rejection(&error);
                        return Err(error);
                    }
                    Ok(Validated {
                        context,
                        nonce: None,
                    })
                });
                // `self.inner` was polled ready; take it and leave a fresh clone in its place
                // (tower's rule for services called after an await).
                let clone = self.inner.clone();
                let service = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::validating(
                    validation,
                    (request, service, self.validator.clone()),
                    Arc::clone(&settings.responder),
                )
            }
        }
    }
}

/// A route's scopes, if the layer guards one, checked on the token it accepted.
fn check_route_scopes(
    required: Option<&ScopeRequirement>,
    context: &AuthContext,
) -> Result<(), AuthError> {
    required.map_or(Ok(()), |required| required.check_scopes(context))
}
