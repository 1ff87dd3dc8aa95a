//! SHACL validation of records against `vocab/shapes.ttl`, with rudof's SHACL Core engine.
//!
//! The data graph is the record merged with the concept schemes and the EU
//! authority tables, so membership of a scheme is checked by the shapes.

use crate::record::Record;
use crate::vocab;
use oxigraph::io::{RdfFormat, RdfParser};
use rudof_rdf::rdf_core::RDFFormat;
use rudof_rdf::rdf_impl::{OxigraphInMemory, ReaderMode};
use shacl::ir::IRSchema;
use shacl::validator::processor::{GraphValidation, ShaclProcessor};
use shacl::validator::store::Graph;
use shacl::validator::{ShaclConfig, ShaclValidationMode};
use std::fmt::Write as _;

/// One SHACL violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The focus node.
    pub focus: String,
    /// The property path, if any.
    pub path: Option<String>,
    /// The offending value, if any.
    pub value: Option<String>,
    /// The shape's message, or the constraint component.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.focus)?;
        if let Some(path) = &self.path {
            write!(f, " {path}")?;
        }
        if let Some(value) = &self.value {
            write!(f, " = {value}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a record does not pass validation.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The record violates the shapes.
    #[error("record <{record}> violates the shapes:\n{}", violations.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
    Violations {
        /// The record IRI.
        record: String,
        /// The violations.
        violations: Vec<Violation>,
    },
    /// The validator itself failed.
    #[error("SHACL validator error: {0}")]
    Engine(String),
}

/// A compiled set of shapes and the reference data they need.
pub struct ShapeValidator {
    schema: IRSchema,
    reference_ntriples: String,
}

impl ShapeValidator {
    /// Compiles the shapes built into the binary.
    pub fn new() -> Result<Self, ShapeError> {
        let schema = IRSchema::from_str(
            vocab::SHAPES_TTL,
            &RDFFormat::Turtle,
            None,
            &ReaderMode::Strict,
        )
        .map_err(|e| ShapeError::Engine(format!("vocab/shapes.ttl: {e}")))?;
        let mut reference_ntriples = String::new();
        for ttl in [vocab::SCHEMES_TTL, vocab::AUTHORITIES_TTL] {
            for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(ttl.as_bytes()) {
                let quad = quad.map_err(|e| ShapeError::Engine(format!("vocabulary: {e}")))?;
                let _ = writeln!(reference_ntriples, "{} .", oxrdf::Triple::from(quad));
            }
        }
        Ok(Self {
            schema,
            reference_ntriples,
        })
    }

    /// Validates one record.
    pub fn validate(&self, record: &Record) -> Result<(), ShapeError> {
        let mut data = String::with_capacity(self.reference_ntriples.len() + 4096);
        for t in &record.triples {
            let _ = writeln!(data, "{t} .");
        }
        data.push_str(&self.reference_ntriples);
        let graph =
            OxigraphInMemory::from_str(&data, &RDFFormat::NTriples, None, &ReaderMode::Strict)
                .map_err(|e| ShapeError::Engine(e.to_string()))?;
        let graph = Graph::try_from(graph).map_err(|e| ShapeError::Engine(e.to_string()))?;
        let report = GraphValidation::new(graph)
            .validate(
                &self.schema,
                &ShaclValidationMode::Native,
                &ShaclConfig::default(),
            )
            .map_err(|e| ShapeError::Engine(e.to_string()))?;
        if report.conforms() {
            return Ok(());
        }
        let mut leaves = Vec::new();
        collect_leaves(report.results(), &mut leaves);
        let mut violations: Vec<Violation> = leaves
            .into_iter()
            .map(|r| Violation {
                focus: r.focus_node().to_string(),
                path: r.path().map(|p| p.to_string()),
                value: r.value().map(|v| v.to_string()),
                message: r
                    .message()
                    .get(None)
                    .cloned()
                    .or_else(|| r.message().iter().next().map(|(_, m)| m.clone()))
                    .map(|m| match m.strip_prefix("Shape _:") {
                        // The engine names anonymous property shapes by blank node: noise.
                        Some(rest) => rest
                            .split_once(": ")
                            .map_or(m.clone(), |(_, t)| t.to_owned()),
                        None => m,
                    })
                    .unwrap_or_else(|| format!("violates {}", r.constraint_component())),
            })
            .collect();
        violations
            .sort_by(|a, b| (&a.focus, &a.path, &a.message).cmp(&(&b.focus, &b.path, &b.message)));
        violations.dedup();
        Err(ShapeError::Violations {
            record: record.iri.as_str().to_owned(),
            violations,
        })
    }
}

/// The innermost results: a failed `sh:node` reports its causes in details.
fn collect_leaves<'a>(
    results: &'a [shacl::validator::report::ValidationResult],
    out: &mut Vec<&'a shacl::validator::report::ValidationResult>,
) {
    for r in results {
        if r.details().is_empty() || r.message().iter().next().is_some() {
            out.push(r);
        } else {
            collect_leaves(r.details(), out);
        }
    }
}
