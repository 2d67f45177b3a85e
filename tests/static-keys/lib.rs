//! Nothing here: the tests are in `static_keys.rs`.
