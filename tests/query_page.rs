//! `/query` without JavaScript: the plain form runs a query through the
//! `/sparql` path (its limits included) and answers with an HTML table,
//! download links, or a readable error with its position.

mod common;

use common::http::header;

fn encode(query: &str) -> String {
    form_urlencoded_pair("query", query)
}

fn form_urlencoded_pair(name: &str, value: &str) -> String {
    let mut out = format!("{name}=");
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn node() -> common::ServedNode {
    common::serve_node(
        "fr",
        ccis::peers::Peers::default(),
        |config| config.server.max_query_bytes = 4096,
        |node| {
            let files = common::sample_files("fr");
            node.publish(node.read_records(&files[..4], None).unwrap())
                .unwrap();
        },
    )
    .await
}

async fn get(url: &str) -> (u16, String, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let media = header(&r, "content-type");
    (status, media, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_example_query_gives_a_table_without_javascript() {
    let n = node().await;
    let (status, media, html) = get(&format!("{}/query", n.url)).await;
    assert_eq!(status, 200);
    assert!(media.starts_with("text/html"));
    assert!(html.contains(r#"<form method="get" action="/query">"#));
    assert!(html.contains(r#"<textarea id="query" name="query""#));
    assert!(
        html.contains("Records by origin node"),
        "examples are listed"
    );

    let example =
        std::fs::read_to_string(common::repo().join("examples/queries/records-by-origin-node.rq"))
            .unwrap();
    assert!(
        html.contains("href=\"/query?query="),
        "examples are one click away"
    );
    let (status, _, html) = get(&format!("{}/query?{}&format=html", n.url, encode(&example))).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"<table id="results">"#), "{html}");
    assert!(html.contains("<th scope=\"col\">"), "{html}");
    assert!(html.contains("fr"), "{html}");
    // The download links lead to /sparql with the format.
    assert!(html.contains("/sparql?query="), "{html}");
    assert!(html.contains("format=csv"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_come_from_sparql_in_the_chosen_format() {
    let n = node().await;
    let query = "SELECT ?r WHERE { GRAPH ?r { ?r a <https://w3id.org/ccis/ns#Tool> } }";
    let (status, media, csv) = get(&format!("{}/query?{}&format=csv", n.url, encode(query))).await;
    assert_eq!(status, 200);
    assert!(media.starts_with("text/csv"), "{media}");
    assert!(csv.starts_with("r\r\n"), "{csv}");
    let (status, media, json) =
        get(&format!("{}/sparql?{}&format=json", n.url, encode(query))).await;
    assert_eq!(status, 200);
    assert_eq!(media, "application/sparql-results+json");
    assert!(json.contains("\"bindings\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_syntax_error_is_shown_with_its_position() {
    let n = node().await;
    let query = "SELECT ?s\nWHERE { ?s ?p }";
    let (status, media, html) = get(&format!("{}/query?{}", n.url, encode(query))).await;
    assert_eq!(status, 400);
    assert!(media.starts_with("text/html"));
    assert!(html.contains(r#"role="alert""#), "{html}");
    assert!(html.contains("At line 2, column"), "{html}");
    assert!(
        html.contains("WHERE { ?s ?p }\n"),
        "the line is shown: {html}"
    );
    // The query stays in the form, to be corrected.
    assert!(html.contains("SELECT ?s\nWHERE"), "{html}");

    // In French: the error's title and position, the form keeps the language.
    let (status, _, html) = get(&format!("{}/query?{}&lang=fr", n.url, encode(query))).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("La requête contient une erreur de syntaxe"),
        "{html}"
    );
    assert!(html.contains("Ligne 2, colonne"), "{html}");
    assert!(
        html.contains(r#"<input type="hidden" name="lang" value="fr">"#),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_speaks_the_language_asked_for() {
    let n = node().await;
    let r = reqwest::get(format!("{}/query?lang=fr", n.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-language"), "fr");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<html lang="fr">"#), "{html}");
    assert!(html.contains("<h1>Requête SPARQL</h1>"), "{html}");
    assert!(html.contains("Exemples de requêtes"), "{html}");
    assert!(html.contains("Outils par pays et par thème"), "{html}");
    assert!(html.contains("Lancer la requête"), "{html}");
    // The shared layout: this page current in the navigation, the switch
    // keeps the page.
    assert!(
        html.contains(r#"<a href="/query?lang=fr" aria-current="page">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/query?lang=sv" hreflang="sv""#),
        "{html}"
    );

    let r = reqwest::Client::new()
        .get(format!("{}/query", n.url))
        .header("accept-language", "sv-SE, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-language"), "sv");
    assert!(r.text().await.unwrap().contains("<h1>SPARQL-fråga</h1>"));

    // Results in Lithuanian: the count with its plural form.
    let query = "SELECT ?r WHERE { GRAPH ?r { ?r a <https://w3id.org/ccis/ns#SupportProgramme> } }";
    let (status, _, html) = get(&format!("{}/query?{}&lang=lt", n.url, encode(query))).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h2 id=\"results-title\">Rezultatai</h2>"),
        "{html}"
    );
    assert!(
        [" rezultatas.", " rezultatai.", " rezultatų."]
            .iter()
            .any(|c| html.contains(c)),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_still_apply_and_text_is_escaped() {
    let n = node().await;
    let long = format!("SELECT * WHERE {{ ?s ?p ?o }} # {}", "x".repeat(5000));
    let (status, _, html) = get(&format!("{}/query?{}", n.url, encode(&long))).await;
    assert_eq!(status, 400);
    assert!(html.contains("Query over a limit"), "{html}");

    let update = "INSERT DATA { <http://a> <http://b> <http://c> }";
    let (status, _, html) = get(&format!("{}/query?{}", n.url, encode(update))).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("read-only"), "{html}");

    let hostile = r#"SELECT ("<script>alert(1)</script>" AS ?x) WHERE {}"#;
    let (status, _, html) = get(&format!("{}/query?{}", n.url, encode(hostile))).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "{html}");
    // Escaped as text (askama writes numeric character references).
    assert!(
        html.contains("<td>&#60;script&#62;alert(1)&#60;/script&#62;</td>"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn yasgui_and_its_licence_are_served_by_the_node() {
    let n = node().await;
    let r = reqwest::get(format!("{}/assets/yasgui/yasgui.min.js?v=4.6.2", n.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/javascript"));
    assert!(header(&r, "cache-control").contains("max-age=31536000"));
    let licence = reqwest::get(format!("{}/assets/yasgui/LICENSE", n.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(licence.contains("MIT License"));
    let r = reqwest::get(format!("{}/assets/yasgui/nothing.js", n.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The page lets scripts and requests reach this node only.
    let r = reqwest::get(format!("{}/query?lang=lv", n.url))
        .await
        .unwrap();
    let csp = header(&r, "content-security-policy");
    assert!(
        csp.contains("connect-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    // The one stylesheet of the catalogue; the old pages.css is gone.
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"href="/style.css""#), "{html}");
    assert!(!html.contains("pages.css"), "{html}");
    let r = reqwest::get(format!("{}/assets/pages.css", n.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
