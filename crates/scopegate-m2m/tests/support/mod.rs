//! A small token endpoint (`POST /oidc/token`) and API (`GET|POST /api`) over real HTTP on
//! 127.0.0.1, which count requests, record what they saw, and can be told to misbehave.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// How the token endpoint answers.
#[derive(Debug, Clone)]
pub struct Behavior {
    /// `expires_in` as JSON (`None`: left out).
    pub expires_in: Option<Value>,
    pub token_type: String,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer with this status and JSON body instead of a token.
    pub error: Option<(StatusCode, Value)>,
    /// The `scope` to send; `None` echoes the requested one.
    pub scope: Option<String>,
    /// When set, Basic or post credentials must match, else 401 `invalid_client`.
    pub expected_client: Option<(String, String)>,
    /// The API answers 401 to every token.
    pub api_rejects_all: bool,
    /// Token requests wait for [`TestServer::release`] before answering.
    pub hold: bool,
    /// Answer the token request with this redirect (status, `Location`) instead.
    pub redirect: Option<(StatusCode, String)>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            expires_in: Some(json!(3600)),
            token_type: "Bearer".into(),
            delay: Duration::ZERO,
            error: None,
            scope: None,
            expected_client: None,
            api_rejects_all: false,
            hold: false,
            redirect: None,
        }
    }
}

/// What the token endpoint received last.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// Client id and secret from Basic auth, after base64 and form decoding.
    pub basic: Option<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn params(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

struct Shared {
    token_requests: AtomicUsize,
    /// Woken at every token request.
    arrivals: tokio::sync::Notify,
    /// `true` lets held token requests answer.
    gate: tokio::sync::watch::Sender<bool>,
    api_requests: AtomicUsize,
    issued: AtomicUsize,
    behavior: Mutex<Behavior>,
    seen: Mutex<Seen>,
    valid_tokens: Mutex<HashSet<String>>,
    /// `Authorization` headers seen by the API.
    api_authorizations: Mutex<Vec<String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            token_requests: AtomicUsize::new(0),
            arrivals: tokio::sync::Notify::new(),
            gate: tokio::sync::watch::Sender::new(false),
            api_requests: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            behavior: Mutex::default(),
            seen: Mutex::default(),
            valid_tokens: Mutex::default(),
            api_authorizations: Mutex::default(),
        }
    }
}

/// A running server; it stops with the test's runtime.
#[derive(Clone)]
pub struct TestServer {
    pub base: String,
    shared: Arc<Shared>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/oidc/token", post(token))
            .route("/api", get(api).post(api))
            .route("/collect", get(api).post(api))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { base, shared }
    }

    pub fn token_url(&self) -> String {
        format!("{}/oidc/token", self.base)
    }

    pub fn api_url(&self) -> String {
        format!("{}/api", self.base)
    }

    pub fn set(&self, change: impl FnOnce(&mut Behavior)) {
        change(&mut self.shared.behavior.lock().unwrap());
    }

    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    pub fn api_requests(&self) -> usize {
        self.shared.api_requests.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Seen {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Lets every held token request answer (and later ones too, until `hold` is set again).
    pub fn release(&self) {
        self.shared.gate.send_replace(true);
    }

    /// Holds token requests from now on (see [`Behavior::hold`]).
    pub fn hold(&self) {
        self.shared.gate.send_replace(false);
        self.set(|b| b.hold = true);
    }

    /// Waits until the token endpoint has received `n` requests (bounded: 20 s).
    pub async fn token_requests_reach(&self, n: usize) {
        let wait = async {
            loop {
                let arrived = self.shared.arrivals.notified();
                if self.token_requests() >= n {
                    return;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("token requests never arrived");
    }

    /// The `Authorization` headers the API (or `/collect`) received.
    pub fn api_authorizations(&self) -> Vec<String> {
        self.shared.api_authorizations.lock().unwrap().clone()
    }

    /// The API stops accepting every token issued so far.
    pub fn revoke_all(&self) {
        self.shared.valid_tokens.lock().unwrap().clear();
    }
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn decode_basic(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    shared.token_requests.fetch_add(1, Ordering::SeqCst);
    shared.arrivals.notify_waiters();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let seen = Seen {
        basic: authorization.as_deref().and_then(decode_basic),
        authorization,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form,
    };
    *shared.seen.lock().unwrap() = seen.clone();
    let behavior = shared.behavior.lock().unwrap().clone();
    if !behavior.delay.is_zero() {
        tokio::time::sleep(behavior.delay).await;
    }
    if behavior.hold {
        let mut gate = shared.gate.subscribe();
        let _ = gate.wait_for(|open| *open).await;
    }
    if let Some((status, location)) = behavior.redirect {
        return (status, [(header::LOCATION, location)]).into_response();
    }
    if let Some((status, body)) = behavior.error {
        return (status, Json(body)).into_response();
    }
    if let Some((id, secret)) = &behavior.expected_client {
        let posted = seen
            .param("client_id")
            .zip(seen.param("client_secret"))
            .map(|(i, s)| (i.to_owned(), s.to_owned()));
        let presented = seen.basic.clone().or(posted);
        if presented.as_ref() != Some(&(id.clone(), secret.clone())) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "invalid_client", "error_description": "client authentication failed"})),
            )
                .into_response();
        }
    }
    let n = shared.issued.fetch_add(1, Ordering::SeqCst);
    let access_token = format!("tok-{n}");
    shared
        .valid_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "token_type": behavior.token_type,
    });
    if let Some(expires_in) = behavior.expires_in {
        body["expires_in"] = expires_in;
    }
    let scope = behavior
        .scope
        .or_else(|| seen.param("scope").map(str::to_owned));
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Json(body).into_response()
}

async fn api(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.api_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        shared.api_authorizations.lock().unwrap().push(value);
    }
    let rejects_all = shared.behavior.lock().unwrap().api_rejects_all;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let accepted =
        !rejects_all && token.is_some_and(|t| shared.valid_tokens.lock().unwrap().contains(t));
    if accepted {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response()
    }
}
