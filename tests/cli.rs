//! The `ccis` command line end to end: init, publish, versioning, withdraw,
//! export, offline verify, query, status, and bad input that stores nothing.

mod common;

use common::{ccis, repo};
use std::path::{Path, PathBuf};

const BASE: &str = "https://ccis.example.fr";

struct TestNode {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl TestNode {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let out = common::init_node(&dir, "fr-test", "FR", BASE, &["--name", "Test centre"]);
        assert!(out.contains("did:key:z6Mk"), "{out}");
        Self { _tmp: tmp, dir }
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut all = vec![args[0], "--dir", s(&self.dir)];
        all.extend_from_slice(&args[1..]);
        ccis(&all)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.parent().unwrap().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn record_count(&self) -> usize {
        let (ok, out, err) = self.run(&[
            "query",
            "--format",
            "csv",
            "SELECT (COUNT(*) AS ?n) WHERE { ?cr a <http://www.w3.org/ns/dcat#CatalogRecord> }",
        ]);
        assert!(ok, "{err}");
        out.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const GUIDE: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
<records/guide> a ccis:Tool ;
    dct:title "Guide"@fr , "Guide"@en ;
    dct:description "Un guide."@fr , "A guide."@en ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    ccis:toolType ccis:tool-type-guide ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;

#[test]
fn publish_version_withdraw_export_verify() {
    let node = TestNode::new();
    let guide = node.write("guide.ttl", GUIDE);
    let (ok, out, err) = node.run(&["publish", s(&guide)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("created")
            && out.contains("v1")
            && out.contains(&format!("{BASE}/records/guide")),
        "{out}"
    );

    let (ok, out, _) = node.run(&["publish", s(&guide)]);
    assert!(
        ok && out.contains("unchanged") && out.contains("v1"),
        "identical content changes nothing: {out}"
    );
    // Same content with a blank node, twice: unchanged the second time.
    let with_blank = node.write(
        "contact.ttl",
        &GUIDE.replace("records/guide", "records/contact").replace(
            "dct:license",
            "<https://schema.org/contactPoint> [ <https://schema.org/email> \"info@example.fr\" ] ;\n    dct:license",
        ),
    );
    let (ok, out, err) = node.run(&["publish", s(&with_blank)]);
    assert!(ok && out.contains("created"), "{out}{err}");
    let (ok, out, _) = node.run(&["publish", s(&with_blank)]);
    assert!(
        ok && out.contains("unchanged"),
        "blank node labels do not make a new version: {out}"
    );

    let changed = node.write("guide2.ttl", &GUIDE.replace("A guide.", "A better guide."));
    let (ok, out, err) = node.run(&["publish", s(&changed)]);
    assert!(
        ok && out.contains("updated") && out.contains("v2"),
        "{out}{err}"
    );

    // JSON-LD input with the pinned context.
    let json = node.write(
        "howto.jsonld",
        &format!(
            r#"{{"@context": "https://w3id.org/ccis/context.jsonld",
              "id": "{BASE}/records/howto", "type": "Tool",
              "title": [{{"@value": "Fiche", "@language": "fr"}}],
              "description": {{"@value": "Une fiche.", "@language": "fr"}},
              "spatial": "http://publications.europa.eu/resource/authority/country/FRA",
              "subject": "ccis:theme-housing", "toolType": "ccis:tool-type-how-to",
              "license": "https://creativecommons.org/licenses/by/4.0/"}}"#
        ),
    );
    let (ok, out, err) = node.run(&["publish", s(&json)]);
    assert!(ok && out.contains("created"), "{out}{err}");
    // A record never has to be translated: a French-only title is published,
    // and the operator is told what having no English title means.
    assert!(
        out.contains(&format!(
            "note: <{BASE}/records/howto> has no English (@en) title"
        )) && out.contains("titles in fr"),
        "{out}"
    );

    let (ok, out, err) = node.run(&["withdraw", &format!("{BASE}/records/howto")]);
    assert!(ok && out.contains("v2"), "{out}{err}");
    let (ok, _, err) = node.run(&["withdraw", &format!("{BASE}/records/howto")]);
    assert!(!ok && err.contains("already withdrawn"), "{err}");

    // Export in every format and verify offline with the node's key.
    let (_, status, _) = node.run(&["status"]);
    assert!(status.contains("records   3 (1 withdrawn)"), "{status}");
    let key = std::fs::read_to_string(node.dir.join("ccis.toml")).unwrap();
    let key = key
        .split("public_key = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    for (format, ext) in [("trig", "trig"), ("nquads", "nq"), ("jsonld", "jsonld")] {
        let file = node.dir.parent().unwrap().join(format!("export.{ext}"));
        let (ok, _, err) = node.run(&["export", "--format", format, "--output", s(&file)]);
        assert!(ok, "{err}");
        let (ok, out, err) = ccis(&["verify", "--key", &key, s(&file)]);
        assert!(ok, "{format}: {out}{err}");
        assert!(out.contains("3 verified, 0 failed"), "{format}: {out}");
        assert!(
            out.contains("records/guide v2") && out.contains("records/howto v2"),
            "{out}"
        );
    }
    // A single record as JSON-LD, then tampered: verification fails.
    let one = node.dir.parent().unwrap().join("one.jsonld");
    let (ok, _, err) = node.run(&[
        "export",
        "--format",
        "jsonld",
        "--output",
        s(&one),
        &format!("{BASE}/records/guide"),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&one).unwrap();
    assert!(
        text.contains("\"proof\"") && text.contains("eddsa-rdfc-2022"),
        "{text}"
    );
    let tampered = node.write(
        "tampered.jsonld",
        &text.replace("A better guide.", "A forged guide."),
    );
    let (ok, out, _) = ccis(&["verify", "--key", &key, s(&tampered)]);
    assert!(
        !ok && out.contains("FAILED") && out.contains("signature does not verify"),
        "{out}"
    );
    let other_key = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    let (ok, out, _) = ccis(&["verify", "--key", other_key, s(&one)]);
    assert!(!ok && out.contains("not by the given key"), "{out}");

    // Query as JSON and as a table.
    let (ok, out, err) = node.run(&[
        "query",
        "--format",
        "json",
        "SELECT ?t WHERE { ?r <http://purl.org/dc/terms/title> ?t FILTER(lang(?t) = 'en') }",
    ]);
    assert!(ok && out.contains("\"Guide\""), "{out}{err}");
    let (ok, out, _) = node.run(&["query", "ASK { ?r a <https://w3id.org/ccis/ns#Withdrawn> }"]);
    assert!(ok && out.trim() == "true", "{out}");
}

#[test]
fn bad_input_is_refused_with_its_location_and_stores_nothing() {
    let node = TestNode::new();
    let guide = node.write("guide.ttl", GUIDE);
    assert!(node.run(&["publish", s(&guide)]).0);
    assert_eq!(node.record_count(), 1);

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "broken.ttl",
            GUIDE.replace("\"Un guide.\"@fr", "\"Un guide.@fr"),
            "broken.ttl:",
        ),
        (
            "no-title.ttl",
            GUIDE.replace("dct:title \"Guide\"@fr , \"Guide\"@en ;", ""),
            "dct:title is required",
        ),
        (
            "two-titles.ttl",
            GUIDE.replace("\"Guide\"@en", "\"Guide\"@en , \"Handbook\"@en"),
            "two or more values are tagged @en",
        ),
        (
            "bad-country.ttl",
            GUIDE.replace("country:FRA", "country:USA"),
            "the 27 allowed values are the concepts of the scheme <http://publications.europa.eu/resource/authority/country>",
        ),
        (
            "untagged.ttl",
            GUIDE.replace("\"A guide.\"@en", "\"A guide.\""),
            "dct:description",
        ),
        (
            "bad-type.ttl",
            GUIDE.replace("ccis:tool-type-guide", "ccis:theme-housing"),
            "ccis:toolType = ccis:theme-housing: a tool needs a ccis:toolType from ccis:ToolTypes; allowed values: ccis:tool-type-case-study",
        ),
        (
            "foreign.ttl",
            format!("{GUIDE}<https://elsewhere.example/records/x> a ccis:Tool .\n"),
            "elsewhere.example/records/x",
        ),
        (
            "unknown.jsonld",
            format!(
                r#"{{"@context": "https://w3id.org/ccis/context.jsonld", "id": "{BASE}/records/x", "type": "Tool", "titel": "T"}}"#
            ),
            "\"titel\"",
        ),
        (
            "remote.jsonld",
            format!(
                r#"{{"@context": "https://example.org/context.jsonld", "id": "{BASE}/records/x"}}"#
            ),
            "not one of the pinned contexts",
        ),
    ];
    for (name, text, expected) in cases {
        let file = node.write(name, &text);
        let (ok, _, err) = node.run(&["publish", s(&file)]);
        assert!(!ok, "{name} must be refused");
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in:\n{err}"
        );
        assert_eq!(node.record_count(), 1, "{name}: nothing stored");
    }
    let (_, out, _) = node.run(&["publish", s(&guide)]);
    assert!(
        out.contains("unchanged") && out.contains("v1"),
        "stored record untouched: {out}"
    );

    // One publish is one transaction: a good new record is not stored beside a bad one.
    let good = node.write(
        "other.ttl",
        &GUIDE.replace("records/guide", "records/other"),
    );
    let bad = node.write(
        "bad.ttl",
        &GUIDE
            .replace("records/guide", "records/bad")
            .replace("country:FRA", "country:USA"),
    );
    let (ok, _, err) = node.run(&["publish", s(&good), s(&bad)]);
    assert!(
        !ok && err.contains("nothing was stored") && err.contains("records/bad"),
        "{err}"
    );
    assert_eq!(node.record_count(), 1);
    // Broken Turtle names the line and column.
    let file = node.write("broken2.ttl", "@prefix dct: <http://purl.org/dc/terms/> .\n<records/a> dct:title \"x\" ;\n  dct:title .\n");
    let (_, _, err) = node.run(&["publish", s(&file)]);
    assert!(err.contains("broken2.ttl:3:"), "{err}");

    // A 50 MB file is refused before parsing.
    let big = node.dir.parent().unwrap().join("big.ttl");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    let (ok, _, err) = node.run(&["publish", s(&big)]);
    assert!(!ok && err.contains("over the limit"), "{err}");

    // A record with 100 blank nodes (of 16 allowed) is refused.
    let mut many = GUIDE.to_owned();
    many.push_str("<records/guide> <https://schema.org/hasPart> ");
    many.push_str(
        &(0..100)
            .map(|i| format!("[ <https://schema.org/position> {i} ]"))
            .collect::<Vec<_>>()
            .join(" , "),
    );
    many.push_str(" .\n");
    let file = node.write("blank.ttl", &many);
    let (ok, _, err) = node.run(&["publish", s(&file)]);
    assert!(!ok && err.contains("blank nodes"), "{err}");
    assert_eq!(node.record_count(), 1);
}

#[test]
fn secret_key_readable_by_others_is_refused() {
    let node = TestNode::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = node.dir.join("secret.key");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = node.run(&["status"]);
        assert!(!ok && err.contains("readable by group or others"), "{err}");
    }
}

#[test]
fn sample_records_publish_and_verify_against_peers_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out, err) = ccis(&[
        "demo",
        "--offline",
        "--dir",
        s(&tmp.path().join("fed")),
        "--repo",
        s(&repo()),
    ]);
    assert!(ok, "{out}{err}");
    let exports = tmp.path().join("fed/exports");
    let files: Vec<String> = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert_eq!(files.len(), 10, "TriG and JSON-LD for five nodes");
    let mut args = vec!["verify", "--peers", "peers.toml"];
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = common::ccis_in(&repo(), &args);
    assert!(ok, "{out}{err}");
    let verified: usize = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        verified >= 80,
        "every sample record verifies in both exports: {verified}"
    );
    // A record signed by one node does not verify as another's.
    let fr = std::fs::read_to_string(exports.join("fr-avise.trig")).unwrap();
    let forged = fr.replace(
        "http://127.0.0.1:8401/records/pins",
        "http://127.0.0.1:8402/records/pins",
    );
    let path = tmp.path().join("forged.trig");
    std::fs::write(&path, forged).unwrap();
    let (ok, out, _) = common::ccis_in(&repo(), &["verify", "--peers", "peers.toml", s(&path)]);
    assert!(!ok && out.contains("FAILED"), "{out}");
}

/// The nodes of the sample federation, in the order of [`EXAMPLE_ANSWERS`].
const SAMPLE_NODES: [&str; 5] = ["fr-avise", "es-uafse", "se-fsis", "lv-sif", "eu-eccsi"];

/// What each example query answers on each node of the offline sample
/// federation (every node holds only the records it published): rows per
/// node, and for the queries that count, the sum of the count column over
/// the federation. Counting a proof graph, a feed entry or the vocabulary as
/// a record changes these.
const EXAMPLE_ANSWERS: &[(&str, [usize; 5], Option<u64>)] = &[
    // The six Latvian records, each with its Latvian title and ccis class.
    ("available-in-latvian.rq", [0, 0, 0, 6, 0], None),
    // The seven initiatives of the samples, one stage each.
    ("initiatives-by-stage.rq", [4, 1, 1, 1, 0], None),
    ("programmes-for-funders.rq", [1, 0, 0, 0, 1], None),
    // 43 records: per node, current and withdrawn.
    ("records-by-origin-node.rq", [2, 1, 1, 1, 1], Some(43)),
    // (theme, stage) pairs over the records that have both.
    ("themes-covered-per-stage.rq", [16, 10, 7, 8, 3], Some(82)),
    // (country, theme) pairs over the 14 tools; the EU node's tools cover
    // every member state.
    ("tools-by-country-and-theme.rq", [3, 3, 2, 1, 54], Some(99)),
    ("validated-initiatives.rq", [1, 0, 0, 0, 0], None),
    // The record the demo withdraws.
    ("withdrawn-records.rq", [1, 0, 0, 0, 0], None),
];

#[test]
fn example_queries_run_and_answer_on_the_sample_federation() {
    let tmp = tempfile::tempdir().unwrap();
    let fed = tmp.path().join("fed");
    let (ok, out, err) = ccis(&["demo", "--offline", "--dir", s(&fed), "--repo", s(&repo())]);
    assert!(ok, "{out}{err}");
    let mut queries: Vec<String> = std::fs::read_dir(repo().join("examples/queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    queries.sort();
    let answered: Vec<&str> = EXAMPLE_ANSWERS.iter().map(|(q, ..)| *q).collect();
    assert_eq!(
        queries, answered,
        "every example query has its expected answer"
    );
    for (query, expected_rows, expected_sum) in EXAMPLE_ANSWERS {
        let path = repo().join("examples/queries").join(query);
        let mut rows = [0; 5];
        let mut sum = 0;
        for (n, node) in SAMPLE_NODES.iter().enumerate() {
            let (ok, out, err) = ccis(&[
                "query",
                "--dir",
                s(&fed.join(node)),
                "--format",
                "csv",
                &format!("@{}", path.display()),
            ]);
            assert!(ok, "{query}: {err}");
            for line in out.lines().skip(1).filter(|l| !l.is_empty()) {
                rows[n] += 1;
                if expected_sum.is_some() {
                    let count = line.rsplit(',').next().unwrap();
                    sum += count
                        .parse::<u64>()
                        .unwrap_or_else(|_| panic!("{query}: {line}"));
                }
            }
        }
        assert_eq!(&rows, expected_rows, "{query}: rows per node");
        if let Some(expected) = expected_sum {
            assert_eq!(sum, *expected, "{query}: counted");
        }
    }
    // Records by origin node, against the sample files: each node's own,
    // and the decision the demo signs.
    for (node, dir) in SAMPLE_NODES.iter().zip(["fr", "es", "se", "lv", "eu"]) {
        let decisions = u64::from(*node == ccis::demo::SAMPLE_DECISION.0);
        let files = std::fs::read_dir(repo().join("examples/records").join(dir))
            .unwrap()
            .count() as u64
            + decisions;
        let (ok, out, err) = ccis(&[
            "query",
            "--dir",
            s(&fed.join(node)),
            "--format",
            "csv",
            "@examples/queries/records-by-origin-node.rq",
        ]);
        assert!(ok, "{err}");
        let counted: u64 = out
            .lines()
            .skip(1)
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                assert!(cells[0].ends_with("/node"), "origin is the node IRI: {l}");
                assert_eq!(cells[1], *node, "origin id: {l}");
                cells[3].parse::<u64>().unwrap()
            })
            .sum();
        assert_eq!(counted, files, "{node}: one record per sample file");
    }
}

#[test]
fn demo_runs_the_five_node_federation_to_convergence() {
    let tmp = tempfile::tempdir().unwrap();
    let fed = tmp.path().join("fed");
    let (ok, out, err) = ccis(&["demo", "--exit", "--dir", s(&fed), "--repo", s(&repo())]);
    assert!(ok, "{out}{err}");
    // The demo prints tables and URLs; request and round logs need RUST_LOG.
    assert!(
        !err.contains("INFO") && !out.contains("INFO"),
        "no log stream without RUST_LOG:\n{err}"
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            ["fr-avise ", "es-uafse ", "se-fsis ", "lv-sif ", "eu-eccsi "]
                .iter()
                .any(|n| l.starts_with(n))
        })
        .filter(|l| l.contains("http://127.0.0.1:"))
        .collect();
    assert_eq!(rows.len(), 5, "{out}");
    for row in rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        // node, fr, es, se, lv, eu, total, refused, URL
        assert_eq!(cells[6], "43", "every node holds every record: {row}");
        assert_eq!(cells[7], "0", "nothing refused among honest nodes: {row}");
    }
    // Each node's store says the same after the demo stopped.
    for node in ["fr-avise", "eu-eccsi"] {
        let (ok, out, err) = ccis(&["status", "--dir", s(&fed.join(node))]);
        assert!(ok, "{err}");
        assert!(out.contains("records   43"), "{out}");
    }
}

#[test]
fn shape_violations_are_worded_in_the_operators_language() {
    let node = TestNode::new();
    let config = node.dir.join("ccis.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen("\nbase_url", "\nlanguage = \"fr\"\nbase_url", 1);
    std::fs::write(&config, text).unwrap();
    let bad = node.write("bad.ttl", &GUIDE.replace("country:FRA", "country:USA"));
    let (ok, out, err) = node.run(&["publish", s(&bad)]);
    assert!(!ok, "{out}{err}");
    // French message of the shape, with where the allowed values are listed.
    assert!(err.contains("doit nommer au moins un État membre"), "{err}");
    assert!(
        err.contains("<http://publications.europa.eu/resource/authority/country>"),
        "{err}"
    );
    assert_eq!(node.record_count(), 0);
}
