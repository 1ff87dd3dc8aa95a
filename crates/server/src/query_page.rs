//! `/query`: the SPARQL page for people. With JavaScript, YASGUI (served
//! from the binary, every third-party request off) talks to `/sparql`;
//! without it, a plain form runs the query through the same path as
//! `/sparql` (its limits, its worker pool) and the results come back as an
//! HTML table, with download links and readable errors.
//!
//! The page uses the shared layout of the web catalogue; its strings, the
//! examples' titles and descriptions included, come from the Fluent
//! catalogues (`example-{name}`, `example-{name}-about`).

use crate::AppState;
use crate::eval::Answer;
use crate::problem::Problem;
use crate::sparql;
use crate::web::Chrome;
use crate::web::i18n::Tr;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use std::collections::HashMap;

/// The example queries of `examples/queries/`, built into the binary.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "records-by-origin-node",
        include_str!("../../../examples/queries/records-by-origin-node.rq"),
    ),
    (
        "tools-by-country-and-theme",
        include_str!("../../../examples/queries/tools-by-country-and-theme.rq"),
    ),
    (
        "initiatives-by-stage",
        include_str!("../../../examples/queries/initiatives-by-stage.rq"),
    ),
    (
        "themes-covered-per-stage",
        include_str!("../../../examples/queries/themes-covered-per-stage.rq"),
    ),
    (
        "programmes-for-funders",
        include_str!("../../../examples/queries/programmes-for-funders.rq"),
    ),
    (
        "available-in-latvian",
        include_str!("../../../examples/queries/available-in-latvian.rq"),
    ),
    (
        "validated-initiatives",
        include_str!("../../../examples/queries/validated-initiatives.rq"),
    ),
    (
        "withdrawn-records",
        include_str!("../../../examples/queries/withdrawn-records.rq"),
    ),
];

/// Most result rows shown in the page (the downloads have them all).
pub const MAX_ROWS: usize = 1000;

/// The Content-Security-Policy of the query page: scripts and connections
/// to this node only; inline styles, which the editor sets.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// One example query, as the page lists it.
struct Example {
    name: String,
    title: String,
    about: String,
    text: &'static str,
}

/// One cell of the results table.
struct Cell {
    text: String,
    /// A link for an IRI that is a web address.
    href: Option<String>,
    /// Language tag or datatype of a literal.
    note: Option<String>,
}

/// What the query gave.
enum Outcome {
    Table {
        vars: Vec<String>,
        rows: Vec<Vec<Cell>>,
        /// "12 results", and whether only the first rows are shown.
        summary: String,
    },
    Boolean(String),
    Graph(String),
}

/// A query that failed, for people.
struct Failure {
    title: String,
    detail: String,
    /// "line 2, column 7" for a syntax error.
    at: Option<String>,
    /// That line of the query.
    line: Option<String>,
    /// A caret under the column.
    caret: Option<String>,
}

/// The page.
#[derive(Template)]
#[template(path = "query.html")]
struct Page<'a> {
    /// Header, navigation, language switch.
    page: Chrome,
    query: &'a str,
    examples: Vec<Example>,
    outcome: Option<Outcome>,
    failure: Option<Failure>,
    csv_link: String,
    json_link: String,
}

/// `GET /query`: the page, with the results of `?query=` when given
/// (`&format=csv|json|tsv|xml` redirects to `/sparql` with that format), in
/// the language of `?lang=`, else of `Accept-Language`.
pub async fn page(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = params.get("query").map(String::as_str).unwrap_or("");
    let format = params.get("format").map(String::as_str).unwrap_or("html");
    if !query.trim().is_empty() && format != "html" {
        return Redirect::to(&sparql_link(query, format)).into_response();
    }
    let lang = crate::web::language(&uri, &headers);
    let tr = Tr::new(lang);
    let (outcome, failure, status) = if query.trim().is_empty() {
        (None, None, StatusCode::OK)
    } else {
        let accept = "application/sparql-results+json, text/turtle;q=0.9";
        match sparql::answer(&state, query.to_owned(), Some(accept.into())).await {
            Ok(answer) => (Some(outcome_of(&answer, &tr)), None, StatusCode::OK),
            Err(problem) => (
                None,
                Some(failure_of(&problem, query, &tr)),
                problem.status(),
            ),
        }
    };
    let page = Page {
        page: Chrome::new(&state, lang, &uri, "/query", tr.t("query-title")),
        query,
        examples: examples(&tr),
        outcome,
        failure,
        csv_link: sparql_link(query, "csv"),
        json_link: sparql_link(query, "json"),
    };
    let mut response = crate::web::page(status, lang, page.render());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `/sparql?query=…&format=…`.
fn sparql_link(query: &str, format: &str) -> String {
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .append_pair("format", format)
        .finish();
    format!("/sparql?{encoded}")
}

/// The examples, titled and described from the catalogues by name.
fn examples(tr: &Tr) -> Vec<Example> {
    EXAMPLES
        .iter()
        .map(|(name, text)| Example {
            name: (*name).to_owned(),
            title: tr.t(&format!("example-{name}")),
            about: tr.t(&format!("example-{name}-about")),
            text,
        })
        .collect()
}

/// Results as a table (SELECT), a yes/no (ASK) or Turtle text (CONSTRUCT, DESCRIBE).
fn outcome_of(answer: &Answer, tr: &Tr) -> Outcome {
    if !answer.media_type.contains("json") {
        return Outcome::Graph(String::from_utf8_lossy(&answer.body).into_owned());
    }
    let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if let Some(b) = json.get("boolean").and_then(Value::as_bool) {
        return Outcome::Boolean(tr.t(if b { "yes" } else { "no" }));
    }
    let vars: Vec<String> = json
        .pointer("/head/vars")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let bindings = json
        .pointer("/results/bindings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rows = bindings
        .iter()
        .take(MAX_ROWS)
        .map(|b| vars.iter().map(|v| cell(b.get(v))).collect())
        .collect();
    let total = bindings.len();
    let mut summary = tr.num("query-count", "count", total as u64);
    if total > MAX_ROWS {
        summary.push_str("; ");
        summary.push_str(&tr.num("query-first-rows", "shown", MAX_ROWS as u64));
    }
    Outcome::Table {
        vars,
        rows,
        summary,
    }
}

/// One binding of the JSON results as a cell.
fn cell(term: Option<&Value>) -> Cell {
    let get = |k: &str| term.and_then(|t| t.get(k)).and_then(Value::as_str);
    let text = get("value").unwrap_or("").to_owned();
    let is_web = text.starts_with("http://") || text.starts_with("https://");
    let href = (get("type") == Some("uri") && is_web).then(|| text.clone());
    let note = match (get("xml:lang"), get("datatype")) {
        (Some(lang), _) => Some(format!("@{lang}")),
        (None, Some(dt)) => Some(format!("^^{}", dt.rsplit(['#', '/']).next().unwrap_or(dt))),
        _ => None,
    };
    Cell { text, href, note }
}

/// A problem as the page shows it: title (from the catalogues by the
/// problem's kind, else its own), message, and for a syntax error its
/// position with the line of the query it points at.
fn failure_of(problem: &Problem, query: &str, tr: &Tr) -> Failure {
    let detail = problem.detail().to_owned();
    let position = position_in(&detail);
    let line = position.and_then(|(line, _)| query.lines().nth(line.checked_sub(1)?));
    let kind = match position {
        Some(_) => "query-problem-syntax".to_owned(),
        None => format!("query-problem-{}", problem.kind()),
    };
    let title = if tr.has(&kind) {
        tr.t(&kind)
    } else {
        problem.title().to_owned()
    };
    Failure {
        title,
        detail,
        at: position.map(|(line, column)| {
            tr.nums(
                "query-error-at",
                &[("line", line as u64), ("column", column as u64)],
            )
        }),
        line: line.map(str::to_owned),
        caret: position.map(|(_, column)| " ".repeat(column.saturating_sub(1)) + "^"),
    }
}

/// The `line:column` an error message gives (`… at 3:14 …`), 1-based.
fn position_in(message: &str) -> Option<(usize, usize)> {
    message
        .split(|c: char| c.is_whitespace() || c == ',')
        .find_map(|word| {
            let word = word
                .trim_end_matches([':', '.', ')'])
                .trim_start_matches('(');
            let (line, column) = word.split_once(':')?;
            let line: usize = line.parse().ok()?;
            let column: usize = column.split(['-', ':']).next()?.parse().ok()?;
            Some((line, column))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_has_a_title_and_a_sentence_in_every_language() {
        for lang in crate::web::i18n::LANGUAGES {
            for e in examples(&Tr::new(lang)) {
                assert!(
                    !e.title.starts_with("example-") && e.about.ends_with('.'),
                    "{lang}: {}: {}",
                    e.name,
                    e.about
                );
                assert!(e.text.contains("SELECT") || e.text.contains("ASK"));
            }
        }
    }

    #[test]
    fn a_position_is_read_from_a_message() {
        assert_eq!(position_in("error at 3:14: expected ."), Some((3, 14)));
        assert_eq!(position_in("no position here"), None);
    }
}
