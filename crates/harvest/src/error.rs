//! Why a harvest stopped: one variant per cause, each naming the peer, the
//! page or the record it is about.

use crate::FetchError;

/// An error from a lower layer (the store), kept whole as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the harvest of a peer (or the building of a harvester) failed.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The SHACL shapes could not be loaded.
    #[error("cannot load the SHACL shapes: {0}")]
    Shapes(#[source] ccis_integrity::shapes::ShapeError),
    /// Reading or writing a peer's harvest state or versions failed.
    #[error("peer {peer}: store: {source}")]
    Store {
        /// The peer.
        peer: String,
        /// What the store said.
        source: BoxError,
    },
    /// Reading what the store holds of a record, to judge it, failed.
    #[error("<{record}>: store: {source}")]
    Record {
        /// The record IRI.
        record: String,
        /// What the store said.
        source: BoxError,
    },
    /// A page could not be fetched or parsed (the error names the page).
    #[error("{source}")]
    Fetch {
        /// The peer.
        peer: String,
        /// What went wrong with the page.
        source: FetchError,
    },
    /// The feed description at `url` has no `tree:view`.
    #[error("{url}: no tree:view")]
    NoView {
        /// The peer.
        peer: String,
        /// The feed description.
        url: String,
    },
    /// The feed description's `tree:view` is outside the peer's base URL.
    #[error("the feed starts at <{view}>, outside the peer's base URL {base}")]
    ViewOutsidePeer {
        /// The peer.
        peer: String,
        /// Where the feed said it starts.
        view: String,
        /// The peer's base URL in `peers.toml`.
        base: String,
    },
    /// A page declares more members than `[harvest] max_page_members`.
    #[error(
        "{page}: page refused: it declares {members} members; at most {limit} are accepted ([harvest] max_page_members)"
    )]
    TooManyMembers {
        /// The peer.
        peer: String,
        /// The page.
        page: String,
        /// Members declared.
        members: usize,
        /// The limit.
        limit: usize,
    },
    /// A page declares more relations than `[harvest] max_page_relations`.
    #[error(
        "{page}: page refused: it declares {relations} relations; at most {limit} are accepted ([harvest] max_page_relations)"
    )]
    TooManyRelations {
        /// The peer.
        peer: String,
        /// The page.
        page: String,
        /// Relations declared.
        relations: usize,
        /// The limit.
        limit: usize,
    },
    /// The round of the peer reached `[harvest] round_timeout_secs`.
    #[error("round stopped after the limit of {secs} s (what was judged is stored)")]
    RoundTimeout {
        /// The peer.
        peer: String,
        /// The limit, in seconds.
        secs: u64,
    },
    /// The round read `[harvest] max_pages_per_round` pages.
    #[error(
        "round stopped after {pages} pages ([harvest] max_pages_per_round; what was judged is stored, the next round goes on from there)"
    )]
    PageLimit {
        /// The peer.
        peer: String,
        /// The limit.
        pages: usize,
    },
    /// The stored harvest position no longer matches the peer: nothing was
    /// read from it; the operator resets it with [`reset_command`].
    #[error(
        "harvest position <{page}> no longer matches peer {peer}: {reason}; nothing was read. If the peer moved or reset its feed, run `{}` (the next round reads its feed from the start; what is stored is kept)",
        reset_command(peer)
    )]
    PositionMismatch {
        /// The peer.
        peer: String,
        /// The stored position (a page URL).
        page: String,
        /// How it no longer matches.
        reason: Mismatch,
    },
    /// A task judging or writing a page of the peer ended abnormally.
    #[error("peer {peer}: {what} stopped: {source}")]
    Task {
        /// The peer.
        peer: String,
        /// What the task did.
        what: &'static str,
        /// Why it ended.
        source: tokio::task::JoinError,
    },
}

impl HarvestError {
    /// A store error about a peer's harvest.
    pub(crate) fn store(peer: &str, source: impl Into<BoxError>) -> Self {
        Self::Store {
            peer: peer.to_owned(),
            source: source.into(),
        }
    }

    /// A store error about a record being judged.
    pub(crate) fn record(record: &str, source: impl Into<BoxError>) -> Self {
        Self::Record {
            record: record.to_owned(),
            source: source.into(),
        }
    }

    /// A page of a peer that could not be fetched.
    pub(crate) fn fetch(peer: &str, source: FetchError) -> Self {
        Self::Fetch {
            peer: peer.to_owned(),
            source,
        }
    }

    /// Whether the stored position no longer matches the peer (the operator
    /// resets it with [`reset_command`]).
    pub fn is_position_mismatch(&self) -> bool {
        matches!(self, Self::PositionMismatch { .. })
    }
}

/// How a stored harvest position no longer matches its peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The position is outside the peer's base URL (it changed in `peers.toml`).
    #[error("it is outside the peer's base URL {base} (did the base URL change?)")]
    OutsideBase {
        /// The base URL in `peers.toml` now.
        base: String,
    },
    /// The page at the position is gone.
    #[error("the page answers HTTP {status} (the peer's feed was reset or moved)")]
    Gone {
        /// 404 or 410.
        status: u16,
    },
    /// The page at the position describes another page.
    #[error("the page there now describes <{declared}> (the peer's feed was reset or moved)")]
    OtherPage {
        /// The page it declares to be.
        declared: String,
    },
    /// A member read before is no longer where it was: the first member of
    /// the page at the position (or of the feed's first page) is one this
    /// node never read from the peer.
    #[error(
        "the first member of <{page}> is now <{member}>, never read from this peer (the peer's feed was reset)"
    )]
    FirstMemberChanged {
        /// The page.
        page: String,
        /// Its first member now.
        member: String,
    },
    /// A page that had members when it was read has none now.
    #[error("<{page}> had members when it was read and has none now (the peer's feed was reset)")]
    Emptied {
        /// The page.
        page: String,
    },
}

/// The command that resets the harvest position of `peer`, so that the next
/// round reads its feed from the start: `ccis harvest --reset PEER`.
pub fn reset_command(peer: &str) -> String {
    format!("ccis harvest --reset {peer}")
}
