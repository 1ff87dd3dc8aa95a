//! `ccis peer add | list | update | remove` and `ccis node entry`: setting up
//! the federation without editing `peers.toml` by hand.

use crate::config::NodeConfig;
use crate::node_description::{self, DEFAULT_MAX_BYTES, FetchOptions, NodeDescription};
use crate::peer_file::{self, KeyChange, PEERS_FILE, PeersFile};
use crate::peers::{Peer, PeerKey, Role};
use anyhow::bail;
use clap::{Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A peer's role, as pinned.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// A national competence centre.
    National,
    /// The European competence centre (aggregates and relays).
    European,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::National => Role::National,
            RoleArg::European => Role::European,
        }
    }
}

/// `ccis peer …`.
#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Fetch a node's description (URL/node, Turtle or JSON-LD), show its id,
    /// country, role and keys with their fingerprints, and pin it in
    /// peers.toml once confirmed.
    ///
    /// Refused: a URL that is not http(s), no answer within --timeout, a
    /// description over 1 MiB or without id or key, this node itself, an id
    /// or base URL already pinned. The other entries and comments of
    /// peers.toml stay as they are; the file is replaced atomically.
    Add {
        /// The node's base URL (or its /node URL), http or https.
        url: String,
        /// The node directory (its peers.toml is edited).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Pin without asking (compare the fingerprints with the node's operator first).
        #[arg(long)]
        yes: bool,
        /// Its role (a node's description does not state it): european for the
        /// European competence centre.
        #[arg(long, value_enum, default_value_t = RoleArg::National)]
        role: RoleArg,
        /// Most seconds to wait for the description.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// List the pinned peers: id, country, role, base URL, and each key with
    /// its fingerprint and validity.
    List {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Fetch a pinned peer's description again and pin its current keys (after
    /// it rotated or revoked one): new keys are added, validity dates taken,
    /// revocations kept; nothing else changes.
    Update {
        /// The peer's id.
        id: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Update without asking.
        #[arg(long)]
        yes: bool,
        /// Most seconds to wait for the description.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Remove a peer from peers.toml (what was harvested from it stays stored).
    Remove {
        /// The peer's id.
        id: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// `ccis node …`.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Print this node's peers.toml entry (what `ccis peer add` writes for it),
    /// for the operators of its peers; the key fingerprints go to standard error.
    Entry {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The role to state (the node's configuration does not hold one).
        #[arg(long, value_enum, default_value_t = RoleArg::National)]
        role: RoleArg,
    },
}

/// Runs `ccis peer …`.
pub(super) fn run(command: PeerCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        PeerCommand::Add {
            url,
            dir,
            yes,
            role,
            timeout,
        } => cmd_add(&dir, &url, role.into(), yes, timeout, out),
        PeerCommand::List { dir } => cmd_list(&dir, out),
        PeerCommand::Update {
            id,
            dir,
            yes,
            timeout,
        } => cmd_update(&dir, &id, yes, timeout, out),
        PeerCommand::Remove { id, dir } => cmd_remove(&dir, &id, out),
    }
}

/// Runs `ccis node …`.
pub(super) fn run_node(command: NodeCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        NodeCommand::Entry { dir, role } => cmd_entry(&dir, role.into(), out),
    }
}

fn fetch_options(timeout_secs: u64) -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(timeout_secs.max(1)),
        max_bytes: DEFAULT_MAX_BYTES,
    }
}

/// `ccis peer add`.
fn cmd_add(
    dir: &Path,
    url: &str,
    role: Role,
    yes: bool,
    timeout: u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let config = NodeConfig::load(dir)?;
    let node_url = node_description::description_url(url)?;
    let mut file = PeersFile::open(&dir.join(PEERS_FILE))?;
    let described = node_description::fetch(&node_url, &fetch_options(timeout))?;
    if described.id == config.id
        || described.base_url.trim_end_matches('/') == config.base_url.trim_end_matches('/')
    {
        bail!(
            "{node_url} describes this node ({}): a node does not pin itself; give the URL of another node",
            config.id
        );
    }
    let peer = described.to_peer(role);
    file.check_new(&peer)?;
    writeln!(out, "{node_url} describes:")?;
    print_peer(&peer, out)?;
    let question = format!("Pin {} in {}?", peer.id, file.path().display());
    if !confirm(yes, &question, out)? {
        writeln!(out, "not pinned; {} is unchanged", file.path().display())?;
        return Ok(());
    }
    file.add(&peer)?;
    file.save()?;
    writeln!(
        out,
        "pinned {} in {} with {} key(s); `ccis harvest --peer {}` harvests it now, a running `ccis serve` once restarted",
        peer.id,
        file.path().display(),
        peer.keys.len(),
        peer.id
    )?;
    Ok(())
}

/// Prints who a peer is and its keys.
fn print_peer(peer: &Peer, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "  id        {}", peer.id)?;
    writeln!(out, "  name      {}", peer.name)?;
    writeln!(out, "  country   {}", peer.country)?;
    writeln!(out, "  role      {}", peer_file::role_name(peer.role))?;
    writeln!(out, "  base URL  {}", peer.base_url)?;
    for key in &peer.keys {
        writeln!(out, "  key       {}", key_line(key))?;
    }
    Ok(())
}

/// A key on one line: fingerprint, Multikey, validity.
fn key_line(key: &PeerKey) -> String {
    format!(
        "{}  {}  {}",
        peer_file::key_fingerprint(&key.public_key).unwrap_or_else(|| "?".into()),
        key.public_key,
        validity(key, OffsetDateTime::now_utc())
    )
}

/// A key's state at `now` and its dates: "valid, from …", "expired, from … until …", "revoked, …".
pub(super) fn validity(key: &PeerKey, now: OffsetDateTime) -> String {
    let parse = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    };
    let state = if key.revoked {
        "revoked"
    } else if parse(&key.valid_until).is_some_and(|u| u <= now) {
        "expired"
    } else if parse(&key.valid_from).is_some_and(|f| f > now) {
        "not yet valid"
    } else {
        "valid"
    };
    let dates = match (&key.valid_from, &key.valid_until) {
        (Some(f), Some(u)) => format!("from {f} until {u}"),
        (Some(f), None) => format!("from {f}"),
        (None, Some(u)) => format!("until {u}"),
        (None, None) => "no dates".to_owned(),
    };
    format!("{state}, {dates}")
}

/// Asks on the terminal, unless `yes`; refuses when there is no terminal to ask on.
fn confirm(yes: bool, question: &str, out: &mut impl Write) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "nothing changed: there is no terminal to confirm on; compare the key fingerprints above with the node's operator, then run again with --yes"
        );
    }
    write!(out, "{question} [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// `ccis peer list`.
fn cmd_list(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let file = PeersFile::open(&dir.join(PEERS_FILE))?;
    let peers = file.peers()?;
    if peers.peers.is_empty() {
        writeln!(
            out,
            "no peer is pinned in {}; pin one with `ccis peer add URL`",
            file.path().display()
        )?;
        return Ok(());
    }
    let width = peers
        .peers
        .iter()
        .map(|p| p.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(out, "{:<width$}  country  role      base URL", "id")?;
    for p in &peers.peers {
        writeln!(
            out,
            "{:<width$}  {:<7}  {:<8}  {}",
            p.id,
            p.country,
            peer_file::role_name(p.role),
            p.base_url
        )?;
        for key in &p.keys {
            writeln!(out, "{:<width$}    key {}", "", key_line(key))?;
        }
    }
    Ok(())
}

/// `ccis peer remove`.
fn cmd_remove(dir: &Path, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let mut file = PeersFile::open(&dir.join(PEERS_FILE))?;
    file.remove(id)?;
    file.save()?;
    writeln!(
        out,
        "removed {id} from {}; what was harvested from it stays stored; a running `ccis serve` stops trusting it once restarted",
        file.path().display()
    )?;
    Ok(())
}

/// `ccis peer update`.
fn cmd_update(
    dir: &Path,
    id: &str,
    yes: bool,
    timeout: u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut file = PeersFile::open(&dir.join(PEERS_FILE))?;
    let pinned = file.peer(id)?;
    let node_url = node_description::description_url(&pinned.base_url)?;
    let described = node_description::fetch(&node_url, &fetch_options(timeout))?;
    if described.id != pinned.id {
        bail!(
            "{node_url} now describes node {}, not {id}: if the node changed, run `ccis peer remove {id}`, then `ccis peer add {}`",
            described.id,
            pinned.base_url
        );
    }
    let (keys, changes) = peer_file::merge_keys(&pinned.keys, &described.keys);
    for change in &changes {
        writeln!(out, "  {change}")?;
    }
    if !changes.iter().any(KeyChange::alters_pin) {
        writeln!(
            out,
            "the keys pinned for {id} are up to date; nothing changed"
        )?;
        return Ok(());
    }
    let question = format!("Pin these keys for {id} in {}?", file.path().display());
    if !confirm(yes, &question, out)? {
        writeln!(out, "not updated; {} is unchanged", file.path().display())?;
        return Ok(());
    }
    file.set_keys(id, &keys)?;
    file.save()?;
    writeln!(
        out,
        "updated the keys of {id} in {}; a running `ccis serve` uses them once restarted",
        file.path().display()
    )?;
    Ok(())
}

/// `ccis node entry`.
fn cmd_entry(dir: &Path, role: Role, out: &mut impl Write) -> anyhow::Result<()> {
    let config = NodeConfig::load(dir)?;
    let peer = NodeDescription::of_config(&config).to_peer(role);
    out.write_all(peer_file::entry_text(&peer).as_bytes())?;
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "# {}: the peers.toml entry of this node (above, on standard output); its key fingerprints:",
        config.id
    )?;
    for key in &peer.keys {
        writeln!(err, "#   {}", key_line(key))?;
    }
    writeln!(
        err,
        "# peers pin it with `ccis peer add {}` (and compare these fingerprints) or by pasting the entry",
        config.base_url
    )?;
    Ok(())
}
