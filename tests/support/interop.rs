//! A real `oidc-provider` (tests/interop/server.js), started and stopped by the tests.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one start of the provider may take to print its READY line (it takes well under a
/// second when the machine is idle).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a start is tried before the test fails.
const START_ATTEMPTS: u32 = 3;

/// How much of a provider's stderr is kept for the failure message.
const STDERR_KEPT: usize = 16 * 1024;

/// The signing algorithms the interop provider supports.
pub const ALGORITHMS: [&str; 3] = ["ES384", "RS256", "EdDSA"];

/// The directory of the Node setup: `server.js`, `mcp-client.js` and their packages.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Makes sure `node` runs and the packages of [`interop_dir`] are installed (`npm ci`, once).
pub fn prepare() {
    static PREPARED: Mutex<bool> = Mutex::new(false);
    let mut prepared = PREPARED.lock().unwrap_or_else(|e| e.into_inner());
    if *prepared {
        return;
    }
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(output) if output.status.success() => {}
        _ => panic!(
            "the interop tests need Node.js 20 or later on PATH (`node --version` failed). \
             Install it, e.g. `apt-get install nodejs npm` or from https://nodejs.org, \
             then run the tests again."
        ),
    }
    let dir = interop_dir();
    let installed = [
        "oidc-provider",
        "@modelcontextprotocol/sdk",
        "@seriousme/openapi-schema-validator",
    ]
    .iter()
    .all(|package| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .exists()
    });
    if !installed {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (it comes with Node.js)");
        assert!(status.success(), "`npm ci` in {} failed", dir.display());
    }
    *prepared = true;
}

/// How long one OpenAPI validation may take (well under a second on an idle machine).
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Validates an OpenAPI document against the official JSON Schema of its version with
/// `@seriousme/openapi-schema-validator` (`validate-openapi.js`): its verdict,
/// `{"valid": bool, "version": "3.1", "errors": [...] or null}`.
pub fn validate_openapi(document: &[u8]) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    prepare();
    let mut child = Command::new("node")
        .arg("validate-openapi.js")
        .current_dir(interop_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    // Dropped at the end of the statement: node sees the end of its input.
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(document)
        .expect("the document reaches node");
    let deadline = Instant::now() + VALIDATION_TIMEOUT;
    while child.try_wait().expect("node's status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("validate-openapi.js did not finish in {VALIDATION_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let _ = child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout);
    let _ = child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("validate-openapi.js said {stdout:?} ({e}); stderr: {stderr}"))
}

/// A running provider. Killed (by PID) when dropped, whatever the test did.
#[derive(Debug)]
pub struct Provider {
    child: Child,
    /// The issuer, `http://127.0.0.1:<port>/oidc`.
    pub issuer: String,
    /// The port it listens on.
    pub port: u16,
    /// The signing algorithm.
    pub alg: String,
    /// A resource it knows beside the fixed ones (`MCP_RESOURCE`), if any.
    resource: Option<String>,
    /// Whether its token endpoint requires DPoP nonces.
    pub dpop_nonce: bool,
}

impl Provider {
    /// Starts a provider signing with `alg` on `port` (0: a free port) and waits for it.
    ///
    /// A start that does not report ready in time is retried: CI once saw a node process hang
    /// for 30 s without printing READY while others started at once. The panic after the last
    /// attempt carries what each attempt wrote to stderr.
    pub fn start(alg: &str, port: u16) -> Provider {
        Provider::start_with(alg, port, None, false)
    }

    /// Like [`start`](Self::start), also issuing tokens for `resource` (e.g. an MCP server's
    /// URL, known only once its port is bound) with `read:products write:products`.
    pub fn start_for_resource(alg: &str, port: u16, resource: &str) -> Provider {
        Provider::start_with(alg, port, Some(resource), false)
    }

    /// Starts a provider whose token endpoint requires DPoP nonces (RFC 9449 §8): a proof
    /// without the current nonce gets `400 use_dpop_nonce` and the nonce in `DPoP-Nonce`.
    pub fn start_requiring_dpop_nonces(alg: &str) -> Provider {
        Provider::start_with(alg, 0, None, true)
    }

    fn start_with(alg: &str, port: u16, resource: Option<&str>, dpop_nonce: bool) -> Provider {
        prepare();
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            match Provider::try_start(alg, port, resource, dpop_nonce) {
                Ok(provider) => return provider,
                Err(failure) => {
                    eprintln!("oidc-provider start {attempt}/{START_ATTEMPTS} failed: {failure}");
                    failures.push(failure);
                }
            }
        }
        panic!(
            "oidc-provider ({alg}, port {port}) did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    fn try_start(
        alg: &str,
        port: u16,
        resource: Option<&str>,
        dpop_nonce: bool,
    ) -> Result<Provider, String> {
        let mut command = Command::new("node");
        if let Some(resource) = resource {
            command.env("MCP_RESOURCE", resource);
        }
        let mut child = command
            .arg("server.js")
            .env("PORT", port.to_string())
            .env("ALG", alg)
            .env("DPOP_NONCE", if dpop_nonce { "1" } else { "0" })
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("node did not start: {e}"))?;
        // Both pipes are drained for the life of the process, so node can never block on a
        // full pipe; stderr is kept (bounded) to explain a failed start.
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
                    if kept.len() < STDERR_KEPT {
                        kept.push_str(&line);
                        kept.push('\n');
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            for _ in lines.map_while(Result::ok) {}
        });
        let started = Instant::now();
        let outcome = rx.recv_timeout(READY_TIMEOUT);
        let ready = outcome.as_deref().ok().and_then(|line| {
            let issuer = line.strip_prefix("READY ")?.trim();
            let port = issuer
                .strip_prefix("http://127.0.0.1:")?
                .strip_suffix("/oidc")?
                .parse()
                .ok()?;
            Some((issuer.to_owned(), port))
        });
        let Some((issuer, port)) = ready else {
            let _ = child.kill();
            let _ = child.wait();
            let what = match outcome {
                Ok(line) => format!("printed {line:?} instead of READY <issuer>"),
                Err(_) => format!("no READY within {:?}", started.elapsed()),
            };
            let stderr = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return Err(format!("{what}; its stderr:\n{stderr}"));
        };
        Ok(Provider {
            child,
            issuer,
            port,
            alg: alg.to_owned(),
            resource: resource.map(str::to_owned),
            dpop_nonce,
        })
    }

    /// The endpoint as Logto names it (the issuer without `/oidc`).
    pub fn endpoint(&self) -> String {
        self.issuer.trim_end_matches("/oidc").to_owned()
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Stops this provider and starts a new one on the same port: same issuer, new key.
    pub fn restart(mut self) -> Provider {
        let (alg, port, resource) = (self.alg.clone(), self.port, self.resource.take());
        let dpop_nonce = self.dpop_nonce;
        self.stop();
        Provider::start_with(&alg, port, resource.as_deref(), dpop_nonce)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}
