//! Harvesting: reading the feeds of the peers in `peers.toml`, verifying every
//! member against the harvest rules, and storing what passes with provenance.
//!
//! Per peer the node keeps its position (page, ETag, the page's relations) in
//! the store, written in the same transaction as the versions accepted from
//! that page. Peers are harvested concurrently, each within its own time
//! limits, so a peer that is down, slow or hostile never holds up the others.
//! Nothing is ever removed because it is missing from a feed: only a verified
//! tombstone (a newer version of type `ccis:Withdrawn`) replaces a record.

mod fetch;
mod progress;
mod rules;

pub use fetch::{FetchError, FetchLimits, Fetched, fetch_page};
pub use progress::{Progress, Quiet, progress_for_terminal};
pub use rules::{Decision, Judge, Rule};

use crate::feed;
use crate::node::now;
use crate::peers::{Peer, Peers};
use crate::shapes::ShapeValidator;
use crate::store::{NodeStore, PeerState, StoreMeta};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Harvest settings (`[harvest]` in `ccis.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestConfig {
    /// Seconds between rounds in `ccis serve` (0: no periodic harvest).
    pub interval_secs: u64,
    /// Peers harvested at once.
    pub concurrency: usize,
    /// Seconds to open a connection.
    pub connect_timeout_secs: u64,
    /// Seconds for one response, headers and body.
    pub response_timeout_secs: u64,
    /// Seconds for one peer's whole round.
    pub round_timeout_secs: u64,
    /// Largest page accepted, in bytes.
    pub max_page_bytes: usize,
    /// Retries after a 5xx or 429.
    pub retries: u32,
    /// Longest wait between retries, in seconds.
    pub max_backoff_secs: u64,
}

impl Default for HarvestConfig {
    fn default() -> Self {
        Self {
            interval_secs: 300,
            concurrency: 4,
            connect_timeout_secs: 5,
            response_timeout_secs: 30,
            round_timeout_secs: 600,
            max_page_bytes: 16 * 1024 * 1024,
            retries: 3,
            max_backoff_secs: 30,
        }
    }
}

impl HarvestConfig {
    /// The fetch limits these settings give.
    pub fn limits(&self) -> FetchLimits {
        FetchLimits {
            connect_timeout: Duration::from_secs(self.connect_timeout_secs.max(1)),
            response_timeout: Duration::from_secs(self.response_timeout_secs.max(1)),
            max_page_bytes: self.max_page_bytes,
            retries: self.retries,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(self.max_backoff_secs),
        }
    }
}

/// What one round did with one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerReport {
    /// Peer id.
    pub peer: String,
    /// Versions accepted and stored.
    pub accepted: u64,
    /// Members already stored (same version, directly or through another path).
    pub known: u64,
    /// Members refused, by rule.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Pages read (304 included).
    pub pages: u64,
    /// Why the round stopped early, if it did.
    pub error: Option<String>,
}

impl PeerReport {
    /// Refused members, all rules together.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// Refused members a node remembers per peer so as not to count them twice.
const MAX_REMEMBERED_REFUSALS: usize = 10_000;

/// One refusal, as written to the node's `refused.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// When.
    pub at: String,
    /// The peer it came from.
    pub peer: String,
    /// The record IRI.
    pub record: String,
    /// Its version, if it had one.
    pub version: Option<u64>,
    /// The rule.
    pub rule: &'static str,
    /// Why.
    pub reason: String,
}

/// Harvests a node's peers into its store.
#[derive(Clone)]
pub struct Harvester {
    store: NodeStore,
    self_id: String,
    self_base: String,
    peers: Arc<Peers>,
    validator: Arc<ShapeValidator>,
    refusal_log: Option<PathBuf>,
    config: HarvestConfig,
    client: reqwest::Client,
}

impl Harvester {
    /// A harvester for the node `self_id` at `self_base`, writing refusals to
    /// `refusal_log` (a JSON line each) when given.
    pub fn new(
        store: NodeStore,
        self_id: &str,
        self_base: &str,
        peers: Peers,
        config: HarvestConfig,
        refusal_log: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let client = fetch::client(&config.limits()).context("cannot build the HTTP client")?;
        Ok(Self {
            store,
            self_id: self_id.to_owned(),
            self_base: self_base.to_owned(),
            peers: Arc::new(peers),
            validator: Arc::new(ShapeValidator::new()?),
            refusal_log,
            config,
            client,
        })
    }

    /// The peers this node harvests (every peer but itself).
    pub fn targets(&self, only: Option<&str>) -> Vec<Peer> {
        self.peers
            .peers
            .iter()
            .filter(|p| p.id != self.self_id && p.base_url != self.self_base)
            .filter(|p| only.is_none_or(|id| p.id == id))
            .cloned()
            .collect()
    }

    /// One round: every peer (or only `only`), at most `concurrency` at a time.
    pub async fn round(&self, only: Option<&str>, progress: Arc<dyn Progress>) -> Vec<PeerReport> {
        let targets = self.targets(only);
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for peer in targets {
            let this = self.clone();
            let permits = permits.clone();
            let progress = progress.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                progress.start(&peer.id);
                let limit = Duration::from_secs(this.config.round_timeout_secs.max(1));
                let report =
                    match tokio::time::timeout(limit, this.harvest_peer(&peer, &*progress)).await {
                        Ok(report) => report,
                        Err(_) => {
                            let mut report = PeerReport {
                                peer: peer.id.clone(),
                                ..Default::default()
                            };
                            report.error = Some(format!(
                                "round stopped after the limit of {} s (what was read is kept)",
                                limit.as_secs()
                            ));
                            this.record_failure(&peer.id, report.error.as_deref().unwrap_or(""));
                            report
                        }
                    };
                progress.finish(&report);
                report
            });
        }
        let mut reports = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(report) = done {
                reports.push(report);
            }
        }
        reports.sort_by(|a, b| a.peer.cmp(&b.peer));
        reports
    }

    fn record_failure(&self, peer: &str, error: &str) {
        let mut state = self.store.peer_state(peer).unwrap_or_default();
        state.last_error = Some(error.to_owned());
        state.last_error_at = Some(now());
        state.consecutive_failures += 1;
        if let Err(e) = self.store.set_peer_state(peer, &state) {
            tracing::warn!(peer, "cannot record the failure: {e:#}");
        }
    }

    /// Where a peer's feed starts: the `tree:view` of `{base}/feed`.
    async fn view_of(&self, peer: &Peer) -> Result<String, String> {
        let url = format!("{}/feed", peer.base_url);
        match fetch_page(&self.client, &url, None, &self.config.limits()).await {
            Ok(Fetched::Page { quads, .. }) => quads
                .iter()
                .find(|q| q.predicate.as_ref() == crate::vocab::TREE_VIEW)
                .and_then(|q| match &q.object {
                    oxrdf::Term::NamedNode(n) => Some(n.as_str().to_owned()),
                    _ => None,
                })
                .ok_or_else(|| format!("{url}: no tree:view")),
            Ok(Fetched::NotModified) => Err(format!("{url}: unexpected 304")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn within_peer(peer: &Peer, url: &str) -> bool {
        url.starts_with(&format!("{}/", peer.base_url))
    }

    /// Harvests one peer from its stored position; never panics, never fails
    /// the round of the others: errors end up in the report and the peer's state.
    pub async fn harvest_peer(&self, peer: &Peer, progress: &dyn Progress) -> PeerReport {
        let mut report = PeerReport {
            peer: peer.id.clone(),
            ..Default::default()
        };
        match self.walk(peer, progress, &mut report).await {
            Ok(()) => {
                let mut state = self.store.peer_state(&peer.id).unwrap_or_default();
                state.last_success = Some(now());
                state.last_error = None;
                state.consecutive_failures = 0;
                if let Err(e) = self.store.set_peer_state(&peer.id, &state) {
                    report.error = Some(format!("{e:#}"));
                }
            }
            Err(e) => {
                tracing::warn!(peer = %peer.id, "harvest stopped: {e}");
                self.record_failure(&peer.id, &e);
                report.error = Some(e);
            }
        }
        report
    }

    async fn walk(
        &self,
        peer: &Peer,
        progress: &dyn Progress,
        report: &mut PeerReport,
    ) -> Result<(), String> {
        let state = self
            .store
            .peer_state(&peer.id)
            .map_err(|e| format!("{e:#}"))?;
        let (start, etag) = match &state.page {
            Some(page) => (page.clone(), state.etag.clone()),
            None => (self.view_of(peer).await?, None),
        };
        if !Self::within_peer(peer, &start) {
            return Err(format!(
                "the feed starts at <{start}>, outside the peer's base URL"
            ));
        }
        let mut queue = VecDeque::from([(start, etag)]);
        let mut visited = HashSet::new();
        let mut restarted = false;
        while let Some((url, etag)) = queue.pop_front() {
            if !visited.insert(url.clone()) {
                tracing::info!(peer = %peer.id, %url, "relation loops back to a page already read; not followed");
                continue;
            }
            let fetched = match fetch_page(
                &self.client,
                &url,
                etag.as_deref(),
                &self.config.limits(),
            )
            .await
            {
                Ok(f) => f,
                // The page the node stopped at is gone (the peer rebuilt its
                // feed): start again from its view; what is stored is known.
                Err(FetchError::Status {
                    status: 404 | 410, ..
                }) if !restarted
                    && state.page.as_deref() == Some(url.as_str())
                    && visited.len() == 1 =>
                {
                    restarted = true;
                    tracing::warn!(peer = %peer.id, %url, "resume page gone; reading the feed from its start");
                    let view = self.view_of(peer).await?;
                    if !Self::within_peer(peer, &view) {
                        return Err(format!(
                            "the feed starts at <{view}>, outside the peer's base URL"
                        ));
                    }
                    visited.clear();
                    queue.push_front((view, None));
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            report.pages += 1;
            let next: Vec<String> = match fetched {
                Fetched::NotModified => {
                    let state = self
                        .store
                        .peer_state(&peer.id)
                        .map_err(|e| format!("{e:#}"))?;
                    if state.page.as_deref() == Some(url.as_str()) {
                        state.page_next
                    } else {
                        Vec::new()
                    }
                }
                Fetched::Page { quads, etag } => {
                    let read = tokio::task::spawn_blocking(move || feed::read_page(&quads))
                        .await
                        .map_err(|e| format!("{url}: {e}"))?;
                    let next: Vec<String> = read
                        .next
                        .iter()
                        .filter(|n| Self::within_peer(peer, n))
                        .cloned()
                        .collect();
                    self.take_page(peer, &url, etag, next.clone(), read, report)
                        .await
                        .map_err(|e| format!("{url}: {e:#}"))?;
                    next
                }
            };
            progress.page(report);
            for n in next {
                if !visited.contains(&n) {
                    queue.push_back((n, None));
                }
            }
        }
        Ok(())
    }

    /// Judges the members of a page and stores the accepted ones with the
    /// peer's new position, in one transaction.
    async fn take_page(
        &self,
        peer: &Peer,
        url: &str,
        etag: Option<String>,
        next: Vec<String>,
        read: feed::ReadPage,
        report: &mut PeerReport,
    ) -> anyhow::Result<()> {
        let this = self.clone();
        let peer = peer.clone();
        let url = url.to_owned();
        let (accepted, known, refusals) = tokio::task::spawn_blocking(move || {
            this.judge_and_store(&peer, &url, etag, next, read)
        })
        .await??;
        report.accepted += accepted;
        report.known += known;
        for r in &refusals {
            *report.refused.entry(r.rule.to_owned()).or_default() += 1;
        }
        self.log_refusals(&refusals);
        Ok(())
    }

    fn judge_and_store(
        &self,
        peer: &Peer,
        url: &str,
        etag: Option<String>,
        next: Vec<String>,
        read: feed::ReadPage,
    ) -> anyhow::Result<(u64, u64, Vec<Refusal>)> {
        let judge = Judge {
            self_id: &self.self_id,
            self_base: &self.self_base,
            peers: &self.peers,
            store: &self.store,
            validator: &self.validator,
        };
        let at = now();
        let mut refusals: Vec<Refusal> = read
            .unreadable
            .iter()
            .map(|(member, why)| Refusal {
                at: at.clone(),
                peer: peer.id.clone(),
                record: member.clone(),
                version: None,
                rule: Rule::Malformed.name(),
                reason: why.clone(),
            })
            .collect();
        let mut pending: HashMap<oxrdf::NamedNode, (u64, Option<String>)> = HashMap::new();
        let mut candidates = Vec::new();
        let mut known = 0;
        for m in &read.members {
            match judge.decide(m, &pending)? {
                Decision::Accept(signed, origin, verified_with) => {
                    let version = signed.record.version().unwrap_or(0);
                    pending.insert(
                        signed.record.iri.clone(),
                        (version, signed.proof.proof_value().ok().map(str::to_owned)),
                    );
                    let meta = StoreMeta {
                        origin,
                        source: peer.base_url.clone(),
                        stored_at: at.clone(),
                        verified_with,
                        signed_nquads: Some(m.signed_nquads.clone()),
                    };
                    candidates.push((signed, meta));
                }
                Decision::Known => known += 1,
                Decision::Refuse(rule, reason) => refusals.push(Refusal {
                    at: at.clone(),
                    peer: peer.id.clone(),
                    record: m.record.as_str().to_owned(),
                    version: m.found.record.version(),
                    rule: rule.name(),
                    reason,
                }),
            }
        }
        // Rule 3's shapes, for the whole page at once.
        let records: Vec<&crate::record::Record> =
            candidates.iter().map(|(s, _)| &s.record).collect();
        let verdicts = judge.shapes(&records);
        let mut accepted = Vec::new();
        for ((signed, meta), verdict) in candidates.into_iter().zip(verdicts) {
            match verdict {
                None => accepted.push((signed, meta)),
                Some(reason) => refusals.push(Refusal {
                    at: at.clone(),
                    peer: peer.id.clone(),
                    record: signed.record.iri.as_str().to_owned(),
                    version: signed.record.version(),
                    rule: Rule::Shapes.name(),
                    reason,
                }),
            }
        }
        let mut state: PeerState = self.store.peer_state(&peer.id)?;
        state.page = Some(url.to_owned());
        state.etag = etag;
        state.page_next = next;
        state.pages += 1;
        // A member refused before (the page read again as it grows, or a
        // loop) is neither counted nor logged again.
        if state.refused_members.len() > MAX_REMEMBERED_REFUSALS {
            state.refused_members.clear();
        }
        refusals.retain(|r| {
            state.refused_members.insert(format!(
                "{} {} {}",
                r.record,
                r.version.map_or(String::new(), |v| v.to_string()),
                r.rule
            ))
        });
        for r in &refusals {
            *state.refused.entry(r.rule.to_owned()).or_default() += 1;
        }
        // What another path stored meanwhile is skipped, and counted as known.
        let stored = self.store.put_all_with(&accepted, |tx, stored| {
            state.accepted += stored as u64;
            self.store.set_peer_state_in(tx, &peer.id, &state)
        })? as u64;
        let known = known + accepted.len() as u64 - stored;
        Ok((stored, known, refusals))
    }

    fn log_refusals(&self, refusals: &[Refusal]) {
        for r in refusals {
            tracing::warn!(peer = %r.peer, record = %r.record, version = ?r.version, rule = r.rule, "refused: {}", r.reason);
        }
        let Some(path) = &self.refusal_log else {
            return;
        };
        if refusals.is_empty() {
            return;
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| {
                let mut lines = String::new();
                for r in refusals {
                    lines.push_str(&serde_json::to_string(r).unwrap_or_default());
                    lines.push('\n');
                }
                f.write_all(lines.as_bytes())
            });
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }
}

/// Runs a round at once, then every `interval` (± 10 % jitter), forever:
/// spawn it, and abort the task to stop (a page being stored still commits
/// or not at all).
pub async fn run_periodically(harvester: Harvester, interval: Duration) {
    loop {
        for r in harvester.round(None, Arc::new(Quiet)).await {
            tracing::info!(
                peer = %r.peer,
                accepted = r.accepted,
                known = r.known,
                refused = r.refused_total(),
                pages = r.pages,
                error = r.error.as_deref().unwrap_or(""),
                "harvest round"
            );
        }
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        let spread = (u64::from_le_bytes(bytes) % 2001) as f64 / 1000.0 - 1.0;
        tokio::time::sleep(interval.mul_f64(1.0 + 0.1 * spread)).await;
    }
}
