//! The index on disk and how it follows the store's feed log.

use crate::SearchError;
use crate::analysis;
use crate::extract::{self, IndexedRecord};
use crate::schema::{self, Fields, SCHEMA_VERSION};
use ccis_integrity::signed::SignedRecord;
use ccis_store::{FeedMember, FeedObserver, NodeStore, StoreMeta};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

/// Members read from the store at once.
const READ_BATCH: u64 = 1_000;
/// Members indexed between two commits while catching up.
const COMMIT_EVERY: u64 = 20_000;
/// Memory of the index writer, in bytes.
const WRITER_BYTES: usize = 64 * 1024 * 1024;
/// Versions the store reported committed that the index keeps in memory
/// until it takes them; beyond this, the oldest are dropped and read back
/// from the feed log instead.
const MAX_HANDED_OVER: usize = 50_000;

/// What the index records with each commit: where in the feed log it is.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct Payload {
    /// [`SCHEMA_VERSION`] of the index.
    schema: u32,
    /// The store's event stream IRI: an index follows one feed.
    feed: String,
    /// The feed positions `0..position` are in the index.
    position: u64,
}

/// How far [`Index::catch_up`] went: positions `from..to` were indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaughtUp {
    /// The first position read.
    pub from: u64,
    /// The position the index now reflects (the store's member count).
    pub to: u64,
    /// Of those, how many versions the store had handed over as it wrote
    /// them, rather than read back from the feed log.
    pub handed_over: u64,
}

struct Writer {
    writer: IndexWriter<TantivyDocument>,
    /// The position of the last commit: positions before it are searchable.
    position: u64,
    /// Positions before this one are added to `writer` (committed or not).
    added: u64,
    /// Of the versions added and not committed, those the store handed over.
    handed_over: u64,
    /// A rollback failed: the writer may hold versions never stored, so
    /// the next catch-up starts again from nothing.
    rebuild: bool,
}

/// Versions the store handed over as it wrote them (see
/// [`ccis_store::FeedObserver`]), by feed position.
#[derive(Default)]
struct HandedOver {
    /// Staged by the write under way and added to the index writer at
    /// once, at the positions after [`Writer::added`]: so many of them.
    /// The index must not commit them before the store does.
    tentative: u64,
    /// Staged by the write under way and kept here, not committed yet.
    staged: Vec<(u64, IndexedRecord)>,
    /// Committed, in feed order, not yet added to the index.
    committed: VecDeque<(u64, IndexedRecord)>,
}

/// The search index of a node, in `<node dir>/index/`. It reflects the
/// feed log up to [`Index::position`]; [`Index::catch_up`] brings it to the
/// end. One process writes it at a time (tantivy's lock file).
pub struct Index {
    path: PathBuf,
    feed: String,
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
    writer: Mutex<Writer>,
    handed_over: Mutex<HandedOver>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Opens the index in `dir` for `store` and catches up with its feed log.
    /// A missing, unreadable or incompatible index (another
    /// [`SCHEMA_VERSION`], another feed, ahead of the store) is rebuilt
    /// from the store.
    pub fn open(dir: &Path, store: &NodeStore) -> Result<Self, SearchError> {
        let index = match Self::open_existing(dir, store)? {
            Some(index) => index,
            None => Self::create(dir, store)?,
        };
        index.catch_up(store)?;
        Ok(index)
    }

    /// Throws the index in `dir` away and builds it again from `store`.
    pub fn rebuild(dir: &Path, store: &NodeStore) -> Result<Self, SearchError> {
        let index = Self::create(dir, store)?;
        index.catch_up(store)?;
        Ok(index)
    }

    /// Empties the index and sets its position to 0, in one commit; a
    /// [`Index::catch_up`] then rebuilds it (what `ccis reindex` does to an
    /// index already open).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut w = self.writer()?;
        w.writer
            .delete_all_documents()
            .map_err(index_err(&self.path, "cannot clear the index"))?;
        // Versions of a store write under way went with the rest: the
        // catch-up reads them from the log once they are stored.
        self.handed().tentative = 0;
        self.commit(&mut w, 0)
    }

    /// The feed position the index reflects: positions before it are in it.
    pub fn position(&self) -> u64 {
        self.writer().map(|w| w.position).unwrap_or(0)
    }

    /// Where the index lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index in `dir` if it can be used as it is; `None` to rebuild.
    fn open_existing(dir: &Path, store: &NodeStore) -> Result<Option<Self>, SearchError> {
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let index = match tantivy::Index::open_in_dir(dir) {
            Ok(index) => index,
            Err(e) => return Ok(rebuild_because(dir, &e.to_string())),
        };
        let (schema, _) = schema::build();
        if index.schema() != schema {
            return Ok(rebuild_because(dir, "its schema differs"));
        }
        let payload = index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok());
        let Some(payload) = payload else {
            return Ok(rebuild_because(dir, "it records no feed position"));
        };
        if payload.schema != SCHEMA_VERSION || payload.feed != store.feed().as_str() {
            return Ok(rebuild_because(
                dir,
                "it was written for another schema or feed",
            ));
        }
        match Self::assemble(dir, store, index, payload.position) {
            Ok(index) => Ok(Some(index)),
            Err(
                e @ SearchError::Index {
                    source: TantivyError::LockFailure(..),
                    ..
                },
            ) => Err(e),
            Err(e) => Ok(rebuild_because(dir, &e.to_string())),
        }
    }

    /// A new, empty index in `dir` (whatever was there is removed).
    fn create(dir: &Path, store: &NodeStore) -> Result<Self, SearchError> {
        let io = |what| {
            move |source| SearchError::Io {
                path: dir.to_owned(),
                what,
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io("cannot create the index directory"))?;
        // An index is flat: its files go, never a directory (a wrong path
        // must not cost more than files).
        for entry in std::fs::read_dir(dir).map_err(io("cannot list the old index"))? {
            let entry = entry.map_err(io("cannot list the old index"))?;
            if entry
                .file_type()
                .map_err(io("cannot list the old index"))?
                .is_file()
            {
                std::fs::remove_file(entry.path()).map_err(io("cannot remove the old index"))?;
            }
        }
        let (schema, _) = schema::build();
        let index = tantivy::Index::create_in_dir(dir, schema)
            .map_err(index_err(dir, "cannot create the index"))?;
        let created = Self::assemble(dir, store, index, 0)?;
        created.commit(&mut *created.writer()?, 0)?;
        Ok(created)
    }

    fn assemble(
        dir: &Path,
        store: &NodeStore,
        index: tantivy::Index,
        position: u64,
    ) -> Result<Self, SearchError> {
        analysis::register(&index);
        let (_, fields) = schema::build();
        let writer = index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(index_err(dir, "cannot open the index for writing"))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_err(dir, "cannot open the index for reading"))?;
        Ok(Self {
            path: dir.to_owned(),
            feed: store.feed().as_str().to_owned(),
            fields,
            reader,
            writer: Mutex::new(Writer {
                writer,
                position,
                added: position,
                handed_over: 0,
                rebuild: false,
            }),
            handed_over: Mutex::new(HandedOver::default()),
        })
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>, SearchError> {
        self.writer.lock().map_err(|_| SearchError::Poisoned)
    }

    /// Indexes the feed log of `store` from [`Index::position`] to its end,
    /// and makes it searchable: the latest version of a record replaces its
    /// document, a tombstone (`ccis:Withdrawn`) takes it out of results.
    /// Versions the store handed over as it wrote them (when the index is
    /// the store's [`ccis_store::FeedObserver`]) are taken from memory,
    /// the others read from the log. The position is committed together
    /// with the documents, so a crash leaves the index at a position it
    /// truly reflects.
    pub fn catch_up(&self, store: &NodeStore) -> Result<CaughtUp, SearchError> {
        let mut w = self.writer()?;
        let end = store.member_count().map_err(|source| SearchError::Feed {
            from: w.position,
            source,
        })?;
        if self.handed().tentative > 0 {
            // A store write is under way and some of its versions are in
            // the index writer: committing now would commit them too.
            return Ok(CaughtUp {
                from: w.position,
                to: w.position,
                handed_over: 0,
            });
        }
        if end < w.added || w.rebuild {
            // The store is older than the index (restored from a backup),
            // or a rollback failed.
            tracing::warn!(
                index = w.added,
                store = end,
                "search index ahead of the store or not rolled back: rebuilding"
            );
            w.rebuild = false;
            w.writer
                .delete_all_documents()
                .map_err(index_err(&self.path, "cannot clear the index"))?;
            w.position = 0;
            w.added = 0;
            w.handed_over = 0;
        }
        let from = w.position;
        let mut handed_over = 0;
        let mut origins = HashMap::new();
        while w.added < end {
            self.add_handed_over(&mut w, end)?;
            if w.added >= end {
                break;
            }
            let next_handed = self.handed().committed.front().map(|(p, _)| *p);
            let to = (w.added + READ_BATCH)
                .min(end)
                .min(next_handed.filter(|p| *p > w.added).unwrap_or(u64::MAX));
            let members = store
                .members(w.added, to)
                .map_err(|source| SearchError::Feed {
                    from: w.added,
                    source,
                })?;
            for member in latest_versions(&members) {
                let origin = origin_of(store, &member.record, &mut origins);
                self.replace(&w.writer, &extract::from_member(member, &origin))?;
            }
            w.added = to;
            if w.added - w.position >= COMMIT_EVERY {
                handed_over += w.handed_over;
                let at = w.added;
                self.commit(&mut w, at)?;
            }
        }
        if w.added != w.position {
            handed_over += w.handed_over;
            let at = w.added;
            self.commit(&mut w, at)?;
        }
        Ok(CaughtUp {
            from,
            to: end,
            handed_over,
        })
    }

    /// Adds the handed-over versions that continue the index (from
    /// `w.added`, below `end`), dropping those it already has.
    fn add_handed_over(&self, w: &mut Writer, end: u64) -> Result<(), SearchError> {
        let mut handed = self.handed();
        while let Some((position, _)) = handed.committed.front() {
            let position = *position;
            if position >= end || position > w.added {
                break;
            }
            let Some((_, record)) = handed.committed.pop_front() else {
                break;
            };
            if position == w.added {
                self.replace(&w.writer, &record)?;
                w.added += 1;
                w.handed_over += 1;
            }
        }
        Ok(())
    }

    /// The versions handed over and not yet indexed.
    fn handed(&self) -> MutexGuard<'_, HandedOver> {
        // What a panic left is at worst incomplete: the log has it all.
        self.handed_over.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the document of the record.
    fn replace(
        &self,
        writer: &IndexWriter<TantivyDocument>,
        record: &IndexedRecord,
    ) -> Result<(), SearchError> {
        writer.delete_term(Term::from_field_text(self.fields.iri, &record.iri));
        writer
            .add_document(record.to_document(&self.fields))
            .map_err(index_err(&self.path, "cannot add a document"))?;
        Ok(())
    }

    /// Commits what was added with `position` as payload, then reloads the reader.
    fn commit(&self, w: &mut Writer, position: u64) -> Result<(), SearchError> {
        let payload = Payload {
            schema: SCHEMA_VERSION,
            feed: self.feed.clone(),
            position,
        };
        let payload = serde_json::to_string(&payload).unwrap_or_default();
        let mut prepared = w
            .writer
            .prepare_commit()
            .map_err(index_err(&self.path, "cannot prepare a commit"))?;
        prepared.set_payload(&payload);
        prepared
            .commit()
            .map_err(index_err(&self.path, "cannot commit"))?;
        w.position = position;
        w.added = position;
        w.handed_over = 0;
        self.reader
            .reload()
            .map_err(index_err(&self.path, "cannot reload the reader"))
    }
}

/// The index takes what the store has just written from memory: what the
/// store stages is extracted at once; once committed, it is added to the
/// index writer if nobody else is using it (else [`Index::catch_up`] adds
/// it), and made searchable by the next [`Index::catch_up`], which commits.
impl FeedObserver for Index {
    fn staged(&self, position: u64, signed: &SignedRecord, meta: &StoreMeta) {
        let record = extract::from_record(&signed.record, &meta.origin);
        // Added at once when it continues the index and nobody else holds
        // the index writer: the work then overlaps the store's own.
        if let Ok(w) = self.writer.try_lock() {
            let mut handed = self.handed();
            if handed.staged.is_empty()
                && w.added + handed.tentative == position
                && self.replace(&w.writer, &record).is_ok()
            {
                handed.tentative += 1;
                return;
            }
            handed.staged.push((position, record));
            return;
        }
        self.handed().staged.push((position, record));
    }

    fn committed(&self) {
        if self.handed().tentative > 0 {
            // Those in the index writer now belong to committed versions.
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            let mut handed = self.handed();
            w.added += handed.tentative;
            w.handed_over += handed.tentative;
            handed.tentative = 0;
        }
        let mut handed = self.handed();
        let staged = std::mem::take(&mut handed.staged);
        handed.committed.extend(staged);
        let excess = handed.committed.len().saturating_sub(MAX_HANDED_OVER);
        handed.committed.drain(..excess);
        drop(handed);
        if let Ok(mut w) = self.writer.try_lock()
            && let Err(e) = self.add_handed_over(&mut w, u64::MAX)
        {
            tracing::warn!(error = %e, "search index: versions left for the next catch-up");
        }
    }

    fn discarded(&self) {
        if self.handed().tentative > 0 {
            // The index writer holds versions that will never be stored:
            // back to the last commit (what was added since is read again).
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            let mut handed = self.handed();
            handed.tentative = 0;
            if let Err(e) = w.writer.rollback() {
                tracing::error!(error = %e, "search index: cannot roll back, rebuilding it");
                w.rebuild = true;
            }
            w.added = w.position;
            w.handed_over = 0;
        }
        self.handed().staged.clear();
    }
}

/// The last member of each record among `members`, in feed order.
fn latest_versions(members: &[FeedMember]) -> Vec<&FeedMember> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        last.insert(m.record.as_str(), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &members[i]).collect()
}

/// The id of the centre that originated `record` (its catalogue entry's
/// origin), looked up once per origin base URL.
fn origin_of(
    store: &NodeStore,
    record: &oxrdf::NamedNode,
    known: &mut HashMap<String, String>,
) -> String {
    let base = record
        .as_str()
        .rsplit_once("/records/")
        .map_or(record.as_str(), |(b, _)| b)
        .to_owned();
    if let Some(id) = known.get(&base) {
        return id.clone();
    }
    let id = match store.entry(record) {
        Ok(Some(e)) if !e.origin.is_empty() => e.origin,
        _ => base.clone(),
    };
    known.insert(base, id.clone());
    id
}

fn rebuild_because<T>(dir: &Path, why: &str) -> Option<T> {
    tracing::warn!(index = %dir.display(), why, "rebuilding the search index from the store");
    None
}

pub(crate) fn index_err(
    dir: &Path,
    what: &'static str,
) -> impl FnOnce(TantivyError) -> SearchError {
    let dir = dir.to_owned();
    move |source| SearchError::Index {
        path: dir,
        what,
        source,
    }
}
