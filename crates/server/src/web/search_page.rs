//! `GET /` and `GET /search`: full-text search with facets, as a page and,
//! with `format=atom` (or at `/search.atom`), as an Atom feed.
//!
//! Every search is a URL: `q` (words), one parameter per facet value
//! (`type`, `tool_type`, `country`, `theme`, `audience`, `stage`,
//! `language`, `origin`, repeatable), `validation` (an initiative's
//! validation state, repeatable), `sort=relevance|date`, `page`, `lang`.
//! Unknown parameters are ignored; nothing a browser sends errors.
//!
//! The validation facet is not in the index: an initiative's state is
//! derived from the signed decisions the node holds (chapter 12), read for
//! every initiative once per change of the store, and the search is
//! narrowed to the initiatives in the states chosen.

use super::labels::Labels;
use super::{Chrome, i18n::Tr, local_href, page};
use crate::AppState;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ccis_model::workflow::State as WorkflowState;
use ccis_search::request::{MAX_PAGE, MAX_SELECTED_PER_FACET};
use ccis_search::{Facet, SearchHit, SearchRequest, SearchResults, Sort};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Results per page.
const PER_PAGE: usize = 20;
/// Longest description shown in a result, in characters.
const SUMMARY_CHARS: usize = 280;

/// A search as its URL says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    /// The words.
    pub q: String,
    /// Chosen facet values, in the order given.
    pub selected: Vec<(Facet, String)>,
    /// Chosen validation states (notations), in the order given.
    pub validation: Vec<String>,
    /// Order.
    pub sort: Sort,
    /// Page, from 1.
    pub page: usize,
    /// `format=atom`.
    pub atom: bool,
}

impl SearchParams {
    /// Reads a query string; what it does not understand is ignored.
    pub fn parse(query: Option<&str>) -> Self {
        let mut p = Self {
            page: 1,
            ..Self::default()
        };
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match (k.as_ref(), Facet::from_name(&k)) {
                ("q", _) => {
                    p.q = v
                        .chars()
                        .take(ccis_search::request::MAX_QUERY_CHARS)
                        .collect()
                }
                ("sort", _) => {
                    p.sort = if v == "date" {
                        Sort::Newest
                    } else {
                        Sort::Relevance
                    }
                }
                ("page", _) => p.page = v.parse().unwrap_or(1).clamp(1, MAX_PAGE),
                ("format", _) => p.atom = v == "atom",
                ("validation", _) => {
                    let known = WorkflowState::ALL.iter().any(|s| s.notation() == v);
                    if known && !p.validation.iter().any(|x| *x == v) {
                        p.validation.push(v.into_owned());
                    }
                }
                (_, Some(facet)) if !v.is_empty() => p.select(facet, v.into_owned()),
                _ => {}
            }
        }
        p
    }

    fn select(&mut self, facet: Facet, value: String) {
        let of_facet = self.selected.iter().filter(|(f, _)| *f == facet).count();
        if of_facet < MAX_SELECTED_PER_FACET && !self.selected.contains(&(facet, value.clone())) {
            self.selected.push((facet, value));
        }
    }

    /// The index request.
    pub fn request(&self) -> SearchRequest {
        let mut r = SearchRequest::new(self.q.clone())
            .page(self.page, PER_PAGE)
            .sorted(self.sort);
        for (facet, value) in &self.selected {
            r = r.select(*facet, value.clone());
        }
        r
    }

    /// The query string of this search in `lang` (no `page` when it is 1).
    pub fn query(&self, lang: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        for (facet, value) in &self.selected {
            s.append_pair(facet.name(), value);
        }
        for state in &self.validation {
            s.append_pair("validation", state);
        }
        if self.sort == Sort::Newest {
            s.append_pair("sort", "date");
        }
        if self.page > 1 {
            s.append_pair("page", &self.page.to_string());
        }
        s.append_pair("lang", lang);
        s.finish()
    }

    /// `/search?…` of this search changed by `change`, from page 1 unless it sets one.
    fn href(&self, lang: &str, change: impl FnOnce(&mut Self)) -> String {
        let mut other = self.clone();
        other.page = 1;
        other.atom = false;
        change(&mut other);
        format!("/search?{}", other.query(lang))
    }
}

/// One value of a facet, with its count and the link that toggles it.
pub struct FacetLink {
    /// Its label.
    pub label: String,
    /// Records of the current search that have it.
    pub count: u64,
    /// Whether it is chosen.
    pub selected: bool,
    /// The search with it toggled.
    pub href: String,
}

/// One facet of the page.
pub struct FacetView {
    /// Its parameter name.
    pub name: &'static str,
    /// Its heading.
    pub label: String,
    /// Its values.
    pub values: Vec<FacetLink>,
}

/// A chosen value, removable.
pub struct Chip {
    /// The facet's label.
    pub facet: String,
    /// The value's label.
    pub label: String,
    /// The search without it.
    pub href: String,
    /// What the link does, for assistive technology.
    pub remove: String,
}

/// One result.
pub struct HitView {
    /// Its page on this node.
    pub href: String,
    /// Its title.
    pub title: String,
    /// Its summary.
    pub summary: String,
    /// The language of the texts shown.
    pub text_lang: String,
    /// Set when the texts are not in the interface language: says which they are in.
    pub lang_mark: Option<String>,
    /// Type, countries and origin, readable.
    pub meta: Vec<String>,
    /// Its `dct:modified` (date).
    pub date: String,
}

/// A link of the pagination or the sort switch.
pub struct Link {
    /// Where it goes.
    pub href: String,
    /// What it says.
    pub label: String,
    /// Whether it is the current one.
    pub current: bool,
}

/// The search page.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// Header and navigation.
    pub page: Chrome,
    /// The words searched.
    pub q: String,
    /// Hidden fields of the form: the chosen facet values.
    pub hidden: Vec<(&'static str, String)>,
    /// Whether results are by date.
    pub by_date: bool,
    /// "N records".
    pub count: String,
    /// The results.
    pub hits: Vec<HitView>,
    /// Their first number.
    pub first: usize,
    /// The facets.
    pub facets: Vec<FacetView>,
    /// The chosen values.
    pub chips: Vec<Chip>,
    /// The search without any chosen value.
    pub clear_href: String,
    /// Relevance and date order.
    pub sorts: Vec<Link>,
    /// Previous page, if any.
    pub previous: Option<String>,
    /// Next page, if any.
    pub next: Option<String>,
    /// "Page x of y".
    pub page_of: String,
    /// The Atom feed of this search.
    pub atom_href: String,
    /// Set when the node has no index.
    pub unavailable: bool,
}

/// `GET /` and `GET /search`.
pub async fn search(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = super::language(&uri, &headers);
    let params = SearchParams::parse(query.as_deref());
    let labels = match super::labels(&state).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let results = run(&state, &params).await;
    if params.atom {
        return match results {
            Ok(Some((results, _))) => super::atom::response(&state, &params, lang, &results),
            Ok(None) => Problem::internal("this node has no search index").into_response(),
            Err(r) => r,
        };
    }
    let results = match results {
        Ok(r) => r,
        Err(r) => return r,
    };
    let view = SearchPage::build(&state, &uri, lang, &params, results.as_ref(), &labels);
    page(StatusCode::OK, lang, view.render())
}

/// `GET /search.atom`: the Atom feed of a search.
pub async fn search_atom(
    state: State<AppState>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let with_format = match query {
        Some(q) if !q.is_empty() => format!("{q}&format=atom"),
        _ => "format=atom".to_owned(),
    };
    search(state, RawQuery(Some(with_format)), uri, headers).await
}

/// The initiatives the node holds, by validation state, as of a store position.
pub struct Validations {
    /// The store's feed length they were read at.
    position: u64,
    /// Initiative IRIs by state.
    by_state: BTreeMap<WorkflowState, Vec<String>>,
}

impl Validations {
    fn iris(&self, states: &[String]) -> Vec<String> {
        self.by_state
            .iter()
            .filter(|(s, _)| states.iter().any(|n| n == s.notation()))
            .flat_map(|(_, iris)| iris.iter().cloned())
            .collect()
    }
}

/// The initiatives by state: derived again only when the store changed.
async fn validations(state: &AppState) -> Result<Arc<Validations>, Response> {
    let (store, config, peers, cache) = (
        state.store.clone(),
        state.config.clone(),
        state.peers.clone(),
        state.validations.clone(),
    );
    let read = tokio::task::spawn_blocking(move || {
        let position = store.member_count().map_err(|e| e.to_string())?;
        if let Ok(cached) = cache.lock()
            && let Some(v) = cached.as_ref()
            && v.position == position
        {
            return Ok(v.clone());
        }
        let mut by_state: BTreeMap<WorkflowState, Vec<String>> = BTreeMap::new();
        for i in ccis_node::validation::derive_initiatives(&store, &config, &peers)
            .map_err(|e| e.to_string())?
        {
            by_state.entry(i.state).or_default().push(i.iri);
        }
        let fresh = Arc::new(Validations { position, by_state });
        if let Ok(mut cached) = cache.lock() {
            *cached = Some(fresh.clone());
        }
        Ok::<_, String>(fresh)
    })
    .await;
    match read {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// A search's results and the count of each validation state under its
/// other filters; `None` without an index.
type Found = Option<(SearchResults, Vec<(WorkflowState, u64)>)>;

/// The results of a search; `None` without an index.
async fn run(state: &AppState, params: &SearchParams) -> Result<Found, Response> {
    let Some(index) = super::search_index(state) else {
        return Ok(None);
    };
    let validations = validations(state).await?;
    let unnarrowed = params.request();
    let mut request = unnarrowed.clone();
    if !params.validation.is_empty() {
        request = request.within(validations.iris(&params.validation));
    }
    let found = tokio::task::spawn_blocking(move || {
        let results = index.search(&request)?;
        let mut counts = Vec::new();
        for (s, iris) in &validations.by_state {
            let n = index.count(&unnarrowed.clone().within(iris.clone()))?;
            counts.push((*s, n));
        }
        Ok::<_, ccis_search::SearchError>((results, counts))
    })
    .await;
    match found {
        Ok(Ok(found)) => Ok(Some(found)),
        Ok(Err(e)) => Err(Problem::internal(e).into_response()),
        Err(e) => Err(Problem::internal(e).into_response()),
    }
}

/// The label of a facet value: concept label, language name, centre name.
pub fn value_label(
    state: &AppState,
    labels: &Labels,
    facet: Facet,
    value: &str,
    lang: &str,
) -> String {
    match facet {
        Facet::Origin => super::centre_name(state, value),
        Facet::Language => labels
            .get(value, lang)
            .map_or_else(|| value.to_uppercase(), str::to_owned),
        _ => labels.label(value, lang),
    }
}

impl SearchPage {
    fn build(
        state: &AppState,
        uri: &Uri,
        lang: &'static str,
        params: &SearchParams,
        results: Option<&(SearchResults, Vec<(WorkflowState, u64)>)>,
        labels: &Labels,
    ) -> Self {
        let tr = Tr::new(lang);
        let title = if params.q.is_empty() {
            tr.t("search-heading")
        } else {
            tr.arg("search-title", "query", &params.q)
        };
        let mut view = Self {
            page: Chrome::new(state, lang, uri, "/search", title),
            q: params.q.clone(),
            hidden: params
                .selected
                .iter()
                .map(|(f, v)| (f.name(), v.clone()))
                .chain(params.validation.iter().map(|v| ("validation", v.clone())))
                .collect(),
            by_date: params.sort == Sort::Newest,
            count: String::new(),
            hits: Vec::new(),
            first: 1,
            facets: Vec::new(),
            chips: chips(state, labels, params, lang),
            clear_href: params.href(lang, |p| {
                p.selected.clear();
                p.validation.clear();
            }),
            sorts: sorts(&tr, params, lang),
            previous: None,
            next: None,
            page_of: String::new(),
            atom_href: format!("/search.atom?{}", params.query(lang)),
            unavailable: results.is_none(),
        };
        if let Some((results, validation)) = results {
            view.fill(state, labels, params, results, lang);
            view.add_validation(labels, params, validation, lang);
        }
        view
    }

    /// The validation facet, after the record types, when the node holds initiatives.
    fn add_validation(
        &mut self,
        labels: &Labels,
        params: &SearchParams,
        counts: &[(WorkflowState, u64)],
        lang: &str,
    ) {
        if counts.is_empty() {
            return;
        }
        let tr = Tr::new(lang);
        let view = FacetView {
            name: "validation",
            label: tr.t("facet-validation"),
            values: counts
                .iter()
                .map(|(s, count)| FacetLink {
                    label: labels.label(&s.iri(), lang),
                    count: *count,
                    selected: params.validation.iter().any(|v| v == s.notation()),
                    href: toggle_validation(params, s.notation(), lang),
                })
                .collect(),
        };
        let at = self
            .facets
            .iter()
            .position(|f| f.name == Facet::RecordType.name())
            .map_or(0, |i| i + 1);
        self.facets.insert(at, view);
    }

    fn fill(
        &mut self,
        state: &AppState,
        labels: &Labels,
        params: &SearchParams,
        results: &SearchResults,
        lang: &str,
    ) {
        let tr = Tr::new(lang);
        self.count = tr.num("results-count", "count", results.total);
        self.first = (results.page - 1) * results.per_page + 1;
        self.hits = results
            .hits
            .iter()
            .map(|h| hit_view(state, labels, h, lang))
            .collect();
        self.facets = results
            .facets
            .iter()
            .filter(|c| !c.values.is_empty())
            .map(|c| FacetView {
                name: c.facet.name(),
                label: tr.t(&format!("facet-{}", c.facet.name())),
                values: c
                    .values
                    .iter()
                    .map(|v| FacetLink {
                        label: value_label(state, labels, c.facet, &v.value, lang),
                        count: v.count,
                        selected: v.selected,
                        href: toggle(params, c.facet, &v.value, lang),
                    })
                    .collect(),
            })
            .collect();
        let pages = (results.total as usize)
            .div_ceil(results.per_page.max(1))
            .clamp(1, MAX_PAGE);
        let page = results.page;
        self.previous = (page > 1).then(|| params.href(lang, |p| p.page = page - 1));
        self.next = (page < pages).then(|| params.href(lang, |p| p.page = page + 1));
        self.page_of = tr.nums("page-of", &[("page", page as u64), ("pages", pages as u64)]);
    }
}

/// The search with `value` of `facet` chosen, or no longer chosen.
fn toggle(params: &SearchParams, facet: Facet, value: &str, lang: &str) -> String {
    let pair = (facet, value.to_owned());
    params.href(lang, |p| {
        if p.selected.contains(&pair) {
            p.selected.retain(|s| *s != pair);
        } else {
            p.selected.push(pair);
        }
    })
}

/// The search with validation state `notation` chosen, or no longer chosen.
fn toggle_validation(params: &SearchParams, notation: &str, lang: &str) -> String {
    params.href(lang, |p| {
        if p.validation.iter().any(|v| v == notation) {
            p.validation.retain(|v| v != notation);
        } else {
            p.validation.push(notation.to_owned());
        }
    })
}

fn chips(state: &AppState, labels: &Labels, params: &SearchParams, lang: &str) -> Vec<Chip> {
    let tr = Tr::new(lang);
    let facets = params.selected.iter().map(|(facet, value)| {
        let label = value_label(state, labels, *facet, value, lang);
        Chip {
            facet: tr.t(&format!("facet-{}", facet.name())),
            remove: tr.arg("remove-filter", "value", &label),
            label,
            href: toggle(params, *facet, value, lang),
        }
    });
    let states = params.validation.iter().filter_map(|notation| {
        let s = WorkflowState::ALL
            .into_iter()
            .find(|s| s.notation() == notation)?;
        let label = labels.label(&s.iri(), lang);
        Some(Chip {
            facet: tr.t("facet-validation"),
            remove: tr.arg("remove-filter", "value", &label),
            label,
            href: toggle_validation(params, notation, lang),
        })
    });
    facets.chain(states).collect()
}

fn sorts(tr: &Tr, params: &SearchParams, lang: &str) -> Vec<Link> {
    [
        (Sort::Relevance, "sort-relevance"),
        (Sort::Newest, "sort-date"),
    ]
    .into_iter()
    .map(|(sort, id)| Link {
        href: params.href(lang, |p| p.sort = sort),
        label: tr.t(id),
        current: params.sort == sort,
    })
    .collect()
}

/// The language tag of the text a hit shows in `lang`: `lang`, else English, else the first.
pub fn shown_language<'a>(
    texts: &'a std::collections::BTreeMap<String, String>,
    lang: &str,
) -> Option<&'a str> {
    [lang, "en"]
        .iter()
        .find_map(|l| texts.keys().find(|t| primary(t) == *l))
        .or_else(|| texts.keys().next())
        .map(String::as_str)
}

/// The primary subtag of a language tag, lowercased.
pub fn primary(tag: &str) -> String {
    tag.split('-').next().unwrap_or("").to_ascii_lowercase()
}

/// What a result shows of `hit`.
pub fn hit_view(state: &AppState, labels: &Labels, hit: &SearchHit, lang: &str) -> HitView {
    let tr = Tr::new(lang);
    let tag = shown_language(&hit.titles, lang).unwrap_or("").to_owned();
    let title = hit
        .titles
        .get(&tag)
        .cloned()
        .unwrap_or_else(|| hit.iri.clone());
    let summary = hit
        .descriptions
        .get(&tag)
        .map(String::as_str)
        .or_else(|| hit.description(&[lang, "en"]))
        .unwrap_or("");
    let mut meta: Vec<String> = Vec::new();
    for facet in [Facet::RecordType, Facet::Country, Facet::Origin] {
        for v in hit.values(facet) {
            meta.push(value_label(state, labels, facet, v, lang));
        }
    }
    let lang_mark = (!tag.is_empty() && primary(&tag) != lang)
        .then(|| tr.arg("shown-in", "language", &labels.label(&primary(&tag), lang)));
    HitView {
        href: local_href(state, &hit.iri, lang),
        title,
        summary: truncate(summary, SUMMARY_CHARS),
        text_lang: tag,
        lang_mark,
        meta,
        date: hit.modified.chars().take(10).collect(),
    }
}

/// `text` cut at `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_query_strings_are_read_without_error() {
        let p = SearchParams::parse(Some(
            "q=%22*%22&country=FR&country=LV&country=FR&nope=1&page=x&sort=date",
        ));
        assert_eq!(p.q, "\"*\"");
        assert_eq!(p.selected.len(), 2);
        assert_eq!((p.page, p.sort), (1, Sort::Newest));
        assert_eq!(
            p.query("fr"),
            "q=%22*%22&country=FR&country=LV&sort=date&lang=fr"
        );
        let long = format!("q={}", "a".repeat(5000));
        assert_eq!(SearchParams::parse(Some(&long)).q.len(), 2000);
        assert_eq!(
            SearchParams::parse(Some("page=99999999999999999999")).page,
            1
        );
        assert_eq!(SearchParams::parse(Some("page=100000")).page, MAX_PAGE);
    }

    #[test]
    fn a_chip_links_to_the_search_without_it() {
        let p = SearchParams::parse(Some("q=x&country=FR&theme=t&page=3"));
        let without = toggle(&p, Facet::Country, "FR", "en");
        assert_eq!(without, "/search?q=x&theme=t&lang=en");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
