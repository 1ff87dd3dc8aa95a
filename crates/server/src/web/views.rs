//! Pages of `/node`, `/status` and `/feed` for browsers (their `Accept`
//! prefers `text/html`); RDF and JSON clients get the same responses as
//! ever. `?format=trig|nquads|jsonld` on `/feed` and `/feed/{page}` asks
//! for a machine form from a plain link.

use super::i18n::Tr;
use super::{Chrome, centre_name, local_href, page, wants_html};
use crate::AppState;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_node::peer_file::key_fingerprint;
use ccis_node::status::NodeStatus;

/// The feed's machine forms, by `format=` value.
const FEED_FORMATS: [(&str, &str); 3] = [
    ("trig", "application/trig"),
    ("nquads", "application/n-quads"),
    ("jsonld", "application/ld+json"),
];
/// Changes listed on the feed page.
const RECENT: u64 = 20;

/// A key, readable.
pub struct KeyView {
    /// Its short fingerprint.
    pub fingerprint: String,
    /// The Multikey.
    pub public_key: String,
    /// Valid from.
    pub valid_from: String,
    /// Valid until (empty: open).
    pub valid_until: String,
    /// Whether revoked.
    pub revoked: bool,
}

/// A peer, readable.
pub struct PeerView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its country.
    pub country: String,
    /// National or European.
    pub role: String,
    /// Its URL.
    pub base_url: String,
    /// Its keys' fingerprints.
    pub keys: Vec<String>,
}

/// The page of `/node`.
#[derive(Template)]
#[template(path = "node.html")]
pub struct NodePage {
    /// Header and navigation.
    pub page: Chrome,
    /// The node's id.
    pub id: String,
    /// Its URL.
    pub base_url: String,
    /// Its keys.
    pub keys: Vec<KeyView>,
    /// The peers it trusts.
    pub peers: Vec<PeerView>,
}

/// `/node` for a browser, if it asks for a page.
pub fn node(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let machine = [
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
    ];
    if super::has_format(uri) || !wants_html(headers, &machine) {
        return None;
    }
    let lang = super::language(uri, headers);
    let c = &state.config;
    let keys = c
        .keys
        .iter()
        .map(|k| KeyView {
            fingerprint: key_fingerprint(&k.public_key).unwrap_or_default(),
            public_key: k.public_key.clone(),
            valid_from: k.valid_from.clone(),
            valid_until: k.valid_until.clone().unwrap_or_default(),
            revoked: k.revoked,
        })
        .collect();
    let peers = state
        .peers
        .peers
        .iter()
        .filter(|p| p.id != c.id)
        .map(|p| PeerView {
            id: p.id.clone(),
            name: p.name.clone(),
            country: p.country.clone(),
            role: format!("{:?}", p.role).to_lowercase(),
            base_url: p.base_url.clone(),
            keys: p
                .keys
                .iter()
                .filter_map(|k| key_fingerprint(&k.public_key))
                .collect(),
        })
        .collect();
    let view = NodePage {
        page: Chrome::new(state, lang, uri, "/node", c.name.clone()),
        id: c.id.clone(),
        base_url: c.base_url.clone(),
        keys,
        peers,
    };
    Some(page(StatusCode::OK, lang, view.render()))
}

/// A peer's health, readable.
pub struct PeerHealth {
    /// Its id (and name).
    pub peer: String,
    /// Its URL.
    pub base_url: String,
    /// Last successful round.
    pub last_success: String,
    /// Last error and when.
    pub last_error: String,
    /// Rounds failed in a row.
    pub failures: u64,
    /// Versions accepted.
    pub accepted: u64,
}

/// One line of the refusals table.
pub struct Refusal {
    /// The peer.
    pub peer: String,
    /// The harvest rule.
    pub rule: String,
    /// Versions refused.
    pub count: u64,
}

/// The page of `/status`.
#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    /// Header and navigation.
    pub page: Chrome,
    /// Records held.
    pub records: usize,
    /// Of which withdrawn.
    pub withdrawn: usize,
    /// Feed versions.
    pub feed_members: u64,
    /// Records by origin centre.
    pub by_origin: Vec<(String, usize)>,
    /// The last round any peer was harvested in.
    pub last_round: String,
    /// Each peer.
    pub peers: Vec<PeerHealth>,
    /// Refusals by peer and rule.
    pub refusals: Vec<Refusal>,
}

/// `/status` as a page.
pub fn status(state: &AppState, s: &NodeStatus, uri: &Uri, headers: &HeaderMap) -> Response {
    let lang = super::language(uri, headers);
    let tr = Tr::new(lang);
    let name = |id: &str| format!("{} ({id})", centre_name(state, id));
    let mut refusals = Vec::new();
    for (id, p) in &s.peers {
        for (rule, count) in &p.state.refused {
            refusals.push(Refusal {
                peer: name(id),
                rule: rule.clone(),
                count: *count,
            });
        }
        if p.state.not_harvested_unknown_origin > 0 {
            refusals.push(Refusal {
                peer: name(id),
                rule: "unknown-origin".to_owned(),
                count: p.state.not_harvested_unknown_origin,
            });
        }
    }
    let last_round = s
        .peers
        .values()
        .flat_map(|p| [p.state.last_success.clone(), p.state.last_error_at.clone()])
        .flatten()
        .max()
        .unwrap_or_else(|| tr.t("never"));
    let peers = s
        .peers
        .iter()
        .map(|(id, p)| PeerHealth {
            peer: name(id),
            base_url: p.base_url.clone().unwrap_or_default(),
            last_success: p
                .state
                .last_success
                .clone()
                .unwrap_or_else(|| tr.t("never")),
            last_error: match (&p.state.last_error, &p.state.last_error_at) {
                (Some(e), Some(at)) => format!("{at}: {e}"),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
            failures: p.state.consecutive_failures,
            accepted: p.state.accepted,
        })
        .collect();
    let view = StatusPage {
        page: Chrome::new(state, lang, uri, "/status", tr.t("status-heading")),
        records: s.records,
        withdrawn: s.withdrawn,
        feed_members: s.feed_members,
        by_origin: s.by_origin.iter().map(|(id, n)| (name(id), *n)).collect(),
        last_round,
        peers,
        refusals,
    };
    page(StatusCode::OK, lang, view.render())
}

/// A change of the feed.
pub struct Change {
    /// Its position.
    pub position: u64,
    /// The record's page here.
    pub href: String,
    /// The record IRI.
    pub record: String,
    /// Its version.
    pub version: u64,
    /// Its `dct:modified`.
    pub modified: String,
}

/// The page of `/feed`.
#[derive(Template)]
#[template(path = "feed.html")]
pub struct FeedPage {
    /// Header and navigation.
    pub page: Chrome,
    /// Versions in the feed.
    pub members: u64,
    /// Versions per page.
    pub page_size: u64,
    /// Pages.
    pub pages: u64,
    /// The newest changes, newest first.
    pub recent: Vec<Change>,
}

/// `GET /feed`: the LDES stream, or its page for a browser.
pub async fn feed(
    state: State<AppState>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(headers) = format_accept(query.as_deref(), &headers) {
        return crate::feed::stream(state, headers).await;
    }
    if !wants_html(&headers, &FEED_FORMATS.map(|(_, m)| m)) {
        return crate::feed::stream(state, headers).await;
    }
    let lang = super::language(&uri, &headers);
    let store = state.store.clone();
    let read = tokio::task::spawn_blocking(move || {
        let (members, page_size) = store.feed_state()?;
        let recent = store.members(members.saturating_sub(RECENT), members)?;
        Ok::<_, ccis_store::StoreError>((members, page_size, recent))
    })
    .await;
    let (members, page_size, recent) = match read {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Problem::internal(e).into_response(),
        Err(e) => return Problem::internal(e).into_response(),
    };
    let tr = Tr::new(lang);
    let view = FeedPage {
        page: Chrome::new(&state, lang, &uri, "/feed", tr.t("feed-heading")),
        members,
        page_size,
        pages: members.div_ceil(page_size.max(1)),
        recent: recent
            .iter()
            .rev()
            .map(|m| Change {
                position: m.position,
                href: local_href(&state, m.record.as_str(), lang),
                record: m.record.as_str().to_owned(),
                version: m.version,
                modified: m.modified.clone(),
            })
            .collect(),
    };
    page(StatusCode::OK, lang, view.render())
}

/// `GET /feed/{page}`, with `?format=` read as the `Accept` it names.
pub async fn feed_page(
    state: State<AppState>,
    path: Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let headers = format_accept(query.as_deref(), &headers).unwrap_or(headers);
    crate::feed::page(state, path, headers).await
}

/// `headers` with the `Accept` that `?format=` names, if it names one.
fn format_accept(query: Option<&str>, headers: &HeaderMap) -> Option<HeaderMap> {
    let format = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.into_owned())?;
    let (_, media_type) = FEED_FORMATS.iter().find(|(f, _)| *f == format)?;
    let mut headers = headers.clone();
    headers.insert(header::ACCEPT, HeaderValue::from_static(media_type));
    Some(headers)
}
