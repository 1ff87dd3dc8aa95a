//! The change feed as a Linked Data Event Stream (LDES, with TREE pagination):
//! the documents a node serves at `/feed` and `/feed/{page}`, and how a
//! harvester reads them back.
//!
//! ```text
//! <{base}/feed> a ldes:EventStream ; ldes:timestampPath dct:modified ;
//!     ldes:versionOfPath dct:isVersionOf ; tree:shape <{base}/vocab/shapes.ttl> ;
//!     tree:view <{base}/feed/0> ; tree:member <R/versions/3> .
//! <{base}/feed/0> a tree:Node ; dct:isPartOf <{base}/feed> ;
//!     tree:relation [ a tree:Relation ; tree:node <{base}/feed/1> ] .
//! <R/versions/3> dct:isVersionOf <R> ; dct:modified "…" ; ccis:version 3 .
//! GRAPH <R/versions/3> { …the signed content… <R> sec:proof _:g }
//! GRAPH _:g { …the Data Integrity proof… }
//! ```
//!
//! Pages hold at most `page_size` members in publishing order, and are cut
//! by bytes too (the store decides the cuts as members are appended). A
//! full page links to the next one and never changes; the last page grows
//! until full.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/07-federation.md")]

use ccis_integrity::signed::{self, FoundRecord};
use ccis_model::vocab;
use ccis_store::FeedMember;
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use std::collections::HashMap;

/// The IRI of page `index` of a node's feed.
pub fn page_iri(base: &str, index: u64) -> NamedNode {
    NamedNode::new_unchecked(format!("{base}/feed/{index}"))
}

/// The IRI of a node's event stream.
pub fn stream_iri(base: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{base}/feed"))
}

fn stream_description(base: &str, quads: &mut Vec<Quad>) {
    let stream = stream_iri(base);
    let g = GraphName::DefaultGraph;
    let mut add = |p: oxrdf::NamedNodeRef<'_>, o: Term| {
        quads.push(Quad::new(stream.clone(), p, o, g.clone()));
    };
    add(rdf::TYPE, vocab::LDES_EVENT_STREAM.into());
    add(vocab::LDES_TIMESTAMP_PATH, vocab::DCT_MODIFIED.into());
    add(vocab::LDES_VERSION_OF_PATH, vocab::DCT_IS_VERSION_OF.into());
    add(
        vocab::TREE_SHAPE,
        NamedNode::new_unchecked(format!("{base}/vocab/shapes.ttl")).into(),
    );
    add(vocab::TREE_VIEW, page_iri(base, 0).into());
}

/// The document at `/feed`: the event stream and where its view starts.
pub fn stream_document(base: &str) -> Vec<Quad> {
    let mut quads = Vec::new();
    stream_description(base, &mut quads);
    quads
}

/// The document of one page: the stream, the page with its relation to the
/// next page (when `full`), and every member with its content and proof.
pub fn page_document(
    base: &str,
    index: u64,
    full: bool,
    members: &[FeedMember],
) -> anyhow::Result<Vec<Quad>> {
    let mut quads = Vec::new();
    stream_description(base, &mut quads);
    let stream = stream_iri(base);
    let page = page_iri(base, index);
    let g = GraphName::DefaultGraph;
    quads.push(Quad::new(
        page.clone(),
        rdf::TYPE,
        vocab::TREE_NODE_CLASS,
        g.clone(),
    ));
    quads.push(Quad::new(
        page.clone(),
        vocab::DCT_IS_PART_OF,
        stream.clone(),
        g.clone(),
    ));
    if full {
        let relation = BlankNode::default();
        quads.push(Quad::new(
            page.clone(),
            vocab::TREE_RELATION,
            relation.clone(),
            g.clone(),
        ));
        quads.push(Quad::new(
            relation.clone(),
            rdf::TYPE,
            vocab::TREE_RELATION_CLASS,
            g.clone(),
        ));
        quads.push(Quad::new(
            relation,
            vocab::TREE_NODE,
            page_iri(base, index + 1),
            g.clone(),
        ));
    }
    for m in members {
        quads.push(Quad::new(
            stream.clone(),
            vocab::TREE_MEMBER,
            m.member.clone(),
            g.clone(),
        ));
        quads.push(Quad::new(
            m.member.clone(),
            vocab::DCT_IS_VERSION_OF,
            m.record.clone(),
            g.clone(),
        ));
        quads.push(Quad::new(
            m.member.clone(),
            vocab::DCT_MODIFIED,
            Literal::new_typed_literal(&m.modified, xsd::DATE_TIME),
            g.clone(),
        ));
        quads.push(Quad::new(
            m.member.clone(),
            vocab::VERSION,
            Literal::new_typed_literal(m.version.to_string(), xsd::INTEGER),
            g.clone(),
        ));
        member_quads(m, &mut quads)?;
    }
    Ok(quads)
}

/// A member's content moved into the graph named by the member IRI, with
/// fresh blank nodes so that members never share one.
fn member_quads(m: &FeedMember, out: &mut Vec<Quad>) -> anyhow::Result<()> {
    let mut fresh: HashMap<String, BlankNode> = HashMap::new();
    let mut rename = |b: &BlankNode| fresh.entry(b.as_str().to_owned()).or_default().clone();
    // Stored versions were verified (or serialized) by this node: no need
    // to check every IRI again.
    let parser = RdfParser::from_format(RdfFormat::NQuads).lenient();
    for q in parser.for_slice(m.signed_nquads.as_bytes()) {
        let q = q.map_err(|e| {
            anyhow::anyhow!(
                "stored version <{}> is not valid N-Quads: {e}",
                m.member.as_str()
            )
        })?;
        let subject = match q.subject {
            NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(rename(&b)),
            other => other,
        };
        let object = match q.object {
            Term::BlankNode(b) => Term::BlankNode(rename(&b)),
            other => other,
        };
        let graph = match q.graph_name {
            GraphName::DefaultGraph => GraphName::NamedNode(m.member.clone()),
            GraphName::BlankNode(b) => GraphName::BlankNode(rename(&b)),
            other => other,
        };
        out.push(Quad::new(subject, q.predicate, object, graph));
    }
    Ok(())
}

/// One member read from a page.
#[derive(Debug, Clone)]
pub struct PageMember {
    /// The member IRI.
    pub member: NamedNode,
    /// The record it says it is a version of.
    pub record: NamedNode,
    /// The version's content and proof, ready to verify.
    pub found: FoundRecord,
    /// The version with its proof as N-Quads (content in the default graph),
    /// exactly the record and the one proof read (empty when it has no single
    /// proof): what a relay stores and republishes once it is verified.
    pub signed_nquads: String,
}

/// A member of a page that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The member IRI.
    pub member: String,
    /// Its place among the page's members, from 1.
    pub position: usize,
    /// Why it could not be read.
    pub reason: String,
    /// SHA-256 (hex) of the statements of its graph, sorted: tells one
    /// content from another when there is no proof to read.
    pub digest: String,
}

/// What a harvester reads from a page.
#[derive(Debug, Clone, Default)]
pub struct ReadPage {
    /// Members in document order.
    pub members: Vec<PageMember>,
    /// The place of each of `members` among the page's members, from 1.
    pub member_positions: Vec<usize>,
    /// Members that could not be read, with why.
    pub unreadable: Vec<Unreadable>,
    /// Pages this one links to (`tree:relation` / `tree:node`), each once.
    pub next: Vec<String>,
}

/// How many members and relations a page's quads declare (upper bounds,
/// counted before anything else is read).
pub fn count_page(quads: &[Quad]) -> (usize, usize) {
    let (mut members, mut relations) = (0, 0);
    for q in quads {
        if q.graph_name != GraphName::DefaultGraph {
            continue;
        }
        if q.predicate.as_ref() == vocab::TREE_MEMBER {
            members += 1;
        } else if q.predicate.as_ref() == vocab::TREE_RELATION {
            relations += 1;
        }
    }
    (members, relations)
}

/// SHA-256 (hex) of the sorted statements of a member's graph.
fn graph_digest(by_graph: &HashMap<&GraphName, Vec<&Quad>>, member: &NamedNode) -> String {
    use sha2::Digest;
    let graph = GraphName::NamedNode(member.clone());
    let mut lines: Vec<String> = by_graph
        .get(&graph)
        .map(|qs| qs.iter().map(|q| q.to_string()).collect())
        .unwrap_or_default();
    lines.sort();
    let mut h = sha2::Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Reads a page: its members (content graph named by the member IRI) and its
/// relations. Linear in the size of the page, whatever it holds.
pub fn read_page(quads: &[Quad]) -> ReadPage {
    let mut page = ReadPage::default();
    let mut by_graph: HashMap<&GraphName, Vec<&Quad>> = HashMap::new();
    for q in quads {
        by_graph.entry(&q.graph_name).or_default().push(q);
    }
    let default: &[&Quad] = by_graph
        .get(&GraphName::DefaultGraph)
        .map_or(&[], Vec::as_slice);
    let relation_nodes: std::collections::HashSet<NamedOrBlankNode> = default
        .iter()
        .filter(|q| q.predicate.as_ref() == vocab::TREE_RELATION)
        .filter_map(|q| match &q.object {
            Term::BlankNode(b) => Some(NamedOrBlankNode::BlankNode(b.clone())),
            Term::NamedNode(n) => Some(NamedOrBlankNode::NamedNode(n.clone())),
            _ => None,
        })
        .collect();
    let mut version_of: HashMap<&NamedOrBlankNode, &Term> = HashMap::new();
    let mut linked = std::collections::HashSet::new();
    for q in default {
        if q.predicate.as_ref() == vocab::TREE_NODE
            && relation_nodes.contains(&q.subject)
            && let Term::NamedNode(n) = &q.object
            && linked.insert(n.as_str())
        {
            page.next.push(n.as_str().to_owned());
        }
        if q.predicate.as_ref() == vocab::DCT_IS_VERSION_OF {
            version_of.entry(&q.subject).or_insert(&q.object);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for q in default {
        if q.predicate.as_ref() != vocab::TREE_MEMBER {
            continue;
        }
        let Term::NamedNode(member) = &q.object else {
            continue;
        };
        if !seen.insert(member.clone()) {
            continue;
        }
        let position = seen.len();
        let unreadable = |reason: String| Unreadable {
            member: member.as_str().to_owned(),
            position,
            reason,
            digest: graph_digest(&by_graph, member),
        };
        let record = match version_of.get(&NamedOrBlankNode::NamedNode(member.clone())) {
            Some(Term::NamedNode(n)) => n.clone(),
            _ => {
                page.unreadable
                    .push(unreadable("no dct:isVersionOf".into()));
                continue;
            }
        };
        match read_member(&by_graph, member, record) {
            Ok(m) => {
                page.members.push(m);
                page.member_positions.push(position);
            }
            Err(why) => page.unreadable.push(unreadable(why)),
        }
    }
    page
}

fn read_member(
    by_graph: &HashMap<&GraphName, Vec<&Quad>>,
    member: &NamedNode,
    record: NamedNode,
) -> Result<PageMember, String> {
    let graph = GraphName::NamedNode(member.clone());
    let in_member = by_graph
        .get(&graph)
        .filter(|q| !q.is_empty())
        .ok_or("no content graph")?;
    // The member's graph and the proof graphs it links to, as a document.
    let mut document: Vec<Quad> = Vec::new();
    let mut linked = std::collections::HashSet::new();
    for q in in_member {
        document.push(Quad::new(
            q.subject.clone(),
            q.predicate.clone(),
            q.object.clone(),
            GraphName::DefaultGraph,
        ));
        if q.predicate.as_ref() == vocab::SEC_PROOF {
            let proof_graph = match &q.object {
                Term::BlankNode(b) => GraphName::BlankNode(b.clone()),
                Term::NamedNode(n) => GraphName::NamedNode(n.clone()),
                _ => continue,
            };
            if !linked.insert(proof_graph.clone()) {
                continue;
            }
            if let Some(proof) = by_graph.get(&proof_graph) {
                document.extend(proof.iter().map(|p| (*p).clone()));
            }
        }
    }
    let mut found = signed::records_in(&document);
    let found = match found.len() {
        1 => found.remove(0),
        0 => return Err("no record in the member's graph".into()),
        n => return Err(format!("{n} records in one member")),
    };
    if found.record.iri != record {
        return Err(format!(
            "content is about <{}>, not <{}>",
            found.record.iri.as_str(),
            record.as_str()
        ));
    }
    // What a relay stores and serves again is the record and its proof as
    // read into `found`, never the page's own quads: nothing the signature
    // does not cover can ride along (the verifier refuses a member that
    // carries any, see `FoundRecord::unsigned`).
    let mut nquads = String::new();
    if let [proof] = found.proofs.as_slice() {
        let signed = signed::SignedRecord {
            record: found.record.clone(),
            proof: proof.clone(),
        };
        for q in signed.to_document_quads() {
            nquads.push_str(&q.to_string());
            nquads.push_str(" .\n");
        }
    }
    Ok(PageMember {
        member: member.clone(),
        record,
        found,
        signed_nquads: nquads,
    })
}
