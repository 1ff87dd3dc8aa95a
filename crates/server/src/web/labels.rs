//! Labels of the vocabulary's concepts and classes (SKOS `prefLabel`,
//! `rdfs:label`) from the store's vocabulary graph, in the chosen language.

use crate::error::{ServerError, store_err};
use ccis_store::{NodeStore, VOCABULARY_GRAPH};
use oxigraph::sparql::QueryResults;
use oxrdf::Term;
use std::collections::HashMap;

/// Labels by IRI (and by ISO 639-1 code for the EU languages), by language tag.
#[derive(Debug, Default)]
pub struct Labels {
    by_key: HashMap<String, Vec<(String, String)>>,
}

/// Every label of the vocabulary graph, and the labels of languages by ISO code.
fn queries() -> [String; 2] {
    [
        format!(
            "SELECT ?s ?l WHERE {{ GRAPH <{VOCABULARY_GRAPH}> {{
               ?s <http://www.w3.org/2004/02/skos/core#prefLabel>|<http://www.w3.org/2000/01/rdf-schema#label> ?l }} }}"
        ),
        format!(
            "SELECT ?s ?l WHERE {{ GRAPH <{VOCABULARY_GRAPH}> {{
               ?c <https://w3id.org/ccis/ns#isoCode> ?s ; <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }} }}"
        ),
    ]
}

impl Labels {
    /// Reads the labels of the vocabulary graph.
    pub fn load(store: &NodeStore) -> Result<Self, ServerError> {
        let mut labels = Labels::default();
        for query in queries() {
            let results = store
                .query(&query)
                .map_err(store_err("cannot read the vocabulary labels"))?;
            let QueryResults::Solutions(solutions) = results else {
                continue;
            };
            for s in solutions {
                let s = s.map_err(store_err("cannot read the vocabulary labels"))?;
                let key = match s.get("s") {
                    Some(Term::NamedNode(n)) => n.as_str().to_owned(),
                    Some(Term::Literal(l)) => l.value().to_owned(),
                    _ => continue,
                };
                if let Some(Term::Literal(l)) = s.get("l") {
                    let lang = l.language().unwrap_or("").to_owned();
                    labels
                        .by_key
                        .entry(key)
                        .or_default()
                        .push((lang, l.value().to_owned()));
                }
            }
        }
        Ok(labels)
    }

    /// The label of `key` in `lang`, else English, else any.
    pub fn get(&self, key: &str, lang: &str) -> Option<&str> {
        let labels = self.by_key.get(key)?;
        [lang, "en"]
            .iter()
            .find_map(|l| labels.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(l)))
            .or_else(|| labels.first())
            .map(|(_, text)| text.as_str())
    }

    /// The label of `key` in `lang`, else the end of the IRI.
    pub fn label(&self, key: &str, lang: &str) -> String {
        self.get(key, lang)
            .map(str::to_owned)
            .unwrap_or_else(|| local_name(key).to_owned())
    }
}

/// What follows the last `#` or `/` of an IRI (the IRI if nothing does).
pub fn local_name(iri: &str) -> &str {
    iri.rsplit(['#', '/'])
        .find(|s| !s.is_empty())
        .unwrap_or(iri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concept_labels_come_in_the_language_asked_else_english() {
        let store = NodeStore::in_memory("https://x.example").unwrap();
        let labels = Labels::load(&store).unwrap();
        let guide = "https://w3id.org/ccis/ns#tool-type-guide";
        assert_eq!(labels.get(guide, "es"), Some("guía"));
        assert_eq!(labels.get(guide, "lt"), Some("guide"));
        assert_eq!(labels.get("fr", "en"), Some("French"));
        assert_eq!(
            labels.label("https://x.example/a#unknown-thing", "fr"),
            "unknown-thing"
        );
    }
}
