//! Reading RDF files: format by extension, size limit, errors with line and
//! column, JSON-LD with pinned contexts only and no silently dropped term.

use crate::vocab;
use oxigraph::io::{JsonLdProfileSet, LoadedDocument, RdfFormat, RdfParser, RdfSyntaxError};
use oxrdf::{NamedOrBlankNode, Quad, Term};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Largest input file accepted by default (8 MiB).
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// What `@vocab` maps terms to when no pinned context defines them.
const UNDEFINED_TERM: &str = "urn:x-ccis:undefined-term:";

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Turtle (`.ttl`).
    Turtle,
    /// N-Triples (`.nt`).
    NTriples,
    /// N-Quads (`.nq`).
    NQuads,
    /// TriG (`.trig`).
    TriG,
    /// JSON-LD (`.jsonld`, `.json`).
    JsonLd,
}

impl InputFormat {
    /// The format named on the command line (`turtle`, `ntriples`, `nquads`, `trig`, `jsonld`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "turtle" | "ttl" => Self::Turtle,
            "ntriples" | "nt" | "n-triples" => Self::NTriples,
            "nquads" | "nq" | "n-quads" => Self::NQuads,
            "trig" => Self::TriG,
            "jsonld" | "json-ld" | "json" => Self::JsonLd,
            _ => return None,
        })
    }

    /// The format of a file, from its extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        Self::from_name(path.extension()?.to_str()?)
    }

    /// The format of a media type (`text/turtle`, `application/ld+json`…).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type_of(Some(media_type));
        Some(match essence.as_str() {
            "text/turtle" => Self::Turtle,
            "application/n-triples" => Self::NTriples,
            "application/n-quads" => Self::NQuads,
            "application/trig" => Self::TriG,
            "application/ld+json" | "application/json" => Self::JsonLd,
            _ => return None,
        })
    }

    fn rdf_format(self) -> RdfFormat {
        match self {
            Self::Turtle => RdfFormat::Turtle,
            Self::NTriples => RdfFormat::NTriples,
            Self::NQuads => RdfFormat::NQuads,
            Self::TriG => RdfFormat::TriG,
            Self::JsonLd => RdfFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        }
    }
}

/// The media type of a `Content-Type` value: lowercased, without parameters
/// (`"text/turtle; charset=utf-8"` → `"text/turtle"`); empty if none.
pub fn media_type_of(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// An input that cannot be read, with where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct InputError {
    /// The file (or request) the input came from.
    pub source_name: String,
    /// Line and column, from 1, when known.
    pub location: Option<(u64, u64)>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    fn new(source_name: &str, location: Option<(u64, u64)>, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_owned(),
            location,
            message: message.into(),
        }
    }
}

/// The JSON-LD contexts a node may use, by URL. Contexts are never fetched.
#[derive(Debug, Clone)]
pub struct PinnedContexts {
    documents: HashMap<String, Arc<Vec<u8>>>,
}

impl Default for PinnedContexts {
    /// The contexts built into the binary: ccis and W3C Data Integrity v2.
    fn default() -> Self {
        let mut set = Self {
            documents: HashMap::new(),
        };
        set.insert(
            vocab::CONTEXT_URL,
            vocab::CONTEXT_JSONLD.as_bytes().to_vec(),
        );
        set.insert(
            vocab::DATA_INTEGRITY_CONTEXT_URL,
            vocab::DATA_INTEGRITY_CONTEXT_JSONLD.as_bytes().to_vec(),
        );
        set
    }
}

impl PinnedContexts {
    /// Pins one more context document under `url`.
    pub fn insert(&mut self, url: &str, document: Vec<u8>) {
        self.documents.insert(url.to_owned(), Arc::new(document));
    }

    /// Whether a context URL is pinned.
    pub fn contains(&self, url: &str) -> bool {
        self.documents.contains_key(url)
    }
}

/// Reads a whole file, refusing it when larger than `max_bytes`.
pub fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| InputError::new(&name, None, e.to_string()))?;
    if meta.len() > max_bytes {
        return Err(InputError::new(
            &name,
            None,
            format!(
                "file is {} bytes, over the limit of {max_bytes} bytes",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| InputError::new(&name, None, e.to_string()))
}

/// Parses RDF into quads. Relative IRIs resolve against `base_iri`.
pub fn parse(
    bytes: &[u8],
    format: InputFormat,
    base_iri: Option<&str>,
    source_name: &str,
    contexts: &PinnedContexts,
) -> Result<Vec<Quad>, InputError> {
    let prepared;
    let input: &[u8] = if format == InputFormat::JsonLd {
        prepared = prepare_json_ld(bytes, source_name, contexts)?;
        &prepared
    } else {
        bytes
    };
    let mut parser = RdfParser::from_format(format.rdf_format());
    if let Some(base) = base_iri {
        parser = parser
            .with_base_iri(base)
            .map_err(|e| InputError::new(source_name, None, format!("bad base IRI: {e}")))?;
    }
    let pinned = contexts.documents.clone();
    let parser = parser
        .for_slice(input)
        .with_document_loader(move |url| match pinned.get(url) {
            Some(doc) => Ok(LoadedDocument {
                url: url.to_owned(),
                content: doc.as_ref().clone(),
                format: RdfFormat::JsonLd {
                    profile: JsonLdProfileSet::empty(),
                },
            }),
            None => Err(
                format!("JSON-LD context {url} is not pinned; contexts are never fetched").into(),
            ),
        });
    let mut quads = Vec::new();
    for result in parser {
        let quad = result.map_err(|e| syntax_error(e, source_name, format))?;
        if format == InputFormat::JsonLd {
            check_defined_terms(&quad, source_name)?;
        }
        quads.push(quad);
    }
    Ok(quads)
}

fn syntax_error(e: RdfSyntaxError, source_name: &str, format: InputFormat) -> InputError {
    // JSON-LD positions refer to the rewritten document; they are not shown.
    let location = e
        .location()
        .filter(|_| format != InputFormat::JsonLd)
        .map(|r| (r.start.line + 1, r.start.column + 1));
    InputError::new(source_name, location, e.to_string())
}

/// Checks JSON syntax and contexts, then maps undefined terms to a marker IRI
/// (through `@vocab`) so that they are reported instead of silently dropped.
fn prepare_json_ld(
    bytes: &[u8],
    source_name: &str,
    contexts: &PinnedContexts,
) -> Result<Vec<u8>, InputError> {
    let mut doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        InputError::new(
            source_name,
            Some((e.line() as u64, e.column() as u64)),
            format!("invalid JSON: {e}"),
        )
    })?;
    check_context_urls(&doc, source_name, contexts)?;
    let marker = serde_json::json!({ "@vocab": UNDEFINED_TERM });
    let wrap = |node: &mut serde_json::Map<String, Value>| {
        let ctx = node.remove("@context");
        let list = match ctx {
            None => vec![marker.clone()],
            Some(Value::Array(mut items)) => {
                items.insert(0, marker.clone());
                items
            }
            Some(other) => vec![marker.clone(), other],
        };
        node.insert("@context".into(), Value::Array(list));
    };
    mark_after_resets(&mut doc, &marker);
    match &mut doc {
        Value::Object(node) => wrap(node),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(node) = item {
                    wrap(node);
                }
            }
        }
        _ => {
            return Err(InputError::new(
                source_name,
                None,
                "a JSON-LD document must be an object or an array",
            ));
        }
    }
    serde_json::to_vec(&doc).map_err(|e| InputError::new(source_name, None, e.to_string()))
}

/// A `"@context": null` resets the active context, marker included: put the
/// marker back right after every reset, at any depth.
fn mark_after_resets(value: &mut Value, marker: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(ctx) = map.get_mut("@context") {
                match ctx {
                    Value::Null => *ctx = Value::Array(vec![Value::Null, marker.clone()]),
                    Value::Array(items) => {
                        let mut i = 0;
                        while i < items.len() {
                            if items[i].is_null() {
                                items.insert(i + 1, marker.clone());
                                i += 1;
                            }
                            i += 1;
                        }
                    }
                    _ => {}
                }
            }
            for (key, v) in map.iter_mut() {
                if key != "@context" {
                    mark_after_resets(v, marker);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mark_after_resets(v, marker)),
        _ => {}
    }
}

fn check_context_urls(
    value: &Value,
    source_name: &str,
    contexts: &PinnedContexts,
) -> Result<(), InputError> {
    match value {
        Value::Object(map) => {
            if let Some(ctx) = map.get("@context") {
                let refs: Vec<&Value> = match ctx {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for r in refs {
                    if let Value::String(url) = r
                        && !contexts.contains(url)
                    {
                        return Err(InputError::new(
                            source_name,
                            None,
                            format!(
                                "JSON-LD context {url} is not one of the pinned contexts ({}); contexts are never fetched",
                                pinned_list(contexts)
                            ),
                        ));
                    }
                }
            }
            map.values()
                .try_for_each(|v| check_context_urls(v, source_name, contexts))
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|v| check_context_urls(v, source_name, contexts)),
        _ => Ok(()),
    }
}

fn pinned_list(contexts: &PinnedContexts) -> String {
    let mut urls: Vec<&str> = contexts.documents.keys().map(String::as_str).collect();
    urls.sort_unstable();
    urls.join(", ")
}

fn check_defined_terms(quad: &Quad, source_name: &str) -> Result<(), InputError> {
    let undefined = |iri: &str| iri.strip_prefix(UNDEFINED_TERM).map(str::to_owned);
    let mut found = undefined(quad.predicate.as_str());
    if found.is_none()
        && let Term::NamedNode(o) = &quad.object
    {
        found = undefined(o.as_str());
    }
    if found.is_none()
        && let NamedOrBlankNode::NamedNode(s) = &quad.subject
    {
        found = undefined(s.as_str());
    }
    match found {
        Some(term) => Err(InputError::new(
            source_name,
            None,
            format!("JSON-LD term \"{term}\" is not defined by any pinned context"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turtle_errors_name_line_and_column() {
        let err = parse(
            b"@prefix ex: <http://ex/> .\nex:a ex:b ex:c ;\n  ex:d \"open .\n",
            InputFormat::Turtle,
            None,
            "broken.ttl",
            &PinnedContexts::default(),
        )
        .unwrap_err();
        assert_eq!(err.source_name, "broken.ttl");
        assert_eq!(err.location.map(|(l, _)| l), Some(3), "{err}");
    }

    #[test]
    fn json_ld_with_our_context_parses_and_unknown_terms_are_named() {
        let ok = br#"{"@context": "https://w3id.org/ccis/context.jsonld",
            "id": "http://ex/records/a", "type": "Tool", "title": {"@value": "T", "@language": "en"}}"#;
        let quads = parse(
            ok,
            InputFormat::JsonLd,
            None,
            "a.jsonld",
            &PinnedContexts::default(),
        )
        .unwrap();
        assert_eq!(quads.len(), 2);
        let unknown = br#"{"@context": "https://w3id.org/ccis/context.jsonld",
            "id": "http://ex/records/a", "type": "Tool", "titel": "T"}"#;
        let err = parse(
            unknown,
            InputFormat::JsonLd,
            None,
            "a.jsonld",
            &PinnedContexts::default(),
        )
        .unwrap_err();
        assert!(err.message.contains("\"titel\""), "{err}");
        let reset = br#"{"@context": "https://w3id.org/ccis/context.jsonld",
            "id": "http://ex/records/a", "type": "Tool",
            "relation": {"@context": null, "@id": "http://ex/records/a#x", "unknown": "T"}}"#;
        let err = parse(
            reset,
            InputFormat::JsonLd,
            None,
            "a.jsonld",
            &PinnedContexts::default(),
        )
        .unwrap_err();
        assert!(err.message.contains("\"unknown\""), "{err}");
        let remote = br#"{"@context": "https://example.org/ctx.jsonld", "id": "http://ex/a"}"#;
        let err = parse(
            remote,
            InputFormat::JsonLd,
            None,
            "a.jsonld",
            &PinnedContexts::default(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("not one of the pinned contexts"),
            "{err}"
        );
    }
}
