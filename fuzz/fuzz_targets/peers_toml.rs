//! Fuzz target `peers_toml`: the body is `harness::peers_toml` (docs/08-fuzzing.md).
#![no_main]

// Each target uses one of the harness's functions.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::peers_toml(data));
