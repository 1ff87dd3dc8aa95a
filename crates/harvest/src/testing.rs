//! Unit tests of the harvest rules through an in-memory feed: a peer's pages
//! in a [`MemoryFeed`], the harvesting node's store in memory, the time from
//! a [`FixedClock`]. No sockets.

use crate::{HarvestConfig, Harvester, MemoryFeed, MemoryPage, PeerReport, Quiet, reset_position};
use ccis_feed as feed;
use ccis_integrity::keys;
use ccis_integrity::peers::Peers;
use ccis_integrity::proof::ProofSigner;
use ccis_integrity::signed::SignedRecord;
use ccis_model::canon::Limits;
use ccis_model::clock::FixedClock;
use ccis_model::rdf_input::{self, InputFormat, PinnedContexts};
use ccis_model::record::{self, Record};
use ccis_store::{FeedMember, NodeStore, PeerState, member_iri, signed_nquads};
use std::sync::Arc;

/// The peer's base URL.
const BASE: &str = "https://fr.example";
/// The peer's id.
const PEER: &str = "fr-peer";
/// When the peer signs.
const SIGNED_AT: &str = "2026-11-20T10:00:00Z";

/// A tool record of the node at `base`, stamped with `version`.
fn tool_record(base: &str, slug: &str, title: &str, version: u64) -> Record {
    const TEMPLATE: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/SLUG> a ccis:Tool ;
    dct:title "TITLE"@en ;
    dct:description "A guide."@en ;
    dct:language lang:ENG ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-emergence ;
    ccis:toolType ccis:tool-type-guide ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;
    let ttl = TEMPLATE.replace("SLUG", slug).replace("TITLE", title);
    let quads = rdf_input::parse(
        ttl.as_bytes(),
        InputFormat::Turtle,
        Some(&format!("{base}/")),
        "template",
        &PinnedContexts::default(),
    )
    .unwrap();
    let r = record::split_into_records(quads, base).unwrap().remove(0);
    NodeStore::normalized(&r.stamped(version, SIGNED_AT)).unwrap()
}

/// A peer of the test: its signer, and the harvesting node reading it.
struct Fixture {
    feed: MemoryFeed,
    store: NodeStore,
    clock: FixedClock,
    signer: ProofSigner,
    multikey: String,
    harvester: Harvester,
}

impl Fixture {
    /// A peer at [`BASE`] trusted by the node `lv-reader`, with a clock
    /// showing a week after [`SIGNED_AT`].
    fn new() -> Self {
        Self::with_config(HarvestConfig::default())
    }

    fn with_config(config: HarvestConfig) -> Self {
        let key = keys::generate().unwrap();
        let multikey = keys::public_multikey(&key.verifying_key());
        let feed = MemoryFeed::new();
        let store = NodeStore::in_memory("https://lv.example").unwrap();
        let clock = FixedClock::at(time::macros::datetime!(2026-11-27 10:00 UTC));
        let harvester = harvester(&store, &feed, &clock, &peers_toml(BASE, &multikey), config);
        let fixture = Self {
            feed,
            store,
            clock,
            signer: ProofSigner::new(key),
            multikey,
            harvester,
        };
        fixture.serve_stream(BASE);
        fixture
    }

    fn serve_stream(&self, base: &str) {
        self.feed
            .put_quads(&format!("{base}/feed"), &feed::stream_document(base));
    }

    /// A record of the peer, signed at `created`.
    fn signed_at(&self, record: Record, created: &str) -> SignedRecord {
        let proof = self
            .signer
            .sign(&record.document(), created, &Limits::default())
            .unwrap();
        SignedRecord { record, proof }
    }

    /// A tool record of the peer, signed.
    fn signed(&self, slug: &str, title: &str, version: u64) -> SignedRecord {
        self.signed_at(tool_record(BASE, slug, title, version), SIGNED_AT)
    }

    /// Serves page `index` of the peer's feed (`full`: linking to the next).
    fn serve_page(&self, base: &str, index: u64, full: bool, members: &[SignedRecord]) {
        let members: Vec<FeedMember> = members.iter().map(member).collect();
        let quads = feed::page_document(base, index, full, &members).unwrap();
        self.feed
            .put_quads(feed::page_iri(base, index).as_str(), &quads);
    }

    async fn round(&self) -> PeerReport {
        let mut reports = self.harvester.round(None, Arc::new(Quiet)).await;
        assert_eq!(reports.len(), 1);
        reports.remove(0)
    }

    fn state(&self) -> PeerState {
        self.store.peer_state(PEER).unwrap()
    }

    /// The (record IRI, version) the node holds, sorted.
    fn holdings(&self) -> Vec<(String, u64)> {
        let mut held: Vec<_> = self
            .store
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.record.as_str().to_owned(), e.version))
            .collect();
        held.sort();
        held
    }
}

fn peers_toml(base: &str, multikey: &str) -> String {
    format!(
        "[[peer]]\nid = \"{PEER}\"\nname = \"Peer\"\ncountry = \"FR\"\nrole = \"national\"\nbase_url = \"{base}\"\n[[peer.keys]]\npublic_key = \"{multikey}\"\nvalid_from = \"2020-01-01T00:00:00Z\"\n"
    )
}

fn harvester(
    store: &NodeStore,
    feed: &MemoryFeed,
    clock: &FixedClock,
    peers: &str,
    config: HarvestConfig,
) -> Harvester {
    Harvester::new(
        store.clone(),
        "lv-reader",
        "https://lv.example",
        Peers::parse(peers).unwrap(),
        config,
        None,
    )
    .unwrap()
    .with_source(Arc::new(feed.clone()))
    .with_clock(Arc::new(clock.clone()))
}

/// The feed member of a signed version.
fn member(s: &SignedRecord) -> FeedMember {
    let version = s.record.version().unwrap();
    FeedMember {
        position: 0,
        member: member_iri(s.record.iri.as_str(), version),
        record: s.record.iri.clone(),
        version,
        modified: SIGNED_AT.into(),
        signed_nquads: signed_nquads(s).unwrap(),
    }
}

fn page_url(index: u64) -> String {
    feed::page_iri(BASE, index).as_str().to_owned()
}

fn record_url(slug: &str) -> String {
    format!("{BASE}/records/{slug}")
}

#[tokio::test]
async fn a_good_page_is_accepted_and_the_position_kept_with_it() {
    let f = Fixture::new();
    f.serve_page(
        BASE,
        0,
        false,
        &[f.signed("a", "A", 1), f.signed("b", "B", 1)],
    );
    let r = f.round().await;
    assert_eq!((r.accepted, r.refused_total(), r.error), (2, 0, None));
    assert_eq!(
        f.holdings(),
        vec![(record_url("a"), 1), (record_url("b"), 1)]
    );
    let state = f.state();
    assert_eq!(state.page.as_deref(), Some(page_url(0).as_str()));
    assert!(state.etag.is_some());
    assert_eq!(state.accepted, 2);
    assert_eq!(state.last_success.as_deref(), Some("2026-11-27T10:00:00Z"));
}

#[tokio::test]
async fn a_tampered_member_is_refused_by_its_rule_and_the_rest_of_the_page_accepted() {
    let f = Fixture::new();
    let honest = f.signed("a", "A", 1);
    let signed = f.signed("b", "B", 1);
    let tampered = SignedRecord {
        record: tool_record(BASE, "b", "B, altered on the way", 1),
        proof: signed.proof,
    };
    f.serve_page(BASE, 0, false, &[honest, tampered, f.signed("c", "C", 1)]);
    let r = f.round().await;
    assert_eq!(r.error, None);
    assert_eq!(r.accepted, 2);
    assert_eq!(r.refused.get("1-signature"), Some(&1), "{r:?}");
    assert_eq!(
        f.holdings(),
        vec![(record_url("a"), 1), (record_url("c"), 1)]
    );
    assert_eq!(f.state().refused.get("1-signature"), Some(&1));
}

#[tokio::test]
async fn a_member_of_an_unknown_origin_is_skipped_not_refused() {
    let f = Fixture::new();
    let stranger = f.signed_at(
        tool_record("https://elsewhere.example", "x", "X", 1),
        SIGNED_AT,
    );
    f.serve_page(BASE, 0, false, &[stranger, f.signed("a", "A", 1)]);
    let r = f.round().await;
    assert_eq!(r.error, None);
    assert_eq!((r.accepted, r.unknown_origin, r.refused_total()), (1, 1, 0));
    assert_eq!(f.holdings(), vec![(record_url("a"), 1)]);
    assert_eq!(f.state().not_harvested_unknown_origin, 1);
}

#[tokio::test]
async fn a_replayed_older_version_is_refused() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, true, &[f.signed("a", "A", 2)]);
    f.serve_page(BASE, 1, false, &[]);
    assert_eq!(f.round().await.accepted, 1);
    // The peer (or a relay) serves version 1 again, validly signed.
    f.serve_page(BASE, 1, false, &[f.signed("a", "A, older", 1)]);
    let r = f.round().await;
    assert_eq!(r.error, None);
    assert_eq!(r.accepted, 0);
    assert_eq!(r.refused.get("2-version"), Some(&1), "{r:?}");
    assert_eq!(f.holdings(), vec![(record_url("a"), 2)]);
}

#[tokio::test]
async fn equivocation_is_refused() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, true, &[f.signed("a", "A", 1)]);
    f.serve_page(BASE, 1, false, &[]);
    assert_eq!(f.round().await.accepted, 1);
    // Another content signed with the same version.
    f.serve_page(BASE, 1, false, &[f.signed("a", "A, other content", 1)]);
    let r = f.round().await;
    assert_eq!(r.error, None);
    assert_eq!(r.refused.get("2-equivocation"), Some(&1), "{r:?}");
    let stored = f
        .store
        .get(&oxrdf::NamedNode::new_unchecked(record_url("a")));
    assert_eq!(
        stored.unwrap().unwrap().record.version(),
        Some(1),
        "the first content stays"
    );
}

#[tokio::test]
async fn a_proof_created_in_the_future_is_refused_by_the_clock_of_the_harvester() {
    let f = Fixture::new();
    // A day ahead of the harvester's clock: beyond any allowed skew.
    let ahead = f.signed_at(tool_record(BASE, "a", "A", 1), "2026-11-28T10:00:00Z");
    let b = f.signed("b", "B", 1);
    f.serve_page(BASE, 0, false, &[ahead.clone(), b.clone()]);
    let r = f.round().await;
    assert_eq!(r.refused.get("1-created-in-future"), Some(&1), "{r:?}");
    assert_eq!(f.holdings(), vec![(record_url("b"), 1)]);
    // Two days later the page grows and is read again: the same proof is no
    // longer in the future.
    f.clock.advance(time::Duration::days(2));
    f.serve_page(BASE, 0, false, &[ahead, b, f.signed("c", "C", 1)]);
    let again = f.round().await;
    assert_eq!(
        (again.accepted, again.known, again.refused_total()),
        (2, 1, 0),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_position_advances_and_a_round_with_nothing_new_does_no_work() {
    let f = Fixture::new();
    f.serve_page(
        BASE,
        0,
        true,
        &[f.signed("a", "A", 1), f.signed("b", "B", 1)],
    );
    f.serve_page(BASE, 1, false, &[f.signed("c", "C", 1)]);
    let first = f.round().await;
    assert_eq!((first.accepted, first.pages), (3, 2));
    let state = f.state();
    assert_eq!(state.page.as_deref(), Some(page_url(1).as_str()));
    assert_eq!(state.pages, 2);

    f.feed.forget_requests();
    let idle = f.round().await;
    assert_eq!(
        (idle.accepted, idle.known, idle.pages, idle.error),
        (0, 0, 1, None)
    );
    // One conditional request, answered 304: nothing parsed, nothing judged.
    let requests = f.feed.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].url, page_url(1));
    assert_eq!(requests[0].etag, state.etag);
    assert_eq!(requests[0].status, 304);
    let after = f.state();
    assert_eq!(
        (after.page, after.etag, after.pages),
        (state.page, state.etag, 2)
    );

    // The page grows: only what is new is read.
    f.serve_page(
        BASE,
        1,
        false,
        &[f.signed("c", "C", 1), f.signed("d", "D", 1)],
    );
    let grown = f.round().await;
    assert_eq!((grown.accepted, grown.known, grown.error), (1, 1, None));
}

#[tokio::test]
async fn an_oversized_page_is_refused_by_the_configured_limit() {
    let f = Fixture::with_config(HarvestConfig {
        max_page_bytes: 2_000,
        ..HarvestConfig::default()
    });
    f.serve_page(
        BASE,
        0,
        false,
        &[f.signed("a", "A", 1), f.signed("b", "B", 1)],
    );
    let r = f.round().await;
    let error = r.error.unwrap();
    assert!(error.contains("size limit of 2000 bytes"), "{error}");
    assert!(error.contains(&page_url(0)), "{error}");
    assert!(f.holdings().is_empty());
    assert_eq!(f.state().page, None);
    assert_eq!(f.state().consecutive_failures, 1);
}

#[tokio::test]
async fn a_page_that_never_comes_is_given_up_at_the_configured_time_limit() {
    let f = Fixture::with_config(HarvestConfig {
        response_timeout_secs: 1,
        ..HarvestConfig::default()
    });
    f.feed.set(&page_url(0), MemoryPage::Hang);
    let r = f.round().await;
    let error = r.error.unwrap();
    assert!(
        error.contains(&page_url(0)) && error.contains("no complete answer within 1 s"),
        "{error}"
    );
    assert!(f.holdings().is_empty());
}

#[tokio::test]
async fn a_position_whose_page_is_gone_is_reported_with_the_command_that_resets_it() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, false, &[f.signed("a", "A", 1)]);
    assert_eq!(f.round().await.accepted, 1);
    // The peer rebuilt its feed: the view is another page.
    f.feed.clear();
    let rebuilt = format!("{BASE}/feed/v2-0");
    let mut stream = feed::stream_document(BASE);
    for q in &mut stream {
        if q.object == oxrdf::Term::NamedNode(feed::page_iri(BASE, 0)) {
            q.object = oxrdf::NamedNode::new_unchecked(&rebuilt).into();
        }
    }
    f.feed.put_quads(&format!("{BASE}/feed"), &stream);
    let members = [
        member(&f.signed("a", "A", 1)),
        member(&f.signed("b", "B", 1)),
    ];
    let mut page = feed::page_document(BASE, 0, false, &members).unwrap();
    for q in &mut page {
        if q.subject == oxrdf::NamedOrBlankNode::NamedNode(feed::page_iri(BASE, 0)) {
            q.subject = oxrdf::NamedNode::new_unchecked(&rebuilt).into();
        }
    }
    f.feed.put_quads(&rebuilt, &page);

    let r = f.round().await;
    assert_eq!(r.accepted, 0);
    assert_eq!(
        r.reset_command.as_deref(),
        Some("ccis harvest --reset fr-peer")
    );
    let error = r.error.unwrap();
    assert!(
        error.contains(&page_url(0)) && error.contains("HTTP 404"),
        "{error}"
    );
    assert!(error.contains("`ccis harvest --reset fr-peer`"), "{error}");
    // The status says so too, and nothing moved.
    let state = f.state();
    assert_eq!(state.last_error.as_deref(), Some(error.as_str()));
    assert_eq!(state.page.as_deref(), Some(page_url(0).as_str()));

    assert_eq!(
        reset_position(&f.store, PEER).unwrap().as_deref(),
        Some(page_url(0).as_str())
    );
    let state = f.state();
    assert_eq!((state.page, state.last_error), (None, None));
    assert_eq!(state.accepted, 1, "what the peer gave is still counted");
    let after = f.round().await;
    assert_eq!(
        (after.accepted, after.known, after.error),
        (1, 1, None),
        "read again from the start: the stored version is known"
    );
}

#[tokio::test]
async fn a_reset_feed_whose_pages_still_exist_is_reported() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, true, &[f.signed("a", "A", 1)]);
    f.serve_page(BASE, 1, false, &[f.signed("b", "B", 1)]);
    assert_eq!(f.round().await.accepted, 2);
    // The peer starts its feed again with other records: page 1 exists,
    // and its first page no longer starts with what was read.
    f.serve_page(BASE, 0, true, &[f.signed("c", "C", 1)]);
    f.serve_page(BASE, 1, false, &[f.signed("d", "D", 1)]);
    let r = f.round().await;
    assert_eq!(r.accepted, 0);
    assert!(r.reset_command.is_some(), "{r:?}");
    let error = r.error.unwrap();
    assert!(
        error.contains(&record_url("c")) && error.contains("reset"),
        "{error}"
    );
    assert_eq!(f.holdings().len(), 2);
}

#[tokio::test]
async fn a_newest_page_read_empty_that_fills_is_no_reset() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, true, &[f.signed("a", "A", 1)]);
    f.serve_page(BASE, 1, false, &[]);
    assert_eq!(f.round().await.accepted, 1);
    assert_eq!(f.state().page.as_deref(), Some(page_url(1).as_str()));
    f.serve_page(BASE, 1, false, &[f.signed("b", "B", 1)]);
    let r = f.round().await;
    assert_eq!((r.accepted, r.error, r.reset_command), (1, None, None));
}

#[tokio::test]
async fn a_full_page_that_changed_at_the_position_is_reported() {
    // A round that stopped on a full page resumes there.
    let f = Fixture::with_config(HarvestConfig {
        max_pages_per_round: 1,
        ..HarvestConfig::default()
    });
    f.serve_page(BASE, 0, true, &[f.signed("a", "A", 1)]);
    f.serve_page(BASE, 1, false, &[f.signed("b", "B", 1)]);
    let first = f.round().await;
    assert_eq!(first.accepted, 1);
    assert!(first.error.unwrap().contains("max_pages_per_round"));
    assert_eq!(f.state().page_next, vec![page_url(1)]);
    f.serve_page(BASE, 0, true, &[f.signed("c", "C", 1)]);
    let r = f.round().await;
    assert!(r.reset_command.is_some(), "{r:?}");
    assert!(r.error.unwrap().contains(&record_url("c")));
}

#[tokio::test]
async fn a_position_outside_a_changed_base_url_is_reported_and_reset() {
    let f = Fixture::new();
    f.serve_page(BASE, 0, false, &[f.signed("a", "A", 1)]);
    assert_eq!(f.round().await.accepted, 1);
    // peers.toml now gives the peer another base URL.
    let moved = "https://fr.example.org";
    let h = harvester(
        &f.store,
        &f.feed,
        &f.clock,
        &peers_toml(moved, &f.multikey),
        HarvestConfig::default(),
    );
    f.serve_stream(moved);
    f.serve_page(moved, 0, false, &[]);
    let r = h.round(None, Arc::new(Quiet)).await.remove(0);
    let error = r.error.unwrap();
    assert!(
        error.contains(&page_url(0)) && error.contains("outside the peer's base URL"),
        "{error}"
    );
    assert_eq!(
        r.reset_command.as_deref(),
        Some("ccis harvest --reset fr-peer")
    );
    h.reset_position(PEER).unwrap();
    let again = h.round(None, Arc::new(Quiet)).await.remove(0);
    assert_eq!(again.error, None);
    let expected = format!("{moved}/feed/0");
    assert_eq!(f.state().page.as_deref(), Some(expected.as_str()));
}

#[tokio::test]
async fn resetting_a_peer_never_harvested_changes_nothing() {
    let f = Fixture::new();
    assert_eq!(reset_position(&f.store, PEER).unwrap(), None);
    assert!(f.store.peer_states().unwrap().is_empty());
}

/// Batches of two, and a bulk load from two first versions on.
fn small_batches() -> HarvestConfig {
    HarvestConfig {
        batch_records: 2,
        bulk_min_records: 2,
        retries: 0,
        ..HarvestConfig::default()
    }
}

#[tokio::test]
async fn batches_of_first_versions_are_stored_together_and_a_new_version_after_them() {
    let f = Fixture::with_config(small_batches());
    let (a1, a2) = (f.signed("a", "A", 1), f.signed("a", "A two", 2));
    f.serve_page(
        BASE,
        0,
        true,
        &[a1, f.signed("b", "B", 1), f.signed("c", "C", 1)],
    );
    f.serve_page(BASE, 1, true, &[f.signed("d", "D", 1), a2]);
    f.serve_page(BASE, 2, false, &[f.signed("e", "E", 1)]);
    let r = f.round().await;
    assert_eq!((r.accepted, r.known, r.pages, r.error), (6, 0, 3, None));
    let held = f.holdings();
    let slugs: Vec<_> = ["a", "b", "c", "d", "e"].map(record_url).to_vec();
    assert_eq!(held.iter().map(|h| h.0.clone()).collect::<Vec<_>>(), slugs);
    assert_eq!(held[0].1, 2);
    assert_eq!(f.store.member_count().unwrap(), 6);
    let state = f.state();
    assert_eq!(state.page.as_deref(), Some(page_url(2).as_str()));
    assert_eq!((state.accepted, state.pages), (6, 3));
    // The feed relays them in the order read.
    let relayed: Vec<_> = f
        .store
        .members(0, 6)
        .unwrap()
        .into_iter()
        .map(|m| (m.record.as_str().to_owned(), m.version))
        .collect();
    let expected: Vec<_> = [("a", 1), ("b", 1), ("c", 1), ("d", 1), ("a", 2), ("e", 1)]
        .map(|(s, v)| (record_url(s), v))
        .to_vec();
    assert_eq!(relayed, expected);
    // Nothing is left open: the next round reads only what is new.
    let idle = f.round().await;
    assert_eq!((idle.accepted, idle.error), (0, None));
}

#[tokio::test]
async fn a_walk_stopped_by_a_failing_page_keeps_what_it_judged_before() {
    let f = Fixture::with_config(small_batches());
    f.serve_page(
        BASE,
        0,
        true,
        &[f.signed("a", "A", 1), f.signed("b", "B", 1)],
    );
    f.serve_page(
        BASE,
        1,
        true,
        &[f.signed("c", "C", 1), f.signed("d", "D", 1)],
    );
    f.feed.set(&page_url(2), MemoryPage::Status(500));
    let r = f.round().await;
    assert!(
        r.error.as_deref().is_some_and(|e| e.contains(&page_url(2))),
        "{r:?}"
    );
    assert_eq!(r.accepted, 4);
    assert_eq!(f.holdings().len(), 4);
    let state = f.state();
    assert_eq!(state.page.as_deref(), Some(page_url(1).as_str()));
    assert_eq!(state.accepted, 4);
    // The page comes back: the walk goes on from there.
    f.serve_page(BASE, 2, false, &[f.signed("e", "E", 1)]);
    let r = f.round().await;
    assert_eq!((r.accepted, r.error), (1, None));
    assert_eq!(f.store.member_count().unwrap(), 5);
}
