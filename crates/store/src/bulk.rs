//! First versions harvested from a peer, written by Oxigraph's bulk loader:
//! each batch's sorted files are built while the next batch is judged, and
//! every file of a run is ingested at once, with the feed's count and the
//! peer's state, in one atomic step.
//!
//! A [`BulkRun`] is one such load. [`PeerWriter`] is what a walk through a
//! peer's feed writes with: it keeps a run open on a thread of its own
//! (holding the store's writer, so that nothing else takes feed positions
//! meanwhile) across batches of first versions, and closes it before any
//! other write, when it holds [`BulkOptions::session_records`] versions,
//! when it has been open [`BulkOptions::session_time`], and at the end of
//! the walk.

use crate::feed::PageCut;
use crate::{NodeStore, PeerState, StoreError, StoreMeta, Written};
use ccis_integrity::signed::SignedRecord;
use ccis_model::vocab;
use oxrdf::vocab::xsd;
use oxrdf::{GraphName, Literal, NamedNode, Quad};
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// When a walk's writes go through the bulk loader, and how long one load
/// may keep the store's writer (`[harvest]` in `ccis.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// A batch of at least this many first versions opens a bulk load
    /// (fewer are one transaction, cheaper than building files).
    pub min_records: usize,
    /// A bulk load holding this many versions is ingested.
    pub session_records: usize,
    /// A bulk load open this long is ingested at its next batch: the time
    /// other writers (local publishing, other peers) may wait, plus a batch.
    pub session_time: Duration,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            min_records: 1000,
            session_records: 200_000,
            session_time: Duration::from_secs(60),
        }
    }
}

/// One bulk load of first versions from one peer: files built batch by
/// batch, ingested at [`Self::commit`] with the feed's member count, its
/// newest page and the peer's state. Dropped uncommitted, it writes nothing
/// (its files are removed). Holds no lock: the caller keeps the store's
/// writer from [`Self::start`] to [`Self::commit`].
pub(crate) struct BulkRun<'s> {
    store: &'s NodeStore,
    loader: oxigraph::store::BulkLoader<'s>,
    peer: String,
    /// Members in the feed log when the run started.
    count: u64,
    /// The next member's position.
    position: u64,
    page_size: u64,
    cut: PageCut,
    /// The highest revision of the peer's state when the run started.
    revision: u64,
    /// Records with a version in the run.
    records: HashSet<NamedNode>,
}

impl<'s> BulkRun<'s> {
    /// A run appending to the feed as it stands (read now).
    pub(crate) fn start(store: &'s NodeStore, peer: &str) -> Result<Self, StoreError> {
        let what = "the feed count and its newest page";
        let read = || StoreError::read(what, store.feed.as_str());
        let tx = store.store.start_transaction().map_err(read())?;
        let count = store.member_count_in(&tx).map_err(read())?;
        let page_size = store.page_size_in(&tx).map_err(read())?;
        let cut = store.page_cut_in(&tx, count, page_size)?;
        let revision = store
            .peer_state_in(&tx, peer)
            .map_err(StoreError::read(
                format!("the harvest state of {peer}"),
                store.harvest_graph().as_str(),
            ))?
            .revision;
        drop(tx);
        store.observer.discarded();
        Ok(Self {
            store,
            loader: store.store.bulk_loader(),
            peer: peer.to_owned(),
            count,
            position: count,
            page_size,
            cut,
            revision,
            records: HashSet::new(),
        })
    }

    /// Versions added so far.
    pub(crate) fn versions(&self) -> usize {
        (self.position - self.count) as usize
    }

    /// Adds a batch (with the keys of the members refused beside it);
    /// `false`, adding nothing, if a record of `items` is stored or already
    /// in the run (its version must replace another: a transaction's work).
    pub(crate) fn add(
        &mut self,
        items: &[(SignedRecord, StoreMeta)],
        refused: &[String],
    ) -> Result<bool, StoreError> {
        let Some(last) = self.last_versions(items)? else {
            return Ok(false);
        };
        let mut quads = Vec::with_capacity(items.len() * 48 + refused.len());
        for (i, (signed, meta)) in items.iter().enumerate() {
            if last.get(&signed.record.iri) == Some(&i) {
                quads.extend(self.store.record_quads(signed, meta)?);
            }
            let (member, bytes) = self.store.member_quads(signed, meta, self.position)?;
            quads.extend(member);
            self.store.observer.staged(self.position, signed, meta);
            self.cut.place(self.position, bytes);
            self.position += 1;
        }
        let peer = &self.peer;
        quads.extend(refused.iter().map(|key| self.store.refused_quad(peer, key)));
        self.records.extend(last.into_keys());
        self.load(quads, items.len())?;
        Ok(true)
    }

    /// For each record of `items`, the index of its last version; `None`
    /// if one is stored or in the run. One point lookup per record: the
    /// catalogue record's type, which every stored record has.
    fn last_versions(
        &self,
        items: &[(SignedRecord, StoreMeta)],
    ) -> Result<Option<HashMap<NamedNode, usize>>, StoreError> {
        let catalogue = self.store.catalogue.as_str();
        let mut last = HashMap::with_capacity(items.len());
        for (i, (signed, _)) in items.iter().enumerate() {
            let iri = &signed.record.iri;
            if last.insert(iri.clone(), i).is_some() {
                continue;
            }
            let held = self.records.contains(iri)
                || self
                    .store
                    .is_catalogued(iri)
                    .map_err(StoreError::read_lazily(
                        || format!("the catalogue record of <{}>", iri.as_str()),
                        catalogue,
                    ))?;
            if held {
                return Ok(None);
            }
        }
        Ok(Some(last))
    }

    /// Hands quads to the loader, which builds their files on a thread of
    /// its own (waiting for an earlier batch when all its threads are busy).
    fn load(&mut self, quads: Vec<Quad>, versions: usize) -> Result<(), StoreError> {
        self.loader
            .load_quads(quads)
            .map_err(|e| StoreError::BulkLoad {
                peer: self.peer.clone(),
                versions,
                cause: e.into(),
            })
    }

    /// Ingests the run with the peer's new `state` (`state.accepted` grows
    /// by the versions of the run; its revision is set above every stored
    /// one); returns how many versions it stored. Then removes the values
    /// the new count, page and state shadow.
    pub(crate) fn commit(mut self, state: &mut PeerState) -> Result<usize, StoreError> {
        let versions = self.versions();
        let next = PeerState {
            accepted: state.accepted + versions as u64,
            revision: self.revision.max(state.revision) + 1,
            ..state.clone()
        };
        let mut closing = self.store.cut_quads(&self.cut);
        closing.extend(self.count_quads());
        closing.push(self.store.peer_state_quad(&self.peer, &next));
        if let Err(e) = self.load(closing, versions) {
            self.store.observer.discarded();
            return Err(e);
        }
        let BulkRun {
            store,
            loader,
            peer,
            position,
            page_size,
            cut,
            ..
        } = self;
        let ingested = loader.commit();
        store.observer.ended(ingested.is_ok());
        ingested.map_err(|e| StoreError::BulkLoad {
            peer: peer.clone(),
            versions,
            cause: e.into(),
        })?;
        *state = next;
        if let Err(e) = store.tidy_after_bulk(&peer, position, page_size, &cut, state.revision) {
            tracing::warn!("cannot tidy the feed count and the state of {peer}: {e}");
        }
        Ok(versions)
    }

    /// The feed's member count and page size after the run.
    fn count_quads(&self) -> Vec<Quad> {
        let feed = &self.store.feed;
        let graph = GraphName::NamedNode(feed.clone());
        [
            (vocab::MEMBER_COUNT, self.position),
            (vocab::PAGE_SIZE, self.page_size),
        ]
        .into_iter()
        .map(|(predicate, n)| {
            Quad::new(
                feed.clone(),
                predicate,
                Literal::new_typed_literal(n.to_string(), xsd::INTEGER),
                graph.clone(),
            )
        })
        .collect()
    }
}

/// Removes the files of bulk loads never ingested (a process killed while
/// a load was open) from the store's folder: Oxigraph names them
/// `bulk-*.sst` and removes them once ingested, and only the process that
/// holds the store open for writing, as the caller does, makes them.
pub(crate) fn remove_unfinished_loads(path: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("bulk-") && name.ends_with(".sst") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!("removed {name}, left by a bulk load never ingested"),
                Err(e) => tracing::warn!("cannot remove {name}, left by a bulk load: {e}"),
            }
        }
    }
}

/// What a walk asks of the thread that keeps its bulk load.
enum Command {
    Add {
        items: Vec<(SignedRecord, StoreMeta)>,
        refused: Vec<String>,
        reply: mpsc::SyncSender<Result<bool, StoreError>>,
    },
    Commit {
        state: PeerState,
        reply: mpsc::SyncSender<Result<(usize, PeerState), StoreError>>,
    },
}

/// A bulk load kept open across batches, on a thread that holds the
/// store's writer from its start to its commit. Dropped uncommitted, the
/// thread ends and the load writes nothing.
struct Session {
    commands: mpsc::SyncSender<Command>,
    thread: std::thread::JoinHandle<()>,
    opened: Instant,
    versions: usize,
    peer: String,
}

impl Session {
    fn open(store: &NodeStore, peer: &str) -> Result<Self, StoreError> {
        let (commands, inbox) = mpsc::sync_channel(1);
        let (ready, started) = mpsc::sync_channel(1);
        let store = store.clone();
        let owner = peer.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("bulk load {peer}"))
            .spawn(move || keep_session(&store, &owner, &inbox, &ready))
            .map_err(|cause| StoreError::Session {
                peer: peer.to_owned(),
                cause: cause.to_string(),
            })?;
        let session = Self {
            commands,
            thread,
            opened: Instant::now(),
            versions: 0,
            peer: peer.to_owned(),
        };
        match started.recv() {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(session.gone()),
        }
    }

    fn gone(&self) -> StoreError {
        StoreError::Session {
            peer: self.peer.clone(),
            cause: "its thread ended".into(),
        }
    }

    /// [`BulkRun::add`] on the session's thread.
    fn add(
        &mut self,
        items: Vec<(SignedRecord, StoreMeta)>,
        refused: Vec<String>,
    ) -> Result<bool, StoreError> {
        let versions = items.len();
        let (reply, answer) = mpsc::sync_channel(1);
        let command = Command::Add {
            items,
            refused,
            reply,
        };
        self.commands.send(command).map_err(|_| self.gone())?;
        let taken = answer.recv().map_err(|_| self.gone())??;
        if taken {
            self.versions += versions;
        }
        Ok(taken)
    }

    /// [`BulkRun::commit`] on the session's thread, which then ends.
    fn commit(self, state: &mut PeerState) -> Result<usize, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let command = Command::Commit {
            state: state.clone(),
            reply,
        };
        self.commands.send(command).map_err(|_| self.gone())?;
        let (stored, next) = answer.recv().map_err(|_| self.gone())??;
        drop(self.commands);
        if self.thread.join().is_err() {
            tracing::warn!("the bulk load thread of {} panicked", self.peer);
        }
        *state = next;
        Ok(stored)
    }
}

/// The session's thread: takes the store's writer, starts a run, and
/// serves commands until a commit or until the session is dropped.
fn keep_session(
    store: &NodeStore,
    peer: &str,
    inbox: &mpsc::Receiver<Command>,
    ready: &mpsc::SyncSender<Result<(), StoreError>>,
) {
    let turn = store.writer_turn();
    let run = turn.and_then(|_| BulkRun::start(store, peer));
    let mut run = match run {
        Ok(run) => {
            let _ = ready.send(Ok(()));
            run
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    while let Ok(command) = inbox.recv() {
        match command {
            Command::Add {
                items,
                refused,
                reply,
            } => {
                let _ = reply.send(run.add(&items, &refused));
            }
            Command::Commit { mut state, reply } => {
                let done = run.commit(&mut state).map(|n| (n, state));
                let _ = reply.send(done);
                return;
            }
        }
    }
}

/// What a walk through one peer's feed writes with: batches of first
/// versions go into one bulk load kept open across them; anything else is
/// a transaction, after the open load is committed. Call [`Self::finish`]
/// at the end of the walk: dropped with a load open, the load is lost
/// (nothing of it is written) and the stored position stays before it.
pub struct PeerWriter {
    store: NodeStore,
    peer: String,
    options: BulkOptions,
    session: Option<Session>,
    /// The peer's state given with the last batch the open load took: the
    /// position stored with the load (`None`: it took none yet).
    session_state: Option<PeerState>,
}

impl PeerWriter {
    /// A writer for `peer`'s versions.
    pub fn new(store: &NodeStore, peer: &str, options: BulkOptions) -> Self {
        Self {
            store: store.clone(),
            peer: peer.to_owned(),
            options,
            session: None,
            session_state: None,
        }
    }

    /// Writes versions harvested from the peer with its new state (and the
    /// keys of the members refused). What a bulk load takes is stored when
    /// the load is committed: [`Written::stored`] counts the versions this
    /// call stored, of this batch or of earlier ones, and `state.accepted`
    /// and `state.revision` follow what is stored.
    pub fn write(
        &mut self,
        items: Vec<(SignedRecord, StoreMeta)>,
        state: &mut PeerState,
        refused: Vec<String>,
    ) -> Result<Written, StoreError> {
        let bulk = self.session.is_some() || items.len() >= self.options.min_records.max(1);
        if bulk && self.take_into_load(&items, state, &refused)? {
            let full = self.session.as_ref().is_some_and(|s| {
                s.versions >= self.options.session_records.max(1)
                    || s.opened.elapsed() >= self.options.session_time
            });
            return if full {
                self.finish(state)
            } else {
                Ok(Written {
                    stored: 0,
                    skipped: 0,
                    by_bulk_loader: true,
                })
            };
        }
        let before = self.finish(state)?;
        let written =
            self.store
                .put_harvested_refusing(&items, &self.peer, state, &refused, usize::MAX)?;
        Ok(Written {
            stored: before.stored + written.stored,
            skipped: written.skipped,
            by_bulk_loader: before.by_bulk_loader,
        })
    }

    /// Adds a batch to the open load (opened if need be) with the state
    /// after it; whether the load took it (it does not when a version
    /// replaces another, a transaction's work).
    fn take_into_load(
        &mut self,
        items: &[(SignedRecord, StoreMeta)],
        state: &PeerState,
        refused: &[String],
    ) -> Result<bool, StoreError> {
        let session = match &mut self.session {
            Some(session) => session,
            None => self.session.insert(Session::open(&self.store, &self.peer)?),
        };
        let taken = session.add(items.to_vec(), refused.to_vec())?;
        if taken {
            self.session_state = Some(state.clone());
        }
        Ok(taken)
    }

    /// Commits the open load, if any, with the state given with its last
    /// batch; `state.accepted` and `state.revision` then follow it.
    pub fn finish(&mut self, state: &mut PeerState) -> Result<Written, StoreError> {
        let Some(session) = self.session.take() else {
            return Ok(Written {
                stored: 0,
                skipped: 0,
                by_bulk_loader: false,
            });
        };
        // A load that took no batch has nothing to write: dropped.
        let Some(mut committed) = self.session_state.take() else {
            return Ok(Written {
                stored: 0,
                skipped: 0,
                by_bulk_loader: false,
            });
        };
        let stored = session.commit(&mut committed)?;
        state.accepted = committed.accepted;
        state.revision = committed.revision;
        Ok(Written {
            stored,
            skipped: 0,
            by_bulk_loader: true,
        })
    }

    /// Versions taken by the open load and not yet stored.
    pub fn pending(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.versions)
    }
}
