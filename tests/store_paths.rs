//! The two ways a batch of harvested versions is written — Oxigraph's bulk
//! loader and a transaction — leave the same store behind.

mod common;

use ccis::node::{InitOptions, Node};
use ccis::record::Record;
use ccis::signed::SignedRecord;
use ccis::store::{NodeStore, PeerState, StoreMeta};
use oxrdf::{NamedNode, Quad};
use std::collections::BTreeSet;

fn origin(dir: &std::path::Path) -> Node {
    Node::init(
        dir,
        InitOptions {
            role: Default::default(),
            id: "origin".into(),
            country: "FR".into(),
            base_url: "https://origin.example".into(),
            name: "Origin".into(),
            key: None,
        },
    )
    .unwrap()
}

/// `count` signed records, at `version`, copied from the French samples.
fn versions(node: &Node, count: usize, version: u64) -> Vec<(SignedRecord, StoreMeta)> {
    let mut samples = node
        .read_records(&common::sample_files("fr"), None)
        .unwrap();
    samples.retain(|r| !r.is_withdrawn());
    (0..count)
        .map(|n| {
            let sample: &Record = &samples[n % samples.len()];
            let r = sample.renamed(NamedNode::new_unchecked(format!(
                "{}-{n}",
                sample.iri.as_str()
            )));
            let modified = format!("2026-11-2{version}T10:00:00Z");
            let stamped = NodeStore::normalized(&r.stamped(version, &modified)).unwrap();
            let signed = node.sign(stamped).unwrap();
            let meta = StoreMeta {
                origin: "origin".into(),
                source: "https://origin.example".into(),
                stored_at: "2026-11-23T10:00:00Z".into(),
                verified_with: node.verification_method(),
                signed_nquads: Some(ccis::store::signed_nquads(&signed).unwrap()),
            };
            (signed, meta)
        })
        .collect()
}

fn all_quads(store: &NodeStore) -> BTreeSet<String> {
    store
        .oxigraph()
        .iter()
        .map(|q| q.map(|q: Quad| q.to_string()))
        .collect::<Result<_, _>>()
        .unwrap()
}

struct Pair {
    _dir: tempfile::TempDir,
    bulk: NodeStore,
    tx: NodeStore,
    bulk_state: PeerState,
    tx_state: PeerState,
}

impl Pair {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            NodeStore::open(&dir.path().join(name), "https://harvester.example")
                .unwrap()
                .with_page_size(7)
        };
        let (bulk, tx) = (open("bulk"), open("tx"));
        Self {
            _dir: dir,
            bulk,
            tx,
            bulk_state: PeerState::default(),
            tx_state: PeerState::default(),
        }
    }

    /// Writes `items` both ways; returns how many each stored, and whether
    /// the first went through the bulk loader.
    fn put(&mut self, items: &[(SignedRecord, StoreMeta)], page: &str) -> (usize, usize, bool) {
        self.bulk_state.page = Some(page.into());
        self.tx_state.page = Some(page.into());
        let b = self
            .bulk
            .put_harvested(items, "origin", &mut self.bulk_state, 1)
            .unwrap();
        let t = self
            .tx
            .put_harvested(items, "origin", &mut self.tx_state, usize::MAX)
            .unwrap();
        assert!(!t.by_bulk_loader);
        (b.stored, t.stored, b.by_bulk_loader)
    }

    fn assert_same(&self) {
        let (b, t) = (all_quads(&self.bulk), all_quads(&self.tx));
        let only_bulk: Vec<_> = b.difference(&t).take(3).collect();
        let only_tx: Vec<_> = t.difference(&b).take(3).collect();
        assert!(
            only_bulk.is_empty() && only_tx.is_empty(),
            "bulk only: {only_bulk:#?}\ntransaction only: {only_tx:#?}"
        );
        assert_eq!(
            self.bulk.peer_state("origin").unwrap(),
            self.tx.peer_state("origin").unwrap()
        );
    }
}

#[test]
fn bulk_and_transaction_writes_store_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let node = origin(&dir.path().join("origin"));
    let v1 = versions(&node, 30, 1);
    let v2 = versions(&node, 30, 2);
    let mut pair = Pair::new();

    // First versions: the bulk path.
    assert_eq!(pair.put(&v1[..20], "p1"), (20, 20, true));
    pair.assert_same();
    assert_eq!(pair.bulk.member_count().unwrap(), 20);
    assert_eq!(pair.bulk.peer_state("origin").unwrap().accepted, 20);
    assert_eq!(
        pair.bulk.peer_state("origin").unwrap().page.as_deref(),
        Some("p1")
    );

    // New records and a second version of a record of the same batch: the
    // bulk path again, the record holding its last version.
    let mut mixed = v1[20..].to_vec();
    mixed.push(v2[25].clone());
    assert_eq!(pair.put(&mixed, "p2"), (11, 11, true));
    pair.assert_same();
    let r25 = &v1[25].0.record.iri;
    assert_eq!(pair.bulk.entry(r25).unwrap().unwrap().version, 2);
    assert_eq!(pair.bulk.member_count().unwrap(), 31);

    // Versions replacing stored ones: the bulk path steps aside.
    assert_eq!(pair.put(&v2[..5], "p3"), (5, 5, false));
    pair.assert_same();
    let r0 = &v1[0].0.record.iri;
    assert_eq!(pair.bulk.entry(r0).unwrap().unwrap().version, 2);

    // A batch already stored (read again): nothing stored twice.
    assert_eq!(pair.put(&v1[..20], "p1"), (0, 0, false));
    pair.assert_same();
    assert_eq!(pair.bulk.member_count().unwrap(), 36);
    let state = pair.bulk.peer_state("origin").unwrap();
    assert_eq!((state.accepted, state.page.as_deref()), (36, Some("p1")));

    // The feed of the bulk-written store reads back in order.
    let members = pair.bulk.members(0, 36).unwrap();
    assert_eq!(members.len(), 36);
    assert_eq!(members[30].member, ccis::store::member_iri(r25.as_str(), 2));
}

/// Every page of a store's feed in order: (its members' positions, its
/// bytes as the store counts them, whether it is full).
fn pages(store: &NodeStore) -> Vec<(Vec<u64>, u64, bool)> {
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(page) = store.feed_page(index).unwrap() {
        let bytes = page
            .members
            .iter()
            .map(|m| ccis::store::member_page_bytes(m.member.as_str(), &m.signed_nquads))
            .sum();
        out.push((
            page.members.iter().map(|m| m.position).collect(),
            bytes,
            page.full,
        ));
        index += 1;
    }
    out
}

#[test]
fn pages_are_cut_by_bytes_the_same_way_by_both_writes_and_never_change() {
    let dir = tempfile::tempdir().unwrap();
    let node = origin(&dir.path().join("origin"));
    let v1 = versions(&node, 30, 1);
    let v2 = versions(&node, 30, 2);
    let weight = |(s, m): &(SignedRecord, StoreMeta)| {
        let member = ccis::store::member_iri(s.record.iri.as_str(), 1);
        ccis::store::member_page_bytes(member.as_str(), m.signed_nquads.as_deref().unwrap())
    };
    // About three members a page by bytes, seven by count: three of the
    // median weight (a decision or an initiative weighs several tools).
    let mut weights: Vec<u64> = v1.iter().map(weight).collect();
    weights.sort_unstable();
    let max = weights[weights.len() / 2] * 3 + 1024;
    let mut pair = Pair::new();
    pair.bulk = pair.bulk.clone().with_page_max_bytes(max);
    pair.tx = pair.tx.clone().with_page_max_bytes(max);
    assert_eq!(pair.put(&v1[..20], "p1"), (20, 20, true));
    assert_eq!(pair.put(&v1[20..], "p2"), (10, 10, true));
    assert_eq!(pair.put(&v2[..5], "p3"), (5, 5, false));
    pair.assert_same();
    let laid = pages(&pair.bulk);
    assert_eq!(laid, pages(&pair.tx));
    // Every member once, in order; pages closed by bytes before they pass
    // the limit, none holding more than the page size.
    let positions: Vec<u64> = laid.iter().flat_map(|p| p.0.clone()).collect();
    assert_eq!(positions, (0..35).collect::<Vec<u64>>());
    for (members, bytes, _) in &laid {
        assert!(members.len() <= 7);
        assert!(members.len() == 1 || *bytes <= max, "{bytes} > {max}");
    }
    assert!(laid.len() >= 35 / 4, "pages cut by bytes: {laid:?}");
    assert!(laid[..laid.len() - 1].iter().all(|p| p.2) && !laid[laid.len() - 1].2);

    // Another setting later changes no page already closed.
    let closed = laid.len() - 1;
    let wider = pair
        .tx
        .clone()
        .with_page_max_bytes(max * 10)
        .with_page_size(7);
    let mut state = pair.tx_state.clone();
    wider
        .put_harvested(&v2[5..25], "origin", &mut state, usize::MAX)
        .unwrap();
    let after = pages(&wider);
    assert_eq!(after[..closed], laid[..closed]);
    let positions: Vec<u64> = after.iter().flat_map(|p| p.0.clone()).collect();
    assert_eq!(positions, (0..55).collect::<Vec<u64>>());
    assert!(after[closed..].iter().all(|p| p.0.len() <= 7));
}
