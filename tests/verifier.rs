//! One verifier: the same hostile members, given to `ccis verify` as files
//! and served to a harvesting node by a peer on loopback, get the same
//! verdict, rule for rule, and what the harvester stores and serves again is
//! exactly what was verified.

mod common;

use ccis::canon::{self, Limits};
use ccis::feed;
use ccis::harvest::Quiet;
use ccis::node::{InitOptions, Node};
use ccis::proof::{self, Proof};
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record::Record;
use ccis::signed::SignedRecord;
use ccis::vocab;
use ed25519_dalek::{Signer, SigningKey};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, GraphName, Literal, NamedNode, Quad, Term};
use std::collections::BTreeMap;
use std::sync::Arc;

const CREATED: &str = "2026-11-20T10:00:00Z";

fn record(base: &str, slug: &str) -> Record {
    common::tool_record(base, slug, &format!("A guide: {slug}"), 1)
}

/// Signs `record` with a proof made of `options` (no proofValue), whatever they say.
fn sign_with(record: &Record, key: &SigningKey, options: Proof) -> SignedRecord {
    let config = proof::canonical_proof_configuration(&options).unwrap();
    let document = canon::canonical_nquads(&record.document(), &Limits::default()).unwrap();
    let signature = key.sign(&proof::hash_data(&config, &document));
    let mut proof = options;
    proof.statements.push((
        vocab::SEC_PROOF_VALUE.into(),
        Literal::new_typed_literal(proof::encode_proof_value(&signature), vocab::SEC_MULTIBASE)
            .into(),
    ));
    SignedRecord {
        record: record.clone(),
        proof,
    }
}

fn options(key: &SigningKey, created: &str) -> Proof {
    Proof::options(
        created,
        &ccis::keys::verification_method(&key.verifying_key()),
    )
}

/// Replaces the object of `predicate` in the proof options.
fn with(mut p: Proof, predicate: oxrdf::NamedNodeRef<'_>, object: Term) -> Proof {
    for (pr, o) in &mut p.statements {
        if pr.as_ref() == predicate {
            *o = object.clone();
        }
    }
    p
}

/// A member: the record's statements in the default graph, the proof in its
/// own graph (as a standalone secured document), plus `extra` quads.
fn document(
    signed: &SignedRecord,
    extra: impl Fn(&BlankNode, &BlankNode) -> Vec<Quad>,
) -> Vec<Quad> {
    let mut quads = signed.record.document();
    let graph = BlankNode::default();
    let node = BlankNode::default();
    quads.push(Quad::new(
        signed.record.iri.clone(),
        vocab::SEC_PROOF,
        graph.clone(),
        GraphName::DefaultGraph,
    ));
    quads.extend(
        signed
            .proof
            .to_quads(&node.clone().into(), &GraphName::BlankNode(graph.clone())),
    );
    quads.extend(extra(&graph, &node));
    quads
}

fn none(_: &BlankNode, _: &BlankNode) -> Vec<Quad> {
    Vec::new()
}

fn trig(quads: &[Quad]) -> Vec<u8> {
    let mut w = RdfSerializer::from_format(RdfFormat::TriG).for_writer(Vec::new());
    for q in quads {
        w.serialize_quad(q).unwrap();
    }
    w.finish().unwrap()
}

/// A one-page feed holding the members (documents), each in its member graph.
fn page(base: &str, members: &[(NamedNode, Vec<Quad>)]) -> Vec<u8> {
    let mut quads = feed::stream_document(base);
    let stream = feed::stream_iri(base);
    let page = feed::page_iri(base, 0);
    let g = GraphName::DefaultGraph;
    quads.push(Quad::new(
        page.clone(),
        rdf::TYPE,
        vocab::TREE_NODE_CLASS,
        g.clone(),
    ));
    quads.push(Quad::new(
        page,
        vocab::DCT_IS_PART_OF,
        stream.clone(),
        g.clone(),
    ));
    for (record, doc) in members {
        let member = NamedNode::new_unchecked(format!("{}/versions/1", record.as_str()));
        quads.push(Quad::new(
            stream.clone(),
            vocab::TREE_MEMBER,
            member.clone(),
            g.clone(),
        ));
        quads.push(Quad::new(
            member.clone(),
            vocab::DCT_IS_VERSION_OF,
            record.clone(),
            g.clone(),
        ));
        quads.push(Quad::new(
            member.clone(),
            vocab::VERSION,
            Literal::new_typed_literal("1", xsd::INTEGER),
            g.clone(),
        ));
        for q in doc {
            let graph = match &q.graph_name {
                GraphName::DefaultGraph => GraphName::NamedNode(member.clone()),
                other => other.clone(),
            };
            quads.push(Quad::new(
                q.subject.clone(),
                q.predicate.clone(),
                q.object.clone(),
                graph,
            ));
        }
    }
    trig(&quads)
}

/// Serves `/feed` and `/feed/0` on 127.0.0.1; returns the base URL.
async fn peer(pages: Arc<std::sync::OnceLock<(Vec<u8>, Vec<u8>)>>) -> String {
    use axum::http::header::CONTENT_TYPE;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stream = pages.clone();
    let app = axum::Router::new()
        .route(
            "/feed",
            axum::routing::get(move || {
                let p = stream.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "application/trig")],
                        p.get().unwrap().0.clone(),
                    )
                }
            }),
        )
        .route(
            "/feed/0",
            axum::routing::get(move || {
                let p = pages.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "application/trig")],
                        p.get().unwrap().1.clone(),
                    )
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_and_harvest_give_the_same_verdicts() {
    let key = SigningKey::from_bytes(&[21u8; 32]);
    let revoked = SigningKey::from_bytes(&[22u8; 32]);
    let stranger = SigningKey::from_bytes(&[23u8; 32]);
    let mk = |k: &SigningKey| ccis::keys::public_multikey(&k.verifying_key());
    let pages: Arc<std::sync::OnceLock<(Vec<u8>, Vec<u8>)>> = Arc::default();
    let base = peer(pages.clone()).await;
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let good = |slug: &str| sign_with(&record(&base, slug), &key, options(&key, CREATED));
    let evil = NamedNode::new_unchecked("https://evil.example/x");
    let literal = |v: &str| Term::from(Literal::new_simple_literal(v));

    // (slug, the member's document, the rule it must be refused by: None = accepted)
    let mut cases: Vec<(&str, Vec<Quad>, Option<&str>)> = vec![
        ("good", document(&good("good"), none), None),
        (
            "note-beside-proof",
            document(&good("note-beside-proof"), |g, _| {
                vec![Quad::new(
                    evil.clone(),
                    vocab::DCT_TITLE,
                    literal("not signed"),
                    GraphName::BlankNode(g.clone()),
                )]
            }),
            Some("1-unsigned-statements"),
        ),
        (
            "stray-proof-link",
            document(&good("stray-proof-link"), |g, _| {
                vec![Quad::new(
                    NamedNode::new_unchecked(format!("{base}/records/stray-proof-link#x")),
                    vocab::SEC_PROOF,
                    g.clone(),
                    GraphName::DefaultGraph,
                )]
            }),
            Some("1-unsigned-statements"),
        ),
        (
            "authentication",
            document(
                &sign_with(
                    &record(&base, "authentication"),
                    &key,
                    with(
                        options(&key, CREATED),
                        vocab::SEC_PROOF_PURPOSE,
                        NamedNode::new_unchecked("https://w3id.org/security#authentication").into(),
                    ),
                ),
                none,
            ),
            Some("1-proof-purpose"),
        ),
        (
            "tomorrow",
            document(
                &sign_with(&record(&base, "tomorrow"), &key, options(&key, &tomorrow)),
                none,
            ),
            Some("1-created-in-future"),
        ),
        (
            "other-suite",
            document(
                &sign_with(
                    &record(&base, "other-suite"),
                    &key,
                    with(
                        options(&key, CREATED),
                        vocab::SEC_CRYPTOSUITE,
                        Literal::new_typed_literal("eddsa-jcs-2022", vocab::SEC_CRYPTOSUITE_STRING)
                            .into(),
                    ),
                ),
                none,
            ),
            Some("1-cryptosuite"),
        ),
        (
            "other-type",
            document(
                &sign_with(
                    &record(&base, "other-type"),
                    &key,
                    with(
                        options(&key, CREATED),
                        rdf::TYPE,
                        NamedNode::new_unchecked("https://w3id.org/security#Ed25519Signature2020")
                            .into(),
                    ),
                ),
                none,
            ),
            Some("1-proof-type"),
        ),
        (
            "proof-domain",
            document(
                &{
                    let mut o = options(&key, CREATED);
                    o.statements.push((
                        NamedNode::new_unchecked("https://w3id.org/security#domain"),
                        literal("example.org"),
                    ));
                    sign_with(&record(&base, "proof-domain"), &key, o)
                },
                none,
            ),
            Some("1-proof-property"),
        ),
        (
            "altered",
            {
                let mut s = good("altered");
                s.record
                    .triples
                    .retain(|t| t.predicate.as_ref() != vocab::DCT_SPATIAL);
                document(&s, none)
            },
            Some("1-signature"),
        ),
        (
            "stranger",
            document(
                &sign_with(
                    &record(&base, "stranger"),
                    &stranger,
                    options(&stranger, CREATED),
                ),
                none,
            ),
            Some("1-key-not-pinned"),
        ),
        (
            "revoked",
            document(
                &sign_with(
                    &record(&base, "revoked"),
                    &revoked,
                    options(&revoked, CREATED),
                ),
                none,
            ),
            Some("1-key-revoked"),
        ),
        (
            "two-proofs",
            {
                let first = good("two-proofs");
                let second = sign_with(&first.record, &key, options(&key, "2026-11-21T10:00:00Z"));
                let mut doc = document(&first, none);
                let again = document(&second, none);
                doc.extend(again.into_iter().filter(|q| {
                    q.graph_name != GraphName::DefaultGraph
                        || q.predicate.as_ref() == vocab::SEC_PROOF
                }));
                doc
            },
            Some("1-several-proofs"),
        ),
        (
            "big-proof",
            {
                let mut s = good("big-proof");
                for (p, o) in &mut s.proof.statements {
                    if p.as_ref() == vocab::SEC_PROOF_VALUE {
                        *o = Literal::new_typed_literal(
                            format!("z{}", "1".repeat(20_000)),
                            vocab::SEC_MULTIBASE,
                        )
                        .into();
                    }
                }
                document(&s, none)
            },
            Some("3-limits"),
        ),
        (
            "no-proof",
            good("no-proof").record.document(),
            Some("1-no-proof"),
        ),
    ];
    // A record of a node not in peers.toml, relayed by the peer.
    let unknown = sign_with(
        &record("https://unknown.example", "elsewhere"),
        &key,
        options(&key, CREATED),
    );
    cases.push((
        "elsewhere",
        document(&unknown, none),
        Some("unknown-origin"),
    ));

    let iri_of = |slug: &str| {
        if slug == "elsewhere" {
            unknown.record.iri.clone()
        } else {
            NamedNode::new_unchecked(format!("{base}/records/{slug}"))
        }
    };
    let members: Vec<(NamedNode, Vec<Quad>)> = cases
        .iter()
        .map(|(slug, doc, _)| (iri_of(slug), doc.clone()))
        .collect();
    pages
        .set((trig(&feed::stream_document(&base)), page(&base, &members)))
        .unwrap();

    // The harvesting node pins the peer's key and its revoked one.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let node = Node::init(
        &dir,
        InitOptions {
            role: Default::default(),
            id: "fr-test".into(),
            country: "FR".into(),
            base_url: "https://fr.example".into(),
            name: "Test".into(),
            key: None,
        },
    )
    .unwrap();
    let peers = common::peer_entry(
        "peer",
        "national",
        &base,
        &mk(&key),
        &format!(
            "[[peer.keys]]\npublic_key = \"{}\"\nrevoked = true\n",
            mk(&revoked)
        ),
    );
    std::fs::write(dir.join("peers.toml"), &peers).unwrap();
    drop(node);
    let node = Node::open(&dir).unwrap();
    let reports = node.harvester().unwrap().round(None, Arc::new(Quiet)).await;
    assert_eq!(reports[0].error, None, "{:?}", reports[0]);
    let log = std::fs::read_to_string(dir.join("refused.jsonl")).unwrap_or_default();
    let mut harvested: BTreeMap<String, String> = BTreeMap::new();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        harvested.insert(
            v["record"].as_str().unwrap().to_owned(),
            v["rule"].as_str().unwrap().to_owned(),
        );
    }
    let stored = common::holdings(&node.store);

    for (slug, doc, expected) in &cases {
        let iri = iri_of(slug);
        // `ccis verify`, on the member as a file.
        let file = tmp.path().join(format!("{slug}.trig"));
        std::fs::write(&file, trig(doc)).unwrap();
        let (ok, out, _) = common::ccis(&[
            "verify",
            "--peers",
            dir.join("peers.toml").to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        let verdict = out
            .lines()
            .find(|l| l.contains(iri.as_str()))
            .unwrap_or_else(|| panic!("{slug}: no verdict in {out}"));
        let verify_rule = verdict
            .split_once(": [")
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(r, _)| r.to_owned());
        // The harvester, on the member served in a page.
        let harvest_rule = harvested.get(iri.as_str()).cloned();
        let kept = stored.iter().any(|(r, _, _)| r == iri.as_str());
        assert_eq!(
            verify_rule.as_deref(),
            *expected,
            "{slug}: ccis verify said {verdict}"
        );
        assert_eq!(
            harvest_rule, verify_rule,
            "{slug}: the harvester and ccis verify disagree"
        );
        assert_eq!(kept, expected.is_none(), "{slug}: stored {kept}");
        assert_eq!(ok, expected.is_none(), "{slug}: exit status of ccis verify");
    }

    // What is stored and served again for the accepted member is exactly
    // the verified record and its proof.
    let good_iri = iri_of("good");
    let served = node.store.latest_member(&good_iri).unwrap().unwrap();
    let quads: Vec<Quad> = rdf_input::parse(
        served.signed_nquads.as_bytes(),
        InputFormat::NQuads,
        None,
        "stored member",
        &PinnedContexts::default(),
    )
    .unwrap();
    let expected = document(&good("good"), none);
    assert_eq!(quads.len(), expected.len(), "{}", served.signed_nquads);
}
