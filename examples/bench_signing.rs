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
    // The sample record closest to 25 triples, stamped as publishing does.
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/records");
    let mut paths = Vec::new();
    for folder in std::fs::read_dir(&samples)? {
        for entry in std::fs::read_dir(folder?.path())? {
            paths.push(entry?.path());
        }
    }
    let mut records = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path)?;
        let quads = rdf_input::parse(
            &bytes,
            InputFormat::Turtle,
            Some(&format!("{base}/")),
            &path.display().to_string(),
            &PinnedContexts::default(),
        )?;
        for r in record::split_into_records(quads, base)? {
            records.push(r.stamped(1, "2026-11-22T10:00:00Z"));
        }
    }
    records.sort_by_key(|r| (r.triples.len().abs_diff(25), r.iri.as_str().to_owned()));
    let sample = records.remove(0);
    // Padded with keywords to the typical 25 triples.
    let mut triples = sample.triples.clone();
    let mut n = 0;
    while triples.len() < 25 {
        n += 1;
        triples.push(oxrdf::Triple::new(
            sample.iri.clone(),
            oxrdf::NamedNode::new_unchecked("https://schema.org/keywords"),
            oxrdf::Literal::new_language_tagged_literal_unchecked(format!("keyword {n}"), "en"),
        ));
    }
    let record = record::Record::new(sample.iri.clone(), triples);
    let document = record.document();
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let limits = Limits::default();
    let created = "2026-11-22T10:00:00Z";
    let budget = Duration::from_secs(2);
    println!(
        "record: {} ({} triples)",
        record.iri.as_str(),
        document.len()
    );

    let message = [7u8; 64];
    let signature = key.sign(&message);
    let verifying = key.verifying_key();
    let raw_sign = rate(budget, || {
        black_box(key.sign(black_box(&message)));
    });
    let raw_verify = rate(budget, || {
        black_box(verifying.verify(black_box(&message), &signature)).ok();
    });
    let signer = proof::ProofSigner::new(key.clone());
    let signed = signer.sign(&document, created, &limits)?;
    let record_sign = rate(budget, || {
        black_box(signer.sign(black_box(&document), created, &limits)).ok();
    });
    let record_verify = rate(budget, || {
        black_box(proof::verify(black_box(&document), &signed, &limits)).ok();
    });
    let canon_hash = rate(budget, || {
        black_box(ccis::canon::canonical_sha256(black_box(&document), &limits)).ok();
    });
    let proof_value = rate(budget, || {
        black_box(proof::encode_proof_value(black_box(&signature)));
    });
    println!("raw Ed25519 sign      {raw_sign:>10.0} /s");
    println!(
        "record sign           {record_sign:>10.0} /s   cost ratio {:.2}x (target <= 2x)",
        raw_sign / record_sign
    );
    println!(
        "  of which canonical N-Quads + SHA-256 {:.1} us, proofValue base58 {:.1} us, raw signature {:.1} us",
        1e6 / canon_hash,
        1e6 / proof_value,
        1e6 / raw_sign
    );
    println!("raw Ed25519 verify    {raw_verify:>10.0} /s");
    println!(
        "record verify         {record_verify:>10.0} /s   cost ratio {:.2}x (target <= 2x)",
        raw_verify / record_verify
    );
    Ok(())
}
