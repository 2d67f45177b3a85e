//! The product catalogue: an in-memory store and its two handlers.

use std::sync::{Arc, PoisonError, RwLock};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Assigned by the store.
    pub id: u64,
    /// 1 to 200 characters.
    pub name: String,
    /// Price in cents, more than zero.
    pub price_cents: u64,
}

/// The body of `POST /products`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProduct {
    name: String,
    price_cents: u64,
}

/// Products in memory, shared by all requests.
#[derive(Debug, Clone, Default)]
pub struct Store(Arc<RwLock<Vec<Product>>>);

impl Store {
    /// A store with a few products.
    pub fn seeded() -> Store {
        let products = [
            ("Coffee beans, 1 kg", 2490),
            ("Ceramic mug", 1290),
            ("Pour-over kettle", 5900),
        ];
        let store = Store::default();
        for (name, price_cents) in products {
            store.add(name.to_owned(), price_cents);
        }
        store
    }

    fn add(&self, name: String, price_cents: u64) -> Product {
        // Writers never panic while holding the lock, so a poisoned lock still holds good data.
        let mut products = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let product = Product {
            id: products.len() as u64 + 1,
            name,
            price_cents,
        };
        products.push(product.clone());
        product
    }

    /// Every product.
    pub fn all(&self) -> Vec<Product> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// `GET /products`: every product, as a JSON array.
pub async fn list(State(store): State<Store>) -> Json<Vec<Product>> {
    Json(store.all())
}

pub(crate) async fn create(
    State(store): State<Store>,
    ValidJson(new): ValidJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), BodyError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(BodyError("name must be 1 to 200 characters".to_owned()));
    }
    if new.price_cents == 0 {
        return Err(BodyError("price_cents must be more than zero".to_owned()));
    }
    Ok((
        StatusCode::CREATED,
        Json(store.add(name.to_owned(), new.price_cents)),
    ))
}

/// A body that is not an acceptable product: 422 with a JSON error.
#[derive(Debug)]
pub(crate) struct BodyError(String);

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let body = json!({ "error": "invalid_body", "error_description": self.0 });
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

/// `Json<T>` whose every rejection (syntax, types, content type) is a [`BodyError`].
pub(crate) struct ValidJson<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ValidJson(value)),
            Err(rejection) => Err(BodyError(describe(&rejection))),
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
