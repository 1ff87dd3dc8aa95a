//! The search index of a real node directory: publishing, searching and
//! withdrawing through `ccis`; a harvest round taking a withdrawn record
//! out of the results; and a `ccis` killed between a store write and the
//! index commit, whose index matches the store once it is opened again.

mod common;

use std::path::Path;

/// `ccis search --dir DIR ARGS…`: the number of records and the IRIs listed.
fn search(dir: &Path, args: &[&str]) -> (u64, Vec<String>) {
    let mut all = vec!["search", "--dir", dir.to_str().unwrap(), "--limit", "100"];
    all.extend_from_slice(args);
    let (ok, out, err) = common::ccis(&all);
    assert!(ok, "ccis search {args:?}: {err}");
    let mut lines = out.lines();
    let total = lines
        .next()
        .and_then(|l| l.strip_suffix(" record(s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let iris = lines
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect();
    (total, iris)
}

fn publish(
    dir: &Path,
    files: &[std::path::PathBuf],
    env: Option<(&str, &str)>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(common::ccis_bin());
    cmd.args(["publish", "--dir", dir.to_str().unwrap()])
        .args(files)
        .env_remove("RUST_LOG");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The feed position the index on disk last committed (its commit payload).
fn committed_position(dir: &Path) -> u64 {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index/meta.json")).unwrap())
            .unwrap();
    let payload: serde_json::Value =
        serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap();
    payload["position"].as_u64().unwrap()
}

#[test]
fn publish_search_withdraw_and_reindex_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fr");
    common::init_node(&dir, "fr-avise", "FR", "https://fr.example", &[]);
    let files = common::sample_files("fr");
    let out = publish(&dir, &files, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let guide = "https://fr.example/records/guide-evaluer-impact-social";
    // English stemming (assessing → assess) and French (évaluer, accents folded).
    for words in [
        &["assessing", "impact"][..],
        &["evaluer", "l'impact"],
        &["ÉVALUER"],
    ] {
        let (_, iris) = search(&dir, words);
        assert!(iris.iter().any(|i| i == guide), "{words:?}: {iris:?}");
    }
    let (all, _) = search(&dir, &[]);
    assert_eq!(all, files.len() as u64);
    let (origin, _) = search(&dir, &["--facet", "origin=fr-avise"]);
    assert_eq!(origin, all);
    let (latvian, _) = search(&dir, &["--facet", "language=lv"]);
    assert_eq!(latvian, 0);
    let (ok, _, err) = common::ccis(&["withdraw", "--dir", dir.to_str().unwrap(), guide]);
    assert!(ok, "{err}");
    let (n, iris) = search(&dir, &["evaluer"]);
    assert!(!iris.iter().any(|i| i == guide), "{iris:?}");
    assert_eq!(search(&dir, &[]).0, all - 1, "{n}");
    let (ok, out, err) = common::ccis(&["reindex", "--dir", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{} record(s)", all - 1)), "{out}");
    assert_eq!(search(&dir, &[]).0, all - 1);
}

#[test]
fn a_crash_between_the_store_and_the_index_is_caught_up_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("se");
    common::init_node(&dir, "se-forum", "SE", "https://se.example", &[]);
    let files = common::sample_files("se");
    let out = publish(&dir, &files[..3], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(committed_position(&dir), 3);
    // Stored, then killed before the index commit.
    let crash = Some((ccis::node::ABORT_BEFORE_INDEXING_ENV, "1"));
    let out = publish(&dir, &files[3..], crash);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("aborting after the store write"));
    assert_eq!(committed_position(&dir), 3, "the index never saw the write");
    {
        let store = ccis::store::NodeStore::open(&dir.join("store"), "https://se.example").unwrap();
        assert_eq!(
            store.member_count().unwrap(),
            files.len() as u64,
            "the store did"
        );
    }
    // The next process opens the index, which catches up with the store.
    assert_eq!(search(&dir, &[]).0, files.len() as u64);
    assert_eq!(committed_position(&dir), files.len() as u64);
    // The same for a withdrawal.
    let first = format!(
        "https://se.example/records/{}",
        files[0].file_stem().unwrap().to_str().unwrap()
    );
    let out = std::process::Command::new(common::ccis_bin())
        .args(["withdraw", "--dir", dir.to_str().unwrap(), &first])
        .env(ccis::node::ABORT_BEFORE_INDEXING_ENV, "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (n, iris) = search(&dir, &[]);
    assert_eq!(n, files.len() as u64 - 1);
    assert!(!iris.contains(&first));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvest_round_takes_a_withdrawn_record_out_of_the_results() {
    let (_tmp, peers) = common::federation(&[("es", "national")], "", |_, node| {
        let files = common::sample_files("es");
        node.publish(node.read_records(&files[..3], None).unwrap())
            .unwrap();
    })
    .await;
    let es = &peers[0];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lv");
    common::init_node(&dir, "lv-sif", "LV", "https://lv.example", &[]);
    std::fs::write(
        dir.join("peers.toml"),
        common::peer_entry("es", "national", &es.url, &es.public_key, ""),
    )
    .unwrap();
    let harvest = |dir: &Path| {
        let (ok, out, err) = common::ccis(&["harvest", "--dir", dir.to_str().unwrap()]);
        assert!(ok, "{out}{err}");
    };
    tokio::task::block_in_place(|| harvest(&dir));
    let (n, iris) = tokio::task::block_in_place(|| search(&dir, &["--facet", "origin=es"]));
    assert_eq!(n, 3, "{iris:?}");
    let slug = iris[0].rsplit('/').next().unwrap().to_owned();
    let r = reqwest::Client::new()
        .delete(format!("{}/api/records/{slug}", es.url))
        .bearer_auth(&es.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::task::block_in_place(|| harvest(&dir));
    let (n, after) = tokio::task::block_in_place(|| search(&dir, &["--facet", "origin=es"]));
    assert_eq!(n, 2);
    assert!(!after.contains(&iris[0]), "{after:?}");
}
