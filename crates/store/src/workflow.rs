//! What the validation workflow reads of the store: any version of a record
//! as the feed log holds it (a decision may be about a version that has
//! since been replaced), and the stored decisions about an initiative.

use crate::{NodeStore, StoreError, member_iri};
use ccis_integrity::signed::{SignedRecord, records_in};
use ccis_model::record::Record;
use ccis_model::{decision, vocab};
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::{GraphNameRef, NamedNode, NamedOrBlankNode, Quad, Term};
use std::collections::BTreeSet;

impl NodeStore {
    /// Version `version` of `record` as the feed log holds it (content
    /// only, exactly as signed), `None` if the store never held it.
    pub fn version(&self, record: &NamedNode, version: u64) -> Result<Option<Record>, StoreError> {
        let member = member_iri(record.as_str(), version);
        let feed = GraphNameRef::NamedNode(self.feed.as_ref());
        let found = self
            .store
            .quads_for_pattern(
                Some(member.as_ref().into()),
                Some(vocab::SIGNED_CONTENT),
                None,
                Some(feed),
            )
            .next()
            .transpose()
            .map_err(StoreError::read(
                format!("version {version} of <{}>", record.as_str()),
                self.feed.as_str(),
            ))?;
        let Some(Term::Literal(nquads)) = found.map(|q| q.object) else {
            return Ok(None);
        };
        let quads: Vec<Quad> = RdfParser::from_format(RdfFormat::NQuads)
            .for_slice(nquads.value().as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|cause| StoreError::MemberContent {
                member: member.as_str().to_owned(),
                cause,
            })?;
        Ok(records_in(&quads)
            .into_iter()
            .map(|f| f.record)
            .find(|r| r.iri == *record))
    }

    /// The stored decisions (`ccis:Validation`) whose `prov:used` version is
    /// of `initiative`, in IRI order.
    pub fn decisions_about(&self, initiative: &NamedNode) -> Result<Vec<SignedRecord>, StoreError> {
        let read = || {
            StoreError::read(
                format!("the decisions about <{}>", initiative.as_str()),
                initiative.as_str(),
            )
        };
        let mut graphs = BTreeSet::new();
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::PROV_SPECIALIZATION_OF),
            Some(initiative.as_ref().into()),
            None,
        ) {
            let q = q.map_err(read())?;
            if let (oxrdf::GraphName::NamedNode(g), NamedOrBlankNode::NamedNode(_)) =
                (q.graph_name, q.subject)
            {
                graphs.insert(g);
            }
        }
        let mut out = Vec::new();
        for g in graphs {
            if let Some(signed) = self.get(&g)?
                && decision::is_decision(&signed.record)
            {
                out.push(signed);
            }
        }
        Ok(out)
    }
}

impl NodeStore {
    /// The IRIs of the initiatives stored (current versions of type
    /// `ccis:Initiative`; withdrawn ones are tombstones and are not listed).
    pub fn initiatives(&self) -> Result<Vec<NamedNode>, StoreError> {
        let mut out = BTreeSet::new();
        for q in self.store.quads_for_pattern(
            None,
            Some(oxrdf::vocab::rdf::TYPE),
            Some(vocab::INITIATIVE.into()),
            None,
        ) {
            let q = q.map_err(StoreError::read("the initiatives", "every record graph"))?;
            if let (oxrdf::GraphName::NamedNode(g), NamedOrBlankNode::NamedNode(s)) =
                (q.graph_name, q.subject)
                && g == s
            {
                out.insert(g);
            }
        }
        Ok(out.into_iter().collect())
    }
}
