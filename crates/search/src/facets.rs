//! Disjunctive facet counts in one pass over the documents matching the
//! text: a document that meets every facet selection counts for every
//! facet; one that misses exactly one facet's selection counts for that
//! facet only (what the count would be if that facet's selection were
//! widened); one that misses two counts nowhere.

use crate::schema::Facet;
use std::collections::HashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts per facet, in [`Facet::ALL`] order.
pub(crate) type Counts = Vec<HashMap<String, u64>>;

/// Counts the facet values of matching documents under `selected` (values
/// per facet in [`Facet::ALL`] order; empty: no selection).
pub(crate) struct FacetCollector {
    pub selected: Vec<Vec<String>>,
}

pub(crate) struct SegmentFacets {
    columns: Vec<FacetColumn>,
}

struct FacetColumn {
    column: Option<StrColumn>,
    /// `None`: the facet has no selection; else the ords selected here.
    selected: Option<Vec<u64>>,
    counts: Vec<u64>,
}

impl FacetColumn {
    fn passes(&self, doc: DocId) -> bool {
        match (&self.selected, &self.column) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(sel), Some(col)) => col.term_ords(doc).any(|o| sel.contains(&o)),
        }
    }

    fn count(&mut self, doc: DocId) {
        if let Some(col) = &self.column {
            for ord in col.term_ords(doc) {
                if let Some(c) = self.counts.get_mut(ord as usize) {
                    *c += 1;
                }
            }
        }
    }
}

impl Collector for FacetCollector {
    type Fruit = Counts;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let mut columns = Vec::with_capacity(Facet::ALL.len());
        for (facet, selected) in Facet::ALL.iter().zip(&self.selected) {
            let column = reader.fast_fields().str(facet.name())?;
            let terms = column.as_ref().map_or(0, |c| c.dictionary().num_terms());
            let selected = match (selected.is_empty(), &column) {
                (true, _) => None,
                (false, None) => Some(Vec::new()),
                (false, Some(c)) => {
                    let mut ords = Vec::new();
                    for value in selected {
                        ords.extend(c.dictionary().term_ord(value)?);
                    }
                    Some(ords)
                }
            };
            columns.push(FacetColumn {
                column,
                selected,
                counts: vec![0; terms],
            });
        }
        Ok(SegmentFacets { columns })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged: Counts = vec![HashMap::new(); Facet::ALL.len()];
        for fruit in fruits {
            for (into, from) in merged.iter_mut().zip(fruit) {
                for (value, n) in from {
                    *into.entry(value).or_default() += n;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let mut missed = None;
        for (i, c) in self.columns.iter().enumerate() {
            if !c.passes(doc) {
                if missed.is_some() {
                    return;
                }
                missed = Some(i);
            }
        }
        match missed {
            None => self.columns.iter_mut().for_each(|c| c.count(doc)),
            Some(i) => self.columns[i].count(doc),
        }
    }

    fn harvest(self) -> Counts {
        let mut out = Vec::with_capacity(self.columns.len());
        for c in self.columns {
            let mut values = HashMap::new();
            if let Some(col) = &c.column {
                for (ord, n) in c.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                    let mut value = String::new();
                    if col.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                        values.insert(value, *n);
                    }
                }
            }
            out.push(values);
        }
        out
    }
}
