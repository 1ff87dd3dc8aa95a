//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod http;
pub mod review_site;
pub mod workflow;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/conformance` beside the repository (or `CCIS_CONFORMANCE_DIR`).
///
/// Missing data fails the test in CI (`CI=true`) and is a loud skip elsewhere.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CCIS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/conformance"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "conformance data not found at {}: CI needs ../shared/conformance beside the clone",
            dir.display()
        );
    }
    // Written to stderr directly: the test harness would capture eprintln!.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!!\n!!! SKIPPED: conformance data not found at {} (set CCIS_CONFORMANCE_DIR); these tests checked nothing\n!!!!!!!!!!",
        dir.display()
    );
    None
}

/// The `ccis` binary built for the tests.
pub fn ccis_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ccis"))
}

/// Runs `ccis` with arguments; returns (success, stdout, stderr).
pub fn ccis(args: &[&str]) -> (bool, String, String) {
    ccis_in(&repo(), args)
}

/// `ccis init` of a node in `dir` (plus `extra` arguments); fails the test
/// if it fails, else returns what it printed.
pub fn init_node(dir: &Path, id: &str, country: &str, base_url: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "init",
        "--dir",
        dir.to_str().expect("a UTF-8 path"),
        "--id",
        id,
        "--country",
        country,
        "--base-url",
        base_url,
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = ccis(&args);
    assert!(ok, "ccis init {id}: {err}");
    out
}

/// A path as the `&str` command arguments take.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A port free on 127.0.0.1 right now (for a node whose base URL must name it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `ccis serve` process, killed when dropped.
pub struct Served {
    /// The process.
    pub child: std::process::Child,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ccis serve --dir DIR` on the node's own base URL `url`, once it says it
/// listens there.
pub fn serve_at(dir: &Path, url: &str) -> Served {
    use std::io::BufRead;
    let mut child = std::process::Command::new(ccis_bin())
        .args(["serve", "--dir", s(dir)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), format!("listening on {url}"));
    Served { child }
}

/// Runs `ccis` in a working directory.
pub fn ccis_in(cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(ccis_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .current_dir(cwd)
        .output()
        .expect("run ccis");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A node served on 127.0.0.1 (ephemeral port) in a temporary directory.
pub struct ServedNode {
    /// Keeps the node directory alive.
    pub tmp: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, also the node's base URL.
    pub url: String,
    /// The operator API token.
    pub token: String,
    /// The node's configuration.
    pub config: ccis::config::NodeConfig,
    /// Its store (shared with the server).
    pub store: ccis::store::NodeStore,
    /// Its search index (shared with the server).
    pub search: std::sync::Arc<ccis::search::Index>,
}

/// Opens a node directory this process has just closed. Another test of
/// the same binary that starts a process at that moment holds a copy of the
/// directory's lock (`flock`) from its fork to its exec, so the lock may
/// still be held for an instant: tried again for up to five seconds.
pub fn reopen(dir: &Path) -> ccis::node::Node {
    let started = std::time::Instant::now();
    loop {
        match ccis::node::Node::open(dir) {
            Err(ccis::node::NodeError::Lock(ccis::dir_lock::LockError::Held { .. }))
                if started.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened.unwrap(),
        }
    }
}

/// Creates a node whose base URL is its loopback address, lets `setup` adjust
/// its configuration and publish, then serves it (trusting `peers`).
pub async fn serve_node(
    id: &str,
    peers: ccis::peers::Peers,
    configure: impl FnOnce(&mut ccis::config::NodeConfig),
    setup: impl FnOnce(&ccis::node::Node),
) -> ServedNode {
    use ccis::node::{InitOptions, Node};
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dir = tmp.path().join(id);
    let node = Node::init(
        &dir,
        InitOptions {
            role: Default::default(),
            id: id.into(),
            country: "FR".into(),
            base_url: url.clone(),
            name: format!("Test node {id}"),
            key: None,
        },
    )
    .unwrap();
    let token = node.new_api_token.clone().unwrap();
    let mut config = node.config.clone();
    drop(node);
    configure(&mut config);
    config.save(&dir).unwrap();
    let node = reopen(&dir);
    setup(&node);
    let search = node.search_index().unwrap();
    let served = ServedNode {
        url,
        token,
        config: node.config.clone(),
        store: node.store.clone(),
        search: search.clone(),
        tmp,
    };
    let options = ccis::server::ServerOptions::from_config(&node.config);
    let state = ccis::server::AppState::new(node, &peers, options).with_search(search);
    tokio::spawn(async move { axum::serve(listener, ccis::server::router(state)).await });
    served
}

/// The sample records of a folder of `examples/records/`, sorted.
pub fn sample_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/records").join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ttl"))
        .collect();
    files.sort();
    files
}

/// One node of a test federation, served on loopback.
pub struct FedNode {
    /// Node id.
    pub id: String,
    /// Its URL, also its base URL.
    pub url: String,
    /// Its operator API token.
    pub token: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its store (shared with its server).
    pub store: ccis::store::NodeStore,
    /// Its harvester (peers.toml of its directory).
    pub harvester: ccis::harvest::Harvester,
    /// Its public key (Multikey).
    pub public_key: String,
    /// Its search index (shared with its server; caught up with
    /// [`FedNode::reindex`] after a harvest).
    pub search: std::sync::Arc<ccis::search::Index>,
}

impl FedNode {
    /// Brings the node's search index up to its store.
    pub fn reindex(&self) {
        self.search.catch_up(&self.store).unwrap();
    }
}

/// Two nodes, `fr` publishing the French samples and `lv` the Latvian ones
/// plus a tool record titled `hostile_title`; `fr` has harvested `lv` and
/// brought its search index up to date.
pub async fn two_countries(hostile_title: &str) -> (tempfile::TempDir, Vec<FedNode>) {
    let (tmp, nodes) = federation(&[("fr", "national"), ("lv", "national")], "", |id, node| {
        let files = sample_files(id);
        let mut records = node.read_records(&files, None).unwrap();
        if id == "lv" {
            records.push(tool_record(
                &node.config.base_url,
                "hostile",
                hostile_title,
                1,
            ));
        }
        node.publish(records).unwrap();
    })
    .await;
    let reports = harvest(&nodes[0], Some("lv")).await;
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    nodes[0].reindex();
    (tmp, nodes)
}

/// The `[[peer]]` entry of a node, for a peers.toml.
pub fn peer_entry(id: &str, role: &str, url: &str, key: &str, extra_keys: &str) -> String {
    peer_entry_in(id, role, "FR", url, key, extra_keys)
}

/// The `[[peer]]` entry of a node of `country`, for a peers.toml.
pub fn peer_entry_in(
    id: &str,
    role: &str,
    country: &str,
    url: &str,
    key: &str,
    extra_keys: &str,
) -> String {
    format!(
        "[[peer]]\nid = \"{id}\"\nname = \"{id}\"\ncountry = \"{country}\"\nrole = \"{role}\"\nbase_url = \"{url}\"\n[[peer.keys]]\npublic_key = \"{key}\"\nvalid_from = \"2020-01-01T00:00:00Z\"\n{extra_keys}\n"
    )
}

/// Starts a federation of `(id, role)` nodes, each trusting all the others
/// (plus `extra_peers`, peers.toml text); `setup` publishes on each node
/// before it is served. Harvest nothing yet.
pub async fn federation(
    nodes: &[(&str, &str)],
    extra_peers: &str,
    setup: impl Fn(&str, &ccis::node::Node),
) -> (tempfile::TempDir, Vec<FedNode>) {
    let nodes: Vec<(&str, &str, &str)> =
        nodes.iter().map(|(id, role)| (*id, *role, "FR")).collect();
    federation_in(&nodes, extra_peers, setup).await
}

/// A node setup that publishes the first `count` sample records of
/// `examples/records/{folder}`.
pub fn publish_samples(folder: &'static str, count: usize) -> impl Fn(&ccis::node::Node) {
    move |node| {
        let files = sample_files(folder);
        node.publish(node.read_records(&files[..count], None).unwrap())
            .unwrap();
    }
}

/// A French and a Spanish national node, with the first `fr` and `es`
/// sample records of their countries published (not yet harvested).
pub async fn fr_and_es(fr: usize, es: usize) -> (tempfile::TempDir, Vec<FedNode>) {
    let fr = publish_samples("fr", fr);
    let es = publish_samples("es", es);
    federation_in(
        &[("fr", "national", "FR"), ("es", "national", "ES")],
        "",
        |id, node| match id {
            "fr" => fr(node),
            _ => es(node),
        },
    )
    .await
}

/// [`federation`] of `(id, role, country)` nodes.
pub async fn federation_in(
    nodes: &[(&str, &str, &str)],
    extra_peers: &str,
    setup: impl Fn(&str, &ccis::node::Node),
) -> (tempfile::TempDir, Vec<FedNode>) {
    use ccis::node::{InitOptions, Node};
    let tmp = tempfile::tempdir().unwrap();
    let mut bound = Vec::new();
    let mut peers_toml = String::from(extra_peers);
    for (id, role, country) in nodes {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let dir = tmp.path().join(id);
        let node = Node::init(
            &dir,
            InitOptions {
                role: if *role == "european" {
                    ccis::peers::Role::European
                } else {
                    ccis::peers::Role::National
                },
                id: (*id).into(),
                country: (*country).into(),
                base_url: url.clone(),
                name: format!("Node {id}"),
                key: None,
            },
        )
        .unwrap();
        let key = node.config.keys[0].public_key.clone();
        let token = node.new_api_token.clone().unwrap();
        peers_toml.push_str(&peer_entry_in(id, role, country, &url, &key, ""));
        bound.push((id.to_string(), url, dir, listener, token, key));
    }
    let peers = ccis::peers::Peers::parse(&peers_toml).unwrap();
    let mut out = Vec::new();
    for (id, url, dir, listener, token, key) in bound {
        std::fs::write(dir.join("peers.toml"), &peers_toml).unwrap();
        let mut config = ccis::config::NodeConfig::load(&dir).unwrap();
        config.harvest.response_timeout_secs = 5;
        config.harvest.round_timeout_secs = 60;
        config.save(&dir).unwrap();
        let node = reopen(&dir);
        setup(&id, &node);
        let harvester = node.harvester().unwrap();
        let store = node.store.clone();
        let search = node.search_index().unwrap();
        let options = ccis::server::ServerOptions::from_config(&node.config);
        let state = ccis::server::AppState::new(node, &peers, options).with_search(search.clone());
        tokio::spawn(async move { axum::serve(listener, ccis::server::router(state)).await });
        out.push(FedNode {
            id,
            url,
            token,
            dir,
            store,
            harvester,
            public_key: key,
            search,
        });
    }
    (tmp, out)
}

/// Runs one harvest round of a node (all its peers, or only `only`).
pub async fn harvest(node: &FedNode, only: Option<&str>) -> Vec<ccis::harvest::PeerReport> {
    node.harvester
        .round(only, std::sync::Arc::new(ccis::harvest::Quiet))
        .await
}

/// The (record IRI, version, status) a node holds, sorted.
pub fn holdings(store: &ccis::store::NodeStore) -> Vec<(String, u64, String)> {
    let mut v: Vec<_> = store
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| (e.record.as_str().to_owned(), e.version, e.status))
        .collect();
    v.sort();
    v
}

/// Starts `ccis serve --dir DIR` on an ephemeral loopback port (stderr piped
/// when `log` is set, else discarded); returns the child and its URL.
pub fn spawn_serve(dir: &Path, log: bool) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(ccis_bin())
        .args([
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(if log {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    (child, url)
}

/// A tool record of the node at `base` (Turtle template: `{base}/records/{slug}`,
/// an English title, the shapes' required fields), stamped with `version`.
pub fn tool_record(base: &str, slug: &str, title: &str, version: u64) -> ccis::record::Record {
    use ccis::rdf_input::{self, InputFormat, PinnedContexts};
    const TEMPLATE: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
<records/SLUG> a ccis:Tool ;
    dct:title "TITLE"@en ;
    dct:description "A guide."@en ;
    dct:language lang:ENG ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    dct:audience ccis:audience-project-holders ;
    ccis:stage ccis:stage-emergence ;
    ccis:toolType ccis:tool-type-guide ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;
    let ttl = TEMPLATE.replace("SLUG", slug).replace("TITLE", title);
    let quads = rdf_input::parse(
        ttl.as_bytes(),
        InputFormat::Turtle,
        Some(&format!("{base}/")),
        "template",
        &PinnedContexts::default(),
    )
    .unwrap();
    let r = ccis::record::split_into_records(quads, base)
        .unwrap()
        .remove(0);
    ccis::store::NodeStore::normalized(&r.stamped(version, "2026-11-20T10:00:00Z")).unwrap()
}

/// A complete proposal of an initiative as JSON (the fields of `/submit`),
/// titled `title`, from `name` at `email`.
pub fn proposal(title: &str, name: &str, email: &str) -> serde_json::Value {
    serde_json::json!({
        "language": "en",
        "title": title,
        "description": "Volunteers repair what neighbours bring, once a month.",
        "problem_addressed": "Waste of repairable objects and isolation in villages.",
        "approach": "Monthly repair sessions run by volunteers in village halls.",
        "key_results": "Objects saved from landfill; neighbours who meet.",
        "scaling_potential": "A starter kit that other villages reuse.",
        "theme": ["ecological-transition", "theme-social-inclusion"],
        "stage": "emergence",
        "level_of_action": "local",
        "organisation": "Village Association",
        "contact_name": name,
        "contact_email": email,
    })
}

/// The form body (`application/x-www-form-urlencoded`) of a JSON proposal.
pub fn form_of(proposal: &serde_json::Value) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in proposal.as_object().into_iter().flatten() {
        match v {
            serde_json::Value::Array(items) => {
                for i in items {
                    form.append_pair(k, i.as_str().unwrap_or_default());
                }
            }
            v => {
                form.append_pair(k, v.as_str().unwrap_or_default());
            }
        }
    }
    form.finish()
}
