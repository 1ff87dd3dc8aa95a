//! `/indicators`: the roadmap's yearly indicators of this centre, as a page
//! with server-rendered SVG charts (readable without JavaScript), each chart
//! with its table and CSV; the same figures as JSON at `/api/indicators`.
//!
//! The figures are computed by [`ccis_node::indicators`]; this module only
//! asks the peers, names them for people and serves them. The page uses the
//! shared layout of the web catalogue; its strings, the figures' titles and
//! how each is counted included, are looked up in the Fluent catalogues by
//! the figure's name (`indicator-{name}`, `indicator-{name}-counted`). The
//! JSON and CSV keep the English ones.

pub mod charts;

use crate::AppState;
use crate::problem::Problem;
use crate::web::i18n::Tr;
use crate::web::{Chrome, labels::Labels};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_node::indicators::{Centre, Figure, Indicators, ask_peers};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a peer may take to say which of this node's records it holds.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long computed figures are served again while the store has not
/// changed: a page and its charts are computed once, not once per chart.
pub const REUSE_FOR: Duration = Duration::from_secs(10);

/// Figures computed lately, per node base URL (several nodes may share a
/// process).
type Cache = Mutex<HashMap<String, Computed>>;

/// Figures, when they were computed, from which store state (its feed's
/// member count), and whether the peers were asked.
struct Computed {
    at: Instant,
    members: u64,
    asked: bool,
    figures: Arc<Indicators>,
}

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The figures computed less than [`REUSE_FOR`] ago from the same store
/// state (with the peers asked, when `ask`), else computed now.
async fn figures(state: &AppState, ask: bool) -> Result<Arc<Indicators>, Problem> {
    let key = state.config.base_url.clone();
    let members = state.store.member_count().map_err(Problem::internal)?;
    let fresh =
        |c: &&Computed| c.at.elapsed() < REUSE_FOR && c.members == members && (c.asked || !ask);
    if let Ok(cached) = cache().lock()
        && let Some(c) = cached.get(&key).filter(fresh)
    {
        return Ok(c.figures.clone());
    }
    let figures = Arc::new(compute(state, ask).await?);
    if let Ok(mut cached) = cache().lock() {
        let computed = Computed {
            at: Instant::now(),
            members,
            asked: ask,
            figures: figures.clone(),
        };
        cached.insert(key, computed);
    }
    Ok(figures)
}

/// One figure as the page shows it, in the interface language.
struct FigureView<'a> {
    /// The figure.
    figure: &'a Figure,
    /// Its title.
    title: String,
    /// How it is counted.
    counted: String,
    /// The text alternative of its chart.
    alt: String,
    /// The link text of its CSV.
    csv: String,
    /// Whether it is a figure of durations (a column of medians).
    medians: bool,
    /// Its rows: label in the interface language, count, median in days
    /// (empty when none, or not a figure of durations).
    rows: Vec<(String, u64, String)>,
}

/// The indicators page.
#[derive(Template)]
#[template(path = "indicators.html")]
struct Page<'a> {
    /// Header, navigation, language switch.
    page: Chrome,
    /// "Yearly indicators of …".
    heading: String,
    /// The figures, named for people.
    figures: Vec<FigureView<'a>>,
    /// Peers asked that did not answer.
    not_reached: String,
}

/// The English title and how it is counted of every figure, from the
/// catalogues (what the JSON and CSV give).
fn name_in_english(ind: &mut Indicators) {
    let en = Tr::new("en");
    for f in &mut ind.figures {
        f.title = en.t(&format!("indicator-{}", f.name));
        f.counted = en.t(&format!("indicator-{}-counted", f.name));
    }
}

/// A figure named for people in the language of `tr`; rows that count a
/// vocabulary concept or class take its label in that language.
fn figure_view<'a>(figure: &'a Figure, tr: &Tr, labels: &Labels) -> FigureView<'a> {
    let title = tr.t(&format!("indicator-{}", figure.name));
    let rows = figure
        .rows
        .iter()
        .map(|r| {
            let label = match &r.concept {
                Some(iri) => labels
                    .get(iri, tr.lang)
                    .map_or_else(|| r.label.clone(), str::to_owned),
                None => r.label.clone(),
            };
            let median = r.median_days.map(|d| format!("{d:.1}")).unwrap_or_default();
            (label, r.count, median)
        })
        .collect();
    FigureView {
        figure,
        counted: tr.t(&format!("indicator-{}-counted", figure.name)),
        alt: tr.arg("indicators-chart-alt", "title", &title),
        csv: tr.arg("indicators-csv", "title", &title),
        medians: figure.has_medians(),
        title,
        rows,
    }
}

/// Computes the indicators, asking the peers first when `ask` is set.
async fn compute(state: &AppState, ask: bool) -> Result<Indicators, Problem> {
    let config = state.config.clone();
    let centre = Centre {
        id: &config.id,
        country: &config.country,
        base_url: &config.base_url,
    };
    let held = if ask {
        ask_peers(&centre, &state.peers, PEER_TIMEOUT).await
    } else {
        Vec::new()
    };
    let (store, peers, config) = (state.store.clone(), state.peers.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        let centre = Centre {
            id: &config.id,
            country: &config.country,
            base_url: &config.base_url,
        };
        Indicators::compute(&store, &centre, &peers, held)
    })
    .await
    .map_err(Problem::internal)?
    .map_err(Problem::internal)
    .map(|mut ind| {
        name_in_english(&mut ind);
        ind
    })
}

/// `GET /indicators`: the page, in the language of `?lang=`, else of
/// `Accept-Language`.
pub async fn page(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let ind = match figures(&state, true).await {
        Ok(ind) => ind,
        Err(p) => return p.into_response(),
    };
    let labels = match crate::web::labels(&state).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let lang = crate::web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let not_reached: Vec<&str> = ind
        .peers_asked
        .iter()
        .filter(|h| h.held.is_none())
        .map(|h| h.peer.as_str())
        .collect();
    let not_reached = if not_reached.is_empty() {
        String::new()
    } else {
        tr.arg("indicators-not-reached", "peers", &not_reached.join(", "))
    };
    let centre = format!("{} ({})", state.config.name, state.config.country);
    let view = Page {
        page: Chrome::new(&state, lang, &uri, "/indicators", tr.t("indicators-title")),
        heading: tr.arg("indicators-heading", "centre", &centre),
        figures: ind
            .figures
            .iter()
            .map(|f| figure_view(f, &tr, &labels))
            .collect(),
        not_reached,
    };
    let mut response = crate::web::page(StatusCode::OK, lang, view.render());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /api/indicators`: every figure as JSON.
pub async fn json(State(state): State<AppState>) -> Response {
    match figures(&state, true).await {
        Ok(ind) => axum::Json(ind.as_ref()).into_response(),
        Err(p) => p.into_response(),
    }
}

/// `GET /indicators/{name}.csv` and `GET /indicators/{name}.svg`: one figure.
pub async fn file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((name, extension)) = file.rsplit_once('.') else {
        return Problem::not_found(format!("no indicator file {file:?}")).into_response();
    };
    if !ccis_node::indicators::FIGURES.contains(&name) || !matches!(extension, "csv" | "svg") {
        return Problem::not_found(format!("no indicator file {file:?}")).into_response();
    }
    let ind = match figures(&state, name == "shared-by-peer").await {
        Ok(ind) => ind,
        Err(p) => return p.into_response(),
    };
    let Some(figure) = ind.figure(name) else {
        return Problem::not_found(format!("no indicator {name:?}")).into_response();
    };
    if extension == "csv" {
        let disposition = format!("attachment; filename=\"{}-{name}.csv\"", ind.node);
        return (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            csv(figure),
        )
            .into_response();
    }
    match charts::bar_chart(figure) {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            svg,
        )
            .into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// A figure as CSV (RFC 4180): `key,label,count`, one line per row; a
/// figure of durations has a fourth column, `median_days` (empty when no
/// duration was measured).
pub fn csv(figure: &Figure) -> String {
    let medians = figure.has_medians();
    let mut out = String::from(if medians {
        "key,label,count,median_days\r\n"
    } else {
        "key,label,count\r\n"
    });
    for row in &figure.rows {
        out.push_str(&csv_field(&row.key));
        out.push(',');
        out.push_str(&csv_field(&row.label));
        out.push(',');
        out.push_str(&row.count.to_string());
        if medians {
            out.push(',');
            if let Some(d) = row.median_days {
                out.push_str(&format!("{d:.1}"));
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// One CSV field, quoted when it holds a comma, a quote or a line break;
/// a field starting like a spreadsheet formula is prefixed with `'`.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccis_node::indicators::Row;

    #[test]
    fn every_figure_has_its_strings_in_every_catalogue() {
        for lang in crate::web::i18n::LANGUAGES {
            let tr = Tr::new(lang);
            for name in ccis_node::indicators::FIGURES {
                for id in [
                    format!("indicator-{name}"),
                    format!("indicator-{name}-counted"),
                ] {
                    assert!(tr.has(&id), "{id}");
                    assert_ne!(tr.t(&id), id, "{lang}: {id}");
                }
            }
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let figure = Figure {
            name: "x".into(),
            title: "X".into(),
            counted: String::new(),
            total: 2,
            rows: vec![
                Row {
                    key: "a".into(),
                    label: "one, \"two\"".into(),
                    count: 2,
                    median_days: None,
                    concept: None,
                },
                Row {
                    key: "=b".into(),
                    label: "b".into(),
                    count: 1,
                    median_days: None,
                    concept: None,
                },
            ],
        };
        assert_eq!(
            csv(&figure),
            "key,label,count\r\na,\"one, \"\"two\"\"\",2\r\n'=b,b,1\r\n"
        );
    }

    #[test]
    fn a_figure_of_durations_has_a_column_of_medians() {
        let row = |key: &str, count, median_days| Row {
            key: key.into(),
            label: key.into(),
            count,
            median_days,
            concept: None,
        };
        let figure = Figure {
            name: "median-days-to-decision".into(),
            title: String::new(),
            counted: String::new(),
            total: 2,
            rows: vec![
                row("national-validator", 3, Some(12.5)),
                row("european-validator", 0, None),
            ],
        };
        assert_eq!(
            csv(&figure),
            "key,label,count,median_days\r\nnational-validator,national-validator,3,12.5\r\neuropean-validator,european-validator,0,\r\n"
        );
    }
}
