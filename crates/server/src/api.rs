//! `/api`: the operator's writes (publish, withdraw), behind a bearer token.
//!
//! The token is kept in `ccis.toml` only as its SHA-256; requests are checked
//! in constant time before their body is read. Errors are RFC 9457 problem
//! details (`application/problem+json`).

use crate::AppState;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ccis_model::rdf_input::{self, InputError, InputFormat, PinnedContexts};
use ccis_model::record;
use ccis_node::node::{Outcome, PublishRefused};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// An RFC 9457 problem details response with a specific title.
pub fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: String,
    extra: Value,
) -> Response {
    Problem::new(status, kind, detail)
        .titled(title)
        .with_all(extra)
        .into_response()
}

/// Refuses any request without the operator's bearer token (401, nothing read or written).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let expected = state.config.server.api_token_sha256.as_deref();
    let ok = match (presented, expected) {
        (Some(token), Some(hash)) => {
            let digest = ccis_node::config::token_sha256(token);
            bool::from(
                digest
                    .as_bytes()
                    .ct_eq(hash.to_ascii_lowercase().as_bytes()),
            )
        }
        _ => false,
    };
    if !ok {
        let detail = if expected.is_none() {
            "this node has no API token; create one with `ccis token`".to_owned()
        } else if presented.is_none() {
            "send the operator token as `Authorization: Bearer <token>`".to_owned()
        } else {
            "the bearer token is not this node's operator token".to_owned()
        };
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Operator token required",
            detail,
            json!({}),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"ccis\""),
        );
        return response;
    }
    next.run(request).await
}

fn body_problem(rejection: BytesRejection, limit: usize) -> Response {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        problem(
            status,
            "too-large",
            "Request body too large",
            format!("the body is over the limit of {limit} bytes (server.max_body_bytes)"),
            json!({ "limit": limit }),
        )
    } else {
        problem(
            status,
            "bad-body",
            "Unreadable request body",
            rejection.body_text(),
            json!({}),
        )
    }
}

/// `POST /api/records`: publishes the records of a Turtle, N-Triples or JSON-LD
/// body exactly as `ccis publish` does; `201` with the IRIs and versions.
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let limit = state.config.server.max_body_bytes;
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return body_problem(rejection, limit),
    };
    let format = match body_format(&headers) {
        Ok(f) => f,
        Err(problem) => return problem.into_response(),
    };
    let node = state.node.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let node = node
            .lock()
            .map_err(|_| anyhow::anyhow!("a writer panicked; restart the node"))?;
        let records = records_of(&node, &body, format)?;
        node.publish(records)
    })
    .await;
    match outcome {
        Ok(Ok(published)) => published_response(&published),
        Ok(Err(e)) => publish_problem(&e),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// The RDF format of a request body, from its `Content-Type`.
fn body_format(headers: &HeaderMap) -> Result<InputFormat, Problem> {
    let media_type = rdf_input::media_type_of(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    match InputFormat::from_media_type(&media_type) {
        Some(f @ (InputFormat::Turtle | InputFormat::NTriples | InputFormat::JsonLd)) => Ok(f),
        _ => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "send text/turtle, application/n-triples or application/ld+json, not {media_type:?}"
            ),
        )),
    }
}

/// The records of this node in a request body.
fn records_of(
    node: &ccis_node::node::Node,
    body: &[u8],
    format: InputFormat,
) -> anyhow::Result<Vec<record::Record>> {
    let base = format!("{}/", node.config.base_url);
    let quads = rdf_input::parse(
        body,
        format,
        Some(&base),
        "request body",
        &PinnedContexts::default(),
    )?;
    let records = record::split_into_records_with(
        quads,
        &node.config.base_url,
        &node.config.harvest.record_limits(),
    )?;
    if records.is_empty() {
        anyhow::bail!("the body holds no record of this node ({base}records/…)");
    }
    Ok(records)
}

/// `201` (something changed, `Location` of the first changed record) or
/// `200`, with each record's IRI, version and outcome.
fn published_response(published: &[ccis_node::node::Published]) -> Response {
    let changed = published
        .iter()
        .find(|p| p.outcome != Outcome::Unchanged)
        .map(|p| p.iri.clone());
    let list: Vec<Value> = published
        .iter()
        .map(|p| {
            json!({
                "iri": p.iri,
                "version": p.version,
                "outcome": match p.outcome {
                    Outcome::Created => "created",
                    Outcome::Updated => "updated",
                    Outcome::Unchanged => "unchanged",
                    Outcome::Withdrawn => "withdrawn",
                },
            })
        })
        .collect();
    let status = if changed.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "records": list }).to_string(),
    )
        .into_response();
    if let Some(iri) = changed.and_then(|i| HeaderValue::from_str(&i).ok()) {
        response.headers_mut().insert(header::LOCATION, iri);
    }
    response
}

fn publish_problem(e: &anyhow::Error) -> Response {
    if let Some(input) = e.downcast_ref::<InputError>() {
        let mut extra = json!({ "source": input.source_name });
        if let (Some((line, column)), Value::Object(map)) = (input.location, &mut extra) {
            map.insert("line".into(), json!(line));
            map.insert("column".into(), json!(column));
        }
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-rdf",
            "The body is not valid RDF",
            input.to_string(),
            extra,
        );
    }
    if let Some(refused) = e.downcast_ref::<PublishRefused>() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            "Records refused (SHACL shapes or limits); nothing was stored",
            refused.to_string(),
            json!({ "violations": refused.problems }),
        );
    }
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "refused",
        "Records refused; nothing was stored",
        format!("{e:#}"),
        json!({}),
    )
}

/// `DELETE /api/records/{slug}`: withdraws a record (signed tombstone, next version).
pub async fn withdraw(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    if !record::is_slug(&slug) {
        return Problem::not_found(format!("{slug:?} is not a record slug")).into_response();
    }
    let iri = state.config.record_iri(&slug);
    let node = state.node.clone();
    let target = iri.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let node = node
            .lock()
            .map_err(|_| anyhow::anyhow!("a writer panicked; restart the node"))?;
        let stored = node
            .store
            .entry(&oxrdf::NamedNode::new_unchecked(target.clone()))?;
        match stored {
            None => Ok(Err(StatusCode::NOT_FOUND)),
            Some(e) if e.status == "withdrawn" => Ok(Err(StatusCode::CONFLICT)),
            Some(_) => node.withdraw(&target).map(Ok),
        }
    })
    .await;
    match outcome {
        Ok(Ok(Ok(p))) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "iri": p.iri, "version": p.version, "outcome": "withdrawn" }).to_string(),
        )
            .into_response(),
        Ok(Ok(Err(StatusCode::NOT_FOUND))) => {
            Problem::not_found(format!("<{iri}> is not stored on this node")).into_response()
        }
        Ok(Ok(Err(status))) => Problem::new(
            status,
            "already-withdrawn",
            format!("<{iri}> is already withdrawn"),
        )
        .titled("Already withdrawn")
        .into_response(),
        Ok(Err(e)) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            format!("{e:#}"),
        )
        .titled("Withdrawal refused")
        .into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}
