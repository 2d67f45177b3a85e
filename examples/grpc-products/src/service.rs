//! [`Catalogue`]: the `shop.v1.Products` service over the shopping API's [`Store`], with its
//! paging limits and product checks; scopes are the guard's business, not this code's.

use shopping_api::{BodyError, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Product, Store};
use tonic::{Code, Request, Response, Status};

use crate::proto;
use crate::proto::products_server::Products;

/// The product catalogue, as a tonic service.
#[derive(Debug, Clone)]
pub struct Catalogue {
    store: Store,
}

impl Catalogue {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        Catalogue { store }
    }
}

#[tonic::async_trait]
impl Products for Catalogue {
    async fn list_products(
        &self,
        request: Request<proto::ListProductsRequest>,
    ) -> Result<Response<proto::ListProductsResponse>, Status> {
        let request = request.into_inner();
        let limit = match request.limit {
            0 => DEFAULT_PAGE_SIZE,
            n if n as usize <= MAX_PAGE_SIZE => n as usize,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "limit must be 1 to {MAX_PAGE_SIZE} (0 for {DEFAULT_PAGE_SIZE})"
                )));
            }
        };
        let (page, next) = self.store.page(request.cursor, limit);
        Ok(Response::new(proto::ListProductsResponse {
            products: page.into_iter().map(into_message).collect(),
            next_cursor: next,
        }))
    }

    async fn add_product(
        &self,
        request: Request<proto::AddProductRequest>,
    ) -> Result<Response<proto::Product>, Status> {
        let request = request.into_inner();
        self.store
            .create(&request.name, request.price_cents)
            .map(|product| Response::new(into_message(product)))
            .map_err(|error| into_status(&error))
    }
}

fn into_message(product: Product) -> proto::Product {
    proto::Product {
        id: product.id,
        name: product.name,
        price_cents: product.price_cents,
    }
}

/// The HTTP API's refusal as a gRPC status: a bad name or price is the caller's argument, a
/// full store is an exhausted resource.
fn into_status(error: &BodyError) -> Status {
    let code = match error.status().as_u16() {
        507 => Code::ResourceExhausted,
        _ => Code::InvalidArgument,
    };
    Status::new(code, error.description())
}
