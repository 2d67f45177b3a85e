//! A real Redis for the tests: the one `.ci/run` started (`SCOPEGATE_TEST_REDIS_URL`), or a
//! private `redis-server` from `PATH`, started on a free loopback port without persistence and
//! killed when dropped. Without either the test fails and says what to install: it never skips.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable `.ci/run` sets to the URL of the Redis it started.
pub const REDIS_URL_VARIABLE: &str = "SCOPEGATE_TEST_REDIS_URL";

/// A Redis to test against.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    /// Set for a private server, which this value owns (and may stop).
    child: Option<Child>,
}

impl TestRedis {
    /// The shared CI Redis when there is one, else a private server.
    pub fn shared_or_private() -> TestRedis {
        match std::env::var(REDIS_URL_VARIABLE) {
            Ok(url) if !url.is_empty() => TestRedis { url, child: None },
            _ => TestRedis::private(),
        }
    }

    /// A private `redis-server` (for tests that stop it: never the shared one).
    pub fn private() -> TestRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        TestRedis::private_on(port)
    }

    /// Starts a stopped private server again, on its port, empty.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        let port = self.url.rsplit(':').next().unwrap().trim_end_matches('/');
        *self = TestRedis::private_on(port.parse().unwrap());
    }

    fn private_on(port: u16) -> TestRedis {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): install it (Debian: apt-get install \
                     redis-server) or set {REDIS_URL_VARIABLE} to a Redis the tests may use"
                )
            });
        let redis = TestRedis {
            url: format!("redis://127.0.0.1:{port}/"),
            child: Some(child),
        };
        redis.wait_until_up(SocketAddr::from(([127, 0, 0, 1], port)));
        redis
    }

    /// `redis://host:port/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops a private server and waits for it to exit.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("only a private Redis is stopped");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn wait_until_up(&self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(addr) {
            assert!(
                Instant::now() < deadline,
                "redis-server on {addr} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether a Redis answers `PING` at `addr`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
