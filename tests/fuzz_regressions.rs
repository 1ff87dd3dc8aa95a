//! Replays what the fuzz targets found and started from, on the stable
//! toolchain and without building `fuzz/`: every file under
//! `fuzz/regressions/<target>/` and `fuzz/corpus/<target>/` goes through the
//! same harness function as the fuzz target (`fuzz/harness.rs`), and the
//! test fails if any panics. See docs/08-fuzzing.md.

#[path = "../fuzz/harness.rs"]
mod harness;
#[path = "../fuzz/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};

/// Stack of the thread each input runs on: libFuzzer runs inputs on the
/// main thread, whose stack is 8 MiB on Linux; the default for test
/// threads (2 MiB) would overflow where the fuzzer does not.
const STACK_BYTES: usize = 8 << 20;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every input kept for `target` through `harness`; fails naming each
/// input that panicked.
fn replay(target: &str, harness: fn(&[u8])) {
    let mut inputs = Vec::new();
    for kind in ["regressions", "corpus"] {
        let dir = fuzz_dir().join(kind).join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_file() {
                inputs.push(path);
            }
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no input kept for {target}");
    let mut failed = Vec::new();
    for path in &inputs {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run = std::thread::Builder::new()
            .name(path.display().to_string())
            .stack_size(STACK_BYTES)
            .spawn(move || harness(&bytes))
            .expect("a thread to replay on");
        if run.join().is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} inputs of {target} panicked:\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
}

#[test]
fn feed_page_inputs_do_not_panic() {
    replay("feed_page", harness::feed_page);
}

#[test]
fn record_inputs_do_not_panic() {
    replay("record", harness::record);
}

#[test]
fn peers_toml_inputs_do_not_panic() {
    replay("peers_toml", harness::peers_toml);
}

#[test]
fn sparql_inputs_do_not_panic() {
    replay("sparql", harness::sparql);
}

/// Writes the seed corpora (`fuzz/corpus/<target>/seed-*`) from the
/// example records and queries, signed with the harness's seed key:
/// `cargo test --test fuzz_regressions -- --ignored write_seeds`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand when the formats change"]
fn write_seeds() {
    seeds::write_all(Path::new(env!("CARGO_MANIFEST_DIR")));
}
