//! The roadmap's yearly indicators for one centre, computed from what its
//! store holds: tools it produced (by type, tool type, theme, stage, year),
//! tools of other centres available here (by country, year), what the
//! records say they serve (by sector and by need), how many of its own
//! tools its peers in other countries hold, and the validation of
//! initiatives for the Social Innovation Match (initiatives validated per
//! year at each level, median days from submission to each decision).
//!
//! Every figure is a [`Figure`]: named rows of counts, plain data the
//! server turns into JSON, CSV, tables and charts; a figure of durations
//! also gives each row's median ([`Row::median_days`]). How each figure is
//! counted is in `docs/11-indicators.md`.

use ccis_integrity::peers::Peers;
use ccis_model::canon::{self, CanonError};
use ccis_model::decision::{self, Decision};
use ccis_model::vocab;
use ccis_model::workflow::{self, DecisionStatus, Outcome, Role};
use ccis_store::{CatalogueEntry, NodeStore, StoreError};
use oxigraph::sparql::QueryResults;
use oxrdf::Term;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why the indicators could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    /// The store could not be read.
    #[error("reading the store for the indicators: {0}")]
    Store(#[from] StoreError),
    /// A query over the store failed while reading its results.
    #[error("reading the results of the indicators' query: {0}")]
    Results(String),
    /// The digest of an initiative's version, which says which decisions
    /// apply to it, cannot be computed.
    #[error("computing the digest of <{initiative}> for the validation indicators: {source}")]
    Digest {
        /// The initiative.
        initiative: String,
        /// Why.
        source: CanonError,
    },
}

/// One row of a figure: a category and how many records fall in it (or,
/// in a figure of durations, how many durations were measured in it and
/// their median).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable key of the category (a SKOS notation, a class name, a year,
    /// a country code, a peer id).
    pub key: String,
    /// Its English label.
    pub label: String,
    /// Records in it (in a figure of durations: the durations measured).
    pub count: u64,
    /// In a figure of durations only: the median of the durations measured,
    /// in days to one decimal (`None` when none was measured; left out of
    /// the JSON in the other figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_days: Option<f64>,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        let mut figures = vec![
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
        let initiatives = read_validations(store)?;
        figures.extend([
            validated_by_year("validated-national-by-year", &initiatives, Role::National),
            validated_by_year("validated-eu-by-year", &initiatives, Role::European),
            days_to_decision(&initiatives, &labels),
        ]);
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

impl Figure {
    /// Whether it is a figure of durations: its rows give a median.
    pub fn has_medians(&self) -> bool {
        self.name.starts_with("median-")
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
    "validated-national-by-year",
    "validated-eu-by-year",
    "median-days-to-decision",
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
            median_days: None,
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

/// A decision held about an initiative, as the validation figures count it.
#[derive(Debug, Clone)]
struct Decided {
    /// Its level.
    role: Role,
    /// What it decided.
    outcome: Outcome,
    /// When (`prov:endedAtTime`).
    at: OffsetDateTime,
}

/// An initiative held, as the validation figures count it.
#[derive(Debug, Clone, Default)]
struct Validations {
    /// When it was submitted: when its first version held was published.
    submitted: Option<OffsetDateTime>,
    /// The decisions held about it that took effect, on this version or an
    /// older one (not those the workflow refused where they came).
    decisions: Vec<Decided>,
}

/// Every current initiative of the store with its decisions; the state
/// of each is derived as for the initiative's page and `/api/initiatives`
/// ([`workflow::derive_state`]), to leave out the decisions it refuses.
fn read_validations(store: &NodeStore) -> Result<Vec<Validations>, IndicatorError> {
    let mut out = Vec::new();
    for iri in store.initiatives()? {
        let Some(current) = store.get(&iri)? else {
            continue;
        };
        let held: Vec<Decision> = store
            .decisions_about(&iri)?
            .iter()
            .filter_map(|s| Decision::from_record(&s.record).ok())
            .collect();
        let version = decision::initiative_version(&current.record, &canon::Limits::default())
            .map_err(|source| IndicatorError::Digest {
                initiative: iri.as_str().to_owned(),
                source,
            })?;
        let summaries: Vec<_> = held.iter().map(Decision::summary).collect();
        let derived = workflow::derive_state(&version, &summaries);
        let took_effect = |d: &Decision| {
            derived.decisions.iter().any(|(i, s)| {
                i == d.iri.as_str()
                    && matches!(
                        s,
                        DecisionStatus::Applies | DecisionStatus::AboutOlderVersion
                    )
            })
        };
        let decisions = held
            .iter()
            .filter(|d| took_effect(d))
            .map(|d| Decided {
                role: d.role,
                outcome: d.outcome,
                at: d.ended_at,
            })
            .collect();
        let mut submitted = None;
        for v in 1..=version.version {
            if let Some(first) = store.version(&iri, v)? {
                submitted = first.modified().and_then(parse_time);
                break;
            }
        }
        out.push(Validations {
            submitted,
            decisions,
        });
    }
    Ok(out)
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Initiatives validated at the level of `role`, by the year of the
/// decision; an initiative validated twice in a year counts once in it.
fn validated_by_year(name: &str, initiatives: &[Validations], role: Role) -> Figure {
    let mut counts = Counts::new();
    let mut total = 0;
    for i in initiatives {
        let years: BTreeSet<String> = i
            .decisions
            .iter()
            .filter(|d| d.role == role && d.outcome == Outcome::Validated)
            .map(|d| format!("{:04}", d.at.year()))
            .collect();
        total += u64::from(!years.is_empty());
        for y in years {
            counts.entry(y.clone()).or_insert((y, None, 0)).2 += 1;
        }
    }
    figure(name, counts, total)
}

/// Days from each initiative's submission to each decision held about it,
/// per level: how many, and their median. A decision dated before the
/// submission (the two nodes' clocks disagree) counts as zero days.
fn days_to_decision(initiatives: &[Validations], labels: &Labels) -> Figure {
    let mut total = 0;
    let rows = Role::ALL
        .into_iter()
        .map(|role| {
            let days: Vec<f64> = initiatives
                .iter()
                .filter_map(|i| Some((i.submitted?, i)))
                .flat_map(|(submitted, i)| {
                    i.decisions
                        .iter()
                        .filter(move |d| d.role == role)
                        .map(move |d| ((d.at - submitted).as_seconds_f64() / 86_400.0).max(0.0))
                })
                .collect();
            let (key, label) = labels.of(&role.iri());
            Row {
                key,
                label,
                count: days.len() as u64,
                median_days: median(&days).map(|m| (m * 10.0).round() / 10.0),
                concept: Some(role.iri()),
            }
        })
        .collect();
    for i in initiatives {
        total += u64::from(i.submitted.is_some() && !i.decisions.is_empty());
    }
    Figure {
        name: "median-days-to-decision".to_owned(),
        title: String::new(),
        counted: String::new(),
        total,
        rows,
    }
}

/// The median of `values` (the mean of the two middle ones when their
/// number is even), `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
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
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4.0]), Some(4.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[10.0, 1.0, 3.0, 7.0]), Some(5.0));
        assert_eq!(median(&[0.5, 0.25]), Some(0.375));
    }

    fn at(text: &str) -> OffsetDateTime {
        parse_time(text).unwrap()
    }

    fn decided(role: Role, outcome: Outcome, when: &str) -> Decided {
        Decided {
            role,
            outcome,
            at: at(when),
        }
    }

    #[test]
    fn initiatives_are_counted_once_per_year_of_their_validation_at_each_level() {
        let a = Validations {
            submitted: Some(at("2025-12-01T00:00:00Z")),
            decisions: vec![
                decided(
                    Role::National,
                    Outcome::ChangesRequested,
                    "2025-12-10T00:00:00Z",
                ),
                decided(Role::National, Outcome::Validated, "2025-12-20T00:00:00Z"),
                decided(Role::National, Outcome::Validated, "2025-12-30T00:00:00Z"),
                decided(Role::European, Outcome::Validated, "2026-01-05T00:00:00Z"),
            ],
        };
        let b = Validations {
            submitted: Some(at("2026-02-01T00:00:00Z")),
            decisions: vec![decided(
                Role::National,
                Outcome::Rejected,
                "2026-02-03T00:00:00Z",
            )],
        };
        let national = validated_by_year(
            "validated-national-by-year",
            &[a.clone(), b.clone()],
            Role::National,
        );
        assert_eq!(national.total, 1);
        let rows: Vec<(&str, u64)> = national
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.count))
            .collect();
        assert_eq!(rows, [("2025", 1)]);
        let eu = validated_by_year(
            "validated-eu-by-year",
            &[a.clone(), b.clone()],
            Role::European,
        );
        assert_eq!(
            eu.rows
                .iter()
                .map(|r| (r.key.as_str(), r.count))
                .collect::<Vec<_>>(),
            [("2026", 1)]
        );

        let labels = Labels {
            label: HashMap::new(),
            notation: HashMap::new(),
        };
        let days = days_to_decision(&[a, b], &labels);
        assert!(days.has_medians());
        assert_eq!(days.total, 2);
        let national = &days.rows[0];
        assert_eq!(national.key, "role-national-validator");
        // 9, 19, 29 days after a's submission and 2 after b's: median of 2, 9, 19, 29.
        assert_eq!((national.count, national.median_days), (4, Some(14.0)));
        let eu = &days.rows[1];
        assert_eq!((eu.count, eu.median_days), (1, Some(35.0)));
        assert_eq!(eu.concept.as_deref(), Some(Role::European.iri().as_str()));
    }

    #[test]
    fn a_decision_before_the_submission_counts_as_zero_days() {
        let a = Validations {
            submitted: Some(at("2026-01-01T12:00:00Z")),
            decisions: vec![decided(
                Role::European,
                Outcome::Validated,
                "2026-01-01T11:59:58Z",
            )],
        };
        let labels = Labels {
            label: HashMap::new(),
            notation: HashMap::new(),
        };
        let days = days_to_decision(&[a], &labels);
        assert_eq!(days.rows[0].median_days, None);
        assert_eq!(days.rows[1].median_days, Some(0.0));
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
