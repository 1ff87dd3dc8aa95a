//! The record model of ccis, the bottom layer: what a record is, the
//! vocabulary it is described with, how RDF comes in, and its RDFC-1.0
//! canonical form. Nothing here knows about keys, stores or the network.
//!
//! - [`vocab`]: namespaces and the vocabulary files built into the binary;
//! - [`ids`]: node ids and base URLs;
//! - [`clock`]: the time, as a seam tests can set;
//! - [`rdf_input`]: reading Turtle, N-Triples, TriG, N-Quads and JSON-LD;
//! - [`record`]: the record model and its limits; [`record_diff`]: what
//!   changed between two versions of a record;
//! - [`canon`]: bounded RDFC-1.0 canonicalization;
//! - [`workflow`]: the validation workflow's states, its one transition
//!   function, and the state derived from signed decisions;
//! - [`checklist`]: validators' checklists read from Turtle;
//! - [`decision`]: a validation decision and its record.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/03-records-and-signatures.md")]
#![deny(missing_docs)]

pub mod canon;
pub mod checklist;
pub mod clock;
pub mod decision;
pub mod ids;
pub mod rdf_input;
pub mod record;
pub mod record_diff;
pub mod vocab;
pub mod workflow;
