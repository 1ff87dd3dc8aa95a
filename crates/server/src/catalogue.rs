//! `GET /`: the web catalogue for people, in the language they ask for.

use crate::AppState;
use crate::error::{ServerError, store_err};
use crate::problem::Problem;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_model::vocab;
use oxigraph::sparql::QueryResults;
use oxrdf::Term;
use std::collections::{BTreeMap, HashMap};

/// Languages the page's own words are written in.
const LANGUAGES: &[&str] = &["en", "fr", "es", "sv", "lv"];
/// Records per page.
const PER_PAGE: u64 = 50;
/// The last page number served (further ones would only be empty).
const MAX_PAGE: u64 = u64::MAX / PER_PAGE - 1;

struct Words {
    heading: &'static str,
    intro: &'static str,
    record: &'static str,
    kind: &'static str,
    origin: &'static str,
    withdrawn: &'static str,
    next: &'static str,
    previous: &'static str,
}

fn words(lang: &str) -> Words {
    match lang {
        "fr" => Words {
            heading: "Catalogue européen de l'innovation sociale",
            intro: "Fiches signées de ce nœud et de ses pairs. Données ouvertes : flux LDES, SPARQL.",
            record: "Fiche",
            kind: "Type",
            origin: "Nœud d'origine",
            withdrawn: "retirée",
            next: "suivant",
            previous: "précédent",
        },
        "es" => Words {
            heading: "Catálogo europeo de innovación social",
            intro: "Fichas firmadas de este nodo y de sus pares. Datos abiertos: flujo LDES, SPARQL.",
            record: "Ficha",
            kind: "Tipo",
            origin: "Nodo de origen",
            withdrawn: "retirada",
            next: "siguiente",
            previous: "anterior",
        },
        "sv" => Words {
            heading: "Europeisk katalog för social innovation",
            intro: "Signerade poster från denna nod och dess grannar. Öppna data: LDES-flöde, SPARQL.",
            record: "Post",
            kind: "Typ",
            origin: "Ursprungsnod",
            withdrawn: "återkallad",
            next: "nästa",
            previous: "föregående",
        },
        "lv" => Words {
            heading: "Eiropas sociālo inovāciju katalogs",
            intro: "Šī mezgla un tā partneru parakstītie ieraksti. Atvērtie dati: LDES plūsma, SPARQL.",
            record: "Ieraksts",
            kind: "Veids",
            origin: "Izcelsmes mezgls",
            withdrawn: "atsaukts",
            next: "nākamā",
            previous: "iepriekšējā",
        },
        _ => Words {
            heading: "European catalogue of social innovation",
            intro: "Signed records of this node and its peers. Open data: LDES feed, SPARQL.",
            record: "Record",
            kind: "Type",
            origin: "Origin node",
            withdrawn: "withdrawn",
            next: "next",
            previous: "previous",
        },
    }
}

/// The language to show: `?lang=`, else the best of `Accept-Language`, else English.
fn language(params: &HashMap<String, String>, headers: &HeaderMap) -> String {
    if let Some(l) = params
        .get("lang")
        .filter(|l| l.len() <= 8 && l.chars().all(|c| c.is_ascii_alphabetic()))
    {
        return l.to_ascii_lowercase();
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, String)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or("").to_owned();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if LANGUAGES.contains(&primary.as_str()) && best.as_ref().is_none_or(|(b, _)| q > *b) {
            best = Some((q, primary));
        }
    }
    best.map_or_else(|| "en".to_owned(), |(_, l)| l)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Default)]
struct Row {
    titles: BTreeMap<String, String>,
    class_label: Option<String>,
    origin: String,
    withdrawn: bool,
}

fn text(term: Option<&Term>) -> Option<(String, String)> {
    match term {
        Some(Term::Literal(l)) => {
            Some((l.value().to_owned(), l.language().unwrap_or("").to_owned()))
        }
        Some(Term::NamedNode(n)) => Some((n.as_str().to_owned(), String::new())),
        _ => None,
    }
}

/// `GET /`: one page of the catalogue, titles in the chosen language when there is one.
pub async fn index(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&params, &headers);
    // Any number is accepted; past the last page, the page is empty.
    let page: u64 = params
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
        .min(MAX_PAGE);
    let store = state.store.clone();
    let query = page_query(&state, &lang, page);
    let rows = tokio::task::spawn_blocking(move || read_rows(&store, &query)).await;
    match rows {
        Ok(Ok(rows)) => render(&state, lang, page, &rows),
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// The SPARQL query of one page of the catalogue: records with their title,
/// kind (in `lang`), origin and status.
fn page_query(state: &AppState, lang: &str, page: u64) -> String {
    format!(
        "SELECT ?r ?title ?classLabel ?origin ?status WHERE {{
           {{ SELECT ?r ?origin ?status WHERE {{ GRAPH <{cat}> {{ ?cr <{topic}> ?r ; <{origin}> ?node ; <{status}> ?status OPTIONAL {{ ?node <{identifier}> ?id }} }} BIND(COALESCE(?id, ?node) AS ?origin) }}
              ORDER BY ?r LIMIT {limit} OFFSET {offset} }}
           OPTIONAL {{ GRAPH ?r {{ ?r <{title}> ?title }} }}
           OPTIONAL {{ GRAPH ?r {{ ?r a ?class }} GRAPH <{vocabulary}> {{ ?class <http://www.w3.org/2000/01/rdf-schema#label> ?classLabel FILTER(LANGMATCHES(LANG(?classLabel), \"{lang}\")) }} }}
         }}",
        cat = state.store.catalogue().as_str(),
        topic = vocab::FOAF_PRIMARY_TOPIC.as_str(),
        origin = vocab::ORIGIN_NODE.as_str(),
        identifier = vocab::DCT_IDENTIFIER.as_str(),
        status = vocab::STATUS.as_str(),
        title = vocab::DCT_TITLE.as_str(),
        vocabulary = ccis_store::VOCABULARY_GRAPH,
        limit = PER_PAGE + 1,
        offset = page.saturating_mul(PER_PAGE),
    )
}

/// The rows of a catalogue page, by record IRI.
fn read_rows(
    store: &ccis_store::NodeStore,
    query: &str,
) -> Result<BTreeMap<String, Row>, ServerError> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let results = store
        .query(query)
        .map_err(store_err("cannot read the catalogue"))?;
    if let QueryResults::Solutions(solutions) = results {
        for s in solutions {
            let s = s.map_err(store_err("cannot read the catalogue"))?;
            let Some((iri, _)) = text(s.get("r")) else {
                continue;
            };
            let row = rows.entry(iri).or_default();
            if let Some((t, l)) = text(s.get("title")) {
                row.titles.insert(l, t);
            }
            if let Some((c, _)) = text(s.get("classLabel")) {
                row.class_label = Some(c);
            }
            if let Some((o, _)) = text(s.get("origin")) {
                row.origin = o;
            }
            row.withdrawn = text(s.get("status")).is_some_and(|(st, _)| st == "withdrawn");
        }
    }
    Ok(rows)
}

/// The HTML of a catalogue page.
fn render(state: &AppState, lang: String, page: u64, rows: &BTreeMap<String, Row>) -> Response {
    let w = words(&lang);
    let has_next = rows.len() as u64 > PER_PAGE;
    let mut html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{h} — {name}</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>\
         <h1>{h}</h1><p>{name} ({country}) · {intro} <a href=\"/feed\">/feed</a> · <a href=\"/sparql\">/sparql</a> · <a href=\"/node\">/node</a></p><p>",
        h = escape(w.heading),
        name = escape(&state.config.name),
        country = escape(&state.config.country),
        intro = escape(w.intro),
    );
    for l in LANGUAGES {
        html.push_str(&format!("<a href=\"/?lang={l}\" hreflang=\"{l}\">{l}</a> "));
    }
    html.push_str(&format!(
        "</p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        escape(w.record),
        escape(w.kind),
        escape(w.origin)
    ));
    for (iri, row) in rows.iter().take(PER_PAGE as usize) {
        html.push_str(&table_row(iri, row, &lang, &w));
    }
    html.push_str("</table><p>");
    if page > 0 {
        html.push_str(&format!(
            "<a href=\"/?lang={lang}&amp;page={}\">← {}</a> ",
            page.saturating_sub(1),
            escape(w.previous)
        ));
    }
    if has_next {
        html.push_str(&format!(
            "<a href=\"/?lang={lang}&amp;page={}\">{} →</a>",
            page.saturating_add(1),
            escape(w.next)
        ));
    }
    html.push_str("</p></body></html>");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_LANGUAGE, lang),
            (header::VARY, "Accept-Language".to_owned()),
        ],
        html,
    )
        .into_response()
}

/// One record's row of the catalogue table.
fn table_row(iri: &str, row: &Row, lang: &str, w: &Words) -> String {
    let title = row
        .titles
        .get(lang)
        .or_else(|| row.titles.get("en"))
        .or_else(|| row.titles.values().next())
        .cloned()
        .unwrap_or_else(|| iri.to_owned());
    let (class, suffix) = if row.withdrawn {
        (" class=\"withdrawn\"", format!(" ({})", w.withdrawn))
    } else {
        ("", String::new())
    };
    format!(
        "<tr><td><a{class} href=\"{href}\">{t}</a>{suffix}</td><td>{k}</td><td>{o}</td></tr>",
        href = escape(iri),
        t = escape(&title),
        k = escape(row.class_label.as_deref().unwrap_or("")),
        o = escape(&row.origin),
    )
}
