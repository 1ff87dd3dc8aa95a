//! Signing and verification rates of a typical record, next to raw Ed25519.
//!
//! Run: `cargo run --example bench_signing` (the dev profile builds ccis and its
//! dependencies optimized, see Cargo.toml). Prints per-operation times and the
//! cost ratios record-sign / raw-sign, record-verify / raw-verify and the gain
//! of verifying a feed page with one batch, all measured in the same run.
//!
//! The operations are timed in short rounds taken in turn, in this thread's
//! CPU time, and each is given its best round: on a shared machine the load
//! then weighs on none of them more than on another, and least on the best
//! rounds. `benches/integrity.rs`
//! gives criterion's fuller statistics of the same operations.

#[path = "../benches/signing_fixture/mod.rs"]
mod signing_fixture;

use ccis::canon::Limits;
use ccis::proof::{self, ProofSigner};
use ccis::record::Record;
use ccis::signed::FoundRecord;
use ccis::verify::{Trust, Verifier};
use ed25519_dalek::{Signer, Verifier as _};
use signing_fixture::{CREATED, key, page, thread_cpu_time, typical_record};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A named operation, timed by rounds of `per_round` calls.
struct Op<'a> {
    name: &'static str,
    per_round: u32,
    run: Box<dyn FnMut() + 'a>,
    /// Microseconds per call in each round.
    rounds: Vec<f64>,
}

impl<'a> Op<'a> {
    fn new(name: &'static str, per_round: u32, run: impl FnMut() + 'a) -> Self {
        Self {
            name,
            per_round,
            run: Box::new(run),
            rounds: Vec::new(),
        }
    }

    /// Microseconds per call in the best round: the cost of the operation
    /// when nothing else disturbed it, the figure least moved by the load.
    fn micros(&self) -> f64 {
        self.rounds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// How many times the cost of `other` this costs.
    fn ratio(&self, other: &Op<'_>) -> f64 {
        self.micros() / other.micros()
    }
}

/// Runs cycles of one round of each operation, in this thread's CPU time,
/// for about `budget`.
fn measure(ops: &mut [Op<'_>], budget: Duration) {
    for op in ops.iter_mut() {
        (op.run)();
    }
    let start = Instant::now();
    while start.elapsed() < budget {
        for op in ops.iter_mut() {
            let round = thread_cpu_time();
            for _ in 0..op.per_round {
                (op.run)();
            }
            let elapsed = thread_cpu_time().saturating_sub(round);
            op.rounds
                .push(elapsed.as_secs_f64() * 1e6 / f64::from(op.per_round));
        }
    }
}

fn main() -> anyhow::Result<()> {
    let record = typical_record()?;
    let document = record.document();
    let key = key();
    let verifying = key.verifying_key();
    let limits = Limits::default();
    let created = CREATED;
    println!(
        "record: {} ({} triples)",
        record.iri.as_str(),
        document.len()
    );
    let message = [7u8; 64];
    let signature = key.sign(&message);
    let signer = ProofSigner::new(key.clone());
    let signed = signer.sign(&document, created, &limits)?;
    let found = FoundRecord {
        record: record.clone(),
        proofs: vec![signed.clone()],
        unsigned: Vec::new(),
    };
    let verifier = Verifier::new(Trust::Key(verifying));
    let mut ops = vec![
        Op::new("raw Ed25519 sign", 5, || {
            black_box(key.sign(black_box(&message)));
        }),
        Op::new("record sign", 5, || {
            black_box(signer.sign(black_box(&document), created, &limits)).ok();
        }),
        Op::new("raw Ed25519 verify", 5, || {
            black_box(verifying.verify(black_box(&message), &signature)).ok();
        }),
        Op::new("record verify (Verifier)", 5, || {
            black_box(verifier.verify(black_box(&found))).ok();
        }),
        Op::new("record verify (proof::verify)", 5, || {
            black_box(proof::verify(black_box(&document), &signed, &limits)).ok();
        }),
        Op::new("canonical N-Quads + SHA-256", 5, || {
            black_box(ccis::canon::canonical_sha256(black_box(&document), &limits)).ok();
        }),
        Op::new("proofValue base58", 5, || {
            black_box(proof::encode_proof_value(black_box(&signature)));
        }),
    ];
    measure(&mut ops, Duration::from_secs(10));
    for op in &ops {
        println!("{:<32} {:>8.1} us", op.name, op.micros());
    }
    let ratio = |a: usize, b: usize| ops[a].ratio(&ops[b]);
    println!(
        "record sign / raw sign          {:>8.2}x (target <= 1.3x)",
        ratio(1, 0)
    );
    println!(
        "record verify / raw verify      {:>8.2}x (target <= 1.2x; proof::verify alone {:.2}x)",
        ratio(3, 2),
        ratio(4, 2)
    );
    drop(ops);
    // A small page, and one of the default page size, which the target is for.
    for n in [64, ccis::store::DEFAULT_PAGE_SIZE as usize] {
        batch_gain(&record, &signer, verifying, n)?;
    }
    Ok(())
}

/// Prints the rate of verifying a page of `n` members with one batch next
/// to verifying them one by one, and the cost of a page with a bad member.
fn batch_gain(
    record: &Record,
    signer: &ProofSigner,
    key: ed25519_dalek::VerifyingKey,
    n: usize,
) -> anyhow::Result<()> {
    let good = page(record, signer, n, None)?;
    let bad = page(record, signer, n, Some(n / 2))?;
    let good: Vec<&FoundRecord> = good.iter().collect();
    let bad: Vec<&FoundRecord> = bad.iter().collect();
    let verifier = Verifier::new(Trust::Key(key));
    let checks: Vec<proof::SignatureCheck> = good
        .iter()
        .map(|f| {
            proof::signature_check(&f.proofs[0], key, || {
                ccis::canon::document_sha256(&f.record.triples, &Limits::default())
            })
        })
        .collect::<Result<_, _>>()?;
    let check_refs: Vec<&proof::SignatureCheck> = checks.iter().collect();
    let mut ops = vec![
        Op::new("raw one by one", 1, || {
            for c in &checks {
                black_box(black_box(c).verify()).ok();
            }
        }),
        Op::new("raw batch", 1, || {
            black_box(proof::verify_batch(black_box(&check_refs))).ok();
        }),
        // The verdicts of a page are kept for the page, as the harvester does.
        Op::new("one by one", 1, || {
            black_box(
                good.iter()
                    .map(|f| verifier.verify(black_box(f)))
                    .collect::<Vec<_>>(),
            );
        }),
        Op::new("batch", 1, || {
            black_box(verifier.verify_many(black_box(&good)));
        }),
        Op::new("batch, one bad member", 1, || {
            black_box(verifier.verify_many(black_box(&bad)));
        }),
    ];
    measure(&mut ops, Duration::from_secs(6));
    let per_member = |i: usize| ops[i].micros() / n as f64;
    println!(
        "page of {n}: raw Ed25519 one by one {:.1} us/signature, batch {:.1} us/signature: {:.2}x",
        per_member(0),
        per_member(1),
        ops[0].ratio(&ops[1]),
    );
    let target = if n as u64 == ccis::store::DEFAULT_PAGE_SIZE {
        " (target >= 1.8x)"
    } else {
        ""
    };
    println!(
        "page of {n}: records one by one {:.1} us/member, batch {:.1} us/member: batch rate {:.2}x{target}; with a bad member {:.1} us/member",
        per_member(2),
        per_member(3),
        ops[2].ratio(&ops[3]),
        per_member(4)
    );
    Ok(())
}
