//! The validation workflow across real nodes on loopback: a French national
//! node validates its initiative, the European node harvests both and
//! validates at EU level, the French node harvests that back; an edit makes
//! the decisions about an older version; changes requested then resubmitted;
//! rejection; a transnational initiative validated at the European node
//! only; four eyes; and decisions forged, misplaced or replayed, refused at
//! harvest by rule 4.

mod common;

use ccis::checklist::Texts;
use ccis::decision::{Assessment, CriterionOutcome, Decision, UsedVersion};
use ccis::workflow::{Outcome, Role};
use common::FedNode;
use common::workflow::{SIM, decide, harvest_from, initiative, initiative_on};
use oxrdf::NamedNode;
use serde_json::json;

async fn publish_ttl(n: &FedNode, ttl: String) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/records", n.url))
        .bearer_auth(&n.token)
        .header("content-type", "text/turtle")
        .body(ttl)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(
        status == 201 || status == 200,
        "{status}: {}",
        r.text().await.unwrap()
    );
}

/// The HTML page of a record on a node, in English.
async fn page_on(n: &FedNode, iri: &str) -> String {
    let own = format!("{}/records/", n.url);
    let url = match iri.strip_prefix(&own) {
        Some(slug) => format!("{own}{slug}?lang=en"),
        None => format!("{}/catalogue/record?lang=en&iri={iri}", n.url),
    };
    let r = reqwest::Client::new()
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

async fn state_on(n: &FedNode, iri: &str) -> String {
    initiative_on(n, iri).await["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A French national node (`fr`, FR), a Spanish one (`es`, ES) and the
/// European node (`eu`, LT), all trusting each other; `fr` publishes
/// `zero-unemployment` (national level) as operator alice.
async fn federation() -> (tempfile::TempDir, Vec<FedNode>, String) {
    let (tmp, nodes) = common::federation_in(
        &[
            ("fr", "national", "FR"),
            ("es", "national", "ES"),
            ("eu", "european", "LT"),
        ],
        "",
        |id, node| {
            if id == "fr" {
                let file = node.dir.root.join("initiative.ttl");
                std::fs::write(
                    &file,
                    initiative(
                        "zero-unemployment",
                        "Zero long-term unemployment territories",
                        "national",
                    ),
                )
                .unwrap();
                let records = node.read_records(&[file], None).unwrap();
                let published = node.publish(records).unwrap();
                node.audit("alice", "publish", &published).unwrap();
            }
        },
    )
    .await;
    let iri = format!("{}/records/zero-unemployment", nodes[0].url);
    (tmp, nodes, iri)
}

#[tokio::test(flavor = "multi_thread")]
async fn national_then_eu_validation_across_nodes_and_an_edit_makes_it_outdated() {
    let (_tmp, nodes, iri) = federation().await;
    let (fr, es, eu) = (&nodes[0], &nodes[1], &nodes[2]);
    assert_eq!(state_on(fr, &iri).await, "submitted");

    // Four eyes: alice published it, so she cannot decide on it.
    let (status, problem) = decide(fr, &iri, "validated", "alice").await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("four eyes"),
        "{problem}"
    );
    // The European node cannot decide before the national one.
    harvest_from(eu, "fr").await;
    let (status, problem) = decide(eu, &iri, "validated", "carol").await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["state"], "submitted", "{problem}");
    assert!(
        problem["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("start national review")),
        "{problem}"
    );
    // Another country's national node is not its validator.
    harvest_from(es, "fr").await;
    let (status, problem) = decide(es, &iri, "validated", "dolores").await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("of FR"),
        "{problem}"
    );

    // bob validates nationally.
    let (status, body) = decide(fr, &iri, "validated", "bob").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "nationally-validated");
    let national = body["decision"].as_str().unwrap().to_owned();
    // The decision is a signed record in the feed like every record, and
    // names the exact version it judged.
    let held = fr
        .store
        .get(&NamedNode::new(&national).unwrap())
        .unwrap()
        .expect("the decision is stored");
    let decision = Decision::from_record(&held.record).unwrap();
    assert_eq!(decision.used.version, 1);
    assert_eq!(decision.role, Role::National);
    assert_eq!(decision.assessments.len(), 4);
    let digest = initiative_on(fr, &iri).await["digest"].clone();
    assert_eq!(json!(decision.used.digest), digest);

    // The European node harvests the decision and computes the same state.
    let report = harvest_from(eu, "fr").await;
    assert_eq!(report.refused_total(), 0, "{report:?}");
    assert_eq!(state_on(eu, &iri).await, "nationally-validated");
    let (status, body) = decide(eu, &iri, "validated", "carol").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "published");
    // And it cannot decide twice on the same version.
    let (status, _) = decide(eu, &iri, "rejected", "carol").await;
    assert_eq!(status, 409);

    // The French node harvests the EU decision back: the same state.
    let report = harvest_from(fr, "eu").await;
    assert_eq!(report.refused_total(), 0, "{report:?}");
    assert_eq!(state_on(fr, &iri).await, "published");
    assert_eq!(state_on(es, &iri).await, "submitted");
    harvest_from(es, "eu").await;
    assert_eq!(state_on(es, &iri).await, "published");
    // The initiative's page says so, on its origin and where it was harvested.
    for n in [fr, es] {
        let page = page_on(n, &iri).await;
        assert!(
            page.contains("Validation for the European Social Innovation database")
                && page.contains("State: published (version 1)")
                && page.contains("national validator: validated, version 1")
                && page.contains("European validator: validated, version 1")
                && !page.contains("about an older version"),
            "{page}"
        );
    }

    // An edit after validation: the decisions are about an older version.
    publish_ttl(
        fr,
        initiative(
            "zero-unemployment",
            "Zero long-term unemployment territories (2027)",
            "national",
        ),
    )
    .await;
    let now = initiative_on(fr, &iri).await;
    assert_eq!(now["state"], "submitted", "{now}");
    assert_eq!(now["version"], 2);
    let statuses: Vec<&str> = now["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["about-older-version"; 2], "{now}");
    let page = page_on(fr, &iri).await;
    assert!(
        page.contains("State: submitted (version 2)")
            && page.matches("about an older version").count() == 2,
        "{page}"
    );
    harvest_from(eu, "fr").await;
    assert_eq!(state_on(eu, &iri).await, "submitted");

    // Changes requested, then a new version goes back to review.
    let (status, body) = decide(fr, &iri, "changes-requested", "bob").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "changes-requested");
    let (status, _) = decide(fr, &iri, "validated", "bob").await;
    assert_eq!(
        status, 409,
        "a new version is needed after changes requested"
    );
    publish_ttl(
        fr,
        initiative(
            "zero-unemployment",
            "Zero long-term unemployment territories (revised)",
            "national",
        ),
    )
    .await;
    assert_eq!(state_on(fr, &iri).await, "submitted");
    let (status, body) = decide(fr, &iri, "validated", "bob").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "nationally-validated");
    assert_eq!(body["initiative"]["version"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn transnational_initiatives_go_to_the_european_node_and_rejection_ends_a_review() {
    let (_tmp, nodes, iri) = federation().await;
    let (fr, eu) = (&nodes[0], &nodes[2]);
    // A transnational initiative, proposed at the European node.
    publish_ttl(
        eu,
        initiative(
            "mentoring-across-borders",
            "Mentoring across borders",
            "transnational",
        ),
    )
    .await;
    let trans = format!("{}/records/mentoring-across-borders", eu.url);
    assert_eq!(state_on(eu, &trans).await, "submitted");
    let (status, body) = decide(eu, &trans, "validated", "carol").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "published");
    let report = harvest_from(fr, "eu").await;
    assert_eq!(report.refused_total(), 0, "{report:?}");
    assert_eq!(state_on(fr, &trans).await, "published");

    // Rejection at national level ends the review of that version.
    let (status, body) = decide(fr, &iri, "rejected", "bob").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["initiative"]["state"], "rejected");
    harvest_from(eu, "fr").await;
    assert_eq!(state_on(eu, &iri).await, "rejected");
    let (status, problem) = decide(eu, &iri, "validated", "carol").await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["state"], "rejected");
}

/// A decision record of `by` about `initiative`, bypassing the workflow's
/// checks (as a faulty or hostile node would), as N-Triples for `/api/records`.
fn raw_decision(
    by: &FedNode,
    slug: &str,
    initiative: &str,
    version: u64,
    digest: &str,
    role: Role,
) -> String {
    let criteria = SIM.map(|c| Assessment {
        criterion: NamedNode::new(format!("https://w3id.org/ccis/checklists/sim#{c}")).unwrap(),
        outcome: CriterionOutcome::Passed,
        comment: Texts::new(),
    });
    let decision = Decision {
        iri: NamedNode::new(format!("{}/records/{slug}", by.url)).unwrap(),
        used: UsedVersion {
            initiative: NamedNode::new(initiative).unwrap(),
            version,
            digest: digest.to_owned(),
        },
        validator: NamedNode::new(format!("{}/node", by.url)).unwrap(),
        role,
        checklist: NamedNode::new(ccis::checklist::SIM).unwrap(),
        assessments: criteria.to_vec(),
        outcome: Outcome::Validated,
        rationale: Texts::from([("en".to_owned(), "Looks fine.".to_owned())]),
        ended_at: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap(),
    };
    let mut out = String::new();
    for t in &decision.to_record().triples {
        out.push_str(&format!("{t} .\n"));
    }
    out
}

async fn publish_nt(n: &FedNode, nt: String) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/records", n.url))
        .bearer_auth(&n.token)
        .header("content-type", "application/n-triples")
        .body(nt)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(status, 201, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_misplaced_and_replayed_decisions_are_refused_at_harvest_by_rule_4() {
    let (_tmp, nodes, iri) = federation().await;
    let (fr, es, eu) = (&nodes[0], &nodes[1], &nodes[2]);
    // fr also holds a second initiative.
    publish_ttl(
        fr,
        initiative("second-initiative", "A second initiative", "local"),
    )
    .await;
    let second = format!("{}/records/second-initiative", fr.url);
    let digest = initiative_on(fr, &iri).await["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // Both national nodes and the European node hold both initiatives.
    harvest_from(es, "fr").await;
    harvest_from(eu, "fr").await;

    // A national decision signed by the Spanish node about a French initiative.
    publish_nt(
        es,
        raw_decision(es, "es-decides-for-fr", &iri, 1, &digest, Role::National),
    )
    .await;
    // A French decision whose digest is not that of the version judged.
    let wrong = ccis::decision::digest_multibase(&[7u8; 32]);
    publish_nt(
        fr,
        raw_decision(fr, "wrong-digest", &iri, 1, &wrong, Role::National),
    )
    .await;
    // A decision about the first initiative replayed onto the second: the
    // second's IRI with the first's digest.
    publish_nt(
        fr,
        raw_decision(fr, "replayed", &second, 1, &digest, Role::National),
    )
    .await;
    // A decision about a version that never was.
    publish_nt(
        fr,
        raw_decision(fr, "future-version", &iri, 7, &digest, Role::National),
    )
    .await;
    // An EU-level decision signed by a national node.
    publish_nt(
        fr,
        raw_decision(fr, "national-as-eu", &iri, 1, &digest, Role::European),
    )
    .await;
    // An EU-level decision by the European node without a national one.
    publish_nt(
        eu,
        raw_decision(eu, "eu-alone", &iri, 1, &digest, Role::European),
    )
    .await;

    let report = harvest_from(eu, "es").await;
    assert_eq!(
        report.refused.get("4-decision-signer"),
        Some(&1),
        "{report:?}"
    );
    let report = harvest_from(eu, "fr").await;
    assert_eq!(
        report.refused.get("4-decision-version"),
        Some(&3),
        "{report:?}"
    );
    assert_eq!(
        report.refused.get("4-decision-signer"),
        Some(&1),
        "{report:?}"
    );
    let report = harvest_from(fr, "eu").await;
    assert_eq!(
        report.refused.get("4-decision-workflow"),
        Some(&1),
        "{report:?}"
    );
    // None of them is stored where it was refused, and the state holds.
    for (node, slug, origin) in [
        (eu, "es-decides-for-fr", es),
        (eu, "wrong-digest", fr),
        (eu, "replayed", fr),
        (eu, "future-version", fr),
        (eu, "national-as-eu", fr),
        (fr, "eu-alone", eu),
    ] {
        let iri = NamedNode::new(format!("{}/records/{slug}", origin.url)).unwrap();
        assert!(
            node.store.get(&iri).unwrap().is_none(),
            "{} stored {slug}",
            node.id
        );
    }
    assert_eq!(state_on(eu, &iri).await, "submitted");
    assert_eq!(state_on(fr, &iri).await, "submitted");
    // The refusals are logged with the decision named.
    let log = std::fs::read_to_string(eu.dir.join("refused.jsonl")).unwrap();
    assert!(
        log.contains("es-decides-for-fr") && log.contains("4-decision-signer"),
        "{log}"
    );
}
