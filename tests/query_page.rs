//! `/query` without JavaScript: the plain form runs a query through the
//! `/sparql` path (its limits included) and answers with an HTML table,
//! download links, or a readable error with its position.

mod common;

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
    let media = r.headers()["content-type"].to_str().unwrap().to_owned();
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
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
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
    let r = reqwest::get(format!("{}/query", n.url)).await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("connect-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
}
