//! The running node: its directory, configuration and lock, the publishing
//! pipeline, and what it reports about itself and its peers.
//!
//! - [`config`]: `ccis.toml` and the paths inside a node directory;
//! - [`dir_lock`]: one writer per node directory;
//! - [`node`]: the publishing pipeline (validate, sign, store);
//! - [`rounds`]: harvest rounds for as long as the node runs;
//! - [`status`]: what a node holds and how its peers behave.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/02-running-a-node.md")]

#![deny(missing_docs)]

pub mod config;
pub mod dir_lock;
pub mod node;
pub mod rounds;
pub mod status;
