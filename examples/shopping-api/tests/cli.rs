//! The `shopping-api` binary as a new user runs it: the banner with no setup, and one-line
//! errors with exit code 2 for bad configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopping-api"));
    for name in ["ISSUER", "AUDIENCE", "JWKS_URI", "BIND", "DEV_ISSUER_BIND"] {
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
    let cases: [(&[(&str, &str)], &str); 4] = [
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
        // Nothing listens on port 1: discovery fails at start, not on the first request.
        (
            &[
                ("ISSUER", "http://127.0.0.1:1/oidc"),
                ("BIND", "127.0.0.1:0"),
            ],
            "cannot fetch the issuer's signing keys",
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

#[test]
fn with_no_issuer_it_starts_the_dev_issuer_and_prints_how_to_call_it() {
    let mut child = binary()
        .env("BIND", "127.0.0.1:0")
        .env("DEV_ISSUER_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().take(40) {
            let line = line.unwrap();
            let done = line.contains("cargo run -p m2m-client");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    // The reader ends at the banner's last line; a stuck binary is killed by the bound below.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = reader.join().unwrap().join("\n");
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
}
