//! What the index keeps of one version from the feed log.

use crate::analysis::analyser_for;
use crate::schema::{Facet, Fields};
use ccis_model::record::Record;
use ccis_model::vocab;
use ccis_store::FeedMember;
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::vocab::rdf;
use oxrdf::{GraphName, NamedNode, NamedOrBlankNode, Term};
use std::collections::BTreeMap;
use tantivy::TantivyDocument;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `schema:keywords`.
const KEYWORDS: &str = "https://schema.org/keywords";
/// `dct:description`.
const DESCRIPTION: &str = "http://purl.org/dc/terms/description";
/// `dct:subject`.
const SUBJECT: &str = "http://purl.org/dc/terms/subject";
/// `dct:audience`.
const AUDIENCE: &str = "http://purl.org/dc/terms/audience";
/// `ccis:stage`.
const STAGE: &str = "https://w3id.org/ccis/ns#stage";
/// `ccis:toolType`.
const TOOL_TYPE: &str = "https://w3id.org/ccis/ns#toolType";

/// One version of a record as the index keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IndexedRecord {
    pub iri: String,
    pub version: u64,
    pub modified: String,
    pub withdrawn: bool,
    /// Values per facet, in [`Facet::ALL`] order.
    pub facets: [Vec<String>; 8],
    /// `(language tag, text)` of titles, descriptions and keywords.
    pub titles: Vec<(String, String)>,
    pub descriptions: Vec<(String, String)>,
    pub keywords: Vec<(String, String)>,
}

/// The record a feed member holds, its centre being `origin`.
pub(crate) fn from_member(member: &FeedMember, origin: &str) -> IndexedRecord {
    let mut r = IndexedRecord {
        iri: member.record.as_str().to_owned(),
        version: member.version,
        modified: member.modified.clone(),
        ..IndexedRecord::default()
    };
    // The log holds what was verified when it was stored: read it without
    // checking every IRI again.
    let quads = RdfParser::from_format(RdfFormat::NQuads)
        .lenient()
        .for_slice(member.signed_nquads.as_bytes())
        .filter_map(Result::ok)
        .filter(|q| q.graph_name == GraphName::DefaultGraph)
        .filter(|q| matches!(&q.subject, NamedOrBlankNode::NamedNode(s) if *s == member.record));
    for q in quads {
        r.read(q.predicate, q.object);
    }
    r.finish(origin);
    r
}

/// A version as it is being stored (the same as [`from_member`] reads
/// back from the log), its centre being `origin`.
pub(crate) fn from_record(record: &Record, origin: &str) -> IndexedRecord {
    let mut r = IndexedRecord {
        iri: record.iri.as_str().to_owned(),
        version: record.version().unwrap_or(0),
        modified: record.modified().unwrap_or_default().to_owned(),
        ..IndexedRecord::default()
    };
    let statements = record
        .triples
        .iter()
        .filter(|t| matches!(&t.subject, NamedOrBlankNode::NamedNode(s) if *s == record.iri));
    for t in statements {
        r.read(t.predicate.clone(), t.object.clone());
    }
    r.finish(origin);
    r
}

impl IndexedRecord {
    /// Adds the origin and the languages, and sorts every facet's values.
    fn finish(&mut self, origin: &str) {
        self.facets[Facet::Origin.index()].push(origin.to_owned());
        let mut languages: Vec<String> = self
            .titles
            .iter()
            .chain(&self.descriptions)
            .map(|(tag, _)| primary_subtag(tag))
            .filter(|t| !t.is_empty())
            .collect();
        languages.sort();
        languages.dedup();
        self.facets[Facet::Language.index()] = languages;
        for values in &mut self.facets {
            values.sort();
            values.dedup();
        }
    }
}

fn primary_subtag(tag: &str) -> String {
    tag.split('-').next().unwrap_or("").to_ascii_lowercase()
}

impl IndexedRecord {
    /// Takes what the index keeps of one statement about the record.
    fn read(&mut self, predicate: NamedNode, object: Term) {
        let p = predicate.as_str();
        let facet = match p {
            _ if predicate == rdf::TYPE => {
                if let Term::NamedNode(class) = &object {
                    if class.as_ref() == vocab::WITHDRAWN {
                        self.withdrawn = true;
                    }
                    if vocab::RECORD_CLASSES
                        .iter()
                        .any(|(c, _)| *c == class.as_ref())
                    {
                        self.facets[Facet::RecordType.index()].push(class.as_str().to_owned());
                    }
                }
                return;
            }
            _ if predicate.as_ref() == vocab::DCT_TITLE => {
                return push_text(&mut self.titles, object);
            }
            DESCRIPTION => return push_text(&mut self.descriptions, object),
            KEYWORDS => return push_text(&mut self.keywords, object),
            _ if predicate.as_ref() == vocab::DCT_SPATIAL => Facet::Country,
            SUBJECT => Facet::Theme,
            AUDIENCE => Facet::Audience,
            STAGE => Facet::Stage,
            TOOL_TYPE => Facet::ToolType,
            _ => return,
        };
        if let Term::NamedNode(value) = object {
            self.facets[facet.index()].push(value.into_string());
        }
    }

    /// The tantivy document of this record.
    pub fn to_document(&self, fields: &Fields) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(fields.iri, &self.iri);
        doc.add_bool(fields.withdrawn, self.withdrawn);
        doc.add_text(fields.modified, &self.modified);
        doc.add_i64(fields.modified_ts, timestamp(&self.modified));
        doc.add_u64(fields.version, self.version);
        for (facet, values) in fields.facets.iter().zip(&self.facets) {
            for v in values {
                doc.add_text(*facet, v);
            }
        }
        for (texts, title) in [
            (&self.titles, true),
            (&self.descriptions, false),
            (&self.keywords, false),
        ] {
            for (tag, text) in texts {
                let Some((t, b)) = fields.text_of(analyser_for(tag)) else {
                    continue;
                };
                doc.add_text(if title { t } else { b }, text);
            }
        }
        doc.add_text(fields.titles, by_language(&self.titles));
        doc.add_text(fields.descriptions, by_language(&self.descriptions));
        doc
    }
}

fn push_text(into: &mut Vec<(String, String)>, object: Term) {
    if let Term::Literal(l) = object {
        let tag = l.language().unwrap_or("").to_owned();
        into.push((tag, l.value().to_owned()));
    }
}

/// Texts as a JSON object by language tag (`""` for none).
fn by_language(texts: &[(String, String)]) -> String {
    let map: BTreeMap<&str, &str> = texts
        .iter()
        .map(|(l, t)| (l.as_str(), t.as_str()))
        .collect();
    serde_json::to_string(&map).unwrap_or_default()
}

/// Seconds since the epoch of an `xsd:dateTime`; 0 if it does not parse.
pub(crate) fn timestamp(modified: &str) -> i64 {
    OffsetDateTime::parse(modified, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{modified}Z"), &Rfc3339))
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}
