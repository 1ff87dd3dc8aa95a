//! The web catalogue through HTTP on real in-process nodes: search with
//! facets and chips, languages, a harvested record's page with its badge
//! and similar records from another country, a hostile record escaped, the
//! Atom feed of a search, and RDF content negotiation left as it was.

mod common;

use common::FedNode;

const LATVIA: &str = "http://publications.europa.eu/resource/authority/country/LVA";
const INCLUSION: &str = "https://w3id.org/ccis/ns#theme-social-inclusion";
const HOSTILE: &str = "<script>alert(1)</script>";

/// `fr` (French samples) harvests `lv` (Latvian samples and a hostile record).
async fn two_countries() -> (tempfile::TempDir, Vec<FedNode>) {
    common::two_countries(HOSTILE).await
}

async fn get(url: &str, accept: &str, language: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(url).header("accept", accept);
    if let Some(l) = language {
        request = request.header("accept-language", l);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

async fn page(url: &str) -> String {
    let (status, ct, body) = get(url, "text/html,application/xhtml+xml,*/*;q=0.8", None).await;
    assert_eq!(status, 200, "{url}: {body}");
    assert!(ct.starts_with("text/html"), "{url}: {ct}");
    body
}

/// The heading of the results: "N records".
fn count(body: &str) -> String {
    let start = body.find("<h2 id=\"results\">").expect(body) + "<h2 id=\"results\">".len();
    body[start..].split("</h2>").next().unwrap().to_owned()
}

fn search_url(base: &str, pairs: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(&format!("{base}/search"), pairs)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn facets_chips_and_languages() {
    let (_tmp, nodes) = two_countries().await;
    let fr = &nodes[0].url;
    let all = count(&page(&search_url(fr, &[("lang", "en")])).await);
    let latvia = page(&search_url(fr, &[("country", LATVIA), ("lang", "en")])).await;
    let both_url = search_url(
        fr,
        &[("country", LATVIA), ("theme", INCLUSION), ("lang", "en")],
    );
    let both = page(&both_url).await;
    assert_eq!(count(&latvia), "6 records");
    assert_ne!(count(&both), count(&latvia));
    assert_ne!(all, count(&latvia));
    assert!(both.contains("class=\"count\""), "facet counts are shown");
    // The chip of the country links to the same search without it.
    let without = search_url(fr, &[("theme", INCLUSION), ("lang", "en")]);
    let href = without
        .strip_prefix(fr.as_str())
        .unwrap()
        .replace('&', "&#38;");
    assert!(
        both.contains(&format!("href=\"{href}\"")),
        "{href} in {both}"
    );
    assert!(both.contains("Chosen filters"));
    // Odd queries never fail.
    for q in ["*", "\"", "\"unclosed", &"é".repeat(2000), "a AND OR (", ""] {
        page(&search_url(fr, &[("q", q), ("nope", "x"), ("page", "-3")])).await;
    }
    // Languages: ?lang= first, then Accept-Language.
    assert!(
        page(&format!("{fr}/search?lang=fr"))
            .await
            .contains("Rechercher dans le catalogue")
    );
    let (_, _, lt) = get(&format!("{fr}/"), "text/html", Some("lt,en;q=0.5")).await;
    assert!(
        lt.contains("Ieškoti kataloge") && lt.contains("lang=\"lt\""),
        "{lt}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvested_record_has_a_local_page_with_badge_and_partners() {
    let (_tmp, nodes) = two_countries().await;
    let (fr, lv) = (&nodes[0].url, &nodes[1].url);
    let iri = format!("{lv}/records/celvedis-socialajiem-uznemumiem");
    let results = page(&search_url(fr, &[("country", LATVIA), ("lang", "en")])).await;
    let local = search_url(fr, &[]).replace("/search", "/catalogue/record");
    let local =
        reqwest::Url::parse_with_params(&local, &[("iri", iri.as_str()), ("lang", "en")]).unwrap();
    let href = local
        .as_str()
        .strip_prefix(fr.as_str())
        .unwrap()
        .replace('&', "&#38;");
    assert!(
        results.contains(&href),
        "search links to the local page {href}"
    );
    let body = page(local.as_str()).await;
    assert!(body.contains("Signature verified"), "{body}");
    let fingerprint = ccis::peer_file::key_fingerprint(&nodes[1].public_key).unwrap();
    assert!(
        body.contains(&fingerprint),
        "the badge names the key {fingerprint}"
    );
    assert!(body.contains("lv (lv)"), "and the centre");
    // Links to this page in each language the record has (English and
    // Latvian, not French), each named in its language; English is shown.
    let langs = body
        .split("class=\"record-langs\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no language links: {body}"))
        .split("</nav>")
        .next()
        .unwrap();
    assert!(
        langs.contains(r#"hreflang="en" lang="en" aria-current="page">English</a>"#),
        "{langs}"
    );
    assert!(!langs.contains("hreflang=\"fr\""), "{langs}");
    let link = langs
        .split("<a ")
        .find(|a| a.contains(r#"hreflang="lv" lang="lv">Latviešu</a>"#))
        .unwrap_or_else(|| panic!("no Latvian link: {langs}"));
    let href = link
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .unwrap()
        .replace("&#38;", "&");
    assert!(
        href.starts_with("/catalogue/record?iri=") && href.ends_with("&lang=lv"),
        "{href}"
    );
    let latvian = page(&format!("{fr}{href}")).await;
    assert!(latvian.contains(r#"<html lang="lv">"#), "{latvian}");
    assert!(
        latvian.contains(r#"<h1 lang="lv">Ceļvedis sociālajiem uzņēmumiem</h1>"#),
        "the title in Latvian: {latvian}"
    );
    assert!(
        latvian.contains(r#"hreflang="lv" lang="lv" aria-current="page">Latviešu</a>"#),
        "{latvian}"
    );
    assert!(
        latvian.contains(r#"hreflang="en" lang="en">English</a>"#),
        "{latvian}"
    );
    let similar = body.split("id=\"similar\"").nth(1).unwrap();
    assert!(
        similar.contains("href=\"/records/"),
        "a French record is similar: {similar}"
    );
    // Machine forms of the verified copy.
    let (status, ct, trig) = get(&format!("{}&format=trig", local.as_str()), "*/*", None).await;
    assert_eq!((status, ct.as_str()), (200, "application/trig"));
    assert!(trig.contains("proofValue"));
    let (status, ct, _) = get(local.as_str(), "application/ld+json", None).await;
    assert_eq!((status, ct.as_str()), (200, "application/ld+json"));
    let (status, _, _) = get(
        &format!("{fr}/catalogue/record?iri=https%3A%2F%2Fnope.example%2Frecords%2Fx"),
        "text/html",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_title_is_shown_as_text() {
    let (_tmp, nodes) = two_countries().await;
    let (fr, lv) = (&nodes[0].url, &nodes[1].url);
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
    let results = page(&search_url(fr, &[("q", "alert")])).await;
    assert!(
        results.contains(escaped) && !results.contains(HOSTILE),
        "{results}"
    );
    let local = reqwest::Url::parse_with_params(
        &format!("{fr}/catalogue/record"),
        &[("iri", format!("{lv}/records/hostile"))],
    )
    .unwrap();
    let body = page(local.as_str()).await;
    assert!(body.contains(escaped) && !body.contains(HOSTILE), "{body}");
    assert!(!body.contains("<script"), "no script at all");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_is_an_atom_feed() {
    let (_tmp, nodes) = two_countries().await;
    let fr = &nodes[0].url;
    let html = page(&search_url(fr, &[("country", LATVIA)])).await;
    assert!(html.contains("type=\"application/atom+xml\""));
    let url = search_url(fr, &[("country", LATVIA), ("format", "atom")]);
    for url in [url.clone(), url.replace("/search?", "/search.atom?")] {
        let (status, ct, xml) = get(&url, "*/*", None).await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("application/atom+xml"), "{ct}");
        let feed: atom_syndication::Feed = xml.parse().unwrap();
        assert_eq!(feed.entries.len(), 6, "{xml}");
        assert!(
            feed.entries
                .iter()
                .all(|e| e.links[0].href.contains("/catalogue/record?iri="))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rdf_and_json_clients_get_what_they_got() {
    let (_tmp, nodes) = two_countries().await;
    let fr = &nodes[0].url;
    let record = format!("{fr}/records/annuaire-incubateurs-accelerateurs");
    for (accept, media_type) in [
        ("*/*", "application/trig"),
        ("application/n-quads", "application/n-quads"),
        ("application/ld+json", "application/ld+json"),
        ("text/turtle", "text/turtle"),
    ] {
        let (status, ct, _) = get(&record, accept, None).await;
        assert_eq!((status, ct.as_str()), (200, media_type), "{accept}");
    }
    assert!(page(&record).await.contains("Signature verified"));
    let (_, ct, _) = get(&format!("{fr}/node"), "text/turtle", None).await;
    assert_eq!(ct, "text/turtle");
    assert!(page(&format!("{fr}/node")).await.contains("Signing keys"));
    let (_, ct, _) = get(&format!("{fr}/status"), "*/*", None).await;
    assert_eq!(ct, "application/json");
    let status = page(&format!("{fr}/status")).await;
    assert!(
        status.contains("lv (lv)") && status.contains("Refused versions"),
        "{status}"
    );
    let (_, ct, _) = get(&format!("{fr}/feed"), "*/*", None).await;
    assert!(ct.starts_with("application/trig"), "{ct}");
    let (_, ct, _) = get(&format!("{fr}/feed?format=jsonld"), "text/html", None).await;
    assert!(ct.starts_with("application/ld+json"), "{ct}");
    assert!(page(&format!("{fr}/feed")).await.contains("Latest changes"));
}
