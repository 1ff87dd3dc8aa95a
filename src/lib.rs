//! ccis: a federation node for Europe's national competence centres for
//! social innovation. It publishes a centre's tools and practices as signed
//! linked-data records (RDF, SHACL-checked, W3C Data Integrity
//! `eddsa-rdfc-2022` proofs) in an embedded Oxigraph store, harvests its
//! peers' records and serves the shared catalogue over SPARQL.
//!
//! This crate is the `ccis` command (`cli`, `demo`) and a facade over the
//! layer crates, each depending only on those below it:
//!
//! | layer | crate | modules re-exported here |
//! |---|---|---|
//! | model | [`ccis_model`] | [`vocab`], [`ids`], [`clock`], [`rdf_input`], [`record`], [`canon`], [`checklist`], [`decision`], [`workflow`] |
//! | integrity | [`ccis_integrity`] | [`keys`], [`proof`], [`signed`], [`export`], [`shapes`], [`shape_plan`], [`peers`], [`verify`] |
//! | store | [`ccis_store`] | [`store`] |
//! | feed | [`ccis_feed`] | [`feed`] |
//! | harvest | [`ccis_harvest`] | [`harvest`] |
//! | search | [`ccis_search`] | [`search`] |
//! | node | [`ccis_node`] | [`config`], [`dir_lock`], [`node`], [`status`], [`peer_file`], [`key_admin`], [`node_description`], [`atomic_file`], [`validation`], [`audit`], [`mail`] |
//! | interfaces | [`ccis_server`], this crate | [`server`], [`prescan`], `cli`, `demo` |
#![doc = include_str!("../docs/01-architecture.md")]

pub use ccis_feed as feed;
pub use ccis_harvest as harvest;
pub use ccis_integrity::{export, keys, peers, proof, shape_plan, shapes, signed, verify};
pub use ccis_model::{canon, checklist, clock, decision, ids, rdf_input, record, vocab, workflow};
pub use ccis_node::{
    accounts, atomic_file, audit, config, dir_lock, key_admin, mail, node, node_description,
    peer_file, sim_export, status, submissions, validation,
};
pub use ccis_search as search;
pub use ccis_server as server;
pub use ccis_server::prescan;
pub use ccis_store as store;

pub mod cli;
pub mod demo;
