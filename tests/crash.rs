//! Killing `ccis harvest` (SIGKILL) at any moment and starting it again loses
//! nothing, stores nothing twice, and ends with the catalogue a clean harvest
//! gives — with feed pages cut by bytes on the peer and on the harvesters.

mod common;

use ccis::node::{InitOptions, Node};
use ccis::record::Record;
use ccis::store::{NodeStore, StoreMeta};
use oxrdf::NamedNode;
use std::time::Duration;

/// A copy of a sample under `{slug}-{n}`.
fn copy(sample: &Record, n: usize) -> Record {
    sample.renamed(NamedNode::new_unchecked(format!(
        "{}-{n}",
        sample.iri.as_str()
    )))
}

/// A node harvesting `peers`, storing every `batch` versions at once, by
/// the bulk path from `bulk_min` versions, cutting its own feed pages at
/// `page_max_bytes`.
fn victim(
    root: &std::path::Path,
    name: &str,
    peers: &str,
    (batch, bulk_min): (usize, usize),
    page_max_bytes: u64,
) -> std::path::PathBuf {
    let dir = root.join(name);
    let node = Node::init(
        &dir,
        InitOptions {
            role: Default::default(),
            id: name.into(),
            country: "FR".into(),
            base_url: format!("https://{name}.example"),
            name: name.into(),
            key: None,
        },
    )
    .unwrap();
    let mut config = node.config.clone();
    drop(node);
    config.harvest.batch_records = batch;
    config.harvest.bulk_min_records = bulk_min;
    config.harvest.page_max_bytes = page_max_bytes;
    config.save(&dir).unwrap();
    std::fs::write(dir.join("peers.toml"), peers).unwrap();
    dir
}

const RECORDS: usize = 300;

/// The bytes a member adds to a page.
fn weight(member: &NamedNode, nquads: &str) -> u64 {
    ccis::store::member_page_bytes(member.as_str(), nquads)
}

/// A page cut at about four of these versions.
fn four_members(batch: &[(ccis::signed::SignedRecord, StoreMeta)]) -> u64 {
    let (signed, _) = &batch[0];
    let member = ccis::store::member_iri(signed.record.iri.as_str(), 1);
    weight(&member, &ccis::store::signed_nquads(signed).unwrap()) * 4
}

/// The positions of the members of each page of a store's feed.
fn layout(store: &NodeStore) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    while let Some(page) = store.feed_page(pages.len() as u64).unwrap() {
        pages.push(page.members.iter().map(|m| m.position).collect());
    }
    pages
}

/// One transaction per page of 10 versions.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_harvest_by_transactions_then_restart_converges() {
    sigkill_during_a_harvest_then_restart_converges(10, usize::MAX).await;
}

/// Oxigraph's bulk loader, 40 versions (4 pages) at a time.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_bulk_harvest_then_restart_converges() {
    sigkill_during_a_harvest_then_restart_converges(40, 20).await;
}

async fn sigkill_during_a_harvest_then_restart_converges(batch: usize, bulk_min: usize) {
    let peer = common::serve_node(
        "origin",
        Default::default(),
        |c| c.server.page_size = 10,
        |node| {
            let files = common::sample_files("fr");
            let mut samples = node.read_records(&files, None).unwrap();
            samples.retain(|r| !r.is_withdrawn());
            let meta = node.local_meta();
            let mut batch = Vec::new();
            for n in 0..RECORDS {
                let r = copy(&samples[n % samples.len()], n);
                let stamped = NodeStore::normalized(&r.stamped(1, "2026-11-20T10:00:00Z")).unwrap();
                batch.push((node.sign(stamped).unwrap(), meta.clone()));
            }
            // Pages of about four members by bytes, ten by count.
            let cut = four_members(&batch);
            node.store
                .clone()
                .with_page_max_bytes(cut)
                .put_all(&batch)
                .unwrap();
        },
    )
    .await;
    let peers = common::peer_entry(
        "origin",
        "national",
        &peer.url,
        &peer.config.keys[0].public_key,
        "",
    );
    let tmp = tempfile::tempdir().unwrap();
    let first = peer.store.feed_page(0).unwrap().unwrap();
    assert!(
        first.members.len() < 10,
        "the peer's pages are not cut by bytes"
    );
    // The harvesters' own pages: about three members by bytes.
    let cut = weight(&first.members[0].member, &first.members[0].signed_nquads) * 3;
    let killed = victim(tmp.path(), "killed", &peers, (batch, bulk_min), cut);
    let clean = victim(tmp.path(), "clean", &peers, (batch, bulk_min), cut);

    // Kill the harvest at growing delays, then let it finish.
    let mut kills = 0;
    for delay_ms in [150u64, 300, 450, 600, 800, 1000] {
        let mut child = std::process::Command::new(common::ccis_bin())
            .args(["harvest", "--dir", killed.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    let (ok, out, err) = common::ccis(&["harvest", "--dir", killed.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = common::ccis(&["harvest", "--dir", clean.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        kills >= 1,
        "the harvest was never interrupted; the test proved nothing"
    );

    let open = |dir: &std::path::Path| Node::open(dir).unwrap();
    let (k, c) = (open(&killed), open(&clean));
    // Files of bulk loads killed before their ingestion are gone.
    let leftovers: Vec<_> = std::fs::read_dir(killed.join(ccis::config::STORE_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("bulk-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let held = common::holdings(&k.store);
    assert_eq!(held.len(), RECORDS);
    assert_eq!(held, common::holdings(&c.store));
    // Nothing twice: one feed entry per version, at consecutive positions.
    assert_eq!(k.store.member_count().unwrap(), RECORDS as u64);
    let members = k.store.members(0, RECORDS as u64).unwrap();
    let distinct: std::collections::HashSet<_> = members.iter().map(|m| m.member.clone()).collect();
    assert_eq!(distinct.len(), RECORDS);
    // The feed of the killed harvester is cut into the same pages as the
    // clean one's, every member once, in order.
    let (laid, clean_laid) = (layout(&k.store), layout(&c.store));
    assert_eq!(laid, clean_laid);
    let positions: Vec<u64> = laid.iter().flatten().copied().collect();
    assert_eq!(positions, (0..RECORDS as u64).collect::<Vec<_>>());
    assert!(
        laid.len() > RECORDS / 10,
        "pages cut by bytes: {}",
        laid.len()
    );
    drop(c);
    // The position matches what is stored: a further round finds nothing new.
    drop(k);
    let (ok, out, err) = common::ccis(&["harvest", "--dir", killed.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("origin") && l.split_whitespace().nth(1) == Some("0")),
        "{out}"
    );
}
