//! Signed records as RDF datasets, the form they are exported, served and verified in.
//!
//! A signed record is its content plus a Data Integrity proof. In a dataset,
//! as the Data Integrity spec maps a secured document to RDF:
//!
//! ```text
//! GRAPH <record> { …content… <record> sec:proof _:g . }   (or the default graph)
//! GRAPH _:g      { _:p a sec:DataIntegrityProof ; … sec:proofValue "z…" . }
//! ```
//!
//! Several records can share one TriG or N-Quads file, each in the graph
//! named by its IRI; a single record may also sit in the default graph,
//! which is what a JSON-LD document with a `proof` becomes.

use crate::proof::Proof;
use ccis_model::record::{self, Record};
use ccis_model::vocab;
use oxrdf::vocab::rdf;
use oxrdf::{BlankNode, GraphName, NamedNode, NamedOrBlankNode, Quad, Term, Triple};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// A record with its proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    /// The content that was signed.
    pub record: Record,
    /// The proof.
    pub proof: Proof,
}

/// A record read from a dataset, with its proof if it had one.
#[derive(Debug, Clone)]
pub struct FoundRecord {
    /// The content (the graph without its `sec:proof` links).
    pub record: Record,
    /// The proofs linked from it (usually one).
    pub proofs: Vec<Proof>,
    /// Statements read next to its proofs that no signature covers
    /// (in a proof's graph, about another node than the proof), as N-Quads.
    pub unsigned: Vec<String>,
}

impl SignedRecord {
    /// The record as quads: content in the graph named by its IRI, proof in its own graph.
    pub fn to_quads(&self) -> Vec<Quad> {
        let graph = GraphName::NamedNode(self.record.iri.clone());
        self.quads_in(graph)
    }

    /// The record as a standalone secured document: content in the default graph.
    pub fn to_document_quads(&self) -> Vec<Quad> {
        self.quads_in(GraphName::DefaultGraph)
    }

    fn quads_in(&self, graph: GraphName) -> Vec<Quad> {
        let mut quads = self.record.quads_in(&graph);
        let proof_graph = BlankNode::default();
        let proof_node = NamedOrBlankNode::BlankNode(BlankNode::default());
        quads.push(Quad::new(
            self.record.iri.clone(),
            vocab::SEC_PROOF,
            proof_graph.clone(),
            graph,
        ));
        quads.extend(
            self.proof
                .to_quads(&proof_node, &GraphName::BlankNode(proof_graph)),
        );
        quads
    }

    /// The record as a compact JSON-LD secured document using the ccis and
    /// Data Integrity contexts; fragments are embedded where first referenced.
    pub fn to_json_ld(&self) -> Value {
        let mut by_subject: BTreeMap<String, Vec<&Triple>> = BTreeMap::new();
        for t in &self.record.triples {
            by_subject
                .entry(subject_key(&t.subject))
                .or_default()
                .push(t);
        }
        let root = self.record.iri.as_str().to_owned();
        let mut embedded = BTreeSet::from([root.clone()]);
        let mut node = node_object(&root, &by_subject, &mut embedded);
        let included = not_embedded(&by_subject, &mut embedded);
        if let Value::Object(map) = &mut node {
            if !included.is_empty() {
                map.insert("@included".into(), Value::Array(included));
            }
            let mut ordered = Map::new();
            ordered.insert(
                "@context".into(),
                json!([vocab::CONTEXT_URL, vocab::DATA_INTEGRITY_CONTEXT_URL]),
            );
            ordered.extend(std::mem::take(map));
            ordered.insert("proof".into(), Value::Object(proof_json(&self.proof)));
            *map = ordered;
        }
        node
    }
}

/// The node objects of the subjects that no other node embedded, each
/// embedding what it references that is not embedded yet.
fn not_embedded(
    by_subject: &BTreeMap<String, Vec<&Triple>>,
    embedded: &mut BTreeSet<String>,
) -> Vec<Value> {
    let rest: Vec<String> = by_subject
        .keys()
        .filter(|s| !embedded.contains(*s))
        .cloned()
        .collect();
    rest.into_iter()
        .map(|s| {
            embedded.insert(s.clone());
            node_object(&s, by_subject, embedded)
        })
        .collect()
}

/// The `proof` object of a JSON-LD secured document, in the Data Integrity context's terms.
fn proof_json(proof: &Proof) -> Map<String, Value> {
    let mut out = Map::new();
    for (p, o) in &proof.statements {
        let key = match p.as_str() {
            p if p == rdf::TYPE.as_str() => "type",
            p if p == vocab::SEC_CRYPTOSUITE.as_str() => "cryptosuite",
            p if p == vocab::DCT_CREATED.as_str() => "created",
            p if p == vocab::SEC_VERIFICATION_METHOD.as_str() => "verificationMethod",
            p if p == vocab::SEC_PROOF_PURPOSE.as_str() => "proofPurpose",
            p if p == vocab::SEC_PROOF_VALUE.as_str() => "proofValue",
            other => other,
        };
        let value = match o {
            Term::NamedNode(n) if n.as_ref() == vocab::SEC_DATA_INTEGRITY_PROOF => {
                json!("DataIntegrityProof")
            }
            Term::NamedNode(n) if n.as_ref() == vocab::SEC_ASSERTION_METHOD => {
                json!("assertionMethod")
            }
            Term::NamedNode(n) => json!(n.as_str()),
            Term::Literal(l) => json!(l.value()),
            other => json!(other.to_string()),
        };
        out.insert(key.to_owned(), value);
    }
    out
}

fn subject_key(s: &NamedOrBlankNode) -> String {
    match s {
        NamedOrBlankNode::NamedNode(n) => n.as_str().to_owned(),
        NamedOrBlankNode::BlankNode(b) => format!("_:{}", b.as_str()),
    }
}

/// The reverse of the context's term definitions: IRI → term.
fn term_for(iri: &str) -> Option<String> {
    static TERMS: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    let terms = TERMS.get_or_init(|| {
        let mut out = BTreeMap::new();
        let Ok(ctx) = serde_json::from_str::<Value>(vocab::CONTEXT_JSONLD) else {
            return out;
        };
        let Some(defs) = ctx.get("@context").and_then(Value::as_object) else {
            return out;
        };
        let prefixes: BTreeMap<&str, &str> = defs
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .filter(|(_, v)| v.ends_with('#') || v.ends_with('/'))
            .collect();
        for (term, def) in defs {
            let id = match def {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o.get("@id").and_then(Value::as_str).unwrap_or(""),
                _ => continue,
            };
            if id.starts_with('@') || prefixes.contains_key(term.as_str()) {
                continue;
            }
            let full = match id.split_once(':') {
                Some((p, local)) if prefixes.contains_key(p) => format!("{}{local}", prefixes[p]),
                _ => id.to_owned(),
            };
            out.insert(full, term.clone());
        }
        out
    });
    terms.get(iri).cloned()
}

/// The JSON-LD node object of `subject`, embedding the nodes it references
/// that are not embedded yet.
fn node_object(
    subject: &str,
    by_subject: &BTreeMap<String, Vec<&Triple>>,
    embedded: &mut BTreeSet<String>,
) -> Value {
    let mut map = Map::new();
    if !subject.starts_with("_:") {
        map.insert("id".into(), json!(subject));
    }
    let mut types = Vec::new();
    let mut props: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for t in by_subject.get(subject).into_iter().flatten() {
        if t.predicate.as_ref() == rdf::TYPE
            && let Term::NamedNode(c) = &t.object
        {
            types.push(json!(
                term_for(c.as_str()).unwrap_or_else(|| c.as_str().to_owned())
            ));
            continue;
        }
        let key = term_for(t.predicate.as_str()).unwrap_or_else(|| t.predicate.as_str().to_owned());
        let value = object_value(&t.object, by_subject, embedded);
        props.entry(key).or_default().push(value);
    }
    if !types.is_empty() {
        map.insert("type".into(), one_or_many(types));
    }
    for (k, vs) in props {
        map.insert(k, one_or_many(vs));
    }
    Value::Object(map)
}

/// The JSON-LD value of an object: a node embedded where first referenced,
/// a reference, or a value object.
fn object_value(
    object: &Term,
    by_subject: &BTreeMap<String, Vec<&Triple>>,
    embedded: &mut BTreeSet<String>,
) -> Value {
    match object {
        Term::NamedNode(n) => {
            let id = n.as_str().to_owned();
            if by_subject.contains_key(&id) && embedded.insert(id.clone()) {
                node_object(&id, by_subject, embedded)
            } else {
                json!({ "id": id })
            }
        }
        Term::BlankNode(b) => {
            let id = format!("_:{}", b.as_str());
            if embedded.insert(id.clone()) {
                node_object(&id, by_subject, embedded)
            } else {
                json!({ "id": id })
            }
        }
        Term::Literal(l) => match l.language() {
            Some(lang) => json!({ "@value": l.value(), "@language": lang }),
            None if l.datatype() == oxrdf::vocab::xsd::STRING => json!({ "@value": l.value() }),
            None => json!({ "@value": l.value(), "@type": l.datatype().as_str() }),
        },
        #[allow(unreachable_patterns)]
        other => json!(other.to_string()),
    }
}

/// One value as itself, several as an array.
fn one_or_many(mut values: Vec<Value>) -> Value {
    if values.len() == 1 {
        values.remove(0)
    } else {
        Value::Array(values)
    }
}

fn is_proof_link(q: &Quad) -> bool {
    q.predicate.as_ref() == vocab::SEC_PROOF
}

/// Finds the records of a dataset: each IRI-named graph that is not a proof
/// graph, and the default graph when it holds a record.
pub fn records_in(quads: &[Quad]) -> Vec<FoundRecord> {
    let proof_graphs: std::collections::HashSet<GraphName> = quads
        .iter()
        .filter(|q| is_proof_link(q))
        .filter_map(|q| match &q.object {
            Term::BlankNode(b) => Some(GraphName::BlankNode(b.clone())),
            Term::NamedNode(n) => Some(GraphName::NamedNode(n.clone())),
            _ => None,
        })
        .collect();
    let mut graphs: BTreeMap<String, (GraphName, Vec<&Quad>)> = BTreeMap::new();
    for q in quads {
        if proof_graphs.contains(&q.graph_name) {
            continue;
        }
        graphs
            .entry(q.graph_name.to_string())
            .or_insert_with(|| (q.graph_name.clone(), Vec::new()))
            .1
            .push(q);
    }
    let mut found = Vec::new();
    for (_, (graph, members)) in graphs {
        let in_graph = RecordGraph { quads, members };
        match &graph {
            GraphName::NamedNode(iri) => found.push(in_graph.named(iri)),
            // Default graph: one or more records, told apart by their IRIs.
            _ => found.extend(in_graph.by_record()),
        }
    }
    found
}

/// A graph of a dataset that may hold records, with the whole dataset,
/// where their proofs are.
struct RecordGraph<'q> {
    quads: &'q [Quad],
    members: Vec<&'q Quad>,
}

impl RecordGraph<'_> {
    /// The statements of the graph but its `sec:proof` links.
    fn content(&self) -> Vec<Triple> {
        self.members
            .iter()
            .filter(|q| !is_proof_link(q))
            .map(|q| Triple::from((*q).clone()))
            .collect()
    }

    /// The proofs linked from `iri`, and the statements read next to them
    /// that no signature covers.
    fn proofs_of(&self, iri: &NamedNode) -> (Vec<Proof>, Vec<String>) {
        self.members
            .iter()
            .filter(|q| is_proof_link(q) && q.subject == NamedOrBlankNode::NamedNode(iri.clone()))
            .filter_map(|link| proof_in(self.quads, &link.object))
            .fold(
                (Vec::new(), Vec::new()),
                |(mut proofs, mut unsigned), (p, u)| {
                    proofs.push(p);
                    unsigned.extend(u);
                    (proofs, unsigned)
                },
            )
    }

    /// A `sec:proof` link from anything but a record is covered by no signature.
    fn stray_links(&self, records: &[&NamedNode]) -> Vec<String> {
        self.members
            .iter()
            .filter(|q| {
                is_proof_link(q)
                    && !records
                        .iter()
                        .any(|r| q.subject == NamedOrBlankNode::NamedNode((*r).clone()))
            })
            .map(|q| q.to_string())
            .collect()
    }

    /// The record of a graph named by its IRI.
    fn named(&self, iri: &NamedNode) -> FoundRecord {
        let content = self.content();
        let (proofs, mut unsigned) = self.proofs_of(iri);
        unsigned.extend(self.stray_links(&[iri]));
        FoundRecord {
            record: Record::new(iri.clone(), content),
            proofs,
            unsigned,
        }
    }

    /// The records of a graph not named by a record IRI, told apart by
    /// their IRIs; none when they cannot be.
    fn by_record(&self) -> Vec<FoundRecord> {
        let Ok(groups) = record::group_by_record(self.content()) else {
            return Vec::new();
        };
        let iris: Vec<NamedNode> = groups.keys().map(NamedNode::new_unchecked).collect();
        let stray = self.stray_links(&iris.iter().collect::<Vec<_>>());
        groups
            .into_iter()
            .map(|(iri, triples)| {
                let iri = NamedNode::new_unchecked(iri);
                let (proofs, mut unsigned) = self.proofs_of(&iri);
                unsigned.extend(stray.iter().cloned());
                FoundRecord {
                    record: Record::new(iri, triples),
                    proofs,
                    unsigned,
                }
            })
            .collect()
    }
}

/// The proof in the graph that a `sec:proof` link names, and the statements
/// of that graph that are not about the proof node (no signature covers them).
fn proof_in(quads: &[Quad], link_object: &Term) -> Option<(Proof, Vec<String>)> {
    let proof_graph = match link_object {
        Term::BlankNode(b) => GraphName::BlankNode(b.clone()),
        Term::NamedNode(n) => GraphName::NamedNode(n.clone()),
        _ => return None,
    };
    let in_graph: Vec<&Quad> = quads
        .iter()
        .filter(|q| q.graph_name == proof_graph)
        .collect();
    let node = in_graph
        .iter()
        .find(|q| {
            q.predicate.as_ref() == rdf::TYPE
                && q.object == Term::from(vocab::SEC_DATA_INTEGRITY_PROOF)
        })
        .or(in_graph.first())
        .map(|q| q.subject.clone())?;
    let unsigned = in_graph
        .iter()
        .filter(|q| q.subject != node)
        .map(|q| q.to_string())
        .collect();
    Some((Proof::from_quads(&node, in_graph), unsigned))
}
