//! A real `oidc-provider` (tests/interop/server.js), started and stopped by the tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// How long the provider may take to print its READY line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The signing algorithms the interop provider supports.
pub const ALGORITHMS: [&str; 3] = ["ES384", "RS256", "EdDSA"];

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Makes sure `node` runs and the provider's packages are installed (`npm ci`, once).
fn prepare() {
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
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (it comes with Node.js)");
        assert!(status.success(), "`npm ci` in {} failed", dir.display());
    }
    *prepared = true;
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
}

impl Provider {
    /// Starts a provider signing with `alg` on `port` (0: a free port) and waits for it.
    pub fn start(alg: &str, port: u16) -> Provider {
        prepare();
        let mut child = Command::new("node")
            .arg("server.js")
            .env("PORT", port.to_string())
            .env("ALG", alg)
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("oidc-provider did not become ready within {READY_TIMEOUT:?}");
            }
        };
        let Some(issuer) = line.trim().strip_prefix("READY ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oidc-provider printed {line:?} instead of READY");
        };
        let port = issuer
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/oidc")
            .parse()
            .expect("a port in the issuer URL");
        Provider {
            child,
            issuer,
            port,
            alg: alg.to_owned(),
        }
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
        let (alg, port) = (self.alg.clone(), self.port);
        self.stop();
        Provider::start(&alg, port)
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
