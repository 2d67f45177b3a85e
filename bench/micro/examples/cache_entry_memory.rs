//! What a cache costs per entry by itself, as RSS growth per entry (Linux), for the two layouts
//! of the verified-token cache:
//!
//! * `moka`: moka with per-entry expiry, keyed by an 800-byte token (before issue 19);
//! * `moka-digest`: the same keyed by a 32-byte digest (what the key alone saves);
//! * `quick_cache`: quick_cache keyed by the digest (the layout now).
//!
//! Each entry's value is 48 bytes, the size of the cache's own record (the context it points to
//! is the same in every layout and not counted). One layout per process, so that one's freed
//! memory cannot serve another:
//! `cargo run --release -p scopegate-bench-micro --example cache_entry_memory -- quick_cache 100000`
//! (`--profile bench` instead of `--release` reuses the benchmarks' build).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

/// The cache's record of a token: a pointer and five 8-byte fields, as `CachedToken`.
#[derive(Clone)]
struct Record {
    _shared: std::sync::Arc<u64>,
    _fields: [u64; 5],
}

struct TenMinutes;

impl<K> moka::Expiry<K, Record> for TenMinutes {
    fn expire_after_create(&self, _: &K, _: &Record, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(600))
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmRSS")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn digest(i: u64) -> [u8; 32] {
    let mut key = [0; 32];
    key[..8].copy_from_slice(&i.to_le_bytes());
    key
}

fn main() {
    let mut args = std::env::args().skip(1);
    let layout = args.next().unwrap_or_else(|| "quick_cache".into());
    let entries: u64 = args.next().map_or(100_000, |n| n.parse().unwrap());
    let shared = std::sync::Arc::new(0);
    let record = |i: u64| Record {
        _shared: shared.clone(),
        _fields: [i; 5],
    };
    let before = rss_kib();
    match layout.as_str() {
        "moka" => {
            let cache: moka::sync::Cache<Box<str>, Record, foldhash::fast::RandomState> =
                moka::sync::Cache::builder()
                    .max_capacity(entries)
                    .expire_after(TenMinutes)
                    .build_with_hasher(Default::default());
            for i in 0..entries {
                cache.insert(format!("{i:0>800}").into(), record(i));
            }
            cache.run_pending_tasks();
            report(&layout, cache.entry_count(), before)
        }
        "moka-digest" => {
            let cache: moka::sync::Cache<[u8; 32], Record, foldhash::fast::RandomState> =
                moka::sync::Cache::builder()
                    .max_capacity(entries)
                    .expire_after(TenMinutes)
                    .build_with_hasher(Default::default());
            for i in 0..entries {
                cache.insert(digest(i), record(i));
            }
            cache.run_pending_tasks();
            report(&layout, cache.entry_count(), before)
        }
        "quick_cache" => {
            let capacity = entries as usize;
            let cache: quick_cache::sync::Cache<
                [u8; 32],
                Record,
                quick_cache::UnitWeighter,
                foldhash::fast::RandomState,
            > = quick_cache::sync::Cache::with(
                capacity,
                entries + entries / 20,
                quick_cache::UnitWeighter,
                Default::default(),
                Default::default(),
            );
            for i in 0..entries {
                cache.insert(digest(i), record(i));
            }
            report(&layout, cache.len() as u64, before)
        }
        other => panic!("layout: moka, moka-digest or quick_cache, not {other}"),
    }
}

/// Prints the growth since `before`, with the cache still alive.
fn report(layout: &str, held: u64, before: u64) {
    let grew = (rss_kib() - before) * 1024;
    println!(
        "{layout}: {held} entries, RSS grew {:.1} MiB, {} bytes per entry (48 of them the record)",
        grew as f64 / 1048576.0,
        grew / held
    );
}
