//! The search index of a node: a tantivy full-text index of every record the
//! node holds, its own and harvested, in `<node dir>/index/`.
//!
//! - [`Index`]: open (rebuilding a missing, corrupt or incompatible index
//!   from the store), [`Index::catch_up`] with the store's feed log,
//!   [`Index::search`], [`Index::more_like_this`], [`Index::get`];
//! - [`SearchRequest`] / [`SearchResults`]: text, facet selections (OR
//!   within a facet, AND across), disjunctive facet counts, pages, order;
//!   every limit on what a browser sends is a constant of [`request`];
//! - [`analysis`]: which analyser reads which language (stemmers where
//!   tantivy has one; lowercase and ASCII folding for Latvian, Lithuanian
//!   and the rest);
//! - [`Facet`]: the facets and their values.
//!
//! Why tantivy: it is embedded (no server beside the node, like Oxigraph),
//! has BM25, Snowball stemmers for most EU languages, columnar fast fields
//! for facets and date order, and atomic commits carrying a payload, which
//! holds the feed position the index reflects, so index and position can
//! never disagree.
//!
//! The chapter of the documentation on search follows.
#![doc = include_str!("../../../docs/09-search.md")]
#![deny(missing_docs)]

pub mod analysis;
mod error;
mod extract;
mod facets;
mod index;
pub mod request;
mod schema;
mod search;

pub use error::SearchError;
pub use index::{CaughtUp, Index};
pub use request::{FacetCounts, FacetValue, SearchHit, SearchRequest, SearchResults, Sort};
pub use schema::{Facet, SCHEMA_VERSION};

/// The directory of the index inside a node directory.
pub const INDEX_DIR: &str = "index";

#[cfg(test)]
mod tests;
