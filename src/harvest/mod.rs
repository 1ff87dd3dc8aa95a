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
use crate::signed::SignedRecord;
use crate::store::{NodeStore, PeerState, StoreMeta, Written};
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
    /// Versions judged from a peer's pages before they are stored, together
    /// with the position, in one write.
    pub batch_records: usize,
    /// A write of at least this many first versions of records not yet
    /// stored goes through Oxigraph's bulk loader instead of a transaction.
    pub bulk_min_records: usize,
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
            batch_records: 5000,
            bulk_min_records: 1000,
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

/// A page being fetched ahead of its turn; stopped if dropped unused.
struct Prefetch {
    url: String,
    handle: Option<tokio::task::JoinHandle<Result<Fetched, FetchError>>>,
}

impl Prefetch {
    fn start(client: reqwest::Client, url: String, limits: FetchLimits) -> Self {
        let target = url.clone();
        let handle = tokio::spawn(async move { fetch_page(&client, &target, None, &limits).await });
        Self {
            url,
            handle: Some(handle),
        }
    }

    async fn result(mut self) -> Result<Fetched, FetchError> {
        let Some(handle) = self.handle.take() else {
            return Err(FetchError::Invalid(format!("{}: fetched twice", self.url)));
        };
        handle.await.unwrap_or_else(|e| {
            Err(FetchError::Transport {
                url: self.url.clone(),
                message: e.to_string(),
            })
        })
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

/// What judging one page gave.
#[derive(Default)]
struct PageOutcome {
    /// Accepted versions, in feed order.
    items: Vec<(SignedRecord, StoreMeta)>,
    /// Members already stored.
    known: u64,
    /// Refused members.
    refusals: Vec<Refusal>,
    /// Whether an accepted version replaces one the store holds.
    replaces_stored: bool,
}

/// Record → (version, proofValue) of the versions accepted so far in a walk.
type Seen = HashMap<oxrdf::NamedNode, (u64, Option<String>)>;

/// Versions judged from a peer's pages and not yet stored, with the peer's
/// state as it will be once they are: stored together, all or nothing.
/// While a batch is written the next one is judged; writes keep their order.
struct Batch {
    items: Vec<(SignedRecord, StoreMeta)>,
    /// Every version accepted in the walk, written or not.
    seen: Seen,
    /// Records whose versions accepted in the walk are all in `items`.
    fresh: HashSet<oxrdf::NamedNode>,
    state: PeerState,
    known: u64,
    refusals: Vec<Refusal>,
    replaces_stored: bool,
    /// Whether a page was read since the last write started.
    dirty: bool,
    /// The write under way, if any.
    writing: Option<Writing>,
    /// A write failed: nothing after it may be written (the position would
    /// run ahead of what is stored).
    broken: bool,
}

/// A batch being written.
struct Writing {
    handle: tokio::task::JoinHandle<anyhow::Result<(Written, u64, PeerState)>>,
    known: u64,
    refusals: Vec<Refusal>,
}

impl Batch {
    fn new(state: PeerState) -> Self {
        Self {
            items: Vec::new(),
            seen: HashMap::new(),
            fresh: HashSet::new(),
            state,
            known: 0,
            refusals: Vec::new(),
            replaces_stored: false,
            dirty: false,
            writing: None,
            broken: false,
        }
    }

    /// Adds a judged page: its versions, and the position after it.
    fn absorb(&mut self, url: &str, etag: Option<String>, next: Vec<String>, page: PageOutcome) {
        let state = &mut self.state;
        state.page = Some(url.to_owned());
        state.etag = etag;
        state.page_next = next;
        state.pages += 1;
        // A member refused before (the page read again as it grows, or a
        // loop) is neither counted nor logged again.
        if state.refused_members.len() > MAX_REMEMBERED_REFUSALS {
            state.refused_members.clear();
        }
        let mut refusals = page.refusals;
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
        self.refusals.extend(refusals);
        self.items.extend(page.items);
        self.known += page.known;
        self.replaces_stored |= page.replaces_stored;
        self.dirty = true;
    }
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
                // The round's own limit stops it between pages and keeps what
                // was judged; this one is the backstop for a write that hangs.
                let limit = Duration::from_secs(this.config.round_timeout_secs.max(1))
                    + Duration::from_secs(this.config.response_timeout_secs.max(1) + 60);
                let report =
                    match tokio::time::timeout(limit, this.harvest_peer(&peer, &*progress)).await {
                        Ok(report) => report,
                        Err(_) => {
                            let mut report = PeerReport {
                                peer: peer.id.clone(),
                                ..Default::default()
                            };
                            report.error = Some(format!(
                                "round stopped after the limit of {} s (what was stored is kept)",
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
        let mut batch = Batch::new(state.clone());
        let walked = self
            .walk_pages(peer, progress, report, &state, start, etag, &mut batch)
            .await;
        // What was judged before an error is stored all the same.
        let mut flushed = self.flush(peer, &mut batch, report).await;
        if flushed.is_ok() {
            flushed = self.finish_write(&mut batch, report).await;
        }
        let flushed = flushed.map_err(|e| format!("{e:#}"));
        progress.page(report);
        walked.and(flushed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn walk_pages(
        &self,
        peer: &Peer,
        progress: &dyn Progress,
        report: &mut PeerReport,
        state: &PeerState,
        start: String,
        etag: Option<String>,
        batch: &mut Batch,
    ) -> Result<(), String> {
        let mut queue = VecDeque::from([(start, etag)]);
        let mut visited = HashSet::new();
        let mut restarted = false;
        let limit = Duration::from_secs(self.config.round_timeout_secs.max(1));
        let deadline = tokio::time::Instant::now() + limit;
        let mut prefetch: Option<Prefetch> = None;
        let stopped = || {
            format!(
                "round stopped after the limit of {} s (what was judged is stored)",
                limit.as_secs()
            )
        };
        while let Some((url, etag)) = queue.pop_front() {
            if !visited.insert(url.clone()) {
                tracing::info!(peer = %peer.id, %url, "relation loops back to a page already read; not followed");
                continue;
            }
            let prefetched = prefetch.take().filter(|p| p.url == url && etag.is_none());
            let fetching = async {
                match prefetched {
                    Some(p) => p.result().await,
                    None => {
                        fetch_page(&self.client, &url, etag.as_deref(), &self.config.limits()).await
                    }
                }
            };
            let fetched = match tokio::time::timeout_at(deadline, fetching)
                .await
                .map_err(|_| stopped())?
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
                    if batch.state.page.as_deref() == Some(url.as_str()) {
                        batch.state.page_next.clone()
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
                    // A feed is mostly a chain of pages: the next one is
                    // fetched while this one is judged.
                    if let [only] = next.as_slice() {
                        if queue.is_empty() && !visited.contains(only) {
                            prefetch = Some(Prefetch::start(
                                self.client.clone(),
                                only.clone(),
                                self.config.limits(),
                            ));
                        }
                    }
                    self.take_page(peer, &url, etag, next.clone(), read, batch, report)
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

    /// Judges the members of a page into the batch; stores the batch when it
    /// is full, or when the page replaces stored versions.
    #[allow(clippy::too_many_arguments)]
    async fn take_page(
        &self,
        peer: &Peer,
        url: &str,
        etag: Option<String>,
        next: Vec<String>,
        read: feed::ReadPage,
        batch: &mut Batch,
        report: &mut PeerReport,
    ) -> anyhow::Result<()> {
        let this = self.clone();
        let judged_peer = peer.clone();
        let mut seen = std::mem::take(&mut batch.seen);
        let mut fresh = std::mem::take(&mut batch.fresh);
        let (outcome, seen, fresh) = tokio::task::spawn_blocking(move || {
            let outcome = this.judge_page(&judged_peer, read, &mut seen, &mut fresh);
            (outcome, seen, fresh)
        })
        .await?;
        batch.seen = seen;
        batch.fresh = fresh;
        let outcome = outcome?;
        // Versions replacing stored ones need a transaction: what the batch
        // holds so far is written first, by the bulk path if it can.
        if outcome.replaces_stored {
            self.flush(peer, batch, report).await?;
        }
        batch.absorb(url, etag, next, outcome);
        if batch.replaces_stored || batch.items.len() >= self.config.batch_records.max(1) {
            self.flush(peer, batch, report).await?;
        }
        Ok(())
    }

    /// Starts writing the batch with the peer's position and state, all or
    /// nothing, once the write before it is done.
    async fn flush(
        &self,
        peer: &Peer,
        batch: &mut Batch,
        report: &mut PeerReport,
    ) -> anyhow::Result<()> {
        self.finish_write(batch, report).await?;
        if !batch.dirty || batch.broken {
            return Ok(());
        }
        let items = std::mem::take(&mut batch.items);
        let mut state = batch.state.clone();
        let store = self.store.clone();
        let peer_id = peer.id.clone();
        let bulk_min = self.config.bulk_min_records;
        let handle = tokio::task::spawn_blocking(move || {
            store
                .put_harvested(&items, &peer_id, &mut state, bulk_min)
                .map(|written| (written, items.len() as u64, state))
        });
        batch.writing = Some(Writing {
            handle,
            known: std::mem::take(&mut batch.known),
            refusals: std::mem::take(&mut batch.refusals),
        });
        batch.fresh.clear();
        batch.replaces_stored = false;
        batch.dirty = false;
        Ok(())
    }

    /// Waits for the write under way, and counts what it stored.
    async fn finish_write(&self, batch: &mut Batch, report: &mut PeerReport) -> anyhow::Result<()> {
        let Some(writing) = batch.writing.take() else {
            return Ok(());
        };
        let done = writing
            .handle
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r);
        batch.broken = done.is_err();
        let (written, offered, written_state) = done?;
        tracing::debug!(
            peer = %report.peer,
            stored = written.stored,
            bulk = written.by_bulk_loader,
            "batch written"
        );
        let stored = written.stored as u64;
        report.accepted += stored;
        // What another path stored meanwhile is skipped, and counted as known.
        report.known += writing.known + offered - stored;
        for r in &writing.refusals {
            *report.refused.entry(r.rule.to_owned()).or_default() += 1;
        }
        self.log_refusals(&writing.refusals);
        // The pages judged meanwhile move the position on from there.
        batch.state.accepted = written_state.accepted;
        batch.state.revision = written_state.revision;
        Ok(())
    }

    /// Judges every member of a page by the harvest rules; `seen` holds the
    /// versions accepted earlier in the walk and takes this page's, `fresh`
    /// the records all of whose accepted versions are still in the batch.
    fn judge_page(
        &self,
        peer: &Peer,
        read: feed::ReadPage,
        seen: &mut Seen,
        fresh: &mut HashSet<oxrdf::NamedNode>,
    ) -> anyhow::Result<PageOutcome> {
        let judge = Judge {
            self_id: &self.self_id,
            self_base: &self.self_base,
            peers: &self.peers,
            store: &self.store,
            validator: &self.validator,
        };
        let at = now();
        let mut outcome = PageOutcome {
            refusals: read
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
                .collect(),
            ..Default::default()
        };
        let mut candidates = Vec::new();
        for m in &read.members {
            match judge.decide(m, seen)? {
                Decision::Accept {
                    signed,
                    origin,
                    verified_with,
                    replaces_stored,
                } => {
                    let version = signed.record.version().unwrap_or(0);
                    let before = seen.insert(
                        signed.record.iri.clone(),
                        (version, signed.proof.proof_value().ok().map(str::to_owned)),
                    );
                    // A version of a record written earlier in the walk
                    // replaces a stored one too.
                    let replaces_stored = replaces_stored
                        || (before.is_some() && !fresh.contains(&signed.record.iri));
                    if !replaces_stored {
                        fresh.insert(signed.record.iri.clone());
                    }
                    let meta = StoreMeta {
                        origin,
                        source: peer.base_url.clone(),
                        stored_at: at.clone(),
                        verified_with,
                        signed_nquads: Some(m.signed_nquads.clone()),
                    };
                    candidates.push((signed, meta, replaces_stored, before));
                }
                Decision::Known => outcome.known += 1,
                Decision::Refuse(rule, reason) => outcome.refusals.push(Refusal {
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
            candidates.iter().map(|(s, ..)| &s.record).collect();
        let verdicts = judge.shapes(&records);
        for ((signed, meta, replaces_stored, before), verdict) in
            candidates.into_iter().zip(verdicts)
        {
            match verdict {
                None => {
                    outcome.replaces_stored |= replaces_stored;
                    outcome.items.push((signed, meta));
                }
                Some(reason) => {
                    // Not accepted after all: the batch's version stands.
                    match before {
                        Some(b) => seen.insert(signed.record.iri.clone(), b),
                        None => seen.remove(&signed.record.iri),
                    };
                    outcome.refusals.push(Refusal {
                        at: at.clone(),
                        peer: peer.id.clone(),
                        record: signed.record.iri.as_str().to_owned(),
                        version: signed.record.version(),
                        rule: Rule::Shapes.name(),
                        reason,
                    })
                }
            }
        }
        Ok(outcome)
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
