//! `/sparql`: the SPARQL 1.1 Protocol, read-only, over the whole catalogue.

use super::AppState;
use super::negotiate::choose;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryResults, SparqlEvaluator};
use std::collections::HashMap;

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

/// A status and message, turned into a response by the handler.
type Failure = (StatusCode, String);

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into(),
    )
        .into_response()
}

/// `GET /sparql?query=…`; without a query, the service description.
pub async fn get(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if params.contains_key("update") {
        return refuse_update();
    }
    match params.get("query") {
        Some(q) => run(state, q.clone(), headers).await,
        None => service_description(&state),
    }
}

/// `POST /sparql` as a form (`query=…`) or with an `application/sparql-query` body.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = crate::rdf_input::media_type_of(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    match content_type.as_str() {
        "application/sparql-query" => match String::from_utf8(body.to_vec()) {
            Ok(q) => run(state, q, headers).await,
            Err(_) => problem(StatusCode::BAD_REQUEST, "the query is not UTF-8"),
        },
        "application/sparql-update" => refuse_update(),
        "application/x-www-form-urlencoded" => {
            let form: HashMap<String, String> = url_form(&body);
            if form.contains_key("update") {
                return refuse_update();
            }
            match form.get("query") {
                Some(q) => run(state, q.clone(), headers).await,
                None => problem(StatusCode::BAD_REQUEST, "the form has no query parameter"),
            }
        }
        other => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("POST a form or application/sparql-query, not {other:?}"),
        ),
    }
}

fn url_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn refuse_update() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "this endpoint is read-only: SPARQL updates are refused",
    )
}

fn service_description(state: &AppState) -> Response {
    let endpoint = format!("{}/sparql", state.config.base_url);
    let text = format!(
        "@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .\n\
         <{endpoint}> a sd:Service ;\n    sd:endpoint <{endpoint}> ;\n    sd:supportedLanguage sd:SPARQL11Query ;\n    \
         sd:feature sd:UnionDefaultGraph ;\n    \
         sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON> , <http://www.w3.org/ns/formats/SPARQL_Results_XML> , \
         <http://www.w3.org/ns/formats/SPARQL_Results_CSV> , <http://www.w3.org/ns/formats/SPARQL_Results_TSV> , \
         <http://www.w3.org/ns/formats/Turtle> , <http://www.w3.org/ns/formats/N-Triples> , <http://www.w3.org/ns/formats/JSON-LD> .\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/turtle")],
        text,
    )
        .into_response()
}

async fn run(state: AppState, query: String, headers: HeaderMap) -> Response {
    if SparqlEvaluator::new().parse_query(&query).is_err()
        && SparqlEvaluator::new().parse_update(&query).is_ok()
    {
        return refuse_update();
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let token = CancellationToken::new();
    let task_token = token.clone();
    let store = state.store.clone();
    let services = state.services.clone();
    let task = tokio::task::spawn_blocking(move || -> Result<(String, Vec<u8>), Failure> {
        let results = store
            .query_with_services(&query, task_token, services)
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("{e:#}")))?;
        serialize(results, accept.as_deref())
    });
    let limit = state.options.query_timeout;
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(Ok((media_type, bytes)))) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, media_type)], bytes).into_response()
        }
        Ok(Ok(Err((status, message)))) => problem(status, message),
        Ok(Err(e)) => problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(_) => {
            token.cancel();
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the query ran over the time limit of {} s and was stopped",
                    limit.as_secs_f32()
                ),
            )
        }
    }
}

fn serialize(
    results: QueryResults<'static>,
    accept: Option<&str>,
) -> Result<(String, Vec<u8>), Failure> {
    let fail = |e: &dyn std::fmt::Display| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let eval = |e: &dyn std::fmt::Display| {
        (
            StatusCode::BAD_REQUEST,
            format!("query evaluation failed: {e}"),
        )
    };
    match results {
        QueryResults::Graph(triples) => {
            let chosen = choose(accept, GRAPHS).ok_or_else(|| {
                (
                    StatusCode::NOT_ACCEPTABLE,
                    format!("acceptable: {}", GRAPHS.join(", ")),
                )
            })?;
            let format = match chosen {
                "text/turtle" => RdfFormat::Turtle,
                "application/n-triples" => RdfFormat::NTriples,
                _ => RdfFormat::JsonLd {
                    profile: JsonLdProfileSet::empty(),
                },
            };
            let mut serializer = RdfSerializer::from_format(format).for_writer(Vec::new());
            for t in triples {
                let t = t.map_err(|e| eval(&e))?;
                serializer.serialize_triple(&t).map_err(|e| fail(&e))?;
            }
            Ok((
                chosen.to_owned(),
                serializer.finish().map_err(|e| fail(&e))?,
            ))
        }
        other => {
            let offered: Vec<&str> = RESULTS.iter().map(|(m, _)| *m).collect();
            let chosen = choose(accept, &offered).ok_or_else(|| {
                (
                    StatusCode::NOT_ACCEPTABLE,
                    format!("acceptable: {}", offered.join(", ")),
                )
            })?;
            let format = RESULTS
                .iter()
                .find(|(m, _)| *m == chosen)
                .map(|(_, f)| *f)
                .unwrap_or(QueryResultsFormat::Json);
            let serializer = QueryResultsSerializer::from_format(format);
            let bytes = match other {
                QueryResults::Boolean(b) => serializer
                    .serialize_boolean_to_writer(Vec::new(), b)
                    .map_err(|e| fail(&e))?,
                QueryResults::Solutions(solutions) => {
                    let mut writer = serializer
                        .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                        .map_err(|e| fail(&e))?;
                    for s in solutions {
                        let s = s.map_err(|e| eval(&e))?;
                        writer.serialize(&s).map_err(|e| fail(&e))?;
                    }
                    writer.finish().map_err(|e| fail(&e))?
                }
                QueryResults::Graph(_) => Vec::new(),
            };
            Ok((format.media_type().to_owned(), bytes))
        }
    }
}
