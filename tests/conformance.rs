//! W3C conformance: the Data Integrity EdDSA test vectors (eddsa-rdfc-2022)
//! and the RDF Dataset Canonicalization (RDFC-1.0) test suite, read from
//! `../shared/conformance/`.

mod common;

use ccis::canon::{self, CanonError, HashAlgorithm, Limits};
use ccis::keys;
use ccis::proof::{self, Proof};
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::vocab;
use ed25519_dalek::Signer;
use oxrdf::{GraphName, NamedOrBlankNode, Quad, Term};
use std::collections::HashMap;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn nquads(text: &str) -> Vec<Quad> {
    rdf_input::parse(
        text.as_bytes(),
        InputFormat::NQuads,
        None,
        "test",
        &PinnedContexts::default(),
    )
    .unwrap()
}

fn contexts(dir: &Path) -> PinnedContexts {
    let mut set = PinnedContexts::default();
    for (url, file) in [
        (
            "https://www.w3.org/ns/credentials/v2",
            "credentials-v2.jsonld",
        ),
        (
            "https://www.w3.org/ns/credentials/examples/v2",
            "credentials-examples-v2.jsonld",
        ),
        (
            "https://w3id.org/citizenship/v4rc1",
            "citizenship-v4rc1.jsonld",
        ),
        (
            "https://w3id.org/security/multikey/v1",
            "multikey-v1.jsonld",
        ),
    ] {
        set.insert(url, std::fs::read(dir.join("contexts").join(file)).unwrap());
    }
    set
}

/// Every vector folder: hashes, signature and proofValue reproduced byte for byte.
#[test]
fn eddsa_rdfc_2022_vectors_are_reproduced() {
    let Some(dir) = common::conformance_dir() else {
        return;
    };
    let base = dir.join("vc-di-eddsa");
    let pair: serde_json::Value = serde_json::from_str(&read(&base.join("keyPair.json"))).unwrap();
    let key = keys::parse_secret_multikey(pair["privateKeyMultibase"].as_str().unwrap()).unwrap();
    assert_eq!(
        keys::public_multikey(&key.verifying_key()),
        pair["publicKeyMultibase"].as_str().unwrap()
    );
    for folder in ["eddsa-rdfc-2022", "eddsa-rdfc-2022/employ"] {
        let v = base.join(folder);
        let canon_doc = read(&v.join("canonDocDataInt.txt"));
        let proof_canon = read(&v.join("proofCanonDataInt.txt"));
        let hash = proof::hash_data(&proof_canon, &canon_doc);
        assert_eq!(
            hex::encode(&hash[32..]),
            read(&v.join("docHashDataInt.txt")).trim(),
            "{folder} docHash"
        );
        assert_eq!(
            hex::encode(&hash[..32]),
            read(&v.join("proofHashDataInt.txt")).trim(),
            "{folder} proofHash"
        );
        assert_eq!(
            hex::encode(hash),
            read(&v.join("combinedHashDataInt.txt")).trim(),
            "{folder} combinedHash"
        );
        let signature = key.sign(&hash);
        assert_eq!(
            hex::encode(signature.to_bytes()),
            read(&v.join("sigHexDataInt.txt")).trim(),
            "{folder} signature"
        );
        assert_eq!(
            proof::encode_proof_value(&signature),
            read(&v.join("sigBTC58DataInt.txt")).trim(),
            "{folder} proofValue"
        );

        // Our canonicalization of the vector's canonical document is the identity.
        let doc = nquads(&canon_doc);
        assert_eq!(
            canon::canonical_nquads(&doc, &Limits::default()).unwrap(),
            canon_doc,
            "{folder}"
        );
    }
}

/// The signed vectors verify and stop verifying when their content changes.
///
/// The document is read from the signed JSON-LD with pinned contexts. The
/// `employ/` vector types one node with two type-scoped contexts, of which
/// oxjsonld 0.2 applies only one: our parser then refuses the term the other
/// defines (instead of silently dropping it), and that vector's document is
/// taken from its canonical N-Quads, its proof still from the JSON.
#[test]
fn signed_vectors_verify() {
    let Some(dir) = common::conformance_dir() else {
        return;
    };
    let contexts = contexts(&dir);
    for folder in ["eddsa-rdfc-2022", "eddsa-rdfc-2022/employ"] {
        let v = dir.join("vc-di-eddsa").join(folder);
        let canon_doc = read(&v.join("canonDocDataInt.txt"));
        let json = std::fs::read(v.join("signedDataInt.json")).unwrap();
        let (document, proof) =
            match rdf_input::parse(&json, InputFormat::JsonLd, None, folder, &contexts) {
                Ok(quads) => {
                    let link = quads
                        .iter()
                        .find(|q| q.predicate.as_ref() == vocab::SEC_PROOF)
                        .expect("proof link");
                    let Term::BlankNode(proof_graph) = &link.object else {
                        panic!("proof graph")
                    };
                    let proof_graph = GraphName::BlankNode(proof_graph.clone());
                    let proof_quads: Vec<&Quad> = quads
                        .iter()
                        .filter(|q| q.graph_name == proof_graph)
                        .collect();
                    let node: NamedOrBlankNode = proof_quads[0].subject.clone();
                    let proof = Proof::from_quads(&node, proof_quads);
                    let document: Vec<Quad> = quads
                        .iter()
                        .filter(|q| {
                            q.graph_name.is_default_graph()
                                && q.predicate.as_ref() != vocab::SEC_PROOF
                        })
                        .cloned()
                        .collect();
                    (document, proof)
                }
                Err(e) => {
                    assert!(
                        folder.ends_with("employ")
                            && e.message.contains("employmentAuthorizationDocument"),
                        "{folder}: {e}"
                    );
                    let signed: serde_json::Value = serde_json::from_slice(&json).unwrap();
                    let mut proof_doc = signed["proof"].clone();
                    proof_doc["@context"] = signed["@context"].clone();
                    let quads = rdf_input::parse(
                        proof_doc.to_string().as_bytes(),
                        InputFormat::JsonLd,
                        None,
                        folder,
                        &contexts,
                    )
                    .unwrap();
                    let proof = Proof::from_quads(&quads[0].subject.clone(), &quads);
                    (nquads(&canon_doc), proof)
                }
            };
        assert_eq!(
            canon::canonical_nquads(&document, &Limits::default()).unwrap(),
            canon_doc,
            "{folder}: canonical document"
        );
        assert_eq!(
            proof::canonical_proof_configuration(&proof).unwrap(),
            read(&v.join("proofCanonDataInt.txt")),
            "{folder}: canonical proof configuration"
        );
        proof::verify(&document, &proof, &Limits::default())
            .unwrap_or_else(|e| panic!("{folder}: {e}"));
        let mut tampered = document.clone();
        tampered.pop();
        assert!(
            proof::verify(&tampered, &proof, &Limits::default()).is_err(),
            "{folder}"
        );
    }
}

/// The RDFC-1.0 suite: all ordinary tests pass, the poisoned one is refused fast.
#[test]
fn rdfc10_test_suite() {
    let Some(dir) = common::conformance_dir() else {
        return;
    };
    let suite = dir.join("rdf-canon");
    let manifest = read(&suite.join("manifest.csv"));
    let (mut outputs, mut maps, mut refused) = (0, 0, 0);
    let mut failures = Vec::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (id, hash, kind, map) = (
            cols[0],
            cols[cols.len() - 3],
            cols[cols.len() - 2],
            cols[cols.len() - 1],
        );
        let hash = if hash == "SHA384" {
            HashAlgorithm::Sha384
        } else {
            HashAlgorithm::Sha256
        };
        let input = nquads(&read(&suite.join(format!("rdfc10/{id}-in.nq"))));
        // Refused by counting the work before doing it (CanonError::TooComplex),
        // so the outcome does not depend on the machine's speed.
        let result = canon::canonicalize(&input, &Limits::test_suite(), hash);
        if kind == "RDFC10NegativeEvalTest" {
            assert!(
                matches!(result, Err(CanonError::TooComplex { .. })),
                "{id} must be refused"
            );
            refused += 1;
            continue;
        }
        let canonical = match result {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{id}: refused: {e}"));
                continue;
            }
        };
        let expected = read(&suite.join(format!("rdfc10/{id}-rdfc10.nq")));
        if canonical.nquads == expected {
            outputs += 1;
        } else {
            failures.push(format!("{id}: output differs"));
        }
        if map == "TRUE" {
            let expected: HashMap<String, String> =
                serde_json::from_str(&read(&suite.join(format!("rdfc10/{id}-rdfc10map.json"))))
                    .unwrap();
            if canonical.blank_node_map == expected {
                maps += 1;
            } else {
                failures.push(format!("{id}: map differs: {:?}", canonical.blank_node_map));
            }
        }
    }
    assert!(failures.is_empty(), "failures: {failures:#?}");
    assert_eq!(
        (outputs, maps, refused),
        (64, 21, 1),
        "85 ordinary tests and one refusal"
    );
}
