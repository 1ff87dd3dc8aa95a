//! SHACL validation of records against `vocab/shapes.ttl`.
//!
//! The data graph is the record merged with the concept schemes and the EU
//! authority tables, so membership of a scheme is checked by the shapes.
//! [`ShapeValidator`] evaluates records against the shapes compiled once into
//! a [`ShapePlan`], and words each violation for the operator: the shape's
//! `sh:message` in the operator's language, the focus node and the path, and
//! for a closed list the allowed values or where they are listed.
//! [`ReferenceValidator`] keeps rudof's SHACL Core engine, the reference the
//! plan is tested against (and the old way measured in `benches/shacl.rs`).

use crate::shape_plan::{ClosedList, Component, Detail, Finding, PlanError, ShapePlan};
use ccis_model::record::Record;
use ccis_model::vocab;
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::Term;
use rudof_rdf::rdf_core::RDFFormat;
use rudof_rdf::rdf_impl::{OxigraphInMemory, ReaderMode};
use shacl::ir::IRSchema;
use shacl::validator::processor::{GraphValidation, ShaclProcessor};
use shacl::validator::store::Graph;
use shacl::validator::{ShaclConfig, ShaclValidationMode};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One SHACL violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The focus node: an IRI, or `_:` and a blank node label.
    pub focus: String,
    /// The property path (an IRI), if any.
    pub path: Option<String>,
    /// The offending value, if any.
    pub value: Option<String>,
    /// The shape's message in the operator's language, or what the
    /// constraint asks.
    pub message: String,
    /// What would be accepted: the allowed values of a closed list or where
    /// they are listed, or which language tag is repeated.
    pub hint: Option<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.focus.starts_with("_:") {
            write!(f, "{}", self.focus)?;
        } else {
            write!(f, "<{}>", self.focus)?;
        }
        if let Some(path) = &self.path {
            write!(f, " {}", compact(path))?;
        }
        if let Some(value) = &self.value {
            write!(f, " = {}", compact_term(value))?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
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
    /// The shapes or their reference data do not compile into a plan.
    #[error("the SHACL shapes do not compile: {0}")]
    Plan(#[from] PlanError),
    /// The reference engine failed.
    #[error("SHACL validator error: {0}")]
    Engine(String),
}

/// The shapes compiled once, and the language violations are worded in.
///
/// Cloning is cheap: clones share the compiled plan.
#[derive(Clone)]
pub struct ShapeValidator {
    plan: Arc<ShapePlan>,
    language: String,
}

impl std::fmt::Debug for ShapeValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapeValidator")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl ShapeValidator {
    /// Compiles the shapes built into the binary; messages in English.
    pub fn new() -> Result<Self, ShapeError> {
        Self::with_language("en")
    }

    /// Compiles the shapes built into the binary; messages in `language` (a
    /// BCP 47 tag such as `fr` or `de-AT`) where the shapes have them, else
    /// in English.
    pub fn with_language(language: &str) -> Result<Self, ShapeError> {
        Ok(Self {
            plan: Arc::new(ShapePlan::builtin()?),
            language: normalized_language(language),
        })
    }

    /// The same compiled shapes with messages in another language.
    pub fn in_language(&self, language: &str) -> Self {
        Self {
            plan: Arc::clone(&self.plan),
            language: normalized_language(language),
        }
    }

    /// The language messages are worded in (lower case).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The compiled shapes.
    pub fn plan(&self) -> &ShapePlan {
        &self.plan
    }

    /// Validates one record.
    pub fn validate(&self, record: &Record) -> Result<(), ShapeError> {
        let findings = self.plan.evaluate(&record.triples);
        if findings.is_empty() {
            return Ok(());
        }
        Err(ShapeError::Violations {
            record: record.iri.as_str().to_owned(),
            violations: self.violations(&findings),
        })
    }

    /// Validates many records (a harvested page). Each record is validated
    /// on its own graph with the reference data, so that no record can
    /// satisfy or break a constraint of another, whether it points into
    /// another record of the batch or shares its IRI with one (two versions).
    pub fn validate_many(&self, records: &[&Record]) -> Vec<Result<(), ShapeError>> {
        records.iter().map(|r| self.validate(r)).collect()
    }

    /// The plan's findings on a record, before they are worded.
    pub fn findings(&self, record: &Record) -> Vec<Finding> {
        self.plan.evaluate(&record.triples)
    }

    /// Words findings as violations: a failed node-level `sh:node` without a
    /// message of its own is replaced by the reasons of the nested shape.
    pub fn violations(&self, findings: &[Finding]) -> Vec<Violation> {
        let mut out: Vec<Violation> = Vec::new();
        let mut pending: Vec<&Finding> = findings.iter().rev().collect();
        while let Some(f) = pending.pop() {
            match &f.detail {
                Detail::Shape(_, nested) if self.is_pass_through(f) && !nested.is_empty() => {
                    pending.extend(nested.iter().rev());
                }
                _ => {
                    let v = self.violation(f);
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// A node-level `sh:node` (the focus itself must conform to another
    /// shape) of a shape without messages: its reasons say more than it.
    fn is_pass_through(&self, f: &Finding) -> bool {
        f.component == Component::Node
            && f.path.is_none()
            && self.plan.shape(f.shape).messages.is_empty()
    }

    /// One finding, worded.
    fn violation(&self, f: &Finding) -> Violation {
        let words = Words::of(&self.language);
        let shape = self.plan.shape(f.shape);
        let message = pick_message(&shape.messages, &self.language)
            .map_or_else(|| default_message(f, &shape.name), str::to_owned);
        Violation {
            focus: term_key(&f.focus),
            path: f.path.as_ref().map(|p| p.as_str().to_owned()),
            value: f.value.as_ref().map(term_key),
            message,
            hint: self.hint(f, words),
        }
    }

    /// What would be accepted, for findings where it helps.
    fn hint(&self, f: &Finding, words: Words) -> Option<String> {
        match (&f.detail, f.component) {
            (Detail::DuplicateLanguage(lang), _) => Some(words.duplicate_language(lang)),
            (Detail::Count { found, bound }, Component::MaxCount) => {
                Some(words.too_many(*found, *bound))
            }
            (_, Component::MaxCount | Component::UniqueLang | Component::QualifiedMaxCount) => None,
            _ => self.closed_list(f).map(|list| words.allowed(list)),
        }
    }

    /// The closed list a finding is about: the shape its value failed, or
    /// the one the values of its path must belong to.
    fn closed_list(&self, f: &Finding) -> Option<&ClosedList> {
        let by_shape = match &f.detail {
            Detail::Shape(id, _) => self.plan.closed_list(*id),
            _ => None,
        };
        by_shape.or_else(|| {
            f.path
                .as_ref()
                .and_then(|p| self.plan.closed_list_of_path(p.as_str()))
        })
    }
}

/// A language tag in lower case; English if empty.
fn normalized_language(language: &str) -> String {
    let language = language.trim().to_ascii_lowercase();
    if language.is_empty() {
        "en".to_owned()
    } else {
        language
    }
}

/// The primary subtag of a language tag (`fr` of `fr-be`).
fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// The message in `language`, else in its primary language, else English,
/// else untagged, else any.
fn pick_message<'a>(messages: &'a [(String, String)], language: &str) -> Option<&'a str> {
    let find = |ok: &dyn Fn(&str) -> bool| {
        messages
            .iter()
            .find(|(tag, _)| ok(tag))
            .map(|(_, m)| m.as_str())
    };
    find(&|tag| tag == language)
        .or_else(|| find(&|tag| !tag.is_empty() && primary(tag) == primary(language)))
        .or_else(|| find(&|tag| primary(tag) == "en"))
        .or_else(|| find(&str::is_empty))
        .or_else(|| messages.first().map(|(_, m)| m.as_str()))
}

/// What a constraint asks, for a shape without `sh:message` (English).
fn default_message(f: &Finding, shape: &str) -> String {
    let asks = match (f.component, &f.detail) {
        (Component::MinCount, Detail::Count { bound, .. }) => {
            format!("needs at least {bound} value(s)")
        }
        (Component::MaxCount, Detail::Count { bound, .. }) => {
            format!("takes at most {bound} value(s)")
        }
        (Component::QualifiedMinCount, Detail::Count { bound, .. }) => {
            format!("needs at least {bound} value(s) of the qualified shape")
        }
        (Component::QualifiedMaxCount, Detail::Count { bound, .. }) => {
            format!("takes at most {bound} value(s) of the qualified shape")
        }
        (Component::Datatype, _) => "has the wrong datatype or an ill-formed value".to_owned(),
        (Component::NodeKind, _) => {
            "has the wrong kind of node (IRI, blank node or literal)".to_owned()
        }
        (Component::HasValue, _) => "misses a required value".to_owned(),
        (Component::In | Component::Node, _) => "is not one of the allowed values".to_owned(),
        (Component::UniqueLang, _) => "takes at most one value per language".to_owned(),
        (Component::LanguageIn, _) => "is not in an allowed language".to_owned(),
        (Component::MinLength | Component::MaxLength, _) => "has the wrong length".to_owned(),
        (Component::MinInclusive | Component::MaxInclusive, _) => "is out of range".to_owned(),
        (component, _) => format!("violates sh:{component:?}"),
    };
    format!("{asks} (shape {})", compact(shape))
}

/// The words of the validator itself (hints), in English, French or German.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    En,
    Fr,
    De,
}

/// Closed lists of at most this many values are listed in full.
const LIST_AT_MOST: usize = 12;

impl Words {
    fn of(language: &str) -> Self {
        match primary(language) {
            "fr" => Self::Fr,
            "de" => Self::De,
            _ => Self::En,
        }
    }

    fn duplicate_language(self, lang: &str) -> String {
        match self {
            Self::En => format!("two or more values are tagged @{lang}"),
            Self::Fr => format!("plusieurs valeurs portent l'étiquette @{lang}"),
            Self::De => format!("mehrere Werte tragen die Sprachkennung @{lang}"),
        }
    }

    fn too_many(self, found: usize, bound: usize) -> String {
        match self {
            Self::En => format!("{found} values given, at most {bound} allowed"),
            Self::Fr => format!("{found} valeurs données, au plus {bound} permise(s)"),
            Self::De => format!("{found} Werte angegeben, höchstens {bound} erlaubt"),
        }
    }

    /// The allowed values of a closed list, or where they are listed.
    fn allowed(self, list: &ClosedList) -> String {
        let n = list.members.len();
        if n <= LIST_AT_MOST {
            let values: Vec<String> = list.members.iter().map(|m| compact(m.as_str())).collect();
            let values = values.join(", ");
            return match self {
                Self::En => format!("allowed values: {values}"),
                Self::Fr => format!("valeurs permises : {values}"),
                Self::De => format!("zulässige Werte: {values}"),
            };
        }
        let scheme = list
            .scheme
            .as_ref()
            .map_or_else(String::new, |s| format!(" <{}>", s.as_str()));
        let file = list.file.as_deref().unwrap_or("schemes.ttl");
        match self {
            Self::En => format!(
                "the {n} allowed values are the concepts of the scheme{scheme}: GET /vocab/{file} on any node, or vocab/{file} in the ccis sources, lists them"
            ),
            Self::Fr => format!(
                "les {n} valeurs permises sont les concepts du schéma{scheme} : GET /vocab/{file} sur tout nœud, ou vocab/{file} dans les sources de ccis, les liste"
            ),
            Self::De => format!(
                "die {n} zulässigen Werte sind die Konzepte des Schemas{scheme}: GET /vocab/{file} auf jedem Knoten oder vocab/{file} in den ccis-Quellen listet sie auf"
            ),
        }
    }
}

/// Prefixes operators know from the sample records and `vocab/`.
const PREFIXES: &[(&str, &str)] = &[
    ("ccis", vocab::CCIS),
    ("dct", vocab::DCT),
    ("skos", vocab::SKOS),
    ("schema", vocab::SCHEMA),
    ("prov", vocab::PROV),
    ("xsd", vocab::XSD),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("country", vocab::EU_COUNTRY),
    ("lang", vocab::EU_LANGUAGE),
];

/// An IRI as `prefix:local` when a known prefix fits, else `<iri>`.
fn compact(iri: &str) -> String {
    PREFIXES
        .iter()
        .find_map(|(prefix, ns)| {
            let local = iri.strip_prefix(ns)?;
            let simple = !local.is_empty()
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            simple.then(|| format!("{prefix}:{local}"))
        })
        .unwrap_or_else(|| {
            if iri.starts_with("_:") {
                iri.to_owned()
            } else {
                format!("<{iri}>")
            }
        })
}

/// A value as stored in [`Violation::value`] (an IRI bare, a blank node as
/// `_:id`, a literal in N-Triples), written for people.
fn compact_term(value: &str) -> String {
    if value.starts_with('"') || value.starts_with("_:") {
        value.to_owned()
    } else {
        compact(value)
    }
}

/// A term as [`Violation`] stores it.
fn term_key(t: &Term) -> String {
    match t {
        Term::NamedNode(n) => n.as_str().to_owned(),
        other => other.to_string(),
    }
}

/// rudof's SHACL Core engine on the record merged with the reference data:
/// the reference the compiled plan is tested against, and the old way
/// measured in `benches/shacl.rs`, where it is two orders of magnitude
/// slower than [`ShapeValidator`]. Its messages are the engine's, in English.
pub struct ReferenceValidator {
    schema: IRSchema,
    /// The concept schemes and EU tables, as a graph each run starts from.
    reference: OxigraphInMemory,
}

impl ReferenceValidator {
    /// Reads the shapes built into the binary with rudof.
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

    /// Validates many records at once: one SHACL run over the records that
    /// can share a graph, the violations given back to the record of their
    /// focus node; the others (see [`Self::partition_batch`]) on their own.
    pub fn validate_many(&self, records: &[&Record]) -> Vec<Result<(), ShapeError>> {
        let (alone, together) = Self::partition_batch(records);
        let mut out: Vec<Option<Result<(), ShapeError>>> = records.iter().map(|_| None).collect();
        for i in alone {
            out[i] = Some(self.validate(records[i]));
        }
        if !together.is_empty() {
            self.validate_together(records, &together, &mut out);
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ShapeError::Engine("not validated".into()))))
            .collect()
    }

    /// Splits a batch into the records validated alone — one pointing into
    /// another record of the batch, and each of several versions of one
    /// record (they would count as one node) — and the others.
    fn partition_batch(records: &[&Record]) -> (Vec<usize>, Vec<usize>) {
        let iris: HashSet<&str> = records.iter().map(|r| r.iri.as_str()).collect();
        let mut seen = HashMap::<&str, usize>::new();
        for r in records {
            *seen.entry(r.iri.as_str()).or_default() += 1;
        }
        let entangled = |r: &Record| {
            r.triples.iter().any(|t| match &t.object {
                Term::NamedNode(n) => {
                    let part = ccis_model::record::record_iri_part(n.as_str());
                    part != r.iri.as_str() && iris.contains(part)
                }
                _ => false,
            })
        };
        (0..records.len()).partition(|&i| {
            records.len() == 1 || seen[records[i].iri.as_str()] > 1 || entangled(records[i])
        })
    }

    /// One run over the records of `together`; each record gets the
    /// violations of its focus nodes. If the run fails or a violation cannot
    /// be placed, each record is validated on its own.
    fn validate_together(
        &self,
        records: &[&Record],
        together: &[usize],
        out: &mut [Option<Result<(), ShapeError>>],
    ) {
        let batch: Vec<&Record> = together.iter().map(|&i| records[i]).collect();
        let placed = self
            .run(&batch)
            .ok()
            .and_then(|violations| place_violations(violations, &batch));
        let Some(mut by_record) = placed else {
            for &i in together {
                out[i] = Some(self.validate(records[i]));
            }
            return;
        };
        for &i in together {
            let iri = records[i].iri.as_str();
            out[i] = Some(match by_record.remove(iri) {
                None => Ok(()),
                Some(violations) => Err(ShapeError::Violations {
                    record: iri.to_owned(),
                    violations,
                }),
            });
        }
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
        let mut violations: Vec<Violation> = leaves.into_iter().map(engine_violation).collect();
        violations
            .sort_by(|a, b| (&a.focus, &a.path, &a.message).cmp(&(&b.focus, &b.path, &b.message)));
        violations.dedup();
        Ok(violations)
    }
}

/// The violations of a batch by record IRI; none if one has a focus node
/// outside the batch's records.
fn place_violations(
    violations: Vec<Violation>,
    batch: &[&Record],
) -> Option<HashMap<String, Vec<Violation>>> {
    let iris: HashSet<&str> = batch.iter().map(|r| r.iri.as_str()).collect();
    let mut by_record: HashMap<String, Vec<Violation>> = HashMap::new();
    for v in violations {
        let focus = v.focus.trim_start_matches('<').trim_end_matches('>');
        let part = ccis_model::record::record_iri_part(focus).to_owned();
        if !iris.contains(part.as_str()) {
            return None;
        }
        by_record.entry(part).or_default().push(v);
    }
    Some(by_record)
}

/// A result of rudof's report as a violation.
fn engine_violation(r: &shacl::validator::report::ValidationResult) -> Violation {
    Violation {
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
        hint: None,
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

    const CCIS: &str = "https://w3id.org/ccis/ns#";
    const DCT: &str = "http://purl.org/dc/terms/";

    fn p(x: &str) -> NamedNode {
        NamedNode::new_unchecked(x)
    }

    fn tool(iri: &str, version: u64, with_title: bool) -> Record {
        let s = p(iri);
        let en = |text: &str| Literal::new_language_tagged_literal_unchecked(text, "en");
        let mut t = vec![
            Triple::new(
                s.clone(),
                oxrdf::vocab::rdf::TYPE,
                p(&format!("{CCIS}Tool")),
            ),
            Triple::new(s.clone(), p(&format!("{DCT}description")), en("A guide.")),
            Triple::new(
                s.clone(),
                p(&format!("{DCT}language")),
                p("http://publications.europa.eu/resource/authority/language/ENG"),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{DCT}spatial")),
                p("http://publications.europa.eu/resource/authority/country/FRA"),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{DCT}subject")),
                p(&format!("{CCIS}theme-employment")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{DCT}audience")),
                p(&format!("{CCIS}audience-project-holders")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{CCIS}stage")),
                p(&format!("{CCIS}stage-emergence")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{CCIS}toolType")),
                p(&format!("{CCIS}tool-type-guide")),
            ),
            Triple::new(
                s.clone(),
                p(&format!("{DCT}license")),
                p("https://creativecommons.org/licenses/by/4.0/"),
            ),
        ];
        if with_title {
            t.push(Triple::new(
                s.clone(),
                p(&format!("{DCT}title")),
                en("A title"),
            ));
        }
        Record::new(s, t).stamped(version, "2026-11-20T10:00:00Z")
    }

    /// The tool with the objects of `predicate` replaced by `objects`.
    fn with(record: &Record, predicate: &str, objects: Vec<Term>) -> Record {
        let predicate = p(predicate);
        let mut triples: Vec<Triple> = record
            .triples
            .iter()
            .filter(|t| t.predicate != predicate)
            .cloned()
            .collect();
        for o in objects {
            triples.push(Triple::new(record.iri.clone(), predicate.clone(), o));
        }
        Record::new(record.iri.clone(), triples)
    }

    fn violations(v: &ShapeValidator, record: &Record) -> Vec<Violation> {
        match v.validate(record) {
            Err(ShapeError::Violations { violations, .. }) => violations,
            other => panic!("expected violations, got {other:?}"),
        }
    }

    fn lit(text: &str, lang: &str) -> Term {
        Literal::new_language_tagged_literal_unchecked(text, lang).into()
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
        let reference = ReferenceValidator::new().unwrap();
        let old = reference.validate_many(&[&good, &bad, &v1, &v2]);
        let verdict = |r: &Result<(), ShapeError>| r.is_ok();
        assert_eq!(
            old.iter().map(verdict).collect::<Vec<_>>(),
            verdicts.iter().map(verdict).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_theme_violation_lists_the_allowed_themes() {
        let v = ShapeValidator::new().unwrap();
        let good = tool("https://x.example/records/t", 1, true);
        let bad = with(
            &good,
            &format!("{DCT}subject"),
            vec![p(&format!("{CCIS}stage-scaling")).into()],
        );
        let found = violations(&v, &bad);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.message, "dct:subject must be themes of ccis:Themes");
        assert_eq!(
            f.value.as_deref(),
            Some("https://w3id.org/ccis/ns#stage-scaling")
        );
        let hint = f.hint.as_deref().unwrap();
        assert!(hint.starts_with("allowed values: ccis:theme-"), "{hint}");
        assert_eq!(hint.matches("ccis:theme-").count(), 10, "{hint}");
        assert!(
            f.to_string()
                .contains("dct:subject = ccis:stage-scaling: dct:subject must be themes of ccis:Themes; allowed values: "),
            "{f}"
        );
        // A missing theme points to the same list.
        let none = with(&good, &format!("{DCT}subject"), vec![]);
        let found = violations(&v, &none);
        assert_eq!(
            found[0].message,
            "a tool needs at least one theme (dct:subject)"
        );
        assert_eq!(found[0].hint.as_deref(), Some(hint));
    }

    #[test]
    fn a_long_closed_list_says_where_it_is_listed() {
        let v = ShapeValidator::new().unwrap();
        let good = tool("https://x.example/records/t", 1, true);
        let usa = p("http://publications.europa.eu/resource/authority/country/USA");
        let found = violations(&v, &with(&good, &format!("{DCT}spatial"), vec![usa.into()]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .starts_with("dct:spatial must name at least one EU member state")
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some(
                "the 27 allowed values are the concepts of the scheme <http://publications.europa.eu/resource/authority/country>: GET /vocab/eu-authorities.ttl on any node, or vocab/eu-authorities.ttl in the ccis sources, lists them"
            )
        );
        let xxx = p("http://publications.europa.eu/resource/authority/language/XXX");
        let found = violations(
            &v,
            &with(&good, &format!("{DCT}language"), vec![xxx.into()]),
        );
        assert!(
            found[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("the 24 allowed values"),
            "{found:?}"
        );
    }

    /// (predicate, its new objects, part of the message, start of the hint)
    type Case = (String, Vec<Term>, &'static str, Option<&'static str>);

    /// A case for each SHACL constraint component the shapes use. Longer
    /// than 60 lines because it is one table, read best in one piece.
    fn cases() -> Vec<Case> {
        let two_titles = vec![lit("A", "en"), lit("B", "en")];
        vec![
            // sh:uniqueLang
            (
                format!("{DCT}title"),
                two_titles,
                "at most one title per language",
                Some("two or more values are tagged @en"),
            ),
            // sh:datatype
            (
                format!("{DCT}description"),
                vec![Literal::new_simple_literal("x").into()],
                "each dct:description must be a non-empty text with a language tag",
                None,
            ),
            // sh:minLength
            (
                format!("{DCT}description"),
                vec![lit("", "en")],
                "each dct:description must be a non-empty text",
                None,
            ),
            // sh:minCount
            (
                format!("{DCT}description"),
                vec![],
                "dct:description is required",
                None,
            ),
            // sh:maxCount and sh:nodeKind
            (
                format!("{DCT}license"),
                vec![
                    p("https://a.example/l").into(),
                    p("https://b.example/l").into(),
                ],
                "dct:license is required: one licence IRI",
                Some("2 values given, at most 1 allowed"),
            ),
            (
                format!("{DCT}license"),
                vec![Literal::new_simple_literal("CC-BY").into()],
                "dct:license is required: one licence IRI",
                None,
            ),
            // sh:or
            (
                format!("{DCT}issued"),
                vec![Literal::new_simple_literal("2020").into()],
                "dct:issued must be one xsd:date or xsd:dateTime",
                None,
            ),
            // sh:node, short closed list
            (
                format!("{CCIS}toolType"),
                vec![p(&format!("{CCIS}theme-housing")).into()],
                "a tool needs a ccis:toolType from ccis:ToolTypes",
                Some("allowed values: ccis:tool-type-case-study, "),
            ),
            // sh:minInclusive (and the stamp's sh:maxCount)
            (
                format!("{CCIS}version"),
                vec![Literal::new_typed_literal("0", oxrdf::vocab::xsd::INTEGER).into()],
                "ccis:version must be exactly one positive xsd:integer",
                None,
            ),
        ]
    }

    #[test]
    fn each_kind_of_violation_has_its_message() {
        let v = ShapeValidator::new().unwrap();
        let good = tool("https://x.example/records/t", 1, true);
        for (predicate, objects, message, hint) in cases() {
            let found = violations(&v, &with(&good, &predicate, objects));
            let f = found
                .iter()
                .find(|f| f.path.as_deref() == Some(predicate.as_str()))
                .unwrap_or_else(|| panic!("{predicate}: {found:?}"));
            assert!(f.message.contains(message), "{predicate}: {f}");
            if let Some(hint) = hint {
                assert!(
                    f.hint.as_deref().unwrap_or("").starts_with(hint),
                    "{predicate}: {f}"
                );
            }
        }
    }

    #[test]
    fn messages_follow_the_operator_language_with_english_as_fallback() {
        let good = tool("https://x.example/records/t", 1, true);
        let bad = with(
            &good,
            &format!("{CCIS}stage"),
            vec![p(&format!("{CCIS}stage-nope")).into()],
        );
        let message = |language: &str| {
            let v = ShapeValidator::with_language(language).unwrap();
            let f = violations(&v, &bad).remove(0);
            (f.message, f.hint.unwrap())
        };
        let (en, en_hint) = message("en");
        assert_eq!(en, "ccis:stage must be life-cycle stages of ccis:Stages");
        assert_eq!(
            en_hint,
            "allowed values: ccis:stage-consolidation, ccis:stage-emergence, ccis:stage-scaling"
        );
        let (fr, fr_hint) = message("fr");
        assert_eq!(
            fr,
            "ccis:stage doit être des étapes du cycle de vie de ccis:Stages"
        );
        assert!(
            fr_hint.starts_with("valeurs permises : ccis:stage-"),
            "{fr_hint}"
        );
        // A regional tag finds its language; an unknown one falls back to English.
        assert_eq!(message("FR-be").0, fr);
        let (de, de_hint) = message("de-AT");
        assert_eq!(
            de,
            "ccis:stage muss Lebenszyklusphasen aus ccis:Stages nennen"
        );
        assert!(de_hint.starts_with("zulässige Werte: "), "{de_hint}");
        assert_eq!(message("lv"), (en.clone(), en_hint.clone()));
        assert_eq!(message(""), (en, en_hint));
        assert_eq!(ShapeValidator::new().unwrap().language(), "en");
    }

    #[test]
    fn message_choice_prefers_exact_then_language_then_english_then_untagged() {
        let m = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect()
        };
        let all = m(&[
            ("", "plain"),
            ("en", "english"),
            ("fr", "français"),
            ("fr-ca", "québécois"),
        ]);
        assert_eq!(pick_message(&all, "fr-ca"), Some("québécois"));
        assert_eq!(pick_message(&all, "fr-be"), Some("français"));
        assert_eq!(pick_message(&all, "sv"), Some("english"));
        let untagged = m(&[("", "plain"), ("fr", "français")]);
        assert_eq!(pick_message(&untagged, "de"), Some("plain"));
        assert_eq!(
            pick_message(&m(&[("fr", "français")]), "de"),
            Some("français")
        );
        assert_eq!(pick_message(&[], "de"), None);
    }

    #[test]
    fn an_organisation_gets_the_reasons_not_the_nested_shape() {
        let v = ShapeValidator::new().unwrap();
        let good = tool("https://x.example/records/o", 1, true);
        let org = with(
            &good,
            oxrdf::vocab::rdf::TYPE.as_str(),
            vec![p(&format!("{CCIS}Organisation")).into()],
        );
        assert!(v.validate(&org).is_ok(), "{:?}", v.validate(&org));
        let bad = with(&org, &format!("{DCT}license"), vec![]);
        let found = violations(&v, &bad);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.starts_with("dct:license is required"),
            "{found:?}"
        );
    }
}
