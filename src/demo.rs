//! `ccis demo`: the five-node sample federation of `examples/`, on one machine.
//!
//! Creates the nodes (with the demo-only keys of `examples/keys/`, pinned in
//! `peers.toml`), publishes their sample records, then has every record
//! verified against `peers.toml` from a TriG and a JSON-LD export.

use crate::cli::{ExportFormat, export_records, serialize_records};
use crate::keys;
use crate::node::{InitOptions, Node};
use crate::peers::Peers;
use crate::rdf_input::{self, InputFormat, PinnedContexts};
use crate::signed;
use crate::verify::{self, Trust};
use anyhow::{Context, bail};
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

/// Sample records each node withdraws after publishing (closed calls), so the
/// federation also holds signed tombstones.
pub const SAMPLE_WITHDRAWALS: &[(&str, &str)] = &[("fr-avise", "appel-a-projets-fse-2022")];

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
}

/// Sets up the sample federation under `root` and returns one summary per node.
pub fn build(root: &Path, repo: &Path) -> anyhow::Result<Vec<NodeSummary>> {
    let examples = repo.join("examples");
    if !examples.join("records").is_dir() {
        bail!(
            "{} has no records/ folder: run the demo from the repository root or pass --repo",
            examples.display()
        );
    }
    let peers = Peers::load(&repo.join("peers.toml"))?;
    let exports = root.join("exports");
    std::fs::create_dir_all(&exports)?;
    let mut summaries = Vec::new();
    for (folder, id) in SAMPLE_NODES {
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
        let node = Node::init(
            &root.join(id),
            InitOptions {
                id: (*id).to_owned(),
                country: peer.country.clone(),
                base_url: peer.base_url.clone(),
                name: peer.name.clone(),
                key: Some(key),
            },
        )?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(examples.join("records").join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| InputFormat::from_path(p).is_some())
            .collect();
        files.sort();
        let records = node.read_records(&files, None)?;
        let published = node.publish(records)?;
        for (_, slug) in SAMPLE_WITHDRAWALS.iter().filter(|(n, _)| n == id) {
            node.withdraw(&node.config.record_iri(slug))?;
        }
        let signed = export_records(&node, &[])?;
        let mut verified = [0usize; 2];
        for (i, format) in [ExportFormat::Trig, ExportFormat::Jsonld]
            .into_iter()
            .enumerate()
        {
            let (ext, input) = match format {
                ExportFormat::Jsonld => ("jsonld", InputFormat::JsonLd),
                _ => ("trig", InputFormat::TriG),
            };
            let path = exports.join(format!("{id}.{ext}"));
            std::fs::write(&path, serialize_records(&signed, format)?)?;
            let bytes = rdf_input::read_file(&path, u64::MAX)?;
            let quads = rdf_input::parse(
                &bytes,
                input,
                None,
                &path.display().to_string(),
                &PinnedContexts::default(),
            )?;
            for found in signed::records_in(&quads) {
                let verdict = verify::verify_record(&found, &Trust::Peers(&peers));
                match verdict.result {
                    Ok(_) => verified[i] += 1,
                    Err(_) => bail!("demo: {verdict}"),
                }
            }
        }
        let by_class = node.store.counts()?.by_class;
        summaries.push(NodeSummary {
            id: (*id).to_owned(),
            records: published.len(),
            by_class,
            verified_trig: verified[0],
            verified_jsonld: verified[1],
        });
    }
    Ok(summaries)
}

/// Runs the demo and prints its summary.
pub fn run(dir: Option<PathBuf>, repo: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let root = match dir {
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
    };
    writeln!(out, "Creating the sample federation in {}", root.display())?;
    let summaries = build(&root, repo)?;
    let classes: Vec<&str> = crate::vocab::RECORD_CLASSES
        .iter()
        .map(|(_, n)| *n)
        .collect();
    write!(out, "\n{:<10} {:>7}", "node", "records")?;
    for c in &classes {
        write!(out, " {:>width$}", short(c), width = short(c).len().max(5))?;
    }
    writeln!(out, "  verified (TriG / JSON-LD)")?;
    let mut total = 0;
    for s in &summaries {
        write!(out, "{:<10} {:>7}", s.id, s.records)?;
        for (c, (_, n)) in classes.iter().zip(&s.by_class) {
            write!(out, " {:>width$}", n, width = short(c).len().max(5))?;
        }
        writeln!(out, "  {} / {}", s.verified_trig, s.verified_jsonld)?;
        total += s.records;
    }
    writeln!(
        out,
        "\n{total} records published and signed by 5 nodes; every one verified against peers.toml."
    )?;
    writeln!(
        out,
        "Node directories: {}/<node id>; exports: {}/exports/",
        root.display(),
        root.display()
    )?;
    writeln!(
        out,
        "Try: cargo run -- status --dir {}/fr-avise",
        root.display()
    )?;
    Ok(())
}

fn short(class: &str) -> &str {
    match class {
        "SupportProgramme" => "Programme",
        "Organisation" => "Org",
        other => other,
    }
}
