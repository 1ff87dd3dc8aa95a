//! The embedded Oxigraph store and its layout.
//!
//! * graph `<R>`: exactly the signed content of record R's current version;
//! * graph `<R/proof>`: its Data Integrity proof (the proof node is the graph name);
//! * graph `<{base}/catalogue>`: the `dcat:Catalog`, one `dcat:CatalogRecord`
//!   per record (origin, version, status, source, when, verification) and the
//!   `<R> sec:proof <R/proof>` link;
//! * graph `<{base}/feed>`: the log behind the LDES feed, one entry per stored
//!   version in publishing order, holding the version with its proof exactly
//!   as it was signed or verified (see [`feed`]);
//! * graph `<{base}/harvest>`: per peer, the position in its feed and its health;
//! * graph `<https://w3id.org/ccis/ns>`: the vocabulary built into the binary.
//!
//! Every change of a record touches its graphs, the catalogue and the feed
//! log in one transaction; writers take turns through one lock.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/01-architecture.md")]

mod feed;
mod harvest_state;

pub use feed::{FeedMember, FeedPage, member_iri, member_page_bytes, signed_nquads};
pub use harvest_state::{PeerState, refusal_key};

use anyhow::Context;
use ccis_integrity::proof::Proof;
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use ccis_model::vocab;
use oxigraph::sparql::{
    CancellationToken, DefaultServiceHandler, QueryEvaluationError, QueryResults, SparqlEvaluator,
};
use oxigraph::store::{StorageError, Store, Transaction};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    GraphName, GraphNameRef, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, QuadRef,
    Term, Triple,
};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Members per feed page unless the node's configuration says otherwise.
pub const DEFAULT_PAGE_SIZE: u64 = 250;
/// Bytes at which a feed page is cut unless the configuration says otherwise
/// (a quarter of what a harvester accepts by default).
pub const DEFAULT_PAGE_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The graph holding the ccis vocabulary, schemes and EU tables in every store.
pub const VOCABULARY_GRAPH: &str = "https://w3id.org/ccis/ns";

/// Catalogue metadata of one stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The record IRI.
    pub record: NamedNode,
    /// Stored version.
    pub version: u64,
    /// `current` or `withdrawn`.
    pub status: String,
    /// Id of the node that originated it.
    pub origin: String,
    /// Where it came from: the node itself or the peer's base URL.
    pub source: String,
    /// When it was stored.
    pub stored_at: String,
    /// The verification method that signed it.
    pub verified_with: String,
}

/// The node's store.
#[derive(Clone)]
pub struct NodeStore {
    store: Store,
    catalogue: NamedNode,
    feed: NamedNode,
    page_size: u64,
    page_max_bytes: u64,
    writer: Arc<Mutex<()>>,
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

fn proof_graph(record: &NamedNode) -> NamedNode {
    NamedNode::new_unchecked(format!("{}/proof", record.as_str()))
}

/// Times a read-only open is tried again when the store changed under it.
const READ_ONLY_OPEN_ATTEMPTS: u64 = 10;

/// Whether a read-only open failed because a writer removed a file it listed.
fn changed_while_opening(e: &oxigraph::store::StorageError) -> bool {
    let message = e.to_string();
    message.contains("No such file or directory") || message.contains("Corruption")
}

/// Why the store in `path` cannot be opened, said for an operator.
fn open_error(path: &Path, e: oxigraph::store::StorageError) -> anyhow::Error {
    let message = e.to_string();
    if message.contains("lock") {
        anyhow::anyhow!(
            "the store in {} is in use by another process (is `ccis serve` running on this node?): {message}",
            path.display()
        )
    } else {
        anyhow::anyhow!("cannot open the store in {}: {message}", path.display())
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

    /// Opens (or creates) the store in `path` for the node at `base_url`.
    pub fn open(path: &Path, base_url: &str) -> anyhow::Result<Self> {
        let store = Store::open(path).map_err(|e| open_error(path, e))?;
        let this = Self::with_store(store, base_url);
        this.load_vocabulary()?;
        Ok(this)
    }

    /// Opens the store in `path` read-only: it sees the store as it was when
    /// opened, and works while another process writes to it.
    pub fn open_read_only(path: &Path, base_url: &str) -> anyhow::Result<Self> {
        if !path.join("CURRENT").exists() {
            anyhow::bail!("no store in {} (run `ccis init` first)", path.display());
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
    pub fn in_memory(base_url: &str) -> anyhow::Result<Self> {
        let this = Self::with_store(Store::new()?, base_url);
        this.load_vocabulary()?;
        Ok(this)
    }

    fn with_store(store: Store, base_url: &str) -> Self {
        Self {
            store,
            catalogue: NamedNode::new_unchecked(format!("{base_url}/catalogue")),
            feed: NamedNode::new_unchecked(format!("{base_url}/feed")),
            page_size: DEFAULT_PAGE_SIZE,
            page_max_bytes: DEFAULT_PAGE_MAX_BYTES,
            writer: Arc::new(Mutex::new(())),
            read_only: false,
        }
    }

    /// Keeps the graph `<https://w3id.org/ccis/ns>` equal to the vocabulary built
    /// into the binary (ontology, SKOS schemes, EU tables), so that queries can
    /// use concept labels. Rewritten in one transaction when it differs.
    fn load_vocabulary(&self) -> anyhow::Result<()> {
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
                quads.insert(Triple::from(q?).in_graph(graph.clone()));
            }
        }
        let stored = self
            .store
            .quads_for_pattern(None, None, None, Some(graph.as_ref().into()))
            .count();
        let current = quads
            .iter()
            .all(|q| self.store.contains(q).unwrap_or(false));
        if stored == quads.len() && current {
            return Ok(());
        }
        let mut tx = self.store.start_transaction()?;
        tx.clear_graph(graph.as_ref())?;
        tx.extend(quads.iter());
        tx.commit()?;
        Ok(())
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

    /// The underlying Oxigraph store.
    pub fn oxigraph(&self) -> &Store {
        &self.store
    }

    /// The catalogue IRI (also the name of the catalogue graph).
    pub fn catalogue(&self) -> &NamedNode {
        &self.catalogue
    }

    fn catalogue_record(&self, record: &NamedNode) -> NamedNode {
        let digest = Sha256::digest(record.as_str().as_bytes());
        NamedNode::new_unchecked(format!(
            "{}/records/{}",
            self.catalogue.as_str(),
            hex::encode(&digest[..16])
        ))
    }

    /// The catalogue entry of a record, if stored.
    pub fn entry(&self, record: &NamedNode) -> anyhow::Result<Option<CatalogueEntry>> {
        let cr = self.catalogue_record(record);
        let graph = GraphNameRef::NamedNode(self.catalogue.as_ref());
        let mut entry = CatalogueEntry {
            record: record.clone(),
            version: 0,
            status: String::new(),
            origin: String::new(),
            source: String::new(),
            stored_at: String::new(),
            verified_with: String::new(),
        };
        let mut any = false;
        for q in self
            .store
            .quads_for_pattern(Some(cr.as_ref().into()), None, None, Some(graph))
        {
            let q = q?;
            any = true;
            let value = match &q.object {
                Term::Literal(l) => l.value().to_owned(),
                Term::NamedNode(n) => n.as_str().to_owned(),
                other => other.to_string(),
            };
            match q.predicate.as_str() {
                p if p == vocab::VERSION.as_str() => entry.version = value.parse().unwrap_or(0),
                p if p == vocab::STATUS.as_str() => entry.status = value,
                p if p == vocab::ORIGIN_NODE.as_str() => entry.origin = value,
                p if p == vocab::DCT_SOURCE.as_str() => entry.source = value,
                p if p == vocab::PROV_GENERATED_AT.as_str() => entry.stored_at = value,
                p if p == vocab::VERIFICATION.as_str() => entry.verified_with = value,
                _ => {}
            }
        }
        Ok(any.then_some(entry))
    }

    /// All catalogue entries, sorted by record IRI.
    pub fn entries(&self) -> anyhow::Result<Vec<CatalogueEntry>> {
        let graph = GraphNameRef::NamedNode(self.catalogue.as_ref());
        let mut records = Vec::new();
        for q in
            self.store
                .quads_for_pattern(None, Some(vocab::FOAF_PRIMARY_TOPIC), None, Some(graph))
        {
            if let Term::NamedNode(r) = q?.object {
                records.push(r);
            }
        }
        records.sort();
        records
            .iter()
            .filter_map(|r| self.entry(r).transpose())
            .collect()
    }

    /// The stored record (current content) and its proof.
    pub fn get(&self, record: &NamedNode) -> anyhow::Result<Option<SignedRecord>> {
        let graph = GraphNameRef::NamedNode(record.as_ref());
        let triples: Vec<Triple> = self
            .store
            .quads_for_pattern(None, None, None, Some(graph))
            .map(|q| q.map(Triple::from))
            .collect::<Result<_, _>>()?;
        if triples.is_empty() {
            return Ok(None);
        }
        let pg = proof_graph(record);
        let proof_quads: Vec<Quad> = self
            .store
            .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(pg.as_ref())))
            .collect::<Result<_, _>>()?;
        let proof = Proof::from_quads(&NamedOrBlankNode::NamedNode(pg), &proof_quads);
        Ok(Some(SignedRecord {
            record: Record::new(record.clone(), triples),
            proof,
        }))
    }

    /// Stores signed versions with their catalogue metadata and feed entries
    /// in one transaction.
    pub fn put_all(&self, items: &[(SignedRecord, StoreMeta)]) -> anyhow::Result<()> {
        self.put_all_with(items, |_, _| Ok(())).map(|_| ())
    }

    /// Same as [`Self::put_all`], with more writes (`extra`, told how many
    /// versions are stored) in the same transaction. A version not newer than the one stored when the
    /// transaction starts is skipped (two harvests of one record by two paths
    /// at once store it once); returns how many versions were stored.
    pub fn put_all_with(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        extra: impl FnOnce(&mut Transaction<'_>, usize) -> Result<(), StorageError>,
    ) -> anyhow::Result<usize> {
        let _turn = self.writer_turn()?;
        self.put_all_locked(items, extra)
    }

    fn writer_turn(&self) -> anyhow::Result<std::sync::MutexGuard<'_, ()>> {
        self.writer
            .lock()
            .map_err(|_| anyhow::anyhow!("a writer panicked; restart the node"))
    }

    fn put_all_locked(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        extra: impl FnOnce(&mut Transaction<'_>, usize) -> Result<(), StorageError>,
    ) -> anyhow::Result<usize> {
        let mut tx = self.store.start_transaction()?;
        let mut position = self.member_count_in(&tx)?;
        let start = position;
        let page_size = self.page_size_in(&tx)?;
        let mut cut = self.page_cut_in(&tx, position, page_size)?;
        for (signed, meta) in items {
            let version = signed.record.version().unwrap_or(0);
            let stored = self.stored_version_in(&tx, &signed.record.iri)?;
            if stored >= version {
                continue;
            }
            self.put_in(&mut tx, signed, meta, stored > 0)?;
            self.append_member(&mut tx, signed, meta, position, &mut cut)?;
            position += 1;
        }
        self.set_member_count(&mut tx, position, page_size)?;
        if position > start {
            self.write_cut(&mut tx, &cut)?;
        }
        extra(&mut tx, (position - start) as usize)?;
        tx.commit()
            .context("store commit failed; nothing was written")?;
        Ok((position - start) as usize)
    }

    /// Stores versions harvested from `peer` together with the peer's new
    /// state (`state.accepted` grows by the versions stored), all or nothing.
    ///
    /// At least `bulk_min` versions of records the store does not hold yet
    /// (several versions of one record among them are fine) go through Oxigraph's bulk loader: sorted
    /// files ingested into every index in one atomic step, far faster than a
    /// transaction. The feed's member count and the peer's state are then
    /// added beside the old ones (readers take the highest) and the old ones
    /// removed by a small transaction. Anything else is one transaction, as
    /// [`Self::put_all_with`].
    pub fn put_harvested(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        bulk_min: usize,
    ) -> anyhow::Result<Written> {
        self.put_harvested_refusing(items, peer, state, &[], bulk_min)
    }

    /// Same as [`Self::put_harvested`], remembering in the same write the
    /// members refused (keys of [`refusal_key`]) so that they are never
    /// counted or logged again.
    pub fn put_harvested_refusing(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        refused: &[String],
        bulk_min: usize,
    ) -> anyhow::Result<Written> {
        let _turn = self.writer_turn()?;
        if items.len() >= bulk_min.max(1)
            && let Some(stored) = self.bulk_first_versions(items, peer, state, refused)?
        {
            return Ok(Written {
                stored,
                by_bulk_loader: true,
            });
        }
        let stored = self.put_all_locked(items, |tx, stored| {
            state.accepted += stored as u64;
            for key in refused {
                tx.insert(&self.refused_quad(peer, key));
            }
            self.set_peer_state_in(tx, peer, state)
        })?;
        Ok(Written {
            stored,
            by_bulk_loader: false,
        })
    }

    /// The bulk path of [`Self::put_harvested`]; `None` when one of the
    /// records is already stored (the caller falls back to a transaction).
    /// Called with the writer lock held.
    fn bulk_first_versions(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        refused: &[String],
    ) -> anyhow::Result<Option<usize>> {
        let reader = self.store.start_transaction()?;
        // Several versions of one record in the batch: all go to the feed
        // log, the last (highest) is the record's content.
        let mut last = std::collections::HashMap::new();
        for (i, (signed, _)) in items.iter().enumerate() {
            if last.insert(&signed.record.iri, i).is_none()
                && self.stored_version_in(&reader, &signed.record.iri)? > 0
            {
                return Ok(None);
            }
        }
        let start = self.member_count_in(&reader)?;
        let page_size = self.page_size_in(&reader)?;
        let mut cut = self.page_cut_in(&reader, start, page_size)?;
        drop(reader);
        let mut quads = Vec::with_capacity(items.len() * 48);
        let mut position = start;
        for (i, (signed, meta)) in items.iter().enumerate() {
            if last.get(&signed.record.iri) == Some(&i) {
                quads.extend(self.record_quads(signed, meta));
            }
            let (member, bytes) = self.member_quads(signed, meta, position)?;
            quads.extend(member);
            cut.place(position, bytes);
            position += 1;
        }
        quads.extend(self.cut_quads(&cut));
        quads.extend(refused.iter().map(|key| self.refused_quad(peer, key)));
        let feed_graph = GraphName::NamedNode(self.feed.clone());
        for (predicate, n) in [
            (vocab::MEMBER_COUNT, position),
            (vocab::PAGE_SIZE, page_size),
        ] {
            quads.push(Quad::new(
                self.feed.clone(),
                predicate,
                Literal::new_typed_literal(n.to_string(), xsd::INTEGER),
                feed_graph.clone(),
            ));
        }
        let stored = items.len();
        let revision = self.peer_state(peer)?.revision.max(state.revision) + 1;
        let next = PeerState {
            accepted: state.accepted + stored as u64,
            revision,
            ..state.clone()
        };
        quads.push(self.peer_state_quad(peer, &next));
        let mut loader = self.store.bulk_loader();
        loader
            .load_quads(quads)
            .context("bulk load failed; nothing was written")?;
        loader
            .commit()
            .context("bulk load failed; nothing was written")?;
        *state = next;
        // Tidying: the old count and state, now shadowed by the new ones.
        let tidy = || -> Result<(), StorageError> {
            let mut tx = self.store.start_transaction()?;
            self.set_member_count(&mut tx, position, page_size)?;
            self.write_cut(&mut tx, &cut)?;
            self.drop_older_peer_states(&mut tx, peer, revision)?;
            tx.commit()
        };
        if let Err(e) = tidy() {
            tracing::warn!("cannot tidy the feed count and the state of {peer}: {e}");
        }
        Ok(Some(stored))
    }

    fn stored_version_in(
        &self,
        tx: &Transaction<'_>,
        record: &NamedNode,
    ) -> Result<u64, StorageError> {
        let cr = self.catalogue_record(record);
        let found = tx
            .quads_for_pattern(
                Some(cr.as_ref().into()),
                Some(vocab::VERSION),
                None,
                Some(GraphNameRef::NamedNode(self.catalogue.as_ref())),
            )
            .next()
            .transpose()?;
        Ok(match found.map(|q| q.object) {
            Some(Term::Literal(l)) => l.value().parse().unwrap_or(0),
            _ => 0,
        })
    }

    fn put_in(
        &self,
        tx: &mut Transaction<'_>,
        signed: &SignedRecord,
        meta: &StoreMeta,
        replaces: bool,
    ) -> Result<(), StorageError> {
        let iri = &signed.record.iri;
        if replaces {
            let pg = proof_graph(iri);
            let cr = self.catalogue_record(iri);
            let cat = GraphName::NamedNode(self.catalogue.clone());
            tx.clear_graph(GraphNameRef::NamedNode(iri.as_ref()))?;
            tx.clear_graph(GraphNameRef::NamedNode(pg.as_ref()))?;
            let old: Vec<Quad> = tx
                .quads_for_pattern(Some(cr.as_ref().into()), None, None, Some(cat.as_ref()))
                .collect::<Result<_, _>>()?;
            for q in &old {
                tx.remove(q);
            }
            tx.remove(QuadRef::new(iri, vocab::SEC_PROOF, &pg, &cat));
        }
        tx.extend(&self.record_quads(signed, meta));
        Ok(())
    }

    /// Every quad a stored version adds: its content, its proof and its
    /// catalogue record (the feed log entry aside).
    fn record_quads(&self, signed: &SignedRecord, meta: &StoreMeta) -> Vec<Quad> {
        let iri = &signed.record.iri;
        let pg = proof_graph(iri);
        let cr = self.catalogue_record(iri);
        let cat = GraphName::NamedNode(self.catalogue.clone());
        let mut quads = signed.record.quads_in(&GraphName::NamedNode(iri.clone()));
        quads.extend(signed.proof.to_quads(
            &NamedOrBlankNode::NamedNode(pg.clone()),
            &GraphName::NamedNode(pg.clone()),
        ));
        let version = signed.record.version().unwrap_or(0);
        let status = if signed.record.is_withdrawn() {
            "withdrawn"
        } else {
            "current"
        };
        let lit = |s: &str| Term::from(Literal::new_simple_literal(s));
        let entries: Vec<(NamedNodeRef<'_>, Term)> = vec![
            (rdf::TYPE, vocab::DCAT_CATALOG_RECORD.into()),
            (vocab::FOAF_PRIMARY_TOPIC, iri.clone().into()),
            (
                vocab::VERSION,
                Literal::new_typed_literal(version.to_string(), xsd::INTEGER).into(),
            ),
            (vocab::STATUS, lit(status)),
            (vocab::ORIGIN_NODE, lit(&meta.origin)),
            (vocab::DCT_SOURCE, lit(&meta.source)),
            (
                vocab::PROV_GENERATED_AT,
                Literal::new_typed_literal(meta.stored_at.as_str(), xsd::DATE_TIME).into(),
            ),
            (vocab::VERIFICATION, lit(&meta.verified_with)),
            (vocab::PROOF_GRAPH, pg.clone().into()),
        ];
        for (p, o) in entries {
            quads.push(Quad::new(cr.clone(), p, o, cat.clone()));
        }
        quads.push(Quad::new(
            self.catalogue.clone(),
            rdf::TYPE,
            vocab::DCAT_CATALOG,
            cat.clone(),
        ));
        quads.push(Quad::new(
            self.catalogue.clone(),
            vocab::DCAT_RECORD,
            cr,
            cat.clone(),
        ));
        quads.push(Quad::new(iri.clone(), vocab::SEC_PROOF, pg, cat));
        quads
    }

    /// The record as the store gives it back. Oxigraph keeps typed literals in
    /// a native encoding (`"01"^^xsd:integer` comes back as `"1"`), so a record
    /// is signed in this form to keep what is stored exactly what is signed.
    pub fn normalized(record: &Record) -> anyhow::Result<Record> {
        let memory = Store::new()?;
        memory.extend(record.document())?;
        let triples = memory
            .iter()
            .map(|q| q.map(Triple::from))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Record::new(record.iri.clone(), triples))
    }

    /// Runs a read-only SPARQL query over the union of all graphs.
    pub fn query(&self, sparql: &str) -> anyhow::Result<QueryResults<'static>> {
        self.query_cancellable(sparql, CancellationToken::new())
    }

    /// Same as [`Self::query`], stopped when `token` is cancelled; `SERVICE` is refused.
    pub fn query_cancellable(
        &self,
        sparql: &str,
        token: CancellationToken,
    ) -> anyhow::Result<QueryResults<'static>> {
        self.query_with_services(sparql, token, NoServices)
    }

    /// Same as [`Self::query_cancellable`], with `SERVICE` calls made by `services`.
    pub fn query_with_services(
        &self,
        sparql: &str,
        token: CancellationToken,
        services: impl DefaultServiceHandler + 'static,
    ) -> anyhow::Result<QueryResults<'static>> {
        let mut prepared = SparqlEvaluator::new()
            .without_default_http_service_handler()
            .with_default_service_handler(services)
            .with_cancellation_token(token)
            .parse_query(sparql)
            .context("invalid SPARQL query")?;
        prepared.dataset_mut().set_default_graph_as_union();
        Ok(prepared.on_store(&self.store).execute()?)
    }

    /// Counts stored records by class, and titles by language, for `status`.
    pub fn counts(&self) -> anyhow::Result<Counts> {
        let mut by_class = Vec::new();
        for (class, name) in vocab::RECORD_CLASSES {
            let q = format!(
                "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ GRAPH ?r {{ ?r a <{}> }} }}",
                class.as_str()
            );
            by_class.push(((*name).to_owned(), self.count(&q)?));
        }
        let q = format!(
            "SELECT ?lang (COUNT(DISTINCT ?r) AS ?n) WHERE {{ GRAPH <{}> {{ ?cr <{}> ?r }} GRAPH ?r {{ ?r <{}> ?t }} BIND(LANG(?t) AS ?lang) }} GROUP BY ?lang ORDER BY ?lang",
            self.catalogue.as_str(),
            vocab::FOAF_PRIMARY_TOPIC.as_str(),
            vocab::DCT_TITLE.as_str()
        );
        let mut by_language = Vec::new();
        if let QueryResults::Solutions(solutions) = self.query(&q)? {
            for s in solutions {
                let s = s?;
                let lang = match s.get("lang") {
                    Some(Term::Literal(l)) => l.value().to_owned(),
                    _ => String::new(),
                };
                let n = match s.get("n") {
                    Some(Term::Literal(l)) => l.value().parse().unwrap_or(0),
                    _ => 0,
                };
                by_language.push((lang, n));
            }
        }
        Ok(Counts {
            by_class,
            by_language,
        })
    }

    fn count(&self, sparql: &str) -> anyhow::Result<u64> {
        if let QueryResults::Solutions(mut solutions) = self.query(sparql)?
            && let Some(s) = solutions.next()
        {
            let s = s?;
            if let Some(Term::Literal(l)) = s.get("n") {
                return Ok(l.value().parse().unwrap_or(0));
            }
        }
        Ok(0)
    }
}

/// Refuses every `SERVICE` call (queries run outside the server).
struct NoServices;

impl DefaultServiceHandler for NoServices {
    type Error = QueryEvaluationError;

    fn handle(
        &self,
        service_name: &NamedNode,
        _: &spargebra::algebra::GraphPattern,
        _: Option<&oxiri::Iri<String>>,
    ) -> Result<oxigraph::sparql::QuerySolutionIter<'static>, Self::Error> {
        Err(QueryEvaluationError::Service(
            format!(
                "SERVICE <{}> refused: no SERVICE calls here",
                service_name.as_str()
            )
            .into(),
        ))
    }
}

/// What [`NodeStore::put_harvested`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Versions stored (those not newer than the stored ones are skipped).
    pub stored: usize,
    /// Whether Oxigraph's bulk loader wrote them, rather than a transaction.
    pub by_bulk_loader: bool,
}

/// What the store holds, for `ccis status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records by class short name, in `vocab::RECORD_CLASSES` order.
    pub by_class: Vec<(String, u64)>,
    /// Records by language tag of their titles.
    pub by_language: Vec<(String, u64)>,
}

/// Catalogue metadata written with a version.
#[derive(Debug, Clone)]
pub struct StoreMeta {
    /// Id of the origin node.
    pub origin: String,
    /// Where the version came from (`local` or a peer's base URL).
    pub source: String,
    /// When it is stored (xsd:dateTime).
    pub stored_at: String,
    /// The verification method of the proof that was checked.
    pub verified_with: String,
    /// The version with its proof as N-Quads exactly as verified (harvested
    /// versions); `None` for the node's own, serialized from the record.
    pub signed_nquads: Option<String>,
}
