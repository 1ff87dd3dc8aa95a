//! `/feed` and `/feed/{page}`: the LDES change feed, with conditional requests.

use crate::AppState;
use crate::error::{ServerError, serialize_err, store_err};
use crate::negotiate::choose;
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_feed as feed;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfSerializer};
use oxrdf::Quad;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const OFFERED: &[&str] = &[
    "application/trig",
    "application/n-quads",
    "application/ld+json",
];

/// `Cache-Control` of a full page: it never changes.
pub const IMMUTABLE: &str = "public, max-age=604800, immutable";
/// `Cache-Control` of the newest page and of the stream description.
pub const SHORT: &str = "public, max-age=5";

/// A serialized full page.
#[derive(Clone)]
struct Cached {
    etag: String,
    bytes: Arc<Vec<u8>>,
}

/// Full pages already serialized, by page and media type. Full pages never
/// change, so entries never go stale; the cache is emptied when it holds
/// more than [`CACHE_BYTES`].
#[derive(Clone, Default)]
pub struct PageCache {
    pages: Arc<Mutex<Pages>>,
}

/// The cached pages by (page, media type), and their size in bytes.
type Pages = (HashMap<(u64, &'static str), Cached>, usize);

/// Most bytes of serialized pages kept in memory.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

impl PageCache {
    fn get(&self, key: (u64, &'static str)) -> Option<Cached> {
        self.pages.lock().ok()?.0.get(&key).cloned()
    }

    fn put(&self, key: (u64, &'static str), value: Cached) {
        if let Ok(mut guard) = self.pages.lock() {
            let (pages, bytes) = &mut *guard;
            if *bytes + value.bytes.len() > CACHE_BYTES {
                pages.clear();
                *bytes = 0;
            }
            *bytes += value.bytes.len();
            pages.insert(key, value);
        }
    }
}

fn serialize(quads: &[Quad], media_type: &str) -> Result<Vec<u8>, ServerError> {
    const WHAT: &str = "a feed page";
    let format = match media_type {
        "application/trig" => RdfFormat::TriG,
        "application/n-quads" => RdfFormat::NQuads,
        _ => RdfFormat::JsonLd {
            profile: JsonLdProfileSet::empty(),
        },
    };
    let mut serializer = RdfSerializer::from_format(format);
    if media_type == "application/trig" {
        for (prefix, iri) in [
            ("ldes", ccis_model::vocab::LDES),
            ("tree", ccis_model::vocab::TREE),
            ("dct", ccis_model::vocab::DCT),
            ("ccis", ccis_model::vocab::CCIS),
            ("sec", ccis_model::vocab::SEC),
            ("schema", ccis_model::vocab::SCHEMA),
        ] {
            serializer = serializer
                .with_prefix(prefix, iri)
                .map_err(serialize_err(WHAT))?;
        }
    }
    let mut writer = serializer.for_writer(Vec::new());
    for q in quads {
        writer.serialize_quad(q).map_err(serialize_err(WHAT))?;
    }
    writer.finish().map_err(serialize_err(WHAT))
}

fn etag_of(index: u64, media_type: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let kind = media_type.rsplit('/').next().unwrap_or("rdf");
    format!("\"{index}-{kind}-{}\"", hex::encode(&digest[..12]))
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == etag || candidate == "*")
}

fn respond(
    headers: &HeaderMap,
    media_type: &str,
    etag: &str,
    cache_control: &'static str,
    bytes: Arc<Vec<u8>>,
) -> Response {
    let mut response = if matches_etag(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media_type.to_owned())],
            bytes.as_ref().clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    choose(accept, OFFERED)
}

fn not_acceptable() -> Response {
    Problem::not_acceptable(OFFERED).into_response()
}

/// `GET /feed`: the event stream description.
pub async fn stream(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(media_type) = negotiate(&headers) else {
        return not_acceptable();
    };
    match serialize(&feed::stream_document(&state.config.base_url), media_type) {
        Ok(bytes) => {
            let etag = etag_of(0, media_type, &bytes);
            respond(&headers, media_type, &etag, SHORT, Arc::new(bytes))
        }
        Err(e) => Problem::internal(e.to_string()).into_response(),
    }
}

/// `GET /feed/{page}`: one page of members; full pages are immutable.
pub async fn page(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(index) = index.parse::<u64>() else {
        return Problem::not_found(format!("no feed page {index:?}")).into_response();
    };
    let Some(media_type) = negotiate(&headers) else {
        return not_acceptable();
    };
    if let Some(cached) = state.pages.get((index, media_type)) {
        return respond(&headers, media_type, &cached.etag, IMMUTABLE, cached.bytes);
    }
    let store = state.store.clone();
    let base = state.config.base_url.clone();
    let built =
        tokio::task::spawn_blocking(move || -> Result<Option<(bool, Vec<u8>)>, ServerError> {
            // Where pages start is stored as members are appended (cut by count
            // and by bytes), so a full page never changes.
            let Some(page) = feed::stored_page(&store, &base, index)
                .map_err(store_err(format!("cannot read feed page {index}")))?
            else {
                return Ok(None);
            };
            Ok(Some((page.full, serialize(&page.quads, media_type)?)))
        })
        .await;
    match built {
        Ok(Ok(Some((full, bytes)))) => {
            let etag = etag_of(index, media_type, &bytes);
            let bytes = Arc::new(bytes);
            if full {
                state.pages.put(
                    (index, media_type),
                    Cached {
                        etag: etag.clone(),
                        bytes: bytes.clone(),
                    },
                );
            }
            let cache_control = if full { IMMUTABLE } else { SHORT };
            respond(&headers, media_type, &etag, cache_control, bytes)
        }
        Ok(Ok(None)) => {
            Problem::not_found(format!("the feed has no page {index} yet")).into_response()
        }
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}
