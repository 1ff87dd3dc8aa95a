//! Signing and verification rates of a typical record, next to raw Ed25519.
//!
//! Run: `cargo run --example bench_signing` (the dev profile builds ccis and its
//! dependencies optimized, see Cargo.toml). Prints rates and the ratios
//! record-sign / raw-sign and record-verify / raw-verify, measured in the same run.

use ccis::canon::Limits;
use ccis::proof;
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record;
use ed25519_dalek::{Signer, SigningKey, Verifier};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `f` repeatedly for about `budget` and returns operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let base = "https://ccis.example.fr";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/records/fr/guide-evaluer-impact-social.ttl");
    let bytes = std::fs::read(&path)?;
    let quads = rdf_input::parse(
        &bytes,
        InputFormat::Turtle,
        Some(&format!("{base}/")),
        "sample",
        &PinnedContexts::default(),
    )?;
    let record = record::split_into_records(quads, base)?
        .remove(0)
        .stamped(1, "2026-11-22T10:00:00Z");
    let document = record.document();
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let limits = Limits::default();
    let created = "2026-11-22T10:00:00Z";
    let budget = Duration::from_secs(2);
    println!("record: {} triples", document.len());

    let message = [7u8; 64];
    let signature = key.sign(&message);
    let verifying = key.verifying_key();
    let raw_sign = rate(budget, || {
        black_box(key.sign(black_box(&message)));
    });
    let raw_verify = rate(budget, || {
        black_box(verifying.verify(black_box(&message), &signature)).ok();
    });
    let signed = proof::sign(&document, &key, created, &limits)?;
    let record_sign = rate(budget, || {
        black_box(proof::sign(black_box(&document), &key, created, &limits)).ok();
    });
    let record_verify = rate(budget, || {
        black_box(proof::verify(black_box(&document), &signed, &limits)).ok();
    });
    println!("raw Ed25519 sign      {raw_sign:>10.0} /s");
    println!(
        "record sign           {record_sign:>10.0} /s   cost ratio {:.2}x (target <= 2x)",
        raw_sign / record_sign
    );
    println!("raw Ed25519 verify    {raw_verify:>10.0} /s");
    println!(
        "record verify         {record_verify:>10.0} /s   cost ratio {:.2}x (target <= 2x)",
        raw_verify / record_verify
    );
    Ok(())
}
