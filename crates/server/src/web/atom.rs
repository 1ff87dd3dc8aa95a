//! A search as an Atom feed (`format=atom`, `/search.atom`): one entry per
//! record of the page, newest change first when the search says so, each
//! linking to the record's page on this node.

use super::i18n::Tr;
use super::search_page::{SearchParams, primary, shown_language, truncate};
use super::{centre_name, local_href};
use crate::AppState;
use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_search::{SearchHit, SearchResults};

/// The Atom media type.
pub const ATOM: &str = "application/atom+xml; charset=utf-8";

/// A date of the index (RFC 3339), or the epoch.
fn date(text: &str) -> FixedDateTime {
    FixedDateTime::parse_from_rfc3339(text).unwrap_or_default()
}

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    let mut l = Link {
        href,
        mime_type: Some(mime_type.to_owned()),
        ..Link::default()
    };
    l.set_rel(rel);
    l
}

/// The feed of one page of results.
pub fn feed(state: &AppState, params: &SearchParams, lang: &str, results: &SearchResults) -> Feed {
    let tr = Tr::new(lang);
    let base = state.config.base_url.trim_end_matches('/');
    let query = params.query(lang);
    let title = if params.q.is_empty() {
        format!("{} — {}", tr.t("search-heading"), state.config.name)
    } else {
        format!(
            "{} — {}",
            tr.arg("search-title", "query", &params.q),
            state.config.name
        )
    };
    let entries: Vec<Entry> = results.hits.iter().map(|h| entry(state, h, lang)).collect();
    let updated = results
        .hits
        .iter()
        .map(|h| date(&h.modified))
        .max()
        .unwrap_or_default();
    Feed {
        title: Text::plain(title),
        id: format!("{base}/search.atom?{query}"),
        updated,
        authors: vec![Person {
            name: state.config.name.clone(),
            uri: Some(format!("{base}/node")),
            ..Person::default()
        }],
        links: vec![
            link(
                format!("{base}/search.atom?{query}"),
                "self",
                "application/atom+xml",
            ),
            link(format!("{base}/search?{query}"), "alternate", "text/html"),
        ],
        lang: Some(lang.to_owned()),
        entries,
        ..Feed::default()
    }
}

fn entry(state: &AppState, hit: &SearchHit, lang: &str) -> Entry {
    let base = state.config.base_url.trim_end_matches('/');
    let tag = shown_language(&hit.titles, lang).unwrap_or("").to_owned();
    let mut title = Text::plain(
        hit.titles
            .get(&tag)
            .cloned()
            .unwrap_or_else(|| hit.iri.clone()),
    );
    title.lang = (!tag.is_empty()).then(|| tag.clone());
    let summary = hit
        .description(&[&primary(&tag), lang, "en"])
        .map(|d| Text::plain(truncate(d, 1000)));
    let origin = hit
        .values(ccis_search::Facet::Origin)
        .first()
        .cloned()
        .unwrap_or_default();
    Entry {
        title,
        id: hit.iri.clone(),
        updated: date(&hit.modified),
        authors: vec![Person {
            name: centre_name(state, &origin),
            ..Person::default()
        }],
        links: vec![
            link(
                format!("{base}{}", local_href(state, &hit.iri, lang)),
                "alternate",
                "text/html",
            ),
            link(hit.iri.clone(), "related", "application/trig"),
        ],
        summary,
        ..Entry::default()
    }
}

/// The HTTP response of a search's feed.
pub fn response(
    state: &AppState,
    params: &SearchParams,
    lang: &str,
    results: &SearchResults,
) -> Response {
    let xml = feed(state, params, lang, results).to_string();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ATOM),
            (header::VARY, "Accept-Language"),
        ],
        xml,
    )
        .into_response()
}
