//! The web catalogue in a real browser (headless Chromium through
//! chromedriver, `tests/browser/harness.rs`) against two nodes served
//! in-process on loopback, `fr` having harvested `lv`: search with two
//! facets and their counts, a chip removed, the language switched, a
//! harvested record's page with its badge and similar records from another
//! country, a hostile record harvested from the peer shown as text, and
//! the node, status and feed pages. Each main page is saved as a
//! screenshot and checked with axe-core.

mod common;
#[path = "browser/harness.rs"]
mod harness;

use fantoccini::Locator;
use harness::Browser;
use serde_json::{Value, json};

/// A title that runs script if any page puts it in the HTML unescaped.
const HOSTILE: &str =
    "<script>window.__injected = 1</script><img src=x onerror='window.__injected = 2'>";

/// Clicks the first link under `scope` whose text holds `words` (any case)
/// and waits for the page it leads to.
async fn follow(browser: &Browser, scope: &str, words: &str) -> String {
    let script = r#"
        const [scope, words] = arguments;
        const links = [...document.querySelectorAll(scope + " a")];
        const link = links.find(a => a.textContent.toLowerCase().includes(words.toLowerCase()));
        if (!link) return null;
        link.setAttribute("data-follow", "1");
        return link.href;
    "#;
    let href = browser
        .client
        .execute(script, vec![json!(scope), json!(words)])
        .await
        .unwrap();
    let Value::String(href) = href else {
        panic!("no link holding {words:?} under {scope}");
    };
    browser
        .client
        .find(Locator::Css("a[data-follow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let target = reqwest::Url::parse(&href).unwrap();
    browser
        .client
        .wait()
        .at_most(harness::WAIT)
        .for_url(target)
        .await
        .unwrap_or_else(|e| panic!("{href} did not open: {e}"));
    browser.wait_for("main").await;
    href
}

/// Whether any script of a hostile record ran in the page.
async fn injected(browser: &Browser) -> Value {
    browser
        .eval("return window.__injected === undefined ? null : window.__injected;")
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn searching_with_facets_chips_and_languages() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_tmp, nodes) = common::two_countries(HOSTILE).await;
    let fr = &nodes[0].url;
    browser.open(&format!("{fr}/search?lang=en")).await;
    let all = browser.text("#results").await;
    browser.screenshot("search").await;
    browser.assert_accessible("search").await;

    // A country, then a theme: the results narrow, the other facets' counts follow.
    let themes_before = browser.text("section[aria-labelledby=facet-theme]").await;
    follow(&browser, "section[aria-labelledby=facet-country]", "Latvia").await;
    let latvia = browser.text("#results").await;
    assert_ne!(latvia, all);
    let themes_after = browser.text("section[aria-labelledby=facet-theme]").await;
    assert_ne!(
        themes_before, themes_after,
        "theme counts follow the country"
    );
    follow(
        &browser,
        "section[aria-labelledby=facet-theme]",
        "inclusion",
    )
    .await;
    let both = browser.text("#results").await;
    assert_ne!(both, latvia);
    browser.screenshot("search-two-facets").await;
    browser.assert_accessible("search with two facets").await;

    // Removing the country's chip keeps the theme.
    let href = follow(&browser, ".chips", "Latvia").await;
    assert!(
        !href.contains("country=") && href.contains("theme="),
        "{href}"
    );
    assert_ne!(browser.text("#results").await, both);

    // The language switch keeps the search.
    let href = follow(&browser, "ul.langs", "Français").await;
    assert!(
        href.contains("lang=fr") && href.contains("theme="),
        "{href}"
    );
    assert_eq!(
        browser.eval("return document.documentElement.lang;").await,
        json!("fr")
    );
    assert!(browser.text("h1").await.contains("Rechercher"));
    browser.screenshot("search-fr").await;
    browser.assert_accessible("search in French").await;

    // The hostile record is listed as text; nothing of it ran.
    browser
        .open(&format!("{fr}/search?lang=en&q=injected"))
        .await;
    assert_eq!(injected(&browser).await, Value::Null);
    let body = browser.text("main").await;
    assert!(body.contains("window.__injected = 1"), "{body}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvested_record_and_the_node_pages() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_tmp, nodes) = common::two_countries(HOSTILE).await;
    let (fr, lv) = (&nodes[0].url, &nodes[1].url);
    browser.open(&format!("{fr}/search?lang=en")).await;
    follow(&browser, "section[aria-labelledby=facet-country]", "Latvia").await;
    // A harvested record opens on this node, from its verified copy.
    let href = follow(&browser, "ol.hits", "").await;
    assert!(
        href.starts_with(&format!("{fr}/catalogue/record")),
        "{href}"
    );
    let badge = browser.text("section.badge").await;
    assert!(badge.contains("lv"), "the badge names the centre: {badge}");
    let similar: Vec<String> = browser
        .eval("return [...document.querySelectorAll('section[aria-labelledby=similar] ol.hits a')].map(a => a.href);")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert!(
        similar
            .iter()
            .any(|h| h.starts_with(&format!("{fr}/records/"))),
        "similar records of the other country (fr's own): {similar:?}"
    );
    browser.screenshot("record").await;
    browser.assert_accessible("record").await;

    // The same page in the record's other language, from its link.
    let english_title = browser.text("h1").await;
    let href = follow(&browser, "nav.record-langs", "Latviešu").await;
    assert!(href.ends_with("lang=lv"), "{href}");
    assert_eq!(
        browser.eval("return document.documentElement.lang;").await,
        json!("lv")
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('main h1').lang;")
            .await,
        json!("lv")
    );
    assert_ne!(browser.text("h1").await, english_title);
    assert_eq!(
        browser.text("nav.record-langs a[aria-current=page]").await,
        "Latviešu"
    );
    browser.assert_accessible("record in Latvian").await;

    // The hostile record's own page: its title as text, no script ran.
    let iri = format!("{lv}/records/hostile");
    let url = reqwest::Url::parse_with_params(&format!("{fr}/catalogue/record"), [("iri", &iri)])
        .unwrap();
    browser.open(url.as_str()).await;
    assert_eq!(browser.text("h1").await, HOSTILE);
    assert_eq!(injected(&browser).await, Value::Null);
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main script, main img').length;")
            .await,
        json!(0)
    );

    for (path, name) in [("/node", "node"), ("/status", "status"), ("/feed", "feed")] {
        browser.open(&format!("{fr}{path}?lang=en")).await;
        browser.wait_for("main h1").await;
        browser.screenshot(name).await;
        browser.assert_accessible(name).await;
    }
    browser.close().await;
}
