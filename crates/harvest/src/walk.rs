//! Walking one peer's feed from its stored position: pages fetched in order
//! (the next one while this one is judged), judged, and stored in batches
//! together with the position, all or nothing.

use crate::error::{HarvestError, Mismatch};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::{Harvester, PageOutcome, PeerReport, Progress, Refusal, WalkMemory};
use ccis_feed as feed;
use ccis_integrity::peers::Peer;
use ccis_integrity::signed::SignedRecord;
use ccis_store::{HarvestWrite, PeerState, StoreMeta, Written};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

/// A page being fetched ahead of its turn; stopped if dropped unused.
struct Prefetch {
    url: String,
    handle: Option<tokio::task::JoinHandle<Result<Fetched, FetchError>>>,
}

impl Prefetch {
    fn start(fetcher: Fetcher, url: String) -> Self {
        let target = url.clone();
        let handle = tokio::spawn(async move { fetcher.fetch(&target, None).await });
        Self {
            url,
            handle: Some(handle),
        }
    }

    async fn result(mut self) -> Result<Fetched, FetchError> {
        let Some(handle) = self.handle.take() else {
            return Err(FetchError::Transport {
                url: self.url.clone(),
                message: "fetched twice".into(),
            });
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

/// Record → (version, proofValue) of the versions accepted so far in a walk.
pub(crate) type Seen = HashMap<oxrdf::NamedNode, (u64, Option<String>)>;

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
    /// Initiative versions and decisions accepted in the walk (rule 4).
    workflow: crate::workflow::WorkflowMemory,
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
    /// What the batches are written with, while no write has it.
    writer: Option<Box<dyn HarvestWrite>>,
}

/// What a write task gives back: what it wrote and the state after it, and
/// the writer.
type WriteDone = (
    Result<(Written, PeerState), HarvestError>,
    Box<dyn HarvestWrite>,
);

/// A batch being written.
struct Writing {
    handle: tokio::task::JoinHandle<WriteDone>,
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
            workflow: Default::default(),
            state,
            known: 0,
            refusals: Vec::new(),
            replaces_stored: false,
            dirty: false,
            writing: None,
            broken: false,
            writer: None,
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

    /// Lends the walk's memory to the judging of a page.
    fn lend_memory(&mut self) -> WalkMemory {
        WalkMemory {
            seen: std::mem::take(&mut self.seen),
            fresh: std::mem::take(&mut self.fresh),
            refused: std::mem::take(&mut self.refused_keys),
            workflow: std::mem::take(&mut self.workflow),
        }
    }

    /// Takes the walk's memory back.
    fn restore_memory(&mut self, memory: WalkMemory) {
        self.seen = memory.seen;
        self.fresh = memory.fresh;
        self.refused_keys = memory.refused;
        self.workflow = memory.workflow;
    }
}

/// One walk through a peer's feed, from its stored position (or its view).
pub(crate) struct Walk<'h> {
    h: &'h Harvester,
    peer: &'h Peer,
    progress: &'h dyn Progress,
    /// The peer's state when the walk started.
    stored: PeerState,
    /// Pages to read, with the ETag of the copy read before, if any.
    queue: VecDeque<(String, Option<String>)>,
    /// Pages queued, deduplicated, never more than a round may read.
    queued: HashSet<String>,
    visited: HashSet<String>,
    prefetch: Option<Prefetch>,
    /// The round's own limit: it stops the walk between pages and keeps
    /// what was judged.
    limit: Duration,
    deadline: tokio::time::Instant,
    batch: Batch,
}

impl<'h> Walk<'h> {
    /// A walk starting at `start` (with the ETag of the copy read before).
    pub(crate) fn new(
        h: &'h Harvester,
        peer: &'h Peer,
        progress: &'h dyn Progress,
        stored: PeerState,
        start: (String, Option<String>),
    ) -> Self {
        let limit = Duration::from_secs(h.config.round_timeout_secs.max(1));
        Self {
            h,
            peer,
            progress,
            queued: HashSet::from([start.0.clone()]),
            queue: VecDeque::from([start]),
            visited: HashSet::new(),
            prefetch: None,
            limit,
            deadline: tokio::time::Instant::now() + limit,
            batch: Batch::new(stored.clone()),
            stored,
        }
    }

    /// Reads pages until the feed ends, a limit is reached or a page fails;
    /// then stores what was judged (also after an error).
    pub(crate) async fn run(mut self, report: &mut PeerReport) -> Result<(), HarvestError> {
        let walked = self.pages(report).await;
        let mut flushed = self.flush(report).await;
        if flushed.is_ok() {
            flushed = self.finish_write(report).await;
        }
        if flushed.is_ok() {
            flushed = self.finish_writer(report).await;
        }
        self.progress.page(report);
        walked.and(flushed)
    }

    /// Every page in turn: fetched, read, judged, its relations queued.
    async fn pages(&mut self, report: &mut PeerReport) -> Result<(), HarvestError> {
        while let Some((url, etag)) = self.next_page()? {
            let fetched = self.fetch(&url, etag).await?;
            report.pages += 1;
            let next = match fetched {
                Fetched::NotModified => self.unchanged(&url),
                Fetched::Page { quads, etag } => self.read(&url, quads, etag, report).await?,
            };
            self.progress.page(report);
            self.enqueue(next);
        }
        Ok(())
    }

    /// The next page to read, if any: each page once, at most
    /// `max_pages_per_round` of them.
    fn next_page(&mut self) -> Result<Option<(String, Option<String>)>, HarvestError> {
        let most_pages = self.h.config.max_pages_per_round.max(1);
        while let Some((url, etag)) = self.queue.pop_front() {
            self.queued.remove(&url);
            if self.visited.contains(&url) {
                tracing::info!(peer = %self.peer.id, %url, "relation loops back to a page already read; not followed");
                continue;
            }
            if self.visited.len() >= most_pages {
                return Err(HarvestError::PageLimit {
                    peer: self.peer.id.clone(),
                    pages: most_pages,
                });
            }
            self.visited.insert(url.clone());
            return Ok(Some((url, etag)));
        }
        Ok(None)
    }

    /// Whether `url` is the stored position, read first.
    fn is_resume_page(&self, url: &str) -> bool {
        self.stored.page.as_deref() == Some(url) && self.visited.len() == 1
    }

    /// Fetches a page (prefetched, or now) within the round's limit. The
    /// stored position gone is a [`Mismatch::Gone`].
    async fn fetch(&mut self, url: &str, etag: Option<String>) -> Result<Fetched, HarvestError> {
        let prefetched = self
            .prefetch
            .take()
            .filter(|p| p.url == url && etag.is_none());
        let fetcher = &self.h.fetcher;
        let fetching = async {
            match prefetched {
                Some(p) => p.result().await,
                None => fetcher.fetch(url, etag.as_deref()).await,
            }
        };
        let fetched = tokio::time::timeout_at(self.deadline, fetching)
            .await
            .map_err(|_| HarvestError::RoundTimeout {
                peer: self.peer.id.clone(),
                secs: self.limit.as_secs(),
            })?;
        match fetched {
            Ok(f) => Ok(f),
            Err(FetchError::Status {
                status: status @ (404 | 410),
                ..
            }) if self.is_resume_page(url) => Err(HarvestError::PositionMismatch {
                peer: self.peer.id.clone(),
                page: url.to_owned(),
                reason: Mismatch::Gone { status },
            }),
            Err(e) => Err(HarvestError::fetch(&self.peer.id, e)),
        }
    }

    /// The pages after a page that did not change: those it linked to when
    /// it was read, if it is the stored position.
    fn unchanged(&self, url: &str) -> Vec<String> {
        if self.batch.state.page.as_deref() == Some(url) {
            self.batch.state.page_next.clone()
        } else {
            Vec::new()
        }
    }

    /// Reads a fetched page and judges it into the batch; the pages it links
    /// to within the peer's base URL.
    async fn read(
        &mut self,
        url: &str,
        quads: Vec<oxrdf::Quad>,
        etag: Option<String>,
        report: &mut PeerReport,
    ) -> Result<Vec<String>, HarvestError> {
        self.h.check_page(&self.peer.id, url, &quads)?;
        let resume = self.is_resume_page(url);
        if resume {
            self.h.check_identity(&self.peer.id, url, &quads)?;
        }
        let read = tokio::task::spawn_blocking(move || feed::read_page(&quads))
            .await
            .map_err(|source| self.task_failed("reading a page", source))?;
        if resume {
            self.h
                .check_continuity(self.peer, &self.stored, url, &read)
                .await?;
        }
        let next: Vec<String> = read
            .next
            .iter()
            .filter(|n| self.h.within_peer(self.peer, n))
            .cloned()
            .collect();
        self.prefetch_next(&next);
        self.take_page(url, etag, next.clone(), read, report)
            .await?;
        Ok(next)
    }

    /// A feed is mostly a chain of pages: the next one is fetched while
    /// this one is judged.
    fn prefetch_next(&mut self, next: &[String]) {
        if let [only] = next
            && self.queue.is_empty()
            && !self.visited.contains(only)
        {
            self.prefetch = Some(Prefetch::start(self.h.fetcher.clone(), only.clone()));
        }
    }

    /// Queues the pages a page links to, not read yet.
    fn enqueue(&mut self, next: Vec<String>) {
        let most_pages = self.h.config.max_pages_per_round.max(1);
        for n in next {
            if !self.visited.contains(&n)
                && self.queue.len() < most_pages
                && self.queued.insert(n.clone())
            {
                self.queue.push_back((n, None));
            }
        }
    }

    fn task_failed(&self, what: &'static str, source: tokio::task::JoinError) -> HarvestError {
        HarvestError::Task {
            peer: self.peer.id.clone(),
            what,
            source,
        }
    }

    /// Judges the members of a page into the batch; stores the batch when it
    /// is full, or when the page replaces stored versions.
    async fn take_page(
        &mut self,
        url: &str,
        etag: Option<String>,
        next: Vec<String>,
        read: feed::ReadPage,
        report: &mut PeerReport,
    ) -> Result<(), HarvestError> {
        let this = self.h.clone();
        let judged_peer = self.peer.clone();
        let page = url.to_owned();
        let mut memory = self.batch.lend_memory();
        let judged = tokio::task::spawn_blocking(move || {
            let outcome = this.judge_page(&judged_peer, &page, read, &mut memory);
            (outcome, memory)
        })
        .await;
        let (outcome, memory) =
            judged.map_err(|source| self.task_failed("judging a page", source))?;
        self.batch.restore_memory(memory);
        let outcome = outcome?;
        // Versions replacing stored ones need a transaction: what the batch
        // holds so far is written first, by the bulk path if it can.
        if outcome.replaces_stored {
            self.flush(report).await?;
        }
        self.batch.absorb(url, etag, next, outcome);
        if self.batch.replaces_stored
            || self.batch.items.len() >= self.h.config.batch_records.max(1)
        {
            self.flush(report).await?;
        }
        Ok(())
    }

    /// Starts writing the batch with the peer's position and state, all or
    /// nothing, once the write before it is done. Nothing is written when
    /// no page was read since the last write (a round with nothing new).
    async fn flush(&mut self, report: &mut PeerReport) -> Result<(), HarvestError> {
        self.finish_write(report).await?;
        let batch = &mut self.batch;
        if !batch.dirty || batch.broken {
            return Ok(());
        }
        let items = std::mem::take(&mut batch.items);
        let mut state = batch.state.clone();
        let peer_id = self.peer.id.clone();
        let mut writer = match batch.writer.take() {
            Some(writer) => writer,
            None => self.h.store.peer_writer(&peer_id, self.h.bulk_options()),
        };
        let keys: Vec<String> = batch.refusals.iter().map(|r| r.key.clone()).collect();
        let handle = tokio::task::spawn_blocking(move || {
            let done = writer
                .write(items, &mut state, keys)
                .map(|written| (written, state))
                .map_err(|e| HarvestError::store(&peer_id, e));
            (done, writer)
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
    async fn finish_write(&mut self, report: &mut PeerReport) -> Result<(), HarvestError> {
        let Some(writing) = self.batch.writing.take() else {
            return Ok(());
        };
        let done = match writing.handle.await {
            Ok((done, writer)) => {
                self.batch.writer = Some(writer);
                done
            }
            Err(source) => Err(self.task_failed("writing a batch", source)),
        };
        self.batch.broken = done.is_err();
        let (written, written_state) = done?;
        tracing::debug!(
            peer = %report.peer,
            stored = written.stored,
            bulk = written.by_bulk_loader,
            "batch written"
        );
        self.count_written(&written, &written_state, report);
        // What another path stored meanwhile is skipped, and counted as known.
        report.known += writing.known + written.skipped as u64;
        for r in &writing.refusals {
            if r.information {
                report.unknown_origin += 1;
            } else {
                *report.refused.entry(r.rule.to_owned()).or_default() += 1;
            }
        }
        self.h.log_refusals(&writing.refusals);
        Ok(())
    }

    /// Counts versions stored, and takes the stored state's counters: the
    /// pages judged meanwhile move the position on from there.
    fn count_written(&mut self, written: &Written, stored: &PeerState, report: &mut PeerReport) {
        report.accepted += written.stored as u64;
        self.batch.state.accepted = stored.accepted;
        self.batch.state.revision = stored.revision;
    }

    /// Stores what the writer still holds (a bulk load kept open across
    /// batches), once every write is done; nothing after a failed write.
    async fn finish_writer(&mut self, report: &mut PeerReport) -> Result<(), HarvestError> {
        let Some(mut writer) = self.batch.writer.take() else {
            return Ok(());
        };
        if self.batch.broken {
            return Ok(());
        }
        let mut state = self.batch.state.clone();
        let peer_id = self.peer.id.clone();
        let done = tokio::task::spawn_blocking(move || {
            writer
                .finish(&mut state)
                .map(|written| (written, state))
                .map_err(|e| HarvestError::store(&peer_id, e))
        })
        .await
        .map_err(|source| self.task_failed("writing a batch", source))?;
        self.batch.broken = done.is_err();
        let (written, state) = done?;
        self.count_written(&written, &state, report);
        Ok(())
    }
}
