//! Two shopping-API processes behind one public URL share one real Redis as their DPoP replay
//! store: a proof used on one is refused on the other; with Redis stopped, both answer 503 with
//! `Retry-After`, and each logs the outage once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The helpers of the workspace tests, shared by path: this crate cannot depend on theirs.
#[allow(unreachable_pub, dead_code)]
#[path = "../../../tests/support/dpop.rs"]
mod dpop;
#[allow(unreachable_pub, dead_code)]
#[path = "../../../tests/support/redis.rs"]
mod redis;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dpop::ProofKey;
use redis::TestRedis;
use scopegate_dev::DevIssuer;
use serde_json::{Value, json};
use shopping_api::DEFAULT_AUDIENCE;

/// What clients address: the load balancer in front of both replicas.
const PUBLIC_URL: &str = "http://shop.example.test";

/// One `shopping-api` process, killed when dropped.
struct Replica {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl Replica {
    fn start(issuer: &DevIssuer, redis_url: &str, name: &str) -> Replica {
        let stderr = std::env::temp_dir().join(format!(
            "scopegate-replica-{}-{name}.log",
            std::process::id()
        ));
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopping-api"));
        for name in shopping_api::VARIABLES {
            command.env_remove(name);
        }
        let mut child = command
            .env("ISSUER", issuer.issuer())
            .env("JWKS_URI", issuer.jwks_uri())
            .env("BIND", "127.0.0.1:0")
            .env("DPOP", "required")
            .env("PUBLIC_URL", PUBLIC_URL)
            .env("REDIS_URL", redis_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(File::create(&stderr).unwrap()))
            .spawn()
            .unwrap();
        // The banner's first line says where it listens.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("shopping API listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the replica starts");
        Replica { child, url, stderr }
    }

    /// Log lines so far that say the replay store is unreachable.
    fn outage_lines(&self) -> usize {
        std::fs::read_to_string(&self.stderr)
            .unwrap()
            .lines()
            .filter(|l| l.contains("DPoP replay store (Redis) unreachable"))
            .count()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

struct Answer {
    status: u16,
    error: Option<String>,
    retry_after: Option<String>,
}

/// `GET /products` on `replica` with the DPoP-bound `token` and `proof`.
async fn get(replica: &Replica, token: &str, proof: &str) -> Answer {
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{}/products", replica.url))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        error: body["error"].as_str().map(str::to_owned),
        retry_after,
    }
}

async fn issuer_and_token(key: &ProofKey) -> (DevIssuer, String) {
    let issuer = DevIssuer::builder().start().await.unwrap();
    let mut claims = issuer.claims("shopping-reader", DEFAULT_AUDIENCE, "read:products");
    claims["cnf"] = json!({ "jkt": key.thumbprint() });
    let token = issuer.mint(claims);
    (issuer, token)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proof_used_on_one_replica_is_refused_on_the_other() {
    let redis = TestRedis::shared_or_private();
    let key = ProofKey::generate();
    let (issuer, token) = issuer_and_token(&key).await;
    let a = Replica::start(&issuer, redis.url(), "a");
    let b = Replica::start(&issuer, redis.url(), "b");
    let htu = format!("{PUBLIC_URL}/products");

    let proof = key.proof("GET", &htu, Some(&token));
    assert_eq!(get(&a, &token, &proof).await.status, 200);
    let replayed = get(&b, &token, &proof).await;
    assert_eq!(
        (replayed.status, replayed.error.as_deref()),
        (401, Some("invalid_dpop_proof"))
    );
    let again = get(&a, &token, &proof).await;
    assert_eq!(again.status, 401);

    // Fresh proofs work on either replica, alternately.
    for replica in [&b, &a, &b] {
        let fresh = key.proof("GET", &htu, Some(&token));
        assert_eq!(get(replica, &token, &fresh).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_stopped_both_replicas_answer_503_and_log_it_once() {
    // A private Redis: stopping the shared one would break the other tests.
    let mut redis = TestRedis::private();
    let key = ProofKey::generate();
    let (issuer, token) = issuer_and_token(&key).await;
    let a = Replica::start(&issuer, redis.url(), "stop-a");
    let b = Replica::start(&issuer, redis.url(), "stop-b");
    let htu = format!("{PUBLIC_URL}/products");
    let fresh = || key.proof("GET", &htu, Some(&token));
    assert_eq!(get(&a, &token, &fresh()).await.status, 200);
    assert_eq!(get(&b, &token, &fresh()).await.status, 200);

    redis.stop();
    for _ in 0..3 {
        for replica in [&a, &b] {
            let answer = get(replica, &token, &fresh()).await;
            assert_eq!(answer.status, 503);
            assert_eq!(answer.error.as_deref(), Some("temporarily_unavailable"));
            assert_eq!(answer.retry_after.as_deref(), Some("2"));
        }
    }
    assert_eq!(a.outage_lines(), 1, "logged once per outage");
    assert_eq!(b.outage_lines(), 1, "logged once per outage");
}
