//! The `ccis` command line: one function per command; `peer`, `node`, `key`,
//! `publish`, `review`, `submission` and `account` in modules of their own.

mod account;
mod key;
mod peer;
mod publish;
mod review;
mod submission;

use crate::demo;
use crate::export;
use crate::keys;
use crate::node::{InitOptions, Node};
use crate::peers::Peers;
use crate::rdf_input::{self, InputFormat, PinnedContexts};
use crate::signed;
use crate::verify::{self, Trust};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::sparql::QueryResults;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxrdf::Term;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A federation node for Europe's national competence centres for social innovation.
///
/// A node publishes its centre's tools, practices, programmes and initiatives
/// as signed linked-data records, and verifies the records of its peers.
#[derive(Debug, Parser)]
#[command(name = "ccis", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// TriG: each record in the graph named by its IRI, its proof in its own graph.
    Trig,
    /// N-Quads, same layout as TriG.
    Nquads,
    /// JSON-LD secured documents (one object, or an array of them).
    Jsonld,
    /// With `--sim`: JSON after docs/sim-export.schema.json.
    Json,
    /// With `--sim`: CSV, one row per initiative.
    Csv,
}

/// Query result formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueryFormat {
    /// An aligned text table.
    Table,
    /// SPARQL 1.1 Query Results JSON.
    Json,
    /// SPARQL 1.1 Query Results CSV.
    Csv,
    /// SPARQL 1.1 Query Results TSV.
    Tsv,
}

/// `ccis search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The node directory.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Select a facet value, NAME=VALUE (type, tool_type, country, theme,
    /// audience, stage, language, origin); repeat to combine.
    #[arg(long = "facet", value_name = "NAME=VALUE")]
    facets: Vec<String>,
    /// Results to print.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// The words to find (none: every record, newest first).
    words: Vec<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node: ccis.toml, a new Ed25519 key (secret.key, mode 0600) and an empty store.
    Init {
        /// The node directory to create.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Node id, e.g. fr-avise (a-z, 0-9, -).
        #[arg(long)]
        id: String,
        /// ISO 3166-1 alpha-2 code of the centre's EU member state, e.g. FR.
        #[arg(long)]
        country: String,
        /// Public base URL; records will be {base-url}/records/{slug}.
        #[arg(long)]
        base_url: String,
        /// Name of the centre (defaults to the id).
        #[arg(long)]
        name: Option<String>,
        /// The node's role: national, or european for the European centre
        /// (the level of the validation decisions it signs).
        #[arg(long, value_enum, default_value_t = peer::RoleArg::National)]
        role: peer::RoleArg,
    },
    /// Validate, version, sign and store records from Turtle, N-Triples or JSON-LD files.
    ///
    /// Subjects are {base-url}/records/{slug} or fragments of one; relative IRIs
    /// such as <records/my-guide> resolve against the node's base URL. All files
    /// are published in one transaction: if any record is refused, nothing is stored.
    /// A directory stands for its record files (.ttl .nt .nq .trig .jsonld .json,
    /// not in subdirectories), in name order; every file is read and checked
    /// before anything is published, and each bad one is named.
    Publish {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Input format, when the file extension does not tell (turtle, ntriples, jsonld).
        #[arg(long)]
        format: Option<String>,
        /// Files or directories to publish.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The operator publishing, written to the audit log (the four-eyes
        /// rule keeps them from deciding on what they published).
        #[arg(long, env = "CCIS_OPERATOR")]
        operator: Option<String>,
    },
    /// Withdraw a record: store a signed tombstone with the next version.
    Withdraw {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The record IRI.
        iri: String,
    },
    /// Write signed records with their proofs (all records, or the IRIs given);
    /// with --sim, the initiatives validated at EU level for the Social Innovation Match.
    Export {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Output format: trig (default), nquads or jsonld; with --sim, json (default) or csv.
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Export the initiatives validated at EU level (state published) with
        /// their texts in every language and their validation chain, as JSON or
        /// CSV for the Social Innovation Match, instead of signed records.
        #[arg(long, conflicts_with = "iris")]
        sim: bool,
        /// Record IRIs to export (default: all).
        iris: Vec<String>,
    },
    /// Verify signed records offline (exit 0 only if every record verifies).
    Verify {
        /// Trust the keys pinned in this peers.toml for each record's origin.
        #[arg(long, conflicts_with = "key")]
        peers: Option<PathBuf>,
        /// Trust only this public key (Multikey z6Mk…).
        #[arg(long)]
        key: Option<String>,
        /// Input format, when the file extension does not tell (trig, nquads, jsonld).
        #[arg(long)]
        format: Option<String>,
        /// Files to verify.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a read-only SPARQL query on the local store (default graph: all graphs).
    Query {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
        /// The query (or @FILE to read it from a file).
        sparql: String,
    },
    /// Show the node, its key and what its store holds, by class and language.
    Status {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Serve the node over HTTP: records, node description, vocabulary, SPARQL.
    Serve {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Address to listen on (default: from ccis.toml or the base URL).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Most seconds a SPARQL query may run (default: server.query_timeout_secs, 10).
        #[arg(long)]
        query_timeout: Option<u64>,
    },
    /// Harvest the peers of peers.toml once: verify every new version, store what passes.
    Harvest {
        /// The node directory (its peers.toml lists the peers).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Harvest only this peer.
        #[arg(long)]
        peer: Option<String>,
        /// Forget where the harvest of this peer stands, so that the next round
        /// reads its feed from the start (after the peer moved or reset its
        /// feed); harvests nothing. Stored records are kept.
        #[arg(long, value_name = "PEER", conflicts_with = "peer")]
        reset: Option<String>,
    },
    /// Re-sign every record of the node with its active key, each as a new version
    /// (after revoking a key).
    Resign {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Throw the search index away (`<dir>/index/`) and build it again from the
    /// store. Never needed for correctness: the index follows the store by
    /// itself and rebuilds itself when it is missing, corrupt or outdated.
    Reindex {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Search the records the node holds (its search index), as the web
    /// catalogue will: words in any language, facets as NAME=VALUE.
    Search(SearchArgs),
    /// Make a new operator API token (the old one stops working); prints it once.
    Token {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Pin, list, update and remove the peers this node trusts (its peers.toml).
    Peer {
        /// What to do with the peers.
        #[command(subcommand)]
        command: peer::PeerCommand,
    },
    /// This node as its peers pin it.
    Node {
        /// What to show.
        #[command(subcommand)]
        command: peer::NodeCommand,
    },
    /// The validation workflow: the initiatives awaiting this node's
    /// decision, one initiative's state and decisions, and signing a decision.
    Review {
        /// What to do.
        #[command(subcommand)]
        command: review::ReviewCommand,
    },
    /// List, rotate and revoke this node's signing keys (its ccis.toml).
    Key {
        /// What to do with the keys.
        #[command(subcommand)]
        command: key::KeyCommand,
    },
    /// The operator accounts of the validators' pages (/review): add, list, remove.
    Account {
        /// What to do with the accounts.
        #[command(subcommand)]
        command: account::AccountCommand,
    },
    /// The initiatives proposed through /submit: list, show, erase the
    /// submitter's contact, accept (publish as this node's record) or reject.
    Submission {
        /// What to do with the submissions.
        #[command(subcommand)]
        command: submission::SubmissionCommand,
    },
    /// Run the five sample nodes on 127.0.0.1: publish, serve, harvest each other, show the result.
    Demo {
        /// Where to create the nodes (default: a new temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The examples folder (records/, keys/) and peers.toml location.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Only create the nodes, publish and cross-verify their exports; serve nothing.
        #[arg(long)]
        offline: bool,
        /// Stop after harvesting and printing, instead of serving until Ctrl-C.
        #[arg(long)]
        exit: bool,
    },
}

/// Stack of the thread that runs `ccis query`.
const QUERY_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Runs a parsed command line: one arm per command, each handing its
/// arguments to the function that carries it out (a dispatch table, longer
/// than 60 lines only because the commands are many).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let out = &mut stdout;
    match cli.command {
        Command::Init {
            dir,
            id,
            country,
            base_url,
            name,
            role,
        } => {
            let options = InitOptions {
                name: name.unwrap_or_else(|| id.clone()),
                id,
                country,
                base_url,
                role: role.into(),
                key: None,
            };
            cmd_init(&dir, options, out)
        }
        Command::Publish {
            dir,
            format,
            files,
            operator,
        } => publish::cmd_publish(&dir, format.as_deref(), &files, operator.as_deref(), out),
        Command::Review { command } => review::run(command, out),
        Command::Withdraw { dir, iri } => cmd_withdraw(&dir, &iri, out),
        Command::Export {
            dir,
            format,
            output,
            sim: false,
            iris,
        } => cmd_export(&dir, format, output.as_deref(), &iris, out),
        Command::Export {
            dir,
            format,
            output,
            sim: true,
            ..
        } => cmd_export_sim(&dir, format, output.as_deref(), out),
        Command::Verify {
            peers,
            key,
            format,
            files,
        } => cmd_verify(peers.as_deref(), key, format.as_deref(), &files, out),
        Command::Query {
            dir,
            format,
            sparql,
        } => cmd_query(&dir, format, sparql, out),
        Command::Status { dir } => cmd_status(&dir, out),
        Command::Serve {
            dir,
            listen,
            query_timeout,
        } => cmd_serve(&dir, listen, query_timeout),
        Command::Harvest {
            dir,
            reset: Some(peer),
            ..
        } => cmd_harvest_reset(&dir, &peer, out),
        Command::Harvest { dir, peer, .. } => cmd_harvest(&dir, peer.as_deref(), out),
        Command::Resign { dir } => cmd_resign(&dir, out),
        Command::Reindex { dir } => cmd_reindex(&dir, out),
        Command::Search(args) => cmd_search(&args, out),
        Command::Token { dir } => cmd_token(&dir, out),
        Command::Demo {
            dir,
            repo,
            offline,
            exit,
        } => demo::run(demo::DemoOptions { dir, offline, exit }, &repo, out),
        Command::Peer { command } => peer::run(command, out),
        Command::Node { command } => peer::run_node(command, out),
        Command::Key { command } => key::run(command, out),
        Command::Submission { command } => submission::run(command, out),
        Command::Account { command } => account::run(command, out),
    }
}

/// `ccis init`.
fn cmd_init(dir: &Path, options: InitOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::init(dir, options)?;
    let key = node.config.active_key()?;
    writeln!(out, "Created node {} in {}", node.config.id, dir.display())?;
    writeln!(out, "public key (Multikey): {}", key.public_key)?;
    writeln!(out, "verification method:   {}", node.verification_method())?;
    writeln!(
        out,
        "secret key: {} (mode 0600; never share it)",
        dir.join(&key.secret_key_file).display()
    )?;
    if let Some(token) = &node.new_api_token {
        writeln!(
            out,
            "operator API token (shown once; only its hash is kept): {token}"
        )?;
    }
    Ok(())
}

/// `ccis withdraw`.
fn cmd_withdraw(dir: &Path, iri: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis withdraw`")?;
    let p = node.withdraw(iri)?;
    writeln!(out, "withdrawn v{:<3} {}", p.version, p.iri)?;
    Ok(())
}

/// `ccis export`.
fn cmd_export(
    dir: &Path,
    format: Option<ExportFormat>,
    output: Option<&Path>,
    iris: &[String],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let format = match format.unwrap_or(ExportFormat::Trig) {
        ExportFormat::Trig => export::ExportFormat::Trig,
        ExportFormat::Nquads => export::ExportFormat::Nquads,
        ExportFormat::Jsonld => export::ExportFormat::Jsonld,
        ExportFormat::Json | ExportFormat::Csv => {
            bail!(
                "--format json and csv are for `ccis export --sim`; records export as trig, nquads or jsonld"
            )
        }
    };
    let node = Node::open_read_only(dir)?;
    let records = node.export(iris)?;
    let bytes = export::serialize_records(&records, format)?;
    write_export(&bytes, output, out)
}

/// `ccis export --sim`: the initiatives validated at EU level, for the
/// Social Innovation Match.
fn cmd_export_sim(
    dir: &Path,
    format: Option<ExportFormat>,
    output: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use crate::sim_export::SimFormat;
    let format = match format.unwrap_or(ExportFormat::Json) {
        ExportFormat::Json => SimFormat::Json,
        ExportFormat::Csv => SimFormat::Csv,
        other => bail!(
            "`ccis export --sim` writes json or csv, not {}",
            other
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned())
        ),
    };
    let node = Node::open_read_only(dir)?;
    let bytes = node.sim_export()?.to_format(format)?;
    write_export(&bytes, output, out)
}

/// Writes an export to `output`, else to standard output.
fn write_export(bytes: &[u8], output: Option<&Path>, out: &mut impl Write) -> anyhow::Result<()> {
    match output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(bytes)?,
    }
    Ok(())
}

/// `ccis verify`.
fn cmd_verify(
    peers: Option<&Path>,
    key: Option<String>,
    format: Option<&str>,
    files: &[PathBuf],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let peers = match (peers, &key) {
        (Some(p), _) => Some(Peers::load(p)?),
        (None, None) if Path::new("peers.toml").exists() => {
            Some(Peers::load(Path::new("peers.toml"))?)
        }
        (None, None) => bail!("say whom to trust: --peers peers.toml or --key z6Mk…"),
        (None, Some(_)) => None,
    };
    let trust = match (&peers, key) {
        (Some(p), _) => Trust::Peers(p),
        (None, Some(k)) => Trust::Key(keys::parse_public_multikey(&k)?),
        (None, None) => bail!("say whom to trust: --peers peers.toml or --key z6Mk…"),
    };
    let format = parse_format(format)?;
    let (mut ok, mut failed) = (0usize, 0usize);
    for file in files {
        let (o, f) = verify_file(file, format, &trust, out)?;
        ok += o;
        failed += f;
    }
    writeln!(out, "{ok} verified, {failed} failed")?;
    if failed > 0 {
        bail!("{failed} record(s) did not verify");
    }
    Ok(())
}

/// Verifies the records of one file, printing a verdict per record;
/// returns (verified, failed).
fn verify_file(
    file: &Path,
    format: Option<InputFormat>,
    trust: &Trust<'_>,
    out: &mut impl Write,
) -> anyhow::Result<(usize, usize)> {
    let (mut ok, mut failed) = (0usize, 0usize);
    let name = file.display().to_string();
    let fmt = format
        .or_else(|| InputFormat::from_path(file))
        .with_context(|| format!("{name}: unknown format; use --format"))?;
    let bytes = rdf_input::read_file(file, rdf_input::DEFAULT_MAX_INPUT_BYTES)?;
    let quads = rdf_input::parse(&bytes, fmt, None, &name, &PinnedContexts::default())?;
    let found = signed::records_in(&quads);
    if found.is_empty() {
        writeln!(out, "FAILED  {name}: no record found")?;
        failed += 1;
    }
    for f in &found {
        let verdict = verify::verify_record(f, trust);
        if verdict.result.is_ok() {
            ok += 1
        } else {
            failed += 1
        }
        writeln!(out, "{verdict}")?;
    }
    Ok((ok, failed))
}

/// `ccis query`.
fn cmd_query(
    dir: &Path,
    format: QueryFormat,
    sparql: String,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let node = Node::open_read_only(dir)?;
    let sparql = match sparql.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read query file {path}"))?,
        None => sparql,
    };
    let limits = &node.config.server;
    crate::prescan::check(&sparql, limits.max_query_bytes, limits.max_query_depth)
        .map_err(|e| anyhow::anyhow!("query refused before parsing: {e}"))?;
    // Parsing and evaluation recurse on the query's structure: on a
    // stack as large as the server's in-process queries get.
    let results = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("query".into())
            .stack_size(QUERY_STACK_BYTES)
            .spawn_scoped(scope, || -> anyhow::Result<Vec<u8>> {
                let mut buffer = Vec::new();
                print_results(node.store.query(&sparql)?, format, &mut buffer)?;
                Ok(buffer)
            })?
            .join()
            .map_err(|_| anyhow::anyhow!("the query failed unexpectedly"))?
    })?;
    out.write_all(&results)?;
    Ok(())
}

/// `ccis status`.
fn cmd_status(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_read_only(dir)?;
    let c = &node.config;
    writeln!(out, "node      {} ({})", c.id, c.name)?;
    writeln!(out, "country   {} <{}>", c.country, c.country_iri())?;
    writeln!(out, "base URL  {}", c.base_url)?;
    writeln!(out, "key       {}", node.verification_method())?;
    let entries = node.store.entries()?;
    let withdrawn = entries.iter().filter(|e| e.status == "withdrawn").count();
    writeln!(out, "records   {} ({} withdrawn)", entries.len(), withdrawn)?;
    let counts = node.store.counts()?;
    writeln!(out, "\nby class")?;
    for (class, n) in counts.by_class {
        writeln!(out, "  {class:<18} {n}")?;
    }
    writeln!(out, "\nby title language")?;
    for (lang, n) in counts.by_language {
        writeln!(out, "  {lang:<18} {n}")?;
    }
    let peers = Peers::load_for_node(dir)?;
    let status = crate::status::NodeStatus::read_with_peers(c, &node.store, &peers)?;
    writeln!(out, "\nby origin node")?;
    for (origin, n) in &status.by_origin {
        writeln!(out, "  {origin:<18} {n}")?;
    }
    writeln!(out, "\nfeed      {} versions", status.feed_members)?;
    print_peer_states(&status, out)
}

/// The per-peer harvest table that ends `ccis status`.
fn print_peer_states(
    status: &crate::status::NodeStatus,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if status.peers.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n{:<12} {:>8} {:>8} {:>6} {:>8}  {:<20}  last error",
        "peer", "accepted", "refused", "pages", "failures", "last success"
    )?;
    for (id, p) in &status.peers {
        let s = &p.state;
        let refused: u64 = s.refused.values().sum();
        writeln!(
            out,
            "{id:<12} {:>8} {:>8} {:>6} {:>8}  {:<20}  {}",
            s.accepted,
            refused,
            s.pages,
            s.consecutive_failures,
            s.last_success.as_deref().unwrap_or("never"),
            s.last_error.as_deref().unwrap_or("")
        )?;
        for (rule, n) in &s.refused {
            writeln!(out, "{:<12}   refused by {rule}: {n}", "")?;
        }
        if s.not_harvested_unknown_origin > 0 {
            writeln!(
                out,
                "{:<12}   not harvested, origin not in peers.toml: {}",
                "", s.not_harvested_unknown_origin
            )?;
        }
    }
    Ok(())
}

/// `ccis serve`.
fn cmd_serve(
    dir: &Path,
    listen: Option<std::net::SocketAddr>,
    query_timeout: Option<u64>,
) -> anyhow::Result<()> {
    let config = crate::config::NodeConfig::load(dir)?;
    let listen = match listen {
        Some(l) => l,
        None => config.listen_address()?,
    };
    let mut options = crate::server::ServerOptions::from_config(&config);
    if let Some(secs) = query_timeout {
        options.query_timeout = std::time::Duration::from_secs(secs.max(1));
    }
    tokio::runtime::Runtime::new()?.block_on(crate::server::serve(dir, listen, options))?;
    Ok(())
}

/// `ccis harvest`.
fn cmd_harvest(dir: &Path, peer: Option<&str>, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis harvest`")?;
    let harvester = node.harvester()?;
    if harvester.targets(peer).is_empty() {
        match peer {
            Some(p) => bail!("peer {p} is not in {}/peers.toml", dir.display()),
            None => bail!("{}/peers.toml lists no peer to harvest", dir.display()),
        }
    }
    // Opened first, the index is handed what the round stores as it is
    // stored, rather than reading it back from the feed log after.
    if let Err(e) = node.search_index() {
        writeln!(
            out,
            "search index not open (it catches up when next opened): {e}"
        )?;
    }
    let progress = crate::harvest::progress_for_terminal();
    let reports = tokio::runtime::Runtime::new()?.block_on(harvester.round(peer, progress));
    print_harvest_summary(&reports, out)?;
    // What the round stored (withdrawals too) reaches the search index now.
    if let Err(e) = node.update_search_index() {
        writeln!(
            out,
            "search index not updated (it catches up when next opened): {e}"
        )?;
    }
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    if failed == reports.len() {
        bail!("no peer could be harvested");
    }
    Ok(())
}

/// `ccis harvest --reset PEER`.
fn cmd_harvest_reset(dir: &Path, peer: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis harvest --reset`")?;
    let harvester = node.harvester()?;
    match harvester.reset_position(peer)? {
        Some(page) => writeln!(
            out,
            "harvest position of {peer} reset (it was at {page}); the next round reads its feed from the start"
        )?,
        None => writeln!(
            out,
            "{peer} has no harvest position; the next round reads its feed from the start"
        )?,
    }
    Ok(())
}

/// `ccis resign`.
fn cmd_resign(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis resign`")?;
    let done = node.resign_all()?;
    for p in &done {
        writeln!(out, "re-signed v{:<3} {}", p.version, p.iri)?;
    }
    writeln!(
        out,
        "{} record(s) re-signed with {}",
        done.len(),
        node.verification_method()
    )?;
    Ok(())
}

/// `ccis reindex`.
fn cmd_reindex(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis reindex`")?;
    let started = std::time::Instant::now();
    let index = node.rebuild_search_index()?;
    let all = index.search(&crate::search::SearchRequest::default())?;
    writeln!(
        out,
        "search index rebuilt in {:.1}s: {} record(s), feed position {}",
        started.elapsed().as_secs_f64(),
        all.total,
        index.position()
    )?;
    Ok(())
}

/// `ccis search`.
fn cmd_search(args: &SearchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::search::{Facet, SearchRequest};
    let mut request = SearchRequest::new(args.words.join(" ")).page(1, args.limit);
    for f in &args.facets {
        let Some((name, value)) = f.split_once('=') else {
            bail!("--facet {f}: write NAME=VALUE");
        };
        let Some(facet) = Facet::from_name(name) else {
            bail!("--facet {f}: no facet {name}");
        };
        request = request.select(facet, value);
    }
    let node = Node::open_for(&args.dir, "`ccis search`")?;
    let results = node.search_index()?.search(&request)?;
    writeln!(out, "{} record(s)", results.total)?;
    for hit in &results.hits {
        let title = hit.title(&["en"]).unwrap_or("");
        writeln!(out, "{}\t{title}", hit.iri)?;
    }
    Ok(())
}

/// `ccis token`.
fn cmd_token(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let mut config = crate::config::NodeConfig::load(dir)?;
    let (token, hash) = crate::config::new_api_token()?;
    config.server.api_token_sha256 = Some(hash);
    config.save(dir)?;
    writeln!(
        out,
        "new operator API token (shown once; only its hash is kept): {token}"
    )?;
    writeln!(
        out,
        "restart `ccis serve` for it to take effect; the old token no longer works then"
    )?;
    Ok(())
}

pub(crate) fn parse_format(name: Option<&str>) -> anyhow::Result<Option<InputFormat>> {
    name.map(|n| {
        InputFormat::from_name(n).with_context(|| {
            format!("unknown format {n:?}; use turtle, ntriples, nquads, trig or jsonld")
        })
    })
    .transpose()
}

/// Prints the table that ends `ccis harvest`.
pub fn print_harvest_summary(
    reports: &[crate::harvest::PeerReport],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<12} {:>8} {:>6} {:>8} {:>6}  result",
        "peer", "accepted", "known", "refused", "pages"
    )?;
    for r in reports {
        let result = match &r.error {
            Some(e) => format!("stopped: {e}"),
            None if r.refused.is_empty() => "ok".to_owned(),
            None => r
                .refused
                .iter()
                .map(|(rule, n)| format!("{n} refused by {rule}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        writeln!(
            out,
            "{:<12} {:>8} {:>6} {:>8} {:>6}  {result}",
            r.peer,
            r.accepted,
            r.known,
            r.refused_total(),
            r.pages
        )?;
    }
    Ok(())
}

/// Prints query results.
pub fn print_results(
    results: QueryResults<'static>,
    format: QueryFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match results {
        QueryResults::Boolean(b) => match format {
            QueryFormat::Table => writeln!(out, "{b}")?,
            other => {
                let f = results_format(other);
                QueryResultsSerializer::from_format(f).serialize_boolean_to_writer(&mut *out, b)?;
            }
        },
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            if let QueryFormat::Table = format {
                print_table(solutions, &variables, out)?;
            } else {
                let mut writer = QueryResultsSerializer::from_format(results_format(format))
                    .serialize_solutions_to_writer(&mut *out, variables)?;
                for s in solutions {
                    writer.serialize(&s?)?;
                }
                writer.finish()?;
            }
        }
        QueryResults::Graph(triples) => {
            let mut serializer =
                RdfSerializer::from_format(RdfFormat::Turtle).for_writer(&mut *out);
            for t in triples {
                serializer.serialize_triple(&t?)?;
            }
            serializer.finish()?;
        }
    }
    Ok(())
}

/// Solutions as an aligned text table, with the number of rows.
fn print_table(
    solutions: oxigraph::sparql::QuerySolutionIter<'static>,
    variables: &[oxigraph::sparql::Variable],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in solutions {
        let s = s?;
        rows.push(
            variables
                .iter()
                .map(|v| s.get(v).map(short_term).unwrap_or_default())
                .collect(),
        );
    }
    let header: Vec<String> = variables.iter().map(|v| v.as_str().to_owned()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
                .min(80)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    writeln!(out, "{}", line(&header))?;
    writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    )?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(out, "({} rows)", rows.len())?;
    Ok(())
}

fn results_format(format: QueryFormat) -> QueryResultsFormat {
    match format {
        QueryFormat::Json | QueryFormat::Table => QueryResultsFormat::Json,
        QueryFormat::Csv => QueryResultsFormat::Csv,
        QueryFormat::Tsv => QueryResultsFormat::Tsv,
    }
}

fn short_term(t: &Term) -> String {
    match t {
        Term::NamedNode(n) => n.as_str().to_owned(),
        Term::Literal(l) => match l.language() {
            Some(lang) => format!("{}@{lang}", l.value()),
            None => l.value().to_owned(),
        },
        other => other.to_string(),
    }
}

/// An error and its causes on one line, each cause once: library errors
/// already say their cause in their own message, so a cause whose text the
/// line holds is not repeated.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_report;

    #[test]
    fn an_error_report_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let typed = ccis_node::config::ConfigError::Write {
            path: "ccis.toml".into(),
            source: io,
        };
        let error = anyhow::Error::new(typed).context("cannot save the node");
        assert_eq!(
            error_report(&error),
            "cannot save the node: cannot write ccis.toml: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_report(&plain), "outer: inner");
    }
}
