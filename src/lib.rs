//! ccis: a federation node for Europe's national competence centres for
//! social innovation. It publishes a centre's tools and practices as signed
//! linked-data records (RDF, SHACL-checked, W3C Data Integrity
//! `eddsa-rdfc-2022` proofs) in an embedded Oxigraph store.
//!
//! Modules, from the bottom up:
//! - [`vocab`]: namespaces and the vocabulary files built into the binary;
//! - [`keys`]: Ed25519 keys as Multikey and did:key;
//! - [`canon`]: bounded RDFC-1.0 canonicalization;
//! - [`proof`]: Data Integrity proofs (`eddsa-rdfc-2022`);
//! - [`rdf_input`]: reading Turtle, N-Triples, TriG, N-Quads and JSON-LD;
//! - [`record`]: the record model and its limits;
//! - [`shapes`]: SHACL validation;
//! - [`signed`]: signed records as datasets and JSON-LD documents;
//! - [`prescan`]: size and nesting of a SPARQL query, checked before parsing;
//! - [`store`]: the store layout;
//! - [`config`], [`peers`]: the node's configuration and its trusted peers;
//! - [`node`], [`dir_lock`]: the publishing pipeline; one writer per node directory;
//! - [`verify`]: offline verification;
//! - [`feed`]: the change feed as LDES/TREE documents;
//! - [`harvest`]: reading peers' feeds under the harvest rules;
//! - [`status`]: what a node holds and how its peers behave;
//! - [`server`]: the HTTP server (catalogue, records, node, vocabulary, feed,
//!   SPARQL, operator API);
//! - [`cli`], [`demo`]: the command line.

pub mod canon;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dir_lock;
pub mod feed;
pub mod harvest;
pub mod keys;
pub mod node;
pub mod peers;
pub mod prescan;
pub mod proof;
pub mod rdf_input;
pub mod record;
pub mod server;
pub mod shape_plan;
pub mod shapes;
pub mod signed;
pub mod status;
pub mod store;
pub mod verify;
pub mod vocab;
