//! `/sparql`: the SPARQL 1.1 Protocol, read-only, over the whole catalogue.

use crate::AppState;
use crate::eval::{self, Answer, EVALUATION_STACK, Failure};
use crate::prescan;
use crate::problem::Problem;
use crate::worker;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oxigraph::sparql::CancellationToken;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

fn problem(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Response {
    Problem::new(status, kind, detail)
        .titled(title)
        .into_response()
}

fn failure(f: Failure) -> Response {
    Problem::new(f.status(), &f.kind, f.detail).into_response()
}

/// A 503 that tells the client when to try again.
fn unavailable(kind: &str, detail: String) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, kind, detail).retry_after(1)
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
    let mut headers = headers;
    if let Some(media_type) = params
        .get("format")
        .map(String::as_str)
        .and_then(format_media_type)
    {
        headers.insert(header::ACCEPT, header::HeaderValue::from_static(media_type));
    }
    match params.get("query") {
        Some(q) => run(state, q.clone(), headers).await,
        None => service_description(&state),
    }
}

/// The media type a `format` parameter names (it stands for `Accept`, for
/// links that cannot set headers): `json`, `xml`, `csv`, `tsv`, `turtle`,
/// `ntriples`, `jsonld`, or a media type.
pub(crate) fn format_media_type(format: &str) -> Option<&'static str> {
    Some(match format {
        "json" | "application/sparql-results+json" => "application/sparql-results+json",
        "xml" | "application/sparql-results+xml" => "application/sparql-results+xml",
        "csv" | "text/csv" => "text/csv",
        "tsv" | "text/tab-separated-values" => "text/tab-separated-values",
        "turtle" | "ttl" | "text/turtle" => "text/turtle",
        "ntriples" | "application/n-triples" => "application/n-triples",
        "jsonld" | "application/ld+json" => "application/ld+json",
        _ => return None,
    })
}

/// `POST /sparql` as a form (`query=…`) or with an `application/sparql-query` body.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = ccis_model::rdf_input::media_type_of(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    match content_type.as_str() {
        "application/sparql-query" => match String::from_utf8(body.to_vec()) {
            Ok(q) => run(state, q, headers).await,
            Err(_) => problem(
                StatusCode::BAD_REQUEST,
                "bad-query",
                "Bad Request",
                "the query is not UTF-8",
            ),
        },
        "application/sparql-update" => refuse_update(),
        "application/x-www-form-urlencoded" => {
            let form: HashMap<String, String> = url_form(&body);
            if form.contains_key("update") {
                return refuse_update();
            }
            match form.get("query") {
                Some(q) => run(state, q.clone(), headers).await,
                None => problem(
                    StatusCode::BAD_REQUEST,
                    "bad-query",
                    "Bad Request",
                    "the form has no query parameter",
                ),
            }
        }
        other => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            format!("POST a form or application/sparql-query, not {other:?}"),
        ),
    }
}

fn url_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn refuse_update() -> Response {
    failure(eval::read_only())
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

/// Runs `query` for a client and answers with its results or a problem.
async fn run(state: AppState, query: String, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match answer(&state, query, accept).await {
        Ok(answer) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, answer.media_type)],
            answer.body,
        )
            .into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// Checks the query's size and nesting, waits for an evaluation slot, then
/// evaluates it within the time limit (in a worker process when the server
/// has them) and serializes its results for `accept`; stops it when the node
/// shuts down. `/sparql` and the query page (`/query`) both run queries here.
pub(crate) async fn answer(
    state: &AppState,
    query: String,
    accept: Option<String>,
) -> Result<Answer, Problem> {
    let options = state.options.clone();
    if let Err(refused) = prescan::check(&query, options.max_query_bytes, options.max_query_depth) {
        return Err(
            Problem::new(StatusCode::BAD_REQUEST, "query-limit", refused.to_string())
                .titled("Query over a limit")
                .with("limit", json!(refused.limit_name()))
                .with("value", json!(refused.limit())),
        );
    }
    let limit = options.query_timeout;
    let permit = match state.queries.turn(limit).await {
        Ok(permit) => permit,
        Err(busy) => {
            return Err(unavailable(
                "busy",
                format!("the SPARQL endpoint is busy: {busy}"),
            ));
        }
    };
    let mut stopping = state.stopping();
    let outcome = tokio::select! {
        outcome = evaluate(state, query, accept, limit, permit) => outcome,
        () = crate::stopped(&mut stopping) => {
            return Err(unavailable("shutting-down", "the node is shutting down; the query was stopped".into()));
        }
    };
    match outcome {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(f)) => Err(Problem::new(f.status(), &f.kind, f.detail)),
        None => Err(unavailable(
            "time-limit",
            format!(
                "the query ran over the time limit of {} s and was stopped",
                limit.as_secs_f64()
            ),
        )),
    }
}

/// Evaluates in a worker, or else in a thread of this process; `None` past the limit.
async fn evaluate(
    state: &AppState,
    query: String,
    accept: Option<String>,
    limit: Duration,
    permit: OwnedSemaphorePermit,
) -> Option<Result<Answer, Failure>> {
    if let Some(workers) = &state.workers {
        let outcome = worker::run(workers, query, accept, limit).await;
        drop(permit);
        return outcome;
    }
    let token = CancellationToken::new();
    let (store, services, task_token) =
        (state.store.clone(), state.services.clone(), token.clone());
    let (send, receive) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("sparql".into())
        .stack_size(EVALUATION_STACK)
        .spawn(move || {
            // The slot stays taken until the evaluation really ends.
            let _permit = permit;
            let _ = send.send(eval::evaluate(
                &store,
                services,
                &query,
                accept.as_deref(),
                task_token,
            ));
        });
    if let Err(e) = spawned {
        return Some(Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot start an evaluation thread: {e}"),
        )));
    }
    match tokio::time::timeout(limit, receive).await {
        Ok(Ok(outcome)) => Some(outcome),
        Ok(Err(_)) => Some(Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the evaluation thread ended without an answer",
        ))),
        Err(_) => {
            token.cancel();
            None
        }
    }
}
