//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/conformance` beside the repository (or `CCIS_CONFORMANCE_DIR`).
///
/// Missing data fails the test in CI (`CI=true`) and is a loud skip elsewhere.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CCIS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/conformance"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "conformance data not found at {}: CI needs ../shared/conformance beside the clone",
            dir.display()
        );
    }
    // Written to stderr directly: the test harness would capture eprintln!.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!!\n!!! SKIPPED: conformance data not found at {} (set CCIS_CONFORMANCE_DIR); these tests checked nothing\n!!!!!!!!!!",
        dir.display()
    );
    None
}

/// The `ccis` binary built for the tests.
pub fn ccis_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ccis"))
}

/// Runs `ccis` with arguments; returns (success, stdout, stderr).
pub fn ccis(args: &[&str]) -> (bool, String, String) {
    ccis_in(&repo(), args)
}

/// Runs `ccis` in a working directory.
pub fn ccis_in(cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(ccis_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run ccis");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
