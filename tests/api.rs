//! The operator API on a real server: token, validation, problem details,
//! body limit, withdrawal, and readers served while the operator publishes.

mod common;

use serde_json::Value;

const RECORD: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/api-guide> a ccis:Tool ;
    dct:title "Guide written through the API"@en , "Guide écrit par l'API"@fr ;
    dct:description "A guide for project holders."@en ;
    dct:language lang:ENG ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-emergence ;
    ccis:toolType ccis:tool-type-guide ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    media: &str,
    body: String,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = client
        .post(format!("{url}/api/records"))
        .header("content-type", media)
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn problem(headers: &reqwest::header::HeaderMap, body: &str) -> Value {
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{body}"
    );
    let v: Value = serde_json::from_str(body).unwrap();
    assert!(v["type"].as_str().is_some() && v["title"].as_str().is_some() && v["status"].is_u64());
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_api_needs_the_token_validates_and_answers_problem_details() {
    let n = common::serve_node(
        "fr-api",
        Default::default(),
        |c| c.server.max_body_bytes = 4096,
        |_| {},
    )
    .await;
    let client = reqwest::Client::new();
    let quads_before = n.store.oxigraph().len().unwrap();

    // No token, a wrong token: 401, nothing written.
    for token in [None, Some("0000"), Some(&n.token[1..])] {
        let (status, headers, body) =
            post(&client, &n.url, token, "text/turtle", RECORD.into()).await;
        assert_eq!(status, 401, "{body}");
        assert!(headers.contains_key("www-authenticate"));
        assert_eq!(problem(&headers, &body)["status"], 401);
    }
    let r = client
        .delete(format!("{}/api/records/api-guide", n.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(n.store.oxigraph().len().unwrap(), quads_before);

    // A valid record: 201, its IRI and version 1; the same again: 200 unchanged.
    let (status, headers, body) = post(
        &client,
        &n.url,
        Some(&n.token),
        "text/turtle",
        RECORD.into(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let iri = format!("{}/records/api-guide", n.url);
    assert_eq!(headers["location"], iri.as_str());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["records"][0]["iri"], iri.as_str());
    assert_eq!(v["records"][0]["version"], 1);
    let (status, _, body) = post(
        &client,
        &n.url,
        Some(&n.token),
        "text/turtle",
        RECORD.into(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("unchanged"));
    // A change: version 2.
    let changed = RECORD.replace(
        "A guide for project holders.",
        "A guide for project holders, revised.",
    );
    let (status, _, body) = post(
        &client,
        &n.url,
        Some(&n.token),
        "text/turtle; charset=utf-8",
        changed,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"version\":2"), "{body}");
    // The base URL is the server's: the record IRI dereferences to the new version.
    let r = client
        .get(&iri)
        .header("accept", "application/trig")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("revised"));

    // Invalid Turtle: 400 naming line and column; nothing stored.
    let quads = n.store.oxigraph().len().unwrap();
    let members = n.store.member_count().unwrap();
    let bad =
        "@prefix dct: <http://purl.org/dc/terms/> .\n<records/x> dct:title \"unterminated .\n";
    let (status, headers, body) =
        post(&client, &n.url, Some(&n.token), "text/turtle", bad.into()).await;
    assert_eq!(status, 400, "{body}");
    let p = problem(&headers, &body);
    assert_eq!(p["line"], 2, "{p}");
    assert!(p["column"].is_u64(), "{p}");
    // SHACL violation (no title): 422 listing the violations; nothing stored.
    let no_title = RECORD
        .replace("records/api-guide", "records/other")
        .replace(
            "dct:title \"Guide written through the API\"@en , \"Guide écrit par l'API\"@fr ;",
            "",
        );
    let (status, headers, body) =
        post(&client, &n.url, Some(&n.token), "text/turtle", no_title).await;
    assert_eq!(status, 422, "{body}");
    let p = problem(&headers, &body);
    let violations = p["violations"].as_array().unwrap();
    assert!(
        violations
            .iter()
            .any(|v| v.as_str().unwrap().contains("records/other")),
        "{p}"
    );
    // Wrong media type: 415. Oversized body: 413.
    let (status, headers, body) =
        post(&client, &n.url, Some(&n.token), "text/plain", RECORD.into()).await;
    assert_eq!(status, 415);
    problem(&headers, &body);
    let big = format!("{RECORD}\n#{}\n", "x".repeat(5000));
    let (status, headers, body) = post(&client, &n.url, Some(&n.token), "text/turtle", big).await;
    assert_eq!(status, 413);
    assert_eq!(problem(&headers, &body)["limit"], 4096);
    assert_eq!(n.store.oxigraph().len().unwrap(), quads);
    assert_eq!(n.store.member_count().unwrap(), members);

    // JSON-LD bodies are accepted too.
    let jsonld = serde_json::json!({
        "@context": "https://w3id.org/ccis/context.jsonld",
        "@id": "records/api-json",
        "@type": "Tool",
        "title": {"@value": "A guide sent as JSON-LD", "@language": "en"},
        "description": {"@value": "Same pipeline, other syntax.", "@language": "en"},
        "language": "http://publications.europa.eu/resource/authority/language/ENG",
        "spatial": "http://publications.europa.eu/resource/authority/country/FRA",
        "subject": "https://w3id.org/ccis/ns#theme-employment",
        "audience": "https://w3id.org/ccis/ns#audience-project-holders",
        "stage": "https://w3id.org/ccis/ns#stage-emergence",
        "toolType": "https://w3id.org/ccis/ns#tool-type-guide",
        "license": "https://creativecommons.org/licenses/by/4.0/"
    });
    let (status, _, body) = post(
        &client,
        &n.url,
        Some(&n.token),
        "application/ld+json",
        jsonld.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("records/api-json"), "{body}");

    // Withdrawal: tombstone with the next version, then 410; again: 409; unknown: 404.
    let delete = |slug: &str| {
        client
            .delete(format!("{}/api/records/{slug}", n.url))
            .bearer_auth(&n.token)
            .send()
    };
    let r = delete("api-guide").await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 3);
    let r = client
        .get(format!("{}/records/api-guide", n.url))
        .header("accept", "application/n-quads")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("Withdrawn"));
    assert_eq!(delete("api-guide").await.unwrap().status(), 409);
    assert_eq!(delete("no-such-record").await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_are_served_while_the_operator_publishes() {
    let n = common::serve_node(
        "fr-busy",
        Default::default(),
        |c| c.server.page_size = 4,
        |_| {},
    )
    .await;
    let client = reqwest::Client::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for i in 0..4 {
        let (client, url, stop) = (client.clone(), n.url.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut served = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let path = match i % 4 {
                    0 => "/sparql?query=SELECT%20(COUNT(*)%20AS%20%3Fn)%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D".to_owned(),
                    1 => "/feed/0".to_owned(),
                    2 => "/".to_owned(),
                    _ => "/feed".to_owned(),
                };
                let r = client.get(format!("{url}{path}")).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
                let _ = r.bytes().await.unwrap();
                served += 1;
            }
            served
        }));
    }
    let mut writers = Vec::new();
    for i in 0..12 {
        let (client, url, token) = (client.clone(), n.url.clone(), n.token.clone());
        let body = RECORD
            .replace("records/api-guide", &format!("records/busy-{i}"))
            .replace(
                "Guide written through the API",
                &format!("Guide number {i}"),
            );
        writers.push(tokio::spawn(async move {
            post(&client, &url, Some(&token), "text/turtle", body)
                .await
                .0
        }));
    }
    for w in writers {
        assert_eq!(w.await.unwrap(), 201);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.await.unwrap() > 0, "a reader was never served");
    }
    // Every write landed once, at its own feed position.
    assert_eq!(n.store.member_count().unwrap(), 12);
    let members = n.store.members(0, 12).unwrap();
    let distinct: std::collections::HashSet<_> = members.iter().map(|m| m.record.clone()).collect();
    assert_eq!(distinct.len(), 12);
    assert_eq!(n.store.entries().unwrap().len(), 12);
}
