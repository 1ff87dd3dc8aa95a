//! A node: its directory, configuration, store and signing key, and the
//! publishing pipeline (parse → split → version → SHACL → sign → store).

use crate::config::{KeyConfig, NodeConfig, NodeDir};
use crate::dir_lock::DirLock;
use anyhow::{Context, bail};
use ccis_integrity::keys;
use ccis_integrity::proof::ProofSigner;
use ccis_integrity::shapes::ShapeValidator;
use ccis_integrity::signed::SignedRecord;
use ccis_model::canon::{self, Limits};
use ccis_model::rdf_input::{self, InputFormat, PinnedContexts};
use ccis_model::record::{self, Record};
use ccis_store::{NodeStore, StoreMeta};
use ed25519_dalek::SigningKey;
use oxrdf::NamedNode;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// What publishing did to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// First version stored.
    Created,
    /// A new version stored.
    Updated,
    /// Same content as the stored version: nothing written.
    Unchanged,
    /// A tombstone stored.
    Withdrawn,
}

/// The result of publishing one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The record IRI.
    pub iri: String,
    /// Its version after publishing.
    pub version: u64,
    /// What happened.
    pub outcome: Outcome,
}

/// Publishing refused: one problem per refused record; nothing was stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("nothing was stored:\n{}", problems.join("\n"))]
pub struct PublishRefused {
    /// What is wrong, record by record.
    pub problems: Vec<String>,
}

/// Options of `ccis init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Node id.
    pub id: String,
    /// Country code.
    pub country: String,
    /// Base URL.
    pub base_url: String,
    /// Name of the centre.
    pub name: String,
    /// An existing secret key to use instead of a new one (demo nodes).
    pub key: Option<SigningKey>,
}

/// An open node.
pub struct Node {
    /// Its directory.
    pub dir: NodeDir,
    /// Its configuration.
    pub config: NodeConfig,
    /// Its store.
    pub store: NodeStore,
    signer: ProofSigner,
    validator: OnceLock<ShapeValidator>,
    /// Largest input file accepted.
    pub max_input_bytes: u64,
    /// The operator API token, only right after `init` (never stored in clear).
    pub new_api_token: Option<String>,
    /// The directory's writer lock (none when opened read-only); the store
    /// is declared first, so it closes before the lock is released.
    _lock: Option<DirLock>,
}

/// Whether two versions say the same (version and date aside), compared in
/// canonical form so that blank node labels do not matter.
fn same_content(a: &Record, b: &Record) -> anyhow::Result<bool> {
    let canonical = |r: &Record| {
        let content = Record::new(r.iri.clone(), r.content_key());
        canon::canonical_sha256(&content.document(), &Limits::default())
    };
    Ok(canonical(a)? == canonical(b)?)
}

pub use ccis_model::clock::now;

impl Node {
    /// The stored signed records with the given IRIs, or all of them.
    pub fn export(&self, iris: &[String]) -> anyhow::Result<Vec<SignedRecord>> {
        let iris: Vec<NamedNode> = if iris.is_empty() {
            self.store
                .entries()?
                .into_iter()
                .map(|e| e.record)
                .collect()
        } else {
            iris.iter()
                .map(|i| NamedNode::new(i.as_str()).with_context(|| format!("{i:?} is not an IRI")))
                .collect::<anyhow::Result<_>>()?
        };
        iris.iter()
            .map(|iri| {
                self.store
                    .get(iri)?
                    .with_context(|| format!("<{}> is not stored on this node", iri.as_str()))
            })
            .collect()
    }

    /// Creates a node directory: `ccis.toml`, the secret key (0600) and an empty store.
    pub fn init(dir: &Path, options: InitOptions) -> anyhow::Result<Self> {
        let nd = NodeDir::new(dir);
        if nd.config().exists() {
            bail!(
                "{} already exists; refusing to overwrite a node",
                nd.config().display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key = match options.key {
            Some(k) => k,
            None => keys::generate()?,
        };
        let (token, token_hash) = crate::config::new_api_token()?;
        let config = NodeConfig {
            id: options.id,
            name: options.name,
            country: options.country.to_ascii_uppercase(),
            base_url: options.base_url.trim_end_matches('/').to_owned(),
            listen: None,
            language: None,
            keys: vec![KeyConfig {
                public_key: keys::public_multikey(&key.verifying_key()),
                secret_key_file: "secret.key".into(),
                valid_from: now(),
                valid_until: None,
                revoked: false,
            }],
            server: crate::config::ServerConfig {
                api_token_sha256: Some(token_hash),
                ..Default::default()
            },
            harvest: Default::default(),
        };
        config.check()?;
        keys::write_secret_key(&dir.join("secret.key"), &key)?;
        NodeStore::open(&nd.store(), &config.base_url)?;
        config.save(dir)?;
        let mut node = Self::open(dir)?;
        node.new_api_token = Some(token);
        Ok(node)
    }

    /// Opens an existing node directory to write to it, locking it for
    /// `command` (see [`DirLock`]); refuses a secret key readable by others.
    pub fn open_for(dir: &Path, command: &str) -> anyhow::Result<Self> {
        let lock = DirLock::acquire(dir, command)?;
        let nd = NodeDir::new(dir);
        let config = NodeConfig::load(dir)?;
        let signer = Self::signer(dir, &config)?;
        let store = NodeStore::open(&nd.store(), &config.base_url)?
            .with_page_size(config.server.page_size)
            .with_page_max_bytes(config.harvest.page_cut_bytes());
        Ok(Self::assemble(nd, config, store, signer, Some(lock)))
    }

    /// Opens an existing node directory to write to it (see [`Self::open_for`]).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Self::open_for(dir, "another ccis command")
    }

    /// Opens a node directory to read it, even while another process (such
    /// as `ccis serve`) writes to it: the store as it was when opened.
    pub fn open_read_only(dir: &Path) -> anyhow::Result<Self> {
        let nd = NodeDir::new(dir);
        let config = NodeConfig::load(dir)?;
        let signer = Self::signer(dir, &config)?;
        let store = NodeStore::open_read_only(&nd.store(), &config.base_url)?
            .with_page_size(config.server.page_size)
            .with_page_max_bytes(config.harvest.page_cut_bytes());
        Ok(Self::assemble(nd, config, store, signer, None))
    }

    fn signer(dir: &Path, config: &NodeConfig) -> anyhow::Result<ProofSigner> {
        let active = config.active_key()?;
        let key = keys::read_secret_key(&dir.join(&active.secret_key_file))?;
        if keys::public_multikey(&key.verifying_key()) != active.public_key {
            bail!(
                "secret key file {} does not match public key {} in ccis.toml",
                active.secret_key_file,
                active.public_key
            );
        }
        Ok(ProofSigner::new(key))
    }

    fn assemble(
        dir: NodeDir,
        config: NodeConfig,
        store: NodeStore,
        signer: ProofSigner,
        lock: Option<DirLock>,
    ) -> Self {
        Self {
            dir,
            config,
            store,
            signer,
            validator: OnceLock::new(),
            max_input_bytes: rdf_input::DEFAULT_MAX_INPUT_BYTES,
            new_api_token: None,
            _lock: lock,
        }
    }

    /// The signing key's did:key verification method.
    pub fn verification_method(&self) -> String {
        self.signer.verification_method().to_owned()
    }

    fn validator(&self) -> anyhow::Result<&ShapeValidator> {
        if self.validator.get().is_none() {
            let v = match &self.config.language {
                Some(language) => ShapeValidator::with_language(language)?,
                None => ShapeValidator::new()?,
            };
            let _ = self.validator.set(v);
        }
        self.validator.get().context("shape validator unavailable")
    }

    /// Reads records from files (format by extension unless given).
    pub fn read_records(
        &self,
        paths: &[impl AsRef<Path>],
        format: Option<InputFormat>,
    ) -> anyhow::Result<Vec<Record>> {
        let contexts = PinnedContexts::default();
        let base = format!("{}/", self.config.base_url);
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut all = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let name = path.display().to_string();
            let fmt = format
                .or_else(|| InputFormat::from_path(path))
                .with_context(|| {
                    format!("{name}: unknown format; use .ttl, .nt, .jsonld or --format")
                })?;
            let bytes = rdf_input::read_file(path, self.max_input_bytes)?;
            let quads = rdf_input::parse(&bytes, fmt, Some(&base), &name, &contexts)?;
            let limits = self.config.harvest.record_limits();
            let records = record::split_into_records_with(quads, &self.config.base_url, &limits)
                .with_context(|| name.clone())?;
            for r in records {
                if let Some(other) = seen.insert(r.iri.as_str().to_owned(), name.clone()) {
                    bail!("record <{}> is in both {other} and {name}", r.iri.as_str());
                }
                all.push(r);
            }
        }
        Ok(all)
    }

    /// Publishes records: new content gets the next version and a new proof;
    /// identical content changes nothing. All or nothing: one transaction.
    pub fn publish(&self, records: Vec<Record>) -> anyhow::Result<Vec<Published>> {
        let validator = self.validator()?;
        let modified = now();
        let mut results = Vec::new();
        let mut to_store = Vec::new();
        let mut errors = Vec::new();
        for record in records {
            if record.is_withdrawn() {
                errors.push(format!(
                    "<{}>: use `ccis withdraw` to withdraw a record",
                    record.iri.as_str()
                ));
                continue;
            }
            let record = NodeStore::normalized(&record)?;
            let stored = self.store.get(&record.iri)?;
            let (version, outcome) = match &stored {
                Some(s) if same_content(&s.record, &record)? => {
                    results.push(Published {
                        iri: record.iri.as_str().to_owned(),
                        version: s.record.version().unwrap_or(0),
                        outcome: Outcome::Unchanged,
                    });
                    continue;
                }
                Some(s) => (s.record.version().unwrap_or(0) + 1, Outcome::Updated),
                None => (1, Outcome::Created),
            };
            let stamped = NodeStore::normalized(&record.stamped(version, &modified))?;
            if let Err(e) = validator.validate(&stamped) {
                errors.push(e.to_string());
                continue;
            }
            match self.sign(stamped) {
                Ok(signed) => {
                    results.push(Published {
                        iri: signed.record.iri.as_str().to_owned(),
                        version,
                        outcome,
                    });
                    to_store.push(signed);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(PublishRefused { problems: errors }.into());
        }
        self.store_local(&to_store)?;
        Ok(results)
    }

    /// Stores a signed tombstone with the next version.
    pub fn withdraw(&self, iri: &str) -> anyhow::Result<Published> {
        let node = NamedNode::new(iri).with_context(|| format!("{iri:?} is not an IRI"))?;
        if record::record_of(iri, &self.config.base_url).as_deref() != Some(iri) {
            bail!(
                "<{iri}> is not a record IRI of this node ({}/records/…)",
                self.config.base_url
            );
        }
        let stored = self
            .store
            .get(&node)?
            .with_context(|| format!("<{iri}> is not stored on this node"))?;
        if stored.record.is_withdrawn() {
            bail!("<{iri}> is already withdrawn");
        }
        let version = stored.record.version().unwrap_or(0) + 1;
        let tombstone = NodeStore::normalized(&Record::tombstone(node, version, &now()))?;
        self.validator()?.validate(&tombstone)?;
        let signed = self.sign(tombstone)?;
        self.store_local(std::slice::from_ref(&signed))?;
        Ok(Published {
            iri: iri.to_owned(),
            version,
            outcome: Outcome::Withdrawn,
        })
    }

    /// Re-signs every record of this node with the active key, each as a new
    /// version with the same content (after a key is revoked). One transaction.
    pub fn resign_all(&self) -> anyhow::Result<Vec<Published>> {
        let modified = now();
        let mut signed = Vec::new();
        let mut results = Vec::new();
        for entry in self.store.entries()? {
            if entry.origin != self.config.id {
                continue;
            }
            let Some(stored) = self.store.get(&entry.record)? else {
                continue;
            };
            let version = stored.record.version().unwrap_or(0) + 1;
            let stamped = NodeStore::normalized(&stored.record.stamped(version, &modified))?;
            results.push(Published {
                iri: entry.record.as_str().to_owned(),
                version,
                outcome: if stored.record.is_withdrawn() {
                    Outcome::Withdrawn
                } else {
                    Outcome::Updated
                },
            });
            signed.push(self.sign(stamped)?);
        }
        self.store_local(&signed)?;
        Ok(results)
    }

    /// A harvester for this node's peers (`peers.toml` in its directory), logging
    /// refusals to `refused.jsonl` there.
    pub fn harvester(&self) -> anyhow::Result<ccis_harvest::Harvester> {
        Ok(ccis_harvest::Harvester::new(
            self.store.clone(),
            &self.config.id,
            &self.config.base_url,
            ccis_integrity::peers::Peers::load_for_node(&self.dir.root)?,
            self.config.harvest.clone(),
            Some(self.dir.root.join("refused.jsonl")),
        )?)
    }

    /// Signs a stamped record with the node's active key.
    pub fn sign(&self, record: Record) -> anyhow::Result<SignedRecord> {
        let proof = self
            .signer
            .sign(&record.document(), &now(), &Limits::default())
            .with_context(|| format!("cannot sign <{}>", record.iri.as_str()))?;
        Ok(SignedRecord { record, proof })
    }

    fn store_local(&self, signed: &[SignedRecord]) -> anyhow::Result<()> {
        let stored_at = now();
        let meta = StoreMeta {
            origin: self.config.id.clone(),
            source: "local".into(),
            stored_at,
            verified_with: self.verification_method(),
            signed_nquads: None,
        };
        let items: Vec<_> = signed.iter().map(|s| (s.clone(), meta.clone())).collect();
        Ok(self.store.put_all(&items)?)
    }
}
