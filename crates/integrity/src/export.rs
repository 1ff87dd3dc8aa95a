//! Signed records written out as RDF datasets or JSON-LD documents.

use crate::signed::SignedRecord;
use ccis_model::vocab;
use oxigraph::io::{RdfFormat, RdfSerializer};

/// Formats signed records are exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// TriG: each record in the graph named by its IRI, its proof in its own graph.
    Trig,
    /// N-Quads, same layout as TriG.
    Nquads,
    /// JSON-LD secured documents (one object, or an array of them).
    Jsonld,
}

/// Why signed records could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing RDF failed.
    #[error("cannot write RDF: {0}")]
    Rdf(#[from] std::io::Error),
    /// Writing JSON failed.
    #[error("cannot write JSON-LD: {0}")]
    Json(#[from] serde_json::Error),
    /// A prefix was refused by the serializer.
    #[error("cannot declare a prefix: {0}")]
    Prefix(#[from] oxiri::IriParseError),
}

/// Serializes signed records in an export format.
pub fn serialize_records(
    records: &[SignedRecord],
    format: ExportFormat,
) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Jsonld => json_ld(records),
        ExportFormat::Trig => dataset(records, RdfFormat::TriG),
        ExportFormat::Nquads => dataset(records, RdfFormat::NQuads),
    }
}

fn json_ld(records: &[SignedRecord]) -> Result<Vec<u8>, ExportError> {
    let docs: Vec<_> = records.iter().map(SignedRecord::to_json_ld).collect();
    let value = match docs.as_slice() {
        [one] => one.clone(),
        _ => serde_json::Value::Array(docs),
    };
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn dataset(records: &[SignedRecord], format: RdfFormat) -> Result<Vec<u8>, ExportError> {
    let mut serializer = RdfSerializer::from_format(format)
        .with_prefix("dct", vocab::DCT)?
        .with_prefix("ccis", vocab::CCIS)?
        .with_prefix("sec", vocab::SEC)?
        .with_prefix("schema", vocab::SCHEMA)?
        .for_writer(Vec::new());
    for r in records {
        for q in r.to_quads() {
            serializer.serialize_quad(&q)?;
        }
    }
    Ok(serializer.finish()?)
}
