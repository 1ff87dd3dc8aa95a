//! The feed log: every stored version in publishing order, the source of the
//! LDES feed. Entries live in the graph `<{base}/feed>`:
//!
//! ```text
//! <{base}/feed> ccis:memberCount 42 ; ccis:pageSize 250 .
//! <R/versions/3> dct:isVersionOf <R> ; ccis:version 3 ; dct:modified "…" ;
//!     ccis:feedPosition 41 ; ccis:signedContent "…N-Quads…" .
//! ```
//!
//! `ccis:signedContent` holds the version with its proof as N-Quads exactly as
//! it was signed or verified, so the feed serves the same bytes to every
//! harvester whatever Oxigraph does to typed literals.

use super::{NodeStore, StoreMeta};
use crate::signed::SignedRecord;
use crate::vocab;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::store::{StorageError, Transaction};
use oxrdf::vocab::xsd;
use oxrdf::{GraphName, GraphNameRef, Literal, NamedNode, NamedNodeRef, Quad, QuadRef, Term};

/// One version in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMember {
    /// Its place in the feed, from 0.
    pub position: u64,
    /// The member IRI: `{record}/versions/{version}`.
    pub member: NamedNode,
    /// The record it is a version of.
    pub record: NamedNode,
    /// The version number.
    pub version: u64,
    /// The record's `dct:modified`.
    pub modified: String,
    /// The version with its proof, as N-Quads (content in the default graph).
    pub signed_nquads: String,
}

/// The member IRI of one version of a record.
pub fn member_iri(record: &str, version: u64) -> NamedNode {
    NamedNode::new_unchecked(format!("{record}/versions/{version}"))
}

fn integer(n: u64) -> Literal {
    Literal::new_typed_literal(n.to_string(), xsd::INTEGER)
}

fn as_u64(term: &Term) -> Option<u64> {
    match term {
        Term::Literal(l) => l.value().parse().ok(),
        _ => None,
    }
}

/// The version with its proof as N-Quads, content in the default graph.
pub fn signed_nquads(signed: &SignedRecord) -> Result<String, std::io::Error> {
    let mut serializer = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(Vec::new());
    for q in signed.to_document_quads() {
        serializer.serialize_quad(&q)?;
    }
    let bytes = serializer.finish()?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl NodeStore {
    /// The IRI of the node's event stream (also the name of the feed graph).
    pub fn feed(&self) -> &NamedNode {
        &self.feed
    }

    fn feed_graph(&self) -> GraphNameRef<'_> {
        GraphNameRef::NamedNode(self.feed.as_ref())
    }

    fn feed_number(
        &self,
        reader: &Transaction<'_>,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Option<u64>, StorageError> {
        // The largest: a bulk write adds the new count beside the old one,
        // which a transaction removes afterwards (both only ever grow).
        let mut max = None;
        for q in reader.quads_for_pattern(
            Some(self.feed.as_ref().into()),
            Some(predicate),
            None,
            Some(self.feed_graph()),
        ) {
            if let Some(n) = as_u64(&q?.object) {
                max = max.max(Some(n));
            }
        }
        Ok(max)
    }

    pub(super) fn member_count_in(&self, tx: &Transaction<'_>) -> Result<u64, StorageError> {
        Ok(self.feed_number(tx, vocab::MEMBER_COUNT)?.unwrap_or(0))
    }

    pub(super) fn page_size_in(&self, tx: &Transaction<'_>) -> Result<u64, StorageError> {
        Ok(self
            .feed_number(tx, vocab::PAGE_SIZE)?
            .unwrap_or(self.page_size))
    }

    pub(super) fn set_member_count(
        &self,
        tx: &mut Transaction<'_>,
        count: u64,
        page_size: u64,
    ) -> Result<(), StorageError> {
        let graph = self.feed_graph();
        for predicate in [vocab::MEMBER_COUNT, vocab::PAGE_SIZE] {
            let old: Vec<_> = tx
                .quads_for_pattern(
                    Some(self.feed.as_ref().into()),
                    Some(predicate),
                    None,
                    Some(graph),
                )
                .collect::<Result<_, _>>()?;
            for q in &old {
                tx.remove(q);
            }
        }
        tx.insert(QuadRef::new(
            &self.feed,
            vocab::MEMBER_COUNT,
            &integer(count),
            graph,
        ));
        tx.insert(QuadRef::new(
            &self.feed,
            vocab::PAGE_SIZE,
            &integer(page_size),
            graph,
        ));
        Ok(())
    }

    pub(super) fn append_member(
        &self,
        tx: &mut Transaction<'_>,
        signed: &SignedRecord,
        meta: &StoreMeta,
        position: u64,
    ) -> Result<(), StorageError> {
        tx.extend(&self.member_quads(signed, meta, position)?);
        Ok(())
    }

    /// The feed log entry of a stored version at `position`.
    pub(super) fn member_quads(
        &self,
        signed: &SignedRecord,
        meta: &StoreMeta,
        position: u64,
    ) -> Result<Vec<Quad>, std::io::Error> {
        let record = &signed.record;
        let version = record.version().unwrap_or(0);
        let member = member_iri(record.iri.as_str(), version);
        let content = match &meta.signed_nquads {
            Some(text) => text.clone(),
            None => signed_nquads(signed)?,
        };
        let graph = GraphName::NamedNode(self.feed.clone());
        let statements: [(NamedNodeRef<'_>, Term); 5] = [
            (vocab::DCT_IS_VERSION_OF, record.iri.clone().into()),
            (vocab::VERSION, integer(version).into()),
            (
                vocab::DCT_MODIFIED,
                Literal::new_typed_literal(record.modified().unwrap_or_default(), xsd::DATE_TIME)
                    .into(),
            ),
            (vocab::FEED_POSITION, integer(position).into()),
            (
                vocab::SIGNED_CONTENT,
                Literal::new_simple_literal(content).into(),
            ),
        ];
        Ok(statements
            .into_iter()
            .map(|(p, o)| Quad::new(member.clone(), p, o, graph.clone()))
            .collect())
    }

    /// How many versions the feed holds.
    pub fn member_count(&self) -> anyhow::Result<u64> {
        let tx = self.store.start_transaction()?;
        Ok(self.member_count_in(&tx)?)
    }

    /// Members per feed page: fixed by the first write, else the configured size.
    pub fn page_size(&self) -> anyhow::Result<u64> {
        let tx = self.store.start_transaction()?;
        Ok(self.page_size_in(&tx)?)
    }

    /// The member count and page size read together, from one snapshot.
    pub fn feed_state(&self) -> anyhow::Result<(u64, u64)> {
        let tx = self.store.start_transaction()?;
        Ok((self.member_count_in(&tx)?, self.page_size_in(&tx)?))
    }

    /// The members at positions `from..to`, in order.
    pub fn members(&self, from: u64, to: u64) -> anyhow::Result<Vec<FeedMember>> {
        let mut out = Vec::new();
        for position in from..to {
            let at = integer(position);
            let found = self
                .store
                .quads_for_pattern(
                    None,
                    Some(vocab::FEED_POSITION),
                    Some(at.as_ref().into()),
                    Some(self.feed_graph()),
                )
                .next()
                .transpose()?;
            let Some(q) = found else {
                anyhow::bail!("the feed log has no member at position {position}");
            };
            let oxrdf::NamedOrBlankNode::NamedNode(member) = q.subject else {
                anyhow::bail!("feed position {position} names a blank node");
            };
            out.push(self.member(&member, position)?);
        }
        Ok(out)
    }

    fn member(&self, member: &NamedNode, position: u64) -> anyhow::Result<FeedMember> {
        let mut m = FeedMember {
            position,
            member: member.clone(),
            record: member.clone(),
            version: 0,
            modified: String::new(),
            signed_nquads: String::new(),
        };
        for q in self.store.quads_for_pattern(
            Some(member.as_ref().into()),
            None,
            None,
            Some(self.feed_graph()),
        ) {
            let q = q?;
            match (q.predicate.as_ref(), &q.object) {
                (p, Term::NamedNode(r)) if p == vocab::DCT_IS_VERSION_OF => m.record = r.clone(),
                (p, o) if p == vocab::VERSION => m.version = as_u64(o).unwrap_or(0),
                (p, Term::Literal(l)) if p == vocab::DCT_MODIFIED => {
                    m.modified = l.value().to_owned()
                }
                (p, Term::Literal(l)) if p == vocab::SIGNED_CONTENT => {
                    m.signed_nquads = l.value().to_owned()
                }
                _ => {}
            }
        }
        Ok(m)
    }

    /// The newest stored version of a record, as the feed holds it.
    pub fn latest_member(&self, record: &NamedNode) -> anyhow::Result<Option<FeedMember>> {
        let mut best: Option<(u64, NamedNode)> = None;
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::DCT_IS_VERSION_OF),
            Some(record.as_ref().into()),
            Some(self.feed_graph()),
        ) {
            let q = q?;
            let oxrdf::NamedOrBlankNode::NamedNode(member) = q.subject else {
                continue;
            };
            let position = self
                .store
                .quads_for_pattern(
                    Some(member.as_ref().into()),
                    Some(vocab::FEED_POSITION),
                    None,
                    Some(self.feed_graph()),
                )
                .next()
                .transpose()?
                .and_then(|q| as_u64(&q.object))
                .unwrap_or(0);
            if best.as_ref().is_none_or(|(p, _)| position >= *p) {
                best = Some((position, member));
            }
        }
        best.map(|(position, member)| self.member(&member, position))
            .transpose()
    }
}
