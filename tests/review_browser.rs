//! The validators' pages in a real browser (headless Chromium through
//! chromedriver, `tests/browser/harness.rs`) against a node run by
//! `ccis serve` on loopback: the queue asks for a login; a validator logs
//! in, opens the initiative awaiting a decision, assesses each criterion
//! of the SIM checklist, writes the rationale, signs; the initiative is
//! then nationally validated, in the history and on its public page; the
//! validator logs out. Each page is saved as a screenshot and checked with
//! axe-core.

mod common;
#[path = "browser/harness.rs"]
mod harness;

use common::review_site::{PASSWORD, Site};
use fantoccini::Locator;
use harness::Browser;
use serde_json::json;

/// Clicks the element matching `selector`.
async fn click(browser: &Browser, selector: &str) {
    browser
        .client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no {selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// Types `value` into the field matching `selector`.
async fn fill(browser: &Browser, selector: &str, value: &str) {
    browser
        .client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no {selector}: {e}"))
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
}

/// Waits until the page's URL holds `part`.
async fn wait_url(browser: &Browser, part: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let url = browser.client.current_url().await.unwrap().to_string();
        if url.contains(part) {
            browser.wait_for("main").await;
            return url;
        }
        assert!(start.elapsed() < harness::WAIT, "{url} never held {part}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validator_logs_in_assesses_the_checklist_and_signs() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = tokio::task::spawn_blocking(|| Site::new("")).await.unwrap();

    // The queue asks for a login first.
    browser.open(&format!("{}/review?lang=en", site.url)).await;
    wait_url(&browser, "/review/login").await;
    assert_eq!(browser.text("h1").await, "Validators' login");
    browser.screenshot("review-login").await;
    browser.assert_accessible("login").await;
    fill(&browser, "#name", "bob").await;
    fill(&browser, "#password", PASSWORD).await;
    click(&browser, "#login button[type=submit]").await;

    // The queue: the initiative awaits this node's decision.
    browser.wait_for("#queue-awaiting").await;
    assert_eq!(browser.text("#review-user").await, "bob");
    let awaiting = browser.text("#queue-awaiting").await;
    assert!(awaiting.contains("Village repair cafés"), "{awaiting}");
    browser.screenshot("review-queue").await;
    browser.assert_accessible("queue").await;
    click(&browser, "#queue-awaiting a").await;

    // The initiative: its fields, history and the checklist form.
    browser.wait_for("#decision").await;
    assert_eq!(browser.text("#review-version").await, "1");
    let criteria = browser
        .eval("return document.querySelectorAll('#decision fieldset.criterion').length;")
        .await;
    assert_eq!(criteria, json!(4), "the SIM checklist has four criteria");
    browser.screenshot("review-initiative").await;
    browser
        .assert_accessible("initiative with the checklist form")
        .await;
    for i in 0..4 {
        click(&browser, &format!("input[name=a-{i}][value=passed]")).await;
        fill(&browser, &format!("#c-{i}"), "Shown in the description.").await;
    }
    click(&browser, "input[name=outcome][value=validated]").await;
    fill(
        &browser,
        "#rationale",
        "A clear problem, a sound method, results shown.",
    )
    .await;
    browser
        .eval("document.getElementById('decision').scrollIntoView(); return 0;")
        .await;
    browser.screenshot("review-checklist").await;
    click(&browser, "#sign").await;

    // Signed: the state is derived from the new decision.
    wait_url(&browser, "decided=").await;
    let notice = browser.text("#review-notice").await;
    assert!(
        notice.starts_with("Decision signed and published"),
        "{notice}"
    );
    assert_eq!(browser.text("#review-state").await, "nationally validated");
    let history = browser.text("#review-history").await;
    assert!(history.contains("bob: decide (version 1)"), "{history}");
    assert!(
        history.contains("A clear problem, a sound method"),
        "{history}"
    );
    browser.screenshot("review-decided").await;
    browser
        .assert_accessible("initiative after the decision")
        .await;

    // The public page states it too.
    browser
        .open(&format!("{}/records/repair-cafes?lang=en", site.url))
        .await;
    let validation = browser.text("section.validation").await;
    assert!(validation.contains("nationally validated"), "{validation}");

    // Logout: the queue asks for a login again.
    browser.open(&format!("{}/review?lang=en", site.url)).await;
    click(&browser, "#logout").await;
    wait_url(&browser, "/review/login").await;
    browser.open(&format!("{}/review?lang=en", site.url)).await;
    wait_url(&browser, "/review/login").await;
    browser.close().await;
}

/// The European node's queue: an initiative validated by the French node,
/// harvested with its signed decision, awaits the EU-level decision.
#[tokio::test(flavor = "multi_thread")]
async fn the_european_queue_holds_what_a_national_centre_validated() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_tmp, nodes) = common::federation_in(
        &[("fr", "national", "FR"), ("eu", "european", "BE")],
        "",
        |id, node| {
            if id == "fr" {
                let file = node.dir.root.join("initiative.ttl");
                std::fs::write(
                    &file,
                    common::review_site::initiative("repair-cafes", "Village repair cafés"),
                )
                .unwrap();
                let records = node.read_records(&[file], None).unwrap();
                let published = node.publish(records).unwrap();
                node.audit("alice", "publish", &published).unwrap();
            }
        },
    )
    .await;
    let (fr, eu) = (&nodes[0], &nodes[1]);
    let iri = format!("{}/records/repair-cafes", fr.url);
    let (status, body) = common::workflow::decide(fr, &iri, "validated", "bob").await;
    assert_eq!(status, 201, "{body}");
    let reports = common::harvest(eu, Some("fr")).await;
    assert!(reports[0].error.is_none(), "{reports:?}");
    let dir = eu.dir.clone();
    tokio::task::spawn_blocking(move || {
        common::review_site::add_account(&dir, "anna", "validator")
    })
    .await
    .unwrap();

    browser
        .open(&format!("{}/review/login?lang=en", eu.url))
        .await;
    fill(&browser, "#name", "anna").await;
    fill(&browser, "#password", PASSWORD).await;
    click(&browser, "#login button[type=submit]").await;
    browser.wait_for("#queue-awaiting").await;
    let awaiting = browser.text("#queue-awaiting").await;
    assert!(
        awaiting.contains("Village repair cafés") && awaiting.contains("nationally validated"),
        "{awaiting}"
    );
    browser.screenshot("review-queue-eu").await;
    browser.assert_accessible("the European queue").await;
    click(&browser, "#queue-awaiting a").await;
    browser.wait_for("#decision").await;
    let history = browser.text("#review-history").await;
    assert!(
        history.contains("national validator: validated, version 1")
            && history.contains("validated by bob"),
        "{history}"
    );
    browser.screenshot("review-initiative-eu").await;
    browser.close().await;
}
