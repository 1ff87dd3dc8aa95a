//! End-to-end tests in a real browser (headless Chromium through
//! chromedriver, see `tests/browser/harness.rs`) against nodes served
//! in-process on loopback: the query page with YASGUI and without
//! JavaScript, the indicators page with its charts and CSV downloads.
//! Each main page is saved as a screenshot and checked with axe-core.

mod common;
#[path = "browser/harness.rs"]
mod harness;

use harness::Browser;
use serde_json::json;

async fn node_with_samples() -> common::ServedNode {
    common::serve_node(
        "fr",
        ccis::peers::Peers::default(),
        |_| {},
        common::publish_samples("fr", 6),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_example_query_runs_in_yasgui_and_shows_a_table() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let node = node_with_samples().await;
    browser.open(&format!("{}/query", node.url)).await;
    browser.wait_for("#yasgui .yasqe .CodeMirror").await;
    let plain_hidden = browser
        .eval("return document.getElementById('plain').hidden;")
        .await;
    assert_eq!(
        plain_hidden,
        json!(true),
        "with JavaScript YASGUI replaces the form"
    );
    browser.screenshot("query").await;

    // One click on an example runs it; YASR shows a table of results.
    browser
        .wait_for("a.example[data-name='records-by-origin-node']")
        .await
        .click()
        .await
        .unwrap();
    let table = browser.wait_for("#yasgui .yasr table tbody tr").await;
    let text = table.text().await.unwrap();
    assert!(text.contains("fr"), "the first row names the node: {text}");
    let editor = browser
        .eval("return window.ccisYasgui.getTab().getQuery();")
        .await;
    assert!(
        editor.as_str().unwrap_or("").contains("originNode"),
        "the example is in the editor: {editor}"
    );
    browser.screenshot("query-results").await;
    // No request left this node: only the completer that reads the query is
    // on, and every resource the page loaded came from the node itself.
    let completers = browser
        .eval("return window.ccisYasgui.getTab().getYasqe().config.autocompleters;")
        .await;
    assert_eq!(completers, json!(["variables"]));
    let elsewhere = browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => !n.startsWith(location.origin + '/'));",
        )
        .await;
    assert_eq!(elsewhere, json!([]), "requests to other hosts");
    // The whole page, YASGUI's widgets and results included.
    browser.assert_accessible("query (YASGUI)").await;

    // In French: the heading, the examples and the names given to YASGUI's
    // fields; still accessible.
    browser.open(&format!("{}/query?lang=fr", node.url)).await;
    browser.wait_for("#yasgui .yasqe .CodeMirror").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('main h1').textContent;")
            .await,
        json!("Requête SPARQL")
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#yasgui .CodeMirror textarea').getAttribute('aria-label');")
            .await,
        json!("Requête SPARQL")
    );
    browser.screenshot("query-fr").await;
    browser.assert_accessible("query in French").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_page_works_without_javascript() {
    let Some(browser) = Browser::start_with(false).await else {
        return;
    };
    let node = node_with_samples().await;
    browser.open(&format!("{}/query", node.url)).await;
    let area = browser.wait_for("textarea#query").await;
    area.send_keys(
        "SELECT ?record WHERE { GRAPH ?record { ?record a <https://w3id.org/ccis/ns#Tool> } }",
    )
    .await
    .unwrap();
    browser
        .wait_for("button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let table = browser.wait_for("table#results tbody tr").await;
    assert!(table.text().await.unwrap().contains("/records/"));
    browser.screenshot("query-no-javascript").await;

    // A syntax error is shown with its position.
    browser
        .open(&format!(
            "{}/query?query=SELECT%20%3Fs%20WHERE%20%7B%20%3Fs%20%7D",
            node.url
        ))
        .await;
    let error = browser.wait_for("#query-error").await;
    browser
        .eval("document.getElementById('query-error').scrollIntoView(); return true;")
        .await;
    let error = error.text().await.unwrap();
    assert!(error.contains("At line 1, column"), "{error}");
    browser.screenshot("query-error").await;
    browser.close().await;
}

/// The markup the server renders for the form, its results and its errors,
/// checked by axe (axe needs JavaScript: the form is shown again by script).
#[tokio::test(flavor = "multi_thread")]
async fn the_plain_form_results_and_errors_are_accessible() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let node = node_with_samples().await;
    for (name, query) in [
        (
            "results",
            "SELECT%20%3Fs%20WHERE%20%7B%20GRAPH%20%3Fs%20%7B%20%3Fs%20a%20%3Fc%20%7D%20%7D",
        ),
        ("error", "SELECT%20%3Fs%20WHERE%20%7B%20%3Fs%20%7D"),
    ] {
        browser
            .open(&format!("{}/query?query={query}", node.url))
            .await;
        browser.wait_for("#yasgui .yasqe").await;
        browser
            .eval("document.getElementById('plain').hidden = false; return true;")
            .await;
        browser
            .assert_accessible(&format!("query {name} without JavaScript, and YASGUI"))
            .await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_indicators_page_shows_charts_and_downloads_csv() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_tmp, nodes) = common::fr_and_es(6, 4).await;
    common::harvest(&nodes[1], None).await;
    common::harvest(&nodes[0], None).await;
    let url = &nodes[0].url;
    browser.open(&format!("{url}/indicators")).await;
    let chart = browser
        .wait_for("img[src='/indicators/own-by-type.svg']")
        .await;
    let width = browser
        .eval("return document.querySelector(\"img[src='/indicators/own-by-type.svg']\").naturalWidth;")
        .await;
    assert!(
        width.as_u64().unwrap_or(0) > 0,
        "the chart is drawn: {width}"
    );
    assert!(
        chart
            .attr("alt")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("Bar chart")
    );
    let table = browser
        .wait_for("#others-by-country table")
        .await
        .text()
        .await
        .unwrap();
    assert!(table.contains("ES") && table.contains('4'), "{table}");
    browser.screenshot("indicators").await;

    // The CSV link answers a CSV of the same figure.
    let link = browser.wait_for("#own-by-type a[href$='.csv']").await;
    let href = link.attr("href").await.unwrap().unwrap();
    // (The page's CSP allows no fetch from scripts: the link is followed here.)
    let csv = reqwest::get(format!("{url}{href}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("key,label,count"), "{csv}");
    assert!(csv.contains("Tool,Tool,"), "{csv}");
    browser.assert_accessible("indicators").await;

    // In French: the heading and the figures' titles, from the catalogues.
    browser.open(&format!("{url}/indicators?lang=fr")).await;
    let heading = browser
        .eval("return document.querySelector('main h1').textContent;")
        .await;
    assert!(
        heading
            .as_str()
            .unwrap_or("")
            .starts_with("Indicateurs annuels de"),
        "{heading}"
    );
    assert_eq!(
        browser.eval("return document.documentElement.lang;").await,
        json!("fr")
    );
    let title = browser
        .eval("return document.getElementById('own-by-type-title').textContent;")
        .await;
    assert_eq!(
        title,
        json!("Fiches produites par ce centre, par type de fiche")
    );
    browser.screenshot("indicators-fr").await;
    browser.assert_accessible("indicators in French").await;
    browser.close().await;
}

/// The check is not vacuous: a field without a label is reported.
#[tokio::test(flavor = "multi_thread")]
async fn axe_reports_a_field_without_a_label() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .open("data:text/html,<!DOCTYPE html><html lang=en><title>t</title><main><input type=text></main></html>")
        .await;
    let violations = browser.violations(&[]).await;
    assert!(
        violations.iter().any(|v| v.starts_with("- label ")),
        "{violations:?}"
    );
    browser.close().await;
}
