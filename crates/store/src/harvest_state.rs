//! Per-peer harvest state, in the graph `<{base}/harvest>`: where the node is
//! in each peer's feed and how the peer has behaved. Written in the same
//! transaction as the versions accepted from a page, so the position never
//! runs ahead of or behind what is stored.

use crate::{NodeStore, QuadReader, StoreError};
use ccis_model::vocab;
use oxigraph::store::{StorageError, Transaction};
use oxrdf::{GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Quad, QuadRef, Term};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a node knows of one peer's feed and health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerState {
    /// The page to resume from (the last page read).
    pub page: Option<String>,
    /// Its ETag when it was read.
    pub etag: Option<String>,
    /// The pages it linked to when it was read.
    pub page_next: Vec<String>,
    /// When a round last ended without error.
    pub last_success: Option<String>,
    /// The last error, if the last round failed.
    pub last_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<String>,
    /// Rounds failed in a row.
    pub consecutive_failures: u64,
    /// Versions accepted from this peer, in all.
    pub accepted: u64,
    /// Member versions refused, by harvest rule, each counted once ever.
    pub refused: BTreeMap<String, u64>,
    /// Member versions not harvested because no peer in `peers.toml`
    /// originates them (rule `unknown-origin`): information, not a fault.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_harvested_unknown_origin: u64,
    /// Pages read, in all.
    pub pages: u64,
    /// How many times this state was written: when a bulk write left an
    /// older state beside it, the highest revision is the current one.
    pub revision: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where the refused member versions of a peer are remembered.
const REFUSED_MEMBER: oxrdf::NamedNodeRef<'static> =
    oxrdf::NamedNodeRef::new_unchecked("https://w3id.org/ccis/ns#refusedMember");

/// The key under which a refused member version is remembered: the member
/// IRI and its proof value (or, without one, a hash of its content), hashed.
pub fn refusal_key(member: &str, proof_value_or_content_hash: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(member.as_bytes());
    h.update([0u8]);
    h.update(proof_value_or_content_hash.as_bytes());
    hex::encode(&h.finalize()[..16])
}

fn parse_state(term: &Term) -> PeerState {
    match term {
        Term::Literal(l) => serde_json::from_str(l.value()).unwrap_or_default(),
        _ => PeerState::default(),
    }
}

impl NodeStore {
    /// The graph of the harvest state, `{base}/harvest`.
    pub(crate) fn harvest_graph(&self) -> NamedNode {
        NamedNode::new_unchecked(format!(
            "{}/harvest",
            self.feed.as_str().trim_end_matches("/feed")
        ))
    }

    fn peer_subject(&self, peer: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("{}/{peer}", self.harvest_graph().as_str()))
    }

    /// The stored state of a peer (default if never harvested).
    pub fn peer_state(&self, peer: &str) -> Result<PeerState, StoreError> {
        self.peer_state_in(&self.store, peer)
            .map_err(StoreError::read(
                format!("the harvest state of {peer}"),
                self.harvest_graph().as_str(),
            ))
    }

    /// The state of a peer as `reader` sees it: the highest revision.
    pub(crate) fn peer_state_in(
        &self,
        reader: &dyn QuadReader,
        peer: &str,
    ) -> Result<PeerState, StorageError> {
        let graph = self.harvest_graph();
        let subject = self.peer_subject(peer);
        let mut current = PeerState::default();
        for q in reader.quads(
            Some(subject.as_ref().into()),
            Some(vocab::HARVEST_STATE),
            None,
            Some(GraphNameRef::NamedNode(graph.as_ref())),
        ) {
            let state = parse_state(&q?.object);
            if state.revision >= current.revision {
                current = state;
            }
        }
        Ok(current)
    }

    /// Every peer's stored state, by peer id.
    pub fn peer_states(&self) -> Result<BTreeMap<String, PeerState>, StoreError> {
        let graph = self.harvest_graph();
        let prefix = format!("{}/", graph.as_str());
        let mut out = BTreeMap::new();
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::HARVEST_STATE),
            None,
            Some(GraphNameRef::NamedNode(graph.as_ref())),
        ) {
            let q = q.map_err(StoreError::read("the harvest states", graph.as_str()))?;
            if let NamedOrBlankNode::NamedNode(s) = &q.subject
                && let Some(id) = s.as_str().strip_prefix(&prefix)
            {
                let state = parse_state(&q.object);
                let newer = out
                    .get(id)
                    .is_none_or(|old: &PeerState| state.revision >= old.revision);
                if newer {
                    out.insert(id.to_owned(), state);
                }
            }
        }
        Ok(out)
    }

    /// Writes a peer's state inside a transaction, in place of every
    /// older one (with a revision above theirs).
    pub fn set_peer_state_in(
        &self,
        tx: &mut Transaction<'_>,
        peer: &str,
        state: &PeerState,
    ) -> Result<(), StorageError> {
        self.write_peer_state_in(tx, peer, state).map(|_| ())
    }

    /// [`Self::set_peer_state_in`], returning the revision written.
    pub(crate) fn write_peer_state_in(
        &self,
        tx: &mut Transaction<'_>,
        peer: &str,
        state: &PeerState,
    ) -> Result<u64, StorageError> {
        let old = self.peer_state_quads_in(tx, peer)?;
        let mut revision = state.revision;
        for q in &old {
            revision = revision.max(parse_state(&q.object).revision);
            tx.remove(q);
        }
        let state = PeerState {
            revision: revision + 1,
            ..state.clone()
        };
        tx.insert(&self.peer_state_quad(peer, &state));
        Ok(state.revision)
    }

    /// The quads holding a peer's states (one, or more after a bulk write).
    fn peer_state_quads_in(
        &self,
        tx: &Transaction<'_>,
        peer: &str,
    ) -> Result<Vec<Quad>, StorageError> {
        let graph = self.harvest_graph();
        let subject = self.peer_subject(peer);
        tx.quads_for_pattern(
            Some(subject.as_ref().into()),
            Some(vocab::HARVEST_STATE),
            None,
            Some(GraphNameRef::NamedNode(graph.as_ref())),
        )
        .collect()
    }

    /// The quad holding a peer's state.
    pub(crate) fn peer_state_quad(&self, peer: &str, state: &PeerState) -> Quad {
        let json = serde_json::to_string(state).unwrap_or_default();
        Quad::new(
            self.peer_subject(peer),
            vocab::HARVEST_STATE,
            Literal::new_simple_literal(json),
            self.harvest_graph(),
        )
    }

    /// Removes the states of a peer older than `revision` (left beside the
    /// current one by a bulk write).
    pub(crate) fn drop_older_peer_states(
        &self,
        tx: &mut Transaction<'_>,
        peer: &str,
        revision: u64,
    ) -> Result<(), StorageError> {
        for q in &self.peer_state_quads_in(tx, peer)? {
            if parse_state(&q.object).revision < revision {
                tx.remove(q);
            }
        }
        Ok(())
    }

    /// The quad remembering that `peer` served a refused member (`key` of
    /// [`refusal_key`]).
    pub(crate) fn refused_quad(&self, peer: &str, key: &str) -> Quad {
        Quad::new(
            self.peer_subject(peer),
            REFUSED_MEMBER,
            Literal::new_simple_literal(key),
            self.harvest_graph(),
        )
    }

    /// Whether `peer` served this refused member before (`key` of
    /// [`refusal_key`]).
    pub fn was_refused(&self, peer: &str, key: &str) -> Result<bool, StoreError> {
        self.store
            .contains(&self.refused_quad(peer, key))
            .map_err(|cause| StoreError::Read {
                what: format!("the refusals of {peer}"),
                graph: self.harvest_graph().into_string(),
                cause,
            })
    }

    /// Writes a peer's state on its own (after a failed round).
    pub fn set_peer_state(&self, peer: &str, state: &PeerState) -> Result<(), StoreError> {
        self.put_all_with(&[], |tx, _| self.set_peer_state_in(tx, peer, state))
            .map(|_| ())
    }

    /// Whether the feed log holds this member (version IRI) signed with this
    /// proof value: `None` if it holds no such member.
    pub fn member_has_proof(
        &self,
        member: &NamedNode,
        proof_value: &str,
    ) -> Result<Option<bool>, StoreError> {
        let read = StoreError::read_lazily(
            || format!("the signed content of <{}>", member.as_str()),
            self.feed.as_str(),
        );
        // Most members a harvest asks about are new: one point lookup says so.
        if !self.maybe_member(member).map_err(&read)? {
            return Ok(None);
        }
        let found = self
            .store
            .quads_for_pattern(
                Some(member.as_ref().into()),
                Some(vocab::SIGNED_CONTENT),
                None,
                Some(GraphNameRef::NamedNode(self.feed.as_ref())),
            )
            .next()
            .transpose()
            .map_err(read)?;
        Ok(found.map(|q| match q.object {
            Term::Literal(l) => l.value().contains(&format!("\"{proof_value}\"")),
            _ => false,
        }))
    }

    /// Whether the feed log already holds this member (version IRI).
    pub fn has_member(&self, member: &NamedNode) -> Result<bool, StoreError> {
        let read = StoreError::read_lazily(
            || format!("the position of <{}>", member.as_str()),
            self.feed.as_str(),
        );
        if !self.maybe_member(member).map_err(&read)? {
            return Ok(false);
        }
        Ok(self
            .store
            .quads_for_pattern(
                Some(member.as_ref().into()),
                Some(vocab::FEED_POSITION),
                None,
                Some(GraphNameRef::NamedNode(self.feed.as_ref())),
            )
            .next()
            .transpose()
            .map_err(read)?
            .is_some())
    }

    /// `false` if the feed log surely lacks `member`: a member IRI
    /// `{record}/versions/{n}` is logged with `dct:isVersionOf <{record}>`,
    /// which one point lookup checks. `true` when it may hold it.
    fn maybe_member(&self, member: &NamedNode) -> Result<bool, StorageError> {
        let Some((record, _)) = member.as_str().rsplit_once("/versions/") else {
            return Ok(true);
        };
        let record = NamedNode::new_unchecked(record);
        self.store.contains(QuadRef::new(
            member,
            vocab::DCT_IS_VERSION_OF,
            &record,
            GraphNameRef::NamedNode(self.feed.as_ref()),
        ))
    }
}
