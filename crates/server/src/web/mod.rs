//! The web catalogue for people: search, record pages and readable views of
//! `/node`, `/status` and `/feed`, from askama templates
//! (`crates/server/templates/`), with interface strings in Fluent
//! catalogues (`crates/server/locales/`).

pub mod atom;
pub mod i18n;
pub mod labels;
pub mod record_page;
pub mod search_page;
pub mod views;

use crate::AppState;
use crate::problem::Problem;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use i18n::{LANGUAGES, Tr};
use labels::Labels;
use std::sync::Arc;

/// The `text/html` media type of the pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// One link of the navigation.
pub struct NavItem {
    /// Where it goes (with the language).
    pub href: String,
    /// What it says.
    pub label: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// One link of the language switch.
pub struct LangLink {
    /// The language code.
    pub code: &'static str,
    /// Its name in itself.
    pub autonym: String,
    /// The page shown, in that language.
    pub href: String,
    /// Whether it is the language shown.
    pub current: bool,
}

impl LangLink {
    /// The page at `uri` in the language `code`, `shown` being the one shown.
    pub fn to(code: &'static str, uri: &Uri, shown: &str) -> Self {
        Self {
            code,
            autonym: Tr::new(code).t("autonym"),
            href: with_lang(uri, code),
            current: code == shown,
        }
    }
}

/// What every page shows around its content: header, navigation, language switch.
pub struct Chrome {
    /// The interface strings.
    pub tr: Tr,
    /// The interface language.
    pub lang: &'static str,
    /// The page title.
    pub title: String,
    /// The node's centre.
    pub node_name: String,
    /// Its country code.
    pub country: String,
    /// The navigation.
    pub nav: Vec<NavItem>,
    /// The language switch.
    pub languages: Vec<LangLink>,
}

/// The navigation entries: path and message id.
const NAV: [(&str, &str); 7] = [
    ("/search", "nav-search"),
    ("/submit", "nav-submit"),
    ("/indicators", "nav-indicators"),
    ("/query", "nav-sparql"),
    ("/node", "nav-node"),
    ("/status", "nav-status"),
    ("/feed", "nav-feed"),
];

impl Chrome {
    /// The frame of a page titled `title`, at `uri`, in `lang`; `current`
    /// is the navigation path it belongs to.
    pub fn new(
        state: &AppState,
        lang: &'static str,
        uri: &Uri,
        current: &str,
        title: String,
    ) -> Self {
        let tr = Tr::new(lang);
        let nav = NAV
            .iter()
            .filter(|(path, _)| *path != "/submit" || state.config.submissions.enabled)
            .map(|(path, id)| NavItem {
                href: format!("{path}?lang={lang}"),
                label: tr.t(id),
                current: *path == current,
            })
            .collect();
        let languages = LANGUAGES
            .iter()
            .map(|code| LangLink::to(code, uri, lang))
            .collect();
        Self {
            tr,
            lang,
            title,
            node_name: state.config.name.clone(),
            country: state.config.country.clone(),
            nav,
            languages,
        }
    }
}

/// `uri` with its `lang` parameter set to `lang`.
pub fn with_lang(uri: &Uri, lang: &str) -> String {
    let pairs = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<Vec<_>>();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    query.append_pair("lang", lang);
    format!("{}?{}", uri.path(), query.finish())
}

/// The interface language of a request: `?lang=`, `Accept-Language`, English.
pub fn language(uri: &Uri, headers: &HeaderMap) -> &'static str {
    let param = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.into_owned());
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    i18n::choose_language(param.as_deref(), accept)
}

/// Whether the client prefers a page to every one of `machine` media types.
pub fn wants_html(headers: &HeaderMap, machine: &[&str]) -> bool {
    let mut offered: Vec<&str> = machine.to_vec();
    offered.push("text/html");
    crate::negotiate::choose(
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()),
        &offered,
    ) == Some("text/html")
}

/// Whether the request names a machine form with `?format=`.
pub fn has_format(uri: &Uri) -> bool {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).any(|(k, _)| k == "format")
}

/// A rendered page (or a problem if the template failed).
pub fn page(status: StatusCode, lang: &str, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, HTML.to_owned()),
                (header::CONTENT_LANGUAGE, lang.to_owned()),
                (header::VARY, "Accept, Accept-Language".to_owned()),
            ],
            html,
        )
            .into_response(),
        Err(e) => Problem::internal(e.to_string()).into_response(),
    }
}

/// The page of a record on this node: `/records/{slug}` for its own,
/// `/catalogue/record?iri=…` for a harvested one.
pub fn local_href(state: &AppState, iri: &str, lang: &str) -> String {
    let own = format!("{}/records/", state.config.base_url.trim_end_matches('/'));
    match iri.strip_prefix(&own) {
        Some(slug) if ccis_model::record::is_slug(slug) => format!("/records/{slug}?lang={lang}"),
        _ => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("iri", iri).append_pair("lang", lang);
            format!("/catalogue/record?{}", query.finish())
        }
    }
}

/// The vocabulary's labels, read once per server.
pub async fn labels(state: &AppState) -> Result<Arc<Labels>, Response> {
    if let Some(labels) = state.labels.get() {
        return Ok(labels.clone());
    }
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || Labels::load(&store)).await {
        Ok(Ok(labels)) => Ok(state.labels.get_or_init(|| Arc::new(labels)).clone()),
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// The search index of the server, else the node's own (opened on first use).
pub fn search_index(state: &AppState) -> Option<Arc<ccis_search::Index>> {
    if let Some(index) = &state.search {
        return Some(index.clone());
    }
    let node = state.node.lock().ok()?;
    match node.search_index() {
        Ok(index) => Some(index),
        Err(e) => {
            tracing::warn!(error = %e, "no search index");
            None
        }
    }
}

/// The name of a centre by id: this node's, a peer's, else the id.
pub fn centre_name(state: &AppState, id: &str) -> String {
    if id == state.config.id {
        return state.config.name.clone();
    }
    state
        .peers
        .get(id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}
