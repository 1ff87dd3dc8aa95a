//! SHACL validation of the sample records: the shapes compiled once into a
//! plan (`ShapeValidator`) next to rudof's SHACL Core engine on the record
//! merged with the reference data (`ReferenceValidator`, the old way), per
//! record and per batch, so that the ratio can be read off one run.
//!
//! `cargo bench --profile dev --bench shacl -- --warm-up-time 1 --measurement-time 3`
//! (the dev profile builds dependencies at opt-level 2 and reuses the test
//! build; the bench profile would rebuild RocksDB).

use ccis::record::Record;
use ccis::shapes::{ReferenceValidator, ShapeValidator};
use criterion::{BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// The records of `examples/records/`, stamped as a node publishes them.
fn samples() -> Vec<Record> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/records");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("examples/records")
        .filter_map(|d| d.ok().map(|d| d.path()))
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let node = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let base = format!("https://{}.example/", node.unwrap_or_default());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("a node's records")
            .filter_map(|f| f.ok().map(|f| f.path()))
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).expect("a sample record");
            let quads = ccis::rdf_input::parse(
                &bytes,
                ccis::rdf_input::InputFormat::Turtle,
                Some(&base),
                &file.display().to_string(),
                &Default::default(),
            )
            .expect("a sample record parses");
            let records = ccis::record::split_into_records(quads, &base).expect("records");
            out.extend(records.iter().map(|r| r.stamped(1, "2026-11-20T10:00:00Z")));
        }
    }
    out
}

/// A sample record without its titles: the violation path.
fn broken(record: &Record) -> Record {
    let title = "http://purl.org/dc/terms/title";
    let triples = record
        .triples
        .iter()
        .filter(|t| t.predicate.as_str() != title)
        .cloned()
        .collect();
    Record::new(record.iri.clone(), triples)
}

fn bench(c: &mut Criterion) {
    let records = samples();
    let refs: Vec<&Record> = records.iter().collect();
    let old = ReferenceValidator::new().expect("rudof reads the shapes");
    let new = ShapeValidator::new().expect("the shapes compile");
    assert!(
        records
            .iter()
            .all(|r| new.validate(r).is_ok() && old.validate(r).is_ok())
    );

    let mut group = c.benchmark_group("shacl/record");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("rudof", |b| {
        b.iter(|| records.iter().all(|r| old.validate(black_box(r)).is_ok()))
    });
    group.bench_function("plan", |b| {
        b.iter(|| records.iter().all(|r| new.validate(black_box(r)).is_ok()))
    });
    group.finish();

    let mut group = c.benchmark_group("shacl/batch");
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_with_input(BenchmarkId::new("rudof", refs.len()), &refs, |b, refs| {
        b.iter(|| old.validate_many(black_box(refs)))
    });
    group.bench_with_input(BenchmarkId::new("plan", refs.len()), &refs, |b, refs| {
        b.iter(|| new.validate_many(black_box(refs)))
    });
    group.finish();

    let bad = broken(&records[0]);
    let mut group = c.benchmark_group("shacl/violation");
    group.bench_function("rudof", |b| {
        b.iter(|| old.validate(black_box(&bad)).is_err())
    });
    group.bench_function("plan", |b| {
        b.iter(|| new.validate(black_box(&bad)).is_err())
    });
    group.finish();

    let mut group = c.benchmark_group("shacl/compile");
    group.sample_size(10);
    group.bench_function("rudof", |b| b.iter(ReferenceValidator::new));
    group.bench_function("plan", |b| b.iter(ShapeValidator::new));
    group.finish();
}

/// Mean time per record of validating every sample `rounds` times.
fn per_record(records: &[Record], rounds: u32, validate: impl Fn(&Record) -> bool) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        for r in records {
            assert!(validate(black_box(r)));
        }
    }
    start.elapsed() / (rounds * records.len() as u32)
}

/// One line with the ratio, besides criterion's own figures.
fn summary() {
    let records = samples();
    let (Ok(old), Ok(new)) = (ReferenceValidator::new(), ShapeValidator::new()) else {
        return;
    };
    let rudof = per_record(&records, 20, |r| old.validate(r).is_ok());
    let plan = per_record(&records, 200, |r| new.validate(r).is_ok());
    println!(
        "\nper record over {} samples: rudof {rudof:.1?}, plan {plan:.1?}: {:.1}x faster",
        records.len(),
        rudof.as_secs_f64() / plan.as_secs_f64()
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--list") {
        summary();
    }
}
