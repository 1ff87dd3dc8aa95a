//! What harvest, feed and server need of a store, as traits: the
//! embedded store ([`NodeStore`]) implements them, and so may another
//! backend (an external SPARQL 1.1 store reached over the Graph Store
//! Protocol is planned) without any change above this crate.

use crate::{
    BulkOptions, CatalogueEntry, FeedPage, NodeStore, PeerState, PeerWriter, StoreError, StoreMeta,
    Written,
};
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use oxrdf::NamedNode;
use std::collections::BTreeMap;

/// Stored records, read.
pub trait CatalogueRead {
    /// The current version of a record with its proof, exactly as stored
    /// (`None` if the record is not stored).
    fn get(&self, record: &NamedNode) -> Result<Option<SignedRecord>, StoreError>;

    /// All catalogue entries, sorted by record IRI.
    fn entries(&self) -> Result<Vec<CatalogueEntry>, StoreError>;

    /// One version of a record, current or replaced, exactly as it was
    /// signed (`None` if it was never stored).
    fn version(&self, record: &NamedNode, version: u64) -> Result<Option<Record>, StoreError>;

    /// The stored validation decisions about an initiative, in IRI order.
    fn decisions_about(&self, initiative: &NamedNode) -> Result<Vec<SignedRecord>, StoreError>;
}

/// The feed log: every stored version in publishing order, read.
pub trait FeedLogRead {
    /// How many versions the feed holds.
    fn member_count(&self) -> Result<u64, StoreError>;

    /// Page `index` as stored, `None` if it is not open yet. A page that is
    /// `full` never changes again.
    fn feed_page(&self, index: u64) -> Result<Option<FeedPage>, StoreError>;

    /// Whether the feed log holds this member (version IRI) signed with this
    /// proof value (`Some(true)`), with another one (`Some(false)`), or not
    /// at all (`None`).
    fn member_has_proof(
        &self,
        member: &NamedNode,
        proof_value: &str,
    ) -> Result<Option<bool>, StoreError>;
}

/// Per-peer harvest state: where the node is in each peer's feed, how the
/// peer behaved, and which refused members it already logged.
pub trait HarvestStateStore {
    /// The state of a peer (default if never harvested).
    fn peer_state(&self, peer: &str) -> Result<PeerState, StoreError>;

    /// Every peer's state, by peer id.
    fn peer_states(&self) -> Result<BTreeMap<String, PeerState>, StoreError>;

    /// Writes a peer's state on its own (after a failed round).
    fn set_peer_state(&self, peer: &str, state: &PeerState) -> Result<(), StoreError>;

    /// Whether `peer` served this refused member before (`key` of
    /// [`crate::refusal_key`]).
    fn was_refused(&self, peer: &str, key: &str) -> Result<bool, StoreError>;
}

/// Atomic writes of verified versions.
pub trait RecordWrite {
    /// Stores versions (this node's own) with their catalogue records and
    /// feed log entries, all or nothing.
    fn put_all(&self, items: &[(SignedRecord, StoreMeta)]) -> Result<(), StoreError>;

    /// Stores versions harvested from `peer` with the peer's new state and
    /// the keys of the members it refused, all or nothing; `state.accepted`
    /// grows by the versions stored. `bulk_min` is a hint: batches at least
    /// this long may take a faster path with the same guarantees.
    fn put_harvested_refusing(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        refused: &[String],
        bulk_min: usize,
    ) -> Result<Written, StoreError>;

    /// A writer for one walk through `peer`'s feed, which may gather
    /// batches of first versions into one bulk load (see [`PeerWriter`]).
    fn peer_writer(&self, peer: &str, bulk: BulkOptions) -> Box<dyn HarvestWrite>;
}

/// The writes of one walk through a peer's feed, in order: see
/// [`PeerWriter`], which the embedded store gives.
pub trait HarvestWrite: Send {
    /// Writes versions with the peer's new state and the keys of the
    /// members refused; see [`PeerWriter::write`].
    fn write(
        &mut self,
        items: Vec<(SignedRecord, StoreMeta)>,
        state: &mut PeerState,
        refused: Vec<String>,
    ) -> Result<Written, StoreError>;

    /// Stores what is still pending; see [`PeerWriter::finish`].
    fn finish(&mut self, state: &mut PeerState) -> Result<Written, StoreError>;
}

impl HarvestWrite for PeerWriter {
    fn write(
        &mut self,
        items: Vec<(SignedRecord, StoreMeta)>,
        state: &mut PeerState,
        refused: Vec<String>,
    ) -> Result<Written, StoreError> {
        PeerWriter::write(self, items, state, refused)
    }

    fn finish(&mut self, state: &mut PeerState) -> Result<Written, StoreError> {
        PeerWriter::finish(self, state)
    }
}

/// Everything harvest, feed and server need of a store. The traits it is
/// made of are kept as narrow as what those callers use; the rest of
/// [`NodeStore`]'s API (SPARQL, checkpoints, statistics) is its own.
///
/// A backend (this crate's [`NodeStore`], or another one) must guarantee:
///
/// * **Atomic writes.** [`RecordWrite::put_all`] and
///   [`RecordWrite::put_harvested_refusing`] write every version of the
///   batch with its content graph, proof graph, catalogue record and feed
///   log entry, the feed's member count and page cuts, the peer's state and
///   the refusal keys, all or nothing: after a crash or an error the store is
///   as before the call or as after it, never between, so the harvest
///   position never disagrees with what is stored. Over the Graph Store
///   Protocol this means one SPARQL Update request per batch (or a staged
///   write switched in atomically), never one request per graph.
/// * **Exactly what was verified, re-served.** The feed log keeps
///   `StoreMeta::signed_nquads` byte for byte and the members of
///   [`FeedLogRead::feed_page`] give it back unchanged; [`CatalogueRead::get`] gives back the triples
///   that were put, every literal in the lexical form it was put in, so that
///   the proof still verifies. (Oxigraph rewrites some typed literals, which
///   is why records are signed in [`NodeStore::normalized`] form; a backend
///   that rewrites them otherwise must serve `get` from the signed N-Quads.)
/// * **Versions only grow.** Inside the atomic write, a version not newer
///   than the stored one is skipped and not counted in [`Written::stored`]
///   (two paths harvesting one record at once store it once).
/// * **A stable feed.** Positions run 0, 1, 2… in publishing order; pages
///   are cut as members are appended and the cuts are stored, so a page once
///   full never changes; [`FeedLogRead::feed_page`] reads one snapshot.
/// * **The same graphs.** Records, proofs, catalogue, feed log and harvest
///   state sit in the graphs described in the crate documentation, so the
///   SPARQL queries of `docs/06-sparql.md` answer the same on any backend.
///
/// SPARQL evaluation is not part of this trait: [`NodeStore::query`] and the
/// server's worker processes (which evaluate on RocksDB checkpoints of the
/// store) are specific to the embedded backend; an external store answers
/// SPARQL itself.
pub trait RecordStore:
    CatalogueRead + FeedLogRead + HarvestStateStore + RecordWrite + Send + Sync
{
}

impl<T> RecordStore for T where
    T: CatalogueRead + FeedLogRead + HarvestStateStore + RecordWrite + Send + Sync
{
}

impl CatalogueRead for NodeStore {
    fn get(&self, record: &NamedNode) -> Result<Option<SignedRecord>, StoreError> {
        NodeStore::get(self, record)
    }

    fn entries(&self) -> Result<Vec<CatalogueEntry>, StoreError> {
        NodeStore::entries(self)
    }

    fn version(&self, record: &NamedNode, version: u64) -> Result<Option<Record>, StoreError> {
        NodeStore::version(self, record, version)
    }

    fn decisions_about(&self, initiative: &NamedNode) -> Result<Vec<SignedRecord>, StoreError> {
        NodeStore::decisions_about(self, initiative)
    }
}

impl FeedLogRead for NodeStore {
    fn member_count(&self) -> Result<u64, StoreError> {
        NodeStore::member_count(self)
    }

    fn feed_page(&self, index: u64) -> Result<Option<FeedPage>, StoreError> {
        NodeStore::feed_page(self, index)
    }

    fn member_has_proof(
        &self,
        member: &NamedNode,
        proof_value: &str,
    ) -> Result<Option<bool>, StoreError> {
        NodeStore::member_has_proof(self, member, proof_value)
    }
}

impl HarvestStateStore for NodeStore {
    fn peer_state(&self, peer: &str) -> Result<PeerState, StoreError> {
        NodeStore::peer_state(self, peer)
    }

    fn peer_states(&self) -> Result<BTreeMap<String, PeerState>, StoreError> {
        NodeStore::peer_states(self)
    }

    fn set_peer_state(&self, peer: &str, state: &PeerState) -> Result<(), StoreError> {
        NodeStore::set_peer_state(self, peer, state)
    }

    fn was_refused(&self, peer: &str, key: &str) -> Result<bool, StoreError> {
        NodeStore::was_refused(self, peer, key)
    }
}

impl RecordWrite for NodeStore {
    fn put_all(&self, items: &[(SignedRecord, StoreMeta)]) -> Result<(), StoreError> {
        NodeStore::put_all(self, items)
    }

    fn put_harvested_refusing(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        refused: &[String],
        bulk_min: usize,
    ) -> Result<Written, StoreError> {
        NodeStore::put_harvested_refusing(self, items, peer, state, refused, bulk_min)
    }

    fn peer_writer(&self, peer: &str, bulk: BulkOptions) -> Box<dyn HarvestWrite> {
        Box::new(PeerWriter::new(self, peer, bulk))
    }
}
