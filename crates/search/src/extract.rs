//! What the index keeps of one version from the feed log.

use crate::analysis::analyser_for;
use crate::schema::{Facet, Fields};
use ccis_model::vocab;
use ccis_store::FeedMember;
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::vocab::rdf;
use oxrdf::{GraphName, NamedOrBlankNode, Quad, Term};
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
    r.facets[Facet::Origin.index()].push(origin.to_owned());
    let quads = RdfParser::from_format(RdfFormat::NQuads)
        .for_slice(member.signed_nquads.as_bytes())
        .filter_map(Result::ok)
        .filter(|q| q.graph_name == GraphName::DefaultGraph)
        .filter(|q| matches!(&q.subject, NamedOrBlankNode::NamedNode(s) if *s == member.record));
    for q in quads {
        r.read(q);
    }
    let mut languages: Vec<String> = r
        .titles
        .iter()
        .chain(&r.descriptions)
        .map(|(tag, _)| primary_subtag(tag))
        .filter(|t| !t.is_empty())
        .collect();
    languages.sort();
    languages.dedup();
    r.facets[Facet::Language.index()] = languages;
    for values in &mut r.facets {
        values.sort();
        values.dedup();
    }
    r
}

fn primary_subtag(tag: &str) -> String {
    tag.split('-').next().unwrap_or("").to_ascii_lowercase()
}

impl IndexedRecord {
    fn read(&mut self, q: Quad) {
        let p = q.predicate.as_str();
        let facet = match p {
            _ if q.predicate == rdf::TYPE => {
                if let Term::NamedNode(class) = &q.object {
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
            _ if q.predicate.as_ref() == vocab::DCT_TITLE => return push_text(&mut self.titles, q),
            DESCRIPTION => return push_text(&mut self.descriptions, q),
            KEYWORDS => return push_text(&mut self.keywords, q),
            _ if q.predicate.as_ref() == vocab::DCT_SPATIAL => Facet::Country,
            SUBJECT => Facet::Theme,
            AUDIENCE => Facet::Audience,
            STAGE => Facet::Stage,
            TOOL_TYPE => Facet::ToolType,
            _ => return,
        };
        if let Term::NamedNode(value) = q.object {
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

fn push_text(into: &mut Vec<(String, String)>, q: Quad) {
    if let Term::Literal(l) = q.object {
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
