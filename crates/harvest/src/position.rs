//! A peer's harvest position: where a walk starts, whether the stored
//! position still matches the peer's feed, and resetting it.
//!
//! The position is the last page read, with its ETag and the pages it linked
//! to. It no longer matches the peer when it is outside the peer's base URL
//! (the base URL changed in `peers.toml`), when the page there is gone (404,
//! 410), when the page there declares itself another page, or when the
//! members read before are no longer there (the feed was reset: the first
//! member of the page, or of the feed, is one this node never read from the
//! peer). A walk then stops before reading anything and says so, naming the
//! command that resets the position ([`crate::reset_command`]); the next
//! round after [`reset_position`] reads the feed from its start, and the
//! harvest rules make what was stored before known, not new.

use crate::error::{HarvestError, Mismatch};
use crate::fetch::Fetched;
use crate::{Harvester, member_identity};
use ccis_feed::{PageMember, ReadPage};
use ccis_integrity::peers::Peer;
use ccis_store::{HarvestStateStore, PeerState};
use oxrdf::vocab::rdf;
use oxrdf::{GraphName, NamedOrBlankNode, Term, TermRef};

/// Resets the harvest position of `peer` in `store`, so that the next round
/// reads its feed from the start (what is stored is kept; versions read
/// again are known, not new; refusals are not counted twice). Clears the
/// peer's last error. Returns the page the position was at, if one was
/// stored; a peer never harvested is left as it is.
///
/// This is what `ccis harvest --reset PEER` runs.
pub fn reset_position(
    store: &(impl HarvestStateStore + ?Sized),
    peer: &str,
) -> Result<Option<String>, HarvestError> {
    let states = store
        .peer_states()
        .map_err(|e| HarvestError::store(peer, e))?;
    let Some(mut state) = states.get(peer).cloned() else {
        return Ok(None);
    };
    let was = state.page.take();
    state.etag = None;
    state.page_next.clear();
    state.last_error = None;
    state.last_error_at = None;
    state.consecutive_failures = 0;
    store
        .set_peer_state(peer, &state)
        .map_err(|e| HarvestError::store(peer, e))?;
    tracing::info!(peer, page = ?was, "harvest position reset");
    Ok(was)
}

/// The first member of a page, readable or not.
enum First<'r> {
    Readable(&'r PageMember),
    Unreadable(&'r ccis_feed::Unreadable),
}

impl First<'_> {
    fn member(&self) -> &str {
        match self {
            Self::Readable(m) => m.member.as_str(),
            Self::Unreadable(u) => &u.member,
        }
    }
}

/// The member of a page at position 1, if it has members.
fn first_member(read: &ReadPage) -> Option<First<'_>> {
    let readable = read
        .members
        .iter()
        .zip(&read.member_positions)
        .min_by_key(|(_, p)| **p)
        .map(|(m, p)| (*p, First::Readable(m)));
    let unreadable = read
        .unreadable
        .iter()
        .min_by_key(|u| u.position)
        .map(|u| (u.position, First::Unreadable(u)));
    match (readable, unreadable) {
        (Some(r), Some(u)) => Some(if r.0 <= u.0 { r.1 } else { u.1 }),
        (r, u) => r.or(u).map(|(_, f)| f),
    }
}

impl Harvester {
    /// Whether `url` is a page of the peer (under its base URL).
    pub(crate) fn within_peer(&self, peer: &Peer, url: &str) -> bool {
        url.starts_with(&format!("{}/", peer.base_url))
    }

    /// Where a walk starts: the stored position with its ETag, if it is
    /// within the peer's base URL, else (never harvested) the feed's view.
    pub(crate) async fn start_of(
        &self,
        peer: &Peer,
        state: &PeerState,
    ) -> Result<(String, Option<String>), HarvestError> {
        match &state.page {
            Some(page) if self.within_peer(peer, page) => Ok((page.clone(), state.etag.clone())),
            Some(page) => Err(HarvestError::PositionMismatch {
                peer: peer.id.clone(),
                page: page.clone(),
                reason: Mismatch::OutsideBase {
                    base: peer.base_url.clone(),
                },
            }),
            None => Ok((self.view_of(peer).await?, None)),
        }
    }

    /// Where a peer's feed starts: the `tree:view` of `{base}/feed`, within
    /// the peer's base URL.
    pub(crate) async fn view_of(&self, peer: &Peer) -> Result<String, HarvestError> {
        let url = format!("{}/feed", peer.base_url);
        let quads = match self.fetcher.fetch(&url, None).await {
            Ok(Fetched::Page { quads, .. }) => quads,
            Ok(Fetched::NotModified) => Vec::new(),
            Err(e) => return Err(HarvestError::fetch(&peer.id, e)),
        };
        let view = quads
            .iter()
            .find(|q| q.predicate.as_ref() == ccis_model::vocab::TREE_VIEW)
            .and_then(|q| match &q.object {
                Term::NamedNode(n) => Some(n.as_str().to_owned()),
                _ => None,
            })
            .ok_or_else(|| HarvestError::NoView {
                peer: peer.id.clone(),
                url: url.clone(),
            })?;
        if !self.within_peer(peer, &view) {
            return Err(HarvestError::ViewOutsidePeer {
                peer: peer.id.clone(),
                view,
                base: peer.base_url.clone(),
            });
        }
        Ok(view)
    }

    /// The page at the stored position must still be that page: if it
    /// declares itself a `tree:Node`, one of them is `url`.
    pub(crate) fn check_identity(
        &self,
        peer: &str,
        url: &str,
        quads: &[oxrdf::Quad],
    ) -> Result<(), HarvestError> {
        let declared: Vec<&str> = quads
            .iter()
            .filter(|q| {
                q.graph_name == GraphName::DefaultGraph
                    && q.predicate.as_ref() == rdf::TYPE
                    && q.object.as_ref() == TermRef::NamedNode(ccis_model::vocab::TREE_NODE_CLASS)
            })
            .filter_map(|q| match &q.subject {
                NamedOrBlankNode::NamedNode(n) => Some(n.as_str()),
                NamedOrBlankNode::BlankNode(_) => None,
            })
            .collect();
        match declared.first() {
            Some(other) if !declared.contains(&url) => Err(HarvestError::PositionMismatch {
                peer: peer.to_owned(),
                page: url.to_owned(),
                reason: Mismatch::OtherPage {
                    declared: (*other).to_owned(),
                },
            }),
            _ => Ok(()),
        }
    }

    /// The page at the stored position changed since it was read (no 304):
    /// the members read from it then must still come first. Its first member
    /// must be one this node read from the peer; if it is not, the page was
    /// empty when read (the newest page of the feed, just opened) or the
    /// feed was reset: a page that was full then, or a feed whose first
    /// member this node never read, was reset.
    pub(crate) async fn check_continuity(
        &self,
        peer: &Peer,
        stored: &PeerState,
        url: &str,
        read: &ReadPage,
    ) -> Result<(), HarvestError> {
        let mismatch = |reason| HarvestError::PositionMismatch {
            peer: peer.id.clone(),
            page: url.to_owned(),
            reason,
        };
        let was_full = !stored.page_next.is_empty();
        match first_member(read) {
            None if was_full => Err(mismatch(Mismatch::Emptied {
                page: url.to_owned(),
            })),
            None => Ok(()),
            Some(first) if self.read_before(&peer.id, &first)? => Ok(()),
            Some(first) if was_full => Err(mismatch(Mismatch::FirstMemberChanged {
                page: url.to_owned(),
                member: first.member().to_owned(),
            })),
            Some(_) => self
                .check_feed_start(peer, url)
                .await?
                .map_or(Ok(()), |reason| Err(mismatch(reason))),
        }
    }

    /// Whether the first page of the peer's feed (its view, if it is not
    /// `resume`) starts with a member this node read from the peer.
    async fn check_feed_start(
        &self,
        peer: &Peer,
        resume: &str,
    ) -> Result<Option<Mismatch>, HarvestError> {
        let view = self.view_of(peer).await?;
        if view == resume {
            return Ok(None);
        }
        let quads = match self.fetcher.fetch(&view, None).await {
            Ok(Fetched::Page { quads, .. }) => quads,
            Ok(Fetched::NotModified) => return Ok(None),
            Err(e) => return Err(HarvestError::fetch(&peer.id, e)),
        };
        self.check_page(&peer.id, &view, &quads)?;
        let read = tokio::task::spawn_blocking(move || ccis_feed::read_page(&quads))
            .await
            .map_err(|source| HarvestError::Task {
                peer: peer.id.clone(),
                what: "reading a page",
                source,
            })?;
        Ok(match first_member(&read) {
            None => Some(Mismatch::Emptied { page: view }),
            Some(first) if self.read_before(&peer.id, &first)? => None,
            Some(first) => Some(Mismatch::FirstMemberChanged {
                page: view,
                member: first.member().to_owned(),
            }),
        })
    }

    /// Whether this node read this member from the peer before: stored
    /// with this very proof, or refused (and remembered) as it is.
    fn read_before(&self, peer: &str, first: &First<'_>) -> Result<bool, HarvestError> {
        let store = &self.store;
        let (member, identity) = match first {
            First::Unreadable(u) => (u.member.as_str(), u.digest.clone()),
            First::Readable(m) => {
                let identity = member_identity(m);
                if let [proof] = m.found.proofs.as_slice()
                    && let Ok(value) = proof.proof_value()
                    && store
                        .member_has_proof(&m.member, value)
                        .map_err(|e| HarvestError::record(m.record.as_str(), e))?
                        == Some(true)
                {
                    return Ok(true);
                }
                (m.member.as_str(), identity)
            }
        };
        store
            .was_refused(peer, &ccis_store::refusal_key(member, &identity))
            .map_err(|e| HarvestError::store(peer, e))
    }
}
