//! A node: its directory, configuration, store and signing key, and the
//! publishing pipeline (parse → split → version → SHACL → sign → store).

use crate::config::{ConfigError, KeyConfig, NodeConfig, NodeDir};
use crate::dir_lock::{DirLock, LockError};
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
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

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

/// An error of the store, whatever its backend, carried with what was being done.
pub use ccis_harvest::BoxError;

/// Why a node could not be opened, or could not do what it was asked; each
/// variant names the file, the record or the key, and nothing already stored
/// is lost by any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// `ccis.toml` cannot be read, written or used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A validation decision is refused, or the workflow cannot be read.
    #[error(transparent)]
    Validation(#[from] crate::validation::ValidationError),
    /// Another process writes to the node directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The node's key cannot be made, read or written.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// `peers.toml` cannot be used.
    #[error(transparent)]
    Peers(#[from] ccis_integrity::peers::PeersError),
    /// The harvester cannot be set up.
    #[error(transparent)]
    Harvest(#[from] ccis_harvest::HarvestError),
    /// The SHACL shapes cannot be loaded, or a record does not conform.
    #[error(transparent)]
    Shapes(#[from] ccis_integrity::shapes::ShapeError),
    /// `ccis init` into a directory that already holds a node.
    #[error("{} already exists; refusing to overwrite a node", .0.display())]
    AlreadyANode(PathBuf),
    /// The node directory cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The secret key file holds another key than the one `ccis.toml` names.
    #[error("secret key file {file} does not match public key {public_key} in ccis.toml")]
    KeyMismatch {
        /// The secret key file.
        file: String,
        /// The public key of `ccis.toml`.
        public_key: String,
    },
    /// The store failed while doing `what`; nothing of it was written.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: String,
        /// What the store said.
        source: BoxError,
    },
    /// The search index could not be opened or brought up to the store
    /// (what is stored is stored: the index catches up when next opened).
    #[error(transparent)]
    Search(Box<ccis_search::SearchError>),
    /// An input file with no known RDF format.
    #[error("{0}: unknown format; use .ttl, .nt, .jsonld or --format")]
    UnknownFormat(String),
    /// An input file that cannot be read or parsed (the error names the line).
    #[error(transparent)]
    Input(#[from] rdf_input::InputError),
    /// The records of an input file cannot be split out of it.
    #[error("{file}: {source}")]
    Records {
        /// The input file.
        file: String,
        /// Why.
        source: record::RecordError,
    },
    /// One record in two input files.
    #[error("record <{record}> is in both {first} and {second}")]
    Duplicate {
        /// The record IRI.
        record: String,
        /// The file that has it first.
        first: String,
        /// The other file.
        second: String,
    },
    /// Some records were refused; nothing was stored.
    #[error(transparent)]
    Refused(#[from] PublishRefused),
    /// Not an IRI.
    #[error("{0:?} is not an IRI")]
    NotAnIri(String),
    /// A record this node does not store.
    #[error("<{0}> is not stored on this node")]
    NotStored(String),
    /// A record IRI that is not one of this node's.
    #[error("<{record}> is not a record IRI of this node ({base}/records/…)")]
    NotOwnRecord {
        /// The IRI given.
        record: String,
        /// This node's base URL.
        base: String,
    },
    /// Withdrawing a record already withdrawn.
    #[error("<{0}> is already withdrawn")]
    AlreadyWithdrawn(String),
    /// A record that cannot be brought to canonical form or signed.
    #[error("cannot sign <{record}>: {source}")]
    Sign {
        /// The record IRI.
        record: String,
        /// Why.
        source: ccis_integrity::proof::ProofError,
    },
    /// A record that cannot be brought to canonical form to be compared.
    #[error("cannot compare <{record}> with its stored version: {source}")]
    Compare {
        /// The record IRI.
        record: String,
        /// Why.
        source: canon::CanonError,
    },
}

impl From<ccis_search::SearchError> for NodeError {
    fn from(e: ccis_search::SearchError) -> Self {
        NodeError::Search(Box::new(e))
    }
}

/// Maps any store error into [`NodeError::Store`] with what was being done.
pub(crate) fn store_err<E: Into<BoxError>>(what: impl Into<String>) -> impl FnOnce(E) -> NodeError {
    let what = what.into();
    move |e| NodeError::Store {
        what,
        source: e.into(),
    }
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
    /// The node's role (national unless it is the European centre's node).
    pub role: ccis_integrity::peers::Role,
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
    /// The search index, opened on first use (closed before the lock goes).
    search: Mutex<Option<Arc<ccis_search::Index>>>,
    /// The directory's writer lock (none when opened read-only); the store
    /// is declared first, so it closes before the lock is released.
    _lock: Option<DirLock>,
}

/// Whether two versions say the same (version and date aside), compared in
/// canonical form so that blank node labels do not matter.
fn same_content(a: &Record, b: &Record) -> Result<bool, NodeError> {
    let canonical = |r: &Record| {
        let content = Record::new(r.iri.clone(), r.content_key());
        canon::canonical_sha256(&content.document(), &Limits::default()).map_err(|source| {
            NodeError::Compare {
                record: r.iri.as_str().to_owned(),
                source,
            }
        })
    };
    Ok(canonical(a)? == canonical(b)?)
}

pub use ccis_model::clock::now;

impl Node {
    /// The stored signed records with the given IRIs, or all of them.
    pub fn export(&self, iris: &[String]) -> Result<Vec<SignedRecord>, NodeError> {
        let iris: Vec<NamedNode> = if iris.is_empty() {
            self.store
                .entries()
                .map_err(store_err("cannot list the catalogue"))?
                .into_iter()
                .map(|e| e.record)
                .collect()
        } else {
            iris.iter()
                .map(|i| NamedNode::new(i.as_str()).map_err(|_| NodeError::NotAnIri(i.clone())))
                .collect::<Result<_, _>>()?
        };
        iris.iter()
            .map(|iri| {
                self.stored(iri)?
                    .ok_or_else(|| NodeError::NotStored(iri.as_str().to_owned()))
            })
            .collect()
    }

    /// The stored version of a record, if any.
    fn stored(&self, iri: &NamedNode) -> Result<Option<SignedRecord>, NodeError> {
        self.store
            .get(iri)
            .map_err(store_err(format!("cannot read <{}>", iri.as_str())))
    }

    /// Creates a node directory: `ccis.toml`, the secret key (0600) and an empty store.
    pub fn init(dir: &Path, options: InitOptions) -> Result<Self, NodeError> {
        let nd = NodeDir::new(dir);
        if nd.config().exists() {
            return Err(NodeError::AlreadyANode(nd.config()));
        }
        std::fs::create_dir_all(dir).map_err(|source| NodeError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
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
            role: options.role,
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
            submissions: Default::default(),
            review: Default::default(),
            mail: None,
        };
        config.check()?;
        keys::write_secret_key(&dir.join("secret.key"), &key)?;
        NodeStore::open(&nd.store(), &config.base_url)
            .map_err(store_err("cannot create the store"))?;
        config.save(dir)?;
        let mut node = Self::open(dir)?;
        node.new_api_token = Some(token);
        Ok(node)
    }

    /// Opens an existing node directory to write to it, locking it for
    /// `command` (see [`DirLock`]); refuses a secret key readable by others.
    pub fn open_for(dir: &Path, command: &str) -> Result<Self, NodeError> {
        let lock = DirLock::acquire(dir, command)?;
        let nd = NodeDir::new(dir);
        let config = NodeConfig::load(dir)?;
        let signer = Self::signer(dir, &config)?;
        let store = NodeStore::open(&nd.store(), &config.base_url)
            .map_err(store_err("opening the node"))?
            .with_page_size(config.server.page_size)
            .with_page_max_bytes(config.harvest.page_cut_bytes());
        Ok(Self::assemble(nd, config, store, signer, Some(lock)))
    }

    /// Opens an existing node directory to write to it (see [`Self::open_for`]).
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        Self::open_for(dir, "another ccis command")
    }

    /// Opens a node directory to read it, even while another process (such
    /// as `ccis serve`) writes to it: the store as it was when opened.
    pub fn open_read_only(dir: &Path) -> Result<Self, NodeError> {
        let nd = NodeDir::new(dir);
        let config = NodeConfig::load(dir)?;
        let signer = Self::signer(dir, &config)?;
        let store = NodeStore::open_read_only(&nd.store(), &config.base_url)
            .map_err(store_err("opening the node"))?
            .with_page_size(config.server.page_size)
            .with_page_max_bytes(config.harvest.page_cut_bytes());
        Ok(Self::assemble(nd, config, store, signer, None))
    }

    fn signer(dir: &Path, config: &NodeConfig) -> Result<ProofSigner, NodeError> {
        let active = config.active_key()?;
        let key = keys::read_secret_key(&dir.join(&active.secret_key_file))?;
        if keys::public_multikey(&key.verifying_key()) != active.public_key {
            return Err(NodeError::KeyMismatch {
                file: active.secret_key_file.clone(),
                public_key: active.public_key.clone(),
            });
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
            search: Mutex::new(None),
            _lock: lock,
        }
    }

    /// The signing key's did:key verification method.
    pub fn verification_method(&self) -> String {
        self.signer.verification_method().to_owned()
    }

    /// The node's SHACL shapes, compiled once (cheap to clone), with
    /// messages in the operator's language.
    pub fn shape_validator(&self) -> Result<ShapeValidator, NodeError> {
        self.validator().cloned()
    }

    fn validator(&self) -> Result<&ShapeValidator, NodeError> {
        if let Some(v) = self.validator.get() {
            return Ok(v);
        }
        let v = match &self.config.language {
            Some(language) => ShapeValidator::with_language(language)?,
            None => ShapeValidator::new()?,
        };
        Ok(self.validator.get_or_init(|| v))
    }

    /// Reads records from files (format by extension unless given).
    pub fn read_records(
        &self,
        paths: &[impl AsRef<Path>],
        format: Option<InputFormat>,
    ) -> Result<Vec<Record>, NodeError> {
        let contexts = PinnedContexts::default();
        let base = format!("{}/", self.config.base_url);
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut all = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let name = path.display().to_string();
            let fmt = format
                .or_else(|| InputFormat::from_path(path))
                .ok_or_else(|| NodeError::UnknownFormat(name.clone()))?;
            let bytes = rdf_input::read_file(path, self.max_input_bytes)?;
            let quads = rdf_input::parse(&bytes, fmt, Some(&base), &name, &contexts)?;
            let limits = self.config.harvest.record_limits();
            let records = record::split_into_records_with(quads, &self.config.base_url, &limits)
                .map_err(|source| NodeError::Records {
                    file: name.clone(),
                    source,
                })?;
            for r in records {
                if let Some(first) = seen.insert(r.iri.as_str().to_owned(), name.clone()) {
                    return Err(NodeError::Duplicate {
                        record: r.iri.as_str().to_owned(),
                        first,
                        second: name,
                    });
                }
                all.push(r);
            }
        }
        Ok(all)
    }

    /// Publishes records: new content gets the next version and a new proof;
    /// identical content changes nothing. All or nothing: one transaction.
    pub fn publish(&self, records: Vec<Record>) -> Result<Vec<Published>, NodeError> {
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
            let record = normalized(&record)?;
            let stored = self.stored(&record.iri)?;
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
            let stamped = normalized(&record.stamped(version, &modified))?;
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
    pub fn withdraw(&self, iri: &str) -> Result<Published, NodeError> {
        let node = NamedNode::new(iri).map_err(|_| NodeError::NotAnIri(iri.to_owned()))?;
        if record::record_of(iri, &self.config.base_url).as_deref() != Some(iri) {
            return Err(NodeError::NotOwnRecord {
                record: iri.to_owned(),
                base: self.config.base_url.clone(),
            });
        }
        let stored = self
            .stored(&node)?
            .ok_or_else(|| NodeError::NotStored(iri.to_owned()))?;
        if stored.record.is_withdrawn() {
            return Err(NodeError::AlreadyWithdrawn(iri.to_owned()));
        }
        let version = stored.record.version().unwrap_or(0) + 1;
        let tombstone = normalized(&Record::tombstone(node, version, &now()))?;
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
    pub fn resign_all(&self) -> Result<Vec<Published>, NodeError> {
        let modified = now();
        let mut signed = Vec::new();
        let mut results = Vec::new();
        let entries = self
            .store
            .entries()
            .map_err(store_err("cannot list the catalogue"))?;
        for entry in entries {
            if entry.origin != self.config.id {
                continue;
            }
            let Some(stored) = self.stored(&entry.record)? else {
                continue;
            };
            let version = stored.record.version().unwrap_or(0) + 1;
            let stamped = normalized(&stored.record.stamped(version, &modified))?;
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
    pub fn harvester(&self) -> Result<ccis_harvest::Harvester, NodeError> {
        Ok(ccis_harvest::Harvester::new(
            self.store.clone(),
            &self.config.id,
            &self.config.base_url,
            ccis_integrity::peers::Peers::load_for_node(&self.dir.root)?,
            self.config.harvest.clone(),
            Some(self.dir.root.join("refused.jsonl")),
        )?
        .with_country(&self.config.country))
    }

    /// Signs a stamped record with the node's active key.
    pub fn sign(&self, record: Record) -> Result<SignedRecord, NodeError> {
        let proof = self
            .signer
            .sign(&record.document(), &now(), &Limits::default())
            .map_err(|source| NodeError::Sign {
                record: record.iri.as_str().to_owned(),
                source,
            })?;
        Ok(SignedRecord { record, proof })
    }

    /// The provenance of this node's own versions stored now: its id, no
    /// peer as source, signed with its active key.
    pub fn local_meta(&self) -> StoreMeta {
        StoreMeta {
            origin: self.config.id.clone(),
            source: "local".into(),
            stored_at: now(),
            verified_with: self.verification_method(),
            signed_nquads: None,
        }
    }

    fn store_local(&self, signed: &[SignedRecord]) -> Result<(), NodeError> {
        let meta = self.local_meta();
        let items: Vec<_> = signed.iter().map(|s| (s.clone(), meta.clone())).collect();
        self.store.put_all(&items).map_err(store_err(format!(
            "cannot store {} version(s)",
            items.len()
        )))?;
        abort_before_indexing_if_asked();
        self.index_written();
        Ok(())
    }

    /// The node's search index in `<dir>/index/`, opened on first use: a
    /// missing, corrupt or incompatible one is rebuilt from the store, and
    /// it catches up with the store's feed log.
    pub fn search_index(&self) -> Result<Arc<ccis_search::Index>, NodeError> {
        let mut slot = self.search_slot();
        if let Some(index) = slot.as_ref() {
            return Ok(index.clone());
        }
        let opened = Arc::new(ccis_search::Index::open(&self.dir.index(), &self.store)?);
        self.observe_with(&opened);
        *slot = Some(opened.clone());
        Ok(opened)
    }

    /// Brings the search index up to the store (after a write or a harvest
    /// round); returns the feed positions it indexed.
    pub fn update_search_index(&self) -> Result<ccis_search::CaughtUp, NodeError> {
        Ok(self.search_index()?.catch_up(&self.store)?)
    }

    /// Throws the search index away and builds it again from the store
    /// (`ccis reindex`).
    pub fn rebuild_search_index(&self) -> Result<Arc<ccis_search::Index>, NodeError> {
        let mut slot = self.search_slot();
        if let Some(index) = slot.as_ref() {
            // Already open in this process: empty it in place, then refill.
            index.clear()?;
            index.catch_up(&self.store)?;
            return Ok(index.clone());
        }
        let rebuilt = Arc::new(ccis_search::Index::rebuild(&self.dir.index(), &self.store)?);
        self.observe_with(&rebuilt);
        *slot = Some(rebuilt.clone());
        Ok(rebuilt)
    }

    /// Has the store hand `index` what it writes, so that a catch-up takes
    /// it from memory rather than from the feed log.
    fn observe_with(&self, index: &Arc<ccis_search::Index>) {
        let observer: Arc<dyn ccis_store::FeedObserver> = index.clone();
        self.store
            .set_feed_observer(Some(Arc::downgrade(&observer)));
    }

    /// The open search index, if any (one opening at a time).
    fn search_slot(&self) -> MutexGuard<'_, Option<Arc<ccis_search::Index>>> {
        // A panic while opening left nothing half-made in the slot.
        self.search
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Indexes what was just stored; what fails here is logged, not
    /// returned: the versions are stored, and the index catches up with the
    /// store's feed log the next time it is opened or updated.
    fn index_written(&self) {
        if let Err(e) = self.update_search_index() {
            tracing::warn!(error = %e, "search index not updated; it catches up when next opened");
        }
    }
}

/// Name of the environment variable that makes a process abort right after
/// a write to the store and before the search index is updated. **For tests
/// only** (the crash test of the search index, `tests/search.rs`): it
/// simulates a crash between the two; never set it on a running node.
pub const ABORT_BEFORE_INDEXING_ENV: &str = "CCIS_TEST_ABORT_BEFORE_INDEXING";

/// Test-only hook, see [`ABORT_BEFORE_INDEXING_ENV`].
fn abort_before_indexing_if_asked() {
    if std::env::var_os(ABORT_BEFORE_INDEXING_ENV).is_some_and(|v| !v.is_empty()) {
        eprintln!(
            "{ABORT_BEFORE_INDEXING_ENV} is set: aborting after the store write, before indexing"
        );
        std::process::abort();
    }
}

/// A record in the form the store keeps it (see [`NodeStore::normalized`]).
fn normalized(record: &Record) -> Result<Record, NodeError> {
    NodeStore::normalized(record).map_err(store_err(format!(
        "cannot normalize <{}>",
        record.iri.as_str()
    )))
}
