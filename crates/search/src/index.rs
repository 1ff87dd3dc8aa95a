//! The index on disk and how it follows the store's feed log.

use crate::SearchError;
use crate::analysis;
use crate::extract::{self, IndexedRecord};
use crate::schema::{self, Fields, SCHEMA_VERSION};
use ccis_store::{FeedMember, NodeStore};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

/// Members read from the store at once.
const READ_BATCH: u64 = 1_000;
/// Members indexed between two commits while catching up.
const COMMIT_EVERY: u64 = 20_000;
/// Memory of the index writer, in bytes.
const WRITER_BYTES: usize = 64 * 1024 * 1024;

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
}

struct Writer {
    writer: IndexWriter<TantivyDocument>,
    position: u64,
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
            writer: Mutex::new(Writer { writer, position }),
        })
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>, SearchError> {
        self.writer.lock().map_err(|_| SearchError::Poisoned)
    }

    /// Indexes the feed log of `store` from [`Index::position`] to its end,
    /// and makes it searchable: the latest version of a record replaces its
    /// document, a tombstone (`ccis:Withdrawn`) takes it out of results.
    /// The position is committed together with the documents, so a crash
    /// leaves the index at a position it truly reflects.
    pub fn catch_up(&self, store: &NodeStore) -> Result<CaughtUp, SearchError> {
        let mut w = self.writer()?;
        let end = store.member_count().map_err(|source| SearchError::Feed {
            from: w.position,
            source,
        })?;
        if end < w.position {
            // The store is older than the index (restored from a backup).
            tracing::warn!(
                index = w.position,
                store = end,
                "search index ahead of the store: rebuilding"
            );
            w.writer
                .delete_all_documents()
                .map_err(index_err(&self.path, "cannot clear the index"))?;
            w.position = 0;
        }
        let from = w.position;
        let mut origins = HashMap::new();
        let mut uncommitted = 0;
        while w.position < end {
            let to = (w.position + READ_BATCH).min(end);
            let members = store
                .members(w.position, to)
                .map_err(|source| SearchError::Feed {
                    from: w.position,
                    source,
                })?;
            for member in latest_versions(&members) {
                let origin = origin_of(store, &member.record, &mut origins);
                self.replace(&w.writer, &extract::from_member(member, &origin))?;
            }
            uncommitted += to - w.position;
            w.position = to;
            if uncommitted >= COMMIT_EVERY {
                self.commit(&mut w, to)?;
                uncommitted = 0;
            }
        }
        if from != end || uncommitted > 0 {
            self.commit(&mut w, end)?;
        }
        Ok(CaughtUp { from, to: end })
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
        self.reader
            .reload()
            .map_err(index_err(&self.path, "cannot reload the reader"))
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
