//! What a node holds and how its peers behave: `ccis status` and `GET /status`.

use crate::config::NodeConfig;
use crate::node::{NodeError, store_err};
use ccis_integrity::peers::Peers;
use ccis_store::{NodeStore, PeerState};
use serde::Serialize;
use std::collections::BTreeMap;

/// A node's status.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Node id.
    pub id: String,
    /// Name of the centre.
    pub name: String,
    /// Country code.
    pub country: String,
    /// Base URL.
    pub base_url: String,
    /// Records held (own and harvested), withdrawn ones included.
    pub records: usize,
    /// Of which withdrawn.
    pub withdrawn: usize,
    /// Records by origin node.
    pub by_origin: BTreeMap<String, usize>,
    /// Versions in the node's feed.
    pub feed_members: u64,
    /// Each harvested peer's state, by id.
    pub peers: BTreeMap<String, PeerStatus>,
}

/// One peer's health.
#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    /// Its base URL, if it is in `peers.toml`.
    pub base_url: Option<String>,
    /// What the node knows of it.
    #[serde(flatten)]
    pub state: PeerState,
}

impl NodeStatus {
    /// Reads the status of a node from its store; `peers` lists the peers
    /// never harvested yet too.
    pub fn read(config: &NodeConfig, store: &NodeStore) -> Result<Self, NodeError> {
        Self::read_with_peers(config, store, &Peers::default())
    }

    /// Same as [`Self::read`], listing every peer of `peers`.
    pub fn read_with_peers(
        config: &NodeConfig,
        store: &NodeStore,
        peers: &Peers,
    ) -> Result<Self, NodeError> {
        let entries = store
            .entries()
            .map_err(store_err("cannot list the catalogue"))?;
        let mut by_origin = BTreeMap::new();
        for e in &entries {
            *by_origin.entry(e.origin.clone()).or_default() += 1;
        }
        let mut states: BTreeMap<String, PeerStatus> = store
            .peer_states()
            .map_err(store_err("cannot read the harvest state"))?
            .into_iter()
            .map(|(id, state)| {
                let base_url = peers.get(&id).map(|p| p.base_url.clone());
                // Each refused member version is counted once, when it is
                // first refused (refused.jsonl holds the lines); members of
                // an origin not in peers.toml are counted apart, as
                // `not_harvested_unknown_origin`.
                (id, PeerStatus { base_url, state })
            })
            .collect();
        for p in &peers.peers {
            if p.id != config.id {
                states.entry(p.id.clone()).or_insert_with(|| PeerStatus {
                    base_url: Some(p.base_url.clone()),
                    state: PeerState::default(),
                });
            }
        }
        Ok(Self {
            id: config.id.clone(),
            name: config.name.clone(),
            country: config.country.clone(),
            base_url: config.base_url.clone(),
            records: entries.len(),
            withdrawn: entries.iter().filter(|e| e.status == "withdrawn").count(),
            by_origin,
            feed_members: store
                .member_count()
                .map_err(store_err("cannot count the feed"))?,
            peers: states,
        })
    }
}
