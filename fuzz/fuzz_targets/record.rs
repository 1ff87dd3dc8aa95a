//! Fuzz target `record`: the body is `harness::record` (docs/08-fuzzing.md).
#![no_main]

// Each target uses one of the harness's functions.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::record(data));
