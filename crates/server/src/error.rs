//! What can keep a node from being served, or a response from being built.

use ccis_integrity::peers::PeersError;
use ccis_node::node::NodeError;
use std::net::SocketAddr;

pub use ccis_node::node::BoxError;

/// An error of the server; each variant says what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The node cannot be opened or set up.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// `peers.toml` cannot be used.
    #[error(transparent)]
    Peers(#[from] PeersError),
    /// The listening address cannot be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another node listening there? set `listen` in ccis.toml)"
    )]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The program that runs SPARQL workers cannot be found.
    #[error("cannot find this program to start SPARQL workers: {0}")]
    WorkerProgram(std::io::Error),
    /// Accepting or serving connections failed.
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
    /// The store or the feed failed while doing `what`.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: String,
        /// What the lower layer said.
        source: BoxError,
    },
    /// A response body cannot be serialized (a defect: what is stored was
    /// verified, so it serializes).
    #[error("cannot serialize {what}: {source}")]
    Serialize {
        /// What was being serialized.
        what: &'static str,
        /// What the serializer said.
        source: BoxError,
    },
}

/// Maps a store or feed error into [`ServerError::Store`].
pub(crate) fn store_err<E: Into<BoxError>>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> ServerError {
    let what = what.into();
    move |e| ServerError::Store {
        what,
        source: e.into(),
    }
}

/// Maps a serializer error into [`ServerError::Serialize`].
pub(crate) fn serialize_err<E: Into<BoxError>>(
    what: &'static str,
) -> impl FnOnce(E) -> ServerError {
    move |e| ServerError::Serialize {
        what,
        source: e.into(),
    }
}
