//! The store through its traits: harvest-style writes read back.

use crate::*;
use ccis_integrity::proof::Proof;
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use oxrdf::vocab::rdf;
use oxrdf::{GraphNameRef, Literal, NamedNode, NamedNodeRef, QuadRef, Term, Triple};

const VM: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

/// Version `version` of a tool record at `base`, with a proof (not a valid
/// signature: the store does not verify).
fn signed(base: &str, slug: &str, version: u64) -> SignedRecord {
    let iri = NamedNode::new_unchecked(format!("{base}/records/{slug}"));
    let title = Literal::new_language_tagged_literal_unchecked(format!("{slug} v{version}"), "en");
    let record = Record::new(
        iri.clone(),
        vec![
            Triple::new(iri.clone(), rdf::TYPE, vocab::TOOL),
            Triple::new(iri.clone(), vocab::DCT_TITLE, title),
        ],
    )
    .stamped(version, "2026-11-20T10:00:00Z");
    let mut proof = Proof::options("2026-11-20T10:00:00Z", VM);
    proof.statements.push((
        vocab::SEC_PROOF_VALUE.into(),
        Literal::new_simple_literal(format!("z{slug}{version}")).into(),
    ));
    SignedRecord {
        record: NodeStore::normalized(&record).unwrap(),
        proof,
    }
}

/// What a harvester stores with a version from `peer_base`.
fn harvested(s: &SignedRecord, origin: &str, peer_base: &str) -> (SignedRecord, StoreMeta) {
    let meta = StoreMeta {
        origin: origin.into(),
        source: peer_base.into(),
        stored_at: "2026-11-21T10:00:00Z".into(),
        verified_with: VM.into(),
        // Not what `signed_nquads` would give: the store keeps what it is given.
        signed_nquads: Some(format!("{}# as verified\n", signed_nquads(s).unwrap())),
    };
    (s.clone(), meta)
}

fn store(dir: &tempfile::TempDir) -> NodeStore {
    NodeStore::open(&dir.path().join("store"), "https://lv.example")
        .unwrap()
        .with_page_size(3)
}

/// Writes versions as a harvest from `relay` does, then checks everything
/// read back, through the traits and through [`NodeStore`]'s own API.
fn put_and_read_back(store: &NodeStore, bulk_min: usize, by_bulk_loader: bool) {
    let items: Vec<_> = (0..5)
        .map(|n| {
            harvested(
                &signed("https://fr.example", &format!("tool-{n}"), 1),
                "fr",
                "https://relay.example",
            )
        })
        .collect();
    let dyn_store: &dyn RecordStore = store;
    write_and_read_through_the_traits(dyn_store, &items, bulk_min, by_bulk_loader);
    for (s, _) in &items {
        let iri = &s.record.iri;
        let entry = store.entry(iri).unwrap().unwrap();
        assert_eq!(entry.version, 1);
        assert_eq!(entry.status, "current");
        assert_eq!(entry.origin, "fr");
        assert_eq!(entry.origin_node.as_str(), "https://fr.example/node");
        assert_eq!(entry.source, "https://relay.example");
        assert_eq!(entry.verified_with, VM);
        assert!(store.has_member(&member_iri(iri.as_str(), 1)).unwrap());
    }
    let absent = NamedNode::new_unchecked("https://fr.example/records/absent");
    assert!(dyn_store.get(&absent).unwrap().is_none());
    let absent_member = member_iri(absent.as_str(), 1);
    assert_eq!(
        dyn_store.member_has_proof(&absent_member, "z").unwrap(),
        None
    );
    assert!(store.entry(&absent).unwrap().is_none());
    assert!(!store.has_member(&member_iri(absent.as_str(), 1)).unwrap());
    assert_eq!(store.feed_state().unwrap(), (5, 3));
    let all = store.members(0, 5).unwrap();
    assert_eq!(store.members(1, 3).unwrap(), all[1..3].to_vec());
    for (m, (_, meta)) in all.iter().zip(&items) {
        let latest = store.latest_member(&m.record).unwrap().unwrap();
        assert_eq!(Some(&latest.signed_nquads), meta.signed_nquads.as_ref());
    }
    assert_eq!(
        store.counts().unwrap().by_language,
        vec![("en".to_owned(), 5)]
    );
}

/// Writes `items` through [`RecordWrite`] and reads them back through the
/// read traits only: what another backend must pass as well.
fn write_and_read_through_the_traits(
    store: &dyn RecordStore,
    items: &[(SignedRecord, StoreMeta)],
    bulk_min: usize,
    by_bulk_loader: bool,
) {
    let mut state = PeerState::default();
    let refused = vec![refusal_key(
        "https://fr.example/records/bad/versions/1",
        "zbad",
    )];
    let written = store
        .put_harvested_refusing(items, "relay", &mut state, &refused, bulk_min)
        .unwrap();
    assert_eq!(
        written,
        Written {
            stored: 5,
            skipped: 0,
            by_bulk_loader
        }
    );
    assert_eq!(state.accepted, 5);
    assert_eq!(store.peer_state("relay").unwrap(), state);
    assert!(store.was_refused("relay", &refused[0]).unwrap());
    assert!(!store.was_refused("other", &refused[0]).unwrap());
    for (s, _) in items {
        let iri = &s.record.iri;
        let back = store.get(iri).unwrap().unwrap();
        assert_eq!(back.record, s.record);
        let pv = s.proof.proof_value().unwrap();
        assert_eq!(back.proof.proof_value().unwrap(), pv);
        let member = member_iri(iri.as_str(), 1);
        assert_eq!(store.member_has_proof(&member, pv).unwrap(), Some(true));
        assert_eq!(
            store.member_has_proof(&member, "zother").unwrap(),
            Some(false)
        );
    }
    // The feed: 5 members on pages of 3, exactly as verified, in order.
    assert_eq!(store.member_count().unwrap(), 5);
    let first = store.feed_page(0).unwrap().unwrap();
    assert!(first.full);
    let second = store.feed_page(1).unwrap().unwrap();
    assert!(!second.full);
    assert!(store.feed_page(2).unwrap().is_none());
    let served: Vec<_> = first.members.iter().chain(&second.members).collect();
    assert_eq!(served.len(), 5);
    for (position, (m, (s, meta))) in served.iter().zip(items).enumerate() {
        assert_eq!(m.position, position as u64);
        assert_eq!(m.record, s.record.iri);
        assert_eq!(m.version, 1);
        assert_eq!(Some(&m.signed_nquads), meta.signed_nquads.as_ref());
    }
    let entries = store.entries().unwrap();
    assert!(entries.len() == 5 && entries.windows(2).all(|w| w[0].record < w[1].record));
}

#[test]
fn a_harvest_written_by_the_bulk_loader_reads_back_through_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    put_and_read_back(&store(&dir), 1, true);
}

#[test]
fn a_harvest_written_by_a_transaction_reads_back_through_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    put_and_read_back(&store(&dir), usize::MAX, false);
}

#[test]
fn a_new_version_replaces_the_stored_one_and_both_stay_in_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let dyn_store: &dyn RecordStore = &store;
    let v1 = harvested(
        &signed("https://fr.example", "tool", 1),
        "fr",
        "https://fr.example",
    );
    let v2 = harvested(
        &signed("https://fr.example", "tool", 2),
        "fr",
        "https://fr.example",
    );
    let mut state = PeerState::default();
    dyn_store
        .put_harvested_refusing(std::slice::from_ref(&v1), "fr", &mut state, &[], 1)
        .unwrap();
    // The record is stored: the bulk path steps aside for a transaction.
    let written = dyn_store
        .put_harvested_refusing(&[v2.clone(), v1.clone()], "fr", &mut state, &[], 1)
        .unwrap();
    assert_eq!(
        written,
        Written {
            stored: 1,
            skipped: 1,
            by_bulk_loader: false
        }
    );
    assert_eq!(state.accepted, 2);
    let iri = &v2.0.record.iri;
    assert_eq!(dyn_store.get(iri).unwrap().unwrap().record, v2.0.record);
    assert_eq!(store.entry(iri).unwrap().unwrap().version, 2);
    assert_eq!(dyn_store.member_count().unwrap(), 2);
    assert_eq!(store.latest_member(iri).unwrap().unwrap().version, 2);
    // One catalogue record, one origin id, one version statement.
    let versions = store
        .oxigraph()
        .quads_for_pattern(
            None,
            Some(vocab::VERSION),
            None,
            Some(GraphNameRef::NamedNode(store.catalogue().as_ref())),
        )
        .count();
    assert_eq!(versions, 1);
}

/// The objects of `predicate` in the catalogue graph.
fn catalogue_objects(store: &NodeStore, predicate: NamedNodeRef<'_>) -> Vec<Term> {
    store
        .oxigraph()
        .quads_for_pattern(
            None,
            Some(predicate),
            None,
            Some(GraphNameRef::NamedNode(store.catalogue().as_ref())),
        )
        .map(|q| q.unwrap().object)
        .collect()
}

/// The statements of `predicate` in the catalogue graph.
fn catalogue_quads(store: &NodeStore, predicate: NamedNodeRef<'_>) -> Vec<oxrdf::Quad> {
    store
        .oxigraph()
        .quads_for_pattern(
            None,
            Some(predicate),
            None,
            Some(GraphNameRef::NamedNode(store.catalogue().as_ref())),
        )
        .map(|q| q.unwrap())
        .collect()
}

/// [`catalogue_objects`], sorted.
fn sorted_catalogue_objects(store: &NodeStore, predicate: NamedNodeRef<'_>) -> Vec<Term> {
    let mut objects = catalogue_objects(store, predicate);
    objects.sort_by_key(|t| t.to_string());
    objects
}

/// Stores a record of this node's own (`lv`) and one harvested from `eu`
/// that originates at `fr`; returns the own one.
fn own_and_harvested(store: &NodeStore) -> SignedRecord {
    let own = signed("https://lv.example", "own", 1);
    let own_meta = StoreMeta {
        origin: "lv".into(),
        source: "local".into(),
        stored_at: "2026-11-21T10:00:00Z".into(),
        verified_with: VM.into(),
        signed_nquads: None,
    };
    store.put_all(&[(own.clone(), own_meta)]).unwrap();
    let mut state = PeerState::default();
    let from_fr = signed("https://fr.example", "tool", 1);
    store
        .put_harvested(
            &[harvested(&from_fr, "fr", "https://eu.example")],
            "eu",
            &mut state,
            1,
        )
        .unwrap();
    own
}

/// The provenance `own_and_harvested` leaves in the catalogue, as IRIs: a
/// record of lv and one of fr relayed by eu, both signed with `VM`.
fn assert_provenance_as_iris(store: &NodeStore) {
    let iri = |s: &str| Term::NamedNode(NamedNode::new_unchecked(s));
    assert_eq!(
        sorted_catalogue_objects(store, vocab::ORIGIN_NODE),
        [
            iri("https://fr.example/node"),
            iri("https://lv.example/node")
        ]
    );
    assert_eq!(
        sorted_catalogue_objects(store, vocab::DCT_SOURCE),
        [
            iri("https://eu.example/node"),
            iri("https://lv.example/node")
        ]
    );
    assert_eq!(
        catalogue_objects(store, vocab::VERIFICATION),
        [iri(VM), iri(VM)]
    );
}

#[test]
fn provenance_is_written_as_iris_and_the_origin_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let own = own_and_harvested(&store);
    assert_provenance_as_iris(&store);
    let id = |s: &str| Term::from(Literal::new_simple_literal(s));
    assert_eq!(
        sorted_catalogue_objects(&store, vocab::DCT_IDENTIFIER),
        [id("fr"), id("lv")]
    );
    let entry = store.entry(&own.record.iri).unwrap().unwrap();
    assert_eq!(
        (entry.origin.as_str(), entry.source.as_str()),
        ("lv", "local")
    );
    assert_eq!(entry.origin_node, store.node());
}

#[test]
fn records_are_counted_by_origin_node_iri_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    own_and_harvested(&store);
    // Queried as a researcher would: records by origin node.
    let q = "PREFIX ccis: <https://w3id.org/ccis/ns#> PREFIX dct: <http://purl.org/dc/terms/>
        SELECT ?id WHERE { ?cr ccis:originNode ?o . ?o dct:identifier ?id FILTER(isIRI(?o)) } ORDER BY ?id";
    let oxigraph::sparql::QueryResults::Solutions(rows) = store.query(q).unwrap() else {
        panic!("not solutions");
    };
    let ids: Vec<String> = rows
        .map(|r| match r.unwrap().get("id") {
            Some(Term::Literal(l)) => l.value().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["fr", "lv"]);
}

#[test]
fn a_node_renamed_in_peers_toml_keeps_one_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut state = PeerState::default();
    let v1 = harvested(
        &signed("https://fr.example", "tool", 1),
        "fr",
        "https://fr.example",
    );
    store
        .put_harvested(&[v1], "fr", &mut state, usize::MAX)
        .unwrap();
    let v2 = harvested(
        &signed("https://fr.example", "tool", 2),
        "fr-avise",
        "https://fr.example",
    );
    store
        .put_harvested(std::slice::from_ref(&v2), "fr", &mut state, usize::MAX)
        .unwrap();
    assert_eq!(
        catalogue_objects(&store, vocab::DCT_IDENTIFIER),
        [Term::from(Literal::new_simple_literal("fr-avise"))]
    );
    assert_eq!(
        store.entry(&v2.0.record.iri).unwrap().unwrap().origin,
        "fr-avise"
    );
}

#[test]
fn metadata_that_is_not_an_iri_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let (s, mut meta) = harvested(
        &signed("https://fr.example", "tool", 1),
        "fr",
        "https://fr.example",
    );
    meta.verified_with = "not an IRI".into();
    let before = store.oxigraph().len().unwrap();
    for bulk_min in [1, usize::MAX] {
        let mut state = PeerState::default();
        let e = store
            .put_harvested(&[(s.clone(), meta.clone())], "fr", &mut state, bulk_min)
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NotAnIri {
                    field: "verified_with",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(s.record.iri.as_str()), "{e}");
        assert_eq!(state, PeerState::default());
    }
    let odd = signed("https://fr.example", "tool", 1)
        .record
        .renamed(NamedNode::new_unchecked("https://fr.example/elsewhere"));
    let odd = SignedRecord {
        record: odd,
        proof: s.proof.clone(),
    };
    let e = store.put_all(&[(odd, meta)]).unwrap_err();
    assert!(matches!(e, StoreError::NotARecordIri { .. }), "{e}");
    assert_eq!(store.oxigraph().len().unwrap(), before);
    assert_eq!(store.member_count().unwrap(), 0);
}

#[test]
fn errors_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none");
    let e = NodeStore::open_read_only(&missing, "https://lv.example")
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::NotFound { .. }));
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    let store = store(&dir);
    let e = store.query("SELECT WHERE").err().unwrap();
    assert!(e.to_string().starts_with("invalid SPARQL query"), "{e}");
    let e = NodeStore::open(&dir.path().join("store"), "https://lv.example")
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::InUse { .. }), "{e}");
}

#[test]
fn counts_are_of_records() {
    let store = NodeStore::in_memory("https://lv.example").unwrap();
    let mut state = PeerState::default();
    store
        .put_harvested(
            &[harvested(
                &signed("https://fr.example", "tool", 1),
                "fr",
                "https://fr.example",
            )],
            "fr",
            &mut state,
            1,
        )
        .unwrap();
    let counts = store.counts().unwrap();
    assert!(
        counts.by_class.contains(&("Tool".to_owned(), 1)),
        "{counts:?}"
    );
    assert_eq!(counts.by_class.iter().map(|(_, n)| n).sum::<u64>(), 1);
}

#[test]
fn provenance_written_as_literals_is_rewritten_as_iris_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let own = {
        let store = NodeStore::open(&path, "https://lv.example").unwrap();
        let own = own_and_harvested(&store);
        // As a store written before provenance was given as IRIs holds it.
        let catalogue = GraphNameRef::NamedNode(store.catalogue().as_ref());
        let old = store.oxigraph();
        for predicate in [vocab::ORIGIN_NODE, vocab::DCT_SOURCE, vocab::VERIFICATION] {
            for q in catalogue_quads(&store, predicate) {
                let source = predicate == vocab::DCT_SOURCE;
                let value = match q.object.to_string().as_str() {
                    "<https://lv.example/node>" if source => "local",
                    "<https://eu.example/node>" => "https://eu.example",
                    "<https://lv.example/node>" => "lv",
                    "<https://fr.example/node>" => "fr",
                    _ => VM,
                };
                old.remove(&q).unwrap();
                let lit = Literal::new_simple_literal(value);
                old.insert(QuadRef::new(&q.subject, predicate, &lit, catalogue))
                    .unwrap();
            }
        }
        for q in catalogue_quads(&store, vocab::DCT_IDENTIFIER) {
            old.remove(&q).unwrap();
        }
        assert_eq!(store.entry(&own.record.iri).unwrap().unwrap().origin, "lv");
        own
    };
    let store = NodeStore::open(&path, "https://lv.example").unwrap();
    assert_provenance_as_iris(&store);
    let entry = store.entry(&own.record.iri).unwrap().unwrap();
    assert_eq!(
        (entry.origin.as_str(), entry.source.as_str()),
        ("lv", "local")
    );
    assert_eq!(store.upgrade_provenance().unwrap(), 0, "nothing left to do");
}

/// `n` first versions of records `{prefix}-{i}` harvested from fr.example.
fn first_versions(prefix: &str, n: usize) -> Vec<(SignedRecord, StoreMeta)> {
    (0..n)
        .map(|i| {
            harvested(
                &signed("https://fr.example", &format!("{prefix}-{i}"), 1),
                "fr",
                "https://fr.example",
            )
        })
        .collect()
}

/// A peer's state after reading `page`.
fn at_page(page: &str) -> PeerState {
    PeerState {
        page: Some(format!("https://fr.example/feed/{page}")),
        ..PeerState::default()
    }
}

fn bulk(min_records: usize) -> BulkOptions {
    BulkOptions {
        min_records,
        ..BulkOptions::default()
    }
}

#[test]
fn a_writer_gathers_batches_of_first_versions_into_one_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut writer = store.peer_writer("fr", bulk(2));
    let mut state = at_page("0");
    let refused = vec![refusal_key(
        "https://fr.example/records/bad/versions/1",
        "zbad",
    )];
    let written = writer
        .write(first_versions("a", 4), &mut state, refused.clone())
        .unwrap();
    assert_eq!((written.stored, written.skipped), (0, 0));
    // Taken, not stored: the store and its readers see nothing yet.
    assert_eq!(store.member_count().unwrap(), 0);
    assert_eq!(store.peer_state("fr").unwrap(), PeerState::default());
    let mut state = at_page("1");
    // A batch too small to open a load still joins an open one.
    writer
        .write(first_versions("b", 1), &mut state, Vec::new())
        .unwrap();
    let mut state = at_page("2");
    let written = writer.finish(&mut state).unwrap();
    assert_eq!(written.stored, 5);
    assert!(written.by_bulk_loader);
    assert_eq!(state.accepted, 5);
    // Stored with the position given with its last batch.
    let stored = store.peer_state("fr").unwrap();
    assert_eq!((stored.page, stored.accepted), (at_page("1").page, 5));
    assert_eq!(stored.revision, state.revision);
    assert!(store.was_refused("fr", &refused[0]).unwrap());
    assert_eq!(store.member_count().unwrap(), 5);
    let positions: Vec<u64> = (0..2)
        .flat_map(|p| store.feed_page(p).unwrap().unwrap().members)
        .map(|m| m.position)
        .collect();
    assert_eq!(positions, vec![0, 1, 2, 3, 4]);
    assert_eq!(store.entries().unwrap().len(), 5);
    // Nothing left open: a transaction can write.
    let mut state = PeerState {
        accepted: 5,
        ..at_page("3")
    };
    store
        .put_harvested(&first_versions("c", 1), "fr", &mut state, usize::MAX)
        .unwrap();
    assert_eq!(store.member_count().unwrap(), 6);
    assert_eq!(state.accepted, 6);
}

#[test]
fn a_writer_dropped_with_a_load_open_writes_nothing_and_frees_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut writer = store.peer_writer("fr", bulk(1));
    let mut state = at_page("0");
    writer
        .write(first_versions("a", 3), &mut state, Vec::new())
        .unwrap();
    drop(writer);
    assert_eq!(store.member_count().unwrap(), 0);
    assert!(store.entries().unwrap().is_empty());
    assert_eq!(store.peer_state("fr").unwrap(), PeerState::default());
    // The writer's turn is free again.
    let mut state = at_page("0");
    store
        .put_harvested(&first_versions("a", 3), "fr", &mut state, 1)
        .unwrap();
    assert_eq!(store.member_count().unwrap(), 3);
}

#[test]
fn a_version_replacing_one_in_the_open_load_commits_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut writer = store.peer_writer("fr", bulk(1));
    let mut state = at_page("0");
    writer
        .write(first_versions("a", 2), &mut state, Vec::new())
        .unwrap();
    let v2 = harvested(
        &signed("https://fr.example", "a-0", 2),
        "fr",
        "https://fr.example",
    );
    let mut state = at_page("1");
    let written = writer
        .write(vec![v2.clone()], &mut state, Vec::new())
        .unwrap();
    // The load's two versions, then the new one by a transaction.
    assert_eq!((written.stored, written.skipped), (3, 0));
    assert_eq!(state.accepted, 3);
    assert_eq!(store.peer_state("fr").unwrap().page, at_page("1").page);
    assert_eq!(store.entry(&v2.0.record.iri).unwrap().unwrap().version, 2);
    assert_eq!(store.member_count().unwrap(), 3);
    assert_eq!(store.entries().unwrap().len(), 2);
    // Nothing is open any more.
    let written = writer.finish(&mut state).unwrap();
    assert_eq!(written.stored, 0);
}

#[test]
fn a_writer_ingests_its_load_when_it_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let options = BulkOptions {
        min_records: 1,
        session_records: 3,
        session_time: std::time::Duration::from_secs(3600),
    };
    let mut writer = store.peer_writer("fr", options);
    let mut state = at_page("0");
    let written = writer
        .write(first_versions("a", 2), &mut state, Vec::new())
        .unwrap();
    assert_eq!(written.stored, 0);
    let mut state = at_page("1");
    let written = writer
        .write(first_versions("b", 2), &mut state, Vec::new())
        .unwrap();
    assert_eq!(written.stored, 4);
    assert_eq!(store.member_count().unwrap(), 4);
    assert_eq!(store.peer_state("fr").unwrap().page, at_page("1").page);
    // A tiny time limit: every batch is ingested at once.
    let options = BulkOptions {
        session_time: std::time::Duration::ZERO,
        ..options
    };
    let mut writer = store.peer_writer("fr", options);
    let written = writer
        .write(first_versions("c", 1), &mut state, Vec::new())
        .unwrap();
    assert_eq!(written.stored, 1);
    assert_eq!(state.accepted, 5);
}
