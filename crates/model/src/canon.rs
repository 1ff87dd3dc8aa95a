//! RDFC-1.0 canonical N-Quads, with the work bounded before anything is computed.
//!
//! A record without blank nodes needs no labelling: its canonical form is its
//! sorted, deduplicated canonical N-Quads lines. With blank nodes, the work of
//! RDFC-1.0 grows with the permutations of blank nodes that look alike
//! (same first-degree hash), so such input is measured first and refused when
//! it would be too costly (the "dataset poisoning" of the RDFC-1.0 spec).

use oxrdf::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    BlankNodeRef, Dataset, GraphName, GraphNameRef, LiteralRef, NamedOrBlankNodeRef, Quad, QuadRef,
    TermRef, Triple,
};
use sha2::{Digest, Sha256, Sha384};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

/// Bounds on canonicalization work for data from outside.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most blank nodes accepted.
    pub max_blank_nodes: usize,
    /// Most blank nodes that share a first-degree hash and neighbour one
    /// blank node: RDFC-1.0 tries every permutation of such a group.
    pub max_alike_neighbours: usize,
    /// Budget for the sum, over blank nodes, of the permutations they cause.
    pub max_permutations: u64,
}

impl Default for Limits {
    /// The limits for records received from outside (design.md: at most 16 blank nodes).
    fn default() -> Self {
        Self {
            max_blank_nodes: 16,
            max_alike_neighbours: 6,
            max_permutations: 20_000,
        }
    }
}

impl Limits {
    /// Generous limits for trusted test suites (still refuses poisoned graphs).
    pub fn test_suite() -> Self {
        Self {
            max_blank_nodes: 1_000,
            ..Self::default()
        }
    }
}

/// The hash function of RDFC-1.0 (SHA-256 unless a test says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256, the default and the one of `eddsa-rdfc-2022`.
    Sha256,
    /// SHA-384.
    Sha384,
}

/// Why a dataset is not canonicalized.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonError {
    /// More blank nodes than allowed.
    #[error("{found} blank nodes, more than the {limit} accepted")]
    TooManyBlankNodes {
        /// Blank nodes in the input.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Blank nodes so alike that canonicalization would take too long.
    #[error(
        "blank nodes too alike to canonicalize in bounded time ({detail}); refused as a possible poisoned dataset"
    )]
    TooComplex {
        /// What exceeded the budget.
        detail: String,
    },
}

/// A canonicalized dataset.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// Canonical N-Quads, each line ending with `\n`, sorted.
    pub nquads: String,
    /// Input blank node id → canonical id (`c14n0`…).
    pub blank_node_map: HashMap<String, String>,
}

/// Canonical N-Quads of the quads (RDFC-1.0, SHA-256), within `limits`.
pub fn canonical_nquads(quads: &[Quad], limits: &Limits) -> Result<String, CanonError> {
    Ok(canonicalize(quads, limits, HashAlgorithm::Sha256)?.nquads)
}

/// SHA-256 of the canonical N-Quads, hashed line by line without building the document.
pub fn canonical_sha256(quads: &[Quad], limits: &Limits) -> Result<[u8; 32], CanonError> {
    if quads.iter().any(|q| has_blank_node(q.as_ref())) {
        return Ok(Sha256::digest(canonical_nquads(quads, limits)?.as_bytes()).into());
    }
    Ok(ground_sha256(quads.iter().map(Quad::as_ref)))
}

/// SHA-256 of the canonical N-Quads of `triples` taken as a document in the
/// default graph (what a record's proof signs), without making quads of them.
pub fn document_sha256(triples: &[Triple], limits: &Limits) -> Result<[u8; 32], CanonError> {
    fn in_default(t: &Triple) -> QuadRef<'_> {
        t.as_ref().in_graph(GraphNameRef::DefaultGraph)
    }
    if triples.iter().any(|t| has_blank_node(in_default(t))) {
        let quads: Vec<Quad> = triples
            .iter()
            .map(|t| t.clone().in_graph(GraphName::DefaultGraph))
            .collect();
        return canonical_sha256(&quads, limits);
    }
    Ok(ground_sha256(triples.iter().map(in_default)))
}

/// SHA-256 of the sorted, deduplicated canonical lines of quads without
/// blank nodes. While each line sorts after the one before (a record's
/// triples come so: a record keeps them sorted), the lines are written one
/// after the other and hashed at once; at the first that does not, they are
/// all written again and sorted.
fn ground_sha256<'q>(quads: impl Iterator<Item = QuadRef<'q>> + Clone) -> [u8; 32] {
    let mut text = String::with_capacity(quads.size_hint().0 * 160);
    let mut previous = 0..0;
    for q in quads.clone() {
        let start = text.len();
        write_quad(&mut text, q);
        if text[start..] <= text[previous.clone()] {
            let mut lines = Lines::with_capacity(quads.size_hint().0);
            for q in quads {
                lines.push(q);
            }
            return lines.sha256();
        }
        previous = start..text.len();
    }
    Sha256::digest(text.as_bytes()).into()
}

fn has_blank_node(q: QuadRef<'_>) -> bool {
    matches!(q.subject, NamedOrBlankNodeRef::BlankNode(_))
        || matches!(q.object, TermRef::BlankNode(_))
        || matches!(q.graph_name, GraphNameRef::BlankNode(_))
}

/// Canonical N-Quads lines written into one buffer, then sorted and
/// deduplicated as RDFC-1.0 wants them, without a string per line.
pub struct Lines {
    text: String,
    /// Start and end of each line in `text`.
    spans: Vec<(usize, usize)>,
}

impl Lines {
    /// Room for about `n` lines.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            text: String::with_capacity(n * 120),
            spans: Vec::with_capacity(n),
        }
    }

    /// Adds the line of a quad (its blank nodes written with their own labels).
    pub fn push(&mut self, q: QuadRef<'_>) {
        let start = self.text.len();
        write_quad(&mut self.text, q);
        self.spans.push((start, self.text.len()));
    }

    /// The lines, sorted and deduplicated.
    fn sorted(&mut self) -> impl Iterator<Item = &str> {
        let text = &self.text;
        self.spans
            .sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        self.spans.dedup_by(|a, b| text[a.0..a.1] == text[b.0..b.1]);
        self.spans.iter().map(|&(from, to)| &text[from..to])
    }

    /// SHA-256 of the sorted, deduplicated lines.
    pub fn sha256(mut self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for line in self.sorted() {
            hasher.update(line.as_bytes());
        }
        hasher.finalize().into()
    }

    /// The sorted, deduplicated lines as one document.
    pub fn concat(mut self) -> String {
        let mut out = String::with_capacity(self.text.len());
        for line in self.sorted() {
            out.push_str(line);
        }
        out
    }
}

/// Writes one canonical N-Quads line of a quad, exactly as oxrdf's `Display`
/// of the quad followed by ` .\n`, with the common terms written directly.
pub fn write_quad(out: &mut String, q: QuadRef<'_>) {
    match q.subject {
        NamedOrBlankNodeRef::NamedNode(n) => write_iri(out, n.as_str()),
        NamedOrBlankNodeRef::BlankNode(b) => write_blank_node(out, b),
        #[allow(unreachable_patterns)]
        other => {
            let _ = write!(out, "{other}");
        }
    }
    out.push(' ');
    write_iri(out, q.predicate.as_str());
    out.push(' ');
    match q.object {
        TermRef::NamedNode(n) => write_iri(out, n.as_str()),
        TermRef::BlankNode(b) => write_blank_node(out, b),
        TermRef::Literal(l) => write_literal(out, l),
        #[allow(unreachable_patterns)]
        other => {
            let _ = write!(out, "{other}");
        }
    }
    match q.graph_name {
        GraphNameRef::DefaultGraph => {}
        GraphNameRef::NamedNode(g) => {
            out.push(' ');
            write_iri(out, g.as_str());
        }
        GraphNameRef::BlankNode(b) => {
            out.push(' ');
            write_blank_node(out, b);
        }
    }
    out.push_str(" .\n");
}

fn write_iri(out: &mut String, iri: &str) {
    out.push('<');
    out.push_str(iri);
    out.push('>');
}

fn write_blank_node(out: &mut String, b: BlankNodeRef<'_>) {
    out.push_str("_:");
    out.push_str(b.as_str());
}

/// A literal as N-Quads: directly when its value needs no escaping and it is
/// a simple, language-tagged or typed literal; otherwise by oxrdf's `Display`.
fn write_literal(out: &mut String, l: LiteralRef<'_>) {
    let value = l.value();
    let datatype = l.datatype();
    let plain_form = match l.language() {
        None => true,
        Some(_) => datatype == rdf::LANG_STRING,
    };
    if !plain_form || needs_escape(value) {
        let _ = write!(out, "{l}");
        return;
    }
    out.push('"');
    out.push_str(value);
    out.push('"');
    if let Some(language) = l.language() {
        out.push('@');
        out.push_str(language);
    } else if datatype != xsd::STRING {
        out.push_str("^^");
        write_iri(out, datatype.as_str());
    }
}

/// Whether N-Quads escapes a character of the value (oxrdf's `print_quoted_str`).
fn needs_escape(value: &str) -> bool {
    // Controls, `"`, `\`, DEL, and 0xEF, the first byte of U+FFFE and U+FFFF
    // (and of other characters, which the second look tells apart).
    let special = |b: &u8| *b < 0x20 || matches!(*b, b'"' | b'\\' | 0x7F | 0xEF);
    let bytes = value.as_bytes();
    let chunks = bytes.chunks_exact(32);
    let remainder = chunks.remainder();
    // Whole chunks without an early exit, which the compiler vectorizes.
    let any_special = chunks
        .into_iter()
        .any(|chunk| chunk.iter().fold(false, |seen, b| seen | special(b)))
        || remainder.iter().any(special);
    any_special
        && (bytes
            .iter()
            .any(|&b| b < 0x20 || matches!(b, b'"' | b'\\' | 0x7F))
            || value.contains(['\u{FFFE}', '\u{FFFF}']))
}

/// Canonicalizes the quads with RDFC-1.0 within `limits`.
pub fn canonicalize(
    quads: &[Quad],
    limits: &Limits,
    hash: HashAlgorithm,
) -> Result<Canonical, CanonError> {
    let blank_nodes = blank_nodes(quads);
    if blank_nodes.is_empty() {
        let mut lines = Lines::with_capacity(quads.len());
        for q in quads {
            lines.push(q.as_ref());
        }
        return Ok(Canonical {
            nquads: lines.concat(),
            blank_node_map: HashMap::new(),
        });
    }
    if blank_nodes.len() > limits.max_blank_nodes {
        return Err(CanonError::TooManyBlankNodes {
            found: blank_nodes.len(),
            limit: limits.max_blank_nodes,
        });
    }
    check_work(quads, &blank_nodes, limits, hash)?;
    let dataset: Dataset = quads.iter().collect();
    let algorithm = CanonicalizationAlgorithm::Rdfc10 {
        hash_algorithm: match hash {
            HashAlgorithm::Sha256 => CanonicalizationHashAlgorithm::Sha256,
            HashAlgorithm::Sha384 => CanonicalizationHashAlgorithm::Sha384,
        },
    };
    let mapping = dataset.canonicalize_blank_nodes(algorithm);
    let blank_node_map = mapping
        .iter()
        .map(|(from, to)| (from.as_str().to_owned(), to.as_str().to_owned()))
        .collect();
    fn relabel<'a>(
        mapping: &'a HashMap<BlankNodeRef<'a>, oxrdf::BlankNode>,
        b: BlankNodeRef<'a>,
    ) -> BlankNodeRef<'a> {
        mapping.get(&b).map_or(b, |c| c.as_ref())
    }
    let lines: BTreeSet<String> = dataset
        .iter()
        .map(|q| {
            let subject = match q.subject {
                NamedOrBlankNodeRef::BlankNode(b) => relabel(&mapping, b).into(),
                s => s,
            };
            let object = match q.object {
                TermRef::BlankNode(b) => relabel(&mapping, b).into(),
                o => o,
            };
            let graph_name = match q.graph_name {
                GraphNameRef::BlankNode(b) => relabel(&mapping, b).into(),
                g => g,
            };
            format!(
                "{} .\n",
                QuadRef::new(subject, q.predicate, object, graph_name)
            )
        })
        .collect();
    Ok(Canonical {
        nquads: lines.into_iter().collect(),
        blank_node_map,
    })
}

/// The distinct blank nodes of the quads.
fn blank_nodes(quads: &[Quad]) -> HashSet<BlankNodeRef<'_>> {
    let mut found = HashSet::new();
    for q in quads {
        if let NamedOrBlankNodeRef::BlankNode(b) = q.subject.as_ref() {
            found.insert(b);
        }
        if let TermRef::BlankNode(b) = q.object.as_ref() {
            found.insert(b);
        }
        if let GraphNameRef::BlankNode(b) = q.graph_name.as_ref() {
            found.insert(b);
        }
    }
    found
}

/// Estimates the permutations RDFC-1.0 would try and refuses input over budget.
///
/// For each blank node whose first-degree hash is shared (the only ones that
/// reach the N-degree step), its neighbouring blank nodes are grouped by
/// first-degree hash; every group of size k costs k! permutations.
fn check_work(
    quads: &[Quad],
    blank_nodes: &HashSet<BlankNodeRef<'_>>,
    limits: &Limits,
    hash: HashAlgorithm,
) -> Result<(), CanonError> {
    let mut quads_of: HashMap<BlankNodeRef<'_>, Vec<&Quad>> = HashMap::new();
    let mut neighbours: HashMap<BlankNodeRef<'_>, HashSet<BlankNodeRef<'_>>> = HashMap::new();
    for q in quads {
        let in_quad: Vec<BlankNodeRef<'_>> = quad_blank_nodes(q).collect();
        for &b in &in_quad {
            let list = quads_of.entry(b).or_default();
            if !list.iter().any(|seen| std::ptr::eq(*seen, q)) {
                list.push(q);
            }
            for &other in &in_quad {
                if other != b {
                    neighbours.entry(b).or_default().insert(other);
                }
            }
        }
    }
    let first_degree: HashMap<BlankNodeRef<'_>, String> = blank_nodes
        .iter()
        .map(|&b| (b, first_degree_hash(b, &quads_of[&b], hash)))
        .collect();
    let mut class_size: HashMap<&str, usize> = HashMap::new();
    for h in first_degree.values() {
        *class_size.entry(h.as_str()).or_default() += 1;
    }
    let mut permutations: u64 = 0;
    for (b, h) in &first_degree {
        if class_size[h.as_str()] < 2 {
            continue;
        }
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for n in neighbours.get(b).into_iter().flatten() {
            *groups.entry(first_degree[n].as_str()).or_default() += 1;
        }
        let largest = groups.values().copied().max().unwrap_or(0);
        if largest > limits.max_alike_neighbours {
            return Err(CanonError::TooComplex {
                detail: format!(
                    "a blank node has {largest} alike neighbours, more than {}",
                    limits.max_alike_neighbours
                ),
            });
        }
        let cost: u64 = groups.values().map(|&k| factorial(k)).sum();
        permutations = permutations.saturating_add(cost.max(1));
    }
    if permutations > limits.max_permutations {
        return Err(CanonError::TooComplex {
            detail: format!(
                "about {permutations} permutations, more than {}",
                limits.max_permutations
            ),
        });
    }
    Ok(())
}

fn quad_blank_nodes(q: &Quad) -> impl Iterator<Item = BlankNodeRef<'_>> {
    let s = match q.subject.as_ref() {
        NamedOrBlankNodeRef::BlankNode(b) => Some(b),
        _ => None,
    };
    let o = match q.object.as_ref() {
        TermRef::BlankNode(b) => Some(b),
        _ => None,
    };
    let g = match q.graph_name.as_ref() {
        GraphNameRef::BlankNode(b) => Some(b),
        _ => None,
    };
    s.into_iter().chain(o).chain(g)
}

/// RDFC-1.0 "Hash First Degree Quads" (section 4.6).
fn first_degree_hash(node: BlankNodeRef<'_>, quads: &[&Quad], hash: HashAlgorithm) -> String {
    let label = |b: BlankNodeRef<'_>| if b == node { "_:a" } else { "_:z" };
    let mut lines: Vec<String> = quads
        .iter()
        .map(|q| {
            let s = match q.subject.as_ref() {
                NamedOrBlankNodeRef::BlankNode(b) => label(b).to_owned(),
                other => other.to_string(),
            };
            let o = match q.object.as_ref() {
                TermRef::BlankNode(b) => label(b).to_owned(),
                other => other.to_string(),
            };
            match q.graph_name.as_ref() {
                GraphNameRef::DefaultGraph => format!("{s} {} {o} .\n", q.predicate),
                GraphNameRef::BlankNode(b) => format!("{s} {} {o} {} .\n", q.predicate, label(b)),
                GraphNameRef::NamedNode(g) => format!("{s} {} {o} {g} .\n", q.predicate),
            }
        })
        .collect();
    lines.sort();
    let joined = lines.concat();
    match hash {
        HashAlgorithm::Sha256 => hex::encode(Sha256::digest(joined.as_bytes())),
        HashAlgorithm::Sha384 => hex::encode(Sha384::digest(joined.as_bytes())),
    }
}

fn factorial(k: usize) -> u64 {
    (1..=k as u64).fold(1u64, |acc, x| acc.saturating_mul(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxrdf::{BlankNode, GraphName, Literal, NamedNode, Term};

    fn iri(s: &str) -> NamedNode {
        NamedNode::new_unchecked(s)
    }

    #[test]
    fn ground_data_is_sorted_and_deduplicated() {
        let q1 = Quad::new(
            iri("http://ex/b"),
            iri("http://ex/p"),
            Literal::new_language_tagged_literal_unchecked("x", "en"),
            GraphName::DefaultGraph,
        );
        let q2 = Quad::new(
            iri("http://ex/a"),
            iri("http://ex/p"),
            iri("http://ex/o"),
            GraphName::DefaultGraph,
        );
        let out = canonical_nquads(&[q1.clone(), q2, q1], &Limits::default()).unwrap();
        assert_eq!(
            out,
            "<http://ex/a> <http://ex/p> <http://ex/o> .\n<http://ex/b> <http://ex/p> \"x\"@en .\n"
        );
    }

    /// Literals of every form, with and without characters N-Quads escapes,
    /// some long enough for the chunked scan.
    fn literals() -> Vec<Literal> {
        let long = "a fairly long description of a tool, ".repeat(3);
        let values = [
            String::new(),
            "plain".to_owned(),
            "quote \" and backslash \\".to_owned(),
            "line\nbreak, tab\t, return\r, \u{8}\u{C}".to_owned(),
            "control \u{1} and delete \u{7F}".to_owned(),
            "non-characters \u{FFFE} \u{FFFF}".to_owned(),
            "near them \u{FFFD} \u{FF21} é ï 漢字".to_owned(),
            long.clone(),
            format!("{long}\u{1F}"),
            format!("{long}\u{FFFF}{long}"),
            format!("{long}\"{long}"),
        ];
        let mut out = Vec::new();
        for v in values {
            out.push(Literal::new_simple_literal(&v));
            out.push(Literal::new_language_tagged_literal_unchecked(&v, "fr-be"));
            out.push(Literal::new_typed_literal(
                &v,
                iri("http://www.w3.org/2001/XMLSchema#dateTime"),
            ));
        }
        out
    }

    #[test]
    fn lines_are_written_as_oxrdf_displays_them() {
        let graphs = [
            GraphName::DefaultGraph,
            GraphName::NamedNode(iri("http://ex/g")),
            GraphName::BlankNode(BlankNode::new_unchecked("g1")),
        ];
        let mut objects: Vec<Term> = literals().into_iter().map(Term::from).collect();
        objects.push(iri("http://ex/o").into());
        objects.push(BlankNode::new_unchecked("b0").into());
        for graph in &graphs {
            for object in &objects {
                let q = Quad::new(
                    iri("http://ex/s"),
                    iri("http://ex/p"),
                    object.clone(),
                    graph.clone(),
                );
                let mut line = String::new();
                write_quad(&mut line, q.as_ref());
                assert_eq!(line, format!("{q} .\n"));
            }
        }
    }

    #[test]
    fn hashes_do_not_depend_on_the_order_of_the_quads() {
        let mut quads: Vec<Quad> = literals()
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                Quad::new(
                    iri(&format!("http://ex/s{}", i % 4)),
                    iri("http://ex/p"),
                    l,
                    GraphName::DefaultGraph,
                )
            })
            .collect();
        let limits = Limits::default();
        let expected: [u8; 32] =
            Sha256::digest(canonical_nquads(&quads, &limits).unwrap().as_bytes()).into();
        // In canonical order (hashed as they come), reversed, and with a duplicate.
        quads.sort_by_cached_key(|q| format!("{q} .\n"));
        assert_eq!(canonical_sha256(&quads, &limits).unwrap(), expected);
        quads.reverse();
        assert_eq!(canonical_sha256(&quads, &limits).unwrap(), expected);
        quads.push(quads[3].clone());
        assert_eq!(canonical_sha256(&quads, &limits).unwrap(), expected);
        let triples: Vec<Triple> = quads.iter().map(|q| Triple::from(q.clone())).collect();
        assert_eq!(document_sha256(&triples, &limits).unwrap(), expected);
    }

    #[test]
    fn document_hash_with_blank_nodes_is_the_canonical_one() {
        let triples = vec![
            Triple::new(iri("http://ex/r"), iri("http://ex/p"), BlankNode::default()),
            Triple::new(
                iri("http://ex/r"),
                iri("http://ex/q"),
                Literal::new_simple_literal("x"),
            ),
        ];
        let quads: Vec<Quad> = triples
            .iter()
            .map(|t| t.clone().in_graph(GraphName::DefaultGraph))
            .collect();
        let limits = Limits::default();
        let canonical = canonical_nquads(&quads, &limits).unwrap();
        assert!(canonical.contains("_:c14n0"), "{canonical}");
        let expected: [u8; 32] = Sha256::digest(canonical.as_bytes()).into();
        assert_eq!(document_sha256(&triples, &limits).unwrap(), expected);
        assert_eq!(canonical_sha256(&quads, &limits).unwrap(), expected);
    }

    #[test]
    fn blank_node_clique_is_refused_quickly() {
        let nodes: Vec<BlankNode> = (0..10).map(|_| BlankNode::default()).collect();
        let p = iri("http://ex/p");
        let mut quads = Vec::new();
        for a in &nodes {
            for b in &nodes {
                if a != b {
                    quads.push(Quad::new(
                        a.clone(),
                        p.clone(),
                        b.clone(),
                        GraphName::DefaultGraph,
                    ));
                }
            }
        }
        let err = canonical_nquads(&quads, &Limits::default()).unwrap_err();
        assert!(matches!(err, CanonError::TooComplex { .. }), "{err}");
    }

    #[test]
    fn too_many_blank_nodes_are_refused() {
        let p = iri("http://ex/p");
        let quads: Vec<Quad> = (0..17)
            .map(|i| {
                Quad::new(
                    BlankNode::default(),
                    p.clone(),
                    Literal::from(i),
                    GraphName::DefaultGraph,
                )
            })
            .collect();
        assert_eq!(
            canonical_nquads(&quads, &Limits::default()),
            Err(CanonError::TooManyBlankNodes {
                found: 17,
                limit: 16
            })
        );
    }
}
