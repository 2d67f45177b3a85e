//! Shared helpers of the integration tests: a dev issuer with the shopping API's two apps, an
//! axum app served on a loopback port, and parsing of RFC 6750 challenges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod challenge;
pub mod dpop;
pub mod interop;
pub mod redis;

use scopegate::{AuthConfig, AuthConfigBuilder, Validator, ValidatorBuilder};
use scopegate_dev::{DevClient, DevIssuer, SigningAlgorithm};
use serde_json::Value;

/// The shopping API's resource indicator.
pub const RESOURCE: &str = "https://shopping.api";

/// A dev issuer with `read-app` (read:products) and `admin-app` (read and write).
pub async fn dev_issuer(algorithm: SigningAlgorithm) -> DevIssuer {
    DevIssuer::builder()
        .algorithm(algorithm)
        .client(DevClient::new(
            "read-app",
            "read-secret",
            RESOURCE,
            ["read:products"],
        ))
        .client(DevClient::new(
            "admin-app",
            "admin-secret",
            RESOURCE,
            ["read:products", "write:products"],
        ))
        .start()
        .await
        .expect("dev issuer starts")
}

/// A config for the dev issuer's tokens, with its explicit JWKS URL.
pub fn config_for(issuer: &DevIssuer) -> AuthConfigBuilder {
    AuthConfig::builder(issuer.issuer(), RESOURCE).jwks_uri(issuer.jwks_uri())
}

/// Serves `app` on a free loopback port until the test's runtime ends.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An HTTP client that gives up after 10 s: no test waits forever.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A parsed `WWW-Authenticate` challenge: scheme and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme (`Bearer`).
    pub scheme: String,
    /// The attributes, unquoted.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// An attribute's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses one challenge (`scheme` followed by `name="quoted"` or `name=token` pairs).
pub fn parse_challenge(value: &str) -> Challenge {
    let (scheme, mut rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut params = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            break;
        }
        let (name, after) = rest.split_once('=').expect("name=value");
        let mut out = String::new();
        let mut chars = after.chars();
        if after.starts_with('"') {
            chars.next();
            let mut consumed = 1;
            while let Some(c) = chars.next() {
                consumed += c.len_utf8();
                match c {
                    '\\' => {
                        let escaped = chars.next().expect("escaped char");
                        consumed += escaped.len_utf8();
                        out.push(escaped);
                    }
                    '"' => break,
                    c => out.push(c),
                }
            }
            rest = &after[consumed..];
        } else {
            let end = after.find(',').unwrap_or(after.len());
            out.push_str(&after[..end]);
            rest = &after[end..];
        }
        params.insert(name.trim().to_owned(), out);
    }
    Challenge {
        scheme: scheme.to_owned(),
        params,
    }
}

/// What a test needs of a response.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The parsed `WWW-Authenticate`, if any.
    pub challenge: Option<Challenge>,
    /// `Retry-After`, if any.
    pub retry_after: Option<String>,
    /// The body as JSON (`Null` if it is not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl Reply {
    /// The `error` attribute of the challenge.
    pub fn error(&self) -> Option<&str> {
        self.challenge.as_ref().and_then(|c| c.get("error"))
    }
}

/// Sends `request` and collects a [`Reply`].
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request is answered");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let challenge = header("www-authenticate").map(|v| parse_challenge(&v));
    let retry_after = header("retry-after");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        challenge,
        retry_after,
        body,
        text,
    }
}

/// `GET url` with `Authorization: Bearer <token>` when a token is given.
pub async fn get(url: &str, token: Option<&str>) -> Reply {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

/// A `metrics` recorder that keeps every counter registered through it, so that a test reads the
/// counters of its own validator (the validator registers them when it is built).
#[derive(Debug, Default)]
pub struct Counters {
    counters: Mutex<Vec<(metrics::Key, Arc<AtomicU64>)>>,
}

impl Counters {
    /// Builds `builder` with its counters registered here.
    pub fn build(self: &Arc<Self>, builder: ValidatorBuilder) -> Validator {
        metrics::with_local_recorder(&**self, || builder.build().unwrap())
    }

    /// The sum of the counters named `name` (every label set).
    pub fn total(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .iter()
            .filter(|(key, _)| key.name() == name)
            .map(|(_, value)| value.load(Ordering::Relaxed))
            .sum()
    }

    /// Signature verifications performed (`scopegate_signature_checks_total`).
    pub fn signature_checks(&self) -> u64 {
        self.total("scopegate_signature_checks_total")
    }
}

impl metrics::Recorder for Counters {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let value = Arc::new(AtomicU64::new(0));
        self.counters
            .lock()
            .unwrap()
            .push((key.clone(), Arc::clone(&value)));
        metrics::Counter::from_arc(value)
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// Waits until `condition` holds, checking every 5 ms for at most 10 s: for work that another
/// task does over real I/O (a background fetch), never for time to pass.
pub async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The JSON answer of `token_endpoint` to a client_credentials request by `id` / `secret` (HTTP
/// Basic) with the `extra` form parameters (`resource`, `scope`).
pub async fn client_credentials(
    token_endpoint: &str,
    id: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    client()
        .post(token_endpoint)
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
