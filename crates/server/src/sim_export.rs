//! `GET /api/sim-export[?format=json|csv]`: the initiatives this node holds
//! that are validated at EU level, for the Social Innovation Match, as JSON
//! (`docs/sim-export.schema.json`) or CSV. Behind the operator token like
//! the operator's writes: the export is made for the European centre's
//! operators, who load it into the SIM. Computed by
//! [`ccis_node::sim_export`] from the store on every request, without
//! waiting for the operator's writes.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_node::sim_export::{SimFormat, sim_export};
use std::collections::HashMap;

/// `GET /api/sim-export`: JSON by default, CSV with `?format=csv`; `400`
/// for another format.
pub async fn export(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let format = match params.get("format").map(|f| SimFormat::from_name(f)) {
        None => SimFormat::Json,
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            return Problem::new(StatusCode::BAD_REQUEST, "bad-format", e.to_string())
                .titled("Unknown export format")
                .into_response();
        }
    };
    let (store, config, peers) = (
        state.store.clone(),
        state.config.clone(),
        state.peers.clone(),
    );
    let node = config.id.clone();
    let made = tokio::task::spawn_blocking(move || {
        sim_export(&store, &config, &peers).and_then(|e| e.to_format(format))
    })
    .await;
    match made {
        Ok(Ok(bytes)) => {
            let disposition = format!(
                "attachment; filename=\"{node}-sim-export.{}\"",
                format.extension()
            );
            (
                [
                    (header::CONTENT_TYPE, format.media_type().to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}
