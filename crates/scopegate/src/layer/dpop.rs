//! A request with the `DPoP` scheme (RFC 9449 §7.1): the proof's cheap checks on `&Parts`,
//! then the token, its binding, the proof's signature and its `jti` record, in one boxed future.

use std::sync::Arc;

use http::{HeaderValue, Request, Response};
use tower_service::Service;

use super::{BearerAuthService, ResponseFuture, Validated, Validation, check_route_scopes};
use crate::verify_pool::peer_address;

impl<S> BearerAuthService<S> {
    /// A request with the `DPoP` scheme: the proof's cheap checks on `&Parts`, then the token
    /// (from the cache or verified), its binding, the proof's signature and its `jti` record.
    pub(super) fn call_dpop<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
        token: Box<str>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    {
        let settings = &self.settings;
        let (parts, body) = request.into_parts();
        let presented = match settings.dpop.inspect(&parts, &token) {
            Ok(presented) => presented,
            Err(error) => {
                self.validator.record_rejection(&error, None);
                return ResponseFuture::refused(&settings.responder, &error, &parts.headers);
            }
        };
        let request = Request::from_parts(parts, body);
        let validator = self.validator.clone();
        let dpop = Arc::clone(&settings.dpop);
        let route_scopes = settings.route_scopes.clone();
        let peer = peer_address(request.extensions());
        let validation: Validation = Box::pin(async move {
            let context = match validator.validate_cached(&token) {
                Some(result) => result?,
                None => validator.validate_uncached(&token, peer).await?,
            };
            let checked = match dpop.bind_dpop(presented, &context) {
                Ok(prepared) => dpop.finish(prepared).await,
                Err(error) => Err(error),
            };
            let proof = checked.inspect_err(|error| validator.record_rejection(error, None))?;
            // The route's scopes only once the token and its proof hold: a bad proof is a 401.
            check_route_scopes(route_scopes.as_deref(), &context)
                .inspect_err(|error| validator.count_rejection(error))?;
            Ok(Validated {
                context,
                nonce: proof.next_nonce.and_then(|n| HeaderValue::try_from(n).ok()),
            })
        });
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::validating(
            validation,
            (request, service, self.validator.clone()),
            Arc::clone(&settings.dpop_responder),
        )
    }
}
