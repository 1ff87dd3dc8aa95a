//! Rotating and revoking the node's own keys (`ccis key rotate | revoke`):
//! edits of the `[[keys]]` list of `ccis.toml` that keep the rest of the file
//! as the operator wrote it (toml_edit), checked by the loader before they
//! are written, and written atomically. The caller holds the node
//! directory's lock ([`crate::dir_lock::DirLock`]).
//!
//! The rules (docs/design: "Rotation = add the new key, keep the old one for
//! what it signed before `valid_until`. Revocation = signatures by that key
//! are no longer accepted, whatever their date."):
//! - rotate: a new key, valid from now, signs from now on (the last key not
//!   revoked signs); the key that signed until now gets `valid_until` one
//!   second after now, so that everything it signed (proofs are dated to the
//!   second) stays valid, and is otherwise kept;
//! - revoke: `revoked = true` and, when it had none or a later one,
//!   `valid_until` = now, the moment it was revoked; the key that signs new
//!   records cannot be revoked: rotate first.

use crate::atomic_file::write_atomic;
use crate::config::{CONFIG_FILE, KeyConfig, NodeConfig};
use crate::peer_file::key_fingerprint;
use ccis_integrity::keys;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

/// Why a key cannot be rotated or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyAdminError {
    /// `ccis.toml` cannot be read, or does not load.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, on one line.
        message: String,
    },
    /// No key of the node matches.
    #[error("no key of this node is {given:?}; its keys: {known} (see `ccis key list`)")]
    UnknownKey {
        /// What was given.
        given: String,
        /// The node's keys, for the message.
        known: String,
    },
    /// The key is revoked already.
    #[error("key {key} is already revoked")]
    AlreadyRevoked {
        /// The key.
        key: String,
    },
    /// The key signs new records.
    #[error(
        "key {key} signs this node's new records and no other key can: run `ccis key rotate` first, then revoke it"
    )]
    SignsNow {
        /// The key.
        key: String,
    },
    /// The new secret key cannot be made or written.
    #[error(transparent)]
    Secret(#[from] keys::KeyError),
    /// No randomness for a new key.
    #[error("cannot make a new key: {0}")]
    Random(String),
    /// Writing `ccis.toml` failed: it is unchanged.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What `rotate` did.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The key that signed until now, with its new `valid_until`.
    pub previous: KeyConfig,
    /// The new key, which signs from now on.
    pub new: KeyConfig,
}

/// `ccis.toml` of a node directory, loaded and opened for editing.
struct ConfigFile {
    path: PathBuf,
    config: NodeConfig,
    doc: DocumentMut,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl ConfigFile {
    fn open(dir: &Path) -> Result<Self, KeyAdminError> {
        let path = dir.join(CONFIG_FILE);
        let config = NodeConfig::load(dir).map_err(|e| config_error(&path, &format!("{e:#}")))?;
        let text =
            std::fs::read_to_string(&path).map_err(|e| config_error(&path, &e.to_string()))?;
        let doc: DocumentMut = text
            .parse()
            .map_err(|e| config_error(&path, &format!("{e}")))?;
        Ok(Self { path, config, doc })
    }

    /// The `[[keys]]` tables, in the order of `config.keys`.
    fn key_tables(&mut self) -> Result<&mut ArrayOfTables, KeyAdminError> {
        let item = std::mem::take(&mut self.doc["keys"]);
        let tables = match item {
            Item::None => ArrayOfTables::new(),
            other => other
                .into_array_of_tables()
                .map_err(|_| config_error(&self.path, "`keys` is not a list of tables"))?,
        };
        self.doc["keys"] = Item::ArrayOfTables(tables);
        // A list written inline (`keys = [{…}]`) becomes `[[keys]]` tables.
        if let Some(mut key) = self.doc.as_table_mut().key_mut("keys") {
            key.leaf_decor_mut().clear();
        }
        self.doc["keys"]
            .as_array_of_tables_mut()
            .ok_or_else(|| config_error(&self.path, "`keys` is not a list of tables"))
    }

    fn key_table(&mut self, index: usize) -> Result<&mut Table, KeyAdminError> {
        let path = self.path.clone();
        self.key_tables()?
            .get_mut(index)
            .ok_or_else(|| config_error(&path, "`keys` does not match the loaded keys"))
    }

    /// Checks the edited text with the loader, then writes it atomically.
    fn save(&self) -> Result<NodeConfig, KeyAdminError> {
        let text = self.doc.to_string();
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|e| config_error(&self.path, &format!("the edit would be invalid: {e}")))?;
        config
            .check()
            .map_err(|e| config_error(&self.path, &format!("the edit would be invalid: {e:#}")))?;
        write_atomic(&self.path, text.as_bytes()).map_err(|source| KeyAdminError::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(config)
    }
}

fn config_error(path: &Path, message: &str) -> KeyAdminError {
    KeyAdminError::Config {
        path: path.to_owned(),
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A file name for a new secret key in `dir`: `secret-N.key`, N from the key count.
fn new_secret_file(dir: &Path, config: &NodeConfig) -> String {
    (config.keys.len() + 1..)
        .map(|n| format!("secret-{n}.key"))
        .find(|name| {
            !dir.join(name).exists() && config.keys.iter().all(|k| &k.secret_key_file != name)
        })
        .unwrap_or_else(|| "secret-new.key".to_owned())
}

/// Makes a new key that signs from `now`; the key that signed until now
/// stays valid for what it signed (see the module's rules).
pub fn rotate(dir: &Path, now: OffsetDateTime) -> Result<Rotation, KeyAdminError> {
    let mut file = ConfigFile::open(dir)?;
    let active = file
        .config
        .keys
        .iter()
        .rposition(|k| !k.revoked)
        .ok_or_else(|| config_error(&file.path, "no key that is not revoked"))?;
    let secret = keys::generate().map_err(|e| KeyAdminError::Random(e.to_string()))?;
    let secret_key_file = new_secret_file(dir, &file.config);
    let new = KeyConfig {
        public_key: keys::public_multikey(&secret.verifying_key()),
        secret_key_file: secret_key_file.clone(),
        valid_from: rfc3339(now),
        valid_until: None,
        revoked: false,
    };
    let until = rfc3339(now.replace_nanosecond(0).unwrap_or(now) + Duration::seconds(1));
    let mut previous = file.config.keys[active].clone();
    if !previous
        .valid_until
        .as_ref()
        .is_some_and(|u| earlier(u, &until))
    {
        previous.valid_until = Some(until.clone());
        file.key_table(active)?["valid_until"] = value(until);
    }
    let mut table = Table::new();
    table["public_key"] = value(new.public_key.as_str());
    table["secret_key_file"] = value(new.secret_key_file.as_str());
    table["valid_from"] = value(new.valid_from.as_str());
    file.key_tables()?.push(table);
    let secret_path = dir.join(&secret_key_file);
    keys::write_secret_key(&secret_path, &secret)?;
    let saved = file.save().and_then(|config| {
        let signs = config.active_key().map(|k| k.public_key == new.public_key);
        match signs {
            Ok(true) => Ok(()),
            _ => Err(config_error(
                &file.path,
                "the new key would not sign; nothing changed",
            )),
        }
    });
    if let Err(e) = saved {
        // ccis.toml is unchanged: the new secret key serves nothing.
        let _ = std::fs::remove_file(&secret_path);
        return Err(e);
    }
    Ok(Rotation { previous, new })
}

/// Whether RFC 3339 instant `a` is before `b` (unparseable: no).
fn earlier(a: &str, b: &str) -> bool {
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}

/// The index of the key named by `which`: its Multikey, its did:key
/// verification method or its short fingerprint.
pub fn find_key(config: &NodeConfig, which: &str) -> Option<usize> {
    let which = which.trim();
    let multikey = which
        .strip_prefix("did:key:")
        .and_then(|rest| rest.split('#').next())
        .unwrap_or(which);
    config.keys.iter().position(|k| {
        k.public_key == multikey || key_fingerprint(&k.public_key).as_deref() == Some(which)
    })
}

/// Marks the key named by `which` revoked from `now` (see the module's rules).
/// Returns it as it is now written.
pub fn revoke(dir: &Path, which: &str, now: OffsetDateTime) -> Result<KeyConfig, KeyAdminError> {
    let mut file = ConfigFile::open(dir)?;
    let config = &file.config;
    let index = find_key(config, which).ok_or_else(|| KeyAdminError::UnknownKey {
        given: which.to_owned(),
        known: config
            .keys
            .iter()
            .map(|k| k.public_key.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let mut key = config.keys[index].clone();
    if key.revoked {
        return Err(KeyAdminError::AlreadyRevoked {
            key: key.public_key,
        });
    }
    if config.keys.iter().rposition(|k| !k.revoked) == Some(index) {
        return Err(KeyAdminError::SignsNow {
            key: key.public_key,
        });
    }
    let at = rfc3339(now);
    let table = file.key_table(index)?;
    table["revoked"] = value(true);
    if !key.valid_until.as_ref().is_some_and(|u| earlier(u, &at)) {
        table["valid_until"] = value(at.as_str());
        key.valid_until = Some(at);
    }
    key.revoked = true;
    file.save()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{InitOptions, Node};

    fn node() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        Node::init(
            &dir,
            InitOptions {
                role: Default::default(),
                id: "fr-test".into(),
                country: "FR".into(),
                base_url: "https://fr.example".into(),
                name: "Test".into(),
                key: None,
            },
        )
        .unwrap();
        (tmp, dir)
    }

    #[test]
    fn rotate_then_revoke_follow_the_rules_and_keep_comments() {
        let (_tmp, dir) = node();
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("# operated by the test\n{text}")).unwrap();
        let first = NodeConfig::load(&dir).unwrap().keys[0].public_key.clone();

        let now = OffsetDateTime::parse("2027-03-01T12:00:00.5Z", &Rfc3339).unwrap();
        let err = revoke(&dir, &first, now).unwrap_err();
        assert!(matches!(err, KeyAdminError::SignsNow { .. }), "{err}");

        let r = rotate(&dir, now).unwrap();
        assert_eq!(r.previous.public_key, first);
        assert_eq!(
            r.previous.valid_until.as_deref(),
            Some("2027-03-01T12:00:01Z")
        );
        assert_eq!(r.new.valid_from, "2027-03-01T12:00:00Z");
        let config = NodeConfig::load(&dir).unwrap();
        assert_eq!(config.active_key().unwrap().public_key, r.new.public_key);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("# operated by the test\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.join(&r.new.secret_key_file)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        Node::open(&dir).unwrap();

        let fingerprint = key_fingerprint(&first).unwrap();
        let later = now + Duration::days(1);
        let revoked = revoke(&dir, &fingerprint, later).unwrap();
        assert!(revoked.revoked);
        assert_eq!(
            revoked.valid_until.as_deref(),
            Some("2027-03-01T12:00:01Z"),
            "earlier end kept"
        );
        let err = revoke(&dir, &format!("did:key:{first}#{first}"), later).unwrap_err();
        assert!(matches!(err, KeyAdminError::AlreadyRevoked { .. }), "{err}");
        let err = revoke(&dir, &r.new.public_key, later).unwrap_err();
        assert!(matches!(err, KeyAdminError::SignsNow { .. }), "{err}");
        let err = revoke(&dir, "z6MkUnknown", later).unwrap_err();
        assert!(err.to_string().contains(&first), "{err}");
    }
}
