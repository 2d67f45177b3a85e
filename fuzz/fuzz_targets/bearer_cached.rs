//! The `bearer` target with the validator's caches on (verified tokens and bad signatures), so the
//! cache-hit path, the key-trust re-check on a hit and the bad-signature cache are fuzzed too.
//!
//! Each input is validated twice: the second answer comes from the caches when it can, and must
//! equal the first. Inputs share the caches, so a failure may need the inputs run before it:
//! libFuzzer's crash file alone may not reproduce it (`-runs` over the corpus will).
#![no_main]

mod common;

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use scopegate::CacheConfig;

fuzz_target!(|data: &[u8]| {
    let harness = common::Harness::shared(CacheConfig::default);
    let mut headers = HeaderMap::new();
    let Some(token) = harness.extract(data, &mut headers) else {
        return;
    };
    let first = harness.validate(token);
    let second = harness.validate(token);
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a.claims(), b.claims(), "a cache hit changed the claims"),
        (Err(a), Err(b)) => assert_eq!(a, b, "a cache changed the refusal"),
        _ => panic!("a cache changed the verdict: {first:?} then {second:?}"),
    }
});
