//! The index over a real store: analysis, facets, odd queries, pages,
//! withdrawal, catch-up and rebuild.

use crate::*;
use ccis_integrity::proof::Proof;
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use ccis_store::{NodeStore, StoreMeta};
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::{Literal, NamedNode, Triple};

const VM: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const CCIS: &str = "https://w3id.org/ccis/ns#";
const COUNTRY: &str = "http://publications.europa.eu/resource/authority/country/";

/// A record of `slug` at `https://{cc}.example` whose statements are the
/// Turtle `body` about `<R>`, at `version`, modified on `day` of November.
fn signed(cc: &str, slug: &str, body: &str, version: u64, day: u32) -> SignedRecord {
    let iri = format!("https://{cc}.example/records/{slug}");
    let ttl = format!(
        "@prefix ccis: <{CCIS}> . @prefix dct: <http://purl.org/dc/terms/> .\n\
         @prefix country: <{COUNTRY}> .\n<{iri}> {body} ."
    );
    let triples: Vec<Triple> = RdfParser::from_format(RdfFormat::Turtle)
        .for_slice(ttl.as_bytes())
        .map(|q| Triple::from(q.unwrap()))
        .collect();
    let modified = format!("2026-11-{day:02}T10:00:00Z");
    let record = Record::new(NamedNode::new(&iri).unwrap(), triples).stamped(version, &modified);
    with_proof(record)
}

fn with_proof(record: Record) -> SignedRecord {
    let mut proof = Proof::options("2026-11-20T10:00:00Z", VM);
    proof.statements.push((
        ccis_model::vocab::SEC_PROOF_VALUE.into(),
        Literal::new_simple_literal("zproof").into(),
    ));
    SignedRecord {
        record: NodeStore::normalized(&record).unwrap(),
        proof,
    }
}

/// What the tests store a version with: its origin is the country code
/// its IRI begins with.
fn put_meta(signed: &SignedRecord) -> StoreMeta {
    StoreMeta {
        origin: signed.record.iri.as_str()[8..10].to_owned(),
        source: "local".into(),
        stored_at: "2026-11-21T10:00:00Z".into(),
        verified_with: VM.into(),
        signed_nquads: None,
    }
}

fn put(store: &NodeStore, records: Vec<SignedRecord>) {
    let items: Vec<_> = records
        .into_iter()
        .map(|s| {
            let meta = put_meta(&s);
            (s, meta)
        })
        .collect();
    store.put_all(&items).unwrap();
}

/// A tool with an English title and the given country, themes and stage.
fn tool(
    cc: &str,
    slug: &str,
    title: &str,
    country: &str,
    themes: &[&str],
    stage: &str,
) -> SignedRecord {
    let themes: Vec<String> = themes.iter().map(|t| format!("ccis:theme-{t}")).collect();
    let body = format!(
        "a ccis:Tool ; dct:title \"{title}\"@en ; dct:description \"About {slug}.\"@en ; \
         dct:spatial country:{country} ; dct:subject {} ; ccis:stage ccis:stage-{stage} ; \
         dct:audience ccis:audience-project-holders ; ccis:toolType ccis:tool-type-guide",
        themes.join(", ")
    );
    signed(cc, slug, &body, 1, 1)
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: NodeStore,
    index: Index,
}

fn fixture(records: Vec<SignedRecord>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = NodeStore::open(&dir.path().join("store"), "https://fr.example").unwrap();
    put(&store, records);
    let index = Index::open(&dir.path().join(INDEX_DIR), &store).unwrap();
    Fixture {
        _dir: dir,
        store,
        index,
    }
}

fn iris(results: &SearchResults) -> Vec<String> {
    let mut v: Vec<String> = results
        .hits
        .iter()
        .map(|h| h.iri.rsplit('/').next().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn search(index: &Index, request: SearchRequest) -> SearchResults {
    index.search(&request).unwrap()
}

#[test]
fn stemming_and_folding_find_other_forms_in_every_language() {
    let f = fixture(vec![
        signed(
            "fr",
            "outils",
            "a ccis:Tool ; dct:title \"Tools for social enterprises\"@en, \"Outils pour évaluer l'impact\"@fr",
            1,
            1,
        ),
        signed(
            "lv",
            "celvedis",
            "a ccis:Tool ; dct:title \"Ceļvedis sociālajiem uzņēmumiem\"@lv",
            1,
            2,
        ),
        signed(
            "lt",
            "vadovas",
            "a ccis:Tool ; dct:title \"Socialinių inovacijų vadovas\"@lt",
            1,
            3,
        ),
    ]);
    for (query, expected) in [
        ("tool", "outils"),
        ("TOOLS", "outils"),
        ("enterprise", "outils"),
        ("outil", "outils"),
        ("evaluer", "outils"),
        ("socialajiem", "celvedis"),
        ("sociālajiem", "celvedis"),
        ("UZNEMUMIEM", "celvedis"),
        ("socialiniu inovaciju", "vadovas"),
        ("l'impact d'évaluer", "outils"),
    ] {
        let r = search(&f.index, SearchRequest::new(query));
        assert_eq!(iris(&r), [expected], "query {query:?}");
    }
    let hit = &search(&f.index, SearchRequest::new("outils")).hits[0];
    assert_eq!(hit.title(&["fr"]), Some("Outils pour évaluer l'impact"));
    assert_eq!(hit.values(Facet::Language), ["en", "fr"]);
    assert_eq!(hit.values(Facet::Origin), ["fr"]);
}

fn four_tools() -> Vec<SignedRecord> {
    vec![
        tool("fr", "a", "Guide A", "FRA", &["employment"], "emergence"),
        tool(
            "fr",
            "b",
            "Guide B",
            "FRA",
            &["social-inclusion"],
            "scaling",
        ),
        tool("se", "c", "Guide C", "SWE", &["employment"], "scaling"),
        tool(
            "lv",
            "d",
            "Guide D",
            "LVA",
            &["social-inclusion", "employment"],
            "emergence",
        ),
    ]
}

#[test]
fn facets_or_within_and_across_with_disjunctive_counts() {
    let f = fixture(four_tools());
    let (fra, swe, lva) = (
        format!("{COUNTRY}FRA"),
        format!("{COUNTRY}SWE"),
        format!("{COUNTRY}LVA"),
    );
    let employment = format!("{CCIS}theme-employment");
    let inclusion = format!("{CCIS}theme-social-inclusion");
    let r = search(
        &f.index,
        SearchRequest::new("")
            .select(Facet::Country, &fra)
            .select(Facet::Country, &swe),
    );
    assert_eq!(iris(&r), ["a", "b", "c"]);
    let r = search(
        &f.index,
        SearchRequest::new("guide")
            .select(Facet::Country, &fra)
            .select(Facet::Country, &swe)
            .select(Facet::Theme, &employment),
    );
    assert_eq!(
        (r.total, iris(&r)),
        (2, vec!["a".to_owned(), "c".to_owned()])
    );
    // Countries count under the theme only: a, c, d.
    let countries = r.facet(Facet::Country).unwrap();
    assert_eq!(
        [
            countries.count(&fra),
            countries.count(&swe),
            countries.count(&lva)
        ],
        [1, 1, 1]
    );
    assert!(
        countries
            .values
            .iter()
            .find(|v| v.value == fra)
            .unwrap()
            .selected
    );
    // Themes count under the countries only: a, b, c.
    let themes = r.facet(Facet::Theme).unwrap();
    assert_eq!(
        [themes.count(&employment), themes.count(&inclusion)],
        [2, 1]
    );
    // Stages count under both: a, c.
    let stages = r.facet(Facet::Stage).unwrap();
    assert_eq!(stages.count(&format!("{CCIS}stage-emergence")), 1);
    assert_eq!(stages.count(&format!("{CCIS}stage-scaling")), 1);
    assert_eq!(
        r.facet(Facet::RecordType)
            .unwrap()
            .count(&format!("{CCIS}Tool")),
        2
    );
}

#[test]
fn a_search_within_records_narrows_results_facet_counts_and_counts() {
    let f = fixture(four_tools());
    let iri = |slug: &str| {
        let r = search(&f.index, SearchRequest::new(""));
        r.hits
            .iter()
            .find(|h| h.iri.ends_with(&format!("/{slug}")))
            .unwrap()
            .iri
            .clone()
    };
    let (a, d) = (iri("a"), iri("d"));
    let within =
        SearchRequest::new("").within(vec![a.clone(), d.clone(), "https://x.example/none".into()]);
    let r = search(&f.index, within.clone());
    assert_eq!(iris(&r), ["a", "d"]);
    let stages = r.facet(Facet::Stage).unwrap();
    assert_eq!(stages.count(&format!("{CCIS}stage-emergence")), 2);
    assert_eq!(stages.count(&format!("{CCIS}stage-scaling")), 0);
    assert_eq!(f.index.count(&within).unwrap(), 2);
    let employment = format!("{CCIS}theme-employment");
    let narrowed = within.select(Facet::Country, format!("{COUNTRY}LVA"));
    assert_eq!(f.index.count(&narrowed).unwrap(), 1);
    assert_eq!(
        f.index
            .count(&SearchRequest::new("").select(Facet::Theme, &employment))
            .unwrap(),
        3
    );
    assert_eq!(
        f.index
            .count(&SearchRequest::new("").within(Vec::new()))
            .unwrap(),
        0
    );
}

#[test]
fn a_value_nothing_has_selects_nothing_and_is_still_listed() {
    let f = fixture(four_tools());
    let fra = format!("{COUNTRY}FRA");
    let r = search(
        &f.index,
        SearchRequest::new("").select(Facet::Country, "nowhere"),
    );
    assert_eq!(r.total, 0);
    assert_eq!(r.facet(Facet::Country).unwrap().count(&fra), 2);
    assert!(
        r.facet(Facet::Country)
            .unwrap()
            .values
            .iter()
            .any(|v| v.value == "nowhere" && v.selected)
    );
}

#[test]
fn odd_queries_never_fail() {
    let f = fixture(four_tools());
    let long = "guide \"b ".repeat(400);
    for q in [
        "*",
        "\"unbalanced",
        "((",
        "AND OR NOT",
        "title:guide",
        "-",
        "🙂",
        "\u{0}\u{7}",
        "a:b:c[]{}^~",
        &long,
    ] {
        let r = f
            .index
            .search(&SearchRequest::new(q))
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
        assert!(r.total <= 4, "{q:?}");
    }
    assert_eq!(search(&f.index, SearchRequest::new("*")).total, 4);
    // Quotes are separators; a one-letter word beside longer ones is left out.
    assert_eq!(search(&f.index, SearchRequest::new("guide \"b")).total, 4);
    assert_eq!(search(&f.index, SearchRequest::new("\"b\"")).total, 1);
    let too_many = SearchRequest {
        selected: [(Facet::Theme, vec!["x".repeat(10_000); 1_000])].into(),
        ..SearchRequest::default()
    };
    assert_eq!(
        search(&f.index, too_many).total,
        4,
        "an overlong value is ignored"
    );
}

#[test]
fn pages_are_capped_and_cover_every_record_once() {
    let records = (0..25)
        .map(|n| {
            signed(
                "fr",
                &format!("r{n:02}"),
                "a ccis:Tool ; dct:title \"Guide\"@en",
                1,
                1 + n,
            )
        })
        .collect();
    let f = fixture(records);
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = search(&f.index, SearchRequest::new("guide").page(page, 10));
        assert_eq!((r.total, r.page, r.per_page), (25, page, 10));
        seen.extend(iris(&r));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    assert_eq!(search(&f.index, SearchRequest::new("").page(0, 0)).page, 1);
    assert_eq!(
        search(&f.index, SearchRequest::new("").page(0, 0))
            .hits
            .len(),
        request::DEFAULT_PER_PAGE
    );
    assert_eq!(
        search(&f.index, SearchRequest::new("").page(1, 10_000)).per_page,
        request::MAX_PER_PAGE
    );
    assert_eq!(
        search(&f.index, SearchRequest::new("").page(usize::MAX, 10)).page,
        request::MAX_PAGE
    );
    assert!(
        search(&f.index, SearchRequest::new("").page(4, 10))
            .hits
            .is_empty()
    );
    let newest = search(
        &f.index,
        SearchRequest::new("guide").sorted(Sort::Newest).page(1, 3),
    );
    let order: Vec<&str> = newest
        .hits
        .iter()
        .map(|h| h.iri.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(order, ["r24", "r23", "r22"]);
}

#[test]
fn a_new_version_replaces_and_a_tombstone_removes() {
    let f = fixture(four_tools());
    let v2 = tool("fr", "a", "Handbook A", "FRA", &["employment"], "emergence");
    put(
        &f.store,
        vec![with_proof(v2.record.stamped(2, "2026-11-24T10:00:00Z"))],
    );
    assert_eq!(
        search(&f.index, SearchRequest::new("handbook")).total,
        0,
        "not caught up yet"
    );
    let caught = f.index.catch_up(&f.store).unwrap();
    assert_eq!((caught.from, caught.to), (4, 5));
    assert_eq!(f.index.position(), 5);
    assert_eq!(
        iris(&search(&f.index, SearchRequest::new("handbook"))),
        ["a"]
    );
    assert_eq!(search(&f.index, SearchRequest::new("")).total, 4);
    let iri = NamedNode::new("https://fr.example/records/a").unwrap();
    put(
        &f.store,
        vec![with_proof(Record::tombstone(
            iri,
            3,
            "2026-11-25T10:00:00Z",
        ))],
    );
    f.index.catch_up(&f.store).unwrap();
    assert_eq!(search(&f.index, SearchRequest::new("handbook")).total, 0);
    assert_eq!(search(&f.index, SearchRequest::new("")).total, 3);
    assert!(
        f.index
            .get("https://fr.example/records/a")
            .unwrap()
            .unwrap()
            .withdrawn
    );
}

#[test]
fn reopening_keeps_the_position_and_a_broken_index_is_rebuilt() {
    let f = fixture(four_tools());
    let dir = f.index.path().to_owned();
    drop(f.index);
    put(
        &f.store,
        vec![tool(
            "se",
            "e",
            "Manual E",
            "SWE",
            &["employment"],
            "scaling",
        )],
    );
    let index = Index::open(&dir, &f.store).unwrap();
    assert_eq!(index.position(), 5);
    assert_eq!(search(&index, SearchRequest::new("")).total, 5);
    drop(index);
    std::fs::write(dir.join("meta.json"), "{ not json").unwrap();
    let index = Index::open(&dir, &f.store).unwrap();
    assert_eq!(
        (
            index.position(),
            search(&index, SearchRequest::new("")).total
        ),
        (5, 5)
    );
}

#[test]
fn similar_records_come_from_other_countries() {
    let f = fixture(four_tools());
    let similar = f
        .index
        .more_like_this("https://fr.example/records/a", 10)
        .unwrap();
    let names: Vec<&str> = similar
        .iter()
        .map(|h| h.iri.rsplit('/').next().unwrap())
        .collect();
    assert!(!names.contains(&"a") && !names.contains(&"b"), "{names:?}");
    // d shares theme and stage with a; c shares only the theme.
    assert_eq!(names, ["d", "c"]);
    assert!(
        f.index
            .more_like_this("https://fr.example/records/none", 10)
            .unwrap()
            .is_empty()
    );
}

/// The documents of `iris` in `index`, as the index returns them (their
/// scores aside: those depend on how documents fell into segments).
fn documents(index: &Index, iris: &[&str]) -> Vec<Option<SearchHit>> {
    iris.iter()
        .map(|iri| {
            index.get(iri).unwrap().map(|mut hit| {
                hit.score = 0.0;
                hit
            })
        })
        .collect()
}

#[test]
fn what_the_store_hands_over_is_indexed_as_the_log_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = NodeStore::open(&dir.path().join("store"), "https://fr.example").unwrap();
    put(&store, four_tools()[..1].to_vec());
    let index = std::sync::Arc::new(Index::open(&dir.path().join("fed"), &store).unwrap());
    let observer: std::sync::Arc<dyn ccis_store::FeedObserver> = index.clone();
    // One write before the index is attached: only the log has it.
    put(&store, four_tools()[1..2].to_vec());
    store.set_feed_observer(Some(std::sync::Arc::downgrade(&observer)));
    put(&store, four_tools()[2..].to_vec());
    let v2 = tool("fr", "a", "Handbook A", "FRA", &["employment"], "emergence");
    put(
        &store,
        vec![with_proof(v2.record.stamped(2, "2026-11-24T10:00:00Z"))],
    );
    // A write staged and never committed leaves nothing behind.
    let ghost = tool("fr", "ghost", "Ghost", "FRA", &["employment"], "emergence");
    observer.staged(5, &ghost, &put_meta(&ghost));
    observer.discarded();
    let tombstone = Record::tombstone(
        NamedNode::new("https://lv.example/records/d").unwrap(),
        2,
        "2026-11-25T10:00:00Z",
    );
    put(&store, vec![with_proof(tombstone)]);

    let caught = index.catch_up(&store).unwrap();
    assert_eq!((caught.from, caught.to), (1, 6));
    assert_eq!(caught.handed_over, 4, "positions 2 to 5 came from memory");
    let from_log = Index::open(&dir.path().join("rebuilt"), &store).unwrap();
    let all = [
        "https://fr.example/records/a",
        "https://fr.example/records/b",
        "https://se.example/records/c",
        "https://lv.example/records/d",
        "https://fr.example/records/ghost",
    ];
    assert_eq!(documents(&index, &all), documents(&from_log, &all));
    assert_eq!(documents(&index, &all[4..]), [None]);
    for q in ["", "handbook", "guide", "ghost"] {
        assert_eq!(
            iris(&search(&index, SearchRequest::new(q))),
            iris(&search(&from_log, SearchRequest::new(q))),
            "query {q:?}"
        );
    }
    // Nothing new: nothing to commit, nothing handed over.
    let again = index.catch_up(&store).unwrap();
    assert_eq!((again.from, again.to, again.handed_over), (6, 6, 0));

    // Caught up, the index adds what is staged to its writer at once; a
    // write that fails then takes it back out.
    observer.staged(6, &ghost, &put_meta(&ghost));
    assert_eq!(index.catch_up(&store).unwrap().to, 6, "nothing committed");
    observer.discarded();
    put(
        &store,
        vec![tool(
            "lv",
            "e",
            "Guide E",
            "LVA",
            &["employment"],
            "scaling",
        )],
    );
    let last = index.catch_up(&store).unwrap();
    assert_eq!((last.from, last.to, last.handed_over), (6, 7, 1));
    drop(from_log);
    let from_log = Index::open(&dir.path().join("rebuilt-again"), &store).unwrap();
    let all = [&all[..], &["https://lv.example/records/e"]].concat();
    assert_eq!(documents(&index, &all), documents(&from_log, &all));
    assert_eq!(documents(&index, &all[4..5]), [None], "no ghost");
    assert_eq!(search(&index, SearchRequest::new("")).total, 4);
}
