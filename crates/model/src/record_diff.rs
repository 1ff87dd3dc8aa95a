//! What changed between two versions of a record, property by property:
//! the values one version has and the other has not. The validators' pages
//! show it so that a reviewer sees what a new version changed since the
//! version last judged. The version number and `dct:modified` change with
//! every version and are left out.

use crate::record::Record;
use crate::vocab;
use oxrdf::{Literal, NamedNode, NamedOrBlankNode, Term};
use std::collections::BTreeMap;

/// The values of one property that differ between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChange {
    /// The property.
    pub predicate: NamedNode,
    /// Values the older version has and the newer has not.
    pub removed: Vec<Term>,
    /// Values the newer version has and the older has not.
    pub added: Vec<Term>,
}

/// The record's own properties with their values; a blank node's value is
/// shown as the text of its properties (`p: o; p: o`).
fn properties(record: &Record) -> BTreeMap<(String, String), Term> {
    let me = NamedOrBlankNode::NamedNode(record.iri.clone());
    record
        .triples
        .iter()
        .filter(|t| t.subject == me)
        .filter(|t| t.predicate != vocab::VERSION && t.predicate != vocab::DCT_MODIFIED)
        .map(|t| {
            let value = match &t.object {
                Term::BlankNode(b) => {
                    let inner = NamedOrBlankNode::BlankNode(b.clone());
                    let mut parts: Vec<String> = record
                        .triples
                        .iter()
                        .filter(|u| u.subject == inner)
                        .map(|u| {
                            format!("{}: {}", local_name(u.predicate.as_str()), shown(&u.object))
                        })
                        .collect();
                    parts.sort();
                    Term::Literal(Literal::new_simple_literal(parts.join("; ")))
                }
                other => other.clone(),
            };
            ((t.predicate.as_str().to_owned(), value.to_string()), value)
        })
        .collect()
}

fn shown(term: &Term) -> String {
    match term {
        Term::Literal(l) => l.value().to_owned(),
        Term::NamedNode(n) => n.as_str().to_owned(),
        other => other.to_string(),
    }
}

fn local_name(iri: &str) -> &str {
    iri.rsplit(['#', '/']).next().unwrap_or(iri)
}

/// The properties whose values differ from `older` to `newer`, in the order
/// of their IRIs.
pub fn diff(older: &Record, newer: &Record) -> Vec<PropertyChange> {
    let before = properties(older);
    let after = properties(newer);
    let mut changes: Vec<PropertyChange> = Vec::new();
    let mut push = |p: &str, term: &Term, added: bool| {
        let Ok(predicate) = NamedNode::new(p) else {
            return;
        };
        let at = match changes.iter().position(|c| c.predicate == predicate) {
            Some(at) => at,
            None => {
                changes.push(PropertyChange {
                    predicate,
                    removed: Vec::new(),
                    added: Vec::new(),
                });
                changes.len() - 1
            }
        };
        if added {
            changes[at].added.push(term.clone());
        } else {
            changes[at].removed.push(term.clone());
        }
    };
    for ((p, key), term) in &before {
        if !after.contains_key(&(p.clone(), key.clone())) {
            push(p, term, false);
        }
    }
    for ((p, key), term) in &after {
        if !before.contains_key(&(p.clone(), key.clone())) {
            push(p, term, true);
        }
    }
    changes.sort_by(|a, b| a.predicate.as_str().cmp(b.predicate.as_str()));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxrdf::Triple;

    fn record(title: &str, themes: &[&str], version: u64) -> Record {
        let iri = NamedNode::new_unchecked("https://n.example/records/a");
        let mut triples = vec![
            Triple::new(
                iri.clone(),
                vocab::DCT_TITLE,
                Literal::new_language_tagged_literal_unchecked(title, "en"),
            ),
            Triple::new(
                iri.clone(),
                vocab::VERSION,
                Literal::from(i64::try_from(version).unwrap()),
            ),
            Triple::new(
                iri.clone(),
                vocab::DCT_MODIFIED,
                Literal::new_simple_literal(format!("2026-12-0{version}")),
            ),
        ];
        for t in themes {
            triples.push(Triple::new(
                iri.clone(),
                NamedNode::new_unchecked("https://w3id.org/ccis/ns#theme"),
                NamedNode::new_unchecked(format!("https://w3id.org/ccis/theme/{t}")),
            ));
        }
        Record::new(iri, triples)
    }

    #[test]
    fn only_changed_properties_show_and_the_version_stamps_never() {
        let a = record("Zero long-term unemployment", &["employment", "poverty"], 1);
        let b = record(
            "Zero long-term unemployment areas",
            &["employment", "housing"],
            2,
        );
        let changes = diff(&a, &b);
        assert_eq!(changes.len(), 2, "{changes:?}");
        let title = changes
            .iter()
            .find(|c| c.predicate == vocab::DCT_TITLE)
            .unwrap();
        assert_eq!(title.removed.len(), 1);
        assert_eq!(title.added.len(), 1);
        let theme = changes
            .iter()
            .find(|c| c.predicate.as_str().ends_with("#theme"))
            .unwrap();
        assert_eq!(
            theme.removed,
            vec![Term::NamedNode(NamedNode::new_unchecked(
                "https://w3id.org/ccis/theme/poverty"
            ))]
        );
        assert!(theme.added[0].to_string().contains("housing"));
        assert!(
            diff(
                &a,
                &record("Zero long-term unemployment", &["poverty", "employment"], 3)
            )
            .is_empty()
        );
    }
}
