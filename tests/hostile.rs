//! Hostile and broken peers, served by a raw HTTP test server with crafted
//! pages: each fault is refused with the right rule, the good records of the
//! same page are kept, and no peer stops the harvest of the others.

mod common;

use ccis::canon::Limits;
use ccis::feed;
use ccis::harvest::Quiet;
use ccis::node::{InitOptions, Node};
use ccis::proof;
use ccis::record::Record;
use ccis::signed::SignedRecord;
use ccis::store::{FeedMember, NodeStore, member_iri, signed_nquads};
use ed25519_dalek::SigningKey;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxrdf::{BlankNode, GraphName, Quad};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the raw server does for a request.
#[derive(Clone)]
enum Answer {
    /// Status, content type, extra header lines, body.
    Send(u16, &'static str, String, Vec<u8>),
    /// Accept, read, never answer.
    Hang,
    /// Headers, then the body one byte every 300 ms.
    Trickle,
    /// The answer, after a pause.
    Later(Duration, Box<Answer>),
}

/// Serves `answer(path, request number)` on 127.0.0.1; returns the base URL.
async fn raw_server(answer: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let mut answer = answer(&path, n);
                while let Answer::Later(pause, then) = answer {
                    tokio::time::sleep(pause).await;
                    answer = *then;
                }
                match answer {
                    Answer::Send(status, ct, extra, body) => {
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                            body.len()
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(&body).await;
                    }
                    Answer::Hang | Answer::Later(..) => {
                        tokio::time::sleep(Duration::from_secs(3600)).await
                    }
                    Answer::Trickle => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/trig\r\ncontent-length: 1000\r\n\r\n")
                            .await;
                        for _ in 0..1000 {
                            if socket.write_all(b"#").await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                    }
                }
            });
        }
    });
    url
}

fn record(base: &str, slug: &str, title: &str, version: u64) -> Record {
    common::tool_record(base, slug, title, version)
}

fn signed(r: Record, key: &SigningKey) -> SignedRecord {
    let proof = proof::sign(
        &r.document(),
        key,
        "2026-11-20T10:00:00Z",
        &Limits::default(),
    )
    .unwrap();
    SignedRecord { record: r, proof }
}

fn member(s: &SignedRecord) -> FeedMember {
    let v = s.record.version().unwrap();
    FeedMember {
        position: 0,
        member: member_iri(s.record.iri.as_str(), v),
        record: s.record.iri.clone(),
        version: v,
        modified: "2026-11-20T10:00:00Z".into(),
        signed_nquads: signed_nquads(s).unwrap(),
    }
}

fn trig(quads: &[Quad]) -> Vec<u8> {
    let mut w = RdfSerializer::from_format(RdfFormat::TriG).for_writer(Vec::new());
    for q in quads {
        w.serialize_quad(q).unwrap();
    }
    w.finish().unwrap()
}

fn page(base: &str, index: u64, next: u64, members: &[FeedMember]) -> Vec<u8> {
    let mut quads = feed::page_document(base, index, false, members).unwrap();
    let relation = BlankNode::default();
    let page = feed::page_iri(base, index);
    quads.push(Quad::new(
        page,
        ccis::vocab::TREE_RELATION,
        relation.clone(),
        GraphName::DefaultGraph,
    ));
    quads.push(Quad::new(
        relation,
        ccis::vocab::TREE_NODE,
        feed::page_iri(base, next),
        GraphName::DefaultGraph,
    ));
    trig(&quads)
}

fn stream(base: &str) -> Vec<u8> {
    trig(&feed::stream_document(base))
}

/// The stream document and two pages of the hostile peer.
type Pages = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A well-behaved real node serving three of the French sample records.
async fn honest_peer() -> common::ServedNode {
    common::serve_node(
        "good",
        Default::default(),
        |_| {},
        |node| {
            let files = common::sample_files("fr");
            node.publish(node.read_records(&files[..3], None).unwrap())
                .unwrap();
        },
    )
    .await
}

fn ok(body: Vec<u8>) -> Answer {
    Answer::Send(200, "application/trig", String::new(), body)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_and_broken_peers_are_refused_by_rule_and_stop_nobody() {
    let evil_key = SigningKey::from_bytes(&[7u8; 32]);
    let revoked_key = SigningKey::from_bytes(&[8u8; 32]);
    let other_key = SigningKey::from_bytes(&[9u8; 32]);
    let flaky_key = SigningKey::from_bytes(&[10u8; 32]);
    let mk = |k: &SigningKey| ccis::keys::public_multikey(&k.verifying_key());
    let other_base = "http://127.0.0.1:9";

    // The hostile peer's pages are built once its URL is known.
    let pages: Arc<std::sync::OnceLock<Pages>> = Arc::default();
    let served = pages.clone();
    let evil = raw_server(move |path, _| {
        let (s, p0, p1) = served.get().unwrap();
        match path {
            "/feed" => ok(s.clone()),
            "/feed/0" => ok(p0.clone()),
            "/feed/1" => ok(p1.clone()),
            _ => Answer::Send(404, "text/plain", String::new(), b"no".to_vec()),
        }
    })
    .await;
    let good1 = signed(record(&evil, "good-1", "Good one", 1), &evil_key);
    let good2a = signed(record(&evil, "good-2", "Good two", 1), &evil_key);
    let good2b = signed(record(&evil, "good-2", "Good two, revised", 2), &evil_key);
    let good3 = signed(record(&evil, "good-3", "Good three", 3), &evil_key);
    let replay3 = signed(record(&evil, "good-3", "Good three, older", 2), &evil_key);
    let good4 = signed(record(&evil, "good-4", "Good four", 1), &evil_key);
    let equivocal4 = signed(
        record(&evil, "good-4", "Good four, other content", 1),
        &evil_key,
    );
    let revoked = signed(
        record(&evil, "revoked", "Signed by a revoked key", 1),
        &revoked_key,
    );
    let foreign_key = signed(
        record(&evil, "foreign-key", "Signed by another peer's key", 1),
        &other_key,
    );
    let foreign_iri = signed(
        record(other_base, "not-mine", "Another node's IRI", 1),
        &evil_key,
    );
    let mut unsigned = member(&signed(record(&evil, "unsigned", "No proof", 1), &evil_key));
    unsigned.signed_nquads = unsigned
        .signed_nquads
        .lines()
        .filter(|l| !l.contains("_:") && !l.contains("security#proof"))
        .map(|l| format!("{l}\n"))
        .collect();
    // Too many blank nodes, and a clique of alike blank nodes meant to stall
    // canonicalization (with a proof copied from a good record).
    let r = record(&evil, "many-blanks", "Seventeen blank nodes", 1);
    let mut many = member(&signed(r.clone(), &evil_key));
    let mut extra = String::new();
    for i in 0..17 {
        extra.push_str(&format!(
            "<{}> <https://schema.org/about> _:b{i} .\n",
            r.iri.as_str()
        ));
    }
    many.signed_nquads.push_str(&extra);
    let r = record(&evil, "clique", "Blank node clique", 1);
    let mut clique = member(&signed(r.clone(), &evil_key));
    let mut edges = String::new();
    for i in 0..12 {
        edges.push_str(&format!(
            "<{}> <https://schema.org/about> _:n{i} .\n",
            r.iri.as_str()
        ));
        for j in 0..12 {
            if i != j {
                edges.push_str(&format!("_:n{i} <https://schema.org/knows> _:n{j} .\n"));
            }
        }
    }
    clique.signed_nquads.push_str(&edges);
    let good5 = signed(record(&evil, "good-5", "Good five", 1), &evil_key);
    // A record altered after signing (as a lying relay would), proof kept.
    let mut altered = member(&signed(
        record(&evil, "altered", "Original title", 1),
        &evil_key,
    ));
    altered.signed_nquads = altered
        .signed_nquads
        .replace("Original title", "Altered title");
    let page0 = vec![
        member(&good1),
        member(&good2a),
        member(&good2b),
        member(&good3),
        member(&replay3),
        member(&good4),
        member(&revoked),
        member(&foreign_key),
        member(&foreign_iri),
        unsigned,
        altered,
        many,
        clique,
    ];
    // Page 1 repeats a member of page 0, brings another content for a version
    // already stored (equivocation), adds one, and links back to page 0.
    let page1 = vec![member(&good1), member(&equivocal4), member(&good5)];
    let _ = pages.set((
        stream(&evil),
        page(&evil, 0, 1, &page0),
        page(&evil, 1, 0, &page1),
    ));

    // Broken transports.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let hang = raw_server(|_, _| Answer::Hang).await;
    let trickle = raw_server(|path, _| match path {
        "/feed" => Answer::Trickle,
        _ => Answer::Hang,
    })
    .await;
    let garbage = raw_server(|path, _| match path {
        "/feed" => ok(b"this is { not TriG".to_vec()),
        _ => Answer::Hang,
    })
    .await;
    let html =
        raw_server(|_, _| Answer::Send(200, "text/html", String::new(), b"<html></html>".to_vec()))
            .await;
    let huge = raw_server(|_, _| ok(vec![b'#'; 300_000])).await;
    let flaky_pages: Arc<std::sync::OnceLock<(Vec<u8>, Vec<u8>)>> = Arc::default();
    let flaky_served = flaky_pages.clone();
    let flaky = raw_server(move |path, n| {
        let (s, p) = flaky_served.get().unwrap();
        match (path, n) {
            (_, 0) => Answer::Send(
                503,
                "text/plain",
                "retry-after: 1\r\n".into(),
                b"busy".to_vec(),
            ),
            (_, 1) => Answer::Send(
                429,
                "text/plain",
                "retry-after: 0\r\n".into(),
                b"slow down".to_vec(),
            ),
            ("/feed", _) => ok(s.clone()),
            ("/feed/0", _) => ok(p.clone()),
            _ => Answer::Send(404, "text/plain", String::new(), Vec::new()),
        }
    })
    .await;
    let flaky_record = signed(
        record(&flaky, "after-retries", "Served after a 503 and a 429", 1),
        &flaky_key,
    );
    let flaky_page = feed::page_document(&flaky, 0, false, &[member(&flaky_record)]).unwrap();
    let _ = flaky_pages.set((stream(&flaky), trig(&flaky_page)));

    // A well-behaved real node.
    let good = honest_peer().await;

    // The victim trusts them all.
    let mut peers = String::new();
    peers.push_str(&common::peer_entry(
        "evil",
        "national",
        &evil,
        &mk(&evil_key),
        &format!(
            "[[peer.keys]]\npublic_key = \"{}\"\nrevoked = true\n",
            mk(&revoked_key)
        ),
    ));
    peers.push_str(&common::peer_entry(
        "other",
        "national",
        other_base,
        &mk(&other_key),
        "",
    ));
    peers.push_str(&common::peer_entry(
        "flaky",
        "national",
        &flaky,
        &mk(&flaky_key),
        "",
    ));
    peers.push_str(&common::peer_entry(
        "good",
        "national",
        &good.url,
        &good.config.keys[0].public_key,
        "",
    ));
    for (id, url) in [
        ("down", &down),
        ("hang", &hang),
        ("trickle", &trickle),
        ("garbage", &garbage),
        ("html", &html),
        ("huge", &huge),
    ] {
        let key = mk(&SigningKey::from_bytes(&[id.len() as u8 + 40; 32]));
        peers.push_str(&common::peer_entry(id, "national", url, &key, ""));
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("victim");
    let node = Node::init(
        &dir,
        InitOptions {
            role: Default::default(),
            id: "victim".into(),
            country: "FR".into(),
            base_url: "https://victim.example".into(),
            name: "Victim".into(),
            key: None,
        },
    )
    .unwrap();
    drop(node);
    std::fs::write(dir.join("peers.toml"), &peers).unwrap();
    let mut config = ccis::config::NodeConfig::load(&dir).unwrap();
    config.harvest.response_timeout_secs = 2;
    config.harvest.connect_timeout_secs = 2;
    config.harvest.round_timeout_secs = 30;
    config.harvest.max_page_bytes = 200_000;
    config.harvest.retries = 3;
    config.harvest.max_backoff_secs = 1;
    config.harvest.concurrency = 10;
    config.save(&dir).unwrap();
    let node = Node::open(&dir).unwrap();
    let harvester = node.harvester().unwrap();
    let reports = harvester.round(None, Arc::new(Quiet)).await;
    let by_peer = |id: &str| reports.iter().find(|r| r.peer == id).unwrap().clone();

    // The well-behaved peers are fully harvested.
    let g = by_peer("good");
    assert_eq!(
        (g.accepted, g.refused_total(), g.error.clone()),
        (3, 0, None),
        "{g:?}"
    );
    let f = by_peer("flaky");
    assert_eq!((f.accepted, f.error.clone()), (1, None), "{f:?}");
    // Each broken transport ends its own round with an error, and only its own.
    for id in ["down", "hang", "trickle", "garbage", "html", "huge"] {
        let r = by_peer(id);
        assert!(r.error.is_some(), "{id}: {r:?}");
        assert_eq!(r.accepted, 0);
        let state = node.store.peer_state(id).unwrap();
        assert_eq!(state.consecutive_failures, 1, "{id}");
        assert!(state.last_error.is_some());
    }
    assert!(by_peer("huge").error.unwrap().contains("size limit"));
    assert!(by_peer("html").error.unwrap().contains("text/html"));
    assert!(
        by_peer("trickle")
            .error
            .unwrap()
            .contains("no complete answer")
    );
    // The hostile peer: good records kept, each attack refused by its rule.
    let e = by_peer("evil");
    assert_eq!(e.error, None, "{e:?}");
    assert_eq!(
        e.accepted, 6,
        "good-1, good-2 v1 and v2, good-3 v3, good-4, good-5: {e:?}"
    );
    let refused = |rule: &str| e.refused.get(rule).copied().unwrap_or(0);
    assert_eq!(refused("2-version"), 1, "{e:?}");
    assert_eq!(refused("2-equivocation"), 1, "{e:?}");
    let rule_1: u64 = e
        .refused
        .iter()
        .filter(|(rule, _)| rule.starts_with("1-"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        rule_1, 5,
        "revoked, foreign key, foreign IRI, unsigned, altered: {e:?}"
    );
    assert_eq!(refused("3-limits"), 2, "17 blank nodes, clique: {e:?}");
    assert!(e.known >= 1, "the repeated member is recognised: {e:?}");
    let holds = common::holdings(&node.store);
    let evil_records: Vec<_> = holds
        .iter()
        .filter(|(r, _, _)| r.starts_with(&evil))
        .collect();
    assert_eq!(evil_records.len(), 5, "{holds:?}");
    assert!(holds.contains(&(format!("{evil}/records/good-2"), 2, "current".into())));
    assert!(holds.contains(&(format!("{evil}/records/good-3"), 3, "current".into())));
    assert!(!holds.iter().any(|(r, _, _)| r.starts_with(other_base)));
    // Refusals are logged with peer, record, version and rule.
    let log = std::fs::read_to_string(dir.join("refused.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9, "{log}");
    assert!(lines.iter().any(|l| l["rule"] == "2-equivocation"
        && l["record"] == format!("{evil}/records/good-4")
        && l["version"] == 1));
    // Nothing already stored is lost when a peer turns hostile later.
    let before = holds.len();
    let reports = harvester.round(Some("evil"), Arc::new(Quiet)).await;
    assert_eq!(reports[0].accepted, 0);
    assert_eq!(common::holdings(&node.store).len(), before);
    // Reading the same pages again counts and logs no refusal twice.
    assert_eq!(reports[0].refused_total(), 0, "{:?}", reports[0]);
    let log = std::fs::read_to_string(dir.join("refused.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 9);
    let state = node.store.peer_state("evil").unwrap();
    assert_eq!(state.refused.values().sum::<u64>(), 9);
    answers_sparql(&node.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_rebuilt_its_feed_is_reported_and_read_again_from_its_view_once_reset() {
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let rebuilt = Arc::new(std::sync::atomic::AtomicBool::new(false));
    type Docs = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
    let docs: Arc<std::sync::OnceLock<Docs>> = Arc::default();
    let (flag, served) = (rebuilt.clone(), docs.clone());
    let url = raw_server(move |path, _| {
        let (before, after_stream, after_page, page0) = served.get().unwrap();
        let now_rebuilt = flag.load(Ordering::SeqCst);
        match (path, now_rebuilt) {
            ("/feed", false) => ok(before.clone()),
            ("/feed/0", false) => ok(page0.clone()),
            ("/feed", true) => ok(after_stream.clone()),
            ("/feed/v2-0", true) => ok(after_page.clone()),
            _ => Answer::Send(404, "text/plain", String::new(), b"gone".to_vec()),
        }
    })
    .await;
    let one = signed(record(&url, "one", "First record", 1), &key);
    let two = signed(record(&url, "two", "Second record", 1), &key);
    let page0 = trig(&feed::page_document(&url, 0, false, &[member(&one)]).unwrap());
    // After the rebuild the view is another page holding both records.
    let after_stream = String::from_utf8(stream(&url))
        .unwrap()
        .replace("/feed/0>", "/feed/v2-0>")
        .into_bytes();
    let mut after = feed::page_document(&url, 0, false, &[member(&one), member(&two)]).unwrap();
    let renamed = feed::page_iri(&url, 0);
    let new_page = oxrdf::NamedNode::new_unchecked(format!("{url}/feed/v2-0"));
    for q in &mut after {
        if q.subject == oxrdf::NamedOrBlankNode::NamedNode(renamed.clone()) {
            q.subject = new_page.clone().into();
        }
        if q.object == oxrdf::Term::NamedNode(renamed.clone()) {
            q.object = new_page.clone().into();
        }
    }
    let _ = docs.set((stream(&url), after_stream, trig(&after), page0));

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reader");
    drop(
        Node::init(
            &dir,
            InitOptions {
                role: Default::default(),
                id: "reader".into(),
                country: "FR".into(),
                base_url: "https://reader.example".into(),
                name: "Reader".into(),
                key: None,
            },
        )
        .unwrap(),
    );
    let peers = common::peer_entry(
        "peer",
        "national",
        &url,
        &ccis::keys::public_multikey(&key.verifying_key()),
        "",
    );
    std::fs::write(dir.join("peers.toml"), peers).unwrap();
    let node = Node::open(&dir).unwrap();
    let harvester = node.harvester().unwrap();
    let first = harvester.round(None, Arc::new(Quiet)).await;
    assert_eq!(
        (first[0].accepted, first[0].error.clone()),
        (1, None),
        "{first:?}"
    );
    rebuilt.store(true, Ordering::SeqCst);
    // The stored position is gone: the round says so, with the command that
    // resets it, and reads nothing.
    let second = harvester.round(None, Arc::new(Quiet)).await;
    let error = second[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("/feed/0") && error.contains("HTTP 404"),
        "{second:?}"
    );
    assert!(error.contains("ccis harvest --reset peer"), "{error}");
    assert_eq!(
        second[0].reset_command.as_deref(),
        Some("ccis harvest --reset peer")
    );
    assert_eq!(common::holdings(&node.store).len(), 1);
    let status = node.store.peer_state("peer").unwrap();
    assert_eq!(status.last_error.as_deref(), Some(error.as_str()));
    // Once reset, the feed is read again from its view.
    ccis::harvest::reset_position(&node.store, "peer").unwrap();
    let third = harvester.round(None, Arc::new(Quiet)).await;
    assert_eq!(third[0].error, None, "{third:?}");
    assert_eq!((third[0].accepted, third[0].known), (1, 1), "{third:?}");
    assert_eq!(common::holdings(&node.store).len(), 2);
}

/// The signed record `r` with more statements.
fn with_triples(r: &Record, extra: Vec<oxrdf::Triple>) -> Record {
    let mut triples = r.triples.clone();
    triples.extend(extra);
    NodeStore::normalized(&Record::new(r.iri.clone(), triples)).unwrap()
}

/// A page linking to each of `nexts`.
fn page_to(base: &str, index: u64, nexts: &[u64], members: &[FeedMember]) -> Vec<u8> {
    let mut quads = feed::page_document(base, index, false, members).unwrap();
    for next in nexts {
        let relation = BlankNode::default();
        quads.push(Quad::new(
            feed::page_iri(base, index),
            ccis::vocab::TREE_RELATION,
            relation.clone(),
            GraphName::DefaultGraph,
        ));
        quads.push(Quad::new(
            relation,
            ccis::vocab::TREE_NODE,
            feed::page_iri(base, *next),
            GraphName::DefaultGraph,
        ));
    }
    trig(&quads)
}

/// A raw peer serving `/feed` and the pages `pages(index)` gives.
async fn peer_of(pages: impl Fn(&str, u64) -> Option<Vec<u8>> + Send + Sync + 'static) -> String {
    peer_after(Duration::ZERO, pages).await
}

/// Same as [`peer_of`], each answer after `pause`.
async fn peer_after(
    pause: Duration,
    pages: impl Fn(&str, u64) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> String {
    let base: Arc<std::sync::OnceLock<String>> = Arc::default();
    let known = base.clone();
    let url = raw_server(move |path, _| {
        let base = known.get().unwrap();
        let found = match path.strip_prefix("/feed") {
            Some("") => Some(stream(base)),
            Some(rest) => rest
                .strip_prefix('/')
                .and_then(|n| n.parse().ok())
                .and_then(|n| pages(base, n)),
            None => None,
        };
        let answer = match found {
            Some(body) => ok(body),
            None => Answer::Send(404, "text/plain", String::new(), b"no".to_vec()),
        };
        Answer::Later(pause, Box::new(answer))
    })
    .await;
    let _ = base.set(url.clone());
    url
}

/// A victim node trusting `peers` (id, base URL, key), with tiny limits.
fn bounded_victim(root: &std::path::Path, peers: &[(&str, &str, String)]) -> Node {
    let dir = root.join("victim");
    drop(
        Node::init(
            &dir,
            InitOptions {
                role: Default::default(),
                id: "victim".into(),
                country: "FR".into(),
                base_url: "https://victim.example".into(),
                name: "Victim".into(),
                key: None,
            },
        )
        .unwrap(),
    );
    let mut text = String::new();
    for (id, url, key) in peers {
        text.push_str(&common::peer_entry(id, "national", url, key, ""));
    }
    std::fs::write(dir.join("peers.toml"), text).unwrap();
    let mut config = ccis::config::NodeConfig::load(&dir).unwrap();
    let h = &mut config.harvest;
    h.response_timeout_secs = 5;
    h.round_timeout_secs = 60;
    h.concurrency = 8;
    h.record_max_bytes = 8_000;
    h.literal_max_bytes = 1_000;
    h.record_max_triples = 40;
    h.record_max_blank_nodes = 2;
    h.max_page_members = 8;
    h.max_page_relations = 3;
    h.max_pages_per_round = 4;
    config.save(&dir).unwrap();
    Node::open(&dir).unwrap()
}

/// The node still answers SPARQL over what it stored.
fn answers_sparql(store: &NodeStore) {
    let q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }";
    match store.query(q).unwrap() {
        oxigraph::sparql::QueryResults::Solutions(mut s) => assert!(s.next().unwrap().is_ok()),
        _ => panic!("no solutions"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_input_a_peer_controls_is_bounded() {
    let key = SigningKey::from_bytes(&[21u8; 32]);
    let keys: Vec<SigningKey> = (22..25).map(|b| SigningKey::from_bytes(&[b; 32])).collect();
    let mk = |k: &SigningKey| ccis::keys::public_multikey(&k.verifying_key());
    let about = oxrdf::NamedNode::new_unchecked("https://schema.org/about");
    let keyword = oxrdf::NamedNode::new_unchecked("https://schema.org/keywords");
    let lit = |s: String| oxrdf::Term::from(oxrdf::Literal::new_simple_literal(s));

    // Records over each record limit, validly signed, beside a good one and
    // a member whose content cannot be read.
    let k = key.clone();
    let (about2, keyword2) = (about.clone(), keyword.clone());
    let bounds = peer_of(move |base, n| {
        (n == 0).then(|| {
            let r = |slug: &str| record(base, slug, slug, 1);
            let t = |r: &Record, p: &oxrdf::NamedNode, o: oxrdf::Term| {
                oxrdf::Triple::new(r.iri.clone(), p.clone(), o)
            };
            let long = r("long-literal");
            let long = with_triples(&long, vec![t(&long, &about2, lit("x".repeat(1_500)))]);
            let heavy = r("heavy");
            let extra = (0..10)
                .map(|i| t(&heavy, &about2, lit(format!("{i}{}", "y".repeat(900)))))
                .collect();
            let heavy = with_triples(&heavy, extra);
            let wordy = r("wordy");
            let extra = (0..40)
                .map(|i| t(&wordy, &keyword2, lit(format!("k{i}"))))
                .collect();
            let wordy = with_triples(&wordy, extra);
            let blanks = r("blanks");
            let extra = (0..3)
                .map(|i| {
                    t(
                        &blanks,
                        &about2,
                        BlankNode::new_unchecked(format!("b{i}")).into(),
                    )
                })
                .collect();
            let blanks = with_triples(&blanks, extra);
            let mut members: Vec<FeedMember> = [r("fits"), long, heavy, wordy, blanks]
                .into_iter()
                .map(|r| member(&signed(r, &k)))
                .collect();
            let mut ghost = member(&signed(r("ghost"), &k));
            ghost.member = member_iri(ghost.record.as_str(), 4);
            ghost.signed_nquads.clear();
            members.insert(1, ghost);
            // A record of an origin not in peers.toml: information.
            let stranger = record("http://127.0.0.1:1", "stranger", "Stranger", 1);
            members.push(member(&signed(stranger, &k)));
            page_to(base, 0, &[], &members)
        })
    })
    .await;
    // A page declaring more members than accepted.
    let k = keys[0].clone();
    let wide = peer_of(move |base, n| {
        (n == 0).then(|| {
            let members: Vec<FeedMember> = (0..9)
                .map(|i| member(&signed(record(base, &format!("w{i}"), "Wide", 1), &k)))
                .collect();
            page(base, 0, 1, &members)
        })
    })
    .await;
    // A page fanning out to more pages than accepted.
    let k = keys[1].clone();
    let fanout = peer_of(move |base, n| {
        let one = [member(&signed(
            record(base, &format!("f{n}"), "Fan", 1),
            &k,
        ))];
        Some(page_to(base, n, &[n + 1, n + 2, n + 3, n + 4], &one))
    })
    .await;
    // An endless chain of pages, each linking twice to the next and to
    // itself (deduplicated, loops not followed).
    let k = keys[2].clone();
    let chain = peer_of(move |base, n| {
        let one = [member(&signed(
            record(base, &format!("c{n}"), "Chain", 1),
            &k,
        ))];
        Some(page_to(base, n, &[n + 1, n + 1, n], &one))
    })
    .await;
    let good = honest_peer().await;
    let good_key = good.config.keys[0].public_key.clone();
    let tmp = tempfile::tempdir().unwrap();
    let node = bounded_victim(
        tmp.path(),
        &[
            ("bounds", &bounds, mk(&key)),
            ("wide", &wide, mk(&keys[0])),
            ("fanout", &fanout, mk(&keys[1])),
            ("chain", &chain, mk(&keys[2])),
            ("good", &good.url, good_key),
        ],
    );
    let harvester = node.harvester().unwrap();
    let reports = harvester.round(None, Arc::new(Quiet)).await;
    let by_peer = |reports: &[ccis::harvest::PeerReport], id: &str| {
        reports.iter().find(|r| r.peer == id).unwrap().clone()
    };

    // The honest peer harvested in the same round is complete.
    let g = by_peer(&reports, "good");
    assert_eq!(
        (g.accepted, g.refused_total(), g.error.clone()),
        (3, 0, None),
        "{g:?}"
    );
    // Each record limit refuses its record by rule 3; the good one is kept.
    let b = by_peer(&reports, "bounds");
    assert_eq!((b.accepted, b.error.clone()), (1, None), "{b:?}");
    assert_eq!(b.refused.get("3-limits"), Some(&4), "{b:?}");
    assert_eq!(b.refused.get("malformed"), Some(&1), "{b:?}");
    assert_eq!((b.unknown_origin, b.refused_total()), (1, 5), "{b:?}");
    let log = std::fs::read_to_string(node.dir.root.join("refused.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let line = |slug: &str| {
        lines
            .iter()
            .find(|l| l["record"] == format!("{bounds}/records/{slug}"))
            .unwrap_or_else(|| panic!("{slug} not in {log}"))
            .clone()
    };
    for (slug, position, says) in [
        ("ghost", 2, "no content graph"),
        ("long-literal", 3, "literal of 1500 bytes"),
        ("heavy", 4, "bytes as N-Triples; at most 8000"),
        ("wordy", 5, "triples; at most 40"),
        ("blanks", 6, "3 blank nodes; at most 2"),
    ] {
        let l = line(slug);
        assert_eq!(l["peer"], "bounds", "{l}");
        assert_eq!(l["page"], format!("{bounds}/feed/0"), "{l}");
        assert_eq!(l["position"], position, "{l}");
        assert!(l["reason"].as_str().unwrap().contains(says), "{slug}: {l}");
        let version = if slug == "ghost" { 4 } else { 1 };
        assert_eq!(l["version"], version, "{l}");
    }
    let l = lines
        .iter()
        .find(|l| l["rule"] == "unknown-origin")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(l["position"], 7, "{l}");
    // A record too big is never stored, so never relayed.
    for slug in ["long-literal", "heavy", "wordy", "blanks"] {
        let iri = oxrdf::NamedNode::new_unchecked(format!("{bounds}/records/{slug}"));
        assert!(node.store.latest_member(&iri).unwrap().is_none(), "{slug}");
    }
    // Pages over the member and relation limits are refused, naming them.
    let w = by_peer(&reports, "wide");
    assert_eq!(w.accepted, 0, "{w:?}");
    let error = w.error.unwrap();
    assert!(
        error.contains("9 members") && error.contains("max_page_members"),
        "{error}"
    );
    let f = by_peer(&reports, "fanout");
    assert_eq!(f.accepted, 0, "{f:?}");
    let error = f.error.unwrap();
    assert!(
        error.contains("4 relations") && error.contains("max_page_relations"),
        "{error}"
    );
    // An endless feed: four pages a round, the next round goes on from there.
    let c = by_peer(&reports, "chain");
    assert_eq!((c.accepted, c.pages), (4, 4), "{c:?}");
    assert!(c.error.unwrap().contains("max_pages_per_round"));
    let again = harvester.round(None, Arc::new(Quiet)).await;
    let c = by_peer(&again, "chain");
    assert_eq!((c.accepted, c.known, c.pages), (3, 1, 4), "{c:?}");
    let chained = common::holdings(&node.store)
        .into_iter()
        .filter(|(r, _, _)| r.starts_with(&chain))
        .count();
    assert_eq!(chained, 7);
    // Read again: no refusal counted or logged twice, nothing lost.
    let b = by_peer(&again, "bounds");
    assert_eq!((b.refused_total(), b.known), (0, 1), "{b:?}");
    assert_eq!(
        std::fs::read_to_string(node.dir.root.join("refused.jsonl")).unwrap(),
        log
    );
    let state = node.store.peer_state("bounds").unwrap();
    assert_eq!(state.refused.values().sum::<u64>(), 5, "{state:?}");
    assert_eq!(state.not_harvested_unknown_origin, 1, "{state:?}");
    assert_eq!(by_peer(&again, "good").error, None);
    answers_sparql(&node.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_round_ends_at_its_time_limit_and_keeps_what_it_judged() {
    // An endless chain of pages, each served after 400 ms: four pages take
    // longer than the round's limit of one second, however fast the machine.
    let key = SigningKey::from_bytes(&[31u8; 32]);
    let k = key.clone();
    let slow = peer_after(Duration::from_millis(400), move |base, n| {
        let one = [member(&signed(
            record(base, &format!("s{n}"), "Slow", 1),
            &k,
        ))];
        Some(page_to(base, n, &[n + 1], &one))
    })
    .await;
    let good = honest_peer().await;
    let tmp = tempfile::tempdir().unwrap();
    let node = bounded_victim(
        tmp.path(),
        &[
            (
                "slow",
                &slow,
                ccis::keys::public_multikey(&key.verifying_key()),
            ),
            ("good", &good.url, good.config.keys[0].public_key.clone()),
        ],
    );
    let mut config = node.config.clone();
    config.harvest.round_timeout_secs = 1;
    config.harvest.max_pages_per_round = 1_000;
    let harvester = ccis::harvest::Harvester::new(
        node.store.clone(),
        &config.id,
        &config.base_url,
        ccis::peers::Peers::load_for_node(&node.dir.root).unwrap(),
        config.harvest.clone(),
        None,
    )
    .unwrap();
    let good_only = harvester.round(Some("good"), Arc::new(Quiet)).await;
    assert_eq!(
        (good_only[0].accepted, good_only[0].error.clone()),
        (3, None)
    );
    let reports = harvester.round(Some("slow"), Arc::new(Quiet)).await;
    let s = &reports[0];
    let error = s.error.clone().unwrap();
    assert!(
        error.contains("round stopped after the limit of 1 s"),
        "{error}"
    );
    assert!(s.pages < 4, "{s:?}");
    // What was judged is stored, and the position with it.
    let held = common::holdings(&node.store)
        .into_iter()
        .filter(|(r, _, _)| r.starts_with(&slow))
        .count() as u64;
    assert_eq!(held, s.accepted);
    assert_eq!(node.store.peer_state("slow").unwrap().accepted, s.accepted);
    answers_sparql(&node.store);
}
