//! One SPARQL query from text to serialized results: parse, evaluate over the
//! store, serialize in the format the client accepts. The same code runs in a
//! worker process (`ccis serve`) or in the server's process (embedded use).

use crate::negotiate::choose;
use crate::service::PeerServices;
use axum::http::StatusCode;
use ccis_store::NodeStore;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryResults, SparqlEvaluator};
use serde::{Deserialize, Serialize};

const RESULTS: &[(&str, QueryResultsFormat)] = &[
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("text/csv", QueryResultsFormat::Csv),
    ("text/tab-separated-values", QueryResultsFormat::Tsv),
    ("application/json", QueryResultsFormat::Json),
];
const GRAPHS: &[&str] = &[
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
];

/// Stack of the thread that parses and evaluates a query: the parser and the
/// evaluator recurse on the query's structure (reserved, not committed, memory).
pub const EVALUATION_STACK: usize = 256 * 1024 * 1024;

/// Serialized results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Their media type.
    pub media_type: String,
    /// Their bytes.
    pub body: Vec<u8>,
}

/// Why a query got no results: an HTTP status, a problem kind and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// HTTP status code.
    pub status: u16,
    /// Problem type, the fragment of `https://w3id.org/ccis/problems#`.
    pub kind: String,
    /// What went wrong, for people.
    pub detail: String,
}

impl Failure {
    /// A failure with this status, kind and detail.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            kind: kind.to_owned(),
            detail: detail.into(),
        }
    }

    /// Its status (500 if the number is not one).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Parses `query`, evaluates it over the union of the store's graphs and
/// serializes the results for `accept`. An update is refused (403).
pub fn evaluate(
    store: &NodeStore,
    services: PeerServices,
    query: &str,
    accept: Option<&str>,
    token: CancellationToken,
) -> Result<Answer, Failure> {
    let results = match store.query_with_services(query, token, services) {
        Ok(results) => results,
        Err(e) => {
            let detail = format!("{e:#}");
            if detail.starts_with("invalid SPARQL query")
                && SparqlEvaluator::new().parse_update(query).is_ok()
            {
                return Err(read_only());
            }
            return Err(Failure::new(StatusCode::BAD_REQUEST, "bad-query", detail));
        }
    };
    serialize(results, accept)
}

/// The refusal of an update.
pub fn read_only() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "read-only",
        "this endpoint is read-only: SPARQL updates are refused",
    )
}

fn internal(e: &dyn std::fmt::Display) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn evaluation(e: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "bad-query",
        format!("query evaluation failed: {e}"),
    )
}

fn not_acceptable(offered: &[&str]) -> Failure {
    Failure::new(
        StatusCode::NOT_ACCEPTABLE,
        "not-acceptable",
        format!("acceptable: {}", offered.join(", ")),
    )
}

fn serialize(results: QueryResults<'static>, accept: Option<&str>) -> Result<Answer, Failure> {
    match results {
        QueryResults::Graph(triples) => {
            let chosen = choose(accept, GRAPHS).ok_or_else(|| not_acceptable(GRAPHS))?;
            let format = match chosen {
                "text/turtle" => RdfFormat::Turtle,
                "application/n-triples" => RdfFormat::NTriples,
                _ => RdfFormat::JsonLd {
                    profile: JsonLdProfileSet::empty(),
                },
            };
            let mut serializer = RdfSerializer::from_format(format).for_writer(Vec::new());
            for t in triples {
                let t = t.map_err(|e| evaluation(&e))?;
                serializer.serialize_triple(&t).map_err(|e| internal(&e))?;
            }
            Ok(Answer {
                media_type: chosen.to_owned(),
                body: serializer.finish().map_err(|e| internal(&e))?,
            })
        }
        other => {
            let offered: Vec<&str> = RESULTS.iter().map(|(m, _)| *m).collect();
            let chosen = choose(accept, &offered).ok_or_else(|| not_acceptable(&offered))?;
            let format = RESULTS
                .iter()
                .find(|(m, _)| *m == chosen)
                .map_or(QueryResultsFormat::Json, |(_, f)| *f);
            let serializer = QueryResultsSerializer::from_format(format);
            let body = match other {
                QueryResults::Boolean(b) => serializer
                    .serialize_boolean_to_writer(Vec::new(), b)
                    .map_err(|e| internal(&e))?,
                QueryResults::Solutions(solutions) => {
                    let mut writer = serializer
                        .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                        .map_err(|e| internal(&e))?;
                    for s in solutions {
                        let s = s.map_err(|e| evaluation(&e))?;
                        writer.serialize(&s).map_err(|e| internal(&e))?;
                    }
                    writer.finish().map_err(|e| internal(&e))?
                }
                QueryResults::Graph(_) => Vec::new(),
            };
            Ok(Answer {
                media_type: format.media_type().to_owned(),
                body,
            })
        }
    }
}
