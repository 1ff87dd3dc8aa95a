//! A store RocksDB refuses to open is an error that names it, for every
//! command that reads or writes it, never a crash.
//!
//! This also holds the binary to the system allocator: Oxigraph's RocksDB
//! binding frees RocksDB's error strings (allocated with C's `malloc`)
//! through Rust's global allocator, so with another global allocator each
//! of these commands died by SIGSEGV.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

#[test]
fn a_damaged_store_is_an_error_for_readers_and_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let d = dir.to_str().unwrap();
    common::init_node(&dir, "fr-test", "FR", "https://fr.example", &[]);
    // RocksDB reads the name of its manifest from CURRENT; garbage there
    // is a RocksDB error on every open, read-only or not.
    std::fs::write(dir.join("store/CURRENT"), "not a manifest name").unwrap();
    let record = common::repo().join("examples/records/fr/cap-impact.ttl");
    let record = record.to_str().unwrap();
    for args in [
        vec!["status", "--dir", d],
        vec!["query", "--dir", d, "ASK { ?s ?p ?o }"],
        vec!["publish", "--dir", d, record],
        vec!["harvest", "--dir", d],
        vec!["serve", "--dir", d, "--listen", "127.0.0.1:0"],
    ] {
        let out = Command::new(common::ccis_bin())
            .args(&args)
            .current_dir(common::repo())
            .output()
            .expect("run ccis");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            None,
            "ccis {args:?} died by a signal: {err}"
        );
        assert_eq!(out.status.code(), Some(1), "ccis {args:?}: {err}");
        assert!(
            err.contains(&format!("{d}/store")),
            "ccis {args:?} does not name the store: {err}"
        );
    }
}
