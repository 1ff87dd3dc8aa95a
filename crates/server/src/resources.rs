//! `/records/{slug}`, `/node` and `/vocab/{file}`.

use crate::AppState;
use crate::error::{ServerError, serialize_err};
use crate::negotiate::choose;
use crate::problem::Problem;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_integrity::export::{ExportFormat, serialize_records};
use ccis_integrity::keys;
use ccis_integrity::signed::SignedRecord;
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

fn turtle(triples: &[Triple]) -> Result<Vec<u8>, ServerError> {
    const WHAT: &str = "Turtle";
    let mut serializer = RdfSerializer::from_format(RdfFormat::Turtle);
    for (prefix, iri) in [
        ("dct", vocab::DCT),
        ("ccis", vocab::CCIS),
        ("schema", vocab::SCHEMA),
        ("sec", vocab::SEC),
    ] {
        serializer = serializer
            .with_prefix(prefix, iri)
            .map_err(serialize_err(WHAT))?;
    }
    let mut writer = serializer.for_writer(Vec::new());
    for t in triples {
        writer.serialize_triple(t).map_err(serialize_err(WHAT))?;
    }
    writer.finish().map_err(serialize_err(WHAT))
}

/// `GET /records/{slug}`: the record with its proof (TriG, N-Quads, JSON-LD), its
/// content (Turtle) or its page; 404 if unknown, 410 with the tombstone if
/// withdrawn. `?format=trig|nquads|jsonld|turtle` asks for a form from a link.
pub async fn record(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !record::is_slug(&slug) {
        return Problem::not_found("no such record").into_response();
    }
    let iri = NamedNode::new_unchecked(state.config.record_iri(&slug));
    let (store, peers) = (state.store.clone(), state.peers.clone());
    let lookup = iri.clone();
    let held = match tokio::task::spawn_blocking(move || {
        crate::web::record_page::read(&store, &peers, &lookup)
    })
    .await
    {
        Ok(Ok(Some(held))) => held,
        Ok(Ok(None)) => {
            return Problem::not_found(format!("no record <{}>", iri.as_str())).into_response();
        }
        Ok(Err(e)) => return Problem::internal(e.to_string()).into_response(),
        Err(e) => return Problem::internal(e.to_string()).into_response(),
    };
    let status = if held.signed.record.is_withdrawn() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    if let Some(response) = machine_form(&held.signed, query.as_deref(), &headers, status) {
        return response;
    }
    crate::web::record_page::render(&state, held, &uri, &headers, status).await
}

/// The forms of a record for machines, by `?format=` or `Accept`; `None`
/// when the client asks for a page.
pub(crate) fn machine_form(
    signed: &SignedRecord,
    query: Option<&str>,
    headers: &HeaderMap,
    status: StatusCode,
) -> Option<Response> {
    let format = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.into_owned());
    let offered = [TRIG, NQUADS, JSONLD, TURTLE, HTML];
    let by_format = [
        ("trig", TRIG),
        ("nquads", NQUADS),
        ("jsonld", JSONLD),
        ("turtle", TURTLE),
    ];
    let chosen = match format.and_then(|f| by_format.iter().find(|(n, _)| *n == f)) {
        Some((_, media_type)) => *media_type,
        None => match choose(accept(headers), &offered) {
            Some(HTML) => return None,
            Some(chosen) => chosen,
            None => return Some(not_acceptable(&offered)),
        },
    };
    let records = std::slice::from_ref(signed);
    let result = match chosen {
        TRIG => serialize_records(records, ExportFormat::Trig).map_err(serialize_err("a record")),
        NQUADS => {
            serialize_records(records, ExportFormat::Nquads).map_err(serialize_err("a record"))
        }
        JSONLD => {
            serialize_records(records, ExportFormat::Jsonld).map_err(serialize_err("a record"))
        }
        _ => turtle(&signed.record.triples),
    };
    Some(match result {
        Ok(bytes) => body(status, chosen, bytes),
        Err(e) => Problem::internal(e.to_string()).into_response(),
    })
}

/// `GET /node`: who the node is, its catalogue and its keys.
pub async fn node(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(page) = crate::web::views::node(&state, &uri, &headers) {
        return page;
    }
    let c = &state.config;
    let me = NamedNode::new_unchecked(format!("{}/node", c.base_url));
    let mut triples = node_triples(c, &me, state.store.catalogue());
    for key in &c.keys {
        key_triples(key, &me, &mut triples);
    }

    let offered = [TURTLE, NTRIPLES, JSONLD];
    let Some(chosen) = choose(accept(&headers), &offered) else {
        return not_acceptable(&offered);
    };
    let result: Result<Vec<u8>, ServerError> = match chosen {
        TURTLE => turtle(&triples),
        other => {
            let format = if other == JSONLD {
                RdfFormat::JsonLd {
                    profile: oxigraph::io::JsonLdProfileSet::empty(),
                }
            } else {
                RdfFormat::NTriples
            };
            let mut serializer = RdfSerializer::from_format(format).for_writer(Vec::new());
            triples
                .iter()
                .try_for_each(|t| serializer.serialize_triple(t))
                .and_then(|()| serializer.finish())
                .map_err(serialize_err("the node description"))
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
