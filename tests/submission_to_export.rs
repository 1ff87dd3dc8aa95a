//! The whole workflow across real nodes on loopback, as people do it: a
//! project holder submits an initiative to the French national node; an
//! editor accepts it on the review pages; a validator validates it there;
//! the European node harvests it with the signed decision; a European
//! validator validates it on the European node's pages; the export for the
//! Social Innovation Match then holds it with both decisions, and never the
//! submitter's contact.

mod common;

use common::review_site::{Agent, PASSWORD, add_account, decision, post_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Logs `name` in on `base` and signs a validation of `iri` (version 1)
/// from the review page's form; the URL it leads to.
fn validate_on_pages(base: &str, name: &str, iri: &str) -> String {
    let mut agent = Agent::new(base);
    assert_eq!(agent.login(name, PASSWORD).status, StatusCode::SEE_OTHER);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("iri", iri).append_pair("lang", "en");
    let page = agent.get(&format!("/review/initiative?{}", query.finish()));
    assert!(page.body.contains("id=\"decision\""), "{}", page.body);
    let csrf = page.hidden("csrf");
    let signed = post_fields(
        &mut agent,
        "/review/decide?lang=en",
        &decision(&csrf, iri, "1", "validated", None),
    );
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    signed.location
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_goes_through_both_levels_into_the_export() {
    let (_tmp, nodes) = common::federation_in(
        &[("fr", "national", "FR"), ("eu", "european", "BE")],
        "",
        |_, _| {},
    )
    .await;
    let (fr, eu) = (nodes[0].url.clone(), nodes[1].url.clone());
    for (dir, name, role) in [
        (&nodes[0].dir, "carol", "editor"),
        (&nodes[0].dir, "bob", "validator"),
        (&nodes[1].dir, "anna", "validator"),
    ] {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || add_account(&dir, name, role))
            .await
            .unwrap();
    }

    // A project holder submits.
    let r = reqwest::Client::new()
        .post(format!("{fr}/api/submissions"))
        .json(&json!({
            "language": "en",
            "title": "Neighbourhood energy cooperatives",
            "description": "Residents own the solar panels on their roofs together.",
            "problem_addressed": "Energy poverty in social housing.",
            "approach": "A cooperative rents roofs and shares the savings.",
            "key_results": "Bills down by a fifth for 400 households.",
            "scaling_potential": "Statutes and a financial model others reuse.",
            "theme": ["ecological-transition"],
            "stage": "consolidation",
            "level_of_action": "local",
            "organisation": "Energie Partagée",
            "contact_name": "Ada Submitter",
            "contact_email": "ada.submitter@example.org",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The editor accepts it, the validator validates it: both on the pages.
    let fr_base = fr.clone();
    let iri = tokio::task::spawn_blocking(move || {
        let mut carol = Agent::new(&fr_base);
        assert_eq!(carol.login("carol", PASSWORD).status, StatusCode::SEE_OTHER);
        let csrf = carol
            .get(&format!("/review/submission?id={id}&lang=en"))
            .hidden("csrf");
        let accepted = carol.post(
            "/review/submission?lang=en",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("action", "accept"),
                ("slug", "energy-coops"),
            ],
        );
        assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
        let iri = format!("{fr_base}/records/energy-coops");
        validate_on_pages(&fr_base, "bob", &iri);
        iri
    })
    .await
    .unwrap();

    // The European node harvests it with its decision, and validates it.
    let reports = common::harvest(&nodes[1], Some("fr")).await;
    assert!(reports[0].error.is_none(), "{reports:?}");
    let (eu_base, chain_iri) = (eu.clone(), iri.clone());
    tokio::task::spawn_blocking(move || validate_on_pages(&eu_base, "anna", &chain_iri))
        .await
        .unwrap();

    // The export of the European node holds it, with the two decisions.
    let export: Value = reqwest::Client::new()
        .get(format!("{eu}/api/sim-export"))
        .bearer_auth(&nodes[1].token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = export.to_string();
    assert!(!text.contains("ada.submitter@example.org") && !text.contains("Ada Submitter"));
    let found = export["initiatives"]
        .as_array()
        .unwrap_or_else(|| panic!("no initiatives: {export}"))
        .iter()
        .find(|i| i["iri"] == iri.as_str())
        .unwrap_or_else(|| panic!("<{iri}> not exported: {export}"))
        .clone();
    let chain = &found["validation"];
    assert_eq!(chain["national"]["outcome"], "validated", "{found}");
    assert_eq!(chain["eu"]["outcome"], "validated", "{found}");
    assert!(
        chain["national"]["decision"]
            .as_str()
            .unwrap()
            .starts_with(&fr),
        "{found}"
    );
    assert!(
        chain["eu"]["decision"].as_str().unwrap().starts_with(&eu),
        "{found}"
    );
}
