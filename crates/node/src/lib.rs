//! The running node: its directory, configuration and lock, the publishing
//! pipeline, and what it reports about itself and its peers.
//!
//! - [`config`]: `ccis.toml` and the paths inside a node directory;
//! - [`peer_file`], [`key_admin`], [`atomic_file`]: editing `peers.toml` and
//!   the keys of `ccis.toml` in place (comments kept), replaced atomically;
//! - [`node_description`]: a node's `/node` description read back to pin it,
//!   or built from `ccis.toml` as the `[[peer]]` entry that pins it;
//! - [`dir_lock`]: one writer per node directory;
//! - [`node`]: the publishing pipeline (validate, sign, store);
//! - [`rounds`]: harvest rounds for as long as the node runs;
//! - [`status`]: what a node holds and how its peers behave;
//! - [`indicators`]: the roadmap's yearly indicators, computed from the store;
//! - [`sim_export`]: the initiatives validated at EU level, as JSON and CSV
//!   for the Social Innovation Match;
//! - [`submissions`]: initiatives proposed by project holders, kept private
//!   until the operator accepts them;
//! - [`validation`]: the validation workflow (initiatives' derived states,
//!   the decisions this node signs), with the operator [`audit`] log and
//!   the operator [`accounts`] of the validators' pages.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/02-running-a-node.md")]
#![deny(missing_docs)]

pub mod accounts;
pub mod atomic_file;
pub mod audit;
pub mod config;
pub mod dir_lock;
pub mod indicators;
pub mod key_admin;
pub mod mail;
pub mod node;
pub mod node_description;
pub mod peer_file;
pub mod rounds;
pub mod sim_export;
pub mod status;
pub mod submissions;
pub mod validation;
