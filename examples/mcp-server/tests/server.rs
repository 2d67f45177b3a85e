//! The `mcp-server` binary as a new user runs it, and its MCP endpoint over loopback: the
//! per-tool refusal, the metadata document, and messages the gate must not misread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use mcp_server::{Running, Settings, start};
use serde_json::{Value, json};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-server"));
    for name in mcp_server::VARIABLES {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn");
    command
}

#[test]
fn bad_settings_are_one_line_and_exit_code_2() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("AUDIENCE", "")], "AUDIENCE is set but empty"),
        (
            &[("ISSUER", "abc123.logto.app/oidc")],
            "ISSUER=\"abc123.logto.app/oidc\" is not a URL: it is missing a scheme",
        ),
        (&[("BIND", "nowhere")], "BIND=\"nowhere\" is not an address"),
        (
            &[("BIND", "0.0.0.0:0")],
            "refusing to listen on 0.0.0.0:0 with the embedded dev issuer",
        ),
        // RFC 9728 §2: the resource is an https URL (plain http only on loopback).
        (
            &[("AUDIENCE", "http://mcp.example.com/mcp")],
            "AUDIENCE: invalid authorization settings",
        ),
        (
            &[("ALLOW_DEV_ISSUER_ON_NETWORK", "yes")],
            "ALLOW_DEV_ISSUER_ON_NETWORK=\"yes\" is not 1, true, 0 or false",
        ),
    ];
    for (env, expected) in cases {
        let mut command = binary();
        command.env("BIND", "127.0.0.1:0");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{env:?}: {stderr}");
        assert!(lines[0].starts_with("mcp-server: "), "{stderr}");
        assert!(lines[0].contains(expected), "{env:?}: {stderr}");
    }
}

/// With no environment but a free port, it starts its dev issuer and prints how to connect.
#[test]
fn with_no_settings_it_prints_how_to_connect() {
    let mut child = binary()
        .env("BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("curl -H");
            banner.push_str(&line);
            banner.push('\n');
            if done {
                break;
            }
        }
        let _ = tx.send(banner);
    });
    let banner = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = banner.expect("a banner within 60 s");
    assert!(banner.contains("MCP server listening on http://127.0.0.1:"));
    assert!(banner.contains("embedded dev issuer at http://127.0.0.1:"));
    assert!(banner.contains("shopping-reader  secret reader-secret"));
    assert!(banner.contains("shopping-admin   secret admin-secret"));
    assert!(banner.contains("grant_type=client_credentials"));
    assert!(banner.contains("tools/call"));
}

async fn server() -> Running {
    let settings = Settings {
        issuer: None,
        audience: None,
        jwks_uri: None,
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        allow_dev_issuer_on_network: false,
    };
    start(settings).await.unwrap()
}

async fn token(running: &Running, app: &str, secret: &str) -> String {
    let dev = running.dev_issuer.as_ref().unwrap();
    let response: Value = reqwest::Client::new()
        .post(dev.token_endpoint())
        .basic_auth(app, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", running.audience.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap().to_owned()
}

async fn post(running: &Running, token: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(&running.url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
}

fn call(id: u32, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tool_needs_its_own_scope() {
    let running = server().await;
    let reader = token(&running, "shopping-reader", "reader-secret").await;
    let listed = post(&running, &reader, call(1, "list_products", json!({}))).await;
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(
        listed["result"]["structuredContent"]["products"][0]["name"],
        "Coffee beans, 1 kg"
    );

    let refused = post(
        &running,
        &reader,
        call(2, "add_product", json!({"name": "Tea", "price_cents": 899})),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"mcp\", "),
        "{challenge}"
    );
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"write:products\""),
        "{challenge}"
    );
    let metadata = format!(
        "resource_metadata=\"http://{}/.well-known/oauth-protected-resource/mcp\"",
        running.addr
    );
    assert!(challenge.contains(&metadata), "{challenge}");

    // tools/list hides nothing: a client learns of add_product, and of its scope from the 403.
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}).to_string();
    let tools: Value = post(&running, &reader, list).await.json().await.unwrap();
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["add_product", "list_products"]);

    let admin = token(&running, "shopping-admin", "admin-secret").await;
    let added = post(
        &running,
        &admin,
        call(4, "add_product", json!({"name": "Tea", "price_cents": 899})),
    )
    .await;
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["result"]["structuredContent"]["id"], 4);
    // The store's own checks, shared with POST /products, answer inside the tool result.
    let bad: Value = post(
        &running,
        &admin,
        call(
            5,
            "add_product",
            json!({"name": "\u{202E}Tea", "price_cents": 1}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(bad["result"]["isError"], true, "{bad}");
}

/// Messages the gate could misread must not reach a tool unchecked: a body over the limit is
/// refused before rmcp, and a message the gate cannot parse, rmcp cannot either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_reads_messages_as_rmcp_does() {
    let running = server().await;
    let reader = token(&running, "shopping-reader", "reader-secret").await;
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add_product","arguments":{{"name":"{}","price_cents":1}}}}}}"#,
        "a".repeat(mcp_server::gate::MAX_MESSAGE_BYTES)
    );
    assert_eq!(post(&running, &reader, huge).await.status(), 413);
    // Two `method` members: the gate and rmcp read them with the same parser, so whichever
    // one it keeps, no product is added with a token lacking write:products.
    let duplicate = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"add_product","arguments":{"name":"Smuggled","price_cents":1}}}"#;
    let status = post(&running, &reader, duplicate).await.status();
    assert_ne!(status, 500);
    // A batch (JSON-RPC arrays are gone from MCP since 2025-06-18) is not executed either.
    let batch = format!(
        "[{}]",
        call(
            1,
            "add_product",
            json!({"name": "Smuggled", "price_cents": 1})
        )
    );
    let status = post(&running, &reader, batch).await.status();
    assert!(status.is_client_error(), "{status}");
    let admin = token(&running, "shopping-admin", "admin-secret").await;
    let listed: Value = post(&running, &admin, call(2, "list_products", json!({})))
        .await
        .json()
        .await
        .unwrap();
    let products = listed["result"]["structuredContent"]["products"]
        .as_array()
        .unwrap();
    assert_eq!(products.len(), 3, "{products:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_names_the_resource_its_issuer_and_the_tools_scopes() {
    let running = server().await;
    let url = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        running.addr
    );
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["resource"], running.url.as_str());
    assert_eq!(document["authorization_servers"], json!([running.issuer]));
    assert_eq!(
        document["scopes_supported"],
        json!(["read:products", "write:products"])
    );
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    // A tokenless call names the metadata and the scope that makes the server useful.
    let response = reqwest::Client::new()
        .post(&running.url)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert_eq!(
        challenge,
        format!("Bearer realm=\"mcp\", resource_metadata=\"{url}\", scope=\"read:products\"")
    );
}
