//! Harvest speed: replicating a loopback peer from the start, verifying every
//! signature, next to Oxigraph's own bulk load of the same quads into an
//! empty store, measured in the same run, and to its bulk load of everything
//! the harvest stores; then a round in which nothing changed, the time to
//! build the search index of what the harvest stored from the feed log,
//! and what the index adds to a harvest when it is fed as the store writes.
//!
//! Run: `cargo run --example bench_harvest [RECORDS] [BATCH_RECORDS]` (default
//! 100000 records, and the harvester's `[harvest] batch_records`).

use ccis::harvest::Quiet;
use ccis::node::{InitOptions, Node};
use ccis::record::Record;
use ccis::store::NodeStore;
use oxrdf::{GraphName, Literal, NamedNode, Quad, Term, Triple};
use std::sync::Arc;
use std::time::Instant;

/// The third language of the copies, in turn (the samples have French
/// and English): with them the records are in 6 languages besides those.
const THIRD_LANGUAGES: [&str; 6] = ["es", "sv", "lv", "lt", "de", "it"];

/// A copy of a sample under `{slug}-{n}`, its French title and
/// description also given in one of [`THIRD_LANGUAGES`].
fn copy(sample: &Record, n: usize) -> Record {
    let renamed = sample.renamed(NamedNode::new_unchecked(format!(
        "{}-{n}",
        sample.iri.as_str()
    )));
    let language = THIRD_LANGUAGES[n % THIRD_LANGUAGES.len()];
    let texts = [
        "http://purl.org/dc/terms/title",
        "http://purl.org/dc/terms/description",
    ];
    let mut triples = renamed.triples.clone();
    for t in &renamed.triples {
        if let Term::Literal(text) = &t.object
            && text.language() == Some("fr")
            && texts.contains(&t.predicate.as_str())
        {
            triples.push(Triple::new(
                t.subject.clone(),
                t.predicate.clone(),
                Literal::new_language_tagged_literal_unchecked(text.value(), language),
            ));
        }
    }
    Record::new(renamed.iri, triples)
}

/// A memory figure of this process (`VmHWM:` peak, `VmRSS:` now), in MiB.
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds this process has used so far, in user and system mode, all
/// its threads together.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Resets this process's peak resident size (`VmHWM`) to its current size
/// (Linux, `/proc/self/clear_refs`); whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// How much a step's peak resident size rose above the resident size when
/// it started, in MiB: the peak is reset first (see [`reset_peak`]), so
/// that what the process held before the step (and still holds) is not
/// counted, and steps measured in turn are compared on equal terms.
struct PeakRise {
    start: f64,
}

impl PeakRise {
    fn start() -> Option<Self> {
        reset_peak().then(|| Self {
            start: status_mib("VmRSS:"),
        })
    }

    /// The rise so far, and the peak.
    fn rise(&self) -> (f64, f64) {
        let peak = status_mib("VmHWM:");
        (peak - self.start, peak)
    }
}

/// Records per second that Oxigraph's bulk loader stores from `quads` into
/// an empty store in `dir`, committed and counted; with the rise of the
/// peak memory while it loads, in MiB (the quads, already held, aside), if
/// it can be measured.
fn bulk_load(
    dir: &std::path::Path,
    quads: &[Quad],
    records: usize,
) -> anyhow::Result<(f64, Option<f64>)> {
    let store = oxigraph::store::Store::open(dir)?;
    let peak = PeakRise::start();
    let t = Instant::now();
    let mut loader = store.bulk_loader();
    loader.load_quads(quads.iter().cloned())?;
    loader.commit()?;
    let rate = records as f64 / t.elapsed().as_secs_f64();
    let rise = peak.map(|p| p.rise().0);
    anyhow::ensure!(
        store.len()? == quads.len(),
        "the bulk loader stored {} of {} quads",
        store.len()?,
        quads.len()
    );
    Ok((rate, rise))
}

/// A node of its own in `dir` that harvests the peer at `url`, whose key
/// is `peer_key`, in batches of `batch` records if given.
fn harvesting_node(
    dir: &std::path::Path,
    url: &str,
    peer_key: &str,
    batch: Option<usize>,
) -> anyhow::Result<Node> {
    drop(Node::init(
        dir,
        InitOptions {
            role: Default::default(),
            id: "lv-harvester".into(),
            country: "LV".into(),
            base_url: "https://lv.example".into(),
            name: "Harvester".into(),
            key: None,
        },
    )?);
    std::fs::write(
        dir.join("peers.toml"),
        format!(
            "[[peer]]\nid = \"fr-peer\"\nname = \"Peer\"\ncountry = \"FR\"\nrole = \"national\"\nbase_url = \"{url}\"\n[[peer.keys]]\npublic_key = \"{peer_key}\"\n"
        ),
    )?;
    let mut node = Node::open(dir)?;
    if let Some(batch) = batch {
        node.config.harvest.batch_records = batch;
    }
    Ok(node)
}

/// Wall and CPU seconds of one step.
#[derive(Clone, Copy)]
struct Took {
    wall: f64,
    cpu: f64,
}

/// What a harvest of the whole peer into a new node in `dir` takes, then
/// with `with_index` what its search index takes to catch up (the index
/// open before, so that the store hands it what it writes). The node is
/// removed after.
async fn harvest_again(
    dir: &std::path::Path,
    (url, peer_key, batch): (&str, &str, Option<usize>),
    records: usize,
    with_index: bool,
) -> anyhow::Result<(Took, Took)> {
    let node = harvesting_node(dir, url, peer_key, batch)?;
    let index = with_index.then(|| node.search_index()).transpose()?;
    let harvester = node.harvester()?;
    let cpu = cpu_seconds();
    let t = Instant::now();
    let reports = harvester.round(None, Arc::new(Quiet)).await;
    let harvested = Took {
        wall: t.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu,
    };
    anyhow::ensure!(
        reports[0].accepted as usize == records,
        "harvest failed: {:?}",
        reports[0].error
    );
    let cpu = cpu_seconds();
    let t = Instant::now();
    if let Some(index) = &index {
        node.update_search_index()?;
        anyhow::ensure!(
            index.position() == records as u64,
            "the index missed records"
        );
    }
    let indexed = Took {
        wall: t.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu,
    };
    drop((harvester, index, node));
    std::fs::remove_dir_all(dir)?;
    Ok((harvested, indexed))
}

/// [`bulk_load`], the rate alone.
fn bulk_load_rate(dir: &std::path::Path, quads: &[Quad], records: usize) -> anyhow::Result<f64> {
    Ok(bulk_load(dir, quads, records)?.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let records: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let peer = Node::init(
        &tmp.path().join("peer"),
        InitOptions {
            role: Default::default(),
            id: "fr-peer".into(),
            country: "FR".into(),
            base_url: url.clone(),
            name: "Peer".into(),
            key: None,
        },
    )?;
    let mut files: Vec<_> = std::fs::read_dir(repo.join("examples/records/fr"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut samples = peer.read_records(&files, None)?;
    samples.sort_by_key(|r| r.triples.len().abs_diff(23));
    samples.truncate(8);
    println!("building a peer with {records} records…");
    let meta = peer.local_meta();
    let mut all_quads = Vec::new();
    let mut batch = Vec::new();
    for n in 0..records {
        let r = copy(&samples[n % samples.len()], n);
        let stamped = NodeStore::normalized(&r.stamped(1, "2026-11-20T10:00:00Z"))?;
        let signed = peer.sign(stamped)?;
        all_quads.extend(
            signed
                .record
                .quads_in(&GraphName::NamedNode(signed.record.iri.clone())),
        );
        batch.push((signed, meta.clone()));
        if batch.len() == 2000 {
            peer.store.put_all(&batch)?;
            batch.clear();
        }
    }
    peer.store.put_all(&batch)?;
    let quads_per_record = all_quads.len() as f64 / records as f64;
    let peer_key = peer.config.keys[0].public_key.clone();
    let state = ccis::server::AppState::new(peer, &Default::default(), Default::default());
    tokio::spawn(async move { axum::serve(listener, ccis::server::router(state)).await });

    // Baseline: Oxigraph's bulk loader, same quads, empty store, same run;
    // measured again after the harvest (see below), the faster one counts.
    let bulk_before = bulk_load_rate(&tmp.path().join("bulk-before"), &all_quads, records)?;
    let content_quads = all_quads.len();
    drop(all_quads);

    // The harvesting node.
    let batch: Option<usize> = std::env::args().nth(2).map(|b| b.parse()).transpose()?;
    let node = harvesting_node(&tmp.path().join("harvester"), &url, &peer_key, batch)?;
    let harvester = node.harvester()?;
    let rss_before = status_mib("VmHWM:");
    // The peak reset to the current size, so that the peak read after is
    // the harvest's own (the peer serving it included).
    let harvest_memory = PeakRise::start();
    println!("harvesting…");
    let cpu = cpu_seconds();
    let t = Instant::now();
    let reports = harvester.round(None, Arc::new(Quiet)).await;
    let elapsed = t.elapsed();
    let harvest_cpu = cpu_seconds() - cpu;
    println!("harvested in {:.1} s", elapsed.as_secs_f64());
    let r = &reports[0];
    anyhow::ensure!(r.error.is_none(), "harvest failed: {:?}", r.error);
    anyhow::ensure!(
        r.accepted as usize == records,
        "accepted {} of {records}",
        r.accepted
    );
    let harvest_rate = records as f64 / elapsed.as_secs_f64();
    let harvest_peak = harvest_memory.as_ref().map(PeakRise::rise);
    // Rounds with nothing new: the first runs while RocksDB still compacts
    // what the harvest wrote; the median of seven says what a routine round costs.
    let mut idle = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let again = harvester.round(None, Arc::new(Quiet)).await;
        idle.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(again[0].accepted == 0 && again[0].error.is_none());
    }
    let first_idle = idle[0];
    idle.sort_by(f64::total_cmp);
    // The search index of what the harvest stored, built from the feed log:
    // what a node adds to a harvest's time to make it searchable.
    let t = Instant::now();
    let index = ccis::search::Index::rebuild(&tmp.path().join("index"), &node.store)?;
    let indexing = t.elapsed();
    anyhow::ensure!(
        index.position() == records as u64,
        "the index missed records"
    );
    drop(index);

    // What the harvest stored (the built-in vocabulary aside): the records'
    // content, the same quads as the baseline, in graphs named by the records;
    // and around them proofs, catalogue records, the feed log, the peer state.
    let vocabulary = GraphName::NamedNode(NamedNode::new_unchecked(ccis::store::VOCABULARY_GRAPH));
    let stored: Vec<Quad> = node
        .store
        .oxigraph()
        .iter()
        .filter(|q| q.as_ref().map_or(true, |q| q.graph_name != vocabulary))
        .collect::<Result<_, _>>()?;
    let records_prefix = format!("{url}/records/");
    let content: Vec<Quad> = stored
        .iter()
        .filter(|q| match &q.graph_name {
            GraphName::NamedNode(g) => {
                g.as_str().starts_with(&records_prefix) && !g.as_str().ends_with("/proof")
            }
            _ => false,
        })
        .cloned()
        .collect();
    anyhow::ensure!(
        content.len() == content_quads,
        "the harvest stored {} content quads of {content_quads}",
        content.len()
    );
    let bulk_after = bulk_load_rate(&tmp.path().join("bulk-after"), &content, records)?;
    let bulk_rate = bulk_before.max(bulk_after);
    // No harvest can store faster than a bulk load of exactly what it
    // stores; the gap to that is fetching, parsing and checking.
    let (floor_rate, floor_rise) = bulk_load(&tmp.path().join("bulk-stored"), &stored, records)?;
    // The same without the feed log: content, proof and catalogue record,
    // the least a node keeps of a harvested version without relaying it.
    let feed_graph = GraphName::NamedNode(node.store.feed().clone());
    let unrelayed: Vec<Quad> = stored
        .iter()
        .filter(|q| q.graph_name != feed_graph)
        .cloned()
        .collect();
    let unrelayed_rate = bulk_load_rate(&tmp.path().join("bulk-unrelayed"), &unrelayed, records)?;

    for done in ["bulk-before", "bulk-after", "bulk-stored", "bulk-unrelayed"] {
        std::fs::remove_dir_all(tmp.path().join(done))?;
    }
    // The same harvest with the node's search index open, fed by the store
    // as it writes, then caught up (committed): against the faster of the
    // harvest above and one more without the index, run after it.
    let peer_at = (url.as_str(), peer_key.as_str(), batch);
    println!("harvesting again, without the search index…");
    let (without_index, _) =
        harvest_again(&tmp.path().join("unindexed"), peer_at, records, false).await?;
    println!("harvesting again, with…");
    let (with_index, catching_up) =
        harvest_again(&tmp.path().join("indexed"), peer_at, records, true).await?;
    let plain = Took {
        wall: elapsed.as_secs_f64().min(without_index.wall),
        cpu: harvest_cpu.min(without_index.cpu),
    };
    let indexed = Took {
        wall: with_index.wall + catching_up.wall,
        cpu: with_index.cpu + catching_up.cpu,
    };

    println!(
        "\n{records} records, {quads_per_record:.1} quads each, {} pages, written in batches of {}",
        r.pages, node.config.harvest.batch_records
    );
    println!(
        "  Oxigraph bulk load of the records' quads      {bulk_rate:>6.0} records/s   1.00x   (before the harvest {bulk_before:.0}, after {bulk_after:.0}: the faster counts)"
    );
    println!(
        "  Oxigraph bulk load of all the harvest stores  {floor_rate:>6.0} records/s   {:.2}x   ({:.1} quads a record: content, proof, catalogue record, feed log)",
        floor_rate / bulk_rate,
        stored.len() as f64 / records as f64
    );
    println!(
        "  harvest: fetch, verify, SHACL, store          {harvest_rate:>6.0} records/s   {:.2}x   ({:.2}x of the line above)",
        harvest_rate / bulk_rate,
        harvest_rate / floor_rate
    );
    println!(
        "  (the same bulk load without the feed log      {unrelayed_rate:>6.0} records/s   {:.2}x   ({:.1} quads a record))",
        unrelayed_rate / bulk_rate,
        unrelayed.len() as f64 / records as f64
    );
    println!(
        "  harvest with the search index fed as it stores: {:.1} s ({:.1} s, then {:.2} s to commit the index) against {:.1} s without (the faster of {:.1} s and {:.1} s): the index adds {:+.1} % to the harvest's time",
        indexed.wall,
        with_index.wall,
        catching_up.wall,
        plain.wall,
        elapsed.as_secs_f64(),
        without_index.wall,
        (indexed.wall / plain.wall - 1.0) * 100.0
    );
    println!(
        "    in CPU time (all threads, the peer serving included): {:.1} s against {:.1} s: {:+.1} %",
        indexed.cpu,
        plain.cpu,
        (indexed.cpu / plain.cpu - 1.0) * 100.0
    );
    println!(
        "  (the index rebuilt from the feed log alone: {:.1} s, {:.2}x the harvest's time)",
        indexing.as_secs_f64(),
        indexing.as_secs_f64() / elapsed.as_secs_f64()
    );
    match (harvest_memory, harvest_peak, floor_rise) {
        (Some(start), Some((rise, peak)), Some(floor_rise)) => println!(
            "  peak memory: the harvest {rise:.0} MiB above the {:.0} MiB held when it started (peak {peak:.0} MiB, the peer serving it included); the bulk load of all it stores {floor_rise:.0} MiB above what was held when it started (its quads aside): {:.2}x",
            start.start,
            rise / floor_rise.max(1.0)
        ),
        _ => println!(
            "  peak memory: {rss_before:.0} MiB before the harvest, {:.0} MiB after (whole process, peer included)",
            status_mib("VmHWM:")
        ),
    }
    println!(
        "  round with nothing new, 1 peer: median {:.1} ms of 7 (first {first_idle:.1} ms, slowest {:.1} ms)",
        idle[3], idle[6]
    );
    Ok(())
}
