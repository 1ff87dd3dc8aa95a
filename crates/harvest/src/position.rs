//! A peer's harvest position: where a walk starts, from the stored position
//! (the last page read, with its ETag and the pages it linked to) or, for a
//! peer never harvested, from the view of its feed.

use crate::Harvester;
use crate::error::HarvestError;
use crate::fetch::Fetched;
use ccis_integrity::peers::Peer;
use ccis_store::PeerState;
use oxrdf::Term;

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
            Some(page) => Err(HarvestError::ViewOutsidePeer {
                peer: peer.id.clone(),
                view: page.clone(),
                base: peer.base_url.clone(),
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
}
