//! The roadmap's yearly indicators for one centre, computed from what its
//! store holds: tools it produced (by type, tool type, theme, stage, year),
//! tools of other centres available here (by country, year), what the
//! records say they serve (by sector and by need) and how many of its own
//! tools its peers in other countries hold.
//!
//! Every figure is a [`Figure`]: named rows of counts, plain data the
//! server turns into JSON, CSV, tables and charts. How each figure is
//! counted is in `docs/11-indicators.md`.

use ccis_integrity::peers::Peers;
use ccis_model::vocab;
use ccis_store::{CatalogueEntry, NodeStore, StoreError};
use oxigraph::sparql::QueryResults;
use oxrdf::Term;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// Why the indicators could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    /// The store could not be read.
    #[error("reading the store for the indicators: {0}")]
    Store(#[from] StoreError),
    /// A query over the store failed while reading its results.
    #[error("reading the results of the indicators' query: {0}")]
    Results(String),
}

/// One row of a figure: a category and how many records fall in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Stable key of the category (a SKOS notation, a class name, a year,
    /// a country code, a peer id).
    pub key: String,
    /// Its English label.
    pub label: String,
    /// Records in it.
    pub count: u64,
    /// The IRI of the vocabulary concept or class it counts, if it is one
    /// (for labels in other languages; not part of the JSON).
    #[serde(skip)]
    pub concept: Option<String>,
}

/// One indicator: rows of counts under a stable name.
///
/// This crate only names the figure (one of [`FIGURES`]); its title and how
/// it is counted, for people, are interface strings the server looks up by
/// that name in its message catalogues and sets in `title` and `counted`
/// (in English, for the JSON) before serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// Short name, used in URLs (`/indicators/{name}.csv`) and as the id of
    /// its strings in the server's catalogues.
    pub name: String,
    /// Title, for people (empty until the server sets it).
    pub title: String,
    /// How the rows are counted (empty until the server sets it).
    pub counted: String,
    /// Distinct records counted (a record in two rows counts once here).
    pub total: u64,
    /// The rows, largest count first (years in order).
    pub rows: Vec<Row>,
}

/// What a peer was found to hold of this node's own records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerHolding {
    /// The peer's id in `peers.toml`.
    pub peer: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
    /// The record IRIs of this node its catalogue lists as current, or
    /// `None` when it did not answer.
    pub held: Option<Vec<String>>,
}

/// All the indicators of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicators {
    /// The node's id.
    pub node: String,
    /// Its country.
    pub country: String,
    /// Peers asked which of this node's records they hold, and their answer.
    pub peers_asked: Vec<PeerHolding>,
    /// The figures.
    pub figures: Vec<Figure>,
}

/// Who the indicators are for: the node's id, country and base URL.
#[derive(Debug, Clone)]
pub struct Centre<'a> {
    /// Node id.
    pub id: &'a str,
    /// Country code.
    pub country: &'a str,
    /// Base URL (its records are `{base}/records/…`).
    pub base_url: &'a str,
}

/// What the store says about one current record.
#[derive(Debug, Default, Clone)]
struct Facts {
    own: bool,
    origin: String,
    values: HashMap<&'static str, Vec<String>>,
}

const TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const PROPERTIES: &[(&str, &str)] = &[
    ("type", TYPE),
    ("toolType", "https://w3id.org/ccis/ns#toolType"),
    ("theme", "http://purl.org/dc/terms/subject"),
    ("stage", "https://w3id.org/ccis/ns#stage"),
    ("issued", "http://purl.org/dc/terms/issued"),
    ("created", "http://purl.org/dc/terms/created"),
    ("modified", "http://purl.org/dc/terms/modified"),
];

impl Indicators {
    /// Computes the indicators of `centre` from `store`, with the origin
    /// countries of `peers` and what `held` says peers hold.
    pub fn compute(
        store: &NodeStore,
        centre: &Centre<'_>,
        peers: &Peers,
        held: Vec<PeerHolding>,
    ) -> Result<Self, IndicatorError> {
        let facts = read_facts(store, centre)?;
        let labels = Labels::read(store)?;
        let own: Vec<&Facts> = facts.values().filter(|f| f.own).collect();
        let others: Vec<&Facts> = facts.values().filter(|f| !f.own).collect();
        let all: Vec<&Facts> = facts.values().collect();
        let country_of = |f: &Facts| {
            peers
                .get(&f.origin)
                .map_or_else(|| "unknown".to_owned(), |p| p.country.to_uppercase())
        };
        let figures = vec![
            by_value("own-by-type", &own, "type", &labels),
            by_value("own-by-tool-type", &own, "toolType", &labels),
            by_value("own-by-theme", &own, "theme", &labels),
            by_value("own-by-stage", &own, "stage", &labels),
            by_key("own-by-year", &own, |f| year_of(f).into_iter().collect()),
            shared(centre, &own, &held),
            by_key("others-by-country", &others, |f| vec![country_of(f)]),
            by_key("others-by-year", &others, |f| {
                year_of(f).into_iter().collect()
            }),
            by_value("use-by-sector", &all, "theme", &labels),
            by_value("use-by-need", &all, "stage", &labels),
        ];
        Ok(Self {
            node: centre.id.to_owned(),
            country: centre.country.to_owned(),
            peers_asked: held,
            figures,
        })
    }

    /// The figure named `name`.
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.name == name)
    }
}

/// The names of the figures, in the order [`Indicators::compute`] gives them.
pub const FIGURES: &[&str] = &[
    "own-by-type",
    "own-by-tool-type",
    "own-by-theme",
    "own-by-stage",
    "own-by-year",
    "shared-by-peer",
    "others-by-country",
    "others-by-year",
    "use-by-sector",
    "use-by-need",
];

/// Counts by key: the row's label, the concept it stands for, its count.
type Counts = BTreeMap<String, (String, Option<String>, u64)>;

fn figure(name: &str, counts: Counts, total: u64) -> Figure {
    let mut rows: Vec<Row> = counts
        .into_iter()
        .map(|(key, (label, concept, count))| Row {
            key,
            label,
            count,
            concept,
        })
        .collect();
    if !name.ends_with("-by-year") {
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    }
    Figure {
        name: name.to_owned(),
        title: String::new(),
        counted: String::new(),
        total,
        rows,
    }
}

/// Counts records by the keys `keys` gives each (label = key).
fn by_key(name: &str, records: &[&Facts], keys: impl Fn(&Facts) -> Vec<String>) -> Figure {
    let mut counts = Counts::new();
    let mut total = 0;
    for f in records {
        let keys: BTreeSet<String> = keys(f).into_iter().collect();
        total += u64::from(!keys.is_empty());
        for k in keys {
            counts.entry(k.clone()).or_insert((k, None, 0)).2 += 1;
        }
    }
    figure(name, counts, total)
}

/// Counts records by the concepts of one property, labelled from the vocabulary.
fn by_value(name: &str, records: &[&Facts], property: &str, labels: &Labels) -> Figure {
    let mut counts = Counts::new();
    let mut total = 0;
    for f in records {
        let values: BTreeSet<&String> = f.values.get(property).into_iter().flatten().collect();
        let values: Vec<&String> = values
            .into_iter()
            .filter(|v| property != "type" || labels.class(v).is_some())
            .collect();
        total += u64::from(!values.is_empty());
        for v in values {
            let (key, label) = labels.of(v);
            counts.entry(key).or_insert((label, Some(v.clone()), 0)).2 += 1;
        }
    }
    figure(name, counts, total)
}

/// The year of a record: of `dct:issued`, else `dct:created`, else `dct:modified`.
fn year_of(f: &Facts) -> Option<String> {
    ["issued", "created", "modified"]
        .iter()
        .filter_map(|p| f.values.get(p).and_then(|v| v.iter().min()))
        .map(|date| date.chars().take(4).collect::<String>())
        .find(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()))
}

/// Own current records held by peers of other countries, per peer.
fn shared(centre: &Centre<'_>, own: &[&Facts], held: &[PeerHolding]) -> Figure {
    let own_iris: BTreeSet<&str> = own
        .iter()
        .filter_map(|f| f.values.get("iri").and_then(|v| v.first()))
        .map(String::as_str)
        .collect();
    let mut counts = Counts::new();
    let mut distinct: BTreeSet<&str> = BTreeSet::new();
    for h in held
        .iter()
        .filter(|h| !h.country.eq_ignore_ascii_case(centre.country))
    {
        let Some(records) = &h.held else { continue };
        let mine: BTreeSet<&str> = records
            .iter()
            .map(String::as_str)
            .filter(|r| own_iris.contains(r))
            .collect();
        let label = format!("{} ({})", h.peer, h.country.to_uppercase());
        counts.insert(h.peer.clone(), (label, None, mine.len() as u64));
        distinct.extend(mine);
    }
    figure("shared-by-peer", counts, distinct.len() as u64)
}

/// The current records of the store with their origin and the values of
/// [`PROPERTIES`] in their own graph.
fn read_facts(
    store: &NodeStore,
    centre: &Centre<'_>,
) -> Result<BTreeMap<String, Facts>, IndicatorError> {
    let own_node = ccis_store::node_iri(centre.base_url);
    let entries: Vec<CatalogueEntry> = store.entries()?;
    let mut facts: BTreeMap<String, Facts> = entries
        .into_iter()
        .filter(|e| e.status == "current")
        .map(|e| {
            let iri = e.record.as_str().to_owned();
            let mut f = Facts {
                own: e.origin_node == own_node,
                origin: e.origin,
                values: HashMap::new(),
            };
            f.values.insert("iri", vec![iri.clone()]);
            (iri, f)
        })
        .collect();
    for (name, property) in PROPERTIES {
        let query = format!("SELECT ?r ?v WHERE {{ GRAPH ?r {{ ?r <{property}> ?v }} }}");
        for (r, v) in pairs(store, &query)? {
            if let Some(f) = facts.get_mut(&r) {
                f.values.entry(*name).or_default().push(v);
            }
        }
    }
    Ok(facts)
}

/// The (first, second) variable values of a two-variable SELECT, as text
/// (IRIs without brackets, literals' lexical form).
fn pairs(store: &NodeStore, query: &str) -> Result<Vec<(String, String)>, IndicatorError> {
    let QueryResults::Solutions(solutions) = store.query(query)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for s in solutions {
        let s = s.map_err(|e| IndicatorError::Results(e.to_string()))?;
        if let (Some(a), Some(b)) = (s.get(0), s.get(1)) {
            out.push((text(a), text(b)));
        }
    }
    Ok(out)
}

fn text(t: &Term) -> String {
    match t {
        Term::NamedNode(n) => n.as_str().to_owned(),
        Term::Literal(l) => l.value().to_owned(),
        other => other.to_string(),
    }
}

/// English labels and notations of the vocabulary's concepts.
struct Labels {
    label: HashMap<String, String>,
    notation: HashMap<String, String>,
}

impl Labels {
    fn read(store: &NodeStore) -> Result<Self, IndicatorError> {
        let graph = "https://w3id.org/ccis/ns";
        let skos = vocab::SKOS;
        let label = pairs(
            store,
            &format!(
                "SELECT ?c ?l WHERE {{ GRAPH <{graph}> {{ ?c <{skos}prefLabel> ?l FILTER(langMatches(lang(?l), \"en\")) }} }}"
            ),
        )?;
        let notation = pairs(
            store,
            &format!("SELECT ?c ?n WHERE {{ GRAPH <{graph}> {{ ?c <{skos}notation> ?n }} }}"),
        )?;
        Ok(Self {
            label: label.into_iter().collect(),
            notation: notation.into_iter().collect(),
        })
    }

    /// The class short name of a record class IRI.
    fn class(&self, iri: &str) -> Option<&'static str> {
        vocab::RECORD_CLASSES
            .iter()
            .find(|(c, _)| c.as_str() == iri)
            .map(|(_, name)| *name)
    }

    /// (key, label) of a value: notation or class name, and English label.
    fn of(&self, value: &str) -> (String, String) {
        if let Some(name) = self.class(value) {
            return (name.to_owned(), name.to_owned());
        }
        let local = value.rsplit(['#', '/']).next().unwrap_or(value).to_owned();
        let key = self.notation.get(value).cloned().unwrap_or(local);
        let label = self
            .label
            .get(value)
            .cloned()
            .unwrap_or_else(|| key.clone());
        (key, label)
    }
}

/// The SPARQL query a peer is asked: the current records of `base` its catalogue lists.
pub fn held_query(base_url: &str) -> String {
    let node = ccis_store::node_iri(base_url);
    format!(
        "SELECT DISTINCT ?r WHERE {{ ?c <{topic}> ?r ; <{origin}> <{node}> ; <{status}> ?s FILTER(str(?s) = \"current\") }}",
        topic = vocab::FOAF_PRIMARY_TOPIC.as_str(),
        origin = vocab::ORIGIN_NODE.as_str(),
        node = node.as_str(),
        status = vocab::STATUS.as_str(),
    )
}

/// Asks every peer of another country than `centre`'s, at once, which of
/// `centre`'s current records its catalogue holds (its `/sparql`, within
/// `timeout`); a peer that fails or is slow gets `held: None`.
pub async fn ask_peers(centre: &Centre<'_>, peers: &Peers, timeout: Duration) -> Vec<PeerHolding> {
    let query = held_query(centre.base_url);
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    let mut asked = tokio::task::JoinSet::new();
    for p in peers
        .peers
        .iter()
        .filter(|p| !p.country.eq_ignore_ascii_case(centre.country) && p.id != centre.id)
    {
        let (client, query) = (client.clone(), query.clone());
        let (peer, country, base) = (p.id.clone(), p.country.to_uppercase(), p.base_url.clone());
        asked.spawn(async move {
            let held = ask_one(&client, &base, &query).await;
            PeerHolding {
                peer,
                country,
                held,
            }
        });
    }
    let mut out: Vec<PeerHolding> = asked.join_all().await;
    out.sort_by(|a, b| a.peer.cmp(&b.peer));
    out
}

/// The `?r` bindings of one peer's answer, or `None`.
async fn ask_one(client: &reqwest::Client, base_url: &str, query: &str) -> Option<Vec<String>> {
    let response = client
        .post(format!("{}/sparql", base_url.trim_end_matches('/')))
        .header("accept", "application/sparql-results+json")
        .form(&[("query", query)])
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    let bindings = body.pointer("/results/bindings")?.as_array()?;
    Some(
        bindings
            .iter()
            .filter_map(|b| b.pointer("/r/value")?.as_str().map(str::to_owned))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(values: &[(&'static str, &str)]) -> Facts {
        let mut f = Facts::default();
        for (k, v) in values {
            f.values.entry(*k).or_default().push((*v).to_owned());
        }
        f
    }

    #[test]
    fn the_year_comes_from_issued_then_created_then_modified() {
        let f = facts(&[
            ("modified", "2026-11-20T10:00:00Z"),
            ("issued", "2023-05-01"),
        ]);
        assert_eq!(year_of(&f).as_deref(), Some("2023"));
        let f = facts(&[("modified", "2026-11-20T10:00:00Z")]);
        assert_eq!(year_of(&f).as_deref(), Some("2026"));
        assert_eq!(year_of(&facts(&[("issued", "soon")])), None);
    }

    #[test]
    fn a_record_in_two_rows_counts_once_in_the_total() {
        let a = facts(&[("theme", "x"), ("theme", "y")]);
        let b = facts(&[("theme", "x")]);
        let f = by_key("own-by-theme", &[&a, &b], |f| f.values["theme"].clone());
        assert_eq!(f.total, 2);
        assert_eq!(f.rows[0].key, "x");
        assert_eq!(f.rows[0].count, 2);
        assert_eq!(f.rows[1].count, 1);
    }

    #[test]
    fn only_peers_of_other_countries_share_transnationally() {
        let centre = Centre {
            id: "fr",
            country: "FR",
            base_url: "http://fr",
        };
        let mine = facts(&[("iri", "http://fr/records/a")]);
        let held = |peer: &str, country: &str, records: &[&str]| PeerHolding {
            peer: peer.into(),
            country: country.into(),
            held: Some(records.iter().map(|r| (*r).to_owned()).collect()),
        };
        let f = shared(
            &centre,
            &[&mine],
            &[
                held(
                    "lv",
                    "LV",
                    &["http://fr/records/a", "http://fr/records/gone"],
                ),
                held("fr2", "FR", &["http://fr/records/a"]),
            ],
        );
        assert_eq!(f.total, 1);
        assert_eq!(f.rows.len(), 1);
        assert_eq!((f.rows[0].key.as_str(), f.rows[0].count), ("lv", 1));
    }
}
