//! Real nodes on loopback harvesting each other: convergence, relay through
//! the European node, updates and withdrawals propagating, one copy per record.

mod common;

use common::{harvest, holdings};

#[tokio::test(flavor = "multi_thread")]
async fn national_nodes_converge_directly_and_through_the_relay() {
    let fr = common::publish_samples("fr", 5);
    let es = common::publish_samples("es", 4);
    let (_tmp, nodes) = common::federation(
        &[
            ("fr", "national"),
            ("es", "national"),
            ("eu", "european"),
            ("lv", "national"),
        ],
        "",
        |id, node| match id {
            "fr" => fr(node),
            "es" => es(node),
            _ => {}
        },
    )
    .await;
    let [fr, es, eu, lv] = [&nodes[0], &nodes[1], &nodes[2], &nodes[3]];

    // The European node aggregates the nationals.
    let reports = harvest(eu, None).await;
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    assert_eq!(holdings(&eu.store).len(), 9);
    // Latvia harvests only the European node and gets everything, each record
    // verified against its origin's pinned key.
    let reports = harvest(lv, Some("eu")).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].accepted, 9, "{reports:?}");
    assert_eq!(reports[0].refused_total(), 0, "{reports:?}");
    assert_eq!(holdings(&lv.store), holdings(&eu.store));
    for e in lv.store.entries().unwrap() {
        assert!(["fr", "es"].contains(&e.origin.as_str()), "{e:?}");
        assert_eq!(e.source, eu.url, "came through the relay");
        let origin = if e.origin == "fr" { fr } else { es };
        assert!(e.verified_with.contains(&origin.public_key), "{e:?}");
    }
    // France harvests everyone: Spain's records come directly and through the
    // relay, and are stored once.
    let reports = harvest(fr, None).await;
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let fr_holds = holdings(&fr.store);
    assert_eq!(fr_holds.len(), 9);
    let members = fr.store.member_count().unwrap();
    assert_eq!(members, 9, "one feed entry per version, whatever the paths");
    let known: u64 = reports.iter().map(|r| r.known).sum();
    assert!(
        known >= 4,
        "the relay's copies were recognised: {reports:?}"
    );

    // An update and a withdrawal at the origin reach Latvia through the relay.
    let client = reqwest::Client::new();
    let files = common::sample_files("fr");
    let changed = std::fs::read_to_string(&files[0]).unwrap().replacen(
        "dct:description \"",
        "dct:description \"Mise à jour. ",
        1,
    );
    let r = client
        .post(format!("{}/api/records", fr.url))
        .bearer_auth(&fr.token)
        .header("content-type", "text/turtle")
        .body(changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let updated = format!(
        "{}/records/{}",
        fr.url,
        files[0].file_stem().unwrap().to_str().unwrap()
    );
    let withdrawn_slug = files[1].file_stem().unwrap().to_str().unwrap();
    let r = client
        .delete(format!("{}/api/records/{withdrawn_slug}", fr.url))
        .bearer_auth(&fr.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    harvest(eu, None).await;
    let reports = harvest(lv, Some("eu")).await;
    assert_eq!(reports[0].accepted, 2, "{reports:?}");
    let lv_holds = holdings(&lv.store);
    assert!(
        lv_holds.contains(&(updated.clone(), 2, "current".into())),
        "{lv_holds:?}"
    );
    let withdrawn = format!("{}/records/{withdrawn_slug}", fr.url);
    assert!(
        lv_holds.contains(&(withdrawn, 2, "withdrawn".into())),
        "{lv_holds:?}"
    );
    assert_eq!(lv_holds.len(), 9, "a withdrawal replaces, never deletes");
    // Everyone converges: same catalogue on every node.
    for n in [fr, es, eu, lv] {
        harvest(n, None).await;
    }
    for n in [es, eu, lv] {
        assert_eq!(holdings(&n.store), holdings(&fr.store), "{}", n.id);
    }
    // A round in which nothing changed reads one page per peer (304) and stores nothing.
    let members = lv.store.member_count().unwrap();
    let reports = harvest(lv, None).await;
    for r in &reports {
        assert_eq!(
            (r.accepted, r.refused_total(), r.error.as_deref()),
            (0, 0, None),
            "{r:?}"
        );
    }
    let status = lv.store.peer_states().unwrap();
    assert!(status["eu"].last_success.is_some());
    assert_eq!(lv.store.member_count().unwrap(), members);
    // The status is served as JSON.
    let s: serde_json::Value = client
        .get(format!("{}/status", lv.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["records"], 9);
    assert!(s["peers"]["eu"]["accepted"].as_u64().unwrap() >= 11, "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ccis_serve_harvests_its_peers_by_itself() {
    let (_tmp, peers) = common::federation(&[("es", "national")], "", |_, node| {
        common::publish_samples("es", 3)(node)
    })
    .await;
    let es = &peers[0];
    // A node served by the binary, trusting es.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fr");
    common::init_node(&dir, "fr", "FR", "https://fr.example", &[]);
    std::fs::write(
        dir.join("peers.toml"),
        common::peer_entry("es", "national", &es.url, &es.public_key, ""),
    )
    .unwrap();
    let (mut child, url) = common::spawn_serve(&dir, false);
    // The first round starts with the server; wait for it in /status (up to
    // five minutes: a slow machine is given time, a fast one does not wait).
    let mut status = serde_json::Value::Null;
    for _ in 0..3000 {
        status = reqwest::get(format!("{url}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["peers"]["es"]["last_success"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    assert_eq!(status["peers"]["es"]["accepted"], 3, "{status}");
    assert_eq!(status["records"], 3, "{status}");
}
