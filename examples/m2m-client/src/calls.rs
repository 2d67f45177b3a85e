//! The calls the quick start shows: `GET /products`, then `POST /products`, each printed with
//! its status and, when refused, the challenge that says why.

use scopegate_m2m::ClientCredentials;
use serde_json::{Value, json};

/// The product the client tries to add (`--add NAME PRICE_CENTS`, or this default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewProduct {
    pub(crate) name: String,
    pub(crate) price_cents: u64,
}

impl Default for NewProduct {
    fn default() -> Self {
        NewProduct {
            name: "Tea, 100 bags".to_owned(),
            price_cents: 1299,
        }
    }
}

impl NewProduct {
    /// `--add NAME PRICE_CENTS`.
    pub(crate) fn parse(name: &str, price_cents: &str) -> Result<NewProduct, String> {
        let price_cents = price_cents
            .parse()
            .map_err(|_| format!("--add: the price {price_cents:?} is not a number of cents"))?;
        Ok(NewProduct {
            name: name.to_owned(),
            price_cents,
        })
    }
}

/// What the API answered to one call, as printed.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) text: String,
    pub(crate) success: bool,
}

/// `GET {api}/products`, then `POST {api}/products` with `product`. Each answer is printed:
/// the status line, the `WWW-Authenticate` challenge if there is one, and the body. The run
/// succeeds when the GET does: a reader's 403 on the POST is what the quick start shows.
pub(crate) async fn get_and_post(
    source: &ClientCredentials,
    http: &reqwest::Client,
    url: &str,
    product: &NewProduct,
) -> Result<Outcome, String> {
    let get = call(source, http.get(url), "GET", url).await?;
    let body = json!({ "name": product.name, "price_cents": product.price_cents });
    let post = call(source, http.post(url).json(&body), "POST", url).await?;
    Ok(Outcome {
        text: format!("{}\n\n{}", get.text, post.text),
        success: get.success,
    })
}

async fn call(
    source: &ClientCredentials,
    request: reqwest::RequestBuilder,
    method: &str,
    url: &str,
) -> Result<Outcome, String> {
    let response = source
        .send(request)
        .await
        .map_err(|e| format!("{method} {url} failed: {e}"))?;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the answer to {method} {url}: {e}"))?;
    let mut text = format!("{method} {url} -> {status}\n");
    if let Some(challenge) = challenge {
        text.push_str(&format!("WWW-Authenticate: {challenge}\n"));
    }
    // Pretty JSON when it is JSON; the answer as it came otherwise.
    match serde_json::from_str::<Value>(&body) {
        Ok(json) => text.push_str(&serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?),
        Err(_) => text.push_str(&body),
    }
    Ok(Outcome {
        text,
        success: status.is_success(),
    })
}
