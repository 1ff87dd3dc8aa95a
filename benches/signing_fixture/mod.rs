//! What the signing benchmarks measure on, shared by `benches/integrity.rs`
//! and `examples/bench_signing.rs`: a typical record and feed pages of
//! signed versions of it, and a clock that counts only this thread's work.

use ccis::canon::Limits;
use ccis::proof::ProofSigner;
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record::{self, Record};
use ccis::signed::FoundRecord;
use oxrdf::{Literal, NamedNode, Triple};
use std::time::Duration;

/// The `created` of every proof made here.
pub const CREATED: &str = "2026-11-22T10:00:00Z";

/// The key every record here is signed with.
pub fn key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42u8; 32])
}

/// The sample record closest to 25 triples, stamped as publishing does and
/// padded with keywords to the typical 25 triples.
pub fn typical_record() -> anyhow::Result<Record> {
    let base = "https://ccis.example.fr";
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
            records.push(r.stamped(1, CREATED));
        }
    }
    records.sort_by_key(|r| (r.triples.len().abs_diff(25), r.iri.as_str().to_owned()));
    let sample = records
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no sample record in {}", samples.display()))?;
    let mut triples = sample.triples.clone();
    let mut n = 0;
    while triples.len() < 25 {
        n += 1;
        triples.push(keyword(&sample, &format!("keyword {n}")));
    }
    Ok(Record::new(sample.iri.clone(), triples))
}

fn keyword(record: &Record, text: &str) -> Triple {
    Triple::new(
        record.iri.clone(),
        NamedNode::new_unchecked("https://schema.org/keywords"),
        Literal::new_language_tagged_literal_unchecked(text, "en"),
    )
}

/// A feed page of `n` versions of `record`, each with one more keyword,
/// signed by `signer`; the member at `tampered` has its content altered
/// after signing.
pub fn page(
    record: &Record,
    signer: &ProofSigner,
    n: usize,
    tampered: Option<usize>,
) -> anyhow::Result<Vec<FoundRecord>> {
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let mut triples = record.triples.clone();
        triples.push(keyword(record, &format!("member {i}")));
        let mut record = Record::new(record.iri.clone(), triples);
        let proof = signer.sign(&record.document(), CREATED, &Limits::default())?;
        if tampered == Some(i) {
            record.triples.push(keyword(&record, "added after signing"));
        }
        members.push(FoundRecord {
            record,
            proofs: vec![proof],
            unsigned: Vec::new(),
        });
    }
    Ok(members)
}

/// The CPU time this thread has used: time while other processes run is
/// not counted, which steadies the figures on a shared machine.
pub fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "no thread CPU clock");
    Duration::new(
        t.tv_sec.unsigned_abs(),
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}
