//! Harvesting: reading the feeds of the peers in `peers.toml`, verifying every
//! member against the harvest rules, and storing what passes with provenance.
//!
//! Per peer the node keeps its position (page, ETag, the page's relations) in
//! the store, written in the same transaction as the versions accepted from
//! that page. Peers are harvested concurrently, each within its own time
//! limits, so a peer that is down, slow or hostile never holds up the others.
//! Nothing is ever removed because it is missing from a feed: only a verified
//! tombstone (a newer version of type `ccis:Withdrawn`) replaces a record.
//!
//! Pages come through a [`FeedSource`] ([`HttpSource`] in production,
//! [`MemoryFeed`] in tests), held to the same limits by a [`Fetcher`]; the
//! time comes from the [`Clock`] the [`Harvester`] holds. A stored position
//! that no longer matches its peer (moved, or its feed reset) stops that
//! peer's harvest with a [`Mismatch`], naming the command that resets it
//! ([`reset_command`], [`reset_position`]).
//!
//! The chapters of the documentation on this layer follow.
#![doc = include_str!("../../../docs/04-harvesting.md")]
#![doc = include_str!("../../../docs/05-limits.md")]
#![deny(missing_docs)]

mod error;
mod fetch;
mod memory;
mod position;
mod progress;
mod rules;
mod source;
#[cfg(test)]
mod testing;
mod walk;
mod workflow;

pub use error::{BoxError, HarvestError, Mismatch, reset_command};
pub use fetch::{FetchError, FetchLimits, Fetched, Fetcher};
pub use memory::{MemoryFeed, MemoryPage, MemoryRequest};
pub use position::reset_position;
pub use progress::{Progress, Quiet, progress_for_terminal};
pub use rules::{Decision, Judge, Rule};
pub use source::{FeedSource, FetchFuture, FetchedPage, HttpSource, PageRequest, RetryAfter};

use ccis_feed as feed;
use ccis_integrity::peers::{Peer, Peers};
use ccis_integrity::shapes::ShapeValidator;
use ccis_integrity::signed::SignedRecord;
use ccis_model::clock::{self, Clock};
use ccis_model::record::RecordLimits;
use ccis_store::{RecordStore, StoreMeta};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use walk::{Seen, Walk};

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
    /// Versions one bulk load gathers, batch after batch, before it is
    /// ingested (with the position after them).
    pub bulk_session_records: usize,
    /// Seconds a bulk load may stay open: other writes to the store (local
    /// publishing, other peers' batches) wait for it this long, plus a batch.
    pub bulk_session_secs: u64,
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
            bulk_session_records: 200_000,
            bulk_session_secs: 60,
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
    /// When the stored position no longer matches the peer (its base URL
    /// changed, or its feed was reset): the command that resets it
    /// ([`reset_command`]); `error` says how it no longer matches.
    pub reset_command: Option<String>,
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
        let identity = member_identity(m);
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

/// What judging a page needs to know of the pages judged before it.
struct WalkMemory {
    /// Versions accepted in the walk.
    seen: Seen,
    /// Records all of whose accepted versions are still in the batch.
    fresh: HashSet<oxrdf::NamedNode>,
    /// Keys of the refusals of the walk.
    refused: HashSet<String>,
    /// Initiative versions and decisions accepted in the walk (rule 4).
    workflow: workflow::WorkflowMemory,
}

/// What a refused member is remembered by, beside its IRI: its proof
/// value, else a hash of its content.
fn member_identity(m: &feed::PageMember) -> String {
    match m.found.proofs.as_slice() {
        [one] => one.proof_value().ok().map(str::to_owned),
        _ => None,
    }
    .unwrap_or_else(|| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(m.signed_nquads.as_bytes()))
    })
}

/// Harvests a node's peers into its store.
#[derive(Clone)]
pub struct Harvester {
    /// The store, through the traits any backend implements.
    store: Arc<dyn RecordStore>,
    self_id: String,
    self_base: String,
    self_country: String,
    peers: Arc<Peers>,
    validator: Arc<ShapeValidator>,
    refusal_log: Option<PathBuf>,
    config: HarvestConfig,
    fetcher: Fetcher,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Harvester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harvester")
            .field("self_id", &self.self_id)
            .field("self_base", &self.self_base)
            .field("config", &self.config)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Harvester {
    /// A harvester for the node `self_id` at `self_base`, writing refusals to
    /// `refusal_log` (a JSON line each) when given; it reads peers over HTTP
    /// ([`HttpSource`]) and the time from the system clock until told
    /// otherwise ([`Self::with_source`], [`Self::with_clock`]).
    pub fn new(
        store: impl RecordStore + 'static,
        self_id: &str,
        self_base: &str,
        peers: Peers,
        config: HarvestConfig,
        refusal_log: Option<PathBuf>,
    ) -> Result<Self, HarvestError> {
        let limits = config.limits();
        let source = HttpSource::new(&limits).map_err(HarvestError::Client)?;
        let clock = clock::system();
        Ok(Self {
            store: Arc::new(store),
            self_id: self_id.to_owned(),
            self_base: self_base.to_owned(),
            self_country: String::new(),
            peers: Arc::new(peers),
            validator: Arc::new(ShapeValidator::new().map_err(HarvestError::Shapes)?),
            refusal_log,
            config,
            fetcher: Fetcher {
                source: Arc::new(source),
                limits,
                clock: clock.clone(),
            },
            clock,
        })
    }

    /// The same harvester for a node in `country` (ISO 3166-1 alpha-2): the
    /// national validator of the initiatives it publishes itself.
    pub fn with_country(mut self, country: &str) -> Self {
        self.self_country = country.to_ascii_uppercase();
        self
    }

    /// The same harvester, reading peers' pages from `source`.
    pub fn with_source(mut self, source: Arc<dyn FeedSource>) -> Self {
        self.fetcher.source = source;
        self
    }

    /// The same harvester, reading the time from `clock`: when versions are
    /// stored, when a round succeeded or failed, and the time proofs are
    /// verified at (a proof created later is refused).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.fetcher.clock = clock.clone();
        self.clock = clock;
        self
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

    /// Resets the harvest position of `peer` (see [`reset_position`]).
    pub fn reset_position(&self, peer: &str) -> Result<Option<String>, HarvestError> {
        reset_position(self.store.as_ref(), peer)
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
                let report = this.harvest_peer_within_limit(&peer, &*progress).await;
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

    /// [`Self::harvest_peer`] with a backstop: the round's own limit stops
    /// it between pages and keeps what was judged; this one is for a write
    /// that hangs.
    async fn harvest_peer_within_limit(&self, peer: &Peer, progress: &dyn Progress) -> PeerReport {
        let limit = Duration::from_secs(self.config.round_timeout_secs.max(1))
            + Duration::from_secs(self.config.response_timeout_secs.max(1) + 60);
        match tokio::time::timeout(limit, self.harvest_peer(peer, progress)).await {
            Ok(report) => report,
            Err(_) => {
                let error = format!(
                    "round stopped after the limit of {} s (what was stored is kept)",
                    limit.as_secs()
                );
                self.record_failure(&peer.id, &error);
                PeerReport {
                    peer: peer.id.clone(),
                    error: Some(error),
                    ..Default::default()
                }
            }
        }
    }

    /// Notes a failed round in the peer's state (its position untouched).
    fn record_failure(&self, peer: &str, error: &str) {
        let mut state = match self.store.peer_state(peer) {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(peer, "cannot record the failure ({error}): {e:#}");
                return;
            }
        };
        state.last_error = Some(error.to_owned());
        state.last_error_at = Some(self.clock.now_string());
        state.consecutive_failures += 1;
        if let Err(e) = self.store.set_peer_state(peer, &state) {
            tracing::warn!(peer, "cannot record the failure: {e:#}");
        }
    }

    /// Notes a successful round in the peer's state.
    fn record_success(&self, peer: &str) -> Result<(), HarvestError> {
        let mut state = self
            .store
            .peer_state(peer)
            .map_err(|e| HarvestError::store(peer, e))?;
        state.last_success = Some(self.clock.now_string());
        state.last_error = None;
        state.consecutive_failures = 0;
        self.store
            .set_peer_state(peer, &state)
            .map_err(|e| HarvestError::store(peer, e))
    }

    /// Harvests one peer from its stored position; never panics, never fails
    /// the round of the others: errors end up in the report and the peer's
    /// state (a position that no longer matches the peer, with the command
    /// that resets it).
    pub async fn harvest_peer(&self, peer: &Peer, progress: &dyn Progress) -> PeerReport {
        let mut report = PeerReport {
            peer: peer.id.clone(),
            ..Default::default()
        };
        let outcome = match self.walk(peer, progress, &mut report).await {
            Ok(()) => self.record_success(&peer.id),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            let message = e.to_string();
            tracing::warn!(peer = %peer.id, "harvest stopped: {message}");
            self.record_failure(&peer.id, &message);
            if e.is_position_mismatch() {
                report.reset_command = Some(reset_command(&peer.id));
            }
            report.error = Some(message);
        }
        report
    }

    /// Walks the peer's feed from its stored position (or its view).
    async fn walk(
        &self,
        peer: &Peer,
        progress: &dyn Progress,
        report: &mut PeerReport,
    ) -> Result<(), HarvestError> {
        let state = self
            .store
            .peer_state(&peer.id)
            .map_err(|e| HarvestError::store(&peer.id, e))?;
        let start = self.start_of(peer, &state).await?;
        Walk::new(self, peer, progress, state, start)
            .run(report)
            .await
    }

    /// Refuses a page declaring more members or relations than allowed,
    /// before anything in it is read.
    fn check_page(&self, peer: &str, url: &str, quads: &[oxrdf::Quad]) -> Result<(), HarvestError> {
        let (members, relations) = feed::count_page(quads);
        let c = &self.config;
        if members > c.max_page_members {
            return Err(HarvestError::TooManyMembers {
                peer: peer.to_owned(),
                page: url.to_owned(),
                members,
                limit: c.max_page_members,
            });
        }
        if relations > c.max_page_relations {
            return Err(HarvestError::TooManyRelations {
                peer: peer.to_owned(),
                page: url.to_owned(),
                relations,
                limit: c.max_page_relations,
            });
        }
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
    ) -> Result<PageOutcome, HarvestError> {
        let limits = self.config.record_limits();
        let now = self.clock.now();
        let judge = Judge {
            self_id: &self.self_id,
            self_base: &self.self_base,
            peers: &self.peers,
            store: self.store.as_ref(),
            validator: &self.validator,
            limits: &limits,
            now,
        };
        let at = clock::format_instant(now);
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
        let candidates =
            self.judge_members(&judge, peer, &read, memory, &mut found, &mut outcome)?;
        let rule4 = workflow::DecisionRule {
            store: self.store.as_ref(),
            peers: &self.peers,
            self_base: &self.self_base,
            self_country: &self.self_country,
        };
        Self::check_shapes(&judge, &rule4, candidates, memory, &mut found, &mut outcome)?;
        outcome.refusals = self.first_refusals(&peer.id, found.refusals, &mut memory.refused)?;
        Ok(outcome)
    }

    /// Rules 1 and 2 and the limits for each readable member of a page (the
    /// signatures checked together by [`Judge::screen`], then each member
    /// decided in page order by [`Judge::decide`]): the known ones are counted, the
    /// refused ones found, the others returned for the shapes.
    fn judge_members<'m>(
        &self,
        judge: &Judge<'_>,
        peer: &Peer,
        read: &'m feed::ReadPage,
        memory: &mut WalkMemory,
        found: &mut Found<'_>,
        outcome: &mut PageOutcome,
    ) -> Result<Vec<Candidate<'m>>, HarvestError> {
        let mut candidates = Vec::new();
        let screened = judge.screen(&read.members)?;
        for ((m, &position), screened) in read
            .members
            .iter()
            .zip(&read.member_positions)
            .zip(screened)
        {
            match judge.decide(m, screened, &memory.seen)? {
                Decision::Accept {
                    signed,
                    origin,
                    verified_with,
                    replaces_stored,
                } => {
                    let meta = StoreMeta {
                        origin,
                        source: peer.base_url.clone(),
                        stored_at: found.at.to_owned(),
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
        Ok(candidates)
    }

    /// Rule 3's shapes, for the versions of a page that passed the other
    /// rules, at once; then rule 4 for the decisions among them, in page order.
    fn check_shapes(
        judge: &Judge<'_>,
        rule4: &workflow::DecisionRule<'_>,
        candidates: Vec<Candidate<'_>>,
        memory: &mut WalkMemory,
        found: &mut Found<'_>,
        outcome: &mut PageOutcome,
    ) -> Result<(), HarvestError> {
        let records: Vec<&ccis_model::record::Record> =
            candidates.iter().map(|(a, ..)| &a.signed.record).collect();
        let verdicts = judge.shapes(&records);
        for ((accepted, meta, position, m), verdict) in candidates.into_iter().zip(verdicts) {
            let verdict = match verdict {
                Some(reason) => Some((Rule::Shapes, reason)),
                None => rule4.check(&accepted.signed, &mut memory.workflow)?.err(),
            };
            match verdict {
                None => {
                    outcome.replaces_stored |= accepted.replaces_stored;
                    outcome.items.push((accepted.signed, meta));
                }
                Some((rule, reason)) => {
                    // Not accepted after all: the batch's version stands.
                    let iri = accepted.signed.record.iri.clone();
                    match accepted.before {
                        Some(b) => memory.seen.insert(iri, b),
                        None => memory.seen.remove(&iri),
                    };
                    let version = accepted.signed.record.version();
                    found.refuse_member(m, position, version, rule, &reason);
                }
            }
        }
        Ok(())
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
    ) -> Result<Vec<Refusal>, HarvestError> {
        let mut first = Vec::new();
        for r in refusals {
            if walked.contains(&r.key)
                || self
                    .store
                    .was_refused(peer, &r.key)
                    .map_err(|e| HarvestError::store(peer, e))?
            {
                continue;
            }
            walked.insert(r.key.clone());
            first.push(r);
        }
        Ok(first)
    }

    /// When the walks' writes use the bulk loader (from the configuration).
    fn bulk_options(&self) -> ccis_store::BulkOptions {
        ccis_store::BulkOptions {
            min_records: self.config.bulk_min_records,
            session_records: self.config.bulk_session_records,
            session_time: Duration::from_secs(self.config.bulk_session_secs),
        }
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
