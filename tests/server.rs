//! The HTTP server on loopback with a real client: records by content
//! negotiation, node description, vocabulary, and the read-only SPARQL endpoint.

mod common;

use ccis::node::{InitOptions, Node};
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::server::{AppState, ServerOptions, router};
use ccis::signed;
use ccis::verify::{self, Trust};
use std::time::Duration;

const BASE: &str = "https://ccis.example.fr";

struct Running {
    _tmp: tempfile::TempDir,
    url: String,
    node: NodeView,
    client: reqwest::Client,
}

/// What the tests read of the served node.
struct NodeView {
    config: ccis::config::NodeConfig,
    store: ccis::store::NodeStore,
}

async fn start(options: ServerOptions) -> Running {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::init(
        &tmp.path().join("node"),
        InitOptions {
            role: Default::default(),
            id: "fr-test".into(),
            country: "FR".into(),
            base_url: BASE.into(),
            name: "Test".into(),
            key: None,
        },
    )
    .unwrap();
    let samples = common::repo().join("examples/records/fr");
    let files = [samples.join("pins.ttl"), samples.join("cap-impact.ttl")];
    node.publish(node.read_records(&files, None).unwrap())
        .unwrap();
    node.withdraw(&format!("{BASE}/records/cap-impact"))
        .unwrap();
    let view = NodeView {
        config: node.config.clone(),
        store: node.store.clone(),
    };
    let state = AppState::new(node, &Default::default(), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Running {
        _tmp: tmp,
        url,
        node: view,
        client: reqwest::Client::new(),
    }
}

impl Running {
    async fn get(&self, path: &str, accept: &str) -> (u16, String, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    fn verifies(&self, body: &str, format: InputFormat) -> usize {
        let quads = rdf_input::parse(
            body.as_bytes(),
            format,
            None,
            "response",
            &PinnedContexts::default(),
        )
        .unwrap();
        let key = ccis::keys::parse_public_multikey(&self.node.config.keys[0].public_key).unwrap();
        signed::records_in(&quads)
            .iter()
            .filter(|f| verify::verify_record(f, &Trust::Key(key)).result.is_ok())
            .count()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_node_and_vocabulary_by_content_negotiation() {
    let n = start(ServerOptions::default()).await;
    let (status, ct, body) = n.get("/records/pins", "*/*").await;
    assert_eq!((status, ct.as_str()), (200, "application/trig"));
    assert_eq!(
        n.verifies(&body, InputFormat::TriG),
        1,
        "served TriG verifies: {body}"
    );
    let (status, ct, body) = n.get("/records/pins", "application/n-quads").await;
    assert_eq!((status, ct.as_str()), (200, "application/n-quads"));
    assert_eq!(n.verifies(&body, InputFormat::NQuads), 1);
    let (status, ct, body) = n.get("/records/pins", "application/ld+json").await;
    assert_eq!((status, ct.as_str()), (200, "application/ld+json"));
    assert!(body.contains("\"proof\""), "{body}");
    assert_eq!(n.verifies(&body, InputFormat::JsonLd), 1);
    let (status, ct, body) = n.get("/records/pins", "text/turtle").await;
    assert_eq!((status, ct.as_str()), (200, "text/turtle"));
    assert!(
        body.contains("P'INS") && !body.contains("proofValue"),
        "{body}"
    );
    let (status, ct, body) = n.get("/records/pins", "text/html,*/*;q=0.8").await;
    assert_eq!((status, ct.as_str()), (200, "text/html; charset=utf-8"));
    assert!(
        body.contains(">P&#39;INS") || body.contains(">P'INS"),
        "{body}"
    );
    assert_eq!(n.get("/records/pins", "image/png").await.0, 406);
    assert_eq!(n.get("/records/nothing-here", "*/*").await.0, 404);
    let (status, _, body) = n.get("/records/cap-impact", "application/trig").await;
    assert_eq!(status, 410, "withdrawn records answer 410 Gone");
    assert!(body.contains("Withdrawn"), "{body}");
    assert_eq!(
        n.verifies(&body, InputFormat::TriG),
        1,
        "the tombstone is signed"
    );

    let (status, ct, body) = n.get("/node", "text/turtle").await;
    assert_eq!((status, ct.as_str()), (200, "text/turtle"));
    assert!(
        body.contains(&n.node.config.keys[0].public_key) && body.contains("did:key:z6Mk"),
        "{body}"
    );
    assert!(
        body.contains("fr-test") && body.contains("/country/FRA"),
        "{body}"
    );
    assert_eq!(n.get("/node", "application/ld+json").await.0, 200);

    let (status, _, body) = n.get("/vocab/shapes.ttl", "*/*").await;
    assert_eq!(status, 200);
    assert!(body.contains("sh:NodeShape"));
    assert_eq!(
        n.get("/vocab/context.jsonld", "*/*").await.1,
        "application/ld+json"
    );
    assert_eq!(n.get("/vocab/secret.key", "*/*").await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn sparql_protocol_is_read_only_and_time_limited() {
    // SPARQL worker processes, as `ccis serve` runs them.
    let n = start(ServerOptions {
        worker_program: Some(common::ccis_bin().to_owned()),
        ..Default::default()
    })
    .await;
    let titles = "SELECT DISTINCT ?r ?t WHERE { GRAPH ?r { ?r a ?c ; <http://purl.org/dc/terms/title> ?t } FILTER(lang(?t) = 'en' && STRSTARTS(STR(?c), 'https://w3id.org/ccis/ns#')) }";
    let r = n
        .client
        .get(format!("{}/sparql", n.url))
        .query(&[("query", titles)])
        .header("Accept", "application/sparql-results+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        json["results"]["bindings"].as_array().unwrap().len(),
        1,
        "{json}"
    );
    let r = n
        .client
        .post(format!("{}/sparql", n.url))
        .form(&[("query", titles)])
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let ct = r.headers()["content-type"].clone();
    let body = r.text().await.unwrap();
    assert_eq!(ct, "text/csv; charset=utf-8", "{body}");
    assert!(body.contains("P'INS"), "{body}");
    let r = n
        .client
        .post(format!("{}/sparql", n.url))
        .header("Content-Type", "application/sparql-query")
        .header("Accept", "application/sparql-results+xml")
        .body("ASK { ?s a <https://w3id.org/ccis/ns#Withdrawn> }")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<boolean>true</boolean>"));
    let r = n
        .client
        .get(format!("{}/sparql", n.url))
        .query(&[(
            "query",
            "CONSTRUCT { ?r a ?c } WHERE { GRAPH ?r { ?r a ?c } }",
        )])
        .header("Accept", "application/n-triples")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/n-triples");
    assert!(r.text().await.unwrap().contains("SupportProgramme"));
    // The service description, and CORS for browsers.
    let r = n
        .client
        .get(format!("{}/sparql", n.url))
        .header("Origin", "https://example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.text().await.unwrap().contains("sd:Service"));

    // Updates are refused, however they come, and nothing changes.
    let before = n.node.store.oxigraph().len().unwrap();
    let update = "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }";
    let statuses = [
        n.client
            .post(format!("{}/sparql", n.url))
            .header("Content-Type", "application/sparql-update")
            .body(update)
            .send()
            .await
            .unwrap()
            .status(),
        n.client
            .post(format!("{}/sparql", n.url))
            .form(&[("update", update)])
            .send()
            .await
            .unwrap()
            .status(),
        n.client
            .get(format!("{}/sparql", n.url))
            .query(&[("query", update)])
            .send()
            .await
            .unwrap()
            .status(),
    ];
    assert!(statuses.iter().all(|s| s.as_u16() == 403), "{statuses:?}");
    assert_eq!(n.node.store.oxigraph().len().unwrap(), before);

    // SERVICE calls go nowhere.
    let r = n
        .client
        .get(format!("{}/sparql", n.url))
        .query(&[(
            "query",
            "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A runaway query is stopped at a limit of a few milliseconds: an ORDER
    // BY over a cross product of every quad with itself three times, which no
    // machine sorts in 5 ms; its worker is killed before the 503 is sent.
    let n = start(ServerOptions {
        query_timeout: Duration::from_millis(5),
        worker_program: Some(common::ccis_bin().to_owned()),
        ..Default::default()
    })
    .await;
    let heavy = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g";
    let r = n
        .client
        .get(format!("{}/sparql", n.url))
        .query(&[("query", heavy)])
        .send()
        .await
        .unwrap();
    let (status, ct) = (r.status(), r.headers()["content-type"].clone());
    let body = r.text().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(ct, "application/problem+json");
    assert!(body.contains("time limit"), "{body}");
}

#[test]
fn ccis_serve_answers_and_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    common::init_node(&dir, "fr-test", "FR", BASE, &[]);
    let (child, url) = common::spawn_serve(&dir, true);
    let body = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("{url}/node"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(body.contains("fr-test"), "{body}");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "exit 0 after SIGTERM: {:?}",
        output.status
    );
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("GET") && log.contains("/node") && log.contains("200"),
        "one line per request: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn service_calls_reach_peers_only() {
    let pins = common::repo().join("examples/records/fr/pins.ttl");
    let b = common::serve_node(
        "fr-peer",
        Default::default(),
        |_| {},
        |node| {
            node.publish(node.read_records(&[pins], None).unwrap())
                .unwrap();
        },
    )
    .await;
    let peers = ccis::peers::Peers::parse(&format!(
        "[[peer]]\nid = \"fr-peer\"\nname = \"Peer\"\ncountry = \"FR\"\nrole = \"national\"\nbase_url = \"{}\"\n[[peer.keys]]\npublic_key = \"{}\"\n",
        b.url, b.config.keys[0].public_key
    ))
    .unwrap();
    let a = common::serve_node("fr-asker", peers, |_| {}, |_| {}).await;
    // A listener that must never see a connection.
    let canary = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let canary_url = format!("http://{}/sparql", canary.local_addr().unwrap());
    let client = reqwest::Client::new();
    let ask = |query: String| {
        client
            .post(format!("{}/sparql", a.url))
            .header("content-type", "application/sparql-query")
            .header("accept", "application/sparql-results+json")
            .body(query)
            .send()
    };
    let titles = format!(
        "SELECT ?t WHERE {{ SERVICE <{}/sparql> {{ GRAPH ?r {{ ?r <http://purl.org/dc/terms/title> ?t }} }} }}",
        b.url
    );
    let r = ask(titles).await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("P'INS"), "{body}");
    for target in [
        canary_url.clone(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let r = ask(format!(
            "SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}"
        ))
        .await
        .unwrap();
        assert_eq!(r.status(), 400);
        let body = r.text().await.unwrap();
        assert!(body.contains("refused") && body.contains(&target), "{body}");
    }
    let contacted = tokio::time::timeout(Duration::from_millis(300), canary.accept()).await;
    assert!(
        contacted.is_err(),
        "a SERVICE call reached a host that is not a peer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn web_catalogue_speaks_the_visitors_language() {
    let files = common::sample_files("fr");
    let n = common::serve_node(
        "fr-web",
        Default::default(),
        |_| {},
        |node| {
            node.publish(node.read_records(&files[..5], None).unwrap())
                .unwrap();
        },
    )
    .await;
    let client = reqwest::Client::new();
    let get = |lang: &str| {
        client
            .get(format!("{}/", n.url))
            .header("accept-language", lang)
            .send()
    };
    let r = get("fr-FR,fr;q=0.9,en;q=0.5").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-language"], "fr");
    let fr = r.text().await.unwrap();
    assert!(fr.contains("Catalogue européen"), "{fr}");
    assert!(fr.contains("Annuaire des incubateurs"), "{fr}");
    let en = get("en").await.unwrap().text().await.unwrap();
    assert!(
        en.contains("Directory of social innovation incubators"),
        "{en}"
    );
    assert!(en.contains("/feed") && en.contains("/sparql"));
    let lv = client
        .get(format!("{}/?lang=lv", n.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(lv.contains("Eiropas sociālo inovāciju katalogs"), "{lv}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_http_error_is_an_rfc_9457_problem() {
    let n = start(ServerOptions::default()).await;
    let cases = [
        (reqwest::Method::GET, "/no/such/path", "", 404, "not-found"),
        (
            reqwest::Method::DELETE,
            "/feed",
            "",
            405,
            "method-not-allowed",
        ),
        (reqwest::Method::GET, "/records/nope", "", 404, "not-found"),
        (
            reqwest::Method::GET,
            "/feed",
            "image/png",
            406,
            "not-acceptable",
        ),
        (
            reqwest::Method::POST,
            "/api/records",
            "",
            401,
            "unauthorized",
        ),
    ];
    for (method, path, accept, status, kind) in cases {
        let mut request = n.client.request(method.clone(), format!("{}{path}", n.url));
        if !accept.is_empty() {
            request = request.header("accept", accept);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body["type"],
            format!("https://w3id.org/ccis/problems#{kind}"),
            "{method} {path}: {body}"
        );
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
}
