//! [`MetadataService`]: the document over HTTP, as a tower service.

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

use super::ResourceMetadata;

/// How long clients and caches may keep the document: it changes only when the API is
/// redeployed, and an hour-old copy would keep naming a retired issuer for too long.
const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

/// Answers `GET` and `HEAD` with the protected-resource document (`application/json`,
/// `Cache-Control: public, max-age=300`), anything else with `405` and `Allow`. It answers on
/// whatever path it is routed at; [`ResourceMetadata::path`] is where clients look.
#[derive(Clone)]
pub struct MetadataService {
    metadata: ResourceMetadata,
}

impl MetadataService {
    pub(super) fn new(metadata: ResourceMetadata) -> Self {
        MetadataService { metadata }
    }

    /// The response to a request with `method`.
    pub fn respond(&self, method: &Method) -> Response<Full<Bytes>> {
        let mut response = if method == Method::GET || method == Method::HEAD {
            let body = self.metadata.to_json();
            let mut response = Response::new(Full::new(if method == Method::HEAD {
                Bytes::new()
            } else {
                body
            }));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
            response
        } else {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        // Any origin may read it: it is public, and browser-based clients discover with it.
        response.headers_mut().insert(
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    }
}

impl fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataService")
            .field("url", &self.metadata.url())
            .finish()
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(request.method())))
    }
}
