//! `ccis review list | show | decide` and `ccis publish --operator` through
//! the binary: the queue, four eyes, a checklist left incomplete, a decision
//! signed and the state it leads to, and a European node's role.

mod common;

use common::{ccis, init_node};

const INITIATIVE: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/bottle-deposit> a ccis:Initiative ;
    dct:title "Bottle deposit in the Jura"@en ;
    dct:description "Reusable glass bottles collected by local shops."@en ;
    dct:language lang:ENG ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-ecological-transition ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-consolidation ;
    ccis:levelOfAction ccis:level-regional ;
    ccis:problemAddressed "Single-use glass."@en ;
    ccis:approach "A deposit run by a cooperative of shops."@en ;
    ccis:keyResults "Bottles reused eight times on average."@en ;
    ccis:scalingPotential "Any region with a bottling industry."@en ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;

const ALL_PASSED: [&str; 8] = [
    "--assess",
    "problem-scope=passed",
    "--assess",
    "approach-methodology=passed:clear method",
    "--assess",
    "results-benefits=cant-tell",
    "--assess",
    "scaling-transfer=passed",
];

/// `ccis review decide` of `iri` on the node in `dir`, validated, by `operator`.
fn decide(dir: &str, iri: &str, operator: &str, assess: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "review",
        "decide",
        "--dir",
        dir,
        iri,
        "--outcome",
        "validated",
        "--rationale",
        "Meets the criteria.",
        "--operator",
        operator,
    ];
    args.extend_from_slice(assess);
    ccis(&args)
}

#[test]
fn review_queue_four_eyes_checklist_and_a_signed_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fr");
    let d = dir.to_str().unwrap();
    init_node(&dir, "fr-test", "FR", "https://fr.example.org", &[]);
    let file = tmp.path().join("initiative.ttl");
    std::fs::write(&file, INITIATIVE).unwrap();
    let (ok, _, err) = ccis(&[
        "publish",
        "--dir",
        d,
        "--operator",
        "alice",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let iri = "https://fr.example.org/records/bottle-deposit";

    let (ok, out, err) = ccis(&["review", "list", "--dir", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains("submitted") && out.contains(iri) && out.contains("regional"),
        "{out}"
    );

    let by = |operator: &str, assess: &[&str]| decide(d, iri, operator, assess);
    let (ok, _, err) = by("alice", &ALL_PASSED);
    assert!(
        !ok && err.contains("four eyes") && err.contains("alice"),
        "{err}"
    );
    let (ok, _, err) = by("bob", &ALL_PASSED[..6]);
    assert!(
        !ok && err.contains("not assessed: scaling-transfer"),
        "{err}"
    );
    let (ok, out, err) = by("bob", &ALL_PASSED);
    assert!(ok, "{err}");
    assert!(
        out.contains(
            "state of <https://fr.example.org/records/bottle-deposit>: nationally-validated"
        ),
        "{out}"
    );

    let (ok, out, err) = ccis(&["review", "show", "--dir", d, iri]);
    assert!(ok, "{err}");
    assert!(
        out.contains("state:   nationally-validated")
            && out.contains("national-validator validated")
            && out.contains(": applies"),
        "{out}"
    );
    // No longer in the national queue; still in the full list.
    let (_, out, _) = ccis(&["review", "list", "--dir", d]);
    assert!(out.contains("no initiative awaits"), "{out}");
    let (_, out, _) = ccis(&["review", "list", "--dir", d, "--all"]);
    assert!(out.contains("nationally-validated"), "{out}");
    // The audit log holds who did what.
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"operator\":\"alice\",\"action\":\"publish\"")
            && audit.contains("\"operator\":\"bob\",\"action\":\"decide\""),
        "{audit}"
    );
    // A second national decision on the same version is refused with the state.
    let (ok, _, err) = by("carol", &ALL_PASSED);
    assert!(
        !ok && err.contains("state nationally-validated") && err.contains("allowed:"),
        "{err}"
    );
}

#[test]
fn a_european_node_decides_at_eu_level_and_not_before_the_national_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("eu");
    let d = dir.to_str().unwrap();
    init_node(
        &dir,
        "eu-test",
        "LT",
        "https://eu.example.org",
        &["--role", "european"],
    );
    let config = std::fs::read_to_string(dir.join("ccis.toml")).unwrap();
    assert!(config.contains("role = \"european\""), "{config}");
    let file = tmp.path().join("initiative.ttl");
    std::fs::write(&file, INITIATIVE).unwrap();
    let (ok, _, err) = ccis(&["publish", "--dir", d, file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let iri = "https://eu.example.org/records/bottle-deposit";
    // A regional initiative waits for its national validation first.
    let (ok, _, err) = decide(d, iri, "carol", &ALL_PASSED);
    assert!(
        !ok && err.contains("EU review") && err.contains("state submitted"),
        "{err}"
    );
}
