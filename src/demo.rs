//! `ccis demo`: the five-node sample federation of `examples/`, on one machine.
//!
//! Creates the nodes (with the demo-only keys of `examples/keys/`, pinned in
//! `peers.toml`), publishes their sample records, has every record verified
//! against `peers.toml` from a TriG and a JSON-LD export, then serves the five
//! nodes on the loopback addresses of `peers.toml`, lets the national nodes
//! harvest each other and the European node, and the European node aggregate
//! them all, prints what each node holds and keeps serving until Ctrl-C.

use anyhow::{Context, bail};
use ccis_integrity::export::{ExportFormat, serialize_records};
use ccis_integrity::keys;
use ccis_integrity::peers::Peers;
use ccis_integrity::signed;
use ccis_integrity::verify::{self, Trust};
use ccis_model::rdf_input::{self, InputFormat, PinnedContexts};
use ccis_node::node::{InitOptions, Node};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The sample nodes: folder under `examples/records/` and node id in `peers.toml`.
pub const SAMPLE_NODES: &[(&str, &str)] = &[
    ("fr", "fr-avise"),
    ("es", "es-uafse"),
    ("se", "se-fsis"),
    ("lv", "lv-sif"),
    ("eu", "eu-eccsi"),
];

/// How often the demo nodes harvest once the demo serves.
const DEMO_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Sample records each node withdraws after publishing (closed calls), so the
/// federation also holds signed tombstones.
pub const SAMPLE_WITHDRAWALS: &[(&str, &str)] = &[("fr-avise", "appel-a-projets-fse-2022")];

/// The sample initiative the French node validates nationally (node, slug),
/// as its validator would with `ccis review decide`.
pub const SAMPLE_DECISION: (&str, &str) = ("fr-avise", "territoire-zero-chomeur");

/// One node's line in the demo summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSummary {
    /// Node id.
    pub id: String,
    /// Records published.
    pub records: usize,
    /// Counts by class, in `vocab::RECORD_CLASSES` order.
    pub by_class: Vec<(String, u64)>,
    /// Records of this node that verified from the TriG export.
    pub verified_trig: usize,
    /// Records of this node that verified from the JSON-LD export.
    pub verified_jsonld: usize,
    /// The node's operator API token (a demo prints it; a real node shows it once).
    pub api_token: Option<String>,
}

/// Sets up the sample federation under `root` with the repository's
/// `peers.toml` and returns one summary per node.
pub fn build(root: &Path, repo: &Path) -> anyhow::Result<Vec<NodeSummary>> {
    let text = std::fs::read_to_string(repo.join("peers.toml"))
        .with_context(|| format!("cannot read {}/peers.toml", repo.display()))?;
    build_with_peers(root, repo, &text)
}

/// Sets up the sample federation under `root`, the nodes at the base URLs of
/// `peers_toml` (written into every node directory), and returns one summary per node.
pub fn build_with_peers(
    root: &Path,
    repo: &Path,
    peers_toml: &str,
) -> anyhow::Result<Vec<NodeSummary>> {
    let examples = repo.join("examples");
    if !examples.join("records").is_dir() {
        bail!(
            "{} has no records/ folder: run the demo from the repository root or pass --repo",
            examples.display()
        );
    }
    let peers = Peers::parse(peers_toml).context("invalid peers.toml")?;
    let exports = root.join("exports");
    std::fs::create_dir_all(&exports)?;
    let mut summaries = Vec::new();
    for (folder, id) in SAMPLE_NODES {
        let node = create_node(root, &examples, &peers, id)?;
        std::fs::write(root.join(id).join("peers.toml"), peers_toml)?;
        let mut published = publish_samples(&node, &examples.join("records").join(folder), id)?;
        if *id == SAMPLE_DECISION.0 {
            validate_sample(&node, SAMPLE_DECISION.1)?;
            published += 1;
        }
        let verified = export_and_verify(&node, &exports, &peers, id)?;
        summaries.push(NodeSummary {
            id: (*id).to_owned(),
            records: published,
            by_class: node.store.counts()?.by_class,
            verified_trig: verified[0],
            verified_jsonld: verified[1],
            api_token: node.new_api_token.clone(),
        });
    }
    Ok(summaries)
}

/// The node's validator validates one of its initiatives nationally (every
/// criterion of the SIM checklist passed): a signed decision about the
/// version just published, which the European node finds in its queue.
fn validate_sample(node: &Node, slug: &str) -> anyhow::Result<()> {
    use ccis_model::checklist::Texts;
    use ccis_model::decision::CriterionOutcome;
    let texts = |fr: &str, en: &str| {
        Texts::from([
            ("fr".to_owned(), fr.to_owned()),
            ("en".to_owned(), en.to_owned()),
        ])
    };
    let request = ccis_node::validation::DecisionRequest {
        initiative: node.config.record_iri(slug),
        outcome: ccis_model::workflow::Outcome::Validated,
        rationale: texts(
            "Problème de grande ampleur, démarche expérimentale, résultats documentés, fort potentiel de transfert.",
            "Large-scale problem, experimental approach, documented results, strong transfer potential.",
        ),
        checklist: None,
        assessments: [
            "problem-scope",
            "approach-methodology",
            "results-benefits",
            "scaling-transfer",
        ]
        .into_iter()
        .map(|c| (c.to_owned(), CriterionOutcome::Passed, Texts::new()))
        .collect(),
        operator: "demo-validator".into(),
        version: None,
    };
    node.decide(&request)
        .with_context(|| format!("the sample decision about {slug}"))?;
    Ok(())
}

/// Creates node `id` under `root` with its demo key, which must be pinned in `peers`.
fn create_node(root: &Path, examples: &Path, peers: &Peers, id: &str) -> anyhow::Result<Node> {
    let peer = peers
        .get(id)
        .with_context(|| format!("peers.toml has no peer {id}"))?;
    let key_file = examples.join("keys").join(format!("{id}.key"));
    let key_text = std::fs::read_to_string(&key_file)
        .with_context(|| format!("cannot read demo key {}", key_file.display()))?;
    let key_line = key_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let key = keys::parse_secret_multikey(key_line)?;
    let public = keys::public_multikey(&key.verifying_key());
    if !peer.keys.iter().any(|k| k.public_key == public) {
        bail!(
            "demo key {} is not pinned for {id} in peers.toml",
            key_file.display()
        );
    }
    Node::init(
        &root.join(id),
        InitOptions {
            id: id.to_owned(),
            country: peer.country.clone(),
            base_url: peer.base_url.clone(),
            name: peer.name.clone(),
            role: peer.role,
            key: Some(key),
        },
    )
    .map_err(Into::into)
}

/// Publishes the sample records in `folder` and the node's sample
/// withdrawals; returns how many records were published.
fn publish_samples(node: &Node, folder: &Path, id: &str) -> anyhow::Result<usize> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| InputFormat::from_path(p).is_some())
        .collect();
    files.sort();
    let records = node.read_records(&files, None)?;
    let published = node.publish(records)?;
    for (_, slug) in SAMPLE_WITHDRAWALS.iter().filter(|(n, _)| *n == id) {
        node.withdraw(&node.config.record_iri(slug))?;
    }
    Ok(published.len())
}

/// Exports the node's records as TriG and JSON-LD into `exports` and verifies
/// every record read back from each against `peers`; returns the counts.
fn export_and_verify(
    node: &Node,
    exports: &Path,
    peers: &Peers,
    id: &str,
) -> anyhow::Result<[usize; 2]> {
    let signed = node.export(&[])?;
    let mut verified = [0usize; 2];
    let formats = [
        (ExportFormat::Trig, "trig", InputFormat::TriG),
        (ExportFormat::Jsonld, "jsonld", InputFormat::JsonLd),
    ];
    for (i, (format, ext, input)) in formats.into_iter().enumerate() {
        let path = exports.join(format!("{id}.{ext}"));
        std::fs::write(&path, serialize_records(&signed, format)?)?;
        let bytes = rdf_input::read_file(&path, u64::MAX)?;
        let name = path.display().to_string();
        let quads = rdf_input::parse(&bytes, input, None, &name, &PinnedContexts::default())?;
        for found in signed::records_in(&quads) {
            let verdict = verify::verify_record(&found, &Trust::Peers(peers));
            match verdict.result {
                Ok(_) => verified[i] += 1,
                Err(_) => bail!("demo: {verdict}"),
            }
        }
    }
    Ok(verified)
}

/// Options of `ccis demo`.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Where to create the nodes (default: a new temporary directory).
    pub dir: Option<PathBuf>,
    /// Only create, publish and cross-verify; serve nothing.
    pub offline: bool,
    /// Stop after the first harvest rounds instead of serving until Ctrl-C.
    pub exit: bool,
}

fn new_root(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(match dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(&d)?.next().is_some() {
                bail!("{} is not empty; give a new directory", d.display());
            }
            d
        }
        None => tempfile::Builder::new()
            .prefix("ccis-demo-")
            .tempdir()?
            .keep(),
    })
}

fn print_publishing(summaries: &[NodeSummary], out: &mut impl Write) -> anyhow::Result<()> {
    let classes: Vec<&str> = ccis_model::vocab::RECORD_CLASSES
        .iter()
        .map(|(_, n)| *n)
        .collect();
    write!(out, "\n{:<10} {:>7}", "node", "records")?;
    for c in &classes {
        write!(out, " {:>width$}", short(c), width = short(c).len().max(5))?;
    }
    writeln!(out, "  verified (TriG / JSON-LD)")?;
    let mut total = 0;
    for s in summaries {
        write!(out, "{:<10} {:>7}", s.id, s.records)?;
        for (c, (_, n)) in classes.iter().zip(&s.by_class) {
            write!(out, " {:>width$}", n, width = short(c).len().max(5))?;
        }
        writeln!(out, "  {} / {}", s.verified_trig, s.verified_jsonld)?;
        total += s.records;
    }
    writeln!(
        out,
        "\n{total} records published and signed by {} nodes; every one verified against peers.toml.",
        summaries.len()
    )?;
    Ok(())
}

/// Runs the demo and prints what it shows.
pub fn run(options: DemoOptions, repo: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let root = new_root(options.dir.clone())?;
    writeln!(out, "Creating the sample federation in {}", root.display())?;
    if options.offline {
        let summaries = build(&root, repo)?;
        print_publishing(&summaries, out)?;
        writeln!(
            out,
            "Node directories: {}/<node id>; exports: {}/exports/",
            root.display(),
            root.display()
        )?;
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(federation(&root, repo, options.exit, out))
}

/// Binds each sample node's port from `peers.toml` (or any free port when it
/// is taken) and rewrites the base URLs to match.
async fn bind_nodes(
    repo: &Path,
) -> anyhow::Result<(String, Vec<(String, tokio::net::TcpListener)>)> {
    let mut text = std::fs::read_to_string(repo.join("peers.toml"))
        .with_context(|| format!("cannot read {}/peers.toml", repo.display()))?;
    let peers = Peers::parse(&text).context("invalid peers.toml")?;
    let mut listeners = Vec::new();
    for (_, id) in SAMPLE_NODES {
        let peer = peers
            .get(id)
            .with_context(|| format!("peers.toml has no peer {id}"))?;
        let wanted = peer
            .base_url
            .strip_prefix("http://")
            .unwrap_or("")
            .to_owned();
        let listener = match tokio::net::TcpListener::bind(&wanted).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        };
        let url = format!("http://{}", listener.local_addr()?);
        if url != peer.base_url {
            text = text.replace(&format!("\"{}\"", peer.base_url), &format!("\"{url}\""));
        }
        listeners.push(((*id).to_owned(), listener));
    }
    Ok((text, listeners))
}

/// A demo node being served: its id, harvester and store.
/// A demo node: id, harvester, store and search index.
type Served = (
    String,
    ccis_harvest::Harvester,
    ccis_store::NodeStore,
    Option<std::sync::Arc<ccis_search::Index>>,
);

/// A demo node's server task.
type Serving = tokio::task::JoinHandle<Result<(), ccis_server::ServerError>>;

async fn federation(
    root: &Path,
    repo: &Path,
    exit: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (peers_toml, listeners) = bind_nodes(repo).await?;
    let summaries = {
        let (root, repo, text) = (root.to_owned(), repo.to_owned(), peers_toml.clone());
        tokio::task::spawn_blocking(move || build_with_peers(&root, &repo, &text)).await??
    };
    print_publishing(&summaries, out)?;
    let peers = Peers::parse(&peers_toml)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (nodes, servers) = serve_nodes(root, &peers, listeners, &stop_rx)?;
    writeln!(out, "\nServing the five nodes; harvesting…")?;
    let refused = first_rounds(&nodes, out).await?;
    print_holdings(&nodes, &peers, &refused, out)?;
    print_urls(&peers, &summaries, root, out)?;
    if !exit {
        writeln!(
            out,
            "\nServing until Ctrl-C; every node harvests its peers every {} s.",
            DEMO_INTERVAL.as_secs()
        )?;
        out.flush()?;
        ccis_server::shutdown_signal().await;
    }
    let _ = stop_tx.send(true);
    for s in servers {
        s.await??;
    }
    Ok(())
}

/// Serves every demo node through the same [`ccis_server::NodeServer`] as
/// `ccis serve`, until `stop` turns true.
fn serve_nodes(
    root: &Path,
    peers: &Peers,
    listeners: Vec<(String, tokio::net::TcpListener)>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(Vec<Served>, Vec<Serving>)> {
    let mut nodes = Vec::new();
    let mut servers = Vec::new();
    for (id, listener) in listeners {
        let node = Node::open_for(&root.join(&id), "`ccis demo`")?;
        let store = node.store.clone();
        let options = ccis_server::ServerOptions::from_config(&node.config);
        let server = ccis_server::NodeServer::new(node, peers, listener, options)?
            .harvest_every(DEMO_INTERVAL);
        let harvester = server
            .harvester()
            .cloned()
            .with_context(|| format!("demo node {id} has no peers to harvest"))?;
        let search = server.search_index();
        let mut stop = stop.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        // After the two rounds below, each node harvests every minute, as `ccis serve` does.
        servers.push(tokio::spawn(server.run(stopped, DEMO_INTERVAL)));
        nodes.push((id, harvester, store, search));
    }
    Ok((nodes, servers))
}

/// Two rounds: the nationals read each other and the European node, which
/// reads them all; the second round brings what the relay gathered. Returns
/// the records each node refused.
async fn first_rounds(
    nodes: &[Served],
    out: &mut impl Write,
) -> anyhow::Result<HashMap<String, u64>> {
    let mut refused = HashMap::new();
    for _ in 0..2 {
        let mut rounds = tokio::task::JoinSet::new();
        for (id, harvester, _, _) in nodes {
            let (id, harvester) = (id.clone(), harvester.clone());
            rounds.spawn(async move {
                let reports = harvester
                    .round(None, std::sync::Arc::new(ccis_harvest::Quiet))
                    .await;
                (id, reports)
            });
        }
        while let Some(done) = rounds.join_next().await {
            let (id, reports) = done?;
            for r in reports {
                if let Some(e) = &r.error {
                    writeln!(out, "  {id} could not harvest {}: {e}", r.peer)?;
                }
                *refused.entry(id.clone()).or_insert(0u64) += r.refused_total();
            }
        }
    }
    // What the rounds stored reaches each node's search index, as after a
    // round of `ccis serve`.
    for (_, _, store, search) in nodes {
        if let Some(index) = search {
            ccis_node::rounds::update_index(index.clone(), store.clone()).await;
        }
    }
    Ok(refused)
}

/// The table of what each node holds, by origin.
fn print_holdings(
    nodes: &[Served],
    peers: &Peers,
    refused: &HashMap<String, u64>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "\n{:<10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>8}  URL",
        "node", "fr", "es", "se", "lv", "eu", "total", "refused"
    )?;
    for (id, _, store, _) in nodes {
        let entries = store.entries()?;
        let mut by_origin: HashMap<String, usize> = HashMap::new();
        for e in &entries {
            *by_origin.entry(e.origin.clone()).or_default() += 1;
        }
        let url = peers
            .get(id)
            .map(|p| p.base_url.clone())
            .unwrap_or_default();
        write!(out, "{id:<10}")?;
        for (_, origin) in SAMPLE_NODES {
            write!(out, " {:>5}", by_origin.get(*origin).copied().unwrap_or(0))?;
        }
        writeln!(
            out,
            " {:>6} {:>8}  {url}/",
            entries.len(),
            refused.get(id).copied().unwrap_or(0)
        )?;
    }
    Ok(())
}

/// Where to look next: the catalogue, the feed, a record, SPARQL, the API.
fn print_urls(
    peers: &Peers,
    summaries: &[NodeSummary],
    root: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fr = peers
        .get("fr-avise")
        .map(|p| p.base_url.clone())
        .unwrap_or_default();
    let eu = peers
        .get("eu-eccsi")
        .map(|p| p.base_url.clone())
        .unwrap_or_default();
    writeln!(
        out,
        "\nEvery node now holds every record once, each verified against its origin's pinned key."
    )?;
    writeln!(out, "Open:")?;
    writeln!(
        out,
        "  {eu}/                 the European catalogue (?lang=fr, es, sv, lv)"
    )?;
    writeln!(
        out,
        "  {eu}/feed             its LDES feed, relaying every national record"
    )?;
    writeln!(
        out,
        "  {fr}/records/pins     a record (TriG, N-Quads, JSON-LD, HTML)"
    )?;
    writeln!(out, "  {eu}/status           harvest health of every peer")?;
    writeln!(
        out,
        "  {eu}/api/initiatives  initiatives and their validation state (fr-avise validated one nationally)"
    )?;
    writeln!(
        out,
        "  curl {eu}/sparql -H 'Content-Type: application/sparql-query' -H 'Accept: text/csv' --data-binary @examples/queries/records-by-origin-node.rq"
    )?;
    if let Some(token) = summaries
        .iter()
        .find(|s| s.id == "fr-avise")
        .and_then(|s| s.api_token.as_deref())
    {
        writeln!(
            out,
            "  curl -X DELETE {fr}/api/records/pins -H 'Authorization: Bearer {token}'   (withdraw; the others see it within a minute)"
        )?;
    }
    writeln!(out, "Node directories: {}/<node id>", root.display())?;
    out.flush()?;
    Ok(())
}

fn short(class: &str) -> &str {
    match class {
        "SupportProgramme" => "Programme",
        "Organisation" => "Org",
        other => other,
    }
}
