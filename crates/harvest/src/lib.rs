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

use anyhow::Context;
use ccis_feed as feed;
use ccis_integrity::peers::{Peer, Peers};
use ccis_integrity::shapes::ShapeValidator;
use ccis_integrity::signed::SignedRecord;
use ccis_model::clock::now;
use ccis_model::record::RecordLimits;
use ccis_store::{NodeStore, PeerState, StoreMeta, Written};
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
    /// Most members a page may declare; a page with more is refused.
    pub max_page_members: usize,
    /// Most relations (`tree:relation`) a page may declare; a page with more
    /// is refused.
    pub max_page_relations: usize,
    /// Most pages read from one peer in one round (the queue of pages to
    /// read is deduplicated and never longer); the next round goes on.
    pub max_pages_per_round: usize,
    /// `refused.jsonl` is renamed `refused.jsonl.1` (replacing the older
    /// one) when a write would take it past this many bytes.
    pub max_refusal_log_bytes: u64,
    /// This node's own feed pages are cut before they pass this many bytes
    /// (as N-Quads): well within `max_page_bytes`, so every page it serves,
    /// whatever it relays, is accepted by harvesters like itself.
    pub page_max_bytes: u64,
    /// Most bytes of a record, as N-Triples (rule 3, and publishing).
    pub record_max_bytes: usize,
    /// Most bytes of one literal of a record.
    pub literal_max_bytes: usize,
    /// Most statements in a record.
    pub record_max_triples: usize,
    /// Most blank nodes in a record.
    pub record_max_blank_nodes: usize,
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
            max_page_members: 10_000,
            max_page_relations: 64,
            max_pages_per_round: 10_000,
            max_refusal_log_bytes: 16 * 1024 * 1024,
            page_max_bytes: ccis_store::DEFAULT_PAGE_MAX_BYTES,
            record_max_bytes: ccis_model::record::MAX_RECORD_BYTES,
            literal_max_bytes: ccis_model::record::MAX_LITERAL_BYTES,
            record_max_triples: ccis_model::record::MAX_TRIPLES,
            record_max_blank_nodes: ccis_model::record::MAX_BLANK_NODES,
        }
    }
}

impl HarvestConfig {
    /// The limits every record must keep, harvested or published.
    pub fn record_limits(&self) -> RecordLimits {
        RecordLimits {
            record_max_bytes: self.record_max_bytes,
            literal_max_bytes: self.literal_max_bytes,
            record_max_triples: self.record_max_triples,
            record_max_blank_nodes: self.record_max_blank_nodes,
        }
    }

    /// Bytes at which this node's own feed pages are cut: `page_max_bytes`,
    /// never more than half of what its own harvester accepts.
    pub fn page_cut_bytes(&self) -> u64 {
        self.page_max_bytes
            .min(self.max_page_bytes as u64 / 2)
            .max(1)
    }

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
    /// Member versions refused for the first time, by rule.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Member versions not harvested because no peer in `peers.toml`
    /// originates them (`unknown-origin`): information, not a refusal.
    pub unknown_origin: u64,
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

/// One refusal, as written to the node's `refused.jsonl`: once per member
/// version a peer serves, whatever the rounds that read it again.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// When.
    pub at: String,
    /// The peer it came from.
    pub peer: String,
    /// The page it was on.
    pub page: String,
    /// Its place among the page's members, from 1.
    pub position: usize,
    /// The member IRI (`{record}/versions/{n}`).
    pub member: String,
    /// The record IRI (from the member IRI when the content cannot be read).
    pub record: String,
    /// Its version (likewise), if it has one.
    pub version: Option<u64>,
    /// The rule.
    pub rule: &'static str,
    /// Why.
    pub reason: String,
    /// Whether it is information rather than a fault ([`Rule::is_information`]:
    /// an origin not in `peers.toml`), counted apart.
    #[serde(skip)]
    pub information: bool,
    /// What it is remembered by ([`ccis_store::refusal_key`]).
    #[serde(skip)]
    pub key: String,
}

/// The record IRI and version a member IRI `{R}/versions/{n}` names.
fn parse_member_iri(member: &str) -> (Option<String>, Option<u64>) {
    match member.rsplit_once("/versions/") {
        Some((record, n)) => (Some(record.to_owned()), n.parse().ok()),
        None => (None, None),
    }
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

/// A version that passed every rule but the shapes.
struct Accepted {
    signed: SignedRecord,
    replaces_stored: bool,
    /// What the walk held for the record before it.
    before: Option<(u64, Option<String>)>,
}

/// A version of a page that passed the rules but the shapes: with its
/// metadata, its place in the page and the member it was read from.
type Candidate<'m> = (Accepted, StoreMeta, usize, &'m feed::PageMember);

/// The refusals of one page, as they are found.
struct Found<'a> {
    peer: &'a str,
    page: &'a str,
    at: &'a str,
    refusals: Vec<Refusal>,
}

impl Found<'_> {
    /// A refused member: record and version from the member IRI when they
    /// cannot be read from its content; remembered by `identity` (its proof
    /// value, else a hash of its content).
    fn refuse(
        &mut self,
        member: &str,
        position: usize,
        read: Option<(&str, Option<u64>)>,
        rule: Rule,
        reason: &str,
        identity: &str,
    ) {
        let (record, version) = parse_member_iri(member);
        let (record, version) = match read {
            Some((r, v)) => (r.to_owned(), v.or(version)),
            None => (record.unwrap_or_else(|| member.to_owned()), version),
        };
        self.refusals.push(Refusal {
            at: self.at.to_owned(),
            peer: self.peer.to_owned(),
            page: self.page.to_owned(),
            position,
            member: member.to_owned(),
            record,
            version,
            rule: rule.name(),
            reason: reason.to_owned(),
            information: rule.is_information(),
            key: ccis_store::refusal_key(member, identity),
        });
    }

    /// A refused member that could be read.
    fn refuse_member(
        &mut self,
        m: &feed::PageMember,
        position: usize,
        version: Option<u64>,
        rule: Rule,
        reason: &str,
    ) {
        let identity = match m.found.proofs.as_slice() {
            [one] => one.proof_value().ok().map(str::to_owned),
            _ => None,
        }
        .unwrap_or_else(|| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(m.signed_nquads.as_bytes()))
        });
        let record = m.record.as_str();
        self.refuse(
            m.member.as_str(),
            position,
            Some((record, version)),
            rule,
            reason,
            &identity,
        );
    }
}

/// Record → (version, proofValue) of the versions accepted so far in a walk.
type Seen = HashMap<oxrdf::NamedNode, (u64, Option<String>)>;

/// What judging a page needs to know of the pages judged before it.
struct WalkMemory {
    /// Versions accepted in the walk.
    seen: Seen,
    /// Records all of whose accepted versions are still in the batch.
    fresh: HashSet<oxrdf::NamedNode>,
    /// Keys of the refusals of the walk.
    refused: HashSet<String>,
}

/// Versions judged from a peer's pages and not yet stored, with the peer's
/// state as it will be once they are: stored together, all or nothing.
/// While a batch is written the next one is judged; writes keep their order.
struct Batch {
    items: Vec<(SignedRecord, StoreMeta)>,
    /// Every version accepted in the walk, written or not.
    seen: Seen,
    /// Records whose versions accepted in the walk are all in `items`.
    fresh: HashSet<oxrdf::NamedNode>,
    /// Keys of the refusals of the walk, written or not.
    refused_keys: HashSet<String>,
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
            refused_keys: HashSet::new(),
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
        // Only refusals never seen before are here (judge_page drops the
        // others): each is counted once, in the state written with the
        // page's position, and remembered in the same write.
        for r in &page.refusals {
            if r.information {
                state.not_harvested_unknown_origin += 1;
            } else {
                *state.refused.entry(r.rule.to_owned()).or_default() += 1;
            }
        }
        self.refusals.extend(page.refusals);
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
                .find(|q| q.predicate.as_ref() == ccis_model::vocab::TREE_VIEW)
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
        let g = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9;
        eprintln!("TIMES fetch {:.1}s read {:.1}s judge {:.1}s wait-write {:.1}s write {:.1}s", g(&T_FETCH), g(&T_READ), g(&T_JUDGE), g(&T_WAIT), g(&T_WRITE));
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
        let mut queue = VecDeque::from([(start.clone(), etag)]);
        // Pages queued, deduplicated, never more than a round may read.
        let mut queued = HashSet::from([start]);
        let mut visited = HashSet::new();
        let most_pages = self.config.max_pages_per_round.max(1);
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
            queued.remove(&url);
            if visited.contains(&url) {
                tracing::info!(peer = %peer.id, %url, "relation loops back to a page already read; not followed");
                continue;
            }
            if visited.len() >= most_pages {
                return Err(format!(
                    "round stopped after {most_pages} pages ([harvest] max_pages_per_round; what was judged is stored, the next round goes on from there)"
                ));
            }
            visited.insert(url.clone());
            let prefetched = prefetch.take().filter(|p| p.url == url && etag.is_none());
            let fetching = async {
                match prefetched {
                    Some(p) => p.result().await,
                    None => {
                        fetch_page(&self.client, &url, etag.as_deref(), &self.config.limits()).await
                    }
                }
            };
            let __t = std::time::Instant::now();
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
            T_FETCH.fetch_add(__t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
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
                    self.check_page(&url, &quads)?;
                    let __t = std::time::Instant::now();
                    let read = tokio::task::spawn_blocking(move || feed::read_page(&quads))
                        .await
                        .map_err(|e| format!("{url}: {e}"))?;
                    T_READ.fetch_add(__t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
                    let next: Vec<String> = read
                        .next
                        .iter()
                        .filter(|n| Self::within_peer(peer, n))
                        .cloned()
                        .collect();
                    // A feed is mostly a chain of pages: the next one is
                    // fetched while this one is judged.
                    if let [only] = next.as_slice()
                        && queue.is_empty()
                        && !visited.contains(only)
                    {
                        prefetch = Some(Prefetch::start(
                            self.client.clone(),
                            only.clone(),
                            self.config.limits(),
                        ));
                    }
                    self.take_page(peer, &url, etag, next.clone(), read, batch, report)
                        .await
                        .map_err(|e| format!("{url}: {e:#}"))?;
                    next
                }
            };
            progress.page(report);
            for n in next {
                if !visited.contains(&n) && queue.len() < most_pages && queued.insert(n.clone()) {
                    queue.push_back((n, None));
                }
            }
        }
        Ok(())
    }

    /// Refuses a page declaring more members or relations than allowed,
    /// before anything in it is read.
    fn check_page(&self, url: &str, quads: &[oxrdf::Quad]) -> Result<(), String> {
        let (members, relations) = feed::count_page(quads);
        let c = &self.config;
        if members > c.max_page_members {
            return Err(format!(
                "{url}: page refused: it declares {members} members; at most {} are accepted ([harvest] max_page_members)",
                c.max_page_members
            ));
        }
        if relations > c.max_page_relations {
            return Err(format!(
                "{url}: page refused: it declares {relations} relations; at most {} are accepted ([harvest] max_page_relations)",
                c.max_page_relations
            ));
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
        let page = url.to_owned();
        let mut memory = WalkMemory {
            seen: std::mem::take(&mut batch.seen),
            fresh: std::mem::take(&mut batch.fresh),
            refused: std::mem::take(&mut batch.refused_keys),
        };
        let __t = std::time::Instant::now();
        let (outcome, memory) = tokio::task::spawn_blocking(move || {
            let outcome = this.judge_page(&judged_peer, &page, read, &mut memory);
            (outcome, memory)
        })
        .await?;
        T_JUDGE.fetch_add(__t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        batch.seen = memory.seen;
        batch.fresh = memory.fresh;
        batch.refused_keys = memory.refused;
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
        let __t = std::time::Instant::now();
        self.finish_write(batch, report).await?;
        T_WAIT.fetch_add(__t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        if !batch.dirty || batch.broken {
            return Ok(());
        }
        let items = std::mem::take(&mut batch.items);
        let mut state = batch.state.clone();
        let store = self.store.clone();
        let peer_id = peer.id.clone();
        let bulk_min = self.config.bulk_min_records;
        let keys: Vec<String> = batch.refusals.iter().map(|r| r.key.clone()).collect();
        let handle = tokio::task::spawn_blocking(move || {
            let __t = std::time::Instant::now();
            let __r = store
                .put_harvested_refusing(&items, &peer_id, &mut state, &keys, bulk_min)
                .map(|written| (written, items.len() as u64, state))
                .map_err(anyhow::Error::from);
            T_WRITE.fetch_add(__t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            eprintln!("WRITE {} items in {:?}", __r.as_ref().map(|r| r.1).unwrap_or(0), __t.elapsed());
            __r
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
            if r.information {
                report.unknown_origin += 1;
            } else {
                *report.refused.entry(r.rule.to_owned()).or_default() += 1;
            }
        }
        self.log_refusals(&writing.refusals);
        // The pages judged meanwhile move the position on from there.
        batch.state.accepted = written_state.accepted;
        batch.state.revision = written_state.revision;
        Ok(())
    }

    /// Judges every member of a page by the harvest rules; `memory` holds
    /// what the walk accepted and refused before and takes this page's.
    /// Refusals already made (in this walk, or stored) are left out.
    fn judge_page(
        &self,
        peer: &Peer,
        page: &str,
        read: feed::ReadPage,
        memory: &mut WalkMemory,
    ) -> anyhow::Result<PageOutcome> {
        let limits = self.config.record_limits();
        let judge = Judge {
            self_id: &self.self_id,
            self_base: &self.self_base,
            peers: &self.peers,
            store: &self.store,
            validator: &self.validator,
            limits: &limits,
        };
        let at = now();
        let mut found = Found {
            peer: &peer.id,
            page,
            at: &at,
            refusals: Vec::new(),
        };
        for u in &read.unreadable {
            found.refuse(
                &u.member,
                u.position,
                None,
                Rule::Malformed,
                &u.reason,
                &u.digest,
            );
        }
        let mut outcome = PageOutcome::default();
        let mut candidates = Vec::new();
        for (m, &position) in read.members.iter().zip(&read.member_positions) {
            let decision = judge.decide(m, &memory.seen)?;
            match decision {
                Decision::Accept {
                    signed,
                    origin,
                    verified_with,
                    replaces_stored,
                } => {
                    let meta = StoreMeta {
                        origin,
                        source: peer.base_url.clone(),
                        stored_at: at.clone(),
                        verified_with,
                        signed_nquads: Some(m.signed_nquads.clone()),
                    };
                    let accepted = Self::accept(signed, replaces_stored, memory);
                    candidates.push((accepted, meta, position, m));
                }
                Decision::Known => outcome.known += 1,
                Decision::Refuse(rule, reason) => {
                    let version = m.found.record.version();
                    found.refuse_member(m, position, version, rule, &reason);
                }
            }
        }
        Self::check_shapes(&judge, candidates, memory, &mut found, &mut outcome);
        outcome.refusals = self.first_refusals(&peer.id, found.refusals, &mut memory.refused)?;
        Ok(outcome)
    }

    /// Rule 3's shapes, for the versions of a page that passed the other
    /// rules, at once.
    fn check_shapes(
        judge: &Judge<'_>,
        candidates: Vec<Candidate<'_>>,
        memory: &mut WalkMemory,
        found: &mut Found<'_>,
        outcome: &mut PageOutcome,
    ) {
        let records: Vec<&ccis_model::record::Record> =
            candidates.iter().map(|(a, ..)| &a.signed.record).collect();
        let verdicts = judge.shapes(&records);
        for ((accepted, meta, position, m), verdict) in candidates.into_iter().zip(verdicts) {
            match verdict {
                None => {
                    outcome.replaces_stored |= accepted.replaces_stored;
                    outcome.items.push((accepted.signed, meta));
                }
                Some(reason) => {
                    // Not accepted after all: the batch's version stands.
                    let iri = accepted.signed.record.iri.clone();
                    match accepted.before {
                        Some(b) => memory.seen.insert(iri, b),
                        None => memory.seen.remove(&iri),
                    };
                    let version = accepted.signed.record.version();
                    found.refuse_member(m, position, version, Rule::Shapes, &reason);
                }
            }
        }
    }

    /// Notes an accepted version in the walk's memory.
    fn accept(signed: SignedRecord, replaces_stored: bool, memory: &mut WalkMemory) -> Accepted {
        let version = signed.record.version().unwrap_or(0);
        let before = memory.seen.insert(
            signed.record.iri.clone(),
            (version, signed.proof.proof_value().ok().map(str::to_owned)),
        );
        // A version of a record written earlier in the walk replaces a
        // stored one too.
        let replaces_stored =
            replaces_stored || (before.is_some() && !memory.fresh.contains(&signed.record.iri));
        if !replaces_stored {
            memory.fresh.insert(signed.record.iri.clone());
        }
        Accepted {
            signed,
            replaces_stored,
            before,
        }
    }

    /// The refusals made for the first time: neither earlier in the walk
    /// nor remembered in the store from an earlier round.
    fn first_refusals(
        &self,
        peer: &str,
        refusals: Vec<Refusal>,
        walked: &mut HashSet<String>,
    ) -> anyhow::Result<Vec<Refusal>> {
        let mut first = Vec::new();
        for r in refusals {
            if walked.contains(&r.key) || self.store.was_refused(peer, &r.key)? {
                continue;
            }
            walked.insert(r.key.clone());
            first.push(r);
        }
        Ok(first)
    }

    /// Logs each refusal once: a line in the log (information for an
    /// unknown origin, a warning otherwise) and one in `refused.jsonl`.
    fn log_refusals(&self, refusals: &[Refusal]) {
        for r in refusals {
            if r.information {
                tracing::info!(peer = %r.peer, page = %r.page, position = r.position, record = %r.record, version = ?r.version, "not harvested, origin not in peers.toml: {}", r.reason);
            } else {
                tracing::warn!(peer = %r.peer, page = %r.page, position = r.position, record = %r.record, version = ?r.version, rule = r.rule, "refused: {}", r.reason);
            }
        }
        let Some(path) = &self.refusal_log else {
            return;
        };
        if refusals.is_empty() {
            return;
        }
        let mut lines = String::new();
        for r in refusals {
            match serde_json::to_string(r) {
                Ok(line) => lines.push_str(&line),
                Err(e) => tracing::warn!("cannot write a refusal as JSON: {e}"),
            }
            lines.push('\n');
        }
        if let Err(e) = append_rotating(path, lines.as_bytes(), self.config.max_refusal_log_bytes) {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }
}

/// Appends `bytes` to the file at `path`; first renames it `{path}.1`
/// (replacing the older one) when they would take it past `max` bytes.
fn append_rotating(path: &std::path::Path, bytes: &[u8], max: u64) -> std::io::Result<()> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if size > 0 && size + bytes.len() as u64 > max {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        std::fs::rename(path, old)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(bytes)
}

#[cfg(test)]
mod tests {
    use crate::*;

    #[test]
    fn the_refusal_log_is_rotated_keeping_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refused.jsonl");
        let old = dir.path().join("refused.jsonl.1");
        append_rotating(&path, b"one\n", 10).unwrap();
        append_rotating(&path, b"two\n", 10).unwrap();
        assert!(!old.exists());
        append_rotating(&path, b"three\n", 10).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        append_rotating(&path, b"four\n", 10).unwrap();
        append_rotating(&path, b"five\n", 10).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "three\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "four\nfive\n");
    }

    #[test]
    fn a_member_iri_names_its_record_and_version() {
        assert_eq!(
            parse_member_iri("https://n.example/records/a/versions/12"),
            (Some("https://n.example/records/a".into()), Some(12))
        );
        assert_eq!(parse_member_iri("https://n.example/x"), (None, None));
    }
}

static T_FETCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static T_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static T_JUDGE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static T_WAIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static T_WRITE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
