//! `ccis key list | rotate | revoke`: the node's own signing keys.

use crate::config::NodeConfig;
use crate::dir_lock::DirLock;
use crate::key_admin;
use crate::keys;
use crate::node::Node;
use crate::peer_file::key_fingerprint;
use crate::peers::PeerKey;
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// `ccis key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List this node's keys: fingerprint, Multikey, validity, and which one signs.
    List {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Make a new key that signs from now on (secret key file mode 0600); the
    /// key that signed until now stays valid for what it signed (its
    /// `valid_until` is set to now). Peers must pin the new key before they
    /// accept what it signs.
    Rotate {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Mark a key revoked from now: peers that pin it as revoked refuse every
    /// signature by it, whatever its date. The key that signs new records
    /// cannot be revoked: rotate first. Records it signed must be re-signed
    /// (`ccis resign`).
    Revoke {
        /// The key: its Multikey (z6Mk…), did:key or fingerprint (see `ccis key list`).
        key: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Runs `ccis key …`.
pub(super) fn run(command: KeyCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        KeyCommand::List { dir } => cmd_list(&dir, out),
        KeyCommand::Rotate { dir } => cmd_rotate(&dir, out),
        KeyCommand::Revoke { key, dir } => cmd_revoke(&dir, &key, out),
    }
}

fn fingerprint(multikey: &str) -> String {
    key_fingerprint(multikey).unwrap_or_else(|| "?".into())
}

/// `ccis key list`.
fn cmd_list(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let config = NodeConfig::load(dir)?;
    let signing = config.active_key().ok().map(|k| k.public_key.clone());
    let now = OffsetDateTime::now_utc();
    for k in &config.keys {
        let pinned = PeerKey {
            public_key: k.public_key.clone(),
            valid_from: Some(k.valid_from.clone()),
            valid_until: k.valid_until.clone(),
            revoked: k.revoked,
        };
        let signs = if signing.as_deref() == Some(k.public_key.as_str()) {
            "signs"
        } else {
            "     "
        };
        writeln!(
            out,
            "{signs}  {}  {}  {}  ({})",
            fingerprint(&k.public_key),
            k.public_key,
            super::peer::validity(&pinned, now),
            k.secret_key_file
        )?;
    }
    Ok(())
}

/// `ccis key rotate`.
fn cmd_rotate(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let _lock = DirLock::acquire(dir, "`ccis key rotate`")?;
    let r = key_admin::rotate(dir, OffsetDateTime::now_utc())?;
    let id = NodeConfig::load(dir)?.id;
    writeln!(
        out,
        "new signing key  {}  {}",
        fingerprint(&r.new.public_key),
        r.new.public_key
    )?;
    writeln!(
        out,
        "                 valid from {}; secret key {} (mode 0600; never share it)",
        r.new.valid_from,
        dir.join(&r.new.secret_key_file).display()
    )?;
    writeln!(
        out,
        "previous key     {}  {}",
        fingerprint(&r.previous.public_key),
        r.previous.public_key
    )?;
    writeln!(
        out,
        "                 valid until {}: what it signed still verifies; it signs nothing more",
        r.previous.valid_until.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "next: send your peers this node's entry (`ccis node entry`); until they have pinned the new key \
         (`ccis peer update {id}`), they refuse what it signs, so publish nothing before"
    )?;
    Ok(())
}

/// `ccis key revoke`.
fn cmd_revoke(dir: &Path, which: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis key revoke`")?;
    let key = key_admin::revoke(dir, which, OffsetDateTime::now_utc())?;
    let signed = match keys::parse_public_multikey(&key.public_key) {
        Ok(public) => records_signed_by(&node, &keys::verification_method(&public))?,
        Err(_) => 0,
    };
    let id = node.config.id.clone();
    drop(node);
    writeln!(
        out,
        "revoked {}  {} (valid until {}): peers that pin it as revoked refuse every signature by it, whatever its date",
        fingerprint(&key.public_key),
        key.public_key,
        key.valid_until.as_deref().unwrap_or("-")
    )?;
    if signed > 0 {
        writeln!(
            out,
            "{signed} record(s) of this node are signed by it: they must be re-signed; once your peers have \
             pinned the signing key, run `ccis resign`"
        )?;
    } else {
        writeln!(out, "no record of this node is signed by it now")?;
    }
    writeln!(
        out,
        "peers must update their pin: send them this node's entry (`ccis node entry`); they run `ccis peer update {id}`"
    )?;
    Ok(())
}

/// How many of this node's own stored records carry a proof by `verification_method`.
fn records_signed_by(node: &Node, verification_method: &str) -> anyhow::Result<usize> {
    let mut n = 0;
    for entry in node.store.entries()? {
        if entry.origin != node.config.id {
            continue;
        }
        if let Some(stored) = node.store.get(&entry.record)?
            && stored.proof.verification_method().ok() == Some(verification_method)
        {
            n += 1;
        }
    }
    Ok(n)
}
