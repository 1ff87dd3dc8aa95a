//! The export for the Social Innovation Match across real nodes on loopback:
//! a French national node validates two initiatives, the European node
//! harvests them and validates one (and a transnational one) at EU level;
//! `ccis export --sim` (the real binary) and `GET /api/sim-export` give
//! exactly the initiatives validated at EU level, with their validation
//! chain and its links, as JSON valid against `docs/sim-export.schema.json`
//! and as CSV; a private submission is never in them; and the validation
//! indicators count the decisions.

mod common;

use common::FedNode;
use common::workflow::initiative_on;

/// `POST /api/decisions` validating `iri` with every criterion passed; the decision's IRI.
async fn decide(n: &FedNode, iri: &str, operator: &str) -> String {
    let (status, body) = common::workflow::decide(n, iri, "validated", operator).await;
    assert_eq!(status, 201, "{} deciding on <{iri}>: {body}", n.id);
    body["decision"].as_str().unwrap().to_owned()
}

/// One harvest round of `n` from `peer`, which refuses nothing.
async fn harvest_from(n: &FedNode, peer: &str) {
    let report = common::workflow::harvest_from(n, peer).await;
    assert_eq!(report.refused_total(), 0, "{report:?}");
}
use common::http::header;
use serde_json::{Value, json};

/// What a project holder sends with a submission: never in an export.
const CONTACT_NAME: &str = "Philippa Privatsubmitter";
const CONTACT_EMAIL: &str = "philippa.privatsubmitter@example.org";
const PRIVATE_TITLE: &str = "Unaccepted proposal about night buses";

/// An initiative of the node (`<records/{slug}>`) at a level of action, in
/// English and French, with a lead organisation, a partner, target groups
/// and funding.
fn initiative(slug: &str, title: &str, level: &str) -> String {
    format!(
        r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/{slug}> a ccis:Initiative, schema:Project ;
    dct:title "{title}"@en , "{title} (fr)"@fr ;
    dct:description "An initiative proposed for the European Social Innovation database, with a comma, and \"quotes\"."@en ;
    dct:description "Une initiative proposée pour la base européenne."@fr ;
    dct:language lang:ENG , lang:FRA ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment , ccis:theme-social-inclusion ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-scaling ;
    ccis:levelOfAction ccis:level-{level} ;
    ccis:problemAddressed "Long-term unemployment."@en , "Le chômage de longue durée."@fr ;
    ccis:approach "Jobs created where people live, funded by what unemployment costs."@en ;
    ccis:keyResults "Permanent jobs in ten territories."@en ;
    ccis:scalingPotential "Documented and transferable."@en ;
    ccis:lessonsLearned "Start with the territory's own actors."@en ;
    ccis:funding "FSE+ 2021-2027, priorité 6."@fr ;
    ccis:targetGroup "long-term unemployed people"@en , "people far from work"@en ;
    ccis:leadOrganisation <records/{slug}#lead> ;
    ccis:partner <records/{slug}#partner-1> ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
<records/{slug}#lead> a schema:Organization ; schema:name "Lead association of {slug}" .
<records/{slug}#partner-1> a schema:Organization ; schema:name "Partner of {slug}" .
"#
    )
}

/// `ccis export --sim` of a node directory, run as the real binary.
fn export_cli(n: &FedNode, extra: &[&str]) -> String {
    let mut args = vec!["export", "--sim", "--dir", common::s(&n.dir)];
    args.extend_from_slice(extra);
    let (ok, out, err) = common::ccis(&args);
    assert!(ok, "ccis export --sim on {}: {err}", n.id);
    out
}

/// `GET /api/sim-export{query}` with the node's token (or another
/// `Authorization`, or none).
async fn export_http(n: &FedNode, query: &str, auth: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/api/sim-export{query}", n.url));
    if let Some(a) = auth {
        request = request.header("authorization", a);
    }
    request.send().await.unwrap()
}

/// What is wrong with `instance` by `docs/sim-export.schema.json` (draft
/// 2020-12, formats asserted), if anything.
fn schema_errors(instance: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("docs/sim-export.schema.json")).unwrap(),
    )
    .unwrap();
    let id = schema["$id"].as_str().unwrap().to_owned();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&id, schema).unwrap();
    let compiled = compiler.compile(&id, &mut schemas).unwrap();
    schemas
        .validate(instance, compiled)
        .map_err(|e| format!("{e:#}"))
}

/// Fails the test unless `instance` follows the schema.
fn check_schema(instance: &Value) {
    if let Err(e) = schema_errors(instance) {
        panic!("the export does not follow the schema: {e}\n{instance:#}");
    }
}

/// The CSV export as (header, rows).
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|row| row.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// A figure of `/api/indicators`: its total and rows as (key, count, median).
fn figure(indicators: &Value, name: &str) -> (u64, Vec<(String, u64, Option<f64>)>) {
    let f = indicators["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no figure {name} in {indicators}"));
    let rows = f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
                r["median_days"].as_f64(),
            )
        })
        .collect();
    (f["total"].as_u64().unwrap(), rows)
}

#[test]
fn the_sim_options_of_export_are_checked() {
    let (ok, _, err) = common::ccis(&[
        "export",
        "--sim",
        "--dir",
        "/nonexistent",
        "https://example.org/records/x",
    ]);
    assert!(!ok && err.contains("--sim"), "{err}");
    let (ok, _, err) = common::ccis(&["export", "--format", "csv", "--dir", "/nonexistent"]);
    assert!(!ok && err.contains("--sim"), "{err}");
    let (ok, _, err) = common::ccis(&[
        "export",
        "--sim",
        "--format",
        "trig",
        "--dir",
        "/nonexistent",
    ]);
    assert!(!ok && err.contains("json or csv"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn initiatives_validated_at_eu_level_are_exported_with_their_validation_chain() {
    let (_tmp, nodes) = common::federation_in(
        &[("fr", "national", "FR"), ("eu", "european", "LT")],
        "",
        |id, node| {
            if id != "fr" {
                return;
            }
            let mut files = Vec::new();
            for (slug, title, level) in [
                (
                    "zero-unemployment",
                    "Zero long-term unemployment",
                    "national",
                ),
                ("repair-cafes", "Repair cafés", "local"),
                ("cross-border-jobs", "Cross-border jobs", "transnational"),
            ] {
                let file = node.dir.root.join(format!("{slug}.ttl"));
                std::fs::write(&file, initiative(slug, title, level)).unwrap();
                files.push(file);
            }
            let published = node
                .publish(node.read_records(&files, None).unwrap())
                .unwrap();
            node.audit("alice", "publish", &published).unwrap();
        },
    )
    .await;
    let (fr, eu) = (&nodes[0], &nodes[1]);
    let iri = |slug: &str| format!("{}/records/{slug}", fr.url);
    let (zero, repair, cross) = (
        iri("zero-unemployment"),
        iri("repair-cafes"),
        iri("cross-border-jobs"),
    );

    // A project holder proposes an initiative to the French node: it stays
    // a private file with the contact, never in the store.
    let r = reqwest::Client::new()
        .post(format!("{}/api/submissions", fr.url))
        .json(&json!({
            "language": "en", "title": PRIVATE_TITLE, "description": "Night buses.",
            "problem_addressed": "No bus at night.", "approach": "Shared night buses.",
            "key_results": "None yet.", "scaling_potential": "Any town.",
            "theme": ["mobility"], "stage": "emergence", "level_of_action": "local",
            "contact_name": CONTACT_NAME, "contact_email": CONTACT_EMAIL,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());

    // Nothing is validated at EU level yet: the export is empty.
    let empty: Value = serde_json::from_str(&export_cli(eu, &[])).unwrap();
    assert_eq!(empty["initiatives"], json!([]), "{empty}");
    check_schema(&empty);

    // National validation of two initiatives at the French node, EU
    // validation of one of them and of the transnational one.
    let zero_national = decide(fr, &zero, "bob").await;
    decide(fr, &repair, "bob").await;
    harvest_from(eu, "fr").await;
    let zero_eu = decide(eu, &zero, "carol").await;
    let cross_eu = decide(eu, &cross, "carol").await;
    harvest_from(fr, "eu").await;
    assert_eq!(initiative_on(eu, &zero).await["state"], "published");
    assert_eq!(initiative_on(eu, &cross).await["state"], "published");
    assert_eq!(
        initiative_on(eu, &repair).await["state"],
        "nationally-validated"
    );
    let digest = initiative_on(eu, &zero).await["digest"].clone();

    // `ccis export --sim`: exactly the two initiatives validated at EU
    // level, by IRI; the one only validated nationally is not there.
    let text = export_cli(eu, &[]);
    let export: Value = serde_json::from_str(&text).unwrap();
    check_schema(&export);
    assert_eq!(export["format"], "ccis-sim-export/1");
    assert_eq!(export["node"], "eu");
    assert_eq!(export["node_iri"], format!("{}/node", eu.url));
    let listed: Vec<&str> = export["initiatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["iri"].as_str().unwrap())
        .collect();
    let mut expected = vec![zero.as_str(), cross.as_str()];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert!(!text.contains(&repair));

    let i = export["initiatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["iri"] == zero)
        .unwrap();
    assert_eq!(i["origin"], "fr");
    assert_eq!(i["country"], "FR");
    assert_eq!(i["version"], 1);
    assert_eq!(i["digest"], digest);
    assert_eq!(i["title"]["en"], "Zero long-term unemployment");
    assert_eq!(i["title"]["fr"], "Zero long-term unemployment (fr)");
    assert_eq!(i["problem_addressed"]["fr"], "Le chômage de longue durée.");
    assert_eq!(
        i["target_group"]["en"],
        "long-term unemployed people; people far from work"
    );
    assert_eq!(i["funding"], json!({ "fr": "FSE+ 2021-2027, priorité 6." }));
    assert_eq!(i["level"]["notation"], "national");
    assert_eq!(i["level"]["iri"], "https://w3id.org/ccis/ns#level-national");
    assert_eq!(i["stage"]["notation"], "scaling");
    assert_eq!(
        i["countries"],
        json!([{ "notation": "FR", "iri": "http://publications.europa.eu/resource/authority/country/FRA" }])
    );
    let themes: Vec<&str> = i["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["notation"].as_str().unwrap())
        .collect();
    assert_eq!(themes, ["employment", "social-inclusion"]);
    assert_eq!(
        i["lead_organisation"],
        json!({ "iri": format!("{zero}#lead"), "name": "Lead association of zero-unemployment" })
    );
    assert_eq!(
        i["partners"][0]["name"], "Partner of zero-unemployment",
        "{i}"
    );

    // The validation chain: each decision named by its signed record, its
    // validator node, the version and digest it judged, its date and outcome.
    let chain = &i["validation"];
    for (level, decision, node) in [("national", &zero_national, fr), ("eu", &zero_eu, eu)] {
        let d = &chain[level];
        assert_eq!(d["decision"], json!(decision), "{level}: {d}");
        assert_eq!(d["validator"], format!("{}/node", node.url), "{level}");
        assert_eq!(d["validator_id"], node.id, "{level}");
        assert_eq!(d["version"], 1, "{level}");
        assert_eq!(d["digest"], digest, "{level}");
        assert_eq!(d["outcome"], "validated", "{level}");
        assert!(d["date"].as_str().unwrap().len() >= 20, "{level}: {d}");
        // The link is the signed decision, served by the validator's node.
        let r = reqwest::Client::new()
            .get(decision)
            .header("accept", "application/n-quads")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{decision}");
        let nquads = r.text().await.unwrap();
        assert!(
            nquads.contains("https://w3id.org/security#proofValue")
                && nquads.contains(&zero)
                && nquads.contains(digest.as_str().unwrap()),
            "{nquads}"
        );
    }
    // The schema is strict enough to notice a broken chain or a date that is none.
    let mut broken = export.clone();
    broken["initiatives"][0]["validation"]["eu"]["outcome"] = json!("rejected");
    assert!(schema_errors(&broken).is_err());
    let mut broken = export.clone();
    broken["initiatives"][0]["validation"]["eu"]["date"] = json!("yesterday");
    assert!(schema_errors(&broken).is_err());
    let mut broken = export.clone();
    broken["initiatives"][0]["title"] = json!({ "en": "" });
    assert!(schema_errors(&broken).is_err());

    let transnational = export["initiatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["iri"] == cross)
        .unwrap();
    assert_eq!(transnational["validation"]["national"], Value::Null);
    assert_eq!(
        transnational["validation"]["eu"]["decision"],
        json!(cross_eu)
    );

    // The same export over HTTP, only with the operator token.
    for auth in [None, Some("Bearer not-the-token".to_owned())] {
        let r = export_http(eu, "", auth.as_deref()).await;
        assert_eq!(r.status().as_u16(), 401, "{auth:?}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&zero), "{body}");
    }
    let bearer = format!("Bearer {}", eu.token);
    let r = export_http(eu, "", Some(&bearer)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(header(&r, "content-type").starts_with("application/json"));
    let over_http: Value = r.json().await.unwrap();
    check_schema(&over_http);
    assert_eq!(over_http["initiatives"], export["initiatives"]);
    let r = export_http(eu, "?format=xml", Some(&bearer)).await;
    assert_eq!(r.status().as_u16(), 400);

    // The French node holds the same records: it derives the same export.
    let on_fr: Value = serde_json::from_str(&export_cli(fr, &[])).unwrap();
    assert_eq!(on_fr["initiatives"], export["initiatives"]);

    // CSV: the stable header, one row per initiative; the same from the
    // command line (to a file) and over HTTP.
    let file = eu.dir.join("sim.csv");
    let printed = export_cli(eu, &["--format", "csv", "--output", common::s(&file)]);
    assert!(printed.is_empty(), "{printed}");
    let csv_text = std::fs::read_to_string(&file).unwrap();
    let (columns, rows) = parse_csv(&csv_text);
    assert_eq!(columns, ccis::sim_export::csv_header());
    assert_eq!(columns.len(), 257);
    assert_eq!(rows.len(), 2, "{csv_text}");
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let row = rows.iter().find(|r| r[at("iri")] == zero).unwrap();
    assert_eq!(row[at("title_en")], "Zero long-term unemployment");
    assert_eq!(row[at("title_fr")], "Zero long-term unemployment (fr)");
    assert_eq!(row[at("title_es")], "");
    assert_eq!(row[at("title_lt")], "");
    assert_eq!(
        row[at("description_en")],
        "An initiative proposed for the European Social Innovation database, with a comma, and \"quotes\"."
    );
    assert_eq!(row[at("themes")], "employment social-inclusion");
    assert_eq!(row[at("countries")], "FR");
    assert_eq!(row[at("level")], "national");
    assert_eq!(row[at("lead_organisation")], format!("{zero}#lead"));
    assert_eq!(row[at("national_decision")], zero_national);
    assert_eq!(row[at("national_validator_id")], "fr");
    assert_eq!(row[at("eu_decision")], zero_eu);
    assert_eq!(row[at("eu_digest")], digest.as_str().unwrap());
    let row = rows.iter().find(|r| r[at("iri")] == cross).unwrap();
    assert_eq!(row[at("national_decision")], "");
    assert_eq!(row[at("eu_decision")], cross_eu);
    let r = export_http(eu, "?format=csv", Some(&bearer)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(header(&r, "content-type").starts_with("text/csv"));
    assert!(header(&r, "content-disposition").contains("eu-sim-export.csv"));
    assert_eq!(r.text().await.unwrap(), csv_text);
    let r = export_http(eu, "?format=csv", None).await;
    assert_eq!(r.status().as_u16(), 401);

    // Never a private submission nor a submitter's contact.
    for text in [&text, &csv_text, &export_cli(fr, &["--format", "csv"])] {
        for private in [CONTACT_NAME, CONTACT_EMAIL, PRIVATE_TITLE, "submission-"] {
            assert!(!text.contains(private), "{private} in the export");
        }
    }

    // The indicators count the decisions, on both nodes.
    let year = &chain["eu"]["date"].as_str().unwrap()[..4];
    for n in [eu, fr] {
        let indicators: Value = reqwest::get(format!("{}/api/indicators", n.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (total, rows) = figure(&indicators, "validated-national-by-year");
        assert_eq!(
            (total, rows),
            (2, vec![(year.to_owned(), 2, None)]),
            "{}",
            n.id
        );
        let (total, rows) = figure(&indicators, "validated-eu-by-year");
        assert_eq!(
            (total, rows),
            (2, vec![(year.to_owned(), 2, None)]),
            "{}",
            n.id
        );
        let (total, rows) = figure(&indicators, "median-days-to-decision");
        assert_eq!(total, 3, "{}: {rows:?}", n.id);
        let keys: Vec<(&str, u64)> = rows.iter().map(|r| (r.0.as_str(), r.1)).collect();
        assert_eq!(
            keys,
            [("national-validator", 2), ("european-validator", 2)],
            "{}",
            n.id
        );
        for (key, _, median) in &rows {
            // Decided seconds after publication.
            let m = median.unwrap_or_else(|| panic!("no median for {key}"));
            assert!((0.0..0.1).contains(&m), "{key}: {m}");
        }
    }
    let r = reqwest::get(format!("{}/indicators/median-days-to-decision.csv", eu.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with(
            "key,label,count,median_days\r\nnational-validator,national validator,2,0.0\r\n"
        ),
        "{text}"
    );
    let r = reqwest::get(format!("{}/indicators/validated-eu-by-year.csv", eu.url))
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        format!("key,label,count\r\n{year},{year},2\r\n")
    );
    let page = reqwest::get(format!("{}/indicators?lang=en", eu.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "Initiatives validated at national level, by year",
        "Initiatives validated at EU level, by year",
        "Median days from submission to each decision, by level",
        "/indicators/median-days-to-decision.svg",
        "Median days",
    ] {
        assert!(page.contains(expected), "{expected} not on the page");
    }
}
