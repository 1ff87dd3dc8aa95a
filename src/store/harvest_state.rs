//! Per-peer harvest state, in the graph `<{base}/harvest>`: where the node is
//! in each peer's feed and how the peer has behaved. Written in the same
//! transaction as the versions accepted from a page, so the position never
//! runs ahead of or behind what is stored.

use super::NodeStore;
use crate::vocab;
use oxigraph::store::{StorageError, Transaction};
use oxrdf::{GraphNameRef, Literal, NamedNode, NamedOrBlankNode, QuadRef, Term};
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
    /// Members refused, by harvest rule.
    pub refused: BTreeMap<String, u64>,
    /// Pages read, in all.
    pub pages: u64,
    /// Members already refused (record, version, rule), so that reading a
    /// page again does not count them again.
    #[serde(skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub refused_members: std::collections::BTreeSet<String>,
}

impl NodeStore {
    fn harvest_graph(&self) -> NamedNode {
        NamedNode::new_unchecked(format!(
            "{}/harvest",
            self.feed.as_str().trim_end_matches("/feed")
        ))
    }

    fn peer_subject(&self, peer: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("{}/{peer}", self.harvest_graph().as_str()))
    }

    /// The stored state of a peer (default if never harvested).
    pub fn peer_state(&self, peer: &str) -> anyhow::Result<PeerState> {
        let graph = self.harvest_graph();
        let subject = self.peer_subject(peer);
        let found = self
            .store
            .quads_for_pattern(
                Some(subject.as_ref().into()),
                Some(vocab::HARVEST_STATE),
                None,
                Some(GraphNameRef::NamedNode(graph.as_ref())),
            )
            .next()
            .transpose()?;
        Ok(match found.map(|q| q.object) {
            Some(Term::Literal(l)) => serde_json::from_str(l.value()).unwrap_or_default(),
            _ => PeerState::default(),
        })
    }

    /// Every peer's stored state, by peer id.
    pub fn peer_states(&self) -> anyhow::Result<BTreeMap<String, PeerState>> {
        let graph = self.harvest_graph();
        let prefix = format!("{}/", graph.as_str());
        let mut out = BTreeMap::new();
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::HARVEST_STATE),
            None,
            Some(GraphNameRef::NamedNode(graph.as_ref())),
        ) {
            let q = q?;
            if let (NamedOrBlankNode::NamedNode(s), Term::Literal(l)) = (&q.subject, &q.object) {
                if let Some(id) = s.as_str().strip_prefix(&prefix) {
                    out.insert(
                        id.to_owned(),
                        serde_json::from_str(l.value()).unwrap_or_default(),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Writes a peer's state inside a transaction.
    pub fn set_peer_state_in(
        &self,
        tx: &mut Transaction<'_>,
        peer: &str,
        state: &PeerState,
    ) -> Result<(), StorageError> {
        let graph = self.harvest_graph();
        let subject = self.peer_subject(peer);
        let old: Vec<_> = tx
            .quads_for_pattern(
                Some(subject.as_ref().into()),
                Some(vocab::HARVEST_STATE),
                None,
                Some(GraphNameRef::NamedNode(graph.as_ref())),
            )
            .collect::<Result<_, _>>()?;
        for q in &old {
            tx.remove(q);
        }
        let json = serde_json::to_string(state).unwrap_or_default();
        tx.insert(QuadRef::new(
            &subject,
            vocab::HARVEST_STATE,
            &Literal::new_simple_literal(json),
            GraphNameRef::NamedNode(graph.as_ref()),
        ));
        Ok(())
    }

    /// Writes a peer's state on its own (after a failed round).
    pub fn set_peer_state(&self, peer: &str, state: &PeerState) -> anyhow::Result<()> {
        self.put_all_with(&[], |tx, _| self.set_peer_state_in(tx, peer, state))
            .map(|_| ())
    }

    /// Whether the feed log holds this member (version IRI) signed with this
    /// proof value: `None` if it holds no such member.
    pub fn member_has_proof(
        &self,
        member: &NamedNode,
        proof_value: &str,
    ) -> anyhow::Result<Option<bool>> {
        let found = self
            .store
            .quads_for_pattern(
                Some(member.as_ref().into()),
                Some(vocab::SIGNED_CONTENT),
                None,
                Some(GraphNameRef::NamedNode(self.feed.as_ref())),
            )
            .next()
            .transpose()?;
        Ok(found.map(|q| match q.object {
            Term::Literal(l) => l.value().contains(&format!("\"{proof_value}\"")),
            _ => false,
        }))
    }

    /// Whether the feed log already holds this member (version IRI).
    pub fn has_member(&self, member: &NamedNode) -> anyhow::Result<bool> {
        Ok(self
            .store
            .quads_for_pattern(
                Some(member.as_ref().into()),
                Some(vocab::FEED_POSITION),
                None,
                Some(GraphNameRef::NamedNode(self.feed.as_ref())),
            )
            .next()
            .transpose()?
            .is_some())
    }
}
