//! The validation workflow over HTTP: `GET /api/initiatives` (public: every
//! initiative held with the state derived from the signed decisions, which
//! anyone holding the same records computes alike) and `POST /api/decisions`
//! (operator token: sign a decision, as `ccis review decide` does).

use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_model::checklist::Texts;
use ccis_model::decision::CriterionOutcome;
use ccis_model::workflow::{DecisionStatus, Outcome};
use ccis_node::node::NodeError;
use ccis_node::validation::{DecisionRequest, InitiativeState, ValidationError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An initiative's state as JSON.
pub fn initiative_json(i: &InitiativeState) -> Value {
    json!({
        "iri": i.iri,
        "title": i.title,
        "origin": i.origin,
        "country": i.country,
        "level": i.level.notation(),
        "version": i.version,
        "digest": i.digest,
        "state": i.state.notation(),
        "modified": i.modified,
        "decisions": i.decisions.iter().map(|h| {
            let d = &h.decision;
            json!({
                "iri": d.iri.as_str(),
                "role": d.role.notation(),
                "outcome": d.outcome.notation(),
                "validator": d.validator.as_str(),
                "version": d.used.version,
                "digest": d.used.digest,
                "endedAt": d.ended_at.to_string(),
                "status": match &h.status {
                    DecisionStatus::Applies => "applies".to_owned(),
                    DecisionStatus::AboutOlderVersion => "about-older-version".to_owned(),
                    DecisionStatus::OtherInitiative => "other-initiative".to_owned(),
                    DecisionStatus::Refused(e) => format!("not-applied: {e}"),
                },
            })
        }).collect::<Vec<_>>(),
    })
}

/// `GET /api/initiatives`: every initiative held, with its derived state,
/// read from the store without waiting for the operator's writes.
pub async fn initiatives(State(state): State<AppState>) -> Response {
    let (store, config, peers) = (
        state.store.clone(),
        state.config.clone(),
        state.peers.clone(),
    );
    let listed = tokio::task::spawn_blocking(move || {
        ccis_node::validation::derive_initiatives(&store, &config, &peers)
            .map_err(|e| e.to_string())
    })
    .await;
    match listed {
        Ok(Ok(list)) => Json(json!({
            "initiatives": list.iter().map(initiative_json).collect::<Vec<_>>()
        }))
        .into_response(),
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// The body of `POST /api/decisions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    initiative: String,
    outcome: String,
    /// By language tag.
    rationale: BTreeMap<String, String>,
    #[serde(default)]
    checklist: Option<String>,
    /// By criterion (IRI or local name).
    assessments: BTreeMap<String, AssessmentBody>,
    operator: String,
    /// The version reviewed: refused (409) if the initiative has a newer one.
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssessmentBody {
    outcome: String,
    #[serde(default)]
    comment: Texts,
}

fn bad_request(detail: String) -> Response {
    Problem::new(StatusCode::BAD_REQUEST, "bad-decision", detail)
        .titled("Unreadable decision")
        .into_response()
}

/// `POST /api/decisions`: signs and publishes a decision about an
/// initiative's current version; `201` with the decision's IRI and the
/// initiative's state after it; `409` when the workflow does not allow it
/// now (with the current state and the allowed events), `422` for any other
/// refusal (four eyes, another country's initiative, a criterion left out).
pub async fn decide(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    let body: DecisionBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("the body is not a decision: {e}")),
    };
    let request = match request_of(body) {
        Ok(r) => r,
        Err(detail) => return bad_request(detail),
    };
    let node = state.node.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let node = node
            .lock()
            .map_err(|_| Problem::internal("a writer panicked; restart the node"))?;
        node.decide(&request).map_err(|e| decision_problem(&e))
    })
    .await;
    match outcome {
        Ok(Ok((published, after))) => (
            StatusCode::CREATED,
            [(header::LOCATION, published.iri.clone())],
            Json(json!({
                "decision": published.iri,
                "initiative": initiative_json(&after),
            })),
        )
            .into_response(),
        Ok(Err(problem)) => problem.into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

fn request_of(body: DecisionBody) -> Result<DecisionRequest, String> {
    let outcome = Outcome::ALL
        .into_iter()
        .find(|o| o.notation() == body.outcome)
        .ok_or_else(|| {
            format!(
                "outcome {:?} is not validated, changes-requested or rejected",
                body.outcome
            )
        })?;
    let mut assessments = Vec::new();
    for (criterion, a) in body.assessments {
        let outcome = match a.outcome.as_str() {
            "passed" => CriterionOutcome::Passed,
            "failed" => CriterionOutcome::Failed,
            "cant-tell" => CriterionOutcome::CantTell,
            other => {
                return Err(format!(
                    "criterion {criterion:?}: outcome {other:?} is not passed, failed or cant-tell"
                ));
            }
        };
        assessments.push((criterion, outcome, a.comment));
    }
    Ok(DecisionRequest {
        initiative: body.initiative,
        outcome,
        rationale: body.rationale,
        checklist: body.checklist,
        assessments,
        operator: body.operator,
        version: body.version,
    })
}

fn decision_problem(e: &NodeError) -> Problem {
    match e {
        NodeError::Validation(ValidationError::Illegal { source, .. }) => {
            Problem::new(StatusCode::CONFLICT, "illegal-transition", e.to_string())
                .titled("The workflow does not allow this decision now")
                .with_all(json!({
                    "state": source.state.notation(),
                    "allowed": source.allowed.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }))
        }
        NodeError::Validation(ValidationError::NotHeld(_)) => Problem::not_found(e.to_string()),
        NodeError::Validation(ValidationError::VersionChanged { current, .. }) => {
            Problem::new(StatusCode::CONFLICT, "version-changed", e.to_string())
                .titled("The initiative changed since it was reviewed")
                .with("version", json!(current))
        }
        NodeError::Validation(
            ValidationError::FourEyes { .. }
            | ValidationError::OtherCountry { .. }
            | ValidationError::UnknownChecklist { .. }
            | ValidationError::UnknownCriterion { .. }
            | ValidationError::Unassessed { .. }
            | ValidationError::NoRationale
            | ValidationError::NoOperator,
        )
        | NodeError::NotAnIri(_)
        | NodeError::Refused(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "decision-refused",
            e.to_string(),
        )
        .titled("Decision refused; nothing was signed"),
        _ => {
            tracing::error!(error = %e, "a decision failed");
            Problem::internal(e)
        }
    }
}
