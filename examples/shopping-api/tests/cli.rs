//! The `shopping-api` binary as a new user runs it: the banner with no setup, and one-line
//! errors with exit code 2 for bad configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopping-api"));
    for name in shopping_api::VARIABLES {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn");
    command
}

/// Runs to completion (bounded) and returns (exit code, stdout, stderr).
fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("shopping-api did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (status.code(), text(output.stdout), text(output.stderr))
}

#[test]
fn bad_configuration_is_one_line_and_exit_code_2() {
    let cases: [(&[(&str, &str)], &str); 19] = [
        // Set but empty is a mistake, not the default (issue 20 item 10).
        (
            &[("AUDIENCE", "")],
            "AUDIENCE is set but empty: give it a value, or unset it",
        ),
        (
            &[("ISSUER", "")],
            "ISSUER is set but empty: give it a value, or unset it",
        ),
        // The m2m client's name for the same thing (issue 20 item 6): one of the two.
        (
            &[
                ("ISSUER", "https://abc123.logto.app/oidc"),
                ("LOGTO_ENDPOINT", "https://abc123.logto.app"),
            ],
            "set one (LOGTO_ENDPOINT=https://abc123.logto.app means \
             ISSUER=https://abc123.logto.app/oidc",
        ),
        // An issuer written without its scheme (issue 20 item 7).
        (
            &[("ISSUER", "abc123.logto.app/oidc")],
            "ISSUER=\"abc123.logto.app/oidc\" is not a URL: it is missing a scheme, e.g. https://",
        ),
        // The dev issuer's secrets are published: refused before anything listens.
        (
            &[("BIND", "0.0.0.0:0")],
            "refusing to listen on 0.0.0.0:0 with the embedded dev issuer",
        ),
        (
            &[("MAX_PRODUCTS", "0")],
            "MAX_PRODUCTS=\"0\" is not a positive number",
        ),
        (
            &[("ISSUER", "not a url")],
            "ISSUER=\"not a url\" is not a URL",
        ),
        (&[("BIND", "nowhere")], "BIND=\"nowhere\" is not an address"),
        (
            &[
                ("ISSUER", "https://id.example.com/oidc"),
                ("JWKS_URI", "::"),
            ],
            "JWKS_URI=\"::\" is not a URL",
        ),
        // Plain http is for loopback hosts only: refused at build, before any fetch.
        (
            &[("ISSUER", "http://id.example.com/oidc")],
            "ISSUER: invalid authorization settings: issuer \"http://id.example.com/oidc\" is plain http",
        ),
        (
            &[
                ("ISSUER", "https://id.example.com/oidc"),
                ("JWKS_URI", "http://id.example.com/oidc/jwks"),
            ],
            "JWKS_URI: invalid authorization settings: JWKS URL http://id.example.com/oidc/jwks must be https",
        ),
        (
            &[("WARM_UP_SECS", "soon")],
            "WARM_UP_SECS=\"soon\" is not a whole number of seconds",
        ),
        // Opaque tokens: both credentials or neither, and nothing else without them.
        (
            &[("INTROSPECTION_CLIENT_ID", "api")],
            "INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET go together: \
             INTROSPECTION_CLIENT_SECRET is not set",
        ),
        (
            &[("INTROSPECT", "always")],
            "INTROSPECT is set, but opaque tokens are off",
        ),
        (
            &[
                ("INTROSPECTION_CLIENT_ID", "api"),
                ("INTROSPECTION_CLIENT_SECRET", "s"),
                ("INTROSPECT", "sometimes"),
            ],
            "INTROSPECT=\"sometimes\" is not opaque or always",
        ),
        (
            &[
                ("ISSUER", "https://id.example.com/oidc"),
                ("INTROSPECTION_CLIENT_ID", "api"),
                ("INTROSPECTION_CLIENT_SECRET", "s"),
                ("INTROSPECTION_URL", "http://id.example.com/introspect"),
            ],
            "INTROSPECTION_URL: invalid authorization settings: introspection URL \
             http://id.example.com/introspect must be https",
        ),
        (
            &[("DPOP", "sometimes")],
            "DPOP=\"sometimes\" is not disabled, allowed or required",
        ),
        (
            &[("PUBLIC_URL", "https://shop.example.com/?x=1")],
            "PUBLIC_URL=\"https://shop.example.com/?x=1\" is not an http(s) URL without query",
        ),
        (
            &[("REDIS_URL", "localhost:6379")],
            "REDIS_URL=\"localhost:6379\" is not a Redis URL",
        ),
    ];
    for (env, expected) in cases {
        let mut command = binary();
        command.envs(env.iter().copied());
        let (code, _, stderr) = run(&mut command);
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        let line = stderr.lines().last().unwrap();
        assert!(
            line.starts_with("shopping-api: ") && line.contains(expected),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Starts the binary with no `ISSUER` on free ports, with stdout piped.
fn start_with_dev_issuer() -> std::process::Child {
    binary()
        .env("BIND", "127.0.0.1:0")
        .env("DEV_ISSUER_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The banner's lines, up to its last one (bounded: a stuck binary fails the test in 30 s).
/// stdout is drained to its end in the background: a pipe closed early would make the binary's
/// next print fail, and the binary exit.
fn read_banner(child: &mut std::process::Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (sender, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let done = line.contains("cargo run -p m2m-client -- --management");
            lines.push(line);
            if done {
                let _ = sender.send(std::mem::take(&mut lines));
            }
        }
    });
    banner
        .recv_timeout(Duration::from_secs(30))
        .expect("a banner within 30 s")
}

#[test]
fn with_no_issuer_it_starts_the_dev_issuer_and_prints_how_to_call_it() {
    let mut child = start_with_dev_issuer();
    let lines = read_banner(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = lines.join("\n");
    assert!(
        banner.contains("shopping API listening on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(banner.contains("shopping-reader  secret reader-secret  scopes: read:products"));
    assert!(banner.contains("scopes: read:products write:products"));
    assert!(
        banner.contains("curl -H \"Authorization: Bearer $TOKEN\""),
        "{banner}"
    );
    assert!(
        banner.contains(
            "Logto Management API (resource https://default.logto.app/api, permission all)"
        ),
        "{banner}"
    );
    assert!(
        banner.contains("dev-management   secret management-secret"),
        "{banner}"
    );
}

/// Issue 20 item 2: the banner's curl commands, run as printed (by `sh`, with `curl`), show the
/// reader's 403 with its challenge and the admin's 201.
#[test]
fn the_banners_post_curl_works_403_for_the_reader_201_for_the_admin() {
    let mut child = start_with_dev_issuer();
    let lines = read_banner(&mut child);
    let command = |prefix: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let tokens = command("TOKEN=$(curl");
    let posts = command("curl -i");
    assert_eq!((tokens.len(), posts.len()), (2, 2), "{lines:#?}");
    let run_sh = |script: String| {
        let output = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let reader = run_sh(format!("{}\n{}", tokens[0], posts[0]));
    let admin = run_sh(format!("{}\n{}", tokens[1], posts[1]));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(reader.starts_with("HTTP/1.1 403"), "{reader}");
    assert!(
        reader.contains(r#"error="insufficient_scope""#)
            && reader.contains(r#"scope="write:products""#),
        "{reader}"
    );
    assert!(admin.starts_with("HTTP/1.1 201"), "{admin}");
    assert!(admin.contains(r#""name":"Tea, 100 bags""#), "{admin}");
}

/// Issue 20 item 6: a Logto endpoint given as `ISSUER` is told the issuer to set (in the log:
/// the API starts anyway, issue 23, and `/ready` stays 503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logto_endpoint_as_issuer_is_told_to_add_oidc() {
    let mut child = start_with_dev_issuer();
    let (_, token_endpoint) = tokio::task::block_in_place(|| banner_addresses(&mut child));
    let endpoint = token_endpoint.trim_end_matches("/oidc/token").to_owned();
    let stderr = tokio::task::block_in_place(|| started_stderr(&[("ISSUER", &endpoint)]));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        stderr.contains(&format!("for Logto the issuer is `{endpoint}/oidc`")),
        "{stderr}"
    );
}

/// Starts the binary with `env` (warm-up 1 s), waits for its banner, stops it, and returns what
/// it logged.
fn started_stderr(env: &[(&str, &str)]) -> String {
    let mut child = binary()
        .envs(env.iter().copied())
        .env("BIND", "127.0.0.1:0")
        .env("WARM_UP_SECS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    api_address(&mut child);
    child.kill().unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap()
}

/// Issue 20 item 6: `LOGTO_ENDPOINT`, the m2m client's name, works for the API too.
#[test]
fn logto_endpoint_derives_issuer_and_jwks_uri() {
    let env =
        |name: &str| (name == "LOGTO_ENDPOINT").then(|| "https://abc123.logto.app/".to_owned());
    let settings = shopping_api::Settings::from_lookup(env).unwrap();
    assert_eq!(
        settings.issuer.as_deref(),
        Some("https://abc123.logto.app/oidc")
    );
    assert_eq!(
        settings.jwks_uri.as_deref(),
        Some("https://abc123.logto.app/oidc/jwks")
    );
}

/// The API base URL and the token endpoint, from the banner.
fn banner_addresses(child: &mut std::process::Child) -> (String, String) {
    let lines = read_banner(child);
    let api = lines
        .iter()
        .find_map(|l| l.strip_prefix("shopping API listening on "))
        .unwrap();
    let issuer = lines
        .iter()
        .find_map(|l| l.split("embedded dev issuer at ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    (api.trim().to_owned(), format!("{issuer}/token"))
}

/// The value of one sample line of the Prometheus text, e.g. `name{a="b"}`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_a_scripted_mix_of_requests() {
    let mut child = start_with_dev_issuer();
    let (api, token_endpoint) = tokio::task::block_in_place(|| banner_addresses(&mut child));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token: serde_json::Value = http
        .post(&token_endpoint)
        .basic_auth("shopping-reader", Some("reader-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://shopping.api"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signing_input}.AAAA");
    let products = format!("{api}/products");

    let status = |request: reqwest::RequestBuilder| async move {
        request.send().await.unwrap().status().as_u16()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(status(http.get(&products).bearer_auth(&token)).await);
    }
    let empty = serde_json::json!({});
    statuses.push(status(http.post(&products).bearer_auth(&token).json(&empty)).await);
    for _ in 0..2 {
        statuses.push(status(http.get(&products)).await);
    }
    statuses.push(status(http.get(&products).bearer_auth("not-a-jwt")).await);
    for _ in 0..2 {
        statuses.push(status(http.get(&products).bearer_auth(&forged)).await);
    }
    assert_eq!(statuses, [200, 200, 200, 403, 401, 401, 401, 401, 401]);

    let text = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let cases = [
        // The reader's POST got 403 from the scope guard: that is its verdict, not "accepted".
        (
            r#"scopegate_validations_total{outcome="accepted",reason="ok"}"#,
            3.0,
        ),
        (
            r#"scopegate_validations_total{outcome="rejected",reason="insufficient_scope"}"#,
            1.0,
        ),
        (
            r#"scopegate_validations_total{outcome="rejected",reason="missing_token"}"#,
            2.0,
        ),
        (
            r#"scopegate_validations_total{outcome="rejected",reason="malformed_token"}"#,
            1.0,
        ),
        (
            r#"scopegate_validations_total{outcome="rejected",reason="bad_signature"}"#,
            2.0,
        ),
        (r#"scopegate_token_cache_total{result="hit"}"#, 3.0),
        (r#"scopegate_token_cache_total{result="known_bad"}"#, 1.0),
        (r#"scopegate_signature_checks_total{result="valid"}"#, 1.0),
        (r#"scopegate_signature_checks_total{result="invalid"}"#, 1.0),
        (r#"scopegate_jwks_keys{issuer=""#, 1.0),
    ];
    for (series, expected) in cases {
        let value = if series.ends_with('"') {
            // The issuer label's value is the dev issuer's URL: match on the prefix.
            let line = text
                .lines()
                .find(|l| l.starts_with(series))
                .unwrap_or_default();
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        } else {
            sample(&text, series)
        };
        assert_eq!(value, expected, "{series} in\n{text}");
    }
    let fetches = text
        .lines()
        .find(|l| l.starts_with("scopegate_jwks_fetches_total{"))
        .unwrap();
    assert!(
        fetches.contains(r#"result="ok""#) && fetches.contains(r#"reason="warm_up""#),
        "{fetches}"
    );
    assert!(text.contains("scopegate_jwks_fetch_duration_seconds"));
}

/// The API's URL from the banner (bounded: 30 s). stdout is drained to its end in the
/// background: a closed pipe would make the binary's next print fail.
fn api_address(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(url) = line.strip_prefix("shopping API listening on ") {
                let _ = found.send(url.trim().to_owned());
            }
        }
    });
    address
        .recv_timeout(Duration::from_secs(30))
        .expect("a listening line within 30 s")
}

/// An unreachable issuer is not a configuration error: the binary serves, says it is not ready,
/// and tells the operator (log line and metrics) that the keys are missing and for how long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_issuer_starts_not_ready_and_says_so() {
    let mut child = binary()
        .env("ISSUER", "http://127.0.0.1:1/oidc")
        .env("BIND", "127.0.0.1:0")
        .env("WARM_UP_SECS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let api = tokio::task::block_in_place(|| api_address(&mut child));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{api}{path}")).send();
    assert_eq!(get("/health").await.unwrap().status(), 200);
    let ready = get("/ready").await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body["not_ready"],
        serde_json::json!(["http://127.0.0.1:1/oidc"])
    );
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();

    let series = r#"{issuer="http://127.0.0.1:1/oidc"}"#;
    assert_eq!(
        sample(&metrics, &format!("scopegate_jwks_usable{series}")),
        0.0,
        "{metrics}"
    );
    let failing_since = sample(
        &metrics,
        &format!("scopegate_jwks_failing_since_timestamp_seconds{series}"),
    );
    assert!(failing_since > 1.0e9, "{metrics}");
    let line = stderr
        .lines()
        .find(|l| l.contains("no key set yet"))
        .unwrap_or_else(|| panic!("no missing-keys line in {stderr}"));
    assert!(
        line.contains("missing_for_s=") && line.contains("retry_in_ms="),
        "{line}"
    );
    let serving = stderr
        .lines()
        .find(|l| l.contains("serving without this issuer's signing keys"))
        .unwrap_or_else(|| panic!("no start line in {stderr}"));
    assert!(serving.contains("http://127.0.0.1:1/oidc"), "{serving}");
    // Issue 20 item 9: no key set yet, not a previous one kept.
    assert!(!stderr.contains("keeping the previous set"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
