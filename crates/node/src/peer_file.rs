//! Editing `peers.toml` in place (`ccis peer add | remove | update`): the other
//! entries, the comments and the layout stay as the operator wrote them
//! (toml_edit), every edit is checked by the parser that loads the file
//! ([`Peers::parse`]) before anything is written, and the file is replaced
//! atomically. Also: a peer's entry as TOML (`ccis node entry`) and the short
//! fingerprint operators read out to each other.

use crate::atomic_file::write_atomic;
use ccis_integrity::keys;
use ccis_integrity::peers::{Peer, PeerKey, Peers, Role};
use sha2::Digest;
use std::fmt;
use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

/// File name of the trusted peers in a node directory.
pub const PEERS_FILE: &str = "peers.toml";

/// Why `peers.toml` cannot be read or changed as asked.
#[derive(Debug, thiserror::Error)]
pub enum PeerFileError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file as it is now is not a valid peers list.
    #[error("{path} is not a valid peers list ({message}); fix it by hand, then retry")]
    Broken {
        /// The file.
        path: PathBuf,
        /// What is wrong, on one line.
        message: String,
    },
    /// A peer with this id is already pinned.
    #[error(
        "peer {id} is already pinned in {path}: run `ccis peer update {id}` to take its current keys, or `ccis peer remove {id}` first to pin it anew"
    )]
    IdPinned {
        /// The id.
        id: String,
        /// The file.
        path: PathBuf,
    },
    /// Another peer is pinned with the same base URL.
    #[error(
        "base URL {base_url} is already pinned for peer {id} in {path}: run `ccis peer remove {id}` first if that node changed its id"
    )]
    BaseUrlPinned {
        /// The base URL.
        base_url: String,
        /// The peer pinned with it.
        id: String,
        /// The file.
        path: PathBuf,
    },
    /// No peer with this id.
    #[error("peer {id} is not in {path} ({pinned}); `ccis peer list` shows the pinned peers")]
    Unknown {
        /// The id asked for.
        id: String,
        /// The file.
        path: PathBuf,
        /// The ids that are pinned, for the message.
        pinned: String,
    },
    /// The edited file would not load: nothing was written.
    #[error("{path} would not be valid after this change, nothing written: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, on one line.
        message: String,
    },
    /// Writing the file failed: it is unchanged.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// `peers.toml` opened for editing.
#[derive(Debug, Clone)]
pub struct PeersFile {
    path: PathBuf,
    doc: DocumentMut,
}

/// An error message on one line (TOML parse errors draw a caret under the line).
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl PeersFile {
    /// Opens `path` (a missing file is an empty list) and checks that it loads.
    pub fn open(path: &Path) -> Result<Self, PeerFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(PeerFileError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let broken = |message: String| PeerFileError::Broken {
            path: path.to_owned(),
            message: one_line(&message),
        };
        let doc: DocumentMut = text.parse().map_err(|e| broken(format!("{e}")))?;
        let file = Self {
            path: path.to_owned(),
            doc,
        };
        file.peers().map_err(|e| match e {
            PeerFileError::Invalid { message, .. } => broken(message),
            other => other,
        })?;
        Ok(file)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The peers as the file (with the edits made so far) lists them.
    pub fn peers(&self) -> Result<Peers, PeerFileError> {
        Peers::parse(&self.doc.to_string()).map_err(|e| PeerFileError::Invalid {
            path: self.path.clone(),
            message: one_line(&format!("{e:#}")),
        })
    }

    /// The pinned peer `id`, or an error that lists the pinned ones.
    pub fn peer(&self, id: &str) -> Result<Peer, PeerFileError> {
        let index = self.index_of(id)?;
        let peers = self.peers()?;
        peers
            .peers
            .get(index)
            .cloned()
            .ok_or_else(|| PeerFileError::Invalid {
                path: self.path.clone(),
                message: format!("peer {id} vanished"),
            })
    }

    /// The text the file would have now.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Checks that `peer` can be added: neither its id nor its base URL is pinned.
    pub fn check_new(&self, peer: &Peer) -> Result<(), PeerFileError> {
        let current = self.peers()?;
        if current.get(&peer.id).is_some() {
            return Err(PeerFileError::IdPinned {
                id: peer.id.clone(),
                path: self.path.clone(),
            });
        }
        let base = peer.base_url.trim_end_matches('/');
        if let Some(p) = current
            .peers
            .iter()
            .find(|p| p.base_url.trim_end_matches('/') == base)
        {
            return Err(PeerFileError::BaseUrlPinned {
                base_url: peer.base_url.clone(),
                id: p.id.clone(),
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Appends `peer` as a new `[[peer]]` table after the others, one blank
    /// line below them, so that the file ends with [`entry_text`] of it. In a
    /// file of comments only, the comments stay above it.
    pub fn add(&mut self, peer: &Peer) -> Result<(), PeerFileError> {
        self.check_new(peer)?;
        let trailing = self.doc.trailing().as_str().unwrap_or_default().to_owned();
        let has_tables = self
            .doc
            .get("peer")
            .and_then(Item::as_array_of_tables)
            .is_some_and(|t| !t.is_empty());
        let prefix = match (has_tables, trailing.trim().is_empty()) {
            (true, _) => "\n".to_owned(),
            (false, true) => String::new(),
            (false, false) => format!("{}\n\n", trailing.trim_end()),
        };
        if !has_tables || trailing.trim().is_empty() {
            self.doc.set_trailing("");
        }
        let mut table = entry_table(peer);
        table.decor_mut().set_prefix(prefix);
        self.tables()?.push(table);
        Ok(())
    }

    /// Removes the peer `id`. Comments just above its `[[peer]]` line go with
    /// it, except above the first peer, where they usually describe the file
    /// and so are kept.
    pub fn remove(&mut self, id: &str) -> Result<(), PeerFileError> {
        let index = self.index_of(id)?;
        let tables = self.tables()?;
        let head = (index == 0)
            .then(|| tables.get(0).and_then(prefix_of))
            .flatten();
        tables.remove(index);
        let Some(head) = head else { return Ok(()) };
        match tables.get_mut(0) {
            Some(first) => {
                let next = prefix_of(first).unwrap_or_default();
                let joined = if next.trim().is_empty() {
                    head
                } else {
                    format!("{head}{}", next.trim_start_matches('\n'))
                };
                first.decor_mut().set_prefix(joined);
            }
            None => {
                let trailing = self.doc.trailing().as_str().unwrap_or_default().to_owned();
                self.doc.set_trailing(format!("{head}{trailing}"));
            }
        }
        Ok(())
    }

    /// Sets the pinned keys of peer `id`: a key already pinned is updated in
    /// place (its comments stay), a new one is appended, one not in `keys` is removed.
    pub fn set_keys(&mut self, id: &str, keys: &[PeerKey]) -> Result<(), PeerFileError> {
        let index = self.index_of(id)?;
        let path = self.path.clone();
        let table = self
            .tables()?
            .get_mut(index)
            .ok_or_else(|| layout(&path, "peer table vanished"))?;
        let item = std::mem::take(&mut table["keys"]);
        let mut existing: Vec<Table> = match item {
            Item::None => Vec::new(),
            other => other
                .into_array_of_tables()
                .map_err(|_| {
                    layout(
                        &path,
                        &format!("keys of peer {id} are not a list of tables"),
                    )
                })?
                .into_iter()
                .collect(),
        };
        // In the order of `keys`, each pinned key's table kept (with its
        // comments) and updated, new ones added, the others dropped.
        let mut pinned = ArrayOfTables::new();
        for key in keys {
            let found = existing.iter().position(|t| {
                t.get("public_key").and_then(Item::as_str) == Some(key.public_key.as_str())
            });
            let mut t = match found {
                Some(i) => {
                    let mut t = existing.swap_remove(i);
                    update_key_table(&mut t, key);
                    t
                }
                None => key_table(key),
            };
            // Printed in the array's order, right after the peer's table
            // (a position kept from parsing would put them back in the old one).
            t.set_position(None);
            pinned.push(t);
        }
        table["keys"] = Item::ArrayOfTables(pinned);
        // A list written inline (`keys = [{…}]`) becomes `[[peer.keys]]` tables.
        if let Some(mut key) = table.key_mut("keys") {
            key.leaf_decor_mut().clear();
        }
        Ok(())
    }

    /// Checks the edited file with the loader, then replaces the file atomically.
    pub fn save(&self) -> Result<(), PeerFileError> {
        let text = self.doc.to_string();
        self.peers()?;
        write_atomic(&self.path, text.as_bytes()).map_err(|source| PeerFileError::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn index_of(&self, id: &str) -> Result<usize, PeerFileError> {
        let ids: Vec<String> = self
            .doc
            .get("peer")
            .and_then(Item::as_array_of_tables)
            .map(|t| {
                t.iter()
                    .map(|p| p.get("id").and_then(Item::as_str).unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.iter()
            .position(|p| p == id)
            .ok_or_else(|| PeerFileError::Unknown {
                id: id.to_owned(),
                path: self.path.clone(),
                pinned: if ids.is_empty() {
                    "no peer is pinned".to_owned()
                } else {
                    format!("pinned: {}", ids.join(", "))
                },
            })
    }

    fn tables(&mut self) -> Result<&mut ArrayOfTables, PeerFileError> {
        if self.doc.get("peer").is_none() {
            self.doc
                .insert("peer", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        let path = self.path.clone();
        self.doc["peer"]
            .as_array_of_tables_mut()
            .ok_or_else(|| layout(&path, "`peer` is not written as [[peer]] tables"))
    }
}

fn layout(path: &Path, what: &str) -> PeerFileError {
    PeerFileError::Broken {
        path: path.to_owned(),
        message: what.to_owned(),
    }
}

fn prefix_of(table: &Table) -> Option<String> {
    table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .map(str::to_owned)
}

/// The name of a role in `peers.toml`.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::National => "national",
        Role::European => "european",
    }
}

fn entry_table(peer: &Peer) -> Table {
    let mut t = Table::new();
    t["id"] = value(peer.id.as_str());
    t["name"] = value(peer.name.as_str());
    t["country"] = value(peer.country.as_str());
    t["role"] = value(role_name(peer.role));
    t["base_url"] = value(peer.base_url.as_str());
    let mut keys = ArrayOfTables::new();
    for k in &peer.keys {
        keys.push(key_table(k));
    }
    t["keys"] = Item::ArrayOfTables(keys);
    t
}

fn key_table(key: &PeerKey) -> Table {
    let mut t = Table::new();
    update_key_table(&mut t, key);
    t
}

fn update_key_table(t: &mut Table, key: &PeerKey) {
    t["public_key"] = value(key.public_key.as_str());
    for (field, v) in [
        ("valid_from", &key.valid_from),
        ("valid_until", &key.valid_until),
    ] {
        match v {
            Some(v) => t[field] = value(v.as_str()),
            None => {
                t.remove(field);
            }
        }
    }
    if key.revoked {
        t["revoked"] = value(true);
    } else {
        t.remove("revoked");
    }
}

/// A peer's `[[peer]]` entry, as `ccis peer add` appends it to `peers.toml`.
pub fn entry_text(peer: &Peer) -> String {
    let mut peers = ArrayOfTables::new();
    peers.push(entry_table(peer));
    let mut doc = DocumentMut::new();
    doc.insert("peer", Item::ArrayOfTables(peers));
    doc.to_string()
}

/// A short fingerprint of a Multikey public key, to read out and compare:
/// the first 8 bytes of the SHA-256 of the 32-byte key, in hex, in groups of 4
/// (`3f2a:91c0:77de:0b41`). `None` if it is not an Ed25519 Multikey.
pub fn key_fingerprint(multikey: &str) -> Option<String> {
    let key = keys::parse_public_multikey(multikey).ok()?;
    let digest = sha2::Sha256::digest(key.as_bytes());
    Some(
        digest[..8]
            .chunks(2)
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// How the keys pinned for a peer change when its description is read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    /// A key the peer lists that was not pinned.
    Added(String),
    /// New validity dates for a pinned key.
    Validity {
        /// The key.
        key: String,
        /// (valid_from, valid_until) pinned so far.
        before: (Option<String>, Option<String>),
        /// (valid_from, valid_until) the peer now states.
        after: (Option<String>, Option<String>),
    },
    /// The peer says the key is revoked.
    Revoked(String),
    /// Pinned as revoked, not revoked by the peer's account: stays revoked.
    StaysRevoked(String),
    /// Pinned, but the peer no longer lists it: stays pinned as it was.
    NotListed(String),
}

impl KeyChange {
    /// Whether the change alters the pin (the others are information).
    pub fn alters_pin(&self) -> bool {
        matches!(
            self,
            Self::Added(_) | Self::Validity { .. } | Self::Revoked(_)
        )
    }
}

fn short(key: &str) -> String {
    format!(
        "{} ({key})",
        key_fingerprint(key).unwrap_or_else(|| "?".into())
    )
}

fn dates((from, until): &(Option<String>, Option<String>)) -> String {
    format!(
        "from {} until {}",
        from.as_deref().unwrap_or("-"),
        until.as_deref().unwrap_or("-")
    )
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added(k) => write!(f, "new key     {}", short(k)),
            Self::Validity { key, before, after } => write!(
                f,
                "validity    {}: {} -> {}",
                short(key),
                dates(before),
                dates(after)
            ),
            Self::Revoked(k) => write!(f, "revoked     {}", short(k)),
            Self::StaysRevoked(k) => write!(
                f,
                "kept        {}: revoked here, not by the peer; it stays revoked",
                short(k)
            ),
            Self::NotListed(k) => write!(
                f,
                "kept        {}: no longer listed by the peer; it stays pinned as it was",
                short(k)
            ),
        }
    }
}

/// The keys to pin after reading a peer's description again: its current
/// keys and dates; keys it no longer lists stay pinned as they were, and a
/// revocation is never undone. Returns them with what changed.
pub fn merge_keys(pinned: &[PeerKey], described: &[PeerKey]) -> (Vec<PeerKey>, Vec<KeyChange>) {
    let mut keys = Vec::new();
    let mut changes = Vec::new();
    for old in pinned {
        let mut key = old.clone();
        match described.iter().find(|d| d.public_key == old.public_key) {
            None => changes.push(KeyChange::NotListed(old.public_key.clone())),
            Some(new) => {
                let before = (old.valid_from.clone(), old.valid_until.clone());
                let after = (new.valid_from.clone(), new.valid_until.clone());
                if before != after {
                    changes.push(KeyChange::Validity {
                        key: old.public_key.clone(),
                        before,
                        after: after.clone(),
                    });
                    (key.valid_from, key.valid_until) = after;
                }
                if new.revoked && !old.revoked {
                    changes.push(KeyChange::Revoked(old.public_key.clone()));
                    key.revoked = true;
                } else if old.revoked && !new.revoked {
                    changes.push(KeyChange::StaysRevoked(old.public_key.clone()));
                }
            }
        }
        keys.push(key);
    }
    for new in described {
        if !pinned.iter().any(|p| p.public_key == new.public_key) {
            changes.push(KeyChange::Added(new.public_key.clone()));
            keys.push(new.clone());
        }
    }
    // In the order a description and `ccis node entry` list them, so that
    // what is pinned reads the same as what the node says of itself (a key
    // made in the same second as another would otherwise keep its place).
    crate::node_description::sort_keys(&mut keys);
    (keys, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn multikey(seed: u8) -> String {
        keys::public_multikey(&SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    fn key(seed: u8, from: &str) -> PeerKey {
        PeerKey {
            public_key: multikey(seed),
            valid_from: Some(from.to_owned()),
            valid_until: None,
            revoked: false,
        }
    }

    fn peer(id: &str, base: &str, keys: Vec<PeerKey>) -> Peer {
        Peer {
            id: id.to_owned(),
            name: format!("Centre {id}"),
            country: "FR".to_owned(),
            role: Role::National,
            base_url: base.to_owned(),
            keys,
        }
    }

    fn sample() -> String {
        let one = entry_text(&peer(
            "fr-one",
            "https://one.example",
            vec![key(1, "2026-01-01T00:00:00Z")],
        ));
        let two = entry_text(&peer(
            "fr-two",
            "https://two.example",
            vec![key(2, "2026-01-01T00:00:00Z")],
        ));
        format!("# Our federation.\n# Keys checked by phone.\n\n{one}\n# the second centre\n{two}")
    }

    fn open(text: &str) -> (tempfile::TempDir, PeersFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PEERS_FILE);
        std::fs::write(&path, text).unwrap();
        let file = PeersFile::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn add_keeps_entries_and_comments_and_refuses_duplicates() {
        let (_dir, mut file) = open(&sample());
        let three = peer(
            "fr-three",
            "https://three.example",
            vec![key(3, "2026-02-01T00:00:00Z")],
        );
        file.add(&three).unwrap();
        file.save().unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            text.starts_with(&sample()),
            "existing text untouched:\n{text}"
        );
        assert!(text.contains(&entry_text(&three)), "{text}");
        let peers = Peers::load(file.path()).unwrap();
        assert_eq!(peers.peers.len(), 3);
        assert!(matches!(
            file.add(&three),
            Err(PeerFileError::IdPinned { .. })
        ));
        let same_base = peer(
            "fr-four",
            "https://three.example/",
            vec![key(4, "2026-02-01T00:00:00Z")],
        );
        let err = file.add(&same_base).unwrap_err();
        assert!(
            err.to_string().contains("ccis peer remove fr-three"),
            "{err}"
        );
    }

    #[test]
    fn add_to_a_file_of_comments_keeps_them_above() {
        let (_dir, mut file) = open("# Trusted peers.\n");
        let one = peer(
            "fr-one",
            "https://one.example",
            vec![key(1, "2026-01-01T00:00:00Z")],
        );
        file.add(&one).unwrap();
        assert_eq!(
            file.text(),
            format!("# Trusted peers.\n\n{}", entry_text(&one))
        );
        let (_dir, mut file) = open("");
        file.add(&one).unwrap();
        assert_eq!(file.text(), entry_text(&one));
    }

    #[test]
    fn remove_keeps_the_file_header_and_refuses_unknown_ids() {
        let (_dir, mut file) = open(&sample());
        let err = file.remove("fr-nine").unwrap_err();
        assert!(err.to_string().contains("pinned: fr-one, fr-two"), "{err}");
        file.remove("fr-one").unwrap();
        let text = file.text();
        assert!(
            text.starts_with("# Our federation.\n# Keys checked by phone.\n"),
            "{text}"
        );
        assert!(!text.contains("fr-one"), "{text}");
        file.remove("fr-two").unwrap();
        file.save().unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("# Our federation."), "{text}");
        assert!(Peers::load(file.path()).unwrap().peers.is_empty());
    }

    #[test]
    fn set_keys_updates_in_place_and_merge_never_unrevokes() {
        let (_dir, mut file) = open(&sample());
        let pinned = vec![key(1, "2026-01-01T00:00:00Z")];
        let mut old = key(1, "2026-01-01T00:00:00Z");
        old.valid_until = Some("2026-06-01T00:00:00Z".into());
        let described = vec![old, key(5, "2026-06-01T00:00:00Z")];
        let (keys, changes) = merge_keys(&pinned, &described);
        assert_eq!(keys.len(), 2);
        assert!(matches!(changes[0], KeyChange::Validity { .. }));
        assert_eq!(changes[1], KeyChange::Added(multikey(5)));
        file.set_keys("fr-one", &keys).unwrap();
        file.save().unwrap();
        let peers = Peers::load(file.path()).unwrap();
        let one = peers.get("fr-one").unwrap();
        assert_eq!(one.keys.len(), 2);
        assert_eq!(
            one.keys[0].valid_until.as_deref(),
            Some("2026-06-01T00:00:00Z")
        );
        assert!(file.text().contains("# the second centre"));

        let mut revoked = key(1, "2026-01-01T00:00:00Z");
        revoked.revoked = true;
        let (keys, changes) = merge_keys(&[revoked], &[key(1, "2026-01-01T00:00:00Z")]);
        assert!(keys[0].revoked);
        assert!(!changes[0].alters_pin());
    }

    #[test]
    fn merged_keys_are_listed_as_the_node_lists_them_even_within_one_second() {
        // A key rotated in the second the node was made: the two keys share
        // `valid_from`, and the node's entry orders them by public key.
        let at = "2026-01-01T00:00:00Z";
        let (first, second) = if multikey(1) < multikey(2) {
            (1, 2)
        } else {
            (2, 1)
        };
        let pinned = vec![key(second, at)];
        let described = vec![key(first, at), key(second, at)];
        let (keys, _) = merge_keys(&pinned, &described);
        let order: Vec<&str> = keys.iter().map(|k| k.public_key.as_str()).collect();
        assert_eq!(order, [multikey(first), multikey(second)]);
        // And the file lists them in that order, the pinned one's table kept.
        let (_dir, mut file) = open(&sample());
        file.set_keys("fr-one", &[key(second, at)]).unwrap();
        file.save().unwrap();
        let mut file = PeersFile::open(file.path()).unwrap();
        file.set_keys("fr-one", &keys).unwrap();
        let peers = file.peers().unwrap();
        let listed: Vec<String> = peers
            .get("fr-one")
            .unwrap()
            .keys
            .iter()
            .map(|k| k.public_key.clone())
            .collect();
        assert_eq!(listed, [multikey(first), multikey(second)]);
    }

    #[test]
    fn a_broken_file_is_named_and_never_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PEERS_FILE);
        std::fs::write(&path, "[[peer]]\nid = \"x\"\nname = \n").unwrap();
        let err = PeersFile::open(&path).unwrap_err();
        assert!(err.to_string().contains("fix it by hand"), "{err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
        let missing = PeersFile::open(&dir.path().join("none.toml")).unwrap();
        assert!(missing.peers().unwrap().peers.is_empty());
    }

    #[test]
    fn fingerprints_are_short_and_stable() {
        let fp = key_fingerprint(&multikey(1)).unwrap();
        assert_eq!(fp.len(), 19, "{fp}");
        assert_eq!(fp.matches(':').count(), 3, "{fp}");
        assert_eq!(key_fingerprint(&multikey(1)), Some(fp));
        assert!(key_fingerprint("z6MkNotAKey").is_none());
    }
}
