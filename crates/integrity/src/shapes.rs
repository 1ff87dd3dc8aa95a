//! SHACL validation of records against `vocab/shapes.ttl`, with rudof's SHACL Core engine.
//!
//! The data graph is the record merged with the concept schemes and the EU
//! authority tables, so membership of a scheme is checked by the shapes.

use ccis_model::record::Record;
use ccis_model::vocab;
use oxigraph::io::{RdfFormat, RdfParser};
use rudof_rdf::rdf_core::RDFFormat;
use rudof_rdf::rdf_impl::{OxigraphInMemory, ReaderMode};
use shacl::ir::IRSchema;
use shacl::validator::processor::{GraphValidation, ShaclProcessor};
use shacl::validator::store::Graph;
use shacl::validator::{ShaclConfig, ShaclValidationMode};

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
    /// The concept schemes and EU tables, as a graph each run starts from.
    reference: OxigraphInMemory,
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
        let mut reference = OxigraphInMemory::new();
        for ttl in [vocab::SCHEMES_TTL, vocab::AUTHORITIES_TTL] {
            for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(ttl.as_bytes()) {
                let quad = quad.map_err(|e| ShapeError::Engine(format!("vocabulary: {e}")))?;
                add_triple(&mut reference, &oxrdf::Triple::from(quad))?;
            }
        }
        Ok(Self { schema, reference })
    }

    /// Validates one record.
    pub fn validate(&self, record: &Record) -> Result<(), ShapeError> {
        let violations = self.run(&[record])?;
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ShapeError::Violations {
                record: record.iri.as_str().to_owned(),
                violations,
            })
        }
    }

    /// Validates many records at once (a harvested page): one SHACL run over
    /// all of them and the reference data, the violations given back to the
    /// record of their focus node. A record that points into another record
    /// of the batch, or shares its IRI with another (two versions), is
    /// validated on its own, so that no record can satisfy or break a
    /// constraint of another.
    pub fn validate_many(&self, records: &[&Record]) -> Vec<Result<(), ShapeError>> {
        let iris: std::collections::HashSet<&str> =
            records.iter().map(|r| r.iri.as_str()).collect();
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        for r in records {
            *seen.entry(r.iri.as_str()).or_default() += 1;
        }
        let entangled = |r: &Record| {
            r.triples.iter().any(|t| match &t.object {
                oxrdf::Term::NamedNode(n) => {
                    let part = ccis_model::record::record_iri_part(n.as_str());
                    part != r.iri.as_str() && iris.contains(part)
                }
                _ => false,
            })
        };
        // Alone: a record pointing into another of the batch, and each of
        // several versions of one record (they would count as one node).
        let (alone, together): (Vec<usize>, Vec<usize>) = (0..records.len()).partition(|&i| {
            records.len() == 1 || seen[records[i].iri.as_str()] > 1 || entangled(records[i])
        });
        let mut out: Vec<Option<Result<(), ShapeError>>> = records.iter().map(|_| None).collect();
        for i in alone {
            out[i] = Some(self.validate(records[i]));
        }
        if !together.is_empty() {
            let batch: Vec<&Record> = together.iter().map(|&i| records[i]).collect();
            match self.run(&batch) {
                Ok(violations) => {
                    let mut by_record: std::collections::HashMap<String, Vec<Violation>> =
                        std::collections::HashMap::new();
                    let mut unplaced = false;
                    for v in violations {
                        let focus = v.focus.trim_start_matches('<').trim_end_matches('>');
                        let part = ccis_model::record::record_iri_part(focus).to_owned();
                        if iris.contains(part.as_str()) {
                            by_record.entry(part).or_default().push(v);
                        } else {
                            unplaced = true;
                        }
                    }
                    for &i in &together {
                        out[i] = Some(if unplaced {
                            self.validate(records[i])
                        } else {
                            match by_record.remove(records[i].iri.as_str()) {
                                None => Ok(()),
                                Some(violations) => Err(ShapeError::Violations {
                                    record: records[i].iri.as_str().to_owned(),
                                    violations,
                                }),
                            }
                        });
                    }
                }
                Err(_) => {
                    for &i in &together {
                        out[i] = Some(self.validate(records[i]));
                    }
                }
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ShapeError::Engine("not validated".into()))))
            .collect()
    }

    /// The violations of the records merged with the reference data.
    fn run(&self, records: &[&Record]) -> Result<Vec<Violation>, ShapeError> {
        // The records' triples go into the graph as they are: no printing
        // and parsing again.
        let mut data = self.reference.clone();
        for record in records {
            for t in &record.triples {
                add_triple(&mut data, t)?;
            }
        }
        let graph = Graph::try_from(data).map_err(|e| ShapeError::Engine(e.to_string()))?;
        let report = GraphValidation::new(graph)
            .validate(
                &self.schema,
                &ShaclValidationMode::Native,
                &ShaclConfig::default(),
            )
            .map_err(|e| ShapeError::Engine(e.to_string()))?;
        if report.conforms() {
            return Ok(Vec::new());
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
        Ok(violations)
    }
}

fn add_triple(graph: &mut OxigraphInMemory, t: &oxrdf::Triple) -> Result<(), ShapeError> {
    graph
        .add_triple_ref(t.subject.as_ref(), t.predicate.as_ref(), t.object.as_ref())
        .map_err(|e| ShapeError::Engine(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use oxrdf::{Literal, NamedNode, Triple};

    fn tool(iri: &str, version: u64, with_title: bool) -> Record {
        let base = "https://w3id.org/ccis/ns#";
        let dct = "http://purl.org/dc/terms/";
        let s = NamedNode::new_unchecked(iri);
        let p = |x: &str| NamedNode::new_unchecked(x);
        let mut t = vec![
            Triple::new(
                s.clone(),
                oxrdf::vocab::rdf::TYPE,
                p(&format!("{base}Tool")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}description")),
                Literal::new_language_tagged_literal_unchecked("A guide.", "en"),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}language")),
                p("http://publications.europa.eu/resource/authority/language/ENG"),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}spatial")),
                p("http://publications.europa.eu/resource/authority/country/FRA"),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}subject")),
                p(&format!("{base}theme-employment")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}audience")),
                p(&format!("{base}audience-project-holders")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{base}stage")),
                p(&format!("{base}stage-emergence")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{base}toolType")),
                p(&format!("{base}tool-type-guide")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{dct}license")),
                p("https://creativecommons.org/licenses/by/4.0/"),
            ),
        ];
        if with_title {
            t.push(Triple::new(
                s.clone(),
                p(&format!("{dct}title")),
                Literal::new_language_tagged_literal_unchecked("A title", "en"),
            ));
        }
        Record::new(s, t).stamped(version, "2026-11-20T10:00:00Z")
    }

    #[test]
    fn a_batch_gives_each_record_its_own_verdict() {
        let v = ShapeValidator::new().unwrap();
        let good = tool("https://x.example/records/good", 1, true);
        let bad = tool("https://x.example/records/bad", 1, false);
        let v1 = tool("https://x.example/records/two", 1, true);
        let v2 = tool("https://x.example/records/two", 2, true);
        assert!(v.validate(&good).is_ok(), "{:?}", v.validate(&good));
        assert!(v.validate(&bad).is_err());
        let verdicts = v.validate_many(&[&good, &bad, &v1, &v2]);
        assert!(verdicts[0].is_ok(), "{:?}", verdicts[0]);
        let err = verdicts[1].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("records/bad") && !err.contains("records/good"),
            "{err}"
        );
        assert!(verdicts[2].is_ok() && verdicts[3].is_ok(), "{verdicts:?}");
    }
}
