//! The record model: a small RDF graph about one thing, named by its IRI.
//!
//! A record's IRI is `{base}/records/{slug}`; every subject in it is the
//! record IRI or a fragment of it (`…#contact`), so a record can be moved,
//! signed and verified as a unit.

use crate::vocab;
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    GraphName, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, Term, TermRef, Triple,
};
use std::collections::{BTreeMap, HashMap};

/// Most blank nodes a record may hold, by default.
pub const MAX_BLANK_NODES: usize = 16;
/// Most triples a record may hold, by default.
pub const MAX_TRIPLES: usize = 2_000;
/// Most bytes a record may hold (as N-Triples), by default.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most bytes one literal of a record may hold, by default.
pub const MAX_LITERAL_BYTES: usize = 256 * 1024;

/// The limits every record must keep (`[limits]` in `ccis.toml`): checked
/// when a node publishes, when it harvests (rule 3) and by `ccis verify`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordLimits {
    /// Most bytes of a record, its statements written as N-Triples.
    pub record_max_bytes: usize,
    /// Most bytes of one literal's value.
    pub literal_max_bytes: usize,
    /// Most statements.
    pub record_max_triples: usize,
    /// Most distinct blank nodes.
    pub record_max_blank_nodes: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        Self {
            record_max_bytes: MAX_RECORD_BYTES,
            literal_max_bytes: MAX_LITERAL_BYTES,
            record_max_triples: MAX_TRIPLES,
            record_max_blank_nodes: MAX_BLANK_NODES,
        }
    }
}

/// Why triples do not form acceptable records.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// A subject outside the node's record space.
    #[error(
        "subject <{subject}> is not a record of this node: record IRIs are {base}/records/{{slug}} (slug: a-z, 0-9, -) or fragments of one"
    )]
    ForeignSubject {
        /// The subject.
        subject: String,
        /// The node's base URL.
        base: String,
    },
    /// A fragment whose record is not in the input.
    #[error("<{subject}> is a fragment of record <{record}>, which has no statements of its own")]
    OrphanFragment {
        /// The fragment.
        subject: String,
        /// Its record.
        record: String,
    },
    /// A blank node is not reachable from exactly one record.
    #[error("blank node _:{0} is not attached to exactly one record")]
    LooseBlankNode(String),
    /// Too many blank nodes.
    #[error("record <{record}> has {found} blank nodes; at most {limit} are accepted")]
    TooManyBlankNodes {
        /// The record.
        record: String,
        /// How many.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many triples.
    #[error("record <{record}> has {found} triples; at most {limit} are accepted")]
    TooManyTriples {
        /// The record.
        record: String,
        /// How many.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many bytes.
    #[error("record <{record}> is {found} bytes as N-Triples; at most {limit} are accepted")]
    TooManyBytes {
        /// The record.
        record: String,
        /// How many.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A literal too long.
    #[error(
        "record <{record}> has a literal of {found} bytes (object of <{predicate}>); at most {limit} are accepted"
    )]
    LiteralTooLong {
        /// The record.
        record: String,
        /// The predicate of the statement holding it.
        predicate: String,
        /// Its length.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Statements in a named graph where a plain graph was expected.
    #[error("the input has statements in named graph {0}; records are written as plain triples")]
    NamedGraph(String),
    /// No record class.
    #[error(
        "record <{0}> has no record class (rdf:type ccis:Tool, Practice, SupportProgramme, Organisation, Initiative, Validation or Withdrawn)"
    )]
    NoClass(String),
    /// No statement at all.
    #[error("no record found in the input")]
    Empty,
}

/// One record: its IRI and its triples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record IRI.
    pub iri: NamedNode,
    /// Its triples, sorted and without duplicates.
    pub triples: Vec<Triple>,
}

/// The record IRI that `iri` belongs to if it lies in `base`'s record space.
pub fn record_of(iri: &str, base: &str) -> Option<String> {
    let without_fragment = iri.split_once('#').map_or(iri, |(r, _)| r);
    let slug = without_fragment
        .strip_prefix(base.trim_end_matches('/'))?
        .strip_prefix("/records/")?;
    is_slug(slug).then(|| without_fragment.to_owned())
}

/// The record IRI an IRI belongs to, whatever node it is on.
pub fn record_iri_part(iri: &str) -> &str {
    iri.split_once('#').map_or(iri, |(r, _)| r)
}

/// Whether a string is a valid slug: lowercase letters, digits and dashes.
pub fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 120
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

impl Record {
    /// Builds a record from its triples (sorted, deduplicated).
    pub fn new(iri: NamedNode, mut triples: Vec<Triple>) -> Self {
        triples.sort_by_cached_key(|t| t.to_string());
        triples.dedup();
        Self { iri, triples }
    }

    /// The triples as quads in `graph`.
    pub fn quads_in(&self, graph: &GraphName) -> Vec<Quad> {
        self.triples
            .iter()
            .map(|t| t.clone().in_graph(graph.clone()))
            .collect()
    }

    /// The triples as quads in the default graph: the document that is signed.
    pub fn document(&self) -> Vec<Quad> {
        self.quads_in(&GraphName::DefaultGraph)
    }

    fn objects(&self, predicate: NamedNodeRef<'_>) -> impl Iterator<Item = TermRef<'_>> {
        self.triples
            .iter()
            .filter(move |t| t.predicate.as_ref() == predicate && self.is_root(&t.subject))
            .map(|t| t.object.as_ref())
    }

    fn is_root(&self, subject: &NamedOrBlankNode) -> bool {
        matches!(subject, NamedOrBlankNode::NamedNode(n) if n == &self.iri)
    }

    /// The record class (ccis:Tool, …) and its short name.
    pub fn class(&self) -> Option<(NamedNodeRef<'static>, &'static str)> {
        self.objects(rdf::TYPE).find_map(|t| {
            vocab::RECORD_CLASSES
                .iter()
                .find(|(c, _)| TermRef::from(*c) == t)
                .copied()
        })
    }

    /// Whether this is a withdrawal tombstone.
    pub fn is_withdrawn(&self) -> bool {
        self.class().is_some_and(|(c, _)| c == vocab::WITHDRAWN)
    }

    /// `ccis:version`, if present and a positive integer.
    pub fn version(&self) -> Option<u64> {
        self.objects(vocab::VERSION).find_map(|t| match t {
            TermRef::Literal(l) => l.value().parse().ok().filter(|v| *v > 0),
            _ => None,
        })
    }

    /// `dct:modified` as written.
    pub fn modified(&self) -> Option<&str> {
        self.objects(vocab::DCT_MODIFIED).find_map(|t| match t {
            TermRef::Literal(l) => Some(l.value()),
            _ => None,
        })
    }

    /// The language tags of the titles.
    pub fn title_languages(&self) -> Vec<String> {
        self.objects(vocab::DCT_TITLE)
            .filter_map(|t| match t {
                TermRef::Literal(l) => l.language().map(str::to_owned),
                _ => None,
            })
            .collect()
    }

    /// A title in one of the preferred languages, else any title.
    pub fn title(&self, preferred: &[&str]) -> Option<String> {
        let titles: Vec<_> = self
            .objects(vocab::DCT_TITLE)
            .filter_map(|t| match t {
                TermRef::Literal(l) => Some((l.language().unwrap_or(""), l.value())),
                _ => None,
            })
            .collect();
        preferred
            .iter()
            .find_map(|p| titles.iter().find(|(l, _)| l == p))
            .or(titles.first())
            .map(|(_, v)| (*v).to_owned())
    }

    /// The record without `ccis:version` and `dct:modified`: what a change is judged on.
    pub fn content_key(&self) -> Vec<Triple> {
        self.triples
            .iter()
            .filter(|t| {
                !(self.is_root(&t.subject)
                    && (t.predicate.as_ref() == vocab::VERSION
                        || t.predicate.as_ref() == vocab::DCT_MODIFIED))
            })
            .cloned()
            .collect()
    }

    /// The same content stamped with `version` and `modified` (any previous stamp replaced).
    pub fn stamped(&self, version: u64, modified: &str) -> Self {
        let mut triples = self.content_key();
        triples.push(Triple::new(
            self.iri.clone(),
            vocab::VERSION,
            Literal::new_typed_literal(version.to_string(), xsd::INTEGER),
        ));
        triples.push(Triple::new(
            self.iri.clone(),
            vocab::DCT_MODIFIED,
            Literal::new_typed_literal(modified, xsd::DATE_TIME),
        ));
        Self::new(self.iri.clone(), triples)
    }

    /// The same record under another IRI: the record IRI and its fragments
    /// (`{iri}#…`), as subjects and objects, become `{new}` and `{new}#…`.
    pub fn renamed(&self, new: NamedNode) -> Self {
        let from = self.iri.as_str();
        let rename = |iri: &str| -> Option<NamedNode> {
            let rest = iri.strip_prefix(from)?;
            (rest.is_empty() || rest.starts_with('#'))
                .then(|| NamedNode::new_unchecked(format!("{}{rest}", new.as_str())))
        };
        let triples = self
            .triples
            .iter()
            .map(|t| {
                let subject = match &t.subject {
                    NamedOrBlankNode::NamedNode(s) => {
                        rename(s.as_str()).map_or_else(|| t.subject.clone(), Into::into)
                    }
                    other => other.clone(),
                };
                let object = match &t.object {
                    Term::NamedNode(o) => {
                        rename(o.as_str()).map_or_else(|| t.object.clone(), Into::into)
                    }
                    other => other.clone(),
                };
                Triple::new(subject, t.predicate.clone(), object)
            })
            .collect();
        Self::new(new, triples)
    }

    /// A withdrawal tombstone for this IRI.
    pub fn tombstone(iri: NamedNode, version: u64, modified: &str) -> Self {
        Self::new(
            iri.clone(),
            vec![Triple::new(iri, rdf::TYPE, vocab::WITHDRAWN)],
        )
        .stamped(version, modified)
    }

    /// Checks the size limits that bound the work and the bytes a record
    /// can cause: statements, blank nodes, bytes in all and per literal.
    pub fn check_limits(&self, limits: &RecordLimits) -> Result<(), RecordError> {
        let record = || self.iri.as_str().to_owned();
        if self.triples.len() > limits.record_max_triples {
            return Err(RecordError::TooManyTriples {
                record: record(),
                found: self.triples.len(),
                limit: limits.record_max_triples,
            });
        }
        let mut blank = std::collections::BTreeSet::new();
        let mut bytes = 0usize;
        for t in &self.triples {
            if let NamedOrBlankNode::BlankNode(b) = &t.subject {
                blank.insert(b.as_str());
            }
            if let Term::BlankNode(b) = &t.object {
                blank.insert(b.as_str());
            }
            if let Term::Literal(l) = &t.object
                && l.value().len() > limits.literal_max_bytes
            {
                return Err(RecordError::LiteralTooLong {
                    record: record(),
                    predicate: t.predicate.as_str().to_owned(),
                    found: l.value().len(),
                    limit: limits.literal_max_bytes,
                });
            }
            bytes += triple_bytes(t);
        }
        if blank.len() > limits.record_max_blank_nodes {
            return Err(RecordError::TooManyBlankNodes {
                record: record(),
                found: blank.len(),
                limit: limits.record_max_blank_nodes,
            });
        }
        if bytes > limits.record_max_bytes {
            return Err(RecordError::TooManyBytes {
                record: record(),
                found: bytes,
                limit: limits.record_max_bytes,
            });
        }
        Ok(())
    }
}

/// The length of a triple written as an N-Triples line, without building it.
fn triple_bytes(t: &Triple) -> usize {
    let subject = match &t.subject {
        NamedOrBlankNode::NamedNode(n) => n.as_str().len() + 2,
        NamedOrBlankNode::BlankNode(b) => b.as_str().len() + 2,
    };
    let object = match &t.object {
        Term::NamedNode(n) => n.as_str().len() + 2,
        Term::BlankNode(b) => b.as_str().len() + 2,
        Term::Literal(l) => {
            let tag = l
                .language()
                .map_or(l.datatype().as_str().len() + 4, |lang| lang.len() + 1);
            l.value().len() + 2 + tag
        }
        #[allow(unreachable_patterns)]
        _ => t.object.to_string().len(),
    };
    subject + t.predicate.as_str().len() + 2 + object + 5
}

/// Splits default-graph triples into records of the node at `base`.
///
/// Every IRI subject must be a record IRI of `base` or a fragment of one, and
/// every blank node must hang (directly or through other blank nodes) from a
/// single record. Records come back sorted by IRI.
pub fn split_into_records(quads: Vec<Quad>, base: &str) -> Result<Vec<Record>, RecordError> {
    split_into_records_with(quads, base, &RecordLimits::default())
}

/// Same as [`split_into_records`], checking every record against `limits`.
pub fn split_into_records_with(
    quads: Vec<Quad>,
    base: &str,
    limits: &RecordLimits,
) -> Result<Vec<Record>, RecordError> {
    let mut triples = Vec::with_capacity(quads.len());
    for quad in quads {
        match &quad.graph_name {
            GraphName::DefaultGraph => {}
            GraphName::NamedNode(g) => return Err(RecordError::NamedGraph(g.to_string())),
            GraphName::BlankNode(g) => return Err(RecordError::NamedGraph(g.to_string())),
        }
        let triple = Triple::from(quad);
        if let NamedOrBlankNode::NamedNode(s) = &triple.subject
            && record_of(s.as_str(), base).is_none()
        {
            return Err(RecordError::ForeignSubject {
                subject: s.as_str().to_owned(),
                base: base.trim_end_matches('/').to_owned(),
            });
        }
        triples.push(triple);
    }
    let mut records = Vec::new();
    for (iri, triples) in group_by_record(triples)? {
        let root_has_statements = triples
            .iter()
            .any(|t| matches!(&t.subject, NamedOrBlankNode::NamedNode(s) if s.as_str() == iri));
        if !root_has_statements {
            let fragment = triples
                .first()
                .map(|t| t.subject.to_string())
                .unwrap_or_default();
            return Err(RecordError::OrphanFragment {
                subject: fragment.trim_matches(['<', '>']).to_owned(),
                record: iri,
            });
        }
        let record = Record::new(NamedNode::new_unchecked(iri), triples);
        if record.class().is_none() {
            return Err(RecordError::NoClass(record.iri.as_str().to_owned()));
        }
        record.check_limits(limits)?;
        records.push(record);
    }
    Ok(records)
}

/// Groups triples by the record their subject belongs to (the IRI without
/// fragment); triples about blank nodes go with the record that references them.
pub fn group_by_record(triples: Vec<Triple>) -> Result<BTreeMap<String, Vec<Triple>>, RecordError> {
    let mut by_record: BTreeMap<String, Vec<Triple>> = BTreeMap::new();
    // Statements about each blank node, in input order, until it is attached.
    let mut about_blank: HashMap<String, Vec<Triple>> = HashMap::new();
    let mut blank_order: Vec<String> = Vec::new();
    let mut owner: HashMap<String, String> = HashMap::new();
    for triple in triples {
        match &triple.subject {
            NamedOrBlankNode::NamedNode(s) => {
                let record = record_iri_part(s.as_str()).to_owned();
                if let Term::BlankNode(b) = &triple.object {
                    owner.insert(b.as_str().to_owned(), record.clone());
                }
                by_record.entry(record).or_default().push(triple);
            }
            NamedOrBlankNode::BlankNode(b) => {
                let label = b.as_str().to_owned();
                let entry = about_blank.entry(label.clone()).or_default();
                if entry.is_empty() {
                    blank_order.push(label);
                }
                entry.push(triple);
            }
        }
    }
    // Attach blank nodes from the records down, each once: linear in the input.
    let mut to_attach: Vec<(String, String)> =
        owner.iter().map(|(b, r)| (b.clone(), r.clone())).collect();
    while let Some((blank, record)) = to_attach.pop() {
        for t in about_blank.remove(&blank).unwrap_or_default() {
            if let Term::BlankNode(o) = &t.object
                && !owner.contains_key(o.as_str())
            {
                owner.insert(o.as_str().to_owned(), record.clone());
                to_attach.push((o.as_str().to_owned(), record.clone()));
            }
            by_record.entry(record.clone()).or_default().push(t);
        }
    }
    if let Some(loose) = blank_order
        .into_iter()
        .find(|b| about_blank.contains_key(b))
    {
        return Err(RecordError::LooseBlankNode(loose));
    }
    if by_record.is_empty() {
        return Err(RecordError::Empty);
    }
    Ok(by_record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxrdf::BlankNode;

    const BASE: &str = "https://node.example";

    #[test]
    fn a_long_chain_of_blank_nodes_is_attached_in_one_pass() {
        let r = NamedNode::new_unchecked("https://node.example/records/a");
        let p = NamedNode::new_unchecked("https://schema.org/about");
        let n = 20_000;
        let mut triples = vec![Triple::new(
            r.clone(),
            p.clone(),
            BlankNode::new_unchecked("b0"),
        )];
        // Written deepest first, the order that made attaching quadratic.
        for i in (0..n).rev() {
            triples.push(Triple::new(
                BlankNode::new_unchecked(format!("b{i}")),
                p.clone(),
                BlankNode::new_unchecked(format!("b{}", i + 1)),
            ));
        }
        let groups = group_by_record(triples).unwrap();
        assert_eq!(groups[r.as_str()].len(), n + 1);
        let loose = vec![
            Triple::new(r.clone(), p.clone(), Literal::new_simple_literal("x")),
            Triple::new(
                BlankNode::new_unchecked("z"),
                p,
                BlankNode::new_unchecked("y"),
            ),
        ];
        assert_eq!(
            group_by_record(loose),
            Err(RecordError::LooseBlankNode("z".into()))
        );
    }

    #[test]
    fn renamed_moves_the_record_and_its_fragments_only() {
        let r = Record::new(
            NamedNode::new_unchecked("https://node.example/records/a"),
            vec![
                Triple::new(
                    NamedNode::new_unchecked("https://node.example/records/a"),
                    vocab::DCT_SOURCE,
                    NamedNode::new_unchecked("https://node.example/records/a#contact"),
                ),
                Triple::new(
                    NamedNode::new_unchecked("https://node.example/records/a#contact"),
                    vocab::DCT_SOURCE,
                    NamedNode::new_unchecked("https://node.example/records/ab"),
                ),
            ],
        );
        let moved = r.renamed(NamedNode::new_unchecked("https://node.example/records/b"));
        let text: Vec<String> = moved.triples.iter().map(ToString::to_string).collect();
        assert_eq!(moved.iri.as_str(), "https://node.example/records/b");
        assert!(
            text.iter()
                .any(|t| t.starts_with("<https://node.example/records/b> ")
                    && t.ends_with("<https://node.example/records/b#contact>")),
            "{text:?}"
        );
        assert!(
            text.iter().any(
                |t| t.starts_with("<https://node.example/records/b#contact> ")
                    && t.ends_with("<https://node.example/records/ab>")
            ),
            "{text:?}"
        );
    }

    fn q(s: &str, p: NamedNodeRef<'_>, o: impl Into<Term>) -> Quad {
        Quad::new(
            NamedNode::new_unchecked(s),
            p,
            o.into(),
            GraphName::DefaultGraph,
        )
    }

    #[test]
    fn record_space() {
        assert_eq!(
            record_of("https://node.example/records/a-1#x", BASE).as_deref(),
            Some("https://node.example/records/a-1")
        );
        assert_eq!(record_of("https://node.example/records/A", BASE), None);
        assert_eq!(record_of("https://other.example/records/a", BASE), None);
        assert_eq!(record_of("https://node.example/records/a/b", BASE), None);
    }

    #[test]
    fn splits_records_and_refuses_foreign_subjects() {
        let r = "https://node.example/records/guide";
        let quads = vec![
            q(r, rdf::TYPE, vocab::TOOL),
            q(
                &format!("{r}#contact"),
                vocab::DCT_TITLE,
                Literal::from("x"),
            ),
        ];
        let records = split_into_records(quads.clone(), BASE).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].triples.len(), 2);
        let mut bad = quads;
        bad.push(q("https://else.example/x", rdf::TYPE, vocab::TOOL));
        assert!(matches!(
            split_into_records(bad, BASE),
            Err(RecordError::ForeignSubject { .. })
        ));
    }

    #[test]
    fn stamping_replaces_version_and_keeps_content() {
        let r = NamedNode::new_unchecked("https://node.example/records/guide");
        let rec = Record::new(
            r.clone(),
            vec![Triple::new(r.clone(), rdf::TYPE, vocab::TOOL)],
        );
        let v1 = rec.stamped(1, "2026-01-01T00:00:00Z");
        let v2 = v1.stamped(2, "2026-01-02T00:00:00Z");
        assert_eq!(v2.version(), Some(2));
        assert_eq!(v2.modified(), Some("2026-01-02T00:00:00Z"));
        assert_eq!(v1.content_key(), v2.content_key());
        assert_eq!(v2.triples.len(), 3);
    }
}
