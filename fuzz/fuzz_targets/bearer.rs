//! Arbitrary bytes as the value of an `Authorization` header, through the layer's own steps:
//! bearer extraction (RFC 6750 §2.1), then full validation against a fixed key set.
//!
//! Besides "no panic, no hang, no sanitizer report", every input is held to what the layer
//! promises: extraction refuses with 400, validation with 401 `invalid_token` (never a 503: the
//! keys are static), and a token that passes has exactly the header and payload of a seed (the
//! private keys are gone, so anything else accepted is a forgery). The caches are off: an input's
//! outcome never depends on the inputs before it.
#![no_main]

mod common;

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use scopegate::CacheConfig;

fuzz_target!(|data: &[u8]| {
    let harness = common::Harness::shared(CacheConfig::disabled);
    let mut headers = HeaderMap::new();
    if let Some(token) = harness.extract(data, &mut headers) {
        let _ = harness.validate(token);
    }
});
