//! Stores written before provenance was given as IRIs: their catalogue
//! records held the origin node's id, the source (`local` or the peer's base
//! URL) and the verification method as plain literals. Opening such a store
//! for writing rewrites them as IRIs, in one transaction, so that the example
//! queries and the web catalogue see every record the same way. Records,
//! proofs and the feed log are not touched.

use crate::catalogue::origin_base;
use crate::{NodeStore, StoreError, node_iri};
use ccis_model::vocab;
use oxigraph::store::{StorageError, Transaction};
use oxrdf::{GraphNameRef, Literal, NamedNode, NamedNodeRef, Quad, Term};

/// One literal statement of a catalogue record and what replaces it.
struct Rewrite {
    /// The statement as stored.
    old: Quad,
    /// The same with an IRI as object, and the origin node's id if any.
    new: Vec<Quad>,
}

impl NodeStore {
    /// Rewrites the provenance a catalogue holds as literals as IRIs; how
    /// many statements were rewritten. One scan of the provenance statements
    /// when there is nothing to do.
    pub(crate) fn upgrade_provenance(&self) -> Result<usize, StoreError> {
        let read = || StoreError::read("the provenance of the catalogue", self.catalogue.as_str());
        let mut rewrites = Vec::new();
        for predicate in [vocab::ORIGIN_NODE, vocab::DCT_SOURCE, vocab::VERIFICATION] {
            for q in self.store.quads_for_pattern(
                None,
                Some(predicate),
                None,
                Some(GraphNameRef::NamedNode(self.catalogue.as_ref())),
            ) {
                let q = q.map_err(read())?;
                if let Term::Literal(value) = &q.object
                    && let Some(new) = self.rewrite(&q, value).map_err(read())?
                {
                    rewrites.push(Rewrite {
                        old: q.clone(),
                        new,
                    });
                }
            }
        }
        if rewrites.is_empty() {
            return Ok(0);
        }
        let write = || StoreError::write("the provenance of the catalogue as IRIs");
        let mut tx = self.store.start_transaction().map_err(write())?;
        apply(&mut tx, &rewrites);
        tx.commit().map_err(write())?;
        tracing::info!(
            statements = rewrites.len(),
            "catalogue provenance rewritten as IRIs"
        );
        Ok(rewrites.len())
    }

    /// What replaces the literal `value` of a provenance statement, `None`
    /// if no IRI can be named for it (it is then left as it is).
    fn rewrite(&self, q: &Quad, value: &Literal) -> Result<Option<Vec<Quad>>, StorageError> {
        let value = value.value();
        let with_object = |object: NamedNode| {
            Quad::new(
                q.subject.clone(),
                q.predicate.clone(),
                object,
                q.graph_name.clone(),
            )
        };
        Ok(match q.predicate.as_ref() {
            p if p == vocab::ORIGIN_NODE => self.origin_of(&q.subject)?.map(|node| {
                let id = Quad::new(
                    node.clone(),
                    vocab::DCT_IDENTIFIER,
                    Literal::new_simple_literal(value),
                    q.graph_name.clone(),
                );
                vec![with_object(node), id]
            }),
            p if p == vocab::DCT_SOURCE && value == "local" => Some(vec![with_object(self.node())]),
            p if p == vocab::DCT_SOURCE => {
                NamedNode::new(format!("{}/node", value.trim_end_matches('/')))
                    .ok()
                    .map(|node| vec![with_object(node)])
            }
            _ => NamedNode::new(value).ok().map(|vm| vec![with_object(vm)]),
        })
    }

    /// The origin node of the record a catalogue record describes.
    fn origin_of(&self, cr: &oxrdf::NamedOrBlankNode) -> Result<Option<NamedNode>, StorageError> {
        let topic: NamedNodeRef<'_> = vocab::FOAF_PRIMARY_TOPIC;
        let Some(q) = self
            .store
            .quads_for_pattern(
                Some(cr.as_ref()),
                Some(topic),
                None,
                Some(GraphNameRef::NamedNode(self.catalogue.as_ref())),
            )
            .next()
            .transpose()?
        else {
            return Ok(None);
        };
        Ok(match &q.object {
            Term::NamedNode(record) => origin_base(record.as_str()).map(node_iri),
            _ => None,
        })
    }
}

/// Applies the rewrites in a transaction.
fn apply(tx: &mut Transaction<'_>, rewrites: &[Rewrite]) {
    for r in rewrites {
        tx.remove(&r.old);
        for q in &r.new {
            tx.insert(q);
        }
    }
}
