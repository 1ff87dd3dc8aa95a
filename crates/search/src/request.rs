//! What a search asks for, with the limits every browser-controlled input keeps.

use crate::schema::Facet;
use std::collections::BTreeMap;

/// Longest query text read, in characters; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Most words of the query text used; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 16;
/// Most values selected per facet; the rest are ignored.
pub const MAX_SELECTED_PER_FACET: usize = 20;
/// Longest facet value read, in characters; longer ones select nothing.
pub const MAX_VALUE_CHARS: usize = 512;
/// Results per page when the request says none.
pub const DEFAULT_PER_PAGE: usize = 20;
/// Most results per page.
pub const MAX_PER_PAGE: usize = 100;
/// The last page served (1-based); later pages are served as this one.
pub const MAX_PAGE: usize = 500;
/// Most values reported per facet (the most frequent, then selected ones).
pub const MAX_FACET_VALUES: usize = 100;
/// Most similar records [`crate::Index::more_like_this`] returns.
pub const MAX_SIMILAR: usize = 50;

/// How results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first; newest first when there is no query text.
    #[default]
    Relevance,
    /// Most recently modified first.
    Newest,
}

/// A search: text, facet selections, page and order. Every field may hold
/// anything a browser sends: limits are applied, nothing is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// Words to find, in any language; empty finds every record. No syntax:
    /// quotes, `*`, `AND` are words or separators like any other.
    pub text: String,
    /// Selected values per facet: values of one facet combine with OR,
    /// facets with AND.
    pub selected: BTreeMap<Facet, Vec<String>>,
    /// Page number, from 1 (0 is read as 1).
    pub page: usize,
    /// Results per page (0: [`DEFAULT_PER_PAGE`]).
    pub per_page: usize,
    /// Order.
    pub sort: Sort,
    /// When set, only these records (by IRI): how a filter the index does
    /// not hold narrows a search (the validation state of initiatives,
    /// derived from signed decisions, on the search page).
    pub within: Option<Vec<String>>,
}

impl SearchRequest {
    /// A search for `text`, first page, by relevance.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Also selects `value` of `facet`.
    pub fn select(mut self, facet: Facet, value: impl Into<String>) -> Self {
        self.selected.entry(facet).or_default().push(value.into());
        self
    }

    /// Page `page` of `per_page` results.
    pub fn page(mut self, page: usize, per_page: usize) -> Self {
        self.page = page;
        self.per_page = per_page;
        self
    }

    /// Ordered by `sort`.
    pub fn sorted(mut self, sort: Sort) -> Self {
        self.sort = sort;
        self
    }

    /// Only among the records `iris`.
    pub fn within(mut self, iris: Vec<String>) -> Self {
        self.within = Some(iris);
        self
    }

    /// The page served (1..=[`MAX_PAGE`]).
    pub fn effective_page(&self) -> usize {
        self.page.clamp(1, MAX_PAGE)
    }

    /// The page size served (1..=[`MAX_PER_PAGE`]).
    pub fn effective_per_page(&self) -> usize {
        match self.per_page {
            0 => DEFAULT_PER_PAGE,
            n => n.min(MAX_PER_PAGE),
        }
    }

    /// The words searched for: the text cut at [`MAX_QUERY_CHARS`], split
    /// on anything but letters and digits, one-letter words left out when
    /// there are longer ones (the `l` of `l'impact`, the `d` of `d'Avise`),
    /// at most [`MAX_QUERY_WORDS`].
    pub fn words(&self) -> Vec<String> {
        let text: String = self.text.chars().take(MAX_QUERY_CHARS).collect();
        let all: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let long = |w: &&str| w.chars().nth(1).is_some();
        let keep_short = !all.iter().any(long);
        all.into_iter()
            .filter(|w| keep_short || long(w))
            .take(MAX_QUERY_WORDS)
            .map(str::to_owned)
            .collect()
    }

    /// The selections kept, per facet in [`Facet::ALL`] order: distinct,
    /// non-empty, not too long, at most [`MAX_SELECTED_PER_FACET`].
    pub fn selections(&self) -> Vec<Vec<String>> {
        Facet::ALL
            .iter()
            .map(|f| {
                let mut kept: Vec<String> = Vec::new();
                for v in self.selected.get(f).into_iter().flatten() {
                    let ok = !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS;
                    if ok && !kept.contains(v) && kept.len() < MAX_SELECTED_PER_FACET {
                        kept.push(v.clone());
                    }
                }
                kept
            })
            .collect()
    }
}

/// One record found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The record IRI.
    pub iri: String,
    /// Its score (relevance searches; 0 otherwise).
    pub score: f32,
    /// Its `dct:modified`.
    pub modified: String,
    /// Its version.
    pub version: u64,
    /// Whether it is withdrawn (only [`crate::Index::get`] returns those).
    pub withdrawn: bool,
    /// Titles by language tag.
    pub titles: BTreeMap<String, String>,
    /// Descriptions by language tag.
    pub descriptions: BTreeMap<String, String>,
    /// Its values of each facet.
    pub facets: BTreeMap<Facet, Vec<String>>,
}

impl SearchHit {
    /// The title in the first of `preferred` languages it has, else any.
    pub fn title(&self, preferred: &[&str]) -> Option<&str> {
        pick(&self.titles, preferred)
    }

    /// The description in the first of `preferred` languages it has, else any.
    pub fn description(&self, preferred: &[&str]) -> Option<&str> {
        pick(&self.descriptions, preferred)
    }

    /// Its values of `facet`.
    pub fn values(&self, facet: Facet) -> &[String] {
        self.facets.get(&facet).map_or(&[], Vec::as_slice)
    }
}

fn pick<'a>(texts: &'a BTreeMap<String, String>, preferred: &[&str]) -> Option<&'a str> {
    preferred
        .iter()
        .find_map(|l| texts.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(l)))
        .or_else(|| texts.iter().next())
        .map(|(_, t)| t.as_str())
}

/// How many matching records have a value of a facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// Records matching the query and every other facet's selection that have it.
    pub count: u64,
    /// Whether the request selected it.
    pub selected: bool,
}

/// The counts of one facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCounts {
    /// The facet.
    pub facet: Facet,
    /// Its values, most frequent first (then by value), at most
    /// [`MAX_FACET_VALUES`] plus any selected value beyond them.
    pub values: Vec<FacetValue>,
}

impl FacetCounts {
    /// The count of `value` (0 if absent).
    pub fn count(&self, value: &str) -> u64 {
        self.values
            .iter()
            .find(|v| v.value == value)
            .map_or(0, |v| v.count)
    }
}

/// A page of results, with the facet counts of the whole query.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// Records matching the query and every selection.
    pub total: u64,
    /// The page served (1-based).
    pub page: usize,
    /// Its size.
    pub per_page: usize,
    /// The records of this page.
    pub hits: Vec<SearchHit>,
    /// Counts for every facet, in [`Facet::ALL`] order.
    pub facets: Vec<FacetCounts>,
    /// The feed position the index reflected.
    pub position: u64,
}

impl SearchResults {
    /// The counts of `facet`.
    pub fn facet(&self, facet: Facet) -> Option<&FacetCounts> {
        self.facets.iter().find(|c| c.facet == facet)
    }
}
