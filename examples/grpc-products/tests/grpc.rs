//! The gRPC service over loopback, called by tonic's own generated client: every refusal is a
//! gRPC status as tonic reads it, with the RFC 6750 challenge as `www-authenticate` metadata.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use grpc_products::proto::products_client::ProductsClient;
use grpc_products::proto::{AddProductRequest, ListProductsRequest, ListProductsResponse};
use grpc_products::{Running, Settings, start};
use scopegate::grpc::{GrpcMethods, UnknownMethods};
use scopegate_dev::JwksFault;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

async fn server() -> Running {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    start(Settings {
        issuer: None,
        audience: None,
        jwks_uri: None,
        bind: loopback,
        dev_issuer_bind: loopback,
        allow_dev_issuer_on_network: false,
    })
    .await
    .unwrap()
}

fn token(running: &Running, scope: &str) -> String {
    let dev = running.dev_issuer.as_ref().unwrap();
    dev.mint(dev.claims("grpc-test", &running.audience, scope))
}

async fn client(running: &Running) -> ProductsClient<Channel> {
    ProductsClient::connect(running.url()).await.unwrap()
}

fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
}

async fn list(running: &Running, token: Option<&str>) -> Result<ListProductsResponse, Status> {
    let request = with_token(ListProductsRequest::default(), token);
    client(running)
        .await
        .list_products(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn add(running: &Running, token: Option<&str>, name: &str) -> Result<u64, Status> {
    let message = AddProductRequest {
        name: name.to_owned(),
        price_cents: 1299,
    };
    client(running)
        .await
        .add_product(with_token(message, token))
        .await
        .map(|response| response.into_inner().id)
}

fn metadata<'a>(status: &'a Status, name: &str) -> &'a str {
    status
        .metadata()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {status:?}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn no_token_is_unauthenticated_with_the_challenge() {
    let running = server().await;
    let status = list(&running, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "no bearer token in the request");
    let challenge = metadata(&status, "www-authenticate");
    assert!(
        challenge.starts_with("Bearer realm=\"products\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}\"", running.metadata_url)),
        "{challenge}"
    );
    assert!(!challenge.contains("error="), "{challenge}");
}

#[tokio::test]
async fn a_reader_may_list_but_not_add_and_is_told_the_scope() {
    let running = server().await;
    let reader = token(&running, "read:products");
    let page = list(&running, Some(&reader)).await.unwrap();
    assert_eq!(page.products.len(), 3);
    let status = add(&running, Some(&reader), "Tea").await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("write:products"), "{status:?}");
    let challenge = metadata(&status, "www-authenticate");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("scope=\"write:products\""),
        "{challenge}"
    );
    // Refused before the service: nothing was added.
    assert_eq!(
        list(&running, Some(&reader)).await.unwrap().products.len(),
        3
    );
}

#[tokio::test]
async fn an_admin_may_list_and_add() {
    let running = server().await;
    let admin = token(&running, "read:products write:products");
    let id = add(&running, Some(&admin), "Green tea, 50 bags")
        .await
        .unwrap();
    assert_eq!(id, 4);
    let page = list(&running, Some(&admin)).await.unwrap();
    assert_eq!(page.products.len(), 4);
    assert_eq!(page.products[3].name, "Green tea, 50 bags");
    // The service's own refusals stay its own: a bad product is INVALID_ARGUMENT.
    let status = add(&running, Some(&admin), " ").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated() {
    let running = server().await;
    let admin = token(&running, "read:products write:products");
    // Another last character of the signature: a signature that does not verify.
    let (body, last) = admin.split_at(admin.len() - 1);
    let forged = format!("{body}{}", if last == "A" { "B" } else { "A" });
    let expired = {
        let dev = running.dev_issuer.as_ref().unwrap();
        dev.mint(dev.claims_expired("grpc-test", &running.audience, "read:products"))
    };
    let other_api = {
        let dev = running.dev_issuer.as_ref().unwrap();
        dev.mint(dev.claims("grpc-test", "https://billing.api", "read:products"))
    };
    for bad in [forged.as_str(), "not-a-jwt", &expired, &other_api] {
        let status = list(&running, Some(bad)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status.message().starts_with("invalid_token: "),
            "{status:?}"
        );
        let challenge = metadata(&status, "www-authenticate");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
}

#[tokio::test]
async fn unreachable_keys_and_an_unknown_kid_are_unavailable_with_retry_after() {
    let running = server().await;
    let dev = running.dev_issuer.as_ref().unwrap();
    let admin = token(&running, "read:products write:products");
    list(&running, Some(&admin)).await.unwrap();
    dev.set_jwks_fault(Some(JwksFault::Status(503)));
    dev.rotate_key().unwrap();
    // Signed by a key the server has never seen, while the issuer's JWKS answers 503: the
    // token may well be good, so the client should retry, not drop it.
    let unknown_kid = token(&running, "read:products");
    let status = list(&running, Some(&unknown_kid)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(metadata(&status, "retry-after").parse::<u64>().unwrap() >= 1);
    // A token of a known key still works through the outage.
    list(&running, Some(&admin)).await.unwrap();
}

/// A method the guard does not list meets its default, refusal, even for an admin, before
/// tonic's own `UNIMPLEMENTED`: a method added to the service and forgotten in the table stays
/// closed.
#[tokio::test]
async fn an_unlisted_method_is_refused() {
    let running = server().await;
    let admin = token(&running, "read:products write:products");
    for path in [
        "/shop.v1.Products/DeleteProduct",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ] {
        let status = unary_at(&running.url(), path, &admin).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{path}: {status:?}");
        assert_eq!(
            status.message(),
            "insufficient_scope: this method is not open to any token"
        );
    }
}

/// The same server answers a plain HTTP client (no gRPC content type) as RFC 6750 says.
#[tokio::test]
async fn a_request_that_is_not_grpc_gets_the_http_answer() {
    let running = server().await;
    let response = reqwest::Client::new()
        .post(format!("{}/shop.v1.Products/ListProducts", running.url()))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(response.headers()["content-type"], "application/json");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer realm=\"products\""));
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        r#"{"error":"unauthorized","error_description":"no bearer token in the request"}"#
    );
}

/// The layer as the README shows it, on tonic's own server rather than axum, with `methods`.
async fn tonic_server(running: &Running, methods: GrpcMethods) -> (String, AbortOnDrop) {
    use grpc_products::proto::products_server::ProductsServer;
    use grpc_products::service::Catalogue;
    use scopegate::{AuthConfig, BearerAuthLayer, Validator};

    let dev = running.dev_issuer.as_ref().unwrap();
    let config = AuthConfig::builder(dev.issuer(), running.audience.as_str())
        .build()
        .unwrap();
    let auth = BearerAuthLayer::new(Validator::new(config).unwrap()).realm("products");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(auth.require_grpc_methods(methods))
            .add_service(ProductsServer::new(Catalogue::new(
                shopping_api::Store::seeded(),
            )))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (format!("http://{addr}"), AbortOnDrop(serving))
}

/// Stops the server when the test ends, passed or not.
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), tonic::transport::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn unary_at(url: &str, path: &'static str, token: &str) -> Result<(), Status> {
    let channel = Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<ListProductsRequest, ListProductsResponse>::default();
    grpc.unary(
        with_token(ListProductsRequest::default(), Some(token)),
        http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn the_layer_protects_tonics_own_server() {
    let running = server().await;
    let (url, _serving) = tonic_server(&running, grpc_products::methods().unwrap()).await;
    let mut client = ProductsClient::connect(url).await.unwrap();
    let status = client
        .list_products(ListProductsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(
        metadata(&status, "www-authenticate"),
        "Bearer realm=\"products\""
    );
    let reader = token(&running, "read:products");
    let page = client
        .list_products(with_token(ListProductsRequest::default(), Some(&reader)))
        .await
        .unwrap();
    assert_eq!(page.into_inner().products.len(), 3);
    let message = AddProductRequest {
        name: "Tea".into(),
        price_cents: 100,
    };
    let status = client
        .add_product(with_token(message, Some(&reader)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

/// The other default: unlisted methods open to tokens with a given scope set. Past the guard,
/// an unlisted method is tonic's own `UNIMPLEMENTED`.
#[tokio::test]
async fn unlisted_methods_may_require_a_scope_set_instead() {
    let running = server().await;
    let methods = GrpcMethods::builder()
        .method("/shop.v1.Products/ListProducts", ["read:products"])
        .unknown_methods(UnknownMethods::RequireScopes(vec!["write:products".into()]))
        .build()
        .unwrap();
    let (url, _serving) = tonic_server(&running, methods).await;
    let path = "/shop.v1.Products/DeleteProduct";
    let reader = token(&running, "read:products");
    let status = unary_at(&url, path, &reader).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().ends_with("(needs write:products)"),
        "{status:?}"
    );
    let writer = token(&running, "write:products");
    let status = unary_at(&url, path, &writer).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}
