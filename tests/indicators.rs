//! `/indicators`, `/api/indicators` and the per-figure CSV and SVG, on real
//! nodes: a French node publishes, a Spanish node harvests it and the other
//! way round; each node's figures match what was published and harvested.

mod common;

use common::http::header;
use serde_json::Value;

/// The rows of a figure as (key, count), sorted by key.
fn rows(indicators: &Value, name: &str) -> Vec<(String, u64)> {
    let figure = indicators["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no figure {name}"));
    let mut rows: Vec<(String, u64)> = figure["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn total(indicators: &Value, name: &str) -> u64 {
    indicators["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()["total"]
        .as_u64()
        .unwrap()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(k, c)| ((*k).to_owned(), *c)).collect()
}

async fn indicators(url: &str) -> Value {
    let r = reqwest::get(format!("{url}/api/indicators")).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn figures_match_what_was_published_and_harvested() {
    let (_tmp, nodes) = common::fr_and_es(3, 2).await;
    let (fr, es) = (&nodes[0], &nodes[1]);
    assert!(
        common::harvest(es, None)
            .await
            .iter()
            .all(|r| r.error.is_none())
    );
    assert!(
        common::harvest(fr, None)
            .await
            .iter()
            .all(|r| r.error.is_none())
    );

    let a = indicators(&fr.url).await;
    assert_eq!(a["node"], "fr");
    assert_eq!(total(&a, "own-by-type"), 3);
    assert_eq!(
        rows(&a, "own-by-type"),
        pairs(&[("SupportProgramme", 2), ("Tool", 1)])
    );
    assert_eq!(
        rows(&a, "own-by-stage"),
        pairs(&[("consolidation", 2), ("emergence", 3)])
    );
    assert_eq!(rows(&a, "own-by-tool-type"), pairs(&[("directory", 1)]));
    assert_eq!(rows(&a, "others-by-country"), pairs(&[("ES", 2)]));
    // Spain holds all three French records: shared transnationally.
    assert_eq!(rows(&a, "shared-by-peer"), pairs(&[("es", 3)]));
    assert_eq!(total(&a, "shared-by-peer"), 3);
    // Sectors and needs count everything held here: 3 own + 2 harvested.
    assert_eq!(
        rows(&a, "use-by-need"),
        pairs(&[("consolidation", 3), ("emergence", 5)])
    );
    assert_eq!(total(&a, "use-by-need"), 5);
    let year: u64 = rows(&a, "own-by-year").iter().map(|(_, c)| c).sum();
    assert_eq!(year, 3, "every record has a year");

    let b = indicators(&es.url).await;
    assert_eq!(rows(&b, "others-by-country"), pairs(&[("FR", 3)]));
    assert_eq!(total(&b, "own-by-type"), 2);
    assert_eq!(rows(&b, "shared-by-peer"), pairs(&[("fr", 2)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_figure_downloads_as_csv_and_draws_as_svg() {
    let fr = common::publish_samples("fr", 3);
    let (_tmp, nodes) =
        common::federation_in(&[("fr", "national", "FR")], "", |_, node| fr(node)).await;
    let url = &nodes[0].url;
    let json = indicators(url).await;

    let r = reqwest::get(format!("{url}/indicators/own-by-stage.csv"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/csv"));
    assert!(header(&r, "content-disposition").contains("attachment"));
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("key,label,count"));
    let mut parsed: Vec<(String, u64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            (f[0].to_owned(), f[2].parse().unwrap())
        })
        .collect();
    parsed.sort();
    assert_eq!(parsed, rows(&json, "own-by-stage"));

    let r = reqwest::get(format!("{url}/indicators/own-by-stage.svg"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "image/svg+xml");
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<rect"), "{svg}");
    assert!(
        svg.contains("\nemergence\n</text>"),
        "labels are drawn as text: {svg}"
    );

    let r = reqwest::get(format!("{url}/indicators")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert_eq!(header(&r, "content-language"), "en");
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<img src="/indicators/own-by-stage.svg""#),
        "{html}"
    );
    assert!(html.contains(r#"href="/indicators/own-by-stage.csv""#));
    assert!(html.contains("<table>") && html.contains("How it is counted"));
    // The shared layout: navigation with this page current, language switch.
    assert!(
        html.contains(r#"<a href="/indicators?lang=en" aria-current="page">"#),
        "{html}"
    );
    assert!(html.contains(r#"hreflang="fr""#), "{html}");

    // French by `?lang=`, Spanish by `Accept-Language`: headings, figures'
    // titles and row labels of the vocabulary in that language.
    let r = reqwest::get(format!("{url}/indicators?lang=fr"))
        .await
        .unwrap();
    assert_eq!(header(&r, "content-language"), "fr");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<html lang="fr">"#), "{html}");
    assert!(html.contains("Indicateurs annuels de"), "{html}");
    assert!(
        html.contains("Fiches produites par ce centre, par étape du cycle de vie"),
        "{html}"
    );
    assert!(html.contains("Mode de calcul :"), "{html}");
    assert!(!html.contains("How it is counted"), "{html}");
    let r = reqwest::Client::new()
        .get(format!("{url}/indicators"))
        .header("accept-language", "es-ES,es;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-language"), "es");
    let html = r.text().await.unwrap();
    assert!(html.contains("Indicadores anuales de"), "{html}");
    // The JSON keeps its English titles whatever the language asked for.
    let figure = |json: &Value| {
        json["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "own-by-stage")
            .unwrap()
            .clone()
    };
    let r = reqwest::Client::new()
        .get(format!("{url}/api/indicators?lang=fr"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    let french: Value = r.json().await.unwrap();
    for json in [&json, &french] {
        let f = figure(json);
        assert_eq!(
            f["title"],
            "Records produced by this centre, by life-cycle stage"
        );
        assert!(f["counted"].as_str().unwrap().starts_with("This centre's"));
    }

    // A withdrawn record counts nowhere, at once (figures computed a moment
    // ago are not reused once the store changed).
    assert_eq!(total(&json, "own-by-type"), 3);
    let r = reqwest::Client::new()
        .delete(format!(
            "{url}/api/records/annuaire-incubateurs-accelerateurs"
        ))
        .bearer_auth(&nodes[0].token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let after = indicators(url).await;
    assert_eq!(total(&after, "own-by-type"), 2);
    assert_eq!(
        rows(&after, "own-by-type"),
        pairs(&[("SupportProgramme", 2)])
    );

    for missing in ["nothing.csv", "own-by-stage.png", "own-by-stage"] {
        let r = reqwest::get(format!("{url}/indicators/{missing}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{missing}");
    }
}
