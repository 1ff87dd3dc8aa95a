//! The embedded Oxigraph store and its layout.
//!
//! * graph `<R>`: exactly the signed content of record R's current version;
//! * graph `<R/proof>`: its Data Integrity proof (the proof node is the graph name);
//! * graph `<{base}/catalogue>`: the `dcat:Catalog`, one `dcat:CatalogRecord`
//!   per record (version, status, when, and its provenance as IRIs: origin
//!   node, source node, verification method; see [`catalogue`]) and the
//!   `<R> sec:proof <R/proof>` link;
//! * graph `<{base}/feed>`: the log behind the LDES feed, one entry per stored
//!   version in publishing order, holding the version with its proof exactly
//!   as it was signed or verified (see [`feed`]);
//! * graph `<{base}/harvest>`: per peer, the position in its feed and its health;
//! * graph `<https://w3id.org/ccis/ns>`: the vocabulary built into the binary.
//!
//! Every change of a record touches its graphs, the catalogue and the feed
//! log in one atomic write (a transaction, or one bulk load); writers take
//! turns through one lock. What harvest, feed and server need of a store is
//! the [`RecordStore`] trait, so that another backend can stand in for this one.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/01-architecture.md")]
#![deny(missing_docs)]

mod backend;
mod bulk;
pub mod catalogue;
mod error;
pub mod feed;
mod harvest_state;
mod observe;
mod query;
mod upgrade;
mod workflow;
mod write;

pub use backend::{
    CatalogueRead, FeedLogRead, HarvestStateStore, HarvestWrite, RecordStore, RecordWrite,
};
pub use bulk::{BulkOptions, PeerWriter};
pub use catalogue::{CatalogueEntry, node_iri};
pub use error::StoreError;
pub use feed::{FeedMember, FeedPage, member_iri, member_page_bytes, signed_nquads};
pub use harvest_state::{PeerState, refusal_key};
pub use observe::FeedObserver;
pub use query::Counts;
pub use write::{StoreMeta, Written};

use ccis_model::record::Record;
use ccis_model::vocab;
use oxigraph::store::{StorageError, Store, Transaction};
use oxrdf::{GraphNameRef, NamedNode, Triple};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Members per feed page unless the node's configuration says otherwise.
pub const DEFAULT_PAGE_SIZE: u64 = 250;
/// Bytes at which a feed page is cut unless the configuration says otherwise
/// (a quarter of what a harvester accepts by default).
pub const DEFAULT_PAGE_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The graph holding the ccis vocabulary, schemes and EU tables in every store.
pub const VOCABULARY_GRAPH: &str = "https://w3id.org/ccis/ns";

/// The node's store.
#[derive(Clone)]
pub struct NodeStore {
    store: Store,
    /// The node's base URL (no trailing slash).
    base: String,
    catalogue: NamedNode,
    feed: NamedNode,
    page_size: u64,
    page_max_bytes: u64,
    writer: Arc<Mutex<()>>,
    /// Told of each version appended to the feed log.
    observer: observe::ObserverSlot,
    /// Opened read-only: no transactions, and nothing changes under a reader.
    read_only: bool,
}

/// What reads quads consistently: a transaction, or a read-only store (which
/// nothing changes while it is open).
pub(crate) trait QuadReader {
    /// The quads matching a pattern.
    fn quads(
        &self,
        subject: Option<oxrdf::NamedOrBlankNodeRef<'_>>,
        predicate: Option<oxrdf::NamedNodeRef<'_>>,
        object: Option<oxrdf::TermRef<'_>>,
        graph: Option<GraphNameRef<'_>>,
    ) -> oxigraph::store::QuadIter<'_>;
}

impl QuadReader for Transaction<'_> {
    fn quads(
        &self,
        subject: Option<oxrdf::NamedOrBlankNodeRef<'_>>,
        predicate: Option<oxrdf::NamedNodeRef<'_>>,
        object: Option<oxrdf::TermRef<'_>>,
        graph: Option<GraphNameRef<'_>>,
    ) -> oxigraph::store::QuadIter<'_> {
        self.quads_for_pattern(subject, predicate, object, graph)
    }
}

impl QuadReader for Store {
    fn quads(
        &self,
        subject: Option<oxrdf::NamedOrBlankNodeRef<'_>>,
        predicate: Option<oxrdf::NamedNodeRef<'_>>,
        object: Option<oxrdf::TermRef<'_>>,
        graph: Option<GraphNameRef<'_>>,
    ) -> oxigraph::store::QuadIter<'_> {
        self.quads_for_pattern(subject, predicate, object, graph)
    }
}

/// Times a read-only open is tried again when the store changed under it.
const READ_ONLY_OPEN_ATTEMPTS: u64 = 10;

/// Whether a read-only open failed because a writer removed a file it listed.
fn changed_while_opening(e: &StorageError) -> bool {
    let message = e.to_string();
    message.contains("No such file or directory") || message.contains("Corruption")
}

/// Why the store in `path` cannot be opened, said for an operator.
fn open_error(path: &Path, cause: StorageError) -> StoreError {
    let path = path.to_path_buf();
    if cause.to_string().contains("lock") {
        StoreError::InUse { path, cause }
    } else {
        StoreError::Open { path, cause }
    }
}

impl NodeStore {
    /// Runs `read` on one consistent view of the store: a transaction, or the
    /// store itself when it is read-only.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&dyn QuadReader) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if self.read_only {
            read(&self.store)
        } else {
            read(&self.store.start_transaction()?)
        }
    }

    /// Opens (or creates) the store in `path` for the node at `base_url`;
    /// provenance a store written before it was given as IRIs holds as
    /// literals is rewritten as IRIs, in one transaction.
    pub fn open(path: &Path, base_url: &str) -> Result<Self, StoreError> {
        let store = Store::open(path).map_err(|e| open_error(path, e))?;
        bulk::remove_unfinished_loads(path);
        let this = Self::with_store(store, base_url);
        this.load_vocabulary()?;
        this.upgrade_provenance()?;
        Ok(this)
    }

    /// Opens the store in `path` read-only: it sees the store as it was when
    /// opened, and works while another process writes to it.
    pub fn open_read_only(path: &Path, base_url: &str) -> Result<Self, StoreError> {
        if !path.join("CURRENT").exists() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        // A process that writes the store (`ccis serve`) may compact it while
        // this one reads its file list; the files, once open, stay readable.
        // So a store that changed during the open is opened again.
        let mut attempt = 0;
        let store = loop {
            match Store::open_read_only(path) {
                Ok(store) => break store,
                Err(e) if attempt < READ_ONLY_OPEN_ATTEMPTS && changed_while_opening(&e) => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100 * attempt));
                }
                Err(e) => return Err(open_error(path, e)),
            }
        };
        Ok(Self {
            read_only: true,
            ..Self::with_store(store, base_url)
        })
    }

    /// An in-memory store (tests and benchmarks).
    pub fn in_memory(base_url: &str) -> Result<Self, StoreError> {
        let store = Store::new().map_err(|cause| StoreError::Open {
            path: "(memory)".into(),
            cause,
        })?;
        let this = Self::with_store(store, base_url);
        this.load_vocabulary()?;
        Ok(this)
    }

    fn with_store(store: Store, base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/').to_owned();
        Self {
            store,
            catalogue: NamedNode::new_unchecked(format!("{base}/catalogue")),
            feed: NamedNode::new_unchecked(format!("{base}/feed")),
            base,
            page_size: DEFAULT_PAGE_SIZE,
            page_max_bytes: DEFAULT_PAGE_MAX_BYTES,
            writer: Arc::new(Mutex::new(())),
            observer: observe::ObserverSlot::default(),
            read_only: false,
        }
    }

    /// Keeps the graph `<https://w3id.org/ccis/ns>` equal to the vocabulary built
    /// into the binary (ontology, SKOS schemes, EU tables), so that queries can
    /// use concept labels. Rewritten in one transaction when it differs.
    fn load_vocabulary(&self) -> Result<(), StoreError> {
        let graph = NamedNode::new_unchecked(VOCABULARY_GRAPH);
        let mut quads = std::collections::HashSet::new();
        for ttl in [
            vocab::ONTOLOGY_TTL,
            vocab::SCHEMES_TTL,
            vocab::AUTHORITIES_TTL,
        ] {
            for q in oxigraph::io::RdfParser::from_format(oxigraph::io::RdfFormat::Turtle)
                .without_named_graphs()
                .for_slice(ttl.as_bytes())
            {
                let q = q.map_err(|cause| StoreError::Vocabulary { cause })?;
                quads.insert(Triple::from(q).in_graph(graph.clone()));
            }
        }
        let read = StoreError::read("the vocabulary", VOCABULARY_GRAPH);
        let stored = self
            .store
            .quads_for_pattern(None, None, None, Some(graph.as_ref().into()))
            .count();
        let mut current = true;
        for q in &quads {
            if !self.store.contains(q).map_err(&read)? {
                current = false;
                break;
            }
        }
        if stored == quads.len() && current {
            return Ok(());
        }
        let write = || StoreError::write(format!("the vocabulary into <{VOCABULARY_GRAPH}>"));
        let mut tx = self.store.start_transaction().map_err(write())?;
        tx.clear_graph(graph.as_ref()).map_err(write())?;
        tx.extend(quads.iter());
        tx.commit().map_err(write())
    }

    /// Sets the feed page size used if the feed has none yet (it is fixed
    /// when the first member is written, so that full pages never change).
    pub fn with_page_size(mut self, page_size: u64) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets the bytes (as N-Quads, [`member_page_bytes`]) past which the
    /// next member opens a new feed page. Cuts are stored as members are
    /// appended: changing this never changes a page already closed.
    pub fn with_page_max_bytes(mut self, bytes: u64) -> Self {
        self.page_max_bytes = bytes.max(1);
        self
    }

    /// The underlying Oxigraph store (SPARQL workers, backups, benchmarks:
    /// specific to this backend).
    pub fn oxigraph(&self) -> &Store {
        &self.store
    }

    /// The catalogue IRI (also the name of the catalogue graph).
    pub fn catalogue(&self) -> &NamedNode {
        &self.catalogue
    }

    /// This node's own IRI, `{base}/node` (what `GET /node` describes).
    pub fn node(&self) -> NamedNode {
        node_iri(&self.base)
    }

    /// The record as the store gives it back. Oxigraph keeps typed literals in
    /// a native encoding (`"01"^^xsd:integer` comes back as `"1"`), so a record
    /// is signed in this form to keep what is stored exactly what is signed.
    pub fn normalized(record: &Record) -> Result<Record, StoreError> {
        let failed = |cause| StoreError::Normalize {
            record: record.iri.as_str().to_owned(),
            cause,
        };
        let memory = Store::new().map_err(&failed)?;
        memory.extend(record.document()).map_err(&failed)?;
        let triples = memory
            .iter()
            .map(|q| q.map(Triple::from))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        Ok(Record::new(record.iri.clone(), triples))
    }

    /// Waits for the writer's turn.
    /// Attaches `observer` (or with `None` detaches the one attached): it
    /// is told of every version this store, and its clones, append to the
    /// feed log from now on, for as long as it lives (the store holds it
    /// weakly).
    pub fn set_feed_observer(&self, observer: Option<std::sync::Weak<dyn FeedObserver>>) {
        self.observer.set(observer);
    }

    pub(crate) fn writer_turn(&self) -> Result<std::sync::MutexGuard<'_, ()>, StoreError> {
        self.writer.lock().map_err(|_| StoreError::WriterPanicked {
            catalogue: self.catalogue.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
