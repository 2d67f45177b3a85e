//! The `grpc-products` binary as a new user runs it: `cargo run -p grpc-products` with no
//! environment prints its banner, and `-- client` prints the calls it made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grpc-products"));
    for name in grpc_products::VARIABLES
        .iter()
        .chain(&grpc_products::client::VARIABLES)
    {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn").stdin(Stdio::null());
    command
}

/// Kills the server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server with no settings but free ports, and returns it with its banner.
fn serve() -> (Server, String) {
    let mut child = binary()
        .env("BIND", "127.0.0.1:0")
        .env("DEV_ISSUER_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.starts_with("(the client reads");
            banner.push_str(&line);
            banner.push('\n');
            if done {
                break;
            }
        }
        let _ = tx.send(banner);
    });
    let server = Server(child);
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a banner within 60 s");
    (server, banner)
}

/// The value of `NAME=value` in the banner's last line.
fn setting<'a>(banner: &'a str, name: &str) -> &'a str {
    let start = banner.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &banner[start..];
    rest.split([' ', ',', ')', '\n']).next().unwrap()
}

#[test]
fn with_no_settings_it_serves_and_the_client_mode_prints_its_calls() {
    let (_server, banner) = serve();
    assert!(banner.contains("gRPC product service listening on http://127.0.0.1:"));
    assert!(banner.contains("embedded dev issuer at http://127.0.0.1:"));
    assert!(banner.contains("shopping-reader  secret reader-secret"));
    assert!(banner.contains("/shop.v1.Products/AddProduct (write:products)"));
    assert!(banner.contains("cargo run -p grpc-products -- client"));
    let endpoint = setting(&banner, "LOGTO_ENDPOINT");
    let api = setting(&banner, "API_URL");

    let reader = binary()
        .env("LOGTO_ENDPOINT", endpoint)
        .env("API_URL", api)
        .arg("client")
        .output()
        .unwrap();
    let stdout = String::from_utf8(reader.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&reader.stderr);
    // One call refused: exit code 1, every call printed.
    assert_eq!(reader.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("got a Bearer token for scope \"read:products\""),
        "{stdout}"
    );
    assert!(stdout.contains(&format!(
        "ListProducts {{ limit: 10 }} at {api}\n  OK: 3 products"
    )));
    assert!(
        stdout.contains("#1 Coffee beans, 1 kg (2490 cents)"),
        "{stdout}"
    );
    assert!(stdout.contains("AddProduct { name: \"Green tea, 50 bags\", price_cents: 899 }"));
    assert!(
        stdout.contains("  PermissionDenied: insufficient_scope: "),
        "{stdout}"
    );
    assert!(stdout.contains("scope=\"write:products\""), "{stdout}");

    let admin = binary()
        .env("LOGTO_ENDPOINT", endpoint)
        .env("API_URL", api)
        .env("APP_ID", "shopping-admin")
        .env("APP_SECRET", "admin-secret")
        .env("SCOPE", "read:products write:products")
        .args(["client", "Oolong, 20 bags", "1450"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(admin.stdout).unwrap();
    assert_eq!(admin.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("OK: added #4 Oolong, 20 bags (1450 cents)"),
        "{stdout}"
    );
}

#[test]
fn bad_settings_are_one_line_and_exit_code_2() {
    /// The environment, the arguments, and what the one line of stderr says.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 4] = [
        (&[("AUDIENCE", "")], &[], "AUDIENCE is set but empty"),
        (
            &[("BIND", "nowhere")],
            &[],
            "BIND=\"nowhere\" is not an address",
        ),
        (
            &[("BIND", "0.0.0.0:0")],
            &[],
            "refusing to listen on 0.0.0.0:0 with the embedded dev issuer",
        ),
        (
            &[],
            &["client", "Tea", "cheap"],
            "PRICE_CENTS must be a whole number",
        ),
    ];
    for (env, args, expected) in cases {
        let mut command = binary();
        command.env("DEV_ISSUER_BIND", "127.0.0.1:0").args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
        let first = stderr.lines().next().unwrap();
        assert!(first.starts_with("grpc-products: "), "{stderr}");
        assert!(first.contains(expected), "{env:?}: {stderr}");
    }
}
