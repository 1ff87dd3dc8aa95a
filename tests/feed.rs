//! The LDES feed on a real server: walking from `/feed`, page immutability,
//! conditional requests, resuming, every member once and verifiable.

mod common;

use ccis::feed;
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::verify::{self, Trust};
use std::collections::HashSet;

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    etag: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = client.get(url).header("Accept", accept);
    if let Some(e) = etag {
        request = request.header("If-None-Match", e);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn parse(body: &str, format: InputFormat) -> Vec<oxrdf::Quad> {
    rdf_input::parse(
        body.as_bytes(),
        format,
        None,
        "page",
        &PinnedContexts::default(),
    )
    .unwrap()
}

/// Walks the feed from `/feed`; returns (page URL, ETag, member IRIs) per page.
async fn walk(client: &reqwest::Client, url: &str) -> Vec<(String, String, Vec<String>)> {
    let (status, _, body) = fetch(client, &format!("{url}/feed"), "application/trig", None).await;
    assert_eq!(status, 200);
    let quads = parse(&body, InputFormat::TriG);
    let view = quads
        .iter()
        .find(|q| q.predicate.as_ref() == ccis::vocab::TREE_VIEW)
        .map(|q| match &q.object {
            oxrdf::Term::NamedNode(n) => n.as_str().to_owned(),
            _ => panic!("view is not an IRI"),
        })
        .expect("tree:view");
    let mut pages = Vec::new();
    let mut next = Some(view);
    let mut visited = HashSet::new();
    while let Some(page) = next.take() {
        assert!(visited.insert(page.clone()), "the feed loops at {page}");
        let (status, headers, body) = fetch(client, &page, "application/trig", None).await;
        assert_eq!(status, 200, "{page}");
        let read = feed::read_page(&parse(&body, InputFormat::TriG));
        assert!(read.unreadable.is_empty(), "{:?}", read.unreadable);
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let members = read
            .members
            .iter()
            .map(|m| m.member.as_str().to_owned())
            .collect();
        next = read.next.first().cloned();
        pages.push((page, etag, members));
    }
    pages
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_pages_walk_resume_and_never_change_once_full() {
    let files = common::sample_files("fr");
    let first: Vec<_> = files[..7].to_vec();
    let n = common::serve_node(
        "fr-feed",
        Default::default(),
        |c| c.server.page_size = 3,
        |node| {
            node.publish(node.read_records(&first, None).unwrap())
                .unwrap();
        },
    )
    .await;
    let client = reqwest::Client::new();

    // The stream description.
    let (status, headers, body) = fetch(
        &client,
        &format!("{}/feed", n.url),
        "text/turtle;q=0.1, application/trig",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/trig");
    for needle in [
        "EventStream",
        "timestampPath",
        "versionOfPath",
        "vocab/shapes.ttl",
        "/feed/0",
    ] {
        assert!(body.contains(needle), "{needle} missing from\n{body}");
    }

    // 7 members, 3 per page: two full pages and a last one with one member.
    let pages = walk(&client, &n.url).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.2.len()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    let all: Vec<&String> = pages.iter().flat_map(|p| &p.2).collect();
    let distinct: HashSet<&&String> = all.iter().collect();
    assert_eq!(distinct.len(), 7, "every member exactly once");

    // Full pages are immutable with a strong ETag; 304 on If-None-Match.
    let (status, headers, _) = fetch(&client, &pages[0].0, "application/trig", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["cache-control"],
        "public, max-age=604800, immutable"
    );
    assert!(!headers["etag"].to_str().unwrap().starts_with("W/"));
    let (status, _, body) =
        fetch(&client, &pages[0].0, "application/trig", Some(&pages[0].1)).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    // The newest page may still grow: short max-age.
    let (_, headers, _) = fetch(&client, &pages[2].0, "application/trig", None).await;
    assert_eq!(headers["cache-control"], "public, max-age=5");
    // Unknown pages.
    let (status, _, _) = fetch(
        &client,
        &format!("{}/feed/9", n.url),
        "application/trig",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch(
        &client,
        &format!("{}/feed/x", n.url),
        "application/trig",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Every member verifies against the node's key.
    let key = ccis::keys::parse_public_multikey(&n.config.keys[0].public_key).unwrap();
    for (page, _, _) in &pages {
        let (_, _, body) = fetch(&client, page, "application/n-quads", None).await;
        for m in feed::read_page(&parse(&body, InputFormat::NQuads)).members {
            let verdict = verify::verify_record(&m.found, &Trust::Key(key));
            assert!(verdict.result.is_ok(), "{verdict}");
            assert_eq!(m.found.record.iri, m.record);
        }
    }

    // Publish more through the API: a new record, a withdrawal, another new record.
    let api = |path: &str| format!("{}{path}", n.url);
    let more = std::fs::read_to_string(&files[7]).unwrap();
    let r = client
        .post(api("/api/records"))
        .bearer_auth(&n.token)
        .header("content-type", "text/turtle")
        .body(more)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let slug = first[0].file_stem().unwrap().to_str().unwrap();
    let r = client
        .delete(api(&format!("/api/records/{slug}")))
        .bearer_auth(&n.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let more = std::fs::read_to_string(&files[8]).unwrap();
    let r = client
        .post(api("/api/records"))
        .bearer_auth(&n.token)
        .header("content-type", "text/turtle")
        .body(more)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Resume: full pages did not change; the old last page did, and now links on.
    let (status, _, _) = fetch(&client, &pages[1].0, "application/trig", Some(&pages[1].1)).await;
    assert_eq!(status, 304, "a full page changed");
    let (status, headers, body) =
        fetch(&client, &pages[2].0, "application/trig", Some(&pages[2].1)).await;
    assert_eq!(
        status, 200,
        "the growing page must not answer 304 once it changed"
    );
    assert_eq!(
        headers["cache-control"],
        "public, max-age=604800, immutable"
    );
    let read = feed::read_page(&parse(&body, InputFormat::TriG));
    assert_eq!(read.members.len(), 3);
    assert_eq!(
        read.members[0].member.as_str(),
        pages[2].2[0],
        "resuming keeps the order"
    );
    assert_eq!(read.next.len(), 1);

    let after = walk(&client, &n.url).await;
    let members: Vec<&String> = after.iter().flat_map(|p| &p.2).collect();
    assert_eq!(members.len(), 10);
    assert_eq!(members.iter().collect::<HashSet<_>>().len(), 10);
    let tombstone = format!("{}/records/{slug}/versions/2", n.url);
    assert!(members.iter().any(|m| **m == tombstone), "{members:?}");
    assert_eq!(after.last().unwrap().2.len(), 1);

    // JSON-LD and N-Quads give the same members as TriG.
    for (format, media) in [
        (InputFormat::JsonLd, "application/ld+json"),
        (InputFormat::NQuads, "application/n-quads"),
    ] {
        let (status, headers, body) = fetch(&client, &after[0].0, media, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], media);
        let read = feed::read_page(&parse(&body, format));
        let got: Vec<String> = read
            .members
            .iter()
            .map(|m| m.member.as_str().to_owned())
            .collect();
        assert_eq!(got, after[0].2, "{media}");
        for m in read.members {
            assert!(
                verify::verify_record(&m.found, &Trust::Key(key))
                    .result
                    .is_ok(),
                "{media}"
            );
        }
    }
    let (status, _, _) = fetch(&client, &after[0].0, "image/png", None).await;
    assert_eq!(status, 406);
    assert_eq!(n.store.member_count().unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_cut_by_bytes_and_stay_within_what_harvesters_accept() {
    // Records of a similar weight, so that the two members a page holds by
    // bytes are two whatever the order: not the initiatives, which carry the
    // texts the Social Innovation Match shows and weigh more.
    let files: Vec<_> = common::sample_files("fr")
        .into_iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap()
                .contains("a ccis:Initiative")
        })
        .collect();
    assert!(files.len() >= 9);
    // What a member of these samples weighs, signed by a node like the one served.
    let tmp = tempfile::tempdir().unwrap();
    let scale = ccis::node::Node::init(
        &tmp.path().join("scale"),
        ccis::node::InitOptions {
            role: Default::default(),
            id: "scale".into(),
            country: "FR".into(),
            base_url: "http://127.0.0.1:65535".into(),
            name: "Scale".into(),
            key: None,
        },
    )
    .unwrap();
    let heaviest = scale
        .read_records(&files[..9], None)
        .unwrap()
        .into_iter()
        .map(|r| {
            let signed = scale.sign(r.stamped(1, "2026-11-20T10:00:00Z")).unwrap();
            let member = ccis::store::member_iri(signed.record.iri.as_str(), 1);
            let nquads = ccis::store::signed_nquads(&signed).unwrap();
            ccis::store::member_page_bytes(member.as_str(), &nquads)
        })
        .max()
        .unwrap();
    drop(scale);
    // At most two members a page by bytes, five by count.
    let max = heaviest * 2 + 4096;
    let first: Vec<_> = files[..7].to_vec();
    let n = common::serve_node(
        "fr-bytes",
        Default::default(),
        |c| {
            c.server.page_size = 5;
            c.harvest.page_max_bytes = max;
        },
        |node| {
            node.publish(node.read_records(&first, None).unwrap())
                .unwrap();
        },
    )
    .await;
    let client = reqwest::Client::new();
    let pages = walk(&client, &n.url).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.2.len()).collect();
    assert!(sizes.iter().all(|s| (1..=2).contains(s)), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 7);
    for (page, _, _) in &pages {
        let (_, _, body) = fetch(&client, page, "application/n-quads", None).await;
        assert!(
            body.len() as u64 <= max + 2048,
            "{page}: {} > {max}",
            body.len()
        );
    }
    // More members: the closed pages do not change.
    let more = std::fs::read_to_string(&files[7]).unwrap();
    let r = client
        .post(format!("{}/api/records", n.url))
        .bearer_auth(&n.token)
        .header("content-type", "text/turtle")
        .body(more)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for (page, etag, _) in &pages[..pages.len() - 1] {
        let (status, _, _) = fetch(&client, page, "application/trig", Some(etag)).await;
        assert_eq!(status, 304, "{page} changed");
    }
    let after = walk(&client, &n.url).await;
    let members: Vec<&String> = after.iter().flat_map(|p| &p.2).collect();
    assert_eq!(members.len(), 8);
    assert_eq!(members.iter().collect::<HashSet<_>>().len(), 8);

    // A harvester accepting pages of `max` bytes harvests it all.
    let dir = tmp.path().join("reader");
    drop(
        ccis::node::Node::init(
            &dir,
            ccis::node::InitOptions {
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
        "fr-bytes",
        "national",
        &n.url,
        &n.config.keys[0].public_key,
        "",
    );
    std::fs::write(dir.join("peers.toml"), peers).unwrap();
    let mut config = ccis::config::NodeConfig::load(&dir).unwrap();
    config.harvest.max_page_bytes = (max + 4096) as usize;
    config.save(&dir).unwrap();
    let reader = ccis::node::Node::open(&dir).unwrap();
    let reports = reader
        .harvester()
        .unwrap()
        .round(None, std::sync::Arc::new(ccis::harvest::Quiet))
        .await;
    assert_eq!(
        (reports[0].accepted, reports[0].error.clone()),
        (8, None),
        "{reports:?}"
    );
}
