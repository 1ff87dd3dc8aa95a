//! The validation workflow over HTTP, as the tests across nodes drive it:
//! decisions through `POST /api/decisions`, states through
//! `GET /api/initiatives`, harvest rounds that must not fail.

use super::FedNode;
use serde_json::{Value, json};

/// An initiative of the node (`<records/{slug}>`) at a level of action.
pub fn initiative(slug: &str, title: &str, level: &str) -> String {
    format!(
        r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/{slug}> a ccis:Initiative, schema:Project ;
    dct:title "{title}"@en ;
    dct:description "An initiative proposed for the European Social Innovation database."@en ;
    dct:language lang:ENG ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-scaling ;
    ccis:levelOfAction ccis:level-{level} ;
    ccis:problemAddressed "Long-term unemployment."@en ;
    ccis:approach "Jobs created where people live, funded by what unemployment costs."@en ;
    ccis:keyResults "Permanent jobs in ten territories."@en ;
    ccis:scalingPotential "Documented and transferable."@en ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#
    )
}

/// The SIM checklist's criteria (local names).
pub const SIM: [&str; 4] = [
    "problem-scope",
    "approach-methodology",
    "results-benefits",
    "scaling-transfer",
];

/// `POST /api/decisions`; (status, body).
pub async fn decide(n: &FedNode, iri: &str, outcome: &str, operator: &str) -> (u16, Value) {
    let assessments: serde_json::Map<String, Value> = SIM
        .iter()
        .map(|c| {
            (
                (*c).to_owned(),
                json!({ "outcome": "passed", "comment": { "en": format!("{c} assessed") } }),
            )
        })
        .collect();
    let body = json!({
        "initiative": iri,
        "outcome": outcome,
        "rationale": { "en": format!("{outcome} by {operator}") },
        "assessments": assessments,
        "operator": operator,
    });
    let r = reqwest::Client::new()
        .post(format!("{}/api/decisions", n.url))
        .bearer_auth(&n.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// The initiative as `GET /api/initiatives` of a node shows it.
pub async fn initiative_on(n: &FedNode, iri: &str) -> Value {
    let all: Value = reqwest::get(format!("{}/api/initiatives", n.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all["initiatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["iri"] == iri)
        .cloned()
        .unwrap_or_else(|| panic!("{} does not hold <{iri}>: {all}", n.id))
}

/// One harvest round of `n` from `peer`, which must not fail; its report.
pub async fn harvest_from(n: &FedNode, peer: &str) -> ccis::harvest::PeerReport {
    let reports = super::harvest(n, Some(peer)).await;
    let report = reports.into_iter().next().unwrap();
    assert!(report.error.is_none(), "{report:?}");
    report
}
