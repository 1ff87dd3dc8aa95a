//! What can go wrong in the store, and where.
//!
//! Each variant names the place (store directory, graph, record, peer,
//! feed position) and carries the underlying error in its message, so an
//! operator reading `{e}` alone knows what to look at.

use std::path::PathBuf;

/// An error of the node's store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no store in the directory (read-only opens never create one).
    #[error("no store in {} (run `ccis init` first)", path.display())]
    NotFound {
        /// The store directory.
        path: PathBuf,
    },
    /// Another process holds the store's lock.
    #[error(
        "the store in {} is in use by another process (is `ccis serve` running on this node?): {cause}",
        path.display()
    )]
    InUse {
        /// The store directory.
        path: PathBuf,
        /// What RocksDB said.
        cause: oxigraph::store::StorageError,
    },
    /// The store cannot be opened.
    #[error("cannot open the store in {}: {cause}", path.display())]
    Open {
        /// The store directory.
        path: PathBuf,
        /// What the storage said.
        cause: oxigraph::store::StorageError,
    },
    /// Reading a graph failed.
    #[error("cannot read {what} in graph <{graph}>: {cause}")]
    Read {
        /// What was being read (a record's catalogue entry, the feed count…).
        what: String,
        /// The graph read.
        graph: String,
        /// What the storage said.
        cause: oxigraph::store::StorageError,
    },
    /// A transaction failed; nothing of it was written.
    #[error("cannot write {what}; nothing was written: {cause}")]
    Write {
        /// What was being written.
        what: String,
        /// What the storage said.
        cause: oxigraph::store::StorageError,
    },
    /// Oxigraph's bulk loader failed; nothing of the batch was written.
    #[error(
        "bulk load of {versions} versions harvested from {peer} failed; nothing was written: {cause}"
    )]
    BulkLoad {
        /// The peer harvested.
        peer: String,
        /// Versions in the batch.
        versions: usize,
        /// What the loader said.
        cause: oxigraph::store::LoaderError,
    },
    /// The thread keeping a bulk load open across batches could not be
    /// started or ended early; nothing of the load was written.
    #[error(
        "the bulk load of versions harvested from {peer} stopped; nothing of it was written: {cause}"
    )]
    Session {
        /// The peer harvested.
        peer: String,
        /// What happened.
        cause: String,
    },
    /// The feed log lacks something every feed log holds.
    #[error("the feed log <{graph}> is inconsistent at position {position}: {problem}")]
    FeedLog {
        /// The feed graph.
        graph: String,
        /// The feed position.
        position: u64,
        /// What is wrong there.
        problem: &'static str,
    },
    /// A version could not be serialized as N-Quads for the feed log.
    #[error("cannot serialize version {version} of <{record}> as N-Quads: {cause}")]
    Serialize {
        /// The record IRI.
        record: String,
        /// Its version.
        version: u64,
        /// What the serializer said.
        cause: std::io::Error,
    },
    /// A version held in the feed log does not parse back.
    #[error("the feed log's copy of <{member}> does not parse as N-Quads: {cause}")]
    MemberContent {
        /// The member (version) IRI.
        member: String,
        /// What the parser said.
        cause: oxigraph::io::RdfSyntaxError,
    },
    /// A record IRI that is not `{base}/records/{slug}`: no origin node can
    /// be named for it.
    #[error(
        "<{record}> is not a record IRI ({{base}}/records/{{slug}}): its origin node cannot be named"
    )]
    NotARecordIri {
        /// The IRI.
        record: String,
    },
    /// Metadata given with a version is not what the catalogue can hold.
    #[error("catalogue metadata of <{record}>: {field} {value:?} is not an IRI: {cause}")]
    NotAnIri {
        /// The record IRI.
        record: String,
        /// The metadata field (`source`, `verified_with`…).
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is not an IRI.
        cause: oxiri::IriParseError,
    },
    /// A record given to [`crate::NodeStore::normalized`] is not storable.
    #[error("cannot normalize <{record}>: {cause}")]
    Normalize {
        /// The record IRI.
        record: String,
        /// What the in-memory store said.
        cause: oxigraph::store::StorageError,
    },
    /// The vocabulary built into the binary does not parse (a build defect).
    #[error("the built-in vocabulary does not parse: {cause}")]
    Vocabulary {
        /// What the Turtle parser said.
        cause: oxigraph::io::RdfSyntaxError,
    },
    /// A SPARQL query does not parse.
    #[error("invalid SPARQL query: {cause}")]
    InvalidQuery {
        /// What the parser said.
        cause: oxigraph::sparql::SparqlSyntaxError,
    },
    /// A SPARQL query failed while it was evaluated.
    #[error("SPARQL evaluation failed: {cause}")]
    Query {
        /// What the evaluator said.
        cause: oxigraph::sparql::QueryEvaluationError,
    },
    /// A writer panicked while it held the store's writer lock.
    #[error("a writer of the store in <{catalogue}> panicked; restart the node")]
    WriterPanicked {
        /// The catalogue of the store.
        catalogue: String,
    },
}

impl StoreError {
    /// A read of `what` in `graph` that failed.
    pub(crate) fn read<W: Into<String>>(
        what: W,
        graph: &str,
    ) -> impl Fn(oxigraph::store::StorageError) -> Self + use<W> {
        let what = what.into();
        let graph = graph.to_owned();
        move |cause| Self::Read {
            what: what.clone(),
            graph: graph.clone(),
            cause,
        }
    }

    /// [`Self::read`] where `what` is only worded if the read fails: for
    /// the lookups a harvest makes per member, which nearly always succeed.
    pub(crate) fn read_lazily<'a>(
        what: impl Fn() -> String + 'a,
        graph: &'a str,
    ) -> impl Fn(oxigraph::store::StorageError) -> Self + 'a {
        move |cause| Self::Read {
            what: what(),
            graph: graph.to_owned(),
            cause,
        }
    }

    /// A write of `what` that failed.
    pub(crate) fn write<W: Into<String>>(
        what: W,
    ) -> impl FnOnce(oxigraph::store::StorageError) -> Self + use<W> {
        let what = what.into();
        move |cause| Self::Write { what, cause }
    }
}
