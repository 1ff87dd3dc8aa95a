//! Every command against a node directory that `ccis serve` holds: readers
//! work on a read-only view of the store, writers say who holds the directory
//! and exit with an error code, and no command dies by a signal.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const BASE: &str = "https://fr.example";

/// Runs `ccis` and returns (exit code, stdout, stderr); fails the test if it
/// ended by a signal.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::ccis_bin())
        .args(args)
        .current_dir(common::repo())
        .output()
        .expect("run ccis");
    assert_eq!(
        out.status.signal(),
        None,
        "ccis {args:?} died by a signal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_against_a_served_directory_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let d = dir.to_str().unwrap();
    common::init_node(&dir, "fr-test", "FR", BASE, &[]);
    let record = common::repo().join("examples/records/fr/cap-impact.ttl");
    let record = record.to_str().unwrap();
    let (code, _, err) = run(&["publish", "--dir", d, record]);
    assert_eq!(code, 0, "{err}");
    let iri = format!("{BASE}/records/cap-impact");
    let export = tmp.path().join("export.jsonld");
    let export = export.to_str().unwrap();

    let (mut server, _url) = common::spawn_serve(&dir, false);

    // Readers work while the node is served, on what the store held.
    let (code, out, err) = run(&["status", "--dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("records   1 (0 withdrawn)"), "{out}");
    let (code, out, err) = run(&[
        "query",
        "--dir",
        d,
        &format!("ASK {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("true"), "{out}");
    let (code, _, err) = run(&[
        "export", "--dir", d, "--format", "jsonld", "--output", export,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["verify", "--key", &public_key(&dir), export]);
    assert_eq!(code, 0, "{out}{err}");

    // Writers are refused with one line that names the holder and what to do.
    for args in [
        vec!["publish", "--dir", d, record],
        vec!["withdraw", "--dir", d, &iri],
        vec!["harvest", "--dir", d],
        vec!["resign", "--dir", d],
        vec!["serve", "--dir", d, "--listen", "127.0.0.1:0"],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "ccis {args:?}: {err}");
        let line = err.trim();
        assert_eq!(line.lines().count(), 1, "ccis {args:?}: {err}");
        assert!(
            line.contains("is in use by `ccis serve` (pid ") && line.contains("operator API"),
            "ccis {args:?}: {err}"
        );
    }
    // A directory that is not a node, and a second init, are errors too.
    let (code, _, err) = run(&["status", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&[
        "init",
        "--dir",
        d,
        "--id",
        "fr-test",
        "--country",
        "FR",
        "--base-url",
        BASE,
    ]);
    assert_eq!(code, 1, "{err}");

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(server.wait().unwrap().success());
    // Once the server is gone, writers work again.
    let (code, _, err) = run(&["withdraw", "--dir", d, &iri]);
    assert_eq!(code, 0, "{err}");
}

/// The node's public key (Multikey), from its ccis.toml.
fn public_key(dir: &std::path::Path) -> String {
    let config = ccis::config::NodeConfig::load(dir).unwrap();
    config.active_key().unwrap().public_key.clone()
}
