//! SPARQL `SERVICE` calls, allowed only to the SPARQL endpoints of the peers
//! in `peers.toml`: any other IRI is refused before a connection is made, so
//! the endpoint cannot be used to reach other hosts (no server-side request forgery).

use oxigraph::sparql::results::{
    QueryResultsFormat, QueryResultsParser, ReaderQueryResultsParserOutput,
};
use oxigraph::sparql::{DefaultServiceHandler, QueryEvaluationError, QuerySolutionIter};
use oxiri::Iri;
use oxrdf::NamedNode;
use spargebra::algebra::GraphPattern;
use std::io::Read;
use std::time::Duration;

/// Largest SERVICE answer read from a peer.
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// Calls the SPARQL endpoints of trusted peers, and nothing else.
#[derive(Clone)]
pub struct PeerServices {
    endpoints: Vec<String>,
    timeout: Duration,
}

impl PeerServices {
    /// The endpoints `{base}/sparql` of these peers, each call limited to `timeout`.
    pub fn new(peers: &ccis_integrity::peers::Peers, timeout: Duration) -> Self {
        Self {
            endpoints: peers
                .peers
                .iter()
                .map(|p| format!("{}/sparql", p.base_url))
                .collect(),
            timeout,
        }
    }

    /// The endpoints that may be called.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }
}

fn service_error(message: String) -> QueryEvaluationError {
    QueryEvaluationError::Service(message.into())
}

impl DefaultServiceHandler for PeerServices {
    type Error = QueryEvaluationError;

    fn handle(
        &self,
        service_name: &NamedNode,
        pattern: &GraphPattern,
        base_iri: Option<&Iri<String>>,
    ) -> Result<QuerySolutionIter<'static>, Self::Error> {
        let endpoint = service_name.as_str();
        if !self.endpoints.iter().any(|e| e == endpoint) {
            return Err(service_error(format!(
                "SERVICE <{endpoint}> refused: only the SPARQL endpoints of the peers in peers.toml may be called"
            )));
        }
        let query = spargebra::Query::Select {
            dataset: None,
            pattern: pattern.clone(),
            base_iri: base_iri.cloned(),
        }
        .to_string();
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| service_error(format!("SERVICE <{endpoint}>: {e}")))?;
        let response = client
            .post(endpoint)
            .header("content-type", "application/sparql-query")
            .header("accept", "application/sparql-results+json")
            .body(query)
            .send()
            .map_err(|e| service_error(format!("SERVICE <{endpoint}>: {e}")))?;
        if !response.status().is_success() {
            return Err(service_error(format!(
                "SERVICE <{endpoint}> answered {}",
                response.status()
            )));
        }
        let content_type = ccis_model::rdf_input::media_type_of(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
        );
        let format = QueryResultsFormat::from_media_type(&content_type).ok_or_else(|| {
            service_error(format!(
                "SERVICE <{endpoint}> answered {content_type:?}, not SPARQL results"
            ))
        })?;
        let mut bytes = Vec::new();
        response
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| service_error(format!("SERVICE <{endpoint}>: {e}")))?;
        match QueryResultsParser::from_format(format).for_reader(std::io::Cursor::new(bytes)) {
            Ok(ReaderQueryResultsParserOutput::Solutions(solutions)) => Ok(solutions.into()),
            Ok(ReaderQueryResultsParserOutput::Boolean(_)) => Err(service_error(format!(
                "SERVICE <{endpoint}> answered a boolean, not solutions"
            ))),
            Err(e) => Err(service_error(format!("SERVICE <{endpoint}>: {e}"))),
        }
    }
}
