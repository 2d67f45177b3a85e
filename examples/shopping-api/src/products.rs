//! The product catalogue: a bounded in-memory store and its two handlers.

use std::sync::{Arc, PoisonError, RwLock};

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The most products a store holds unless `MAX_PRODUCTS` says otherwise.
pub const DEFAULT_MAX_PRODUCTS: usize = 10_000;
/// Products per page of `GET /products` without `limit`.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `limit` of `GET /products`.
pub const MAX_PAGE_SIZE: usize = 1_000;
/// The largest `POST /products` body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The highest price: 2^53 − 1, the largest integer every JSON client represents exactly.
pub const MAX_PRICE_CENTS: u64 = (1 << 53) - 1;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    /// Assigned by the store: 1, 2, 3, ... in order of creation.
    pub id: u64,
    /// 1 to 200 characters, without control characters, bidi controls or line separators.
    pub name: String,
    /// Price in cents, from 1 to 2^53 − 1 (`MAX_PRICE_CENTS`).
    pub price_cents: u64,
}

/// The body of `POST /products`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProduct {
    /// 1 to 200 characters, without control characters, bidi controls or line separators.
    name: String,
    /// Price in cents, from 1 to 2^53 − 1.
    price_cents: u64,
}

/// Products in memory, shared by all requests, at most `capacity` of them.
#[derive(Debug, Clone)]
pub struct Store {
    products: Arc<RwLock<Vec<Product>>>,
    capacity: usize,
}

/// The store holds its maximum number of products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFull(pub usize);

impl Store {
    /// A store with a few products, holding at most [`DEFAULT_MAX_PRODUCTS`].
    pub fn seeded() -> Store {
        Store::seeded_with_capacity(DEFAULT_MAX_PRODUCTS)
    }

    /// A store with a few products, holding at most `capacity`.
    pub fn seeded_with_capacity(capacity: usize) -> Store {
        let products = [
            ("Coffee beans, 1 kg", 2490),
            ("Ceramic mug", 1290),
            ("Pour-over kettle", 5900),
        ];
        let store = Store {
            products: Arc::default(),
            capacity,
        };
        for (name, price_cents) in products {
            // A capacity below the seed just keeps the store smaller.
            let _ = store.add(name.to_owned(), price_cents);
        }
        store
    }

    fn add(&self, name: String, price_cents: u64) -> Result<Product, StoreFull> {
        // Writers never panic while holding the lock, so a poisoned lock still holds good data.
        let mut products = self
            .products
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if products.len() >= self.capacity {
            return Err(StoreFull(self.capacity));
        }
        let product = Product {
            id: products.len() as u64 + 1,
            name,
            price_cents,
        };
        products.push(product.clone());
        Ok(product)
    }

    /// How many products the store holds.
    pub fn len(&self) -> usize {
        self.products
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` products after the id `cursor`, serialised as a JSON array straight from
    /// the store (no copy of the list), and the cursor of the next page if there is one.
    pub fn page_json(&self, cursor: u64, limit: usize) -> (Vec<u8>, Option<u64>) {
        // Serialising plain structs into a Vec cannot fail.
        self.with_page(cursor, limit, |page| {
            serde_json::to_vec(page).unwrap_or_default()
        })
    }

    /// Up to `limit` products after the id `cursor` (a copy), and the cursor of the next page
    /// if there is one.
    pub fn page(&self, cursor: u64, limit: usize) -> (Vec<Product>, Option<u64>) {
        self.with_page(cursor, limit, <[Product]>::to_vec)
    }

    fn with_page<T>(
        &self,
        cursor: u64,
        limit: usize,
        read: impl FnOnce(&[Product]) -> T,
    ) -> (T, Option<u64>) {
        let products = self.products.read().unwrap_or_else(PoisonError::into_inner);
        // Ids are positions + 1, so the products after `cursor` start at index `cursor`.
        let start = usize::try_from(cursor)
            .unwrap_or(usize::MAX)
            .min(products.len());
        let end = start.saturating_add(limit).min(products.len());
        let page = &products[start..end];
        let next = (end < products.len()).then(|| page.last().map_or(cursor, |p| p.id));
        (read(page), next)
    }

    /// Adds a product after the checks of `POST /products`: a name (trimmed) of 1 to
    /// [`MAX_NAME_CHARS`] characters without control characters, bidi controls or line
    /// separators, and a price from 1 to [`MAX_PRICE_CENTS`]. Refused with the error `POST`
    /// answers: 422 for a bad name or price, 507 when the store is full.
    pub fn create(&self, name: &str, price_cents: u64) -> Result<Product, BodyError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(BodyError::invalid(format!(
                "name must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if let Some(c) = name.chars().find(|&c| is_forbidden(c)) {
            return Err(BodyError::invalid(format!(
                "name must not contain control characters, bidirectional controls or line \
                 separators (found U+{:04X})",
                u32::from(c)
            )));
        }
        if !(1..=MAX_PRICE_CENTS).contains(&price_cents) {
            return Err(BodyError::invalid(format!(
                "price_cents must be 1 to {MAX_PRICE_CENTS}"
            )));
        }
        self.add(name.to_owned(), price_cents)
            .map_err(|StoreFull(capacity)| BodyError {
                status: StatusCode::INSUFFICIENT_STORAGE,
                error: "store_full",
                description: format!("the store holds its maximum of {capacity} products"),
            })
    }
}

/// `GET /products?limit=N&cursor=C`: a page of products as a JSON array, oldest first. When more
/// follow, a `Link: <...>; rel="next"` header (RFC 8288) gives the next page's URL.
#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    params(
        ("limit" = Option<usize>, Query, description = "Products per page, 1 to 1,000 (default 100)"),
        ("cursor" = Option<u64>, Query, description = "The id after which the page starts, from a `Link` header"),
    ),
    responses(
        (status = 200, description = "A page of products, oldest first; `Link: <…>; rel=\"next\"` when more follow", body = [Product]),
        (status = 400, description = "A `limit` or `cursor` out of range"),
    )
)]
pub async fn list(State(store): State<Store>, uri: Uri) -> Result<Response, BodyError> {
    let (limit, cursor) = page_query(uri.query().unwrap_or(""))?;
    let (body, next) = store.page_json(cursor, limit);
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(next) = next {
        let link = format!("</products?limit={limit}&cursor={next}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::try_from(link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// `limit` (1 to [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`]) and `cursor` (an id,
/// default 0) from a query string; anything else in it is ignored.
fn page_query(query: &str) -> Result<(usize, u64), BodyError> {
    let (mut limit, mut cursor) = (DEFAULT_PAGE_SIZE, 0);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                    .ok_or_else(|| {
                        BodyError::query(format!("limit must be 1 to {MAX_PAGE_SIZE}"))
                    })?;
            }
            "cursor" => {
                cursor = value.parse().map_err(|_| {
                    BodyError::query("cursor must be a product id from a Link header".into())
                })?;
            }
            _ => {}
        }
    }
    Ok((limit, cursor))
}

/// `POST /products`: adds a product.
#[utoipa::path(
    post,
    path = "/products",
    tag = "products",
    request_body = NewProduct,
    responses(
        (status = 201, description = "The product, with its id", body = Product),
        (status = 413, description = "A body over 16 KiB"),
        (status = 422, description = "A name or price out of range"),
        (status = 507, description = "The store is full"),
    )
)]
pub(crate) async fn create(
    State(store): State<Store>,
    ValidJson(new): ValidJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), BodyError> {
    let product = store.create(&new.name, new.price_cents)?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// Characters a name may not carry: C0/C1 controls (terminal escapes start with ESC), the
/// bidirectional controls of Unicode TR9 (which reorder what a reader sees), line and paragraph
/// separators, and the byte-order mark.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

/// A request the catalogue refuses: a status and a JSON error document.
#[derive(Debug)]
pub struct BodyError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl BodyError {
    /// The HTTP status `POST /products` answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code of the JSON document, e.g. `invalid_body`.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// What is wrong, for people.
    pub fn description(&self) -> &str {
        &self.description
    }

    fn invalid(description: String) -> BodyError {
        BodyError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_body",
            description,
        }
    }

    fn query(description: String) -> BodyError {
        BodyError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description,
        }
    }
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        (self.status, Json(body)).into_response()
    }
}

/// `Json<T>` whose every rejection is a [`BodyError`]: 413 for a body over the limit, 422 for
/// the rest (syntax, types, content type).
pub(crate) struct ValidJson<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ValidJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(BodyError {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    error: "body_too_large",
                    description: format!("the body must be at most {MAX_BODY_BYTES} bytes"),
                })
            }
            Err(rejection) => Err(BodyError::invalid(describe(&rejection))),
        }
    }
}

fn describe(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "expected Content-Type: application/json".into()
        }
        other => other.body_text(),
    }
}
