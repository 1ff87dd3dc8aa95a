//! `/records/{slug}`, `/node` and `/vocab/{file}`.

use crate::AppState;
use crate::negotiate::choose;
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccis_integrity::export::{ExportFormat, serialize_records};
use ccis_integrity::keys;
use ccis_model::record;
use ccis_model::vocab;
use ccis_node::config::{KeyConfig, NodeConfig};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{Literal, NamedNode, Triple};

const TRIG: &str = "application/trig";
const NQUADS: &str = "application/n-quads";
const JSONLD: &str = "application/ld+json";
const TURTLE: &str = "text/turtle";
const NTRIPLES: &str = "application/n-triples";
const HTML: &str = "text/html";

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

fn body(status: StatusCode, media_type: &str, bytes: Vec<u8>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::VARY, "Accept".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

fn not_acceptable(offered: &[&str]) -> Response {
    Problem::not_acceptable(offered).into_response()
}

fn turtle(triples: &[Triple]) -> anyhow::Result<Vec<u8>> {
    let mut serializer = RdfSerializer::from_format(RdfFormat::Turtle)
        .with_prefix("dct", vocab::DCT)?
        .with_prefix("ccis", vocab::CCIS)?
        .with_prefix("schema", vocab::SCHEMA)?
        .with_prefix("sec", vocab::SEC)?
        .for_writer(Vec::new());
    for t in triples {
        serializer.serialize_triple(t)?;
    }
    Ok(serializer.finish()?)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /records/{slug}`: the record with its proof (TriG, N-Quads, JSON-LD), its
/// content (Turtle) or a page; 404 if unknown, 410 with the tombstone if withdrawn.
pub async fn record(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !record::is_slug(&slug) {
        return Problem::not_found("no such record").into_response();
    }
    let iri = NamedNode::new_unchecked(state.config.record_iri(&slug));
    let store = state.store.clone();
    let lookup = iri.clone();
    let signed = match tokio::task::spawn_blocking(move || store.get(&lookup)).await {
        Ok(Ok(Some(signed))) => signed,
        Ok(Ok(None)) => {
            return Problem::not_found(format!("no record <{}>", iri.as_str())).into_response();
        }
        Ok(Err(e)) => return Problem::internal(e.to_string()).into_response(),
        Err(e) => return Problem::internal(e.to_string()).into_response(),
    };
    let status = if signed.record.is_withdrawn() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    let offered = [TRIG, NQUADS, JSONLD, TURTLE, HTML];
    let Some(chosen) = choose(accept(&headers), &offered) else {
        return not_acceptable(&offered);
    };
    let records = std::slice::from_ref(&signed);
    let result = match chosen {
        TRIG => serialize_records(records, ExportFormat::Trig).map_err(anyhow::Error::from),
        NQUADS => serialize_records(records, ExportFormat::Nquads).map_err(anyhow::Error::from),
        JSONLD => serialize_records(records, ExportFormat::Jsonld).map_err(anyhow::Error::from),
        TURTLE => turtle(&signed.record.triples),
        _ => {
            let title = signed
                .record
                .title(&["en", "fr"])
                .unwrap_or_else(|| slug.clone());
            let ttl = turtle(&signed.record.triples).unwrap_or_default();
            Ok(format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>Version {v}{w}. The signed record, with its proof, is served as TriG, N-Quads and JSON-LD by content negotiation.</p><pre>{ttl}</pre></body></html>",
                t = escape_html(&title),
                v = signed.record.version().unwrap_or(0),
                w = if signed.record.is_withdrawn() { " (withdrawn)" } else { "" },
                ttl = escape_html(&String::from_utf8_lossy(&ttl)),
            )
            .into_bytes())
        }
    };
    match result {
        Ok(bytes) => body(status, chosen, bytes),
        Err(e) => Problem::internal(e.to_string()).into_response(),
    }
}

/// `GET /node`: who the node is, its catalogue and its keys.
pub async fn node(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let c = &state.config;
    let me = NamedNode::new_unchecked(format!("{}/node", c.base_url));
    let mut triples = node_triples(c, &me, state.store.catalogue());
    for key in &c.keys {
        key_triples(key, &me, &mut triples);
    }

    let offered = [TURTLE, NTRIPLES, JSONLD, HTML];
    let Some(chosen) = choose(accept(&headers), &offered) else {
        return not_acceptable(&offered);
    };
    let result: anyhow::Result<Vec<u8>> = match chosen {
        TURTLE => turtle(&triples),
        HTML => turtle(&triples).map(|ttl| {
            format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>{n}</title></head><body><h1>{n}</h1><pre>{t}</pre></body></html>",
                n = escape_html(&c.name),
                t = escape_html(&String::from_utf8_lossy(&ttl))
            )
            .into_bytes()
        }),
        other => {
            let format = if other == JSONLD {
                RdfFormat::JsonLd { profile: oxigraph::io::JsonLdProfileSet::empty() }
            } else {
                RdfFormat::NTriples
            };
            let mut serializer = RdfSerializer::from_format(format).for_writer(Vec::new());
            triples
                .iter()
                .try_for_each(|t| serializer.serialize_triple(t))
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(serializer.finish()?))
        }
    };
    match result {
        Ok(bytes) => body(StatusCode::OK, chosen, bytes),
        Err(e) => Problem::internal(e.to_string()).into_response(),
    }
}

/// The triples describing the node: identity, country, URL and catalogue.
fn node_triples(c: &NodeConfig, me: &NamedNode, catalogue: &NamedNode) -> Vec<Triple> {
    vec![
        Triple::new(
            me.clone(),
            rdf::TYPE,
            NamedNode::new_unchecked(format!("{}Organization", vocab::SCHEMA)),
        ),
        Triple::new(
            me.clone(),
            vocab::DCT_IDENTIFIER,
            Literal::new_simple_literal(&c.id),
        ),
        Triple::new(
            me.clone(),
            NamedNode::new_unchecked(format!("{}name", vocab::SCHEMA)),
            Literal::new_simple_literal(&c.name),
        ),
        Triple::new(
            me.clone(),
            vocab::DCT_SPATIAL,
            NamedNode::new_unchecked(c.country_iri()),
        ),
        Triple::new(
            me.clone(),
            NamedNode::new_unchecked(format!("{}url", vocab::SCHEMA)),
            NamedNode::new_unchecked(&c.base_url),
        ),
        Triple::new(
            me.clone(),
            NamedNode::new_unchecked(format!("{}catalog", vocab::DCAT)),
            catalogue.clone(),
        ),
        Triple::new(catalogue.clone(), rdf::TYPE, vocab::DCAT_CATALOG),
        Triple::new(catalogue.clone(), vocab::DCT_PUBLISHER, me.clone()),
    ]
}

/// The triples of one of the node's keys as a Multikey verification method.
fn key_triples(key: &KeyConfig, me: &NamedNode, triples: &mut Vec<Triple>) {
    let sec = |local: &str| NamedNode::new_unchecked(format!("{}{local}", vocab::SEC));
    let Ok(public) = keys::parse_public_multikey(&key.public_key) else {
        return;
    };
    let vm = NamedNode::new_unchecked(keys::verification_method(&public));
    triples.push(Triple::new(me.clone(), sec("assertionMethod"), vm.clone()));
    triples.push(Triple::new(vm.clone(), rdf::TYPE, sec("Multikey")));
    triples.push(Triple::new(vm.clone(), sec("controller"), me.clone()));
    triples.push(Triple::new(
        vm.clone(),
        sec("publicKeyMultibase"),
        Literal::new_typed_literal(&key.public_key, vocab::SEC_MULTIBASE),
    ));
    triples.push(Triple::new(
        vm.clone(),
        NamedNode::new_unchecked(format!("{}validFrom", vocab::CCIS)),
        Literal::new_typed_literal(&key.valid_from, xsd::DATE_TIME),
    ));
    if let Some(until) = &key.valid_until {
        triples.push(Triple::new(
            vm.clone(),
            sec("expires"),
            Literal::new_typed_literal(until, xsd::DATE_TIME),
        ));
    }
    if key.revoked {
        triples.push(Triple::new(
            vm.clone(),
            sec("revoked"),
            Literal::new_typed_literal(&key.valid_from, xsd::DATE_TIME),
        ));
    }
}

/// `GET /vocab/{file}`: the vocabulary, shapes and JSON-LD context built into the binary.
pub async fn vocab(Path(file): Path<String>) -> Response {
    match vocab::FILES.iter().find(|(name, _)| *name == file) {
        Some((name, text)) => {
            let media_type = if name.ends_with(".jsonld") {
                "application/ld+json"
            } else {
                TURTLE
            };
            (StatusCode::OK, [(header::CONTENT_TYPE, media_type)], *text).into_response()
        }
        None => Problem::not_found(format!("no vocabulary file {file}")).into_response(),
    }
}
