//! Integrity, the second layer: who signed a record and whether to believe it.
//!
//! - [`keys`]: Ed25519 keys as Multikey and did:key;
//! - [`proof`]: Data Integrity proofs (`eddsa-rdfc-2022`);
//! - [`signed`]: signed records as datasets and JSON-LD documents;
//! - [`export`]: signed records written out as TriG, N-Quads or JSON-LD;
//! - [`shapes`], [`shape_plan`]: SHACL validation, the shapes compiled once
//!   into a plan; violations worded in the operator's language;
//! - [`peers`]: the trusted peers and their pinned keys (`peers.toml`);
//! - [`verify`]: the one verifier, used by the CLI and the harvester alike;
//! - [`decision`]: the checks of validation decisions that need keys and
//!   peers (version and digest, replay, who may sign at which level).
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/03-records-and-signatures.md")]
#![deny(missing_docs)]

pub mod decision;
mod ed25519;
pub mod export;
pub mod keys;
pub mod peers;
pub mod proof;
pub mod shape_plan;
pub mod shapes;
pub mod signed;
pub mod verify;
