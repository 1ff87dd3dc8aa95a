//! What can go wrong with the search index.

use std::path::PathBuf;

/// An error of the search index. Searching never fails on what a user typed:
/// only the index files or the store can fail.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index files could not be created, opened, written or read.
    #[error("search index in {path}: {what}: {source}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// What tantivy said.
        #[source]
        source: tantivy::TantivyError,
    },
    /// The index directory could not be cleared or created.
    #[error("search index in {path}: {what}: {source}")]
    Io {
        /// The index directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The store's feed log could not be read.
    #[error("cannot read the feed log from position {from} to index it: {source}")]
    Feed {
        /// The first position asked for.
        from: u64,
        /// What the store said.
        #[source]
        source: ccis_store::StoreError,
    },
    /// A search could not be run over the index files.
    #[error("search failed: {0}")]
    Search(#[source] tantivy::TantivyError),
    /// A writer panicked while holding the index.
    #[error("the search index writer was poisoned by a panic")]
    Poisoned,
}
