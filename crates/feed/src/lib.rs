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
#![deny(missing_docs)]

use ccis_integrity::signed::{self, FoundRecord};
use ccis_model::vocab;
use ccis_store::{FeedLogRead, FeedMember, StoreError};
use oxigraph::io::{RdfFormat, RdfParser, RdfSyntaxError};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use std::collections::{HashMap, HashSet};

/// What can go wrong writing the feed, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The store could not give the members of a page.
    #[error("feed page <{page}>: {cause}")]
    Store {
        /// The page being written.
        page: String,
        /// What the store said.
        cause: Box<StoreError>,
    },
    /// A version in the store's feed log does not parse as N-Quads.
    #[error(
        "feed page <{page}>: stored version <{member}> at position {position} is not valid N-Quads: {cause}"
    )]
    StoredVersion {
        /// The page being written.
        page: String,
        /// The member IRI.
        member: String,
        /// Its feed position.
        position: u64,
        /// What the parser said.
        cause: Box<RdfSyntaxError>,
    },
}

/// Why a member of a page cannot be read (see [`Unreadable`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemberProblem {
    /// The page does not say what record the member is a version of.
    #[error("no dct:isVersionOf")]
    NoVersionOf,
    /// The page has no graph named by the member IRI.
    #[error("no content graph")]
    NoContentGraph,
    /// The member's graph holds no record.
    #[error("no record in the member's graph")]
    NoRecord,
    /// The member's graph holds several records.
    #[error("{0} records in one member")]
    SeveralRecords(usize),
    /// The member's content is about another record than it says.
    #[error("content is about <{about}>, not <{record}>")]
    OtherRecord {
        /// The record the content is about.
        about: String,
        /// The record the member says it is a version of.
        record: String,
    },
}

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
) -> Result<Vec<Quad>, FeedError> {
    let mut quads = Vec::new();
    stream_description(base, &mut quads);
    page_description(base, index, full, &mut quads);
    let stream = stream_iri(base);
    for m in members {
        member_description(&stream, m, &mut quads);
        member_quads(m, &mut quads).map_err(|cause| FeedError::StoredVersion {
            page: page_iri(base, index).into_string(),
            member: m.member.as_str().to_owned(),
            position: m.position,
            cause: Box::new(cause),
        })?;
    }
    Ok(quads)
}

/// A page as a node serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedPage {
    /// Whether the page is full: then it links to the next one and never
    /// changes again (it may be cached for good).
    pub full: bool,
    /// Its document ([`page_document`]).
    pub quads: Vec<Quad>,
}

/// Page `index` of the feed of the node at `base`, read from its feed log
/// (any backend implementing [`FeedLogRead`]); `None` if the page is not
/// open yet. Where pages start is stored as members are appended, so a full
/// page is the same document every time.
pub fn stored_page(
    store: &(impl FeedLogRead + ?Sized),
    base: &str,
    index: u64,
) -> Result<Option<ServedPage>, FeedError> {
    let page = store.feed_page(index).map_err(|cause| FeedError::Store {
        page: page_iri(base, index).into_string(),
        cause: Box::new(cause),
    })?;
    let Some(page) = page else {
        return Ok(None);
    };
    let quads = page_document(base, index, page.full, &page.members)?;
    Ok(Some(ServedPage {
        full: page.full,
        quads,
    }))
}

/// The page as a `tree:Node` of the stream, linked to the next page when full.
fn page_description(base: &str, index: u64, full: bool, quads: &mut Vec<Quad>) {
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
        stream_iri(base),
        g.clone(),
    ));
    if full {
        let relation = BlankNode::default();
        quads.push(Quad::new(
            page,
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
            g,
        ));
    }
}

/// A member of the stream: what version of what record, and when.
fn member_description(stream: &NamedNode, m: &FeedMember, quads: &mut Vec<Quad>) {
    let g = GraphName::DefaultGraph;
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
        g,
    ));
}

/// A member's content moved into the graph named by the member IRI, with
/// fresh blank nodes so that members never share one.
fn member_quads(m: &FeedMember, out: &mut Vec<Quad>) -> Result<(), RdfSyntaxError> {
    let mut fresh: HashMap<String, BlankNode> = HashMap::new();
    let mut rename = |b: &BlankNode| fresh.entry(b.as_str().to_owned()).or_default().clone();
    // Stored versions were verified (or serialized) by this node: no need
    // to check every IRI again.
    let parser = RdfParser::from_format(RdfFormat::NQuads).lenient();
    for q in parser.for_slice(m.signed_nquads.as_bytes()) {
        let q = q?;
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
    pub problem: MemberProblem,
    /// The same, as text (what the refusal log says).
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

/// The quads of a page by graph.
type ByGraph<'q> = HashMap<&'q GraphName, Vec<&'q Quad>>;

/// SHA-256 (hex) of the sorted statements of a member's graph.
fn graph_digest(by_graph: &ByGraph<'_>, member: &NamedNode) -> String {
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
    let mut by_graph: ByGraph<'_> = HashMap::new();
    for q in quads {
        by_graph.entry(&q.graph_name).or_default().push(q);
    }
    let default: &[&Quad] = by_graph
        .get(&GraphName::DefaultGraph)
        .map_or(&[], Vec::as_slice);
    let mut page = ReadPage {
        next: next_pages(default),
        ..ReadPage::default()
    };
    let version_of = versions_of(default);
    let mut seen = HashSet::new();
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
        let read = match version_of.get(&NamedOrBlankNode::NamedNode(member.clone())) {
            Some(Term::NamedNode(record)) => read_member(&by_graph, member, record.clone()),
            _ => Err(MemberProblem::NoVersionOf),
        };
        match read {
            Ok(m) => {
                page.members.push(m);
                page.member_positions.push(position);
            }
            Err(problem) => page.unreadable.push(Unreadable {
                member: member.as_str().to_owned(),
                position,
                reason: problem.to_string(),
                problem,
                digest: graph_digest(&by_graph, member),
            }),
        }
    }
    page
}

/// The pages a page links to by its relations (`tree:relation` of the
/// default graph, then `tree:node`), each once, in document order.
fn next_pages(default: &[&Quad]) -> Vec<String> {
    let relation_nodes: HashSet<NamedOrBlankNode> = default
        .iter()
        .filter(|q| q.predicate.as_ref() == vocab::TREE_RELATION)
        .filter_map(|q| match &q.object {
            Term::BlankNode(b) => Some(NamedOrBlankNode::BlankNode(b.clone())),
            Term::NamedNode(n) => Some(NamedOrBlankNode::NamedNode(n.clone())),
            _ => None,
        })
        .collect();
    let mut linked = HashSet::new();
    let mut next = Vec::new();
    for q in default {
        if q.predicate.as_ref() == vocab::TREE_NODE
            && relation_nodes.contains(&q.subject)
            && let Term::NamedNode(n) = &q.object
            && linked.insert(n.as_str())
        {
            next.push(n.as_str().to_owned());
        }
    }
    next
}

/// What each member says it is a version of (the first statement counts).
fn versions_of<'q>(default: &[&'q Quad]) -> HashMap<&'q NamedOrBlankNode, &'q Term> {
    let mut version_of = HashMap::new();
    for q in default {
        if q.predicate.as_ref() == vocab::DCT_IS_VERSION_OF {
            version_of.entry(&q.subject).or_insert(&q.object);
        }
    }
    version_of
}

/// Reads one member: the one record of its graph with the proofs it links
/// to, which must be about `record`.
fn read_member(
    by_graph: &ByGraph<'_>,
    member: &NamedNode,
    record: NamedNode,
) -> Result<PageMember, MemberProblem> {
    let document = member_document(by_graph, member)?;
    let mut found = signed::records_in(&document);
    let found = match found.len() {
        1 => found.remove(0),
        0 => return Err(MemberProblem::NoRecord),
        n => return Err(MemberProblem::SeveralRecords(n)),
    };
    if found.record.iri != record {
        return Err(MemberProblem::OtherRecord {
            about: found.record.iri.as_str().to_owned(),
            record: record.as_str().to_owned(),
        });
    }
    let signed_nquads = signed_nquads_of(&found);
    Ok(PageMember {
        member: member.clone(),
        record,
        found,
        signed_nquads,
    })
}

/// The member's graph (moved to the default graph) and the proof graphs it
/// links to with `sec:proof`, each once, as one document.
fn member_document(by_graph: &ByGraph<'_>, member: &NamedNode) -> Result<Vec<Quad>, MemberProblem> {
    let graph = GraphName::NamedNode(member.clone());
    let in_member = by_graph
        .get(&graph)
        .filter(|q| !q.is_empty())
        .ok_or(MemberProblem::NoContentGraph)?;
    let mut document: Vec<Quad> = Vec::new();
    let mut linked = HashSet::new();
    for q in in_member {
        document.push(Quad::new(
            q.subject.clone(),
            q.predicate.clone(),
            q.object.clone(),
            GraphName::DefaultGraph,
        ));
        if q.predicate.as_ref() != vocab::SEC_PROOF {
            continue;
        }
        let proof_graph = match &q.object {
            Term::BlankNode(b) => GraphName::BlankNode(b.clone()),
            Term::NamedNode(n) => GraphName::NamedNode(n.clone()),
            _ => continue,
        };
        if linked.insert(proof_graph.clone())
            && let Some(proof) = by_graph.get(&proof_graph)
        {
            document.extend(proof.iter().map(|p| (*p).clone()));
        }
    }
    Ok(document)
}

/// What a relay stores and serves again: the record and its one proof as
/// read into `found`, never the page's own quads, so nothing the signature
/// does not cover can ride along (the verifier refuses a member that
/// carries any, see `FoundRecord::unsigned`). Empty without a single proof.
fn signed_nquads_of(found: &FoundRecord) -> String {
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
    nquads
}
