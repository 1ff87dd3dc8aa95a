//! The export for the Social Innovation Match (SIM), the EU database of
//! social innovation initiatives: every initiative this node holds that is
//! validated at EU level (derived state [`State::Published`]), with its texts
//! in every language, its coded properties as notations and IRIs, and the
//! validation chain that got it there (the national decision, unless it is
//! transnational, then the EU decision), each decision named by the IRI of
//! its signed record.
//!
//! The export is computed from the store on every call, like
//! `/api/initiatives`: nothing is kept. It reads only what the store holds,
//! so a submission awaiting the operator (a private file, never in the store)
//! and a submitter's contact (never part of a record) cannot be in it.
//!
//! Two serialisations of one [`SimExport`]: JSON ([`SimExport::to_json`],
//! its JSON Schema is `docs/sim-export.schema.json`) and CSV
//! ([`SimExport::to_csv`], one row per initiative, the columns of
//! [`csv_header`], the same whatever the initiatives hold). How to run it and
//! what each column means: `docs/12-validation.md`, "Export for the SIM".

use crate::config::NodeConfig;
use crate::node::{Node, NodeError};
use crate::validation::{self, HeldDecision, InitiativeState};
use ccis_integrity::peers::Peers;
use ccis_model::record::Record;
use ccis_model::vocab;
use ccis_model::workflow::{DecisionStatus, Outcome, Role, State};
use ccis_store::{NodeStore, StoreError};
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::{NamedNode, NamedOrBlankNode, Term};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;

/// The value of `format` in every export: what it is, and the version of its layout.
pub const FORMAT: &str = "ccis-sim-export/1";

/// The languages the CSV has a column for, per text property: the 24
/// official EU languages (`vocab/eu-authorities.ttl`), the six languages of
/// the web interface first. A text in another language is in the JSON only
/// (and the CSV names its language in `other_text_languages`).
pub const LANGUAGES: [&str; 24] = [
    "en", "fr", "es", "sv", "lv", "lt", "bg", "cs", "da", "de", "el", "et", "fi", "ga", "hr", "hu",
    "it", "mt", "nl", "pl", "pt", "ro", "sk", "sl",
];

/// The text properties of an initiative, in column order: the name used in
/// the JSON and the CSV (as in `POST /api/submissions`), and the property.
pub const TEXT_PROPERTIES: [(&str, &str); 9] = [
    ("title", "http://purl.org/dc/terms/title"),
    ("description", "http://purl.org/dc/terms/description"),
    (
        "problem_addressed",
        "https://w3id.org/ccis/ns#problemAddressed",
    ),
    ("approach", "https://w3id.org/ccis/ns#approach"),
    ("key_results", "https://w3id.org/ccis/ns#keyResults"),
    ("lessons_learned", "https://w3id.org/ccis/ns#lessonsLearned"),
    (
        "scaling_potential",
        "https://w3id.org/ccis/ns#scalingPotential",
    ),
    ("funding", "https://w3id.org/ccis/ns#funding"),
    ("target_group", "https://w3id.org/ccis/ns#targetGroup"),
];

/// What separates several texts of one property in one language (only
/// `ccis:targetGroup` may have several), and several names in a CSV cell.
pub const TEXT_SEPARATOR: &str = "; ";

const DCT_LANGUAGE: &str = "http://purl.org/dc/terms/language";
const DCT_SUBJECT: &str = "http://purl.org/dc/terms/subject";
const DCT_AUDIENCE: &str = "http://purl.org/dc/terms/audience";
const CCIS_STAGE: &str = "https://w3id.org/ccis/ns#stage";
const CCIS_LEAD: &str = "https://w3id.org/ccis/ns#leadOrganisation";
const CCIS_PARTNER: &str = "https://w3id.org/ccis/ns#partner";
const SCHEMA_FUNDER: &str = "https://schema.org/funder";
const SCHEMA_NAME: &str = "https://schema.org/name";
const SKOS_NOTATION: &str = "http://www.w3.org/2004/02/skos/core#notation";
const ISO_CODE: &str = "https://w3id.org/ccis/ns#isoCode";

/// Texts of one property by language tag (lower case, as the record tags them).
pub type Texts = BTreeMap<String, String>;

/// Why the export cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SimExportError {
    /// The initiatives or their states cannot be read.
    #[error("cannot derive the initiatives' states for the SIM export: {0}")]
    Workflow(#[source] Box<NodeError>),
    /// An initiative or organisation record cannot be read from the store.
    #[error("cannot read <{iri}> for the SIM export: {source}")]
    Read {
        /// The record.
        iri: String,
        /// What the store said.
        source: Box<StoreError>,
    },
    /// The export cannot be written as JSON.
    #[error("cannot write the SIM export as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The export cannot be written as CSV.
    #[error("cannot write the SIM export as CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A format name that is not `json` or `csv`.
    #[error("unknown SIM export format {0:?}; use json or csv")]
    UnknownFormat(String),
}

impl From<NodeError> for SimExportError {
    fn from(e: NodeError) -> Self {
        Self::Workflow(Box::new(e))
    }
}

/// The serialisations of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimFormat {
    /// JSON, after `docs/sim-export.schema.json`.
    #[default]
    Json,
    /// CSV (RFC 4180, UTF-8), one row per initiative.
    Csv,
}

impl SimFormat {
    /// The format named `json` or `csv`.
    pub fn from_name(name: &str) -> Result<Self, SimExportError> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            _ => Err(SimExportError::UnknownFormat(name.to_owned())),
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// Its file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// The export: the initiatives validated at EU level that one node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimExport {
    /// [`FORMAT`].
    pub format: String,
    /// Id of the node that made the export.
    pub node: String,
    /// That node's IRI (`{base}/node`).
    pub node_iri: String,
    /// When the export was made (`xsd:dateTime`, UTC).
    pub generated_at: String,
    /// The initiatives, by IRI.
    pub initiatives: Vec<SimInitiative>,
}

/// A concept of a vocabulary: its notation and its IRI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concept {
    /// The SKOS notation (for countries and languages, the ISO code:
    /// `FR`, `fr`); the IRI's last segment when the vocabulary has none.
    pub notation: String,
    /// The concept's IRI.
    pub iri: String,
}

/// An organisation an initiative names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Its IRI: an organisation record, or a fragment of the initiative record.
    pub iri: String,
    /// Its `schema:name` in the initiative record (else the title of its
    /// record, when this node holds it), if any.
    pub name: Option<String>,
}

/// One decision of the validation chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainDecision {
    /// The decision's IRI: the signed record, served by the validator's node.
    pub decision: String,
    /// The validator node's IRI (`{base}/node`).
    pub validator: String,
    /// Its id, as this node's configuration or `peers.toml` names it.
    pub validator_id: Option<String>,
    /// The version of the initiative it judged.
    pub version: u64,
    /// The digest of that version's signed content (`digestMultibase`).
    pub digest: String,
    /// When it was taken (`prov:endedAtTime`).
    pub date: String,
    /// Its outcome (`validated`).
    pub outcome: String,
    /// The checklist followed (`prov:hadPlan`).
    pub checklist: String,
}

/// The decisions that validated the initiative's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The national decision; `None` for a transnational initiative.
    pub national: Option<ChainDecision>,
    /// The EU-level decision.
    pub eu: ChainDecision,
}

/// One initiative validated at EU level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimInitiative {
    /// The initiative record's IRI (its signed record).
    pub iri: String,
    /// Id of its origin node.
    pub origin: String,
    /// Its origin node's country (ISO 3166-1 alpha-2): whose national
    /// centre validated it.
    pub country: String,
    /// The version validated (the current one).
    pub version: u64,
    /// The digest of that version's signed content.
    pub digest: String,
    /// When that version was published (`dct:modified`).
    pub modified: String,
    /// `dct:title` by language.
    pub title: Texts,
    /// `dct:description` by language.
    pub description: Texts,
    /// `ccis:problemAddressed` by language.
    pub problem_addressed: Texts,
    /// `ccis:approach` (the innovative solution) by language.
    pub approach: Texts,
    /// `ccis:keyResults` by language.
    pub key_results: Texts,
    /// `ccis:lessonsLearned` by language.
    pub lessons_learned: Texts,
    /// `ccis:scalingPotential` by language.
    pub scaling_potential: Texts,
    /// `ccis:funding` by language.
    pub funding: Texts,
    /// `ccis:targetGroup` by language (several joined by [`TEXT_SEPARATOR`]).
    pub target_group: Texts,
    /// `dct:language`: the languages of the initiative.
    pub languages: Vec<Concept>,
    /// `dct:spatial`: the countries where it acts.
    pub countries: Vec<Concept>,
    /// `ccis:levelOfAction`.
    pub level: Concept,
    /// `ccis:stage`.
    pub stage: Option<Concept>,
    /// `dct:subject`: its themes.
    pub themes: Vec<Concept>,
    /// `dct:audience`: who it is useful to (its target groups in words are `target_group`).
    pub audiences: Vec<Concept>,
    /// `ccis:leadOrganisation`.
    pub lead_organisation: Option<Organisation>,
    /// `ccis:partner`.
    pub partners: Vec<Organisation>,
    /// `schema:funder`: funders named as organisations (the funding in words is `funding`).
    pub funders: Vec<Organisation>,
    /// The decisions that validated this version.
    pub validation: Chain,
}

impl SimInitiative {
    /// The texts of the property named `name` (one of [`TEXT_PROPERTIES`]).
    pub fn texts(&self, name: &str) -> Option<&Texts> {
        Some(match name {
            "title" => &self.title,
            "description" => &self.description,
            "problem_addressed" => &self.problem_addressed,
            "approach" => &self.approach,
            "key_results" => &self.key_results,
            "lessons_learned" => &self.lessons_learned,
            "scaling_potential" => &self.scaling_potential,
            "funding" => &self.funding,
            "target_group" => &self.target_group,
            _ => return None,
        })
    }

    fn texts_mut(&mut self, name: &str) -> Option<&mut Texts> {
        Some(match name {
            "title" => &mut self.title,
            "description" => &mut self.description,
            "problem_addressed" => &mut self.problem_addressed,
            "approach" => &mut self.approach,
            "key_results" => &mut self.key_results,
            "lessons_learned" => &mut self.lessons_learned,
            "scaling_potential" => &mut self.scaling_potential,
            "funding" => &mut self.funding,
            "target_group" => &mut self.target_group,
            _ => return None,
        })
    }
}

impl Node {
    /// The SIM export of what this node holds now.
    pub fn sim_export(&self) -> Result<SimExport, SimExportError> {
        let peers = if self.dir.root.join("peers.toml").exists() {
            Peers::load_for_node(&self.dir.root).map_err(NodeError::from)?
        } else {
            Peers::default()
        };
        sim_export(&self.store, &self.config, &peers)
    }
}

/// The SIM export of what `store` holds, as the node configured by `config`
/// and trusting `peers` derives the initiatives' states: every initiative in
/// state [`State::Published`], by IRI.
pub fn sim_export(
    store: &NodeStore,
    config: &NodeConfig,
    peers: &Peers,
) -> Result<SimExport, SimExportError> {
    let states = validation::derive_initiatives(store, config, peers)?;
    let node_ids = NodeIds::new(config, peers);
    let mut initiatives = Vec::new();
    for state in states.iter().filter(|s| s.state == State::Published) {
        let iri = NamedNode::new_unchecked(state.iri.clone());
        let read = |source| SimExportError::Read {
            iri: state.iri.clone(),
            source: Box::new(source),
        };
        let Some(current) = store.get(&iri).map_err(read)? else {
            continue;
        };
        if current.record.version() != Some(state.version) {
            // Replaced since its state was derived: the next export has it.
            continue;
        }
        if let Some(i) = initiative(store, state, &current.record, &node_ids)? {
            initiatives.push(i);
        }
    }
    Ok(SimExport {
        format: FORMAT.to_owned(),
        node: config.id.clone(),
        node_iri: ccis_store::node_iri(&config.base_url).as_str().to_owned(),
        generated_at: ccis_model::clock::now(),
        initiatives,
    })
}

/// The ids of the nodes this node knows, by node IRI.
struct NodeIds(HashMap<String, String>);

impl NodeIds {
    fn new(config: &NodeConfig, peers: &Peers) -> Self {
        let mut ids: HashMap<String, String> = peers
            .peers
            .iter()
            .map(|p| {
                let iri = ccis_store::node_iri(&p.base_url);
                (iri.as_str().to_owned(), p.id.clone())
            })
            .collect();
        let own = ccis_store::node_iri(&config.base_url);
        ids.insert(own.as_str().to_owned(), config.id.clone());
        Self(ids)
    }

    fn of(&self, node: &str) -> Option<String> {
        self.0.get(node).cloned()
    }
}

/// The initiative as exported, or `None` when its validation chain is not
/// complete (it then is not in state published).
fn initiative(
    store: &NodeStore,
    state: &InitiativeState,
    record: &Record,
    ids: &NodeIds,
) -> Result<Option<SimInitiative>, SimExportError> {
    let link = |role: Role| chain_link(&state.decisions, role, ids);
    let Some(eu) = link(Role::European) else {
        return Ok(None);
    };
    let national = link(Role::National);
    if state.level.has_national_review() && national.is_none() {
        return Ok(None);
    }
    let subject = record.iri.as_str();
    let mut out = SimInitiative {
        iri: state.iri.clone(),
        origin: state.origin.clone(),
        country: state.country.clone(),
        version: state.version,
        digest: state.digest.clone(),
        modified: state.modified.clone(),
        title: Texts::new(),
        description: Texts::new(),
        problem_addressed: Texts::new(),
        approach: Texts::new(),
        key_results: Texts::new(),
        lessons_learned: Texts::new(),
        scaling_potential: Texts::new(),
        funding: Texts::new(),
        target_group: Texts::new(),
        languages: concepts(record, subject, DCT_LANGUAGE),
        countries: concepts(record, subject, vocab::DCT_SPATIAL.as_str()),
        level: Concept {
            notation: state.level.notation().to_owned(),
            iri: state.level.iri(),
        },
        stage: concepts(record, subject, CCIS_STAGE).into_iter().next(),
        themes: concepts(record, subject, DCT_SUBJECT),
        audiences: concepts(record, subject, DCT_AUDIENCE),
        lead_organisation: organisations(store, record, CCIS_LEAD)?.into_iter().next(),
        partners: organisations(store, record, CCIS_PARTNER)?,
        funders: organisations(store, record, SCHEMA_FUNDER)?,
        validation: Chain { national, eu },
    };
    for (name, property) in TEXT_PROPERTIES {
        if let Some(texts) = out.texts_mut(name) {
            *texts = texts_of(record, subject, property);
        }
    }
    Ok(Some(out))
}

/// The last decision at the level of `role` that validated the current
/// version and applies to it.
fn chain_link(decisions: &[HeldDecision], role: Role, ids: &NodeIds) -> Option<ChainDecision> {
    decisions
        .iter()
        .filter(|h| h.status == DecisionStatus::Applies)
        .map(|h| &h.decision)
        .filter(|d| d.role == role && d.outcome == Outcome::Validated)
        .max_by_key(|d| d.ended_at)
        .map(|d| ChainDecision {
            decision: d.iri.as_str().to_owned(),
            validator: d.validator.as_str().to_owned(),
            validator_id: ids.of(d.validator.as_str()),
            version: d.used.version,
            digest: d.used.digest.clone(),
            date: d
                .ended_at
                .format(&Rfc3339)
                .unwrap_or_else(|_| d.ended_at.to_string()),
            outcome: d.outcome.notation().to_owned(),
            checklist: d.checklist.as_str().to_owned(),
        })
}

/// The objects of `subject property ?o` in the record.
fn objects<'r>(
    record: &'r Record,
    subject: &'r str,
    property: &'r str,
) -> impl Iterator<Item = &'r Term> + 'r {
    record.triples.iter().filter_map(move |t| {
        let NamedOrBlankNode::NamedNode(s) = &t.subject else {
            return None;
        };
        (s.as_str() == subject && t.predicate.as_str() == property).then_some(&t.object)
    })
}

/// The language-tagged texts of a property, by tag; several in one language
/// joined by [`TEXT_SEPARATOR`] in their lexical order (a text without a
/// tag, which the shapes refuse on initiatives, is left out).
fn texts_of(record: &Record, subject: &str, property: &str) -> Texts {
    let mut by_language: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for o in objects(record, subject, property) {
        if let Term::Literal(l) = o
            && let Some(language) = l.language()
        {
            by_language
                .entry(language.to_ascii_lowercase())
                .or_default()
                .push(l.value());
        }
    }
    by_language
        .into_iter()
        .map(|(language, mut texts)| {
            texts.sort_unstable();
            texts.dedup();
            (language, texts.join(TEXT_SEPARATOR))
        })
        .collect()
}

/// The concepts a property names, by IRI.
fn concepts(record: &Record, subject: &str, property: &str) -> Vec<Concept> {
    let mut out: Vec<Concept> = objects(record, subject, property)
        .filter_map(|o| match o {
            Term::NamedNode(n) => Some(concept(n.as_str())),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.iri.cmp(&b.iri));
    out.dedup();
    out
}

/// A concept with its notation from the vocabulary.
fn concept(iri: &str) -> Concept {
    let notation = notations()
        .get(iri)
        .cloned()
        .unwrap_or_else(|| iri.rsplit(['#', '/']).next().unwrap_or(iri).to_owned());
    Concept {
        notation,
        iri: iri.to_owned(),
    }
}

/// Concept IRI → notation, read once from the vocabulary built into the
/// binary: `skos:notation` of `vocab/schemes.ttl`, and `ccis:isoCode` of
/// the EU authority tables (countries `FR`, languages `fr`).
fn notations() -> &'static HashMap<String, String> {
    static NOTATIONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    NOTATIONS.get_or_init(|| {
        let mut out = HashMap::new();
        for (ttl, property) in [
            (vocab::SCHEMES_TTL, SKOS_NOTATION),
            (vocab::AUTHORITIES_TTL, ISO_CODE),
        ] {
            for q in RdfParser::from_format(RdfFormat::Turtle)
                .for_slice(ttl.as_bytes())
                .filter_map(Result::ok)
                .filter(|q| q.predicate.as_str() == property)
            {
                if let (NamedOrBlankNode::NamedNode(s), Term::Literal(l)) = (q.subject, q.object) {
                    out.insert(s.into_string(), l.value().to_owned());
                }
            }
        }
        out
    })
}

/// The organisations a property names, by IRI, each with its name.
fn organisations(
    store: &NodeStore,
    record: &Record,
    property: &str,
) -> Result<Vec<Organisation>, SimExportError> {
    let mut iris: Vec<&str> = objects(record, record.iri.as_str(), property)
        .filter_map(|o| match o {
            Term::NamedNode(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    iris.sort_unstable();
    iris.dedup();
    let mut out = Vec::with_capacity(iris.len());
    for iri in iris {
        let mut name = name_in(record, iri, SCHEMA_NAME);
        if name.is_none() && !iri.contains('#') {
            // An organisation record: its name, if this node holds it.
            let node = NamedNode::new_unchecked(iri);
            let held = store.get(&node).map_err(|source| SimExportError::Read {
                iri: iri.to_owned(),
                source: Box::new(source),
            })?;
            name = held.and_then(|h| {
                name_in(&h.record, iri, SCHEMA_NAME).or_else(|| h.record.title(&["en"]))
            });
        }
        out.push(Organisation {
            iri: iri.to_owned(),
            name,
        });
    }
    Ok(out)
}

/// A name of `subject` in the record: untagged or English first.
fn name_in(record: &Record, subject: &str, property: &str) -> Option<String> {
    let mut names: Vec<(u8, &str)> = objects(record, subject, property)
        .filter_map(|o| match o {
            Term::Literal(l) => {
                let rank = match l.language() {
                    None => 0,
                    Some("en") => 1,
                    Some(_) => 2,
                };
                Some((rank, l.value()))
            }
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.first().map(|(_, n)| (*n).to_owned())
}

/// The CSV's columns, in order; the same for every export.
pub fn csv_header() -> Vec<String> {
    let mut h: Vec<String> = ["iri", "origin", "country", "version", "digest", "modified"]
        .map(str::to_owned)
        .into();
    for (name, _) in TEXT_PROPERTIES {
        for language in LANGUAGES {
            h.push(format!("{name}_{language}"));
        }
    }
    h.push("other_text_languages".into());
    for (name, plural) in [
        ("language", "languages"),
        ("country", "countries"),
        ("level", "level"),
        ("stage", "stage"),
        ("theme", "themes"),
        ("audience", "audiences"),
    ] {
        h.push(plural.to_owned());
        h.push(format!(
            "{name}_iri{}",
            if plural == name { "" } else { "s" }
        ));
    }
    for name in ["lead_organisation", "partner", "funder"] {
        let plural = if name == "lead_organisation" { "" } else { "s" };
        h.push(format!("{name}{plural}"));
        h.push(format!("{name}_name{plural}"));
    }
    for level in ["national", "eu"] {
        for field in [
            "decision",
            "validator",
            "validator_id",
            "version",
            "digest",
            "date",
            "outcome",
            "checklist",
        ] {
            h.push(format!("{level}_{field}"));
        }
    }
    h
}

/// The column of a language tag: its own, or its primary language's
/// (`fr-BE` in `fr`), if the CSV has one.
fn column_language(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or(tag);
    LANGUAGES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(primary))
        .copied()
}

/// One CSV row of an initiative, in the order of [`csv_header`].
fn csv_row(i: &SimInitiative) -> Vec<String> {
    let mut row = vec![
        i.iri.clone(),
        i.origin.clone(),
        i.country.clone(),
        i.version.to_string(),
        i.digest.clone(),
        i.modified.clone(),
    ];
    let mut others: Vec<&str> = Vec::new();
    for (name, _) in TEXT_PROPERTIES {
        let texts = i.texts(name);
        let mut cells: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (tag, text) in texts.into_iter().flatten() {
            match column_language(tag) {
                Some(language) => cells.entry(language).or_default().push(text),
                None => others.push(tag),
            }
        }
        for language in LANGUAGES {
            row.push(
                cells
                    .get(language)
                    .map(|t| t.join(TEXT_SEPARATOR))
                    .unwrap_or_default(),
            );
        }
    }
    others.sort_unstable();
    others.dedup();
    row.push(others.join(" "));
    for list in [
        i.languages.as_slice(),
        i.countries.as_slice(),
        std::slice::from_ref(&i.level),
        i.stage.as_slice(),
        i.themes.as_slice(),
        i.audiences.as_slice(),
    ] {
        row.push(join(list.iter().map(|c| c.notation.as_str()), " "));
        row.push(join(list.iter().map(|c| c.iri.as_str()), " "));
    }
    for list in [
        i.lead_organisation.as_slice(),
        i.partners.as_slice(),
        i.funders.as_slice(),
    ] {
        row.push(join(list.iter().map(|o| o.iri.as_str()), " "));
        row.push(join(
            list.iter().map(|o| o.name.as_deref().unwrap_or_default()),
            TEXT_SEPARATOR,
        ));
    }
    for link in [i.validation.national.as_ref(), Some(&i.validation.eu)] {
        match link {
            Some(d) => row.extend([
                d.decision.clone(),
                d.validator.clone(),
                d.validator_id.clone().unwrap_or_default(),
                d.version.to_string(),
                d.digest.clone(),
                d.date.clone(),
                d.outcome.clone(),
                d.checklist.clone(),
            ]),
            None => row.extend(std::iter::repeat_n(String::new(), 8)),
        }
    }
    row
}

fn join<'a>(values: impl Iterator<Item = &'a str>, separator: &str) -> String {
    values.collect::<Vec<_>>().join(separator)
}

/// A cell as written to the CSV: one that a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return)
/// is prefixed with `'`, as in the indicators' CSV.
fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

impl SimExport {
    /// The export as pretty-printed JSON, after `docs/sim-export.schema.json`.
    pub fn to_json(&self) -> Result<Vec<u8>, SimExportError> {
        let mut out = serde_json::to_vec_pretty(self)?;
        out.push(b'\n');
        Ok(out)
    }

    /// The export as CSV (RFC 4180, UTF-8, CRLF line ends): the header of
    /// [`csv_header`], then one row per initiative.
    pub fn to_csv(&self) -> Result<Vec<u8>, SimExportError> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(csv_header())?;
        for i in &self.initiatives {
            w.write_record(csv_row(i).iter().map(|c| csv_cell(c).into_owned()))?;
        }
        w.into_inner()
            .map_err(|e| SimExportError::Csv(csv::Error::from(e.into_error())))
    }

    /// The export in `format`.
    pub fn to_format(&self, format: SimFormat) -> Result<Vec<u8>, SimExportError> {
        match format {
            SimFormat::Json => self.to_json(),
            SimFormat::Csv => self.to_csv(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SimInitiative {
        let decision = |level: &str| ChainDecision {
            decision: format!("http://{level}/records/validation-x-v1-{level}"),
            validator: format!("http://{level}/node"),
            validator_id: Some(level.to_owned()),
            version: 1,
            digest: "uEiAAAA".into(),
            date: "2026-11-20T10:00:00Z".into(),
            outcome: "validated".into(),
            checklist: "https://w3id.org/ccis/checklists/sim".into(),
        };
        let texts = |pairs: &[(&str, &str)]| -> Texts {
            pairs
                .iter()
                .map(|(l, t)| ((*l).to_owned(), (*t).to_owned()))
                .collect()
        };
        SimInitiative {
            iri: "http://fr/records/x".into(),
            origin: "fr".into(),
            country: "FR".into(),
            version: 1,
            digest: "uEiAAAA".into(),
            modified: "2026-11-20T09:00:00Z".into(),
            title: texts(&[("en", "X"), ("fr-be", "Ixe"), ("fr", "X fr"), ("ca", "Ics")]),
            description: texts(&[("de", "=SUM(A1)")]),
            problem_addressed: Texts::new(),
            approach: Texts::new(),
            key_results: Texts::new(),
            lessons_learned: Texts::new(),
            scaling_potential: Texts::new(),
            funding: Texts::new(),
            target_group: Texts::new(),
            languages: vec![concept(
                "http://publications.europa.eu/resource/authority/language/FRA",
            )],
            countries: vec![concept(
                "http://publications.europa.eu/resource/authority/country/FRA",
            )],
            level: concept("https://w3id.org/ccis/ns#level-national"),
            stage: None,
            themes: vec![
                concept("https://w3id.org/ccis/ns#theme-employment"),
                concept("https://w3id.org/ccis/ns#theme-housing"),
            ],
            audiences: Vec::new(),
            lead_organisation: Some(Organisation {
                iri: "http://fr/records/x#lead".into(),
                name: Some("Lead, Inc.".into()),
            }),
            partners: Vec::new(),
            funders: Vec::new(),
            validation: Chain {
                national: Some(decision("fr")),
                eu: decision("eu"),
            },
        }
    }

    #[test]
    fn the_columns_are_one_per_property_and_language_and_unique() {
        let h = csv_header();
        let expected = 6 + TEXT_PROPERTIES.len() * LANGUAGES.len() + 1 + 12 + 6 + 16;
        assert_eq!(h.len(), expected);
        let mut unique = h.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), h.len(), "{h:?}");
        for column in [
            "title_en",
            "title_lt",
            "scaling_potential_sl",
            "target_group_fr",
            "themes",
            "theme_iris",
            "level",
            "level_iri",
            "lead_organisation",
            "lead_organisation_name",
            "partners",
            "partner_names",
            "national_decision",
            "eu_date",
        ] {
            assert!(h.iter().any(|c| c == column), "{column} in {h:?}");
        }
        assert_eq!(&h[..2], ["iri", "origin"]);
        assert_eq!(h[6], "title_en");
        assert_eq!(h[11], "title_lt");
    }

    #[test]
    fn the_languages_are_the_official_eu_languages_interface_ones_first() {
        let mut ours: Vec<&str> = LANGUAGES.to_vec();
        assert_eq!(&ours[..6], ["en", "fr", "es", "sv", "lv", "lt"]);
        ours.sort_unstable();
        let mut table: Vec<String> = notations()
            .iter()
            .filter(|(iri, _)| iri.starts_with(vocab::EU_LANGUAGE))
            .map(|(_, code)| code.clone())
            .collect();
        table.sort();
        assert_eq!(ours, table);
    }

    #[test]
    fn a_row_fills_every_column_and_puts_texts_in_their_language() {
        let i = sample();
        let h = csv_header();
        let row = csv_row(&i);
        assert_eq!(row.len(), h.len());
        let cell = |name: &str| row[h.iter().position(|c| c == name).unwrap()].as_str();
        assert_eq!(cell("title_en"), "X");
        // fr and fr-be share the French column.
        assert_eq!(cell("title_fr"), "X fr; Ixe");
        assert_eq!(cell("title_es"), "");
        assert_eq!(cell("other_text_languages"), "ca");
        assert_eq!(cell("countries"), "FR");
        assert_eq!(cell("languages"), "fr");
        assert_eq!(cell("level"), "national");
        assert_eq!(cell("themes"), "employment housing");
        assert_eq!(cell("lead_organisation_name"), "Lead, Inc.");
        assert_eq!(cell("national_validator_id"), "fr");
        assert_eq!(cell("eu_decision"), "http://eu/records/validation-x-v1-eu");
        assert_eq!(cell("stage"), "");
    }

    #[test]
    fn the_csv_has_the_header_one_row_per_initiative_and_no_formulas() {
        let mut transnational = sample();
        transnational.iri = "http://fr/records/y".into();
        transnational.validation.national = None;
        let export = SimExport {
            format: FORMAT.into(),
            node: "eu".into(),
            node_iri: "http://eu/node".into(),
            generated_at: "2026-11-21T00:00:00Z".into(),
            initiatives: vec![sample(), transnational],
        };
        let bytes = export.to_csv().unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, csv_header());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        let at = |name: &str| header.iter().position(|c| c == name).unwrap();
        assert_eq!(&rows[0][at("description_de")], "'=SUM(A1)");
        assert_eq!(&rows[0][at("lead_organisation_name")], "Lead, Inc.");
        assert_eq!(&rows[1][at("national_decision")], "");
        assert_eq!(&rows[1][at("eu_outcome")], "validated");
        assert!(bytes.ends_with(b"\r\n"));
    }

    #[test]
    fn formats_are_named_json_or_csv() {
        assert_eq!(SimFormat::from_name("CSV").unwrap(), SimFormat::Csv);
        assert_eq!(SimFormat::from_name("json").unwrap(), SimFormat::Json);
        let e = SimFormat::from_name("xml").unwrap_err();
        assert!(e.to_string().contains("json or csv"), "{e}");
    }
}
