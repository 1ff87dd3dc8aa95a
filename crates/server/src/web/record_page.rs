//! The page of a record the node holds, its own (`/records/{slug}` asked
//! for as HTML) or harvested (`/catalogue/record?iri=…`): its fields, where
//! it came from, what was verified, warnings, versions, machine-readable
//! forms, and similar records from other countries.

use super::i18n::LANGUAGES;
use super::i18n::Tr;
use super::labels::{Labels, local_name};
use super::search_page::{HitView, primary, shown_language};
use super::{Chrome, LangLink, centre_name, local_href, page};
use crate::AppState;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ccis_integrity::signed::SignedRecord;
use ccis_model::vocab;
use ccis_store::CatalogueEntry;
use oxrdf::{NamedNode, NamedOrBlankNode, Term};
use std::collections::BTreeMap;

/// Most versions listed.
const MAX_VERSIONS: u64 = 50;
/// Similar records shown.
const SIMILAR: usize = 6;

/// A label and a value, maybe a link.
pub struct Row {
    /// What it is.
    pub label: String,
    /// Its value.
    pub value: String,
    /// Where it links, if anywhere.
    pub href: Option<String>,
}

/// One value of a field.
pub struct Value {
    /// The text shown.
    pub text: String,
    /// Its language tag (empty if none).
    pub lang: String,
    /// A link, for IRIs without a label.
    pub href: Option<String>,
}

/// One field of the record.
pub struct Field {
    /// Its label.
    pub label: String,
    /// Its values.
    pub values: Vec<Value>,
}

/// The title and description in another language.
pub struct OtherText {
    /// The language tag.
    pub lang: String,
    /// The title in it.
    pub title: String,
    /// The description in it.
    pub description: String,
}

/// The record page.
#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    /// Header and navigation.
    pub page: Chrome,
    /// The language of the title and description shown.
    pub text_lang: String,
    /// Set when they are not in the interface language.
    pub lang_mark: Option<String>,
    /// The description shown.
    pub description: String,
    /// The record's class, readable.
    pub kind: String,
    /// Titles and descriptions in the other languages.
    pub others: Vec<OtherText>,
    /// This page in each interface language the record has a title in.
    pub translations: Vec<LangLink>,
    /// Every other field.
    pub fields: Vec<Field>,
    /// Withdrawn, outdated, key no longer valid…
    pub warnings: Vec<String>,
    /// Where it came from.
    pub provenance: Vec<Row>,
    /// The verification badge's headline.
    pub badge: String,
    /// What was checked.
    pub checks: Vec<Row>,
    /// The versions the node knows of.
    pub versions: Vec<String>,
    /// TriG, JSON-LD, N-Quads, Turtle links.
    pub formats: Vec<Row>,
    /// The origin's copy.
    pub origin_copy: String,
    /// Similar records from other countries.
    pub similar: Vec<HitView>,
    /// For an initiative: its validation state and the decisions about it.
    pub validation: Option<ValidationView>,
}

/// An initiative's validation, as its page shows it.
pub struct ValidationView {
    /// The derived state, labelled, with the version it is of.
    pub state: String,
    /// Each decision held about it.
    pub decisions: Vec<DecisionLine>,
}

/// One decision about an initiative.
pub struct DecisionLine {
    /// Level, outcome, version judged and date.
    pub text: String,
    /// The decision record's page on this node.
    pub href: String,
    /// Its IRI.
    pub iri: String,
    /// Set when it is about an older version (or not applied): why.
    pub not_current: Option<String>,
}

/// What the store holds about a record.
pub struct Held {
    /// The record and its proof.
    pub signed: SignedRecord,
    /// Its catalogue entry.
    pub entry: Option<CatalogueEntry>,
    /// The versions whose feed member the store has, newest first.
    pub versions: Vec<u64>,
    /// What the node knows of the peer it came from.
    pub peer: Option<ccis_store::PeerState>,
}

/// Reads what the store holds about `iri` (`None`: nothing).
pub fn read(
    store: &ccis_store::NodeStore,
    peers: &ccis_integrity::peers::Peers,
    iri: &NamedNode,
) -> Result<Option<Held>, ccis_store::StoreError> {
    let Some(signed) = store.get(iri)? else {
        return Ok(None);
    };
    let entry = store.entry(iri)?;
    let current = signed.record.version().unwrap_or(0);
    let mut versions = Vec::new();
    for v in (1..=current).rev().take(MAX_VERSIONS as usize) {
        if store.has_member(&ccis_store::member_iri(iri.as_str(), v))? {
            versions.push(v);
        }
    }
    let source = entry
        .as_ref()
        .map(|e| e.source.trim_end_matches('/').to_owned());
    let peer = match peers
        .peers
        .iter()
        .find(|p| Some(p.base_url.trim_end_matches('/')) == source.as_deref())
    {
        Some(p) => Some(store.peer_state(&p.id)?),
        None => None,
    };
    Ok(Some(Held {
        signed,
        entry,
        versions,
        peer,
    }))
}

/// `GET /catalogue/record?iri=…`: the page (or, with `format=` or an RDF
/// `Accept`, the verified copy) of any record the node holds.
pub async fn held(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let iri = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "iri")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Ok(iri) = NamedNode::new(iri) else {
        return Problem::not_found("give the record's IRI as ?iri=").into_response();
    };
    let (store, peers) = (state.store.clone(), state.peers.clone());
    let lookup = iri.clone();
    let held = match tokio::task::spawn_blocking(move || read(&store, &peers, &lookup)).await {
        Ok(Ok(Some(held))) => held,
        Ok(Ok(None)) => {
            return Problem::not_found(format!("no record <{}> on this node", iri.as_str()))
                .into_response();
        }
        Ok(Err(e)) => return Problem::internal(e).into_response(),
        Err(e) => return Problem::internal(e).into_response(),
    };
    let status = if held.signed.record.is_withdrawn() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    if let Some(response) =
        crate::resources::machine_form(&held.signed, query.as_deref(), &headers, status)
    {
        return response;
    }
    render(&state, held, &uri, &headers, status).await
}

/// The page of a record held.
pub async fn render(
    state: &AppState,
    held: Held,
    uri: &Uri,
    headers: &HeaderMap,
    status: StatusCode,
) -> Response {
    let lang = super::language(uri, headers);
    let labels = match super::labels(state).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let similar = similar(state, held.signed.record.iri.as_str(), lang, &labels).await;
    let validation = validation(state, &held, lang, &labels).await;
    let mut view = RecordPage::build(state, uri, lang, &held, &labels, similar);
    view.validation = validation;
    page(status, lang, view.render())
}

/// The validation of an initiative (`None` for other records).
async fn validation(
    state: &AppState,
    held: &Held,
    lang: &str,
    labels: &Labels,
) -> Option<ValidationView> {
    let record = &held.signed.record;
    if !ccis_model::decision::is_initiative(record) && !record.is_withdrawn() {
        return None;
    }
    let (store, config, peers) = (
        state.store.clone(),
        state.config.clone(),
        state.peers.clone(),
    );
    let iri = record.iri.clone();
    let derived = tokio::task::spawn_blocking(move || {
        ccis_node::validation::derive_initiative(&store, &config, &peers, &iri)
    })
    .await;
    let initiative = match derived {
        Ok(Ok(Some(i))) => i,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the validation of an initiative could not be derived");
            return None;
        }
        _ => return None,
    };
    let tr = Tr::new(lang);
    let decisions = initiative
        .decisions
        .iter()
        .map(|h| {
            let d = &h.decision;
            let date = d.ended_at.date().to_string();
            let text = tr.args(
                "validation-decision",
                &[
                    ("role", &labels.label(&d.role.iri(), lang)),
                    ("outcome", &labels.label(&d.outcome.iri(), lang)),
                    ("version", &d.used.version.to_string()),
                    ("date", &date),
                ],
            );
            let text = match validator_name(state, d.validator.as_str()) {
                Some(name) => format!("{text} — {name}"),
                None => text,
            };
            let not_current = match &h.status {
                ccis_model::workflow::DecisionStatus::Applies => None,
                ccis_model::workflow::DecisionStatus::Refused(e) => Some(e.to_string()),
                _ => Some(tr.t("validation-older")),
            };
            DecisionLine {
                text,
                href: super::local_href(state, d.iri.as_str(), lang),
                iri: d.iri.as_str().to_owned(),
                not_current,
            }
        })
        .collect();
    Some(ValidationView {
        state: tr.args(
            "validation-state",
            &[
                ("state", &labels.label(&initiative.state.iri(), lang)),
                ("version", &initiative.version.to_string()),
            ],
        ),
        decisions,
    })
}

/// The centre whose node IRI (`{base}/node`) is `validator`: this node or a peer.
pub fn validator_name(state: &AppState, validator: &str) -> Option<String> {
    let is = |base: &str| ccis_store::node_iri(base).as_str() == validator;
    if is(&state.config.base_url) {
        return Some(state.config.name.clone());
    }
    state
        .peers
        .peers
        .iter()
        .find(|p| is(&p.base_url))
        .map(|p| p.name.clone())
}

async fn similar(state: &AppState, iri: &str, lang: &str, labels: &Labels) -> Vec<HitView> {
    let Some(index) = super::search_index(state) else {
        return Vec::new();
    };
    let iri = iri.to_owned();
    let hits = tokio::task::spawn_blocking(move || index.more_like_this(&iri, SIMILAR)).await;
    match hits {
        Ok(Ok(hits)) => hits
            .iter()
            .map(|h| super::search_page::hit_view(state, labels, h, lang))
            .collect(),
        _ => Vec::new(),
    }
}

/// Titles or descriptions of the record, by language tag.
fn texts(signed: &SignedRecord, predicate: oxrdf::NamedNodeRef<'_>) -> BTreeMap<String, String> {
    signed
        .record
        .triples
        .iter()
        .filter(|t| {
            t.subject == NamedOrBlankNode::NamedNode(signed.record.iri.clone())
                && t.predicate == predicate
        })
        .filter_map(|t| match &t.object {
            Term::Literal(l) => Some((l.language().unwrap_or("").to_owned(), l.value().to_owned())),
            _ => None,
        })
        .collect()
}

impl RecordPage {
    fn build(
        state: &AppState,
        uri: &Uri,
        lang: &'static str,
        held: &Held,
        labels: &Labels,
        similar: Vec<HitView>,
    ) -> Self {
        let tr = Tr::new(lang);
        let record = &held.signed.record;
        let titles = texts(&held.signed, vocab::DCT_TITLE);
        let descriptions = texts(
            &held.signed,
            oxrdf::NamedNodeRef::new_unchecked(DESCRIPTION),
        );
        let tag = shown_language(&titles, lang).unwrap_or("").to_owned();
        let title = titles
            .get(&tag)
            .cloned()
            .unwrap_or_else(|| record.iri.as_str().to_owned());
        let lang_mark = (!tag.is_empty() && primary(&tag) != lang)
            .then(|| tr.arg("shown-in", "language", &labels.label(&primary(&tag), lang)));
        let others = titles
            .iter()
            .filter(|(t, _)| **t != tag)
            .map(|(t, title)| OtherText {
                lang: t.clone(),
                title: title.clone(),
                description: descriptions.get(t).cloned().unwrap_or_default(),
            })
            .collect();
        let translations = translations(&titles, uri, lang);
        Self {
            page: Chrome::new(state, lang, uri, "/search", title),
            translations,
            description: descriptions.get(&tag).cloned().unwrap_or_default(),
            text_lang: tag,
            lang_mark,
            kind: record
                .class()
                .map(|(c, _)| labels.label(c.as_str(), lang))
                .unwrap_or_default(),
            others,
            fields: fields(&held.signed.record, labels, &tr),
            warnings: warnings(state, held, &tr),
            provenance: provenance(state, held, &tr),
            badge: tr.t("badge-verified"),
            checks: checks(state, held, &tr),
            versions: versions(held, &tr),
            formats: formats(state, record.iri.as_str(), lang),
            origin_copy: record.iri.as_str().to_owned(),
            similar,
            validation: None,
        }
    }
}

/// Links to this page (`uri`) in each interface language the record has a
/// title in, labelled in that language; the one of `lang` is marked current.
/// Empty when the only one is the page shown.
fn translations(titles: &BTreeMap<String, String>, uri: &Uri, lang: &'static str) -> Vec<LangLink> {
    let links: Vec<LangLink> = LANGUAGES
        .iter()
        .filter(|code| titles.keys().any(|tag| primary(tag) == **code))
        .map(|code| LangLink::to(code, uri, lang))
        .collect();
    if links.iter().all(|l| l.current) {
        return Vec::new();
    }
    links
}

/// `dct:description`.
const DESCRIPTION: &str = "http://purl.org/dc/terms/description";

/// The record's fields but type, titles and descriptions, in the order met.
pub fn fields(record: &ccis_model::record::Record, labels: &Labels, tr: &Tr) -> Vec<Field> {
    let me = NamedOrBlankNode::NamedNode(record.iri.clone());
    let mut out: Vec<(String, Field)> = Vec::new();
    for t in record.triples.iter().filter(|t| t.subject == me) {
        let p = t.predicate.as_str();
        if t.predicate == oxrdf::vocab::rdf::TYPE
            || t.predicate == vocab::DCT_TITLE
            || p == DESCRIPTION
        {
            continue;
        }
        let value = value(record, &t.object, labels, tr.lang);
        match out.iter_mut().find(|(q, _)| q == p) {
            Some((_, field)) => field.values.push(value),
            None => out.push((
                p.to_owned(),
                Field {
                    label: field_label(p, labels, tr),
                    values: vec![value],
                },
            )),
        }
    }
    out.into_iter().map(|(_, f)| f).collect()
}

fn field_label(predicate: &str, labels: &Labels, tr: &Tr) -> String {
    let id = format!("field-{}", local_name(predicate));
    if tr.has(&id) {
        return tr.t(&id);
    }
    labels.label(predicate, tr.lang)
}

fn value(record: &ccis_model::record::Record, object: &Term, labels: &Labels, lang: &str) -> Value {
    match object {
        Term::Literal(l) => Value {
            text: l.value().to_owned(),
            lang: l.language().unwrap_or("").to_owned(),
            href: None,
        },
        Term::NamedNode(n) => match labels.get(n.as_str(), lang) {
            Some(label) => Value {
                text: label.to_owned(),
                lang: String::new(),
                href: None,
            },
            None => Value {
                text: n.as_str().to_owned(),
                lang: String::new(),
                href: n
                    .as_str()
                    .starts_with("http")
                    .then(|| n.as_str().to_owned()),
            },
        },
        Term::BlankNode(b) => {
            let inner: Vec<String> = record
                .triples
                .iter()
                .filter(|t| t.subject == NamedOrBlankNode::BlankNode(b.clone()))
                .map(|t| {
                    format!(
                        "{}: {}",
                        local_name(t.predicate.as_str()),
                        value(record, &t.object, labels, lang).text
                    )
                })
                .collect();
            Value {
                text: inner.join("; "),
                lang: String::new(),
                href: None,
            }
        }
        #[allow(unreachable_patterns)]
        _ => Value {
            text: object.to_string(),
            lang: String::new(),
            href: None,
        },
    }
}

/// The key that signed a record, as this node knows it.
struct KeyFacts {
    /// Its short fingerprint.
    fingerprint: String,
    /// Whether the origin centre's key list holds it.
    listed: bool,
    /// Whether it is revoked there.
    revoked: bool,
    /// Its end of validity there.
    valid_until: Option<String>,
}

fn key_facts(state: &AppState, origin: &str, vm: &str) -> Option<KeyFacts> {
    let key = ccis_integrity::keys::parse_verification_method(vm).ok()?;
    let multikey = ccis_integrity::keys::public_multikey(&key);
    let fingerprint = ccis_node::peer_file::key_fingerprint(&multikey)?;
    let (listed, revoked, valid_until) = if origin == state.config.id {
        match state.config.keys.iter().find(|k| k.public_key == multikey) {
            Some(k) => (true, k.revoked, k.valid_until.clone()),
            None => (false, false, None),
        }
    } else {
        match state
            .peers
            .get(origin)
            .and_then(|p| p.keys.iter().find(|k| k.public_key == multikey))
        {
            Some(k) => (true, k.revoked, k.valid_until.clone()),
            None => (false, false, None),
        }
    };
    Some(KeyFacts {
        fingerprint,
        listed,
        revoked,
        valid_until,
    })
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn warnings(state: &AppState, held: &Held, tr: &Tr) -> Vec<String> {
    let mut out = Vec::new();
    if held.signed.record.is_withdrawn() {
        out.push(tr.t("warning-withdrawn"));
    }
    let Some(entry) = &held.entry else {
        out.push(tr.t("warning-no-provenance"));
        return out;
    };
    if let Some(key) = key_facts(state, &entry.origin, &entry.verified_with) {
        if key.revoked {
            out.push(tr.arg("warning-key-revoked", "key", &key.fingerprint));
        } else if key
            .valid_until
            .as_deref()
            .is_some_and(|until| until < now().as_str())
        {
            out.push(tr.arg("warning-key-expired", "key", &key.fingerprint));
        } else if !key.listed {
            out.push(tr.arg("warning-key-unlisted", "key", &key.fingerprint));
        }
    }
    let failed = held.peer.as_ref().and_then(|p| p.last_error_at.clone());
    if let (Some(peer), Some(at)) = (source_peer(state, entry), failed) {
        out.push(tr.arg("warning-outdated", "peer", &format!("{peer} ({at})")));
    }
    out
}

/// The name of the peer a harvested record came from (`None`: published here).
fn source_peer(state: &AppState, entry: &CatalogueEntry) -> Option<String> {
    if entry.source == "local" {
        return None;
    }
    let source = entry.source.trim_end_matches('/');
    Some(
        state
            .peers
            .peers
            .iter()
            .find(|p| p.base_url.trim_end_matches('/') == source)
            .map_or_else(|| source.to_owned(), |p| p.name.clone()),
    )
}

fn row(label: String, value: String, href: Option<String>) -> Row {
    Row { label, value, href }
}

fn provenance(state: &AppState, held: &Held, tr: &Tr) -> Vec<Row> {
    let Some(e) = &held.entry else {
        return Vec::new();
    };
    let origin = centre_name(state, &e.origin);
    let mut rows = vec![row(
        tr.t("origin-centre"),
        format!("{origin} ({})", e.origin),
        Some(e.origin_node.as_str().to_owned()),
    )];
    let path = match source_peer(state, e) {
        None => {
            rows.push(row(tr.t("received-from"), tr.t("published-here"), None));
            origin.clone()
        }
        Some(peer) => {
            rows.push(row(
                tr.t("received-from"),
                peer.clone(),
                Some(format!("{}/node", e.source.trim_end_matches('/'))),
            ));
            if e.origin_node.as_str() == format!("{}/node", e.source.trim_end_matches('/')) {
                format!("{origin} → {}", state.config.name)
            } else {
                format!("{origin} → {peer} → {}", state.config.name)
            }
        }
    };
    rows.push(row(tr.t("relay-path"), path, None));
    rows.push(row(tr.t("stored-at"), e.stored_at.clone(), None));
    rows
}

fn checks(state: &AppState, held: &Held, tr: &Tr) -> Vec<Row> {
    let proof = &held.signed.proof;
    let vm = proof.verification_method().unwrap_or("").to_owned();
    let mut rows = vec![row(
        tr.t("check-signature"),
        "Ed25519, eddsa-rdfc-2022".to_owned(),
        None,
    )];
    let Some(e) = &held.entry else {
        return rows;
    };
    let centre = centre_name(state, &e.origin);
    let key = key_facts(state, &e.origin, &vm);
    let fingerprint = key
        .as_ref()
        .map_or_else(|| "?".to_owned(), |k| k.fingerprint.clone());
    rows.push(row(tr.t("check-key"), fingerprint, None));
    rows.push(row(tr.t("check-method"), vm, None));
    let listed = if key.is_some_and(|k| k.listed) {
        "check-key-listed"
    } else {
        "check-key-unlisted"
    };
    rows.push(row(
        tr.t("check-centre"),
        tr.arg(listed, "centre", &centre),
        None,
    ));
    rows.push(row(
        tr.t("check-signed-at"),
        proof.created().unwrap_or("").to_owned(),
        None,
    ));
    rows.push(row(tr.t("check-verified-at"), e.stored_at.clone(), None));
    rows
}

fn versions(held: &Held, tr: &Tr) -> Vec<String> {
    let current = held.signed.record.version().unwrap_or(0);
    held.versions
        .iter()
        .map(|v| {
            let id = if *v == current {
                "version-current"
            } else {
                "version-n"
            };
            tr.num(id, "version", *v)
        })
        .collect()
}

fn formats(state: &AppState, iri: &str, lang: &str) -> Vec<Row> {
    let page = local_href(state, iri, lang);
    let base = page.split_once("lang=").map_or(page.as_str(), |(b, _)| b);
    [
        ("TriG", "trig"),
        ("JSON-LD", "jsonld"),
        ("N-Quads", "nquads"),
        ("Turtle", "turtle"),
    ]
    .into_iter()
    .map(|(name, format)| {
        row(
            name.to_owned(),
            format.to_owned(),
            Some(format!("{base}format={format}")),
        )
    })
    .collect()
}
