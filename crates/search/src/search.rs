//! Searching: the text query built word by word (no query syntax, so no
//! input is an error), facet filters, pages, similar records.

use crate::facets::{Counts, FacetCollector};
use crate::request::{
    FacetCounts, FacetValue, MAX_FACET_VALUES, MAX_SIMILAR, SearchHit, SearchRequest,
    SearchResults, Sort,
};
use crate::schema::{Facet, Fields};
use crate::{Index, SearchError, analysis};
use std::collections::{BTreeMap, HashSet};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

/// Weight of a match in a title over one in a description or keyword.
const TITLE_BOOST: f32 = 2.0;

type Clause = (Occur, Box<dyn Query>);

impl Index {
    /// Searches the records that are not withdrawn.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let text = text_query(f, &request.words());
        let selections = request.selections();
        let hits_query = BooleanQuery::new(selected_clauses(f, text.as_deref(), request));
        let (page, per_page) = (request.effective_page(), request.effective_per_page());
        let offset = (page - 1) * per_page;
        let by_date = request.sort == Sort::Newest || text.is_none();
        let (total, found) = top(&searcher, &hits_query, offset, per_page, by_date)?;
        let counts = searcher
            .search(
                &BooleanQuery::new(within_clauses(f, text.as_deref(), request)),
                &FacetCollector {
                    selected: selections.clone(),
                },
            )
            .map_err(SearchError::Search)?;
        let hits = found
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, addr, score))
            .collect::<Result<_, _>>()?;
        Ok(SearchResults {
            total,
            page,
            per_page,
            hits,
            facets: facet_counts(counts, &selections),
            position: self.position(),
        })
    }

    /// How many records `request` finds (its page and order aside).
    pub fn count(&self, request: &SearchRequest) -> Result<u64, SearchError> {
        let f = &self.fields;
        let text = text_query(f, &request.words());
        let query = BooleanQuery::new(selected_clauses(f, text.as_deref(), request));
        let n = self
            .reader
            .searcher()
            .search(&query, &Count)
            .map_err(SearchError::Search)?;
        Ok(n as u64)
    }

    /// Records like `record` from other countries (none of its
    /// `dct:spatial`), best first: shared themes weigh most, then shared
    /// audiences and stages, then words of its titles. At most `limit`
    /// (capped at [`MAX_SIMILAR`]); none if `record` is not indexed.
    pub fn more_like_this(
        &self,
        record: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let searcher = self.reader.searcher();
        let Some(source) = self.find(&searcher, record)? else {
            return Ok(Vec::new());
        };
        let f = &self.fields;
        let mut clauses: Vec<Clause> = Vec::new();
        for (facet, boost) in [
            (Facet::Theme, 3.0),
            (Facet::Audience, 2.0),
            (Facet::Stage, 2.0),
            (Facet::ToolType, 1.0),
        ] {
            for v in source.values(facet) {
                clauses.push((
                    Occur::Should,
                    boosted(term(f.facets[facet.index()], v), boost),
                ));
            }
        }
        clauses.extend(title_clauses(f, &source.titles));
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = vec![(
            Occur::Must,
            Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>,
        )];
        query.push((Occur::MustNot, term(f.iri, &source.iri)));
        query.push((Occur::MustNot, withdrawn(f)));
        for country in source.values(Facet::Country) {
            query.push((
                Occur::MustNot,
                term(f.facets[Facet::Country.index()], country),
            ));
        }
        let limit = limit.clamp(1, MAX_SIMILAR);
        let (_, found) = top(&searcher, &BooleanQuery::new(query), 0, limit, false)?;
        found
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, addr, score))
            .collect()
    }

    /// The indexed record `iri`, withdrawn or not.
    pub fn get(&self, iri: &str) -> Result<Option<SearchHit>, SearchError> {
        self.find(&self.reader.searcher(), iri)
    }

    fn find(&self, searcher: &Searcher, iri: &str) -> Result<Option<SearchHit>, SearchError> {
        let found = searcher
            .search(
                &*term(self.fields.iri, iri),
                &TopDocs::with_limit(1).order_by_score(),
            )
            .map_err(SearchError::Search)?;
        match found.first() {
            Some((score, addr)) => Ok(Some(self.hit(searcher, *addr, *score)?)),
            None => Ok(None),
        }
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
    ) -> Result<SearchHit, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(SearchError::Search)?;
        let f = &self.fields;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let facets = Facet::ALL
            .iter()
            .map(|facet| {
                let values = doc
                    .get_all(f.facets[facet.index()])
                    .filter_map(|v| v.as_str().map(str::to_owned));
                (*facet, values.collect())
            })
            .collect();
        Ok(SearchHit {
            iri: text(f.iri),
            score,
            modified: text(f.modified),
            version: doc
                .get_first(f.version)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            withdrawn: doc
                .get_first(f.withdrawn)
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            titles: serde_json::from_str(&text(f.titles)).unwrap_or_default(),
            descriptions: serde_json::from_str(&text(f.descriptions)).unwrap_or_default(),
            facets,
        })
    }
}

/// The top `limit` after `offset`, by score or newest first, and how many match.
fn top(
    searcher: &Searcher,
    query: &dyn Query,
    offset: usize,
    limit: usize,
    by_date: bool,
) -> Result<(u64, Vec<(f32, DocAddress)>), SearchError> {
    let docs = TopDocs::with_limit(limit).and_offset(offset);
    if by_date {
        let (n, found) = searcher
            .search(
                query,
                &(
                    Count,
                    docs.order_by_fast_field::<i64>("modified_ts", Order::Desc),
                ),
            )
            .map_err(SearchError::Search)?;
        Ok((n as u64, found.into_iter().map(|(_, a)| (0.0, a)).collect()))
    } else {
        let (n, found) = searcher
            .search(query, &(Count, docs.order_by_score()))
            .map_err(SearchError::Search)?;
        Ok((n as u64, found))
    }
}

/// The text (or every record) and not withdrawn.
fn base_clauses(f: &Fields, text: Option<&dyn Query>) -> Vec<Clause> {
    let matching = match text {
        Some(q) => q.box_clone(),
        None => Box::new(AllQuery),
    };
    vec![(Occur::Must, matching), (Occur::MustNot, withdrawn(f))]
}

/// The text, not withdrawn, within the request's records if it names them.
fn within_clauses(f: &Fields, text: Option<&dyn Query>, request: &SearchRequest) -> Vec<Clause> {
    let mut clauses = base_clauses(f, text);
    if let Some(iris) = &request.within {
        let terms = iris.iter().map(|i| Term::from_field_text(f.iri, i));
        let filter: Box<dyn Query> = Box::new(TermSetQuery::new(terms));
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
    }
    clauses
}

/// [`within_clauses`] and every facet selection.
fn selected_clauses(f: &Fields, text: Option<&dyn Query>, request: &SearchRequest) -> Vec<Clause> {
    let mut clauses = within_clauses(f, text, request);
    for (facet, values) in Facet::ALL.iter().zip(&request.selections()) {
        if !values.is_empty() {
            let filter = any_of(f.facets[facet.index()], values);
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
    }
    clauses
}

fn withdrawn(f: &Fields) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_bool(f.withdrawn, true),
        IndexRecordOption::Basic,
    ))
}

fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
}

/// Any of `values` in `field`.
fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|v| (Occur::Should, term(field, v)))
            .collect(),
    ))
}

/// Every word, each in any language: `None` when no word is left.
fn text_query(f: &Fields, words: &[String]) -> Option<Box<dyn Query>> {
    let clauses: Vec<Clause> = words
        .iter()
        .filter_map(|w| word_query(f, w))
        .map(|q| (Occur::Must, q))
        .collect();
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}

/// One word in the title or body field of every analyser, analysed by it.
fn word_query(f: &Fields, word: &str) -> Option<Box<dyn Query>> {
    let mut seen = HashSet::new();
    let mut clauses: Vec<Clause> = Vec::new();
    for (analyser, title, body) in &f.text {
        for t in analysis::terms(analyser, word) {
            for (field, boost) in [(*title, TITLE_BOOST), (*body, 1.0)] {
                if seen.insert((field, t.clone())) {
                    clauses.push((Occur::Should, boosted(term(field, &t), boost)));
                }
            }
        }
    }
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}

/// The words of a record's titles, each in its language's fields, weighed low.
fn title_clauses(f: &Fields, titles: &BTreeMap<String, String>) -> Vec<Clause> {
    let mut seen = HashSet::new();
    let mut clauses = Vec::new();
    for (tag, title) in titles {
        let analyser = analysis::analyser_for(tag);
        let Some((t, b)) = f.text_of(analyser) else {
            continue;
        };
        for word in analysis::terms(analyser, title).into_iter().take(24) {
            if word.chars().count() > 3 && seen.insert((analyser, word.clone())) {
                clauses.push((Occur::Should, boosted(term(t, &word), 0.5)));
                clauses.push((Occur::Should, boosted(term(b, &word), 0.25)));
            }
        }
    }
    clauses
}

/// The counts as results give them: most frequent first, capped, selected
/// values always listed.
fn facet_counts(counts: Counts, selections: &[Vec<String>]) -> Vec<FacetCounts> {
    Facet::ALL
        .iter()
        .zip(counts)
        .zip(selections)
        .map(|((facet, counts), selected)| {
            let mut values: Vec<FacetValue> = counts
                .into_iter()
                .map(|(value, count)| FacetValue {
                    selected: selected.contains(&value),
                    value,
                    count,
                })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            let mut kept: Vec<FacetValue> = Vec::new();
            for (i, v) in values.into_iter().enumerate() {
                if i < MAX_FACET_VALUES || v.selected {
                    kept.push(v);
                }
            }
            for s in selected {
                if !kept.iter().any(|v| &v.value == s) {
                    kept.push(FacetValue {
                        value: s.clone(),
                        count: 0,
                        selected: true,
                    });
                }
            }
            FacetCounts {
                facet: *facet,
                values: kept,
            }
        })
        .collect()
}
