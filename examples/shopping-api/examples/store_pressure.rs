//! Measures what a full store costs the shopping API (issue 24, item 7): fills it with POSTs,
//! then sends concurrent `GET /products` and reads the server's resident memory from
//! `/proc/<pid>/status` (Linux). Works against any build of the API, old or new:
//!
//! ```sh
//! BIND=127.0.0.1:3900 DEV_ISSUER_BIND=127.0.0.1:3901 target/debug/shopping-api & PID=$!
//! cargo run -p shopping-api --example store_pressure -- http://127.0.0.1:3900 http://127.0.0.1:3901/oidc/token $PID 50000 32
//! ```
//!
//! Prints figures; asserts nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

fn status_kib(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, api, token_endpoint, pid, posts, gets] = &args[..] else {
        eprintln!("usage: store_pressure API_URL TOKEN_ENDPOINT PID POSTS GETS");
        std::process::exit(2);
    };
    let (posts, gets): (u64, usize) = (posts.parse().unwrap(), gets.parse().unwrap());
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(token_endpoint)
        .basic_auth("shopping-admin", Some("admin-secret"))
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
    let token = Arc::new(token["access_token"].as_str().unwrap().to_owned());
    let products = format!("{api}/products");

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let created = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (http, token, products) = (http.clone(), Arc::clone(&token), products.clone());
        let (next, created) = (Arc::clone(&next), Arc::clone(&created));
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < posts {
                // The longest name the API accepts (200 characters).
                let body = serde_json::json!({ "name": "k".repeat(200), "price_cents": 5900 });
                let response = http
                    .post(&products)
                    .bearer_auth(&*token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                if response.status() == 201 {
                    created.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let rss_before = status_kib(pid, "VmRSS:");
    let hwm_before = status_kib(pid, "VmHWM:");
    println!(
        "{posts} POSTs in {:.1} s: {} created; RSS {:.1} MB (peak so far {:.1} MB)",
        started.elapsed().as_secs_f64(),
        created.load(Ordering::SeqCst),
        rss_before as f64 / 1024.0,
        hwm_before as f64 / 1024.0
    );

    let started = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..gets {
        let (http, token, products) = (http.clone(), Arc::clone(&token), products.clone());
        readers.push(tokio::spawn(async move {
            let response = http
                .get(&products)
                .bearer_auth(&*token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap().len())
        }));
    }
    let mut bytes = 0;
    for reader in readers {
        let (status, len) = reader.await.unwrap();
        assert_eq!(status, 200);
        bytes = len;
    }
    let hwm_after = status_kib(pid, "VmHWM:");
    println!(
        "{gets} concurrent GET /products in {:.2} s, {bytes} bytes each: peak RSS {:.1} MB (was {:.1} MB before the GETs)",
        started.elapsed().as_secs_f64(),
        hwm_after as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
