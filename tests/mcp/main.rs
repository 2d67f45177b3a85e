//! End to end with a real MCP client that nobody here wrote: the official TypeScript SDK
//! (`@modelcontextprotocol/sdk`, pinned by tests/interop/package-lock.json), its
//! `ClientCredentialsProvider` and `StreamableHTTPClientTransport`, against
//! `examples/mcp-server` on a loopback port. `tests/interop/mcp-client.js` drives the SDK and
//! reports every HTTP exchange it made and each call's outcome as JSON; these tests judge that
//! report. Once with the embedded dev issuer, once with the real `oidc-provider`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_server::{Running, Settings, start_on};
use scopegate_tests::challenge::{AuthParams, parse_challenges};
use scopegate_tests::interop::{Provider, interop_dir, prepare};
use serde_json::{Value, json};

/// How long one client run may take (it takes about a second when the machine is idle).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(90);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The MCP server on a free loopback port; `issuer: None` starts the embedded dev issuer.
async fn server(listener: tokio::net::TcpListener, issuer: Option<String>) -> Running {
    let settings = Settings {
        issuer,
        audience: None,
        jwks_uri: None,
        bind: loopback(),
        allow_dev_issuer_on_network: false,
    };
    start_on(listener, settings)
        .await
        .expect("the MCP server starts")
}

/// One app's credentials at the authorization server.
struct App {
    id: &'static str,
    secret: &'static str,
    scope: &'static str,
}

/// Runs the SDK client as `app` against `running`, making `calls` after `tools/list`, and
/// returns its report.
async fn run_client(running: &Running, app: &App, calls: Value) -> Value {
    let mut command = Command::new("node");
    command
        .arg("mcp-client.js")
        .current_dir(interop_dir())
        .env("MCP_URL", &running.url)
        .env("CLIENT_ID", app.id)
        .env("CLIENT_SECRET", app.secret)
        .env("SCOPE", app.scope)
        .env("EXPECTED_ISSUER", &running.issuer)
        .env("CALLS", calls.to_string());
    tokio::task::spawn_blocking(move || {
        prepare();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts");
        // Drained while node runs, so that it never blocks on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + CLIENT_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mcp-client.js did not finish in {CLIENT_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
        assert!(
            status.success(),
            "mcp-client.js failed ({status}); stderr:\n{stderr}"
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}\nstderr:\n{stderr}"))
    })
    .await
    .unwrap()
}

/// The `Bearer` challenge of an exchange's `WWW-Authenticate`. The server accepts DPoP too
/// (its default `allowed` mode), so it sends both challenges (RFC 9449 §7.1), which fetch
/// reports joined into one list.
fn bearer_challenge(exchange: &Value) -> AuthParams {
    let header = exchange["www_authenticate"].as_str().expect("a challenge");
    let challenges = parse_challenges(header).unwrap();
    let mut bearer = challenges.into_iter().filter(|c| c.scheme == "Bearer");
    let challenge = bearer.next().expect("a Bearer challenge");
    assert!(bearer.next().is_none(), "one Bearer challenge: {header}");
    challenge
}

fn exchanges(report: &Value) -> &[Value] {
    report["exchanges"].as_array().expect("exchanges")
}

/// The discovery the issue asks for, in order: a tokenless call answered 401 with
/// `resource_metadata`, that document fetched, the authorization server's metadata fetched from
/// the server it names, and a client_credentials token request with `resource` set.
fn assert_discovery(report: &Value, running: &Running) {
    let exchanges = exchanges(report);
    let first = &exchanges[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["url"], running.url.as_str());
    assert_eq!(first["status"], 401, "{first}");
    let challenge = bearer_challenge(first);
    assert_eq!(challenge.scheme, "Bearer");
    assert_eq!(challenge.get("error"), None, "no token is no error code");
    let metadata_url = challenge.get("resource_metadata").unwrap();
    assert_eq!(
        metadata_url,
        running
            .url
            .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    );
    let fetched = exchanges
        .iter()
        .position(|e| e["method"] == "GET" && e["url"] == metadata_url && e["status"] == 200)
        .expect("the client fetched the metadata the 401 named");
    let issuer = url::Url::parse(&running.issuer).unwrap();
    let issuer_origin = issuer.origin().ascii_serialization();
    let discovered = exchanges
        .iter()
        .position(|e| {
            e["method"] == "GET"
                && e["status"] == 200
                && e["url"].as_str().unwrap().starts_with(&issuer_origin)
        })
        .expect("the client fetched the authorization server's metadata");
    let token = exchanges
        .iter()
        .position(|e| e["method"] == "POST" && e["form"].is_object())
        .expect("the client asked for a token");
    assert!(fetched < discovered && discovered < token, "{exchanges:#?}");
    let request = &exchanges[token];
    assert!(request["url"].as_str().unwrap().starts_with(&issuer_origin));
    assert_eq!(request["status"], 200, "{request}");
    assert_eq!(request["form"]["grant_type"], "client_credentials");
    assert_eq!(request["form"]["resource"], running.audience.as_str());
    assert_eq!(report["connected"], true, "{report:#}");
    assert_eq!(report["tools"], json!(["add_product", "list_products"]));
}

fn product_names(result: &Value) -> Vec<String> {
    result["structuredContent"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The admin lists, adds (a product the store then lists), and the reader lists but is refused
/// `add_product` with HTTP 403 `insufficient_scope` naming `write:products`.
async fn admin_and_reader(running: &Running, admin: &App, reader: &App) {
    let add = json!({ "name": "Green tea, 50 bags", "price_cents": 899 });
    let calls = json!([
        ["list_products", {}],
        ["add_product", add],
        ["list_products", {}]
    ]);
    let report = run_client(running, admin, calls).await;
    assert_discovery(&report, running);
    let calls = report["calls"].as_array().unwrap();
    assert!(calls.iter().all(|c| c["ok"] == true), "{calls:#?}");
    assert!(product_names(&calls[0]["result"]).contains(&"Ceramic mug".to_owned()));
    assert_eq!(
        calls[1]["result"]["structuredContent"]["name"],
        "Green tea, 50 bags"
    );
    assert!(product_names(&calls[2]["result"]).contains(&"Green tea, 50 bags".to_owned()));

    let calls = json!([["list_products", {}], ["add_product", add]]);
    let report = run_client(running, reader, calls).await;
    assert_discovery(&report, running);
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls[0]["ok"], true, "{calls:#?}");
    assert_eq!(calls[1]["ok"], false, "{calls:#?}");
    // The SDK tried to step up (a new token: the app may not have more) and then gave up.
    assert_eq!(calls[1]["error"]["code"], 403, "{calls:#?}");
    let refusals: Vec<&Value> = exchanges(&report)
        .iter()
        .filter(|e| e["status"] == 403)
        .collect();
    assert!(!refusals.is_empty());
    for refusal in refusals {
        assert_eq!(refusal["url"], running.url.as_str());
        let challenge = bearer_challenge(refusal);
        assert_eq!(challenge.get("error"), Some("insufficient_scope"));
        assert_eq!(challenge.get("scope"), Some("write:products"));
        assert_eq!(challenge.get("realm"), Some("mcp"));
        assert!(challenge.get("resource_metadata").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_client_discovers_the_dev_issuer_and_calls_the_tools() {
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let running = server(listener, None).await;
    let admin = App {
        id: "shopping-admin",
        secret: "admin-secret",
        scope: "read:products write:products",
    };
    let reader = App {
        id: "shopping-reader",
        secret: "reader-secret",
        scope: "read:products",
    };
    admin_and_reader(&running, &admin, &reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_client_gets_tokens_from_oidc_provider_for_the_mcp_server() {
    // The provider must know the server's URL as a resource before the server starts trusting
    // the provider: the port is bound first.
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let provider =
        tokio::task::spawn_blocking(move || Provider::start_for_resource("ES384", 0, &url))
            .await
            .unwrap();
    let running = server(listener, Some(provider.issuer.clone())).await;
    let admin = App {
        id: "admin-app",
        secret: "admin-secret",
        scope: "read:products write:products",
    };
    let reader = App {
        id: "read-app",
        secret: "read-secret",
        scope: "read:products",
    };
    admin_and_reader(&running, &admin, &reader).await;
    drop(provider);
}
