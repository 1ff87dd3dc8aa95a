//! RDFC-1.0 canonical N-Quads, with the work bounded before anything is computed.
//!
//! A record without blank nodes needs no labelling: its canonical form is its
//! sorted, deduplicated canonical N-Quads lines. With blank nodes, the work of
//! RDFC-1.0 grows with the permutations of blank nodes that look alike
//! (same first-degree hash), so such input is measured first and refused when
//! it would be too costly (the "dataset poisoning" of the RDFC-1.0 spec).

use oxrdf::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use oxrdf::{
    BlankNodeRef, Dataset, GraphName, GraphNameRef, NamedOrBlankNode, NamedOrBlankNodeRef, Quad,
    QuadRef, Term, TermRef,
};
use sha2::{Digest, Sha256, Sha384};
use std::collections::{BTreeSet, HashMap, HashSet};

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
    let mut hasher = Sha256::new();
    if blank_nodes(quads).is_empty() {
        for line in ground_lines(quads) {
            hasher.update(line.as_bytes());
        }
    } else {
        hasher.update(canonical_nquads(quads, limits)?.as_bytes());
    }
    Ok(hasher.finalize().into())
}

/// The sorted, deduplicated canonical lines of quads without blank nodes.
fn ground_lines(quads: &[Quad]) -> Vec<String> {
    let mut lines: Vec<String> = quads.iter().map(ground_line).collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// One canonical N-Quads line of a quad without blank nodes.
fn ground_line(q: &Quad) -> String {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(160);
    let iri = |line: &mut String, iri: &str| {
        line.push('<');
        line.push_str(iri);
        line.push('>');
    };
    match &q.subject {
        NamedOrBlankNode::NamedNode(n) => iri(&mut line, n.as_str()),
        other => {
            let _ = write!(line, "{other}");
        }
    }
    line.push(' ');
    iri(&mut line, q.predicate.as_str());
    line.push(' ');
    match &q.object {
        Term::NamedNode(n) => iri(&mut line, n.as_str()),
        other => {
            let _ = write!(line, "{other}");
        }
    }
    if let GraphName::NamedNode(g) = &q.graph_name {
        line.push(' ');
        iri(&mut line, g.as_str());
    }
    line.push_str(" .\n");
    line
}

/// Canonicalizes the quads with RDFC-1.0 within `limits`.
pub fn canonicalize(
    quads: &[Quad],
    limits: &Limits,
    hash: HashAlgorithm,
) -> Result<Canonical, CanonError> {
    let blank_nodes = blank_nodes(quads);
    if blank_nodes.is_empty() {
        return Ok(Canonical {
            nquads: ground_lines(quads).concat(),
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
    use oxrdf::{BlankNode, GraphName, Literal, NamedNode};

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
