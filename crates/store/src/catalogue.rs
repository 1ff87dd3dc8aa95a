//! Stored records and the catalogue that describes them, in the graph
//! `<{base}/catalogue>`:
//!
//! ```text
//! <{base}/catalogue> a dcat:Catalog ; dcat:record <{base}/catalogue/records/{h}> .
//! <{base}/catalogue/records/{h}> a dcat:CatalogRecord ;
//!     foaf:primaryTopic <R> ; ccis:version 3 ; ccis:status "current" ;
//!     ccis:originNode <{origin base}/node> ;       # the node whose base prefixes R
//!     dct:source <{peer base}/node> ;              # the node it came from (this one if published here)
//!     prov:generatedAtTime "…"^^xsd:dateTime ;
//!     ccis:verification <did:key:z6Mk…#z6Mk…> ;   # the verification method that signed it
//!     ccis:proofGraph <R/proof> .
//! <{origin base}/node> dct:identifier "fr-avise" .  # its id in this node's peers.toml
//! <R> sec:proof <R/proof> .
//! ```
//!
//! Provenance is given as IRIs: a node is named by `{base}/node`, the IRI
//! its `GET /node` describes, so queries can follow it (or `SERVICE` it) and
//! group by it. Stores written before this layout hold the same three as
//! plain literals (id, base URL or `local`, verification method): they are
//! read back all the same, and rewritten as IRIs (the id moved to the origin
//! node's `dct:identifier`) when the store is next opened for writing.

use crate::{NodeStore, QuadReader, StoreError, StoreMeta};
use ccis_integrity::proof::Proof;
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use ccis_model::vocab;
use oxigraph::store::StorageError;
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    GraphName, GraphNameRef, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, QuadRef,
    Term, Triple,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Catalogue metadata of one stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The record IRI.
    pub record: NamedNode,
    /// Stored version.
    pub version: u64,
    /// `current` or `withdrawn`.
    pub status: String,
    /// Id of the node that originated it (as this node's `peers.toml` or
    /// configuration names it).
    pub origin: String,
    /// IRI of the node that originated it, `{origin base}/node`.
    pub origin_node: NamedNode,
    /// Where it came from: `local` (published here) or the peer's base URL.
    pub source: String,
    /// When it was stored.
    pub stored_at: String,
    /// The verification method that signed it.
    pub verified_with: String,
}

/// The IRI of the node at `base`: `{base}/node`, what its `GET /node` describes.
pub fn node_iri(base: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{}/node", base.trim_end_matches('/')))
}

/// The base URL of the node that originates a record: its IRI is
/// `{base}/records/{slug}` and a slug has no `/`.
pub(crate) fn origin_base(record: &str) -> Option<&str> {
    let (base, slug) = record.rsplit_once("/records/")?;
    (!base.is_empty() && !slug.is_empty() && !slug.contains(['/', '#'])).then_some(base)
}

/// The graph holding a record's proof.
pub(crate) fn proof_graph(record: &NamedNode) -> NamedNode {
    NamedNode::new_unchecked(format!("{}/proof", record.as_str()))
}

/// A literal or IRI object as text.
fn text(term: &Term) -> String {
    match term {
        Term::Literal(l) => l.value().to_owned(),
        Term::NamedNode(n) => n.as_str().to_owned(),
        other => other.to_string(),
    }
}

impl NodeStore {
    /// The catalogue record describing `record`.
    pub(crate) fn catalogue_record(&self, record: &NamedNode) -> NamedNode {
        let digest = Sha256::digest(record.as_str().as_bytes());
        NamedNode::new_unchecked(format!(
            "{}/records/{}",
            self.catalogue.as_str(),
            hex::encode(&digest[..16])
        ))
    }

    fn catalogue_graph(&self) -> GraphNameRef<'_> {
        GraphNameRef::NamedNode(self.catalogue.as_ref())
    }

    /// The catalogue entry of a record, if stored.
    pub fn entry(&self, record: &NamedNode) -> Result<Option<CatalogueEntry>, StoreError> {
        self.entry_with(record, &mut HashMap::new())
    }

    /// [`Self::entry`], with the ids of the origin nodes read so far.
    fn entry_with(
        &self,
        record: &NamedNode,
        ids: &mut HashMap<NamedNode, String>,
    ) -> Result<Option<CatalogueEntry>, StoreError> {
        let read = || {
            StoreError::read(
                format!("the catalogue entry of <{}>", record.as_str()),
                self.catalogue.as_str(),
            )
        };
        let cr = self.catalogue_record(record);
        let quads: Vec<Quad> = self
            .store
            .quads_for_pattern(
                Some(cr.as_ref().into()),
                None,
                None,
                Some(self.catalogue_graph()),
            )
            .collect::<Result<_, _>>()
            .map_err(read())?;
        if quads.is_empty() {
            return Ok(None);
        }
        let mut entry = self.entry_of(record, quads);
        if entry.origin.is_empty() {
            entry.origin = match ids.get(&entry.origin_node) {
                Some(id) => id.clone(),
                None => {
                    let id = self.node_id(&entry.origin_node).map_err(read())?;
                    ids.insert(entry.origin_node.clone(), id.clone());
                    id
                }
            };
        }
        Ok(Some(entry))
    }

    /// The entry that the statements of a record's catalogue record give
    /// (`origin` left empty when the origin is given as an IRI).
    fn entry_of(&self, record: &NamedNode, quads: Vec<Quad>) -> CatalogueEntry {
        let mut entry = CatalogueEntry {
            record: record.clone(),
            version: 0,
            status: String::new(),
            origin: String::new(),
            origin_node: node_iri(origin_base(record.as_str()).unwrap_or(record.as_str())),
            source: String::new(),
            stored_at: String::new(),
            verified_with: String::new(),
        };
        for q in quads {
            match q.predicate.as_ref() {
                p if p == vocab::VERSION => entry.version = text(&q.object).parse().unwrap_or(0),
                p if p == vocab::STATUS => entry.status = text(&q.object),
                p if p == vocab::ORIGIN_NODE => match q.object {
                    Term::NamedNode(node) => entry.origin_node = node,
                    // Written before provenance was given as IRIs: the id.
                    other => entry.origin = text(&other),
                },
                p if p == vocab::DCT_SOURCE => entry.source = self.source_of(&q.object),
                p if p == vocab::PROV_GENERATED_AT => entry.stored_at = text(&q.object),
                p if p == vocab::VERIFICATION => entry.verified_with = text(&q.object),
                _ => {}
            }
        }
        entry
    }

    /// What [`CatalogueEntry::source`] says for a stored `dct:source`.
    fn source_of(&self, stored: &Term) -> String {
        match stored {
            Term::NamedNode(n) if *n == self.node() => "local".to_owned(),
            Term::NamedNode(n) => n
                .as_str()
                .strip_suffix("/node")
                .unwrap_or(n.as_str())
                .to_owned(),
            other => text(other),
        }
    }

    /// The id the catalogue gives a node (`dct:identifier`); the smallest if
    /// it was given several (the node was renamed in `peers.toml`).
    fn node_id(&self, node: &NamedNode) -> Result<String, StorageError> {
        let mut ids = Vec::new();
        for q in self.store.quads_for_pattern(
            Some(node.as_ref().into()),
            Some(vocab::DCT_IDENTIFIER),
            None,
            Some(self.catalogue_graph()),
        ) {
            ids.push(text(&q?.object));
        }
        Ok(ids.into_iter().min().unwrap_or_default())
    }

    /// All catalogue entries, sorted by record IRI.
    pub fn entries(&self) -> Result<Vec<CatalogueEntry>, StoreError> {
        let mut records = Vec::new();
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::FOAF_PRIMARY_TOPIC),
            None,
            Some(self.catalogue_graph()),
        ) {
            let q = q.map_err(StoreError::read(
                "the catalogued records",
                self.catalogue.as_str(),
            ))?;
            if let Term::NamedNode(r) = q.object {
                records.push(r);
            }
        }
        records.sort();
        let mut ids = HashMap::new();
        let mut entries = Vec::with_capacity(records.len());
        for r in &records {
            entries.extend(self.entry_with(r, &mut ids)?);
        }
        Ok(entries)
    }

    /// Whether the catalogue describes `record` (one point lookup).
    pub(crate) fn is_catalogued(&self, record: &NamedNode) -> Result<bool, StorageError> {
        let cr = self.catalogue_record(record);
        self.store.contains(QuadRef::new(
            &cr,
            rdf::TYPE,
            vocab::DCAT_CATALOG_RECORD,
            self.catalogue_graph(),
        ))
    }

    /// The stored record (current content) and its proof.
    pub fn get(&self, record: &NamedNode) -> Result<Option<SignedRecord>, StoreError> {
        // Worded only if a read fails: a harvest asks for every record it reads.
        fn read<'a>(
            what: &'static str,
            record: &'a NamedNode,
            graph: &'a NamedNode,
        ) -> impl Fn(StorageError) -> StoreError + 'a {
            StoreError::read_lazily(
                move || format!("{what} of <{}>", record.as_str()),
                graph.as_str(),
            )
        }
        // Most records asked for by a harvest are new: one point lookup says so.
        if !self
            .store
            .contains_named_graph(record)
            .map_err(read("the content", record, record))?
        {
            return Ok(None);
        }
        let triples: Vec<Triple> = self
            .store
            .quads_for_pattern(None, None, None, Some(record.as_ref().into()))
            .map(|q| q.map(Triple::from))
            .collect::<Result<_, _>>()
            .map_err(read("the content", record, record))?;
        if triples.is_empty() {
            return Ok(None);
        }
        let pg = proof_graph(record);
        let proof_quads: Vec<Quad> = self
            .store
            .quads_for_pattern(None, None, None, Some(pg.as_ref().into()))
            .collect::<Result<_, _>>()
            .map_err(read("the proof", record, &pg))?;
        let proof = Proof::from_quads(&NamedOrBlankNode::NamedNode(pg), &proof_quads);
        Ok(Some(SignedRecord {
            record: Record::new(record.clone(), triples),
            proof,
        }))
    }

    /// The version of `record` stored as `reader` sees it (0 if none).
    pub(crate) fn stored_version_in(
        &self,
        reader: &dyn QuadReader,
        record: &NamedNode,
    ) -> Result<u64, StorageError> {
        let cr = self.catalogue_record(record);
        let found = reader
            .quads(
                Some(cr.as_ref().into()),
                Some(vocab::VERSION),
                None,
                Some(self.catalogue_graph()),
            )
            .next()
            .transpose()?;
        Ok(match found.map(|q| q.object) {
            Some(Term::Literal(l)) => l.value().parse().unwrap_or(0),
            _ => 0,
        })
    }

    /// The quads of a record's catalogue record that a new version replaces
    /// (all of them: its `dcat:CatalogRecord` statements).
    pub(crate) fn catalogue_record_quads_in(
        &self,
        reader: &dyn QuadReader,
        record: &NamedNode,
    ) -> Result<Vec<Quad>, StorageError> {
        let cr = self.catalogue_record(record);
        reader
            .quads(
                Some(cr.as_ref().into()),
                None,
                None,
                Some(self.catalogue_graph()),
            )
            .collect()
    }

    /// Every quad a stored version adds: its content, its proof and its
    /// catalogue record with its provenance (the feed log entry aside).
    pub(crate) fn record_quads(
        &self,
        signed: &SignedRecord,
        meta: &StoreMeta,
    ) -> Result<Vec<Quad>, StoreError> {
        let iri = &signed.record.iri;
        let provenance = self.provenance(iri, meta)?;
        let pg = proof_graph(iri);
        let mut quads = signed.record.quads_in(&GraphName::NamedNode(iri.clone()));
        quads.extend(signed.proof.to_quads(
            &NamedOrBlankNode::NamedNode(pg.clone()),
            &GraphName::NamedNode(pg),
        ));
        self.catalogue_quads(&signed.record, meta, provenance, &mut quads);
        Ok(quads)
    }

    /// The catalogue's statements about a stored version: its catalogue
    /// record, its origin node's id, and the links from the catalogue and
    /// to the proof graph.
    fn catalogue_quads(
        &self,
        record: &Record,
        meta: &StoreMeta,
        provenance: Provenance,
        quads: &mut Vec<Quad>,
    ) {
        let iri = &record.iri;
        let pg = proof_graph(iri);
        let cr = self.catalogue_record(iri);
        let cat = GraphName::NamedNode(self.catalogue.clone());
        let version = record.version().unwrap_or(0);
        let status = if record.is_withdrawn() {
            "withdrawn"
        } else {
            "current"
        };
        let statements: [(NamedNodeRef<'_>, Term); 9] = [
            (rdf::TYPE, vocab::DCAT_CATALOG_RECORD.into()),
            (vocab::FOAF_PRIMARY_TOPIC, iri.clone().into()),
            (
                vocab::VERSION,
                Literal::new_typed_literal(version.to_string(), xsd::INTEGER).into(),
            ),
            (vocab::STATUS, Literal::new_simple_literal(status).into()),
            (vocab::ORIGIN_NODE, provenance.origin.clone().into()),
            (vocab::DCT_SOURCE, provenance.source.into()),
            (
                vocab::PROV_GENERATED_AT,
                Literal::new_typed_literal(meta.stored_at.as_str(), xsd::DATE_TIME).into(),
            ),
            (vocab::VERIFICATION, provenance.verification.into()),
            (vocab::PROOF_GRAPH, pg.clone().into()),
        ];
        for (p, o) in statements {
            quads.push(Quad::new(cr.clone(), p, o, cat.clone()));
        }
        let links = [
            (
                provenance.origin.into(),
                vocab::DCT_IDENTIFIER,
                Literal::new_simple_literal(&meta.origin).into(),
            ),
            (
                self.catalogue.clone().into(),
                rdf::TYPE,
                vocab::DCAT_CATALOG.into(),
            ),
            (self.catalogue.clone().into(), vocab::DCAT_RECORD, cr.into()),
            (iri.clone().into(), vocab::SEC_PROOF, pg.into()),
        ];
        for (s, p, o) in links {
            let (s, o): (NamedOrBlankNode, Term) = (s, o);
            quads.push(Quad::new(s, p, o, cat.clone()));
        }
    }

    /// The provenance of a version as IRIs: origin node, source node and
    /// verification method.
    fn provenance(&self, record: &NamedNode, meta: &StoreMeta) -> Result<Provenance, StoreError> {
        let not_an_iri = |field: &'static str, value: &str| {
            let value = value.to_owned();
            move |cause| StoreError::NotAnIri {
                record: record.as_str().to_owned(),
                field,
                value,
                cause,
            }
        };
        let base = origin_base(record.as_str()).ok_or_else(|| StoreError::NotARecordIri {
            record: record.as_str().to_owned(),
        })?;
        let source = if meta.source == "local" {
            self.node()
        } else {
            let base = meta.source.trim_end_matches('/');
            NamedNode::new(format!("{base}/node")).map_err(not_an_iri("source", &meta.source))?
        };
        Ok(Provenance {
            origin: node_iri(base),
            source,
            verification: NamedNode::new(&meta.verified_with)
                .map_err(not_an_iri("verified_with", &meta.verified_with))?,
        })
    }
}

/// Where a version comes from, as the catalogue names it.
struct Provenance {
    /// `{origin base}/node`.
    origin: NamedNode,
    /// `{peer base}/node`, or this node's IRI for its own versions.
    source: NamedNode,
    /// The verification method.
    verification: NamedNode,
}
