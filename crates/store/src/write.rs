//! Writing versions: with their catalogue records and feed log entries, all
//! or nothing, by a transaction or by Oxigraph's bulk loader.

use crate::bulk::BulkRun;
use crate::feed::PageCut;
use crate::{NodeStore, PeerState, StoreError};
use ccis_integrity::signed::SignedRecord;
use ccis_model::vocab;
use oxigraph::store::{StorageError, Transaction};
use oxrdf::{GraphName, NamedNode, Quad, QuadRef};
use std::collections::HashSet;

/// Catalogue metadata written with a version.
#[derive(Debug, Clone)]
pub struct StoreMeta {
    /// Id of the origin node (the node whose base URL prefixes the record
    /// IRI; the catalogue names that node by its IRI, `{base}/node`, and
    /// gives it this id).
    pub origin: String,
    /// Where the version came from (`local` or a peer's base URL).
    pub source: String,
    /// When it is stored (xsd:dateTime).
    pub stored_at: String,
    /// The verification method of the proof that was checked (an IRI).
    pub verified_with: String,
    /// The version with its proof as N-Quads exactly as verified (harvested
    /// versions); `None` for the node's own, serialized from the record.
    pub signed_nquads: Option<String>,
}

/// What [`NodeStore::put_harvested`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Versions stored (those not newer than the stored ones are skipped).
    pub stored: usize,
    /// Versions offered and not stored: not newer than the stored ones.
    pub skipped: usize,
    /// Whether Oxigraph's bulk loader wrote them, rather than a transaction.
    pub by_bulk_loader: bool,
}

impl NodeStore {
    /// Stores signed versions with their catalogue metadata and feed entries
    /// in one transaction.
    pub fn put_all(&self, items: &[(SignedRecord, StoreMeta)]) -> Result<(), StoreError> {
        self.put_all_with(items, |_, _| Ok(())).map(|_| ())
    }

    /// Same as [`Self::put_all`], with more writes (`extra`, told how many
    /// versions are stored) in the same transaction. A version not newer
    /// than the one stored when the transaction starts is skipped (two
    /// harvests of one record by two paths at once store it once); returns
    /// how many versions were stored.
    pub fn put_all_with(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        extra: impl FnOnce(&mut Transaction<'_>, usize) -> Result<(), StorageError>,
    ) -> Result<usize, StoreError> {
        let _turn = self.writer_turn()?;
        self.put_all_locked(items, extra)
    }

    fn put_all_locked(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        extra: impl FnOnce(&mut Transaction<'_>, usize) -> Result<(), StorageError>,
    ) -> Result<usize, StoreError> {
        let what = || match items {
            [] => "the harvest state".to_owned(),
            [(one, _)] => format!(
                "version {:?} of <{}>",
                one.record.version(),
                one.record.iri.as_str()
            ),
            _ => format!("{} versions", items.len()),
        };
        let failed = |cause| StoreError::Write {
            what: what(),
            cause,
        };
        self.observer.discarded();
        let written = (|| {
            let mut tx = self.store.start_transaction().map_err(failed)?;
            let stored = self.put_all_in(&mut tx, items).map_err(|e| match e {
                Step::Storage(cause) => failed(cause),
                Step::Store(e) => e,
            })?;
            extra(&mut tx, stored).map_err(failed)?;
            tx.commit().map_err(failed)?;
            Ok(stored)
        })();
        self.observer.ended(written.is_ok());
        written
    }

    /// The versions of `items` newer than the stored ones, written in `tx`
    /// with their feed log entries; returns how many.
    fn put_all_in(
        &self,
        tx: &mut Transaction<'_>,
        items: &[(SignedRecord, StoreMeta)],
    ) -> Result<usize, Step> {
        let start = self.member_count_in(tx)?;
        let page_size = self.page_size_in(tx)?;
        let mut cut = self.page_cut_in(tx, start, page_size)?;
        let mut position = start;
        let mut origins = HashSet::new();
        for (signed, meta) in items {
            let version = signed.record.version().unwrap_or(0);
            let stored = self.stored_version_in(tx, &signed.record.iri)?;
            if stored >= version {
                continue;
            }
            let quads = self.record_quads(signed, meta)?;
            if stored > 0 {
                self.remove_version_in(tx, &signed.record.iri)?;
            }
            // A node renamed in peers.toml keeps one id in the catalogue.
            if let Some(origin) = quads.iter().find(|q| q.predicate == vocab::DCT_IDENTIFIER)
                && origins.insert(origin.subject.clone())
            {
                self.remove_other_ids_in(tx, origin)?;
            }
            tx.extend(&quads);
            self.append_member(tx, signed, meta, position, &mut cut)?;
            self.observer.staged(position, signed, meta);
            position += 1;
        }
        self.set_member_count(tx, position, page_size)?;
        if position > start {
            self.write_cut(tx, &cut)?;
        }
        Ok((position - start) as usize)
    }

    /// Removes the stored version of a record: its content, proof and
    /// catalogue record (its feed log entries stay).
    fn remove_version_in(
        &self,
        tx: &mut Transaction<'_>,
        iri: &NamedNode,
    ) -> Result<(), StorageError> {
        let pg = crate::catalogue::proof_graph(iri);
        tx.clear_graph(iri.as_ref())?;
        tx.clear_graph(pg.as_ref())?;
        for q in &self.catalogue_record_quads_in(tx, iri)? {
            tx.remove(q);
        }
        let cat = GraphName::NamedNode(self.catalogue.clone());
        tx.remove(QuadRef::new(iri, vocab::SEC_PROOF, &pg, &cat));
        Ok(())
    }

    /// Removes the ids the catalogue gives the subject of `id` other than it.
    fn remove_other_ids_in(&self, tx: &mut Transaction<'_>, id: &Quad) -> Result<(), StorageError> {
        let old: Vec<Quad> = tx
            .quads_for_pattern(
                Some(id.subject.as_ref()),
                Some(vocab::DCT_IDENTIFIER),
                None,
                Some(id.graph_name.as_ref()),
            )
            .filter(|q| q.as_ref().map_or(true, |q| q != id))
            .collect::<Result<_, _>>()?;
        for q in &old {
            tx.remove(q);
        }
        Ok(())
    }

    /// Stores versions harvested from `peer` together with the peer's new
    /// state (`state.accepted` grows by the versions stored), all or nothing.
    ///
    /// At least `bulk_min` versions of records the store does not hold yet
    /// (several versions of one record among them are fine) go through
    /// Oxigraph's bulk loader: sorted files ingested into every index in one
    /// atomic step, far faster than a transaction. The feed's member count
    /// and the peer's state are then added beside the old ones (readers take
    /// the highest) and the old ones removed by a small transaction. Anything
    /// else is one transaction, as [`Self::put_all_with`].
    pub fn put_harvested(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        bulk_min: usize,
    ) -> Result<Written, StoreError> {
        self.put_harvested_refusing(items, peer, state, &[], bulk_min)
    }

    /// Same as [`Self::put_harvested`], remembering in the same write the
    /// members refused (keys of [`crate::refusal_key`]) so that they are never
    /// counted or logged again.
    pub fn put_harvested_refusing(
        &self,
        items: &[(SignedRecord, StoreMeta)],
        peer: &str,
        state: &mut PeerState,
        refused: &[String],
        bulk_min: usize,
    ) -> Result<Written, StoreError> {
        let _turn = self.writer_turn()?;
        if items.len() >= bulk_min.max(1) {
            let mut run = BulkRun::start(self, peer)?;
            if run.add(items, refused)? {
                let stored = run.commit(state)?;
                return Ok(Written {
                    stored,
                    skipped: items.len() - stored,
                    by_bulk_loader: true,
                });
            }
        }
        let stored = self.put_all_locked(items, |tx, stored| {
            state.accepted += stored as u64;
            for key in refused {
                tx.insert(&self.refused_quad(peer, key));
            }
            state.revision = self.write_peer_state_in(tx, peer, state)?;
            Ok(())
        })?;
        Ok(Written {
            stored,
            skipped: items.len() - stored,
            by_bulk_loader: false,
        })
    }

    /// After a bulk write: the feed count, the cut and the peer's state
    /// written in place of the values the bulk write left beside them.
    pub(crate) fn tidy_after_bulk(
        &self,
        peer: &str,
        count: u64,
        page_size: u64,
        cut: &PageCut,
        revision: u64,
    ) -> Result<(), StorageError> {
        let mut tx = self.store.start_transaction()?;
        self.set_member_count(&mut tx, count, page_size)?;
        self.write_cut(&mut tx, cut)?;
        self.drop_older_peer_states(&mut tx, peer, revision)?;
        tx.commit()
    }
}

/// A step of a transaction failed: in the storage (the transaction's own
/// error), or before anything reached it.
pub(crate) enum Step {
    /// The storage failed.
    Storage(StorageError),
    /// Something else did, and says what.
    Store(StoreError),
}

impl From<StorageError> for Step {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl From<StoreError> for Step {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
