//! SPARQL over the store. Evaluation is this backend's own (Oxigraph on the
//! RocksDB store, or on a checkpoint of it in a worker process): it is not
//! part of [`crate::RecordStore`].

use crate::{NodeStore, StoreError};
use ccis_model::vocab;
use oxigraph::sparql::{
    CancellationToken, DefaultServiceHandler, QueryEvaluationError, QueryResults, SparqlEvaluator,
};
use oxrdf::{NamedNode, Term};

/// What the store holds, for `ccis status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records by class short name, in `vocab::RECORD_CLASSES` order.
    pub by_class: Vec<(String, u64)>,
    /// Records by language tag of their titles.
    pub by_language: Vec<(String, u64)>,
}

impl NodeStore {
    /// Runs a read-only SPARQL query over the union of all graphs.
    pub fn query(&self, sparql: &str) -> Result<QueryResults<'static>, StoreError> {
        self.query_cancellable(sparql, CancellationToken::new())
    }

    /// Same as [`Self::query`], stopped when `token` is cancelled; `SERVICE` is refused.
    pub fn query_cancellable(
        &self,
        sparql: &str,
        token: CancellationToken,
    ) -> Result<QueryResults<'static>, StoreError> {
        self.query_with_services(sparql, token, NoServices)
    }

    /// Same as [`Self::query_cancellable`], with `SERVICE` calls made by `services`.
    pub fn query_with_services(
        &self,
        sparql: &str,
        token: CancellationToken,
        services: impl DefaultServiceHandler + 'static,
    ) -> Result<QueryResults<'static>, StoreError> {
        let mut prepared = SparqlEvaluator::new()
            .without_default_http_service_handler()
            .with_default_service_handler(services)
            .with_cancellation_token(token)
            .parse_query(sparql)
            .map_err(|cause| StoreError::InvalidQuery { cause })?;
        prepared.dataset_mut().set_default_graph_as_union();
        prepared
            .on_store(&self.store)
            .execute()
            .map_err(|cause| StoreError::Query { cause })
    }

    /// Counts stored records by class, and titles by language, for `status`.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let catalogue = self.catalogue.as_str();
        let topic = vocab::FOAF_PRIMARY_TOPIC.as_str();
        let mut by_class = Vec::new();
        for (class, name) in vocab::RECORD_CLASSES {
            let q = format!(
                "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ GRAPH ?r {{ ?r a <{}> }} }}",
                class.as_str()
            );
            let n = self
                .solutions(&q, &["n"])?
                .first()
                .and_then(|row| row[0].parse().ok())
                .unwrap_or(0);
            by_class.push(((*name).to_owned(), n));
        }
        let q = format!(
            "SELECT ?lang (COUNT(DISTINCT ?r) AS ?n) WHERE {{ GRAPH <{catalogue}> {{ ?cr <{topic}> ?r }} GRAPH ?r {{ ?r <{}> ?t }} BIND(LANG(?t) AS ?lang) }} GROUP BY ?lang ORDER BY ?lang",
            vocab::DCT_TITLE.as_str()
        );
        let by_language = self
            .solutions(&q, &["lang", "n"])?
            .into_iter()
            .map(|row| (row[0].clone(), row[1].parse().unwrap_or(0)))
            .collect();
        Ok(Counts {
            by_class,
            by_language,
        })
    }

    /// The values of `variables` in each solution of a SELECT query, as
    /// text (empty when unbound).
    fn solutions(&self, sparql: &str, variables: &[&str]) -> Result<Vec<Vec<String>>, StoreError> {
        let mut rows = Vec::new();
        if let QueryResults::Solutions(solutions) = self.query(sparql)? {
            for s in solutions {
                let s = s.map_err(|cause| StoreError::Query { cause })?;
                rows.push(
                    variables
                        .iter()
                        .map(|v| match s.get(*v) {
                            Some(Term::Literal(l)) => l.value().to_owned(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        })
                        .collect(),
                );
            }
        }
        Ok(rows)
    }
}

/// Refuses every `SERVICE` call (queries run outside the server).
struct NoServices;

impl DefaultServiceHandler for NoServices {
    type Error = QueryEvaluationError;

    fn handle(
        &self,
        service_name: &NamedNode,
        _: &spargebra::algebra::GraphPattern,
        _: Option<&oxiri::Iri<String>>,
    ) -> Result<oxigraph::sparql::QuerySolutionIter<'static>, Self::Error> {
        Err(QueryEvaluationError::Service(
            format!(
                "SERVICE <{}> refused: no SERVICE calls here",
                service_name.as_str()
            )
            .into(),
        ))
    }
}
