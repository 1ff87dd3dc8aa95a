//! Micro-benchmarks of the integrity path: canonicalization, signing,
//! verification and batch verification of a feed page, each group next to
//! raw Ed25519 in the same run, so that the cost ratios can be read off.
//!
//! Run (the dev profile, whose optimized dependencies are already built;
//! the bench profile would rebuild RocksDB in release mode):
//!
//! ```text
//! cargo bench --profile dev --bench integrity -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Times are this thread's CPU time, not wall time: on a shared machine the
//! other processes then weigh less on the figures. `examples/bench_signing.rs`
//! prints the same ratios in one short run.

mod signing_fixture;

use ccis::canon::{self, Limits};
use ccis::proof::{self, ProofSigner};
use ccis::record::Record;
use ccis::signed::FoundRecord;
use ccis::verify::{Trust, Verifier};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, Verifier as _};
use signing_fixture::{CREATED, key, page, thread_cpu_time, typical_record};
use std::hint::black_box;
use std::time::Duration;

/// This thread's CPU time, shown as durations.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL_TIME: WallTime = WallTime;
        WALL_TIME.formatter()
    }
}

type Group<'a> = BenchmarkGroup<'a, ThreadCpuTime>;

/// The raw Ed25519 operations every group is compared with.
fn raw_ed25519(group: &mut Group<'_>) {
    let key = key();
    let verifying = key.verifying_key();
    let message = [7u8; 64];
    let signature = key.sign(&message);
    group.bench_function("raw_ed25519_sign", |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    group.bench_function("raw_ed25519_verify", |b| {
        b.iter(|| verifying.verify(black_box(&message), black_box(&signature)))
    });
}

fn fixture() -> Record {
    typical_record().expect("the sample records of examples/records")
}

fn canonicalization(c: &mut Criterion<ThreadCpuTime>) {
    let record = fixture();
    let document = record.document();
    let limits = Limits::default();
    let mut group = c.benchmark_group("canonicalize");
    raw_ed25519(&mut group);
    group.bench_function("canonical_nquads", |b| {
        b.iter(|| canon::canonical_nquads(black_box(&document), &limits))
    });
    group.bench_function("canonical_sha256", |b| {
        b.iter(|| canon::canonical_sha256(black_box(&document), &limits))
    });
    group.bench_function("document_sha256", |b| {
        b.iter(|| canon::document_sha256(black_box(&record.triples), &limits))
    });
    group.finish();
}

fn signing(c: &mut Criterion<ThreadCpuTime>) {
    let record = fixture();
    let document = record.document();
    let limits = Limits::default();
    let signer = ProofSigner::new(key());
    let mut group = c.benchmark_group("sign");
    raw_ed25519(&mut group);
    group.bench_function("record_sign", |b| {
        b.iter(|| signer.sign(black_box(&document), CREATED, &limits))
    });
    group.finish();
}

fn verification(c: &mut Criterion<ThreadCpuTime>) {
    let record = fixture();
    let document = record.document();
    let limits = Limits::default();
    let signed = ProofSigner::new(key())
        .sign(&document, CREATED, &limits)
        .expect("a ground record signs");
    let found = FoundRecord {
        record,
        proofs: vec![signed.clone()],
        unsigned: Vec::new(),
    };
    let verifier = Verifier::new(Trust::Key(key().verifying_key()));
    let mut group = c.benchmark_group("verify");
    raw_ed25519(&mut group);
    group.bench_function("record_verify", |b| {
        b.iter(|| verifier.verify(black_box(&found)).is_ok())
    });
    // The free function, which decodes the did:key on every call.
    group.bench_function("proof_verify", |b| {
        b.iter(|| proof::verify(black_box(&document), &signed, &limits).is_ok())
    });
    group.finish();
}

fn batch_verification(c: &mut Criterion<ThreadCpuTime>) {
    let record = fixture();
    let signer = ProofSigner::new(key());
    let verifying = key().verifying_key();
    let verifier = Verifier::new(Trust::Key(verifying));
    // 250 is a feed page of the default page size.
    for n in [64, 250] {
        let members = page(&record, &signer, n, None).expect("pages sign");
        let members: Vec<&FoundRecord> = members.iter().collect();
        let checks: Vec<proof::SignatureCheck> = members
            .iter()
            .map(|f| {
                proof::signature_check(&f.proofs[0], verifying, || {
                    canon::document_sha256(&f.record.triples, &Limits::default())
                })
            })
            .collect::<Result<_, _>>()
            .expect("well-formed proofs");
        let check_refs: Vec<&proof::SignatureCheck> = checks.iter().collect();
        let mut group = c.benchmark_group(format!("batch_verify_{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("raw_ed25519_one_by_one", |b| {
            b.iter(|| check_refs.iter().all(|c| c.verify().is_ok()))
        });
        group.bench_function("raw_ed25519_batch", |b| {
            b.iter(|| proof::verify_batch(black_box(&check_refs)).is_ok())
        });
        group.bench_function("records_one_by_one", |b| {
            b.iter(|| {
                members
                    .iter()
                    .map(|f| verifier.verify(black_box(f)))
                    .collect::<Vec<_>>()
            })
        });
        group.bench_function("records_verify_many", |b| {
            b.iter(|| verifier.verify_many(black_box(&members)))
        });
        group.finish();
    }
}

/// The `proofValue` base58 of a signature, the hand-written module next to
/// the `bs58` crate it replaced (see the module's documentation).
fn base58(c: &mut Criterion<ThreadCpuTime>) {
    let signature = key().sign(&[7u8; 64]).to_bytes();
    let text = ccis::keys::base58::encode(&signature);
    let mut group = c.benchmark_group("base58");
    raw_ed25519(&mut group);
    group.bench_function("encode_ccis", |b| {
        b.iter(|| ccis::keys::base58::encode(black_box(&signature)))
    });
    group.bench_function("encode_bs58", |b| {
        b.iter(|| bs58::encode(black_box(&signature)).into_string())
    });
    group.bench_function("decode_ccis", |b| {
        b.iter(|| ccis::keys::base58::decode(black_box(&text)))
    });
    group.bench_function("decode_bs58", |b| {
        b.iter(|| bs58::decode(black_box(&text)).into_vec())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = canonicalization, signing, verification, batch_verification, base58
}
criterion_main!(benches);
