//! The bodies of the fuzz targets: plain functions over ccis's public API,
//! shared by `fuzz/fuzz_targets/*.rs` (through `#[path]`) and by the stable
//! replay of `tests/fuzz_regressions.rs`. None may panic, whatever the bytes:
//! a panic is a bug, either in ccis or in one of the few cross-checks below
//! (`assert!`s that two ways of computing one thing agree).
//!
//! Inputs that take a format start with one selector byte (its value modulo
//! the number of formats); the rest is the document. See docs/08-fuzzing.md.

use ccis::canon::{self, Limits};
use ccis::config::ServerConfig;
use ccis::feed;
use ccis::harvest::FetchLimits;
use ccis::keys;
use ccis::peers::Peers;
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record::{self, Record, RecordLimits};
use ccis::shapes::ShapeValidator;
use ccis::signed;
use ccis::store::member_iri;
use ccis::verify::{self, Trust};
use ed25519_dalek::{SigningKey, VerifyingKey};
use oxrdf::Quad;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Base URL of the node every input pretends to come from.
pub const BASE: &str = "https://fuzz.example";

/// Secret key of that node: the seed corpora are signed with it, so that
/// mutations of a seed reach the end of the verifier and the SHACL shapes.
pub const SEED_SECRET_KEY: [u8; 32] = [7; 32];

/// The formats a feed page is served in, by selector byte.
pub const FEED_FORMATS: [InputFormat; 3] =
    [InputFormat::TriG, InputFormat::NQuads, InputFormat::JsonLd];

/// The formats a record is read in, by selector byte.
pub const RECORD_FORMATS: [InputFormat; 4] = [
    InputFormat::Turtle,
    InputFormat::TriG,
    InputFormat::JsonLd,
    InputFormat::NQuads,
];

/// When a proof is said to be created, for the trust checks of `peers_toml`.
const INSTANTS: [&str; 3] = [
    "2026-03-01T12:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+23:59",
];

/// The seed node's public key.
pub fn seed_key() -> VerifyingKey {
    SigningKey::from_bytes(&SEED_SECRET_KEY).verifying_key()
}

/// A `peers.toml` that pins the seed key for [`BASE`].
pub fn seed_peers_toml() -> String {
    format!(
        "[[peer]]\nid = \"xx-fuzz\"\nname = \"Fuzz\"\ncountry = \"FR\"\nrole = \"national\"\n\
         base_url = \"{BASE}\"\n[[peer.keys]]\npublic_key = \"{}\"\n\
         valid_from = \"2020-01-01T00:00:00Z\"\n",
        keys::public_multikey(&seed_key())
    )
}

fn seed_peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| Peers::parse(&seed_peers_toml()).expect("the seed peers.toml parses"))
}

thread_local! {
    static VALIDATOR: ShapeValidator =
        ShapeValidator::new().expect("the shapes built into ccis compile");
}

/// The format named by the first byte, and the rest.
fn split_format<'a>(data: &'a [u8], formats: &[InputFormat]) -> Option<(InputFormat, &'a [u8])> {
    let (first, rest) = data.split_first()?;
    Some((formats[usize::from(*first) % formats.len()], rest))
}

/// A feed page as a harvester reads it (src/harvest): parsed as
/// `Fetcher::fetch` parses a body (base IRI = page URL), read with
/// `feed::read_page`, then each member through rule 1 (member IRI, subjects
/// in the record, limits, proof, pinned key), and the members that pass
/// through rule 3's SHACL run, one per page.
pub fn feed_page(data: &[u8]) {
    let Some((format, body)) = split_format(data, &FEED_FORMATS) else {
        return;
    };
    if body.len() > FetchLimits::default().max_page_bytes {
        return;
    }
    let url = format!("{BASE}/feed/0");
    let Ok(quads) = rdf_input::parse(body, format, Some(&url), &url, &PinnedContexts::default())
    else {
        return;
    };
    let page = feed::read_page(&quads);
    let by_key = Trust::Key(seed_key());
    let by_peers = Trust::Peers(seed_peers());
    let mut passed: Vec<&Record> = Vec::new();
    for m in &page.members {
        let record = &m.found.record;
        let named_well = record
            .version()
            .is_some_and(|v| m.member == member_iri(record.iri.as_str(), v));
        let verdict = verify::verify_record(&m.found, &by_key);
        let trusted = verify::verify_record(&m.found, &by_peers);
        assert!(
            verdict.result.is_ok() || trusted.result.is_err(),
            "trusted through peers.toml but not signed by the only key it pins"
        );
        republished(&m.signed_nquads, verdict.result.is_ok());
        if named_well && verdict.result.is_ok() {
            passed.push(record);
        }
    }
    if !passed.is_empty() {
        VALIDATOR.with(|v| {
            let results = v.validate_many(&passed);
            assert_eq!(results.len(), passed.len(), "one SHACL result per record");
        });
    }
}

/// What a relay republishes of a member (its `signed_nquads`) must read back
/// as N-Quads into one record that verifies exactly when the member did.
fn republished(nquads: &str, verified: bool) {
    let again = rdf_input::parse(
        nquads.as_bytes(),
        InputFormat::NQuads,
        None,
        "signed_nquads",
        &PinnedContexts::default(),
    );
    let quads = match again {
        Ok(quads) => quads,
        Err(e) => panic!("a member's signed_nquads do not parse back: {e}\n{nquads}"),
    };
    let found = signed::records_in(&quads);
    if verified {
        assert_eq!(found.len(), 1, "a verified member reads back as one record");
        let verdict = verify::verify_record(&found[0], &Trust::Key(seed_key()));
        assert!(
            verdict.result.is_ok(),
            "a verified member no longer verifies once republished: {verdict}"
        );
    }
}

/// A record file as `ccis verify` and `ccis publish` read it: parsed (base
/// IRI = node base, as publish does), its signed records found and verified
/// (limits, then bounded canonicalization, then the proof), and its records
/// split for the node, within limits, canonicalized and checked by SHACL.
pub fn record(data: &[u8]) {
    let Some((format, body)) = split_format(data, &RECORD_FORMATS) else {
        return;
    };
    if body.len() as u64 > rdf_input::DEFAULT_MAX_INPUT_BYTES {
        return;
    }
    let base = format!("{BASE}/");
    let Ok(quads) = rdf_input::parse(
        body,
        format,
        Some(&base),
        "fuzz",
        &PinnedContexts::default(),
    ) else {
        return;
    };
    for found in signed::records_in(&quads) {
        if found.record.check_limits(&RecordLimits::default()).is_ok() {
            canonical(&found.record.document());
        }
        verify::verify_record(&found, &Trust::Key(seed_key()));
    }
    let Ok(records) = record::split_into_records(quads, BASE) else {
        return;
    };
    for r in &records {
        assert!(
            r.check_limits(&RecordLimits::default()).is_ok(),
            "split records are within limits"
        );
        canonical(&r.document());
    }
    if !records.is_empty() {
        VALIDATOR.with(|v| {
            for r in &records {
                let _ = v.validate(r);
            }
        });
    }
}

/// Bounded canonicalization, cross-checked: the streamed hash is the hash
/// of the canonical text, and that text is canonical N-Quads of itself.
fn canonical(quads: &[Quad]) {
    let limits = Limits::default();
    let text = canon::canonical_nquads(quads, &limits);
    let hash = canon::canonical_sha256(quads, &limits);
    match (&text, &hash) {
        (Ok(text), Ok(hash)) => {
            let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            assert_eq!(
                &expected, hash,
                "canonical_sha256 is not the hash of canonical_nquads"
            );
            let reread = rdf_input::parse(
                text.as_bytes(),
                InputFormat::NQuads,
                None,
                "canonical",
                &PinnedContexts::default(),
            );
            let reread = match reread {
                Ok(q) => q,
                Err(e) => panic!("canonical N-Quads do not parse: {e}\n{text}"),
            };
            let again = canon::canonical_nquads(&reread, &limits);
            assert_eq!(
                again.as_ref(),
                Ok(text),
                "canonical N-Quads are not a fixed point"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the two canonicalizations refuse differently"),
        _ => panic!("one canonicalization refused, the other did not: {text:?} / {hash:?}"),
    }
}

/// `peers.toml` as a node loads it (`Peers::parse`, UTF-8 first as
/// `Peers::load` reads it), then every trust question on what it accepted.
pub fn peers_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(peers) = Peers::parse(text) else {
        return;
    };
    let outsider = seed_key();
    for peer in &peers.peers {
        assert!(
            peers.get(&peer.id).is_some(),
            "a parsed peer is found by id"
        );
        let base = peer.base_url.trim_end_matches('/');
        let iris = [
            format!("{base}/records/a-record"),
            format!("{base}/records/a-record#part"),
            format!("{base}/records/"),
            peer.base_url.clone(),
        ];
        let mut pinned: Vec<VerifyingKey> = vec![outsider];
        for k in &peer.keys {
            match keys::parse_public_multikey(&k.public_key) {
                Ok(key) => pinned.push(key),
                Err(e) => panic!("a key Peers::parse accepted does not parse: {e}"),
            }
        }
        for iri in &iris {
            let origin = peers.origin_of(iri).map(|p| p.id.clone());
            for key in &pinned {
                let instants = peer
                    .keys
                    .iter()
                    .flat_map(|k| [k.valid_from.as_deref(), k.valid_until.as_deref()])
                    .flatten()
                    .chain(INSTANTS);
                for created in instants {
                    if let Ok(p) = peers.check_trust(iri, key, created) {
                        assert_eq!(
                            Some(&p.id),
                            origin.as_ref(),
                            "trusted by a peer that is not the origin"
                        );
                    }
                }
            }
        }
    }
}

/// A SPARQL request as `/sparql` takes it: within the body limit, UTF-8,
/// parsed as a query by `spargebra` (what Oxigraph's `parse_query` runs),
/// else as an update (which the handler refuses), and printed back.
pub fn sparql(data: &[u8]) {
    if data.len() > ServerConfig::default().max_body_bytes {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // What the server and `ccis query` do before any parsing.
    let limits = ServerConfig::default();
    if ccis::prescan::check(text, limits.max_query_bytes, limits.max_query_depth).is_err() {
        return;
    }
    let parser = spargebra::SparqlParser::new;
    match parser().parse_query(text) {
        Ok(query) => {
            let printed = query.to_string();
            let _ = query.to_sse();
            assert!(!printed.is_empty(), "a query prints as something");
        }
        Err(_) => {
            if let Ok(update) = parser().parse_update(text) {
                let _ = update.to_string();
            }
        }
    }
}
