//! SHACL shapes compiled once into a plan, evaluated directly on a record's
//! triples.
//!
//! [`ShapePlan::compile`] reads `vocab/shapes.ttl` into the SHACL Core
//! constraints it uses (targets by class, simple predicate paths, counts,
//! datatypes, node kinds, value ranges, lengths, languages, `sh:hasValue`,
//! `sh:in`, `sh:node`, `sh:or`/`sh:and`/`sh:not`, qualified value shapes) and
//! refuses any other construct, so that no constraint is silently ignored.
//! The reference data (concept schemes and EU authority tables) is indexed
//! once, and the members of each closed list (the concepts a node shape such
//! as `ccis:ThemeShape` accepts) are computed once.
//!
//! [`ShapePlan::evaluate`] then validates one record against the plan. The
//! data graph is, as in SHACL, the record merged with the reference data; a
//! value of a closed list is checked by one set lookup unless the record
//! itself says something about a node of the reference data, in which case
//! the shape is evaluated on the merged graph.

use oxrdf::vocab::{rdf, rdfs, xsd};
use oxrdf::{
    Graph, LiteralRef, NamedNode, NamedNodeRef, NamedOrBlankNodeRef, Term, TermRef, Triple,
};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The SHACL namespace.
pub const SH: &str = "http://www.w3.org/ns/shacl#";

/// Why shapes or their reference data cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A file does not parse as Turtle.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A SHACL construct the plan does not evaluate.
    #[error(
        "shape {shape}: {construct} is not supported by ccis's compiled SHACL plan (src/shape_plan.rs); use the supported SHACL Core constraints or extend the plan"
    )]
    Unsupported {
        /// The shape using it.
        shape: String,
        /// The construct.
        construct: String,
    },
    /// A constraint whose value is not what SHACL expects.
    #[error("shape {shape}: {reason}")]
    Malformed {
        /// The shape.
        shape: String,
        /// What is wrong.
        reason: String,
    },
    /// Reference data that would change what the shapes target.
    #[error("reference data: {0}")]
    Reference(String),
}

/// The index of a shape in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShapeId(usize);

/// The node kinds of `sh:nodeKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `sh:IRI`
    Iri,
    /// `sh:BlankNode`
    BlankNode,
    /// `sh:Literal`
    Literal,
    /// `sh:BlankNodeOrIRI`
    BlankNodeOrIri,
    /// `sh:BlankNodeOrLiteral`
    BlankNodeOrLiteral,
    /// `sh:IRIOrLiteral`
    IriOrLiteral,
}

impl NodeKind {
    fn from_iri(iri: &str) -> Option<Self> {
        Some(match iri.strip_prefix(SH)? {
            "IRI" => Self::Iri,
            "BlankNode" => Self::BlankNode,
            "Literal" => Self::Literal,
            "BlankNodeOrIRI" => Self::BlankNodeOrIri,
            "BlankNodeOrLiteral" => Self::BlankNodeOrLiteral,
            "IRIOrLiteral" => Self::IriOrLiteral,
            _ => return None,
        })
    }

    fn matches(self, term: TermRef<'_>) -> bool {
        let (iri, blank, literal) = match term {
            TermRef::NamedNode(_) => (true, false, false),
            TermRef::BlankNode(_) => (false, true, false),
            TermRef::Literal(_) => (false, false, true),
            _ => (false, false, false),
        };
        match self {
            Self::Iri => iri,
            Self::BlankNode => blank,
            Self::Literal => literal,
            Self::BlankNodeOrIri => blank || iri,
            Self::BlankNodeOrLiteral => blank || literal,
            Self::IriOrLiteral => iri || literal,
        }
    }
}

/// One constraint of a shape, as the plan evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// `sh:minCount`
    MinCount(usize),
    /// `sh:maxCount`
    MaxCount(usize),
    /// `sh:datatype`: the datatype, and a well-formed lexical form for the XSD
    /// types the plan knows.
    Datatype(NamedNode),
    /// `sh:nodeKind`
    NodeKind(NodeKind),
    /// `sh:minInclusive`, numeric bounds only.
    MinInclusive(f64),
    /// `sh:maxInclusive`, numeric bounds only.
    MaxInclusive(f64),
    /// `sh:minLength`
    MinLength(usize),
    /// `sh:maxLength`
    MaxLength(usize),
    /// `sh:uniqueLang true`
    UniqueLang,
    /// `sh:hasValue`
    HasValue(Term),
    /// `sh:in`
    In(Vec<Term>),
    /// `sh:languageIn`, the tags in lower case.
    LanguageIn(Vec<String>),
    /// `sh:node`
    Node(ShapeId),
    /// `sh:or`
    Or(Vec<ShapeId>),
    /// `sh:and`
    And(Vec<ShapeId>),
    /// `sh:not`
    Not(ShapeId),
    /// `sh:qualifiedValueShape` with `sh:qualifiedMinCount` and/or `sh:qualifiedMaxCount`.
    Qualified {
        /// The qualified value shape.
        shape: ShapeId,
        /// `sh:qualifiedMinCount`
        min: Option<usize>,
        /// `sh:qualifiedMaxCount`
        max: Option<usize>,
    },
}

/// A compiled shape.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The shape's IRI, or `_:` and its blank node label.
    pub name: String,
    /// `sh:path`: a predicate (the plan supports no other path).
    pub path: Option<NamedNode>,
    /// `sh:message`s: (language tag in lower case, or "" if untagged; text).
    pub messages: Vec<(String, String)>,
    /// The constraints on the value nodes.
    pub constraints: Vec<Constraint>,
    /// `sh:property`: property shapes every value node must conform to.
    pub properties: Vec<ShapeId>,
}

/// The SHACL constraint component a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// `sh:MinCountConstraintComponent`
    MinCount,
    /// `sh:MaxCountConstraintComponent`
    MaxCount,
    /// `sh:DatatypeConstraintComponent`
    Datatype,
    /// `sh:NodeKindConstraintComponent`
    NodeKind,
    /// `sh:MinInclusiveConstraintComponent`
    MinInclusive,
    /// `sh:MaxInclusiveConstraintComponent`
    MaxInclusive,
    /// `sh:MinLengthConstraintComponent`
    MinLength,
    /// `sh:MaxLengthConstraintComponent`
    MaxLength,
    /// `sh:UniqueLangConstraintComponent`
    UniqueLang,
    /// `sh:HasValueConstraintComponent`
    HasValue,
    /// `sh:InConstraintComponent`
    In,
    /// `sh:LanguageInConstraintComponent`
    LanguageIn,
    /// `sh:NodeConstraintComponent`
    Node,
    /// `sh:OrConstraintComponent`
    Or,
    /// `sh:AndConstraintComponent`
    And,
    /// `sh:NotConstraintComponent`
    Not,
    /// `sh:QualifiedMinCountConstraintComponent`
    QualifiedMinCount,
    /// `sh:QualifiedMaxCountConstraintComponent`
    QualifiedMaxCount,
}

impl Component {
    /// The component's IRI.
    pub fn iri(self) -> String {
        format!("{SH}{self:?}ConstraintComponent")
    }
}

/// What a finding adds to its component.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// Nothing more.
    None,
    /// How many values were found, and the bound they miss.
    Count {
        /// Values found (conforming ones, for qualified counts).
        found: usize,
        /// The bound.
        bound: usize,
    },
    /// The language tag two or more values share.
    DuplicateLanguage(String),
    /// The shape a value or focus node does not conform to (`sh:node`,
    /// `sh:qualifiedValueShape`), and why, when it was evaluated (empty when
    /// the value is simply not a member of the shape's closed list).
    Shape(ShapeId, Vec<Finding>),
}

/// One validation result of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The focus node.
    pub focus: Term,
    /// The path of the shape, if it is a property shape.
    pub path: Option<NamedNode>,
    /// The offending value, for components that test each value.
    pub value: Option<Term>,
    /// The constraint component.
    pub component: Component,
    /// The shape whose constraint failed (its `sh:message`s apply).
    pub shape: ShapeId,
    /// More about the failure.
    pub detail: Detail,
}

/// The members of a closed list: the named nodes of the reference data a
/// node shape accepts (the concepts of a scheme, the EU member states …).
#[derive(Debug, Clone)]
pub struct ClosedList {
    /// The members, sorted.
    pub members: Vec<NamedNode>,
    /// The concept scheme, if the shape asks for `skos:inScheme` of one.
    pub scheme: Option<NamedNode>,
    /// The reference file that describes the scheme.
    pub file: Option<String>,
    set: HashSet<String>,
}

impl ClosedList {
    /// Whether `iri` is a member.
    pub fn contains(&self, iri: &str) -> bool {
        self.set.contains(iri)
    }
}

/// The reference data, indexed by subject.
#[derive(Debug, Default)]
struct Reference {
    /// Subject key → (predicate, object).
    by_subject: HashMap<String, Vec<(NamedNode, Term)>>,
    /// Keys of every subject and non-literal object.
    nodes: HashSet<String>,
    /// `rdf:type` statements: (subject, class).
    types: Vec<(Term, NamedNode)>,
    /// Which file describes each subject first.
    file_of: HashMap<String, String>,
}

/// The key of a node in the indexes: an IRI as it is, a blank node as `_:id`
/// (an IRI never starts with `_:`); none for a literal.
fn key(term: TermRef<'_>) -> Option<Cow<'_, str>> {
    match term {
        TermRef::NamedNode(n) => Some(Cow::Borrowed(n.as_str())),
        TermRef::BlankNode(b) => Some(Cow::Owned(format!("_:{}", b.as_str()))),
        _ => None,
    }
}

impl Reference {
    fn add(&mut self, file: &str, t: Triple) {
        let subject = Term::from(t.subject);
        let Some(s) = key(subject.as_ref()).map(Cow::into_owned) else {
            return;
        };
        if let Some(o) = key(t.object.as_ref()) {
            self.nodes.insert(o.into_owned());
        }
        if t.predicate == rdf::TYPE
            && let Term::NamedNode(class) = &t.object
        {
            self.types.push((subject.clone(), class.clone()));
        }
        self.nodes.insert(s.clone());
        self.file_of
            .entry(s.clone())
            .or_insert_with(|| file.to_owned());
        let objects = self.by_subject.entry(s).or_default();
        if !objects
            .iter()
            .any(|(p, o)| *p == t.predicate && *o == t.object)
        {
            objects.push((t.predicate, t.object));
        }
    }
}

/// Parses Turtle into triples.
fn parse_turtle(file: &str, ttl: &str) -> Result<Vec<Triple>, PlanError> {
    oxigraph::io::RdfParser::from_format(oxigraph::io::RdfFormat::Turtle)
        .for_slice(ttl.as_bytes())
        .map(|q| q.map(Triple::from))
        .collect::<Result<_, _>>()
        .map_err(|e| PlanError::Parse {
            file: file.to_owned(),
            message: e.to_string(),
        })
}

/// The data graph of one validation: a record's triples, sorted by subject
/// and predicate, over the reference data.
struct View<'a> {
    record: Vec<(TermRef<'a>, NamedNodeRef<'a>, TermRef<'a>)>,
    reference: &'a Reference,
    /// No subject of the record is a node of the reference data, so the
    /// closed lists computed on the reference data alone hold.
    isolated: bool,
    /// The record states `rdfs:subClassOf`, so the reference data's typed
    /// nodes may be targets.
    subclassing: bool,
}

fn order<'a>(t: TermRef<'a>) -> (u8, &'a str) {
    match t {
        TermRef::NamedNode(n) => (0, n.as_str()),
        TermRef::BlankNode(b) => (1, b.as_str()),
        _ => (2, ""),
    }
}

impl<'a> View<'a> {
    fn new(triples: &'a [Triple], reference: &'a Reference) -> Self {
        let mut record: Vec<_> = triples
            .iter()
            .map(|t| {
                let s: TermRef<'a> = match t.subject.as_ref() {
                    NamedOrBlankNodeRef::NamedNode(n) => n.into(),
                    NamedOrBlankNodeRef::BlankNode(b) => b.into(),
                };
                (s, t.predicate.as_ref(), t.object.as_ref())
            })
            .collect();
        record.sort_by(|a, b| (order(a.0), a.1.as_str()).cmp(&(order(b.0), b.1.as_str())));
        let isolated = !record
            .iter()
            .any(|(s, _, _)| key(*s).is_some_and(|k| reference.nodes.contains(k.as_ref())));
        let subclassing = record.iter().any(|(_, p, _)| *p == rdfs::SUB_CLASS_OF);
        Self {
            record,
            reference,
            isolated,
            subclassing,
        }
    }

    /// The record's statements about `subject`.
    fn record_about(
        &self,
        subject: TermRef<'_>,
    ) -> &[(TermRef<'a>, NamedNodeRef<'a>, TermRef<'a>)] {
        let o = order(subject);
        let start = self.record.partition_point(|(s, _, _)| order(*s) < o);
        let end = self.record.partition_point(|(s, _, _)| order(*s) <= o);
        &self.record[start..end]
    }

    /// The objects of `subject` and `predicate`, without duplicates.
    fn objects(&self, subject: TermRef<'_>, predicate: NamedNodeRef<'_>) -> Vec<TermRef<'a>> {
        let mut out: Vec<TermRef<'a>> = self
            .record_about(subject)
            .iter()
            .filter(|(_, p, _)| *p == predicate)
            .map(|(_, _, o)| *o)
            .collect();
        let from_record = out.len();
        if let Some(k) = key(subject)
            && let Some(about) = self.reference.by_subject.get(k.as_ref())
        {
            for (p, o) in about {
                if *p == predicate && !out[..from_record].contains(&o.as_ref()) {
                    out.push(o.as_ref());
                }
            }
        }
        out
    }

    /// Whether the reference data describes `node` and the record does not.
    fn reference_only(&self, node: TermRef<'_>) -> bool {
        self.isolated
            && key(node).is_some_and(|k| self.reference.by_subject.contains_key(k.as_ref()))
    }

    /// `class` and its superclasses (`rdfs:subClassOf*`).
    fn superclasses(&self, class: NamedNodeRef<'a>) -> Vec<NamedNodeRef<'a>> {
        let mut seen = vec![class];
        let mut i = 0;
        while i < seen.len() {
            for o in self.objects(seen[i].into(), rdfs::SUB_CLASS_OF) {
                if let TermRef::NamedNode(n) = o
                    && !seen.contains(&n)
                {
                    seen.push(n);
                }
            }
            i += 1;
        }
        seen
    }
}

/// SHACL shapes compiled with their reference data.
#[derive(Debug)]
pub struct ShapePlan {
    shapes: Vec<Shape>,
    targets: HashMap<String, Vec<ShapeId>>,
    reference: Reference,
    closed: HashMap<ShapeId, ClosedList>,
    closed_by_path: HashMap<String, ShapeId>,
}

impl ShapePlan {
    /// Compiles the shapes built into the binary with the concept schemes and
    /// the EU authority tables.
    pub fn builtin() -> Result<Self, PlanError> {
        Self::compile(
            ccis_model::vocab::SHAPES_TTL,
            &[
                ("schemes.ttl", ccis_model::vocab::SCHEMES_TTL),
                ("eu-authorities.ttl", ccis_model::vocab::AUTHORITIES_TTL),
            ],
        )
    }

    /// Compiles shapes (Turtle) with reference data: (file name, Turtle).
    /// Refuses any SHACL construct the plan does not evaluate.
    pub fn compile(shapes_ttl: &str, reference: &[(&str, &str)]) -> Result<Self, PlanError> {
        let mut graph = Graph::new();
        for t in parse_turtle("shapes", shapes_ttl)? {
            graph.insert(&t);
        }
        let compiled = Compiler::new(&graph).run()?;
        let mut plan = Self {
            shapes: compiled.shapes,
            targets: compiled.targets,
            reference: Reference::default(),
            closed: HashMap::new(),
            closed_by_path: HashMap::new(),
        };
        for (file, ttl) in reference {
            for t in parse_turtle(file, ttl)? {
                plan.reference.add(file, t);
            }
        }
        plan.check_reference_targets()?;
        plan.compute_closed_lists(&compiled.referenced);
        Ok(plan)
    }

    /// The compiled shapes.
    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id.0]
    }

    /// Every compiled shape with its id.
    pub fn shapes(&self) -> impl Iterator<Item = (ShapeId, &Shape)> {
        self.shapes.iter().enumerate().map(|(i, s)| (ShapeId(i), s))
    }

    /// The closed list a shape accepts, if it is one.
    pub fn closed_list(&self, id: ShapeId) -> Option<&ClosedList> {
        self.closed.get(&id)
    }

    /// The closed list the values of a property must belong to, if one.
    pub fn closed_list_of_path(&self, path: &str) -> Option<&ClosedList> {
        self.closed_by_path
            .get(path)
            .and_then(|id| self.closed.get(id))
    }

    /// Reference data with nodes of a targeted class would be validated
    /// with every record: refused.
    fn check_reference_targets(&self) -> Result<(), PlanError> {
        let view = View::new(&[], &self.reference);
        for (node, class) in &self.reference.types {
            if let Some(target) = view
                .superclasses(class.as_ref())
                .into_iter()
                .find(|c| self.targets.contains_key(c.as_str()))
            {
                return Err(PlanError::Reference(format!(
                    "{node} is an instance of the target class <{target}>"
                )));
            }
        }
        Ok(())
    }

    /// The members of the reference data each shape used as a value shape
    /// accepts; kept for the shapes that accept some, with their scheme.
    fn compute_closed_lists(&mut self, referenced: &BTreeSet<ShapeId>) {
        let view = View::new(&[], &self.reference);
        let in_scheme = NamedNodeRef::new_unchecked("http://www.w3.org/2004/02/skos/core#inScheme");
        let mut lists = HashMap::new();
        for &id in referenced {
            let mut members: Vec<NamedNode> = self
                .reference
                .by_subject
                .keys()
                .filter(|k| !k.starts_with("_:"))
                .map(|k| NamedNode::new_unchecked(k.as_str()))
                .filter(|n| self.conforms(id, n.as_ref().into(), &view))
                .collect();
            if members.is_empty() {
                continue;
            }
            members.sort();
            let scheme = self.property_value(id, in_scheme);
            let file = scheme
                .as_ref()
                .and_then(|s| self.reference.file_of.get(s.as_str()).cloned());
            let set = members.iter().map(|m| m.as_str().to_owned()).collect();
            lists.insert(
                id,
                ClosedList {
                    members,
                    scheme,
                    file,
                    set,
                },
            );
        }
        self.closed = lists;
        self.closed_by_path = self.paths_to_closed_lists();
    }

    /// The `sh:hasValue` of a property shape of `id` on `path`, if a named node.
    fn property_value(&self, id: ShapeId, path: NamedNodeRef<'_>) -> Option<NamedNode> {
        self.shape(id).properties.iter().find_map(|&p| {
            let shape = self.shape(p);
            (shape.path.as_ref().map(NamedNode::as_ref) == Some(path))
                .then(|| {
                    shape.constraints.iter().find_map(|c| match c {
                        Constraint::HasValue(Term::NamedNode(n)) => Some(n.clone()),
                        _ => None,
                    })
                })
                .flatten()
        })
    }

    /// Paths whose property shapes send their values to one closed list.
    fn paths_to_closed_lists(&self) -> HashMap<String, ShapeId> {
        let mut by_path: HashMap<String, Option<ShapeId>> = HashMap::new();
        for shape in &self.shapes {
            let Some(path) = &shape.path else { continue };
            for c in &shape.constraints {
                if let Constraint::Node(target) = c
                    && self.closed.contains_key(target)
                {
                    let entry = by_path
                        .entry(path.as_str().to_owned())
                        .or_insert(Some(*target));
                    if *entry != Some(*target) {
                        *entry = None;
                    }
                }
            }
        }
        by_path
            .into_iter()
            .filter_map(|(p, id)| id.map(|id| (p, id)))
            .collect()
    }

    /// Validates a record's triples (merged with the reference data) against
    /// the plan: the findings, sorted, without duplicates.
    pub fn evaluate(&self, triples: &[Triple]) -> Vec<Finding> {
        let view = View::new(triples, &self.reference);
        let mut out = Vec::new();
        for (focus, shape) in self.focus_nodes(&view) {
            self.eval_shape(shape, focus, &view, &mut out);
        }
        out.sort_by(|a, b| finding_order(a).cmp(&finding_order(b)));
        out.dedup_by(|a, b| finding_order(a) == finding_order(b));
        out
    }

    /// The focus nodes of the targets, with their shapes.
    fn focus_nodes<'a>(&self, view: &View<'a>) -> Vec<(TermRef<'a>, ShapeId)> {
        let mut typed: Vec<(TermRef<'a>, NamedNodeRef<'a>)> = view
            .record
            .iter()
            .filter(|(_, p, _)| *p == rdf::TYPE)
            .filter_map(|(s, _, o)| match o {
                TermRef::NamedNode(c) => Some((*s, *c)),
                _ => None,
            })
            .collect();
        if view.subclassing {
            for (node, class) in &view.reference.types {
                typed.push((node.as_ref(), class.as_ref()));
            }
        }
        let mut out = Vec::new();
        for (node, class) in typed {
            for c in view.superclasses(class) {
                for &shape in self.targets.get(c.as_str()).into_iter().flatten() {
                    if !out.contains(&(node, shape)) {
                        out.push((node, shape));
                    }
                }
            }
        }
        out
    }

    /// Evaluates a shape on a focus node.
    fn eval_shape(&self, id: ShapeId, focus: TermRef<'_>, view: &View<'_>, out: &mut Vec<Finding>) {
        let shape = self.shape(id);
        let values = match &shape.path {
            Some(p) => view.objects(focus, p.as_ref()),
            None => vec![focus],
        };
        for c in &shape.constraints {
            self.check(id, c, focus, &values, view, out);
        }
        for &p in &shape.properties {
            for &v in &values {
                self.eval_shape(p, v, view, out);
            }
        }
    }

    /// Whether a node conforms to a shape.
    fn conforms(&self, id: ShapeId, node: TermRef<'_>, view: &View<'_>) -> bool {
        if view.reference_only(node)
            && let (Some(list), TermRef::NamedNode(n)) = (self.closed.get(&id), node)
        {
            return list.contains(n.as_str());
        }
        let mut findings = Vec::new();
        self.eval_shape(id, node, view, &mut findings);
        findings.is_empty()
    }

    /// Why a node does not conform to a shape, if it does not: the findings
    /// (empty when it is just not a member of the shape's closed list).
    fn nonconformance(
        &self,
        id: ShapeId,
        node: TermRef<'_>,
        view: &View<'_>,
    ) -> Option<Vec<Finding>> {
        if view.reference_only(node)
            && let (Some(list), TermRef::NamedNode(n)) = (self.closed.get(&id), node)
        {
            return (!list.contains(n.as_str())).then(Vec::new);
        }
        let mut findings = Vec::new();
        self.eval_shape(id, node, view, &mut findings);
        (!findings.is_empty()).then_some(findings)
    }

    /// Checks one constraint on the value nodes of a focus node.
    fn check(
        &self,
        id: ShapeId,
        c: &Constraint,
        focus: TermRef<'_>,
        values: &[TermRef<'_>],
        view: &View<'_>,
        out: &mut Vec<Finding>,
    ) {
        let finding = |component, value: Option<TermRef<'_>>, detail| Finding {
            focus: focus.into_owned(),
            path: self.shape(id).path.clone(),
            value: value.map(TermRef::into_owned),
            component,
            shape: id,
            detail,
        };
        match c {
            Constraint::Node(s) => {
                for &v in values {
                    if let Some(why) = self.nonconformance(*s, v, view) {
                        out.push(finding(Component::Node, Some(v), Detail::Shape(*s, why)));
                    }
                }
            }
            Constraint::UniqueLang => {
                for lang in duplicate_languages(values) {
                    let detail = Detail::DuplicateLanguage(lang);
                    out.push(finding(Component::UniqueLang, None, detail));
                }
            }
            _ => {
                for (component, detail) in self.count_failures(c, values, view) {
                    out.push(finding(component, None, detail));
                }
                for &v in values {
                    if let Some(component) = self.value_failure(c, v, view) {
                        out.push(finding(component, Some(v), Detail::None));
                    }
                }
            }
        }
    }

    /// The failures of a constraint on the value nodes as a whole: counts,
    /// `sh:hasValue`, qualified counts.
    fn count_failures(
        &self,
        c: &Constraint,
        values: &[TermRef<'_>],
        view: &View<'_>,
    ) -> Vec<(Component, Detail)> {
        let count = |found, bound| Detail::Count { found, bound };
        let n = values.len();
        match c {
            Constraint::MinCount(min) if n < *min => vec![(Component::MinCount, count(n, *min))],
            Constraint::MaxCount(max) if n > *max => vec![(Component::MaxCount, count(n, *max))],
            Constraint::HasValue(t) if !values.contains(&t.as_ref()) => {
                vec![(Component::HasValue, Detail::None)]
            }
            Constraint::Qualified { shape, min, max } => {
                let found = values
                    .iter()
                    .filter(|v| self.conforms(*shape, **v, view))
                    .count();
                let mut out = Vec::new();
                if let Some(min) = min.filter(|min| found < *min) {
                    out.push((Component::QualifiedMinCount, count(found, min)));
                }
                if let Some(max) = max.filter(|max| found > *max) {
                    out.push((Component::QualifiedMaxCount, count(found, max)));
                }
                out
            }
            _ => Vec::new(),
        }
    }

    /// The component a value node fails, for the constraints on each value.
    fn value_failure(&self, c: &Constraint, v: TermRef<'_>, view: &View<'_>) -> Option<Component> {
        let (component, ok) = match c {
            Constraint::Datatype(d) => (Component::Datatype, has_datatype(v, d.as_ref())),
            Constraint::NodeKind(k) => (Component::NodeKind, k.matches(v)),
            Constraint::MinInclusive(m) => {
                (Component::MinInclusive, numeric(v).is_some_and(|x| x >= *m))
            }
            Constraint::MaxInclusive(m) => {
                (Component::MaxInclusive, numeric(v).is_some_and(|x| x <= *m))
            }
            Constraint::MinLength(n) => (
                Component::MinLength,
                text_length(v).is_some_and(|l| l >= *n),
            ),
            Constraint::MaxLength(n) => (
                Component::MaxLength,
                text_length(v).is_some_and(|l| l <= *n),
            ),
            Constraint::In(list) => (Component::In, list.iter().any(|t| t.as_ref() == v)),
            Constraint::LanguageIn(tags) => (Component::LanguageIn, language_in(v, tags)),
            Constraint::Or(list) => (
                Component::Or,
                list.iter().any(|s| self.conforms(*s, v, view)),
            ),
            Constraint::And(list) => (
                Component::And,
                list.iter().all(|s| self.conforms(*s, v, view)),
            ),
            Constraint::Not(s) => (Component::Not, !self.conforms(*s, v, view)),
            _ => return None,
        };
        (!ok).then_some(component)
    }
}

fn finding_order(f: &Finding) -> (String, Option<&str>, Option<String>, Component, ShapeId) {
    (
        f.focus.to_string(),
        f.path.as_ref().map(NamedNode::as_str),
        f.value.as_ref().map(Term::to_string),
        f.component,
        f.shape,
    )
}

/// Whether a value is a literal of `datatype` with a well-formed lexical form.
fn has_datatype(value: TermRef<'_>, datatype: NamedNodeRef<'_>) -> bool {
    match value {
        TermRef::Literal(l) => l.datatype() == datatype && well_formed(l),
        _ => false,
    }
}

/// Whether a literal's lexical form is valid for its datatype, for the XSD
/// datatypes the plan knows (others are accepted as they are).
fn well_formed(l: LiteralRef<'_>) -> bool {
    let v = l.value();
    let d = l.datatype();
    if d == xsd::INTEGER {
        is_integer(v)
    } else if d == xsd::DECIMAL {
        is_decimal(v)
    } else if d == xsd::BOOLEAN {
        matches!(v, "true" | "false" | "1" | "0")
    } else if d == xsd::DOUBLE || d == xsd::FLOAT {
        matches!(v, "INF" | "-INF" | "+INF" | "NaN")
            || (is_decimal_or_exp(v) && v.parse::<f64>().is_ok())
    } else if d == xsd::DATE_TIME {
        v.split_once('T')
            .is_some_and(|(date, time)| is_date(date) && is_time_zoned(time))
    } else if d == xsd::DATE {
        let (date, zone) = split_zone(v);
        is_date(date) && is_zone(zone)
    } else {
        true
    }
}

fn is_integer(v: &str) -> bool {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal(v: &str) -> bool {
    let unsigned = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    (!int.is_empty() || !frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal_or_exp(v: &str) -> bool {
    let (mantissa, exp) = v.split_once(['e', 'E']).unwrap_or((v, "0"));
    is_decimal(mantissa) && is_integer(exp)
}

/// `-?YYYY-MM-DD` with a real day of the month.
fn is_date(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let mut parts = v.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) || y.len() < 4 || (y.len() > 4 && y.starts_with('0'))
    {
        return false;
    }
    if m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>())
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// A time `hh:mm:ss(.s+)?` followed by an optional time zone.
fn is_time_zoned(v: &str) -> bool {
    let (time, zone) = split_zone(v);
    is_zone(zone) && is_time(time)
}

fn is_time(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let two = |i: usize| {
        (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
            .then(|| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0'))
    };
    let (Some(h), Some(m), Some(s)) = (two(0), two(3), two(6)) else {
        return false;
    };
    let fraction = &v[8..];
    let fraction_ok = fraction.is_empty()
        || fraction
            .strip_prefix('.')
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()));
    let midnight =
        h == 24 && m == 0 && s == 0 && fraction.trim_start_matches(['.', '0']).is_empty();
    fraction_ok && ((h < 24 && m < 60 && s < 60) || midnight)
}

/// Splits a trailing time zone (`Z`, `+hh:mm`, `-hh:mm`) off a date or time.
fn split_zone(v: &str) -> (&str, &str) {
    if let Some(rest) = v.strip_suffix('Z') {
        return (rest, "Z");
    }
    if v.len() >= 6 {
        let (head, tail) = v.split_at(v.len() - 6);
        if tail.starts_with(['+', '-']) && tail.as_bytes()[3] == b':' {
            return (head, tail);
        }
    }
    (v, "")
}

fn is_zone(zone: &str) -> bool {
    if zone.is_empty() || zone == "Z" {
        return true;
    }
    let b = zone.as_bytes();
    let digits = [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit());
    let h = zone[1..3].parse::<u32>().unwrap_or(99);
    let m = zone[4..6].parse::<u32>().unwrap_or(99);
    digits && ((h < 14 && m < 60) || (h == 14 && m == 0))
}

/// The value of a well-formed numeric literal.
fn numeric(value: TermRef<'_>) -> Option<f64> {
    let TermRef::Literal(l) = value else {
        return None;
    };
    let d = l.datatype();
    let numeric_type = [xsd::INTEGER, xsd::DECIMAL, xsd::DOUBLE, xsd::FLOAT].contains(&d)
        || is_integer_type(d.as_str());
    if !numeric_type || !(well_formed(l) && (d != xsd::INTEGER || is_integer(l.value()))) {
        return None;
    }
    match l.value() {
        "INF" | "+INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        v => v.parse::<f64>().ok().filter(|x| !x.is_nan()),
    }
}

/// XSD's types derived from xsd:integer.
fn is_integer_type(iri: &str) -> bool {
    iri.strip_prefix("http://www.w3.org/2001/XMLSchema#")
        .is_some_and(|local| {
            matches!(
                local,
                "long"
                    | "int"
                    | "short"
                    | "byte"
                    | "nonNegativeInteger"
                    | "positiveInteger"
                    | "nonPositiveInteger"
                    | "negativeInteger"
                    | "unsignedLong"
                    | "unsignedInt"
                    | "unsignedShort"
                    | "unsignedByte"
            )
        })
}

/// The length `sh:minLength` and `sh:maxLength` measure: characters of a
/// literal's lexical form or of an IRI; none for a blank node.
fn text_length(value: TermRef<'_>) -> Option<usize> {
    match value {
        TermRef::Literal(l) => Some(l.value().chars().count()),
        TermRef::NamedNode(n) => Some(n.as_str().chars().count()),
        _ => None,
    }
}

/// The language tags (lower case) two or more values share.
fn duplicate_languages(values: &[TermRef<'_>]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut duplicates: Vec<String> = Vec::new();
    for v in values {
        if let TermRef::Literal(l) = v
            && let Some(lang) = l.language()
        {
            let lang = lang.to_ascii_lowercase();
            if seen.contains(&lang) {
                if !duplicates.contains(&lang) {
                    duplicates.push(lang);
                }
            } else {
                seen.push(lang);
            }
        }
    }
    duplicates
}

/// Whether a value is a literal whose language tag matches one of `tags`
/// (basic filtering: `en` matches `en` and `en-GB`).
fn language_in(value: TermRef<'_>, tags: &[String]) -> bool {
    let TermRef::Literal(l) = value else {
        return false;
    };
    let Some(lang) = l.language() else {
        return false;
    };
    let lang = lang.to_ascii_lowercase();
    tags.iter().any(|t| {
        t == "*"
            || lang == *t
            || lang
                .strip_prefix(t.as_str())
                .is_some_and(|r| r.starts_with('-'))
    })
}

/// The SHACL predicates the plan reads; any other `sh:` predicate in the
/// shapes is refused.
const SUPPORTED: &[&str] = &[
    "targetClass",
    "property",
    "path",
    "message",
    "minCount",
    "maxCount",
    "datatype",
    "nodeKind",
    "minInclusive",
    "maxInclusive",
    "minLength",
    "maxLength",
    "uniqueLang",
    "hasValue",
    "in",
    "languageIn",
    "node",
    "or",
    "and",
    "not",
    "qualifiedValueShape",
    "qualifiedMinCount",
    "qualifiedMaxCount",
    "qualifiedValueShapesDisjoint",
    "severity",
    "deactivated",
    "name",
    "description",
    "order",
    "group",
];

/// What the compiler gives the plan.
struct Compiled {
    shapes: Vec<Shape>,
    targets: HashMap<String, Vec<ShapeId>>,
    /// Shapes used as value shapes (`sh:node`, `sh:or` …), candidates for closed lists.
    referenced: BTreeSet<ShapeId>,
}

/// Reads a shapes graph into shapes.
struct Compiler<'g> {
    graph: &'g Graph,
    ids: HashMap<String, ShapeId>,
    shapes: Vec<Shape>,
    targets: HashMap<String, Vec<ShapeId>>,
    referenced: BTreeSet<ShapeId>,
}

fn sh(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{SH}{local}"))
}

fn term_name(t: TermRef<'_>) -> String {
    match t {
        TermRef::NamedNode(n) => n.as_str().to_owned(),
        other => other.to_string(),
    }
}

impl<'g> Compiler<'g> {
    fn new(graph: &'g Graph) -> Self {
        Self {
            graph,
            ids: HashMap::new(),
            shapes: Vec::new(),
            targets: HashMap::new(),
            referenced: BTreeSet::new(),
        }
    }

    fn run(mut self) -> Result<Compiled, PlanError> {
        self.check_vocabulary()?;
        let node_shape = sh("NodeShape");
        let property_shape = sh("PropertyShape");
        let target_class = sh("targetClass");
        let mut roots: Vec<TermRef<'g>> = Vec::new();
        for t in self.graph.iter() {
            let is_root = t.predicate == target_class.as_ref()
                || (t.predicate == rdf::TYPE
                    && (t.object == node_shape.as_ref().into()
                        || t.object == property_shape.as_ref().into()));
            let subject: TermRef<'g> = t.subject.into();
            if is_root && !roots.contains(&subject) {
                roots.push(subject);
            }
        }
        for root in roots {
            self.shape(root)?;
        }
        self.check_recursion()?;
        Ok(Compiled {
            shapes: self.shapes,
            targets: self.targets,
            referenced: self.referenced,
        })
    }

    /// Refuses unknown `sh:` predicates and implicit class targets.
    fn check_vocabulary(&self) -> Result<(), PlanError> {
        let classes = [
            rdfs::CLASS,
            NamedNodeRef::new_unchecked("http://www.w3.org/2002/07/owl#Class"),
        ];
        for t in self.graph.iter() {
            let subject = term_name(t.subject.into());
            if let Some(local) = t.predicate.as_str().strip_prefix(SH)
                && !SUPPORTED.contains(&local)
            {
                return Err(PlanError::Unsupported {
                    shape: subject,
                    construct: format!("sh:{local}"),
                });
            }
            if t.predicate == rdf::TYPE
                && matches!(t.object, TermRef::NamedNode(c) if classes.contains(&c))
                && self
                    .graph
                    .iter()
                    .any(|u| u.subject == t.subject && u.predicate.as_str().starts_with(SH))
            {
                return Err(PlanError::Unsupported {
                    shape: subject,
                    construct: "a shape that is also a class (implicit class target)".into(),
                });
            }
        }
        Ok(())
    }

    fn objects(&self, node: TermRef<'g>, local: &str) -> Vec<TermRef<'g>> {
        let Some(subject) = as_subject(node) else {
            return Vec::new();
        };
        self.graph
            .objects_for_subject_predicate(subject, &sh(local))
            .collect()
    }

    /// Compiles the shape at `node` (once).
    fn shape(&mut self, node: TermRef<'g>) -> Result<ShapeId, PlanError> {
        let name = term_name(node);
        if let Some(id) = self.ids.get(&name) {
            return Ok(*id);
        }
        if as_subject(node).is_none() {
            return Err(PlanError::Malformed {
                shape: name,
                reason: "a shape must be an IRI or a blank node".into(),
            });
        }
        let id = ShapeId(self.shapes.len());
        self.ids.insert(name.clone(), id);
        self.shapes.push(Shape {
            name: name.clone(),
            path: self.path(node, &name)?,
            messages: self.messages(node, &name)?,
            constraints: Vec::new(),
            properties: Vec::new(),
        });
        self.check_non_validating(node, &name)?;
        for class in self.objects(node, "targetClass") {
            let TermRef::NamedNode(class) = class else {
                return Err(malformed(&name, "sh:targetClass must be an IRI"));
            };
            self.targets
                .entry(class.as_str().to_owned())
                .or_default()
                .push(id);
        }
        let mut constraints = self.value_constraints(node, &name)?;
        constraints.extend(self.shape_constraints(node, &name)?);
        let mut properties = Vec::new();
        for p in self.objects(node, "property") {
            properties.push(self.shape(p)?);
        }
        self.shapes[id.0].constraints = constraints;
        self.shapes[id.0].properties = properties;
        Ok(id)
    }

    fn path(&self, node: TermRef<'g>, name: &str) -> Result<Option<NamedNode>, PlanError> {
        match self.objects(node, "path").as_slice() {
            [] => Ok(None),
            [TermRef::NamedNode(p)] => Ok(Some(p.into_owned())),
            [_] => Err(PlanError::Unsupported {
                shape: name.to_owned(),
                construct: "a sh:path other than one predicate IRI".into(),
            }),
            _ => Err(malformed(name, "more than one sh:path")),
        }
    }

    fn messages(&self, node: TermRef<'g>, name: &str) -> Result<Vec<(String, String)>, PlanError> {
        self.objects(node, "message")
            .into_iter()
            .map(|m| match m {
                TermRef::Literal(l) => Ok((
                    l.language().unwrap_or("").to_ascii_lowercase(),
                    l.value().to_owned(),
                )),
                _ => Err(malformed(name, "sh:message must be a literal")),
            })
            .collect()
    }

    /// `sh:severity` other than `sh:Violation`, `sh:deactivated true` and
    /// disjoint qualified value shapes change what a result means: refused.
    fn check_non_validating(&self, node: TermRef<'g>, name: &str) -> Result<(), PlanError> {
        let unsupported = |construct: &str| PlanError::Unsupported {
            shape: name.to_owned(),
            construct: construct.to_owned(),
        };
        for s in self.objects(node, "severity") {
            if s != sh("Violation").as_ref().into() {
                return Err(unsupported(&format!("sh:severity {s}")));
            }
        }
        for (local, construct) in [
            ("deactivated", "sh:deactivated true"),
            (
                "qualifiedValueShapesDisjoint",
                "sh:qualifiedValueShapesDisjoint true",
            ),
        ] {
            for v in self.objects(node, local) {
                if boolean(v)
                    .ok_or_else(|| malformed(name, &format!("sh:{local} must be a boolean")))?
                {
                    return Err(unsupported(construct));
                }
            }
        }
        Ok(())
    }

    /// The constraints on values themselves.
    fn value_constraints(
        &self,
        node: TermRef<'g>,
        name: &str,
    ) -> Result<Vec<Constraint>, PlanError> {
        let mut out = Vec::new();
        let parse_count = |t: TermRef<'_>, local: &str| {
            count(t).ok_or_else(|| {
                malformed(name, &format!("sh:{local} must be a non-negative integer"))
            })
        };
        for (local, make) in [
            ("minCount", Constraint::MinCount as fn(usize) -> Constraint),
            ("maxCount", Constraint::MaxCount),
            ("minLength", Constraint::MinLength),
            ("maxLength", Constraint::MaxLength),
        ] {
            for v in self.objects(node, local) {
                out.push(make(parse_count(v, local)?));
            }
        }
        for (local, make) in [
            (
                "minInclusive",
                Constraint::MinInclusive as fn(f64) -> Constraint,
            ),
            ("maxInclusive", Constraint::MaxInclusive),
        ] {
            for v in self.objects(node, local) {
                let bound = numeric(v).ok_or_else(|| PlanError::Unsupported {
                    shape: name.to_owned(),
                    construct: format!("sh:{local} with a non-numeric bound"),
                })?;
                out.push(make(bound));
            }
        }
        for d in self.objects(node, "datatype") {
            let TermRef::NamedNode(d) = d else {
                return Err(malformed(name, "sh:datatype must be an IRI"));
            };
            out.push(Constraint::Datatype(d.into_owned()));
        }
        for k in self.objects(node, "nodeKind") {
            let kind = match k {
                TermRef::NamedNode(k) => NodeKind::from_iri(k.as_str()),
                _ => None,
            };
            out.push(Constraint::NodeKind(
                kind.ok_or_else(|| malformed(name, "unknown sh:nodeKind"))?,
            ));
        }
        out.extend(self.term_constraints(node, name)?);
        Ok(out)
    }

    /// `sh:uniqueLang`, `sh:hasValue`, `sh:in`, `sh:languageIn`.
    fn term_constraints(
        &self,
        node: TermRef<'g>,
        name: &str,
    ) -> Result<Vec<Constraint>, PlanError> {
        let mut out = Vec::new();
        for u in self.objects(node, "uniqueLang") {
            if boolean(u).ok_or_else(|| malformed(name, "sh:uniqueLang must be a boolean"))? {
                out.push(Constraint::UniqueLang);
            }
        }
        for v in self.objects(node, "hasValue") {
            out.push(Constraint::HasValue(v.into_owned()));
        }
        for list in self.objects(node, "in") {
            let items = self
                .list(list, name)?
                .into_iter()
                .map(TermRef::into_owned)
                .collect();
            out.push(Constraint::In(items));
        }
        for list in self.objects(node, "languageIn") {
            let tags = self
                .list(list, name)?
                .into_iter()
                .map(|t| match t {
                    TermRef::Literal(l) => Ok(l.value().to_ascii_lowercase()),
                    _ => Err(malformed(name, "sh:languageIn lists string literals")),
                })
                .collect::<Result<_, _>>()?;
            out.push(Constraint::LanguageIn(tags));
        }
        Ok(out)
    }

    /// `sh:node`, `sh:or`, `sh:and`, `sh:not` and qualified value shapes.
    fn shape_constraints(
        &mut self,
        node: TermRef<'g>,
        name: &str,
    ) -> Result<Vec<Constraint>, PlanError> {
        let mut out = Vec::new();
        for s in self.objects(node, "node") {
            out.push(Constraint::Node(self.value_shape(s)?));
        }
        for s in self.objects(node, "not") {
            out.push(Constraint::Not(self.value_shape(s)?));
        }
        for (local, make) in [
            ("or", Constraint::Or as fn(Vec<ShapeId>) -> Constraint),
            ("and", Constraint::And),
        ] {
            for list in self.objects(node, local) {
                let members = self
                    .list(list, name)?
                    .into_iter()
                    .map(|s| self.value_shape(s))
                    .collect::<Result<_, _>>()?;
                out.push(make(members));
            }
        }
        let qualified = self.objects(node, "qualifiedValueShape");
        let min = self.objects(node, "qualifiedMinCount");
        let max = self.objects(node, "qualifiedMaxCount");
        let bound = |v: &[TermRef<'_>], local: &str| match v {
            [] => Ok(None),
            [c] => count(*c).map(Some).ok_or_else(|| {
                malformed(name, &format!("sh:{local} must be a non-negative integer"))
            }),
            _ => Err(malformed(name, &format!("more than one sh:{local}"))),
        };
        let (min, max) = (
            bound(&min, "qualifiedMinCount")?,
            bound(&max, "qualifiedMaxCount")?,
        );
        match (qualified.as_slice(), min.is_some() || max.is_some()) {
            ([], false) => {}
            ([s], true) => out.push(Constraint::Qualified {
                shape: self.value_shape(*s)?,
                min,
                max,
            }),
            _ => {
                return Err(malformed(
                    name,
                    "one sh:qualifiedValueShape with sh:qualifiedMinCount or sh:qualifiedMaxCount",
                ));
            }
        }
        Ok(out)
    }

    fn value_shape(&mut self, node: TermRef<'g>) -> Result<ShapeId, PlanError> {
        let id = self.shape(node)?;
        self.referenced.insert(id);
        Ok(id)
    }

    /// The members of an RDF list.
    fn list(&self, head: TermRef<'g>, name: &str) -> Result<Vec<TermRef<'g>>, PlanError> {
        let mut out = Vec::new();
        let mut node = head;
        let mut seen = HashSet::new();
        while node != rdf::NIL.into() {
            let subject = as_subject(node).filter(|_| seen.insert(node));
            let first =
                subject.and_then(|s| self.graph.object_for_subject_predicate(s, rdf::FIRST));
            let rest = subject.and_then(|s| self.graph.object_for_subject_predicate(s, rdf::REST));
            let (Some(first), Some(rest)) = (first, rest) else {
                return Err(malformed(name, "a malformed RDF list"));
            };
            out.push(first);
            node = rest;
        }
        Ok(out)
    }

    /// Recursive shapes have no agreed SHACL meaning: refused.
    fn check_recursion(&self) -> Result<(), PlanError> {
        fn visit(c: &Compiler<'_>, id: ShapeId, stack: &mut Vec<ShapeId>) -> Result<(), PlanError> {
            if stack.contains(&id) {
                return Err(PlanError::Unsupported {
                    shape: c.shapes[id.0].name.clone(),
                    construct: "a recursive shape".into(),
                });
            }
            stack.push(id);
            let shape = &c.shapes[id.0];
            for next in shape
                .properties
                .iter()
                .copied()
                .chain(shape.constraints.iter().flat_map(referred))
            {
                visit(c, next, stack)?;
            }
            stack.pop();
            Ok(())
        }
        for i in 0..self.shapes.len() {
            visit(self, ShapeId(i), &mut Vec::new())?;
        }
        Ok(())
    }
}

/// The shapes a constraint refers to.
fn referred(c: &Constraint) -> Vec<ShapeId> {
    match c {
        Constraint::Node(s) | Constraint::Not(s) | Constraint::Qualified { shape: s, .. } => {
            vec![*s]
        }
        Constraint::Or(list) | Constraint::And(list) => list.clone(),
        _ => Vec::new(),
    }
}

fn as_subject(t: TermRef<'_>) -> Option<NamedOrBlankNodeRef<'_>> {
    match t {
        TermRef::NamedNode(n) => Some(n.into()),
        TermRef::BlankNode(b) => Some(b.into()),
        _ => None,
    }
}

fn malformed(shape: &str, reason: &str) -> PlanError {
    PlanError::Malformed {
        shape: shape.to_owned(),
        reason: reason.to_owned(),
    }
}

fn count(t: TermRef<'_>) -> Option<usize> {
    match t {
        TermRef::Literal(l) if l.datatype() == xsd::INTEGER => l.value().parse().ok(),
        _ => None,
    }
}

fn boolean(t: TermRef<'_>) -> Option<bool> {
    match t {
        TermRef::Literal(l) if l.datatype() == xsd::BOOLEAN => match l.value() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{ReferenceValidator, ShapeError, Violation};
    use ccis_model::record::Record;
    use oxrdf::{BlankNode, Literal};
    use std::collections::BTreeSet;

    const CCIS: &str = "https://w3id.org/ccis/ns#";
    const DCT: &str = "http://purl.org/dc/terms/";
    const SKOS_IN_SCHEME: &str = "http://www.w3.org/2004/02/skos/core#inScheme";

    /// The sample records of `examples/records/` and the sample decision of
    /// `examples/decisions/`, stamped as a node would.
    fn samples() -> Vec<Record> {
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/records"
        ))
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
        dirs.sort();
        dirs.push(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/decisions").into());
        for dir in dirs {
            let base = format!(
                "https://{}.example/",
                dir.file_name().unwrap().to_string_lossy()
            );
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|f| f.unwrap().path())
                .collect();
            files.sort();
            for file in files {
                let bytes = std::fs::read(&file).unwrap();
                let name = file.display().to_string();
                let quads = ccis_model::rdf_input::parse(
                    &bytes,
                    ccis_model::rdf_input::InputFormat::Turtle,
                    Some(&base),
                    &name,
                    &Default::default(),
                )
                .unwrap();
                for r in ccis_model::record::split_into_records(quads, &base).unwrap() {
                    out.push(r.stamped(1, "2026-11-20T10:00:00Z"));
                }
            }
        }
        assert!(out.len() >= 40, "{} sample records", out.len());
        out
    }

    fn iri(x: &str) -> Term {
        NamedNode::new_unchecked(x).into()
    }
    fn ccis(local: &str) -> Term {
        iri(&format!("{CCIS}{local}"))
    }
    fn dct(local: &str) -> String {
        format!("{DCT}{local}")
    }
    fn lang(text: &str, tag: &str) -> Term {
        Literal::new_language_tagged_literal_unchecked(text, tag).into()
    }
    fn plain(text: &str) -> Term {
        Literal::new_simple_literal(text).into()
    }
    fn typed(text: &str, datatype: NamedNodeRef<'_>) -> Term {
        Literal::new_typed_literal(text, datatype).into()
    }

    /// The record with the root's objects of `predicate` mapped (None drops one).
    fn map(r: &Record, predicate: &str, f: impl Fn(&Term) -> Option<Term>) -> Record {
        let triples = r
            .triples
            .iter()
            .filter_map(|t| {
                if t.predicate.as_str() != predicate || t.subject != r.iri.clone().into() {
                    return Some(t.clone());
                }
                f(&t.object).map(|o| Triple::new(t.subject.clone(), t.predicate.clone(), o))
            })
            .collect();
        Record::new(r.iri.clone(), triples)
    }
    fn set(r: &Record, predicate: &str, objects: Vec<Term>) -> Record {
        let mut out = map(r, predicate, |_| None);
        for o in objects {
            out.triples.push(Triple::new(
                r.iri.clone(),
                NamedNode::new_unchecked(predicate),
                o,
            ));
        }
        Record::new(r.iri.clone(), out.triples)
    }
    fn add(r: &Record, subject: Term, predicate: &str, object: Term) -> Record {
        let mut triples = r.triples.clone();
        let subject: oxrdf::NamedOrBlankNode = match subject {
            Term::NamedNode(n) => n.into(),
            Term::BlankNode(b) => b.into(),
            other => panic!("{other}"),
        };
        triples.push(Triple::new(
            subject,
            NamedNode::new_unchecked(predicate),
            object,
        ));
        Record::new(r.iri.clone(), triples)
    }
    fn fragment(r: &Record, name: &str) -> Term {
        iri(&format!("{}#{name}", r.iri.as_str()))
    }
    fn is_lang(t: &Term, tag: &str) -> bool {
        matches!(t, Term::Literal(l) if l.language() == Some(tag))
    }

    /// Ways to break (or, for a few, keep valid) a record: every shape of
    /// vocab/shapes.ttl is violated by at least one of them.
    type Mutation = (&'static str, fn(&Record) -> Record);

    fn mutations() -> Vec<Mutation> {
        let mut all = text_mutations();
        all.extend(concept_mutations());
        all.extend(licence_and_language_mutations());
        all.extend(scheme_mutations());
        all.extend(literal_mutations());
        all.extend(stamp_mutations());
        all.extend(initiative_mutations());
        all.extend(validation_mutations());
        all.extend(structure_mutations());
        all
    }

    /// Titles and descriptions.
    fn text_mutations() -> Vec<Mutation> {
        vec![
            ("no title", |r| set(r, &dct("title"), vec![])),
            ("no English title", |r| {
                map(r, &dct("title"), |t| (!is_lang(t, "en")).then(|| t.clone()))
            }),
            ("French title only", |r| {
                set(r, &dct("title"), vec![lang("Titre", "fr")])
            }),
            ("en-GB title", |r| {
                set(r, &dct("title"), vec![lang("Title", "en-GB")])
            }),
            ("two English titles", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &dct("title"),
                    lang("Another", "en"),
                )
            }),
            ("untagged title", |r| {
                map(r, &dct("title"), |t| Some(plain(&t.to_string())))
            }),
            ("empty title", |r| {
                set(r, &dct("title"), vec![lang("", "en")])
            }),
            ("title IRI", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &dct("title"),
                    iri("https://t.example/"),
                )
            }),
            ("no description", |r| set(r, &dct("description"), vec![])),
            ("untagged description", |r| {
                set(r, &dct("description"), vec![plain("x")])
            }),
            ("empty description", |r| {
                set(r, &dct("description"), vec![lang("", "fr")])
            }),
            ("two French descriptions", |r| {
                set(
                    r,
                    &dct("description"),
                    vec![lang("a", "fr"), lang("b", "FR")],
                )
            }),
        ]
    }

    /// Countries.
    fn concept_mutations() -> Vec<Mutation> {
        vec![
            ("no spatial", |r| set(r, &dct("spatial"), vec![])),
            ("spatial USA", |r| {
                set(
                    r,
                    &dct("spatial"),
                    vec![iri(
                        "http://publications.europa.eu/resource/authority/country/USA",
                    )],
                )
            }),
            ("spatial literal", |r| {
                set(r, &dct("spatial"), vec![plain("FR")])
            }),
            ("spatial language", |r| {
                set(
                    r,
                    &dct("spatial"),
                    vec![iri(
                        "http://publications.europa.eu/resource/authority/language/FRA",
                    )],
                )
            }),
            (
                "spatial a country the record describes, not a member",
                |r| {
                    let c = fragment(r, "country");
                    let r = add(
                        r,
                        c.clone(),
                        SKOS_IN_SCHEME,
                        iri("http://publications.europa.eu/resource/authority/country"),
                    );
                    set(&r, &dct("spatial"), vec![c])
                },
            ),
            ("a country the record claims is a member", |r| {
                let usa = iri("http://publications.europa.eu/resource/authority/country/USA");
                let r = add(
                    r,
                    usa.clone(),
                    SKOS_IN_SCHEME,
                    iri("http://publications.europa.eu/resource/authority/country"),
                );
                let r = add(
                    &r,
                    usa.clone(),
                    &format!("{CCIS}memberState"),
                    typed("true", xsd::BOOLEAN),
                );
                set(&r, &dct("spatial"), vec![usa])
            }),
        ]
    }

    /// Licences and languages.
    fn licence_and_language_mutations() -> Vec<Mutation> {
        vec![
            ("no license", |r| set(r, &dct("license"), vec![])),
            ("two licenses", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &dct("license"),
                    iri("https://l.example/"),
                )
            }),
            ("license literal", |r| {
                set(r, &dct("license"), vec![plain("CC-BY")])
            }),
            ("language XXX", |r| {
                set(
                    r,
                    &dct("language"),
                    vec![iri(
                        "http://publications.europa.eu/resource/authority/language/XXX",
                    )],
                )
            }),
            ("language literal", |r| {
                set(r, &dct("language"), vec![plain("fr")])
            }),
            ("language country", |r| {
                set(
                    r,
                    &dct("language"),
                    vec![iri(
                        "http://publications.europa.eu/resource/authority/country/FRA",
                    )],
                )
            }),
        ]
    }

    /// Themes, audiences, stages and tool types.
    fn scheme_mutations() -> Vec<Mutation> {
        vec![
            ("no subject", |r| set(r, &dct("subject"), vec![])),
            ("subject stage", |r| {
                set(r, &dct("subject"), vec![ccis("stage-scaling")])
            }),
            ("subject literal", |r| {
                set(r, &dct("subject"), vec![plain("housing")])
            }),
            ("no audience", |r| set(r, &dct("audience"), vec![])),
            ("audience theme", |r| {
                set(r, &dct("audience"), vec![ccis("theme-housing")])
            }),
            ("audience blank node in the scheme", |r| {
                let b: Term = BlankNode::default().into();
                let r = add(r, b.clone(), SKOS_IN_SCHEME, ccis("Audiences"));
                set(&r, &dct("audience"), vec![b])
            }),
            ("no stage", |r| set(r, &format!("{CCIS}stage"), vec![])),
            ("stage theme", |r| {
                set(r, &format!("{CCIS}stage"), vec![ccis("theme-housing")])
            }),
            ("two stages", |r| {
                set(
                    r,
                    &format!("{CCIS}stage"),
                    vec![ccis("stage-emergence"), ccis("stage-scaling")],
                )
            }),
            ("no tool type", |r| {
                set(r, &format!("{CCIS}toolType"), vec![])
            }),
            ("tool type theme", |r| {
                set(r, &format!("{CCIS}toolType"), vec![ccis("theme-housing")])
            }),
        ]
    }

    /// The issue date.
    fn literal_mutations() -> Vec<Mutation> {
        vec![
            ("issued string", |r| {
                set(r, &dct("issued"), vec![plain("2020")])
            }),
            ("issued twice", |r| {
                set(
                    r,
                    &dct("issued"),
                    vec![
                        typed("2020-01-01", xsd::DATE),
                        typed("2021-01-01", xsd::DATE),
                    ],
                )
            }),
            ("issued date", |r| {
                set(r, &dct("issued"), vec![typed("2020-02-29", xsd::DATE)])
            }),
            ("issued dateTime", |r| {
                set(
                    r,
                    &dct("issued"),
                    vec![typed("2020-02-29T10:00:00+01:00", xsd::DATE_TIME)],
                )
            }),
        ]
    }

    /// The version and date a node stamps.
    fn stamp_mutations() -> Vec<Mutation> {
        vec![
            ("no version", |r| set(r, &format!("{CCIS}version"), vec![])),
            ("version 0", |r| {
                set(r, &format!("{CCIS}version"), vec![typed("0", xsd::INTEGER)])
            }),
            ("version ill-formed", |r| {
                set(
                    r,
                    &format!("{CCIS}version"),
                    vec![typed("one", xsd::INTEGER)],
                )
            }),
            ("version decimal", |r| {
                set(
                    r,
                    &format!("{CCIS}version"),
                    vec![typed("2.0", xsd::DECIMAL)],
                )
            }),
            ("version string", |r| {
                set(r, &format!("{CCIS}version"), vec![plain("2")])
            }),
            ("two versions", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &format!("{CCIS}version"),
                    typed("2", xsd::INTEGER),
                )
            }),
            ("no modified", |r| set(r, &dct("modified"), vec![])),
            ("modified ill-formed", |r| {
                set(
                    r,
                    &dct("modified"),
                    vec![typed("yesterday", xsd::DATE_TIME)],
                )
            }),
            ("modified date", |r| {
                set(r, &dct("modified"), vec![typed("2026-01-01", xsd::DATE)])
            }),
            ("modified twice", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &dct("modified"),
                    typed("2026-01-02T00:00:00Z", xsd::DATE_TIME),
                )
            }),
        ]
    }

    /// The record without any statement of `predicate`, whatever its subject.
    fn drop_any(r: &Record, predicate: &str) -> Record {
        let triples = r
            .triples
            .iter()
            .filter(|t| t.predicate.as_str() != predicate)
            .cloned()
            .collect();
        Record::new(r.iri.clone(), triples)
    }
    /// The objects of `predicate` about fragment `name` replaced, if the
    /// record has that fragment.
    fn set_on(r: &Record, name: &str, predicate: &str, objects: Vec<Term>) -> Record {
        let subject = fragment(r, name);
        let about = |t: &Triple| Term::from(t.subject.clone()) == subject;
        if !r.triples.iter().any(about) {
            return r.clone();
        }
        let mut triples: Vec<Triple> = r
            .triples
            .iter()
            .filter(|t| !(about(t) && t.predicate.as_str() == predicate))
            .cloned()
            .collect();
        let Term::NamedNode(s) = subject else {
            return r.clone();
        };
        for o in objects {
            triples.push(Triple::new(
                s.clone(),
                NamedNode::new_unchecked(predicate),
                o,
            ));
        }
        Record::new(r.iri.clone(), triples)
    }
    fn prov(local: &str) -> String {
        format!("http://www.w3.org/ns/prov#{local}")
    }
    fn earl(local: &str) -> String {
        format!("http://www.w3.org/ns/earl#{local}")
    }

    /// What an initiative says for the Social Innovation Match.
    fn initiative_mutations() -> Vec<Mutation> {
        vec![
            ("no problem addressed", |r| {
                set(r, &format!("{CCIS}problemAddressed"), vec![])
            }),
            ("problem addressed untagged", |r| {
                set(r, &format!("{CCIS}problemAddressed"), vec![plain("x")])
            }),
            ("two problems in English", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &format!("{CCIS}problemAddressed"),
                    lang("Another problem", "en"),
                )
            }),
            ("no approach", |r| {
                set(r, &format!("{CCIS}approach"), vec![])
            }),
            ("empty approach", |r| {
                set(r, &format!("{CCIS}approach"), vec![lang("", "fr")])
            }),
            ("no key results", |r| {
                set(r, &format!("{CCIS}keyResults"), vec![])
            }),
            ("no scaling potential", |r| {
                set(r, &format!("{CCIS}scalingPotential"), vec![])
            }),
            ("lessons learned twice in English", |r| {
                set(
                    r,
                    &format!("{CCIS}lessonsLearned"),
                    vec![lang("One", "en"), lang("Two", "en")],
                )
            }),
            ("funding untagged", |r| {
                set(r, &format!("{CCIS}funding"), vec![plain("ESF+")])
            }),
            ("target group untagged", |r| {
                set(
                    r,
                    &format!("{CCIS}targetGroup"),
                    vec![plain("older people")],
                )
            }),
            ("no level of action", |r| {
                set(r, &format!("{CCIS}levelOfAction"), vec![])
            }),
            ("level of action a theme", |r| {
                set(
                    r,
                    &format!("{CCIS}levelOfAction"),
                    vec![ccis("theme-housing")],
                )
            }),
            ("level of action a literal", |r| {
                set(r, &format!("{CCIS}levelOfAction"), vec![plain("local")])
            }),
            ("two levels of action", |r| {
                set(
                    r,
                    &format!("{CCIS}levelOfAction"),
                    vec![ccis("level-local"), ccis("level-transnational")],
                )
            }),
            ("lead organisation a literal", |r| {
                set(r, &format!("{CCIS}leadOrganisation"), vec![plain("Avise")])
            }),
            ("two lead organisations", |r| {
                set(
                    r,
                    &format!("{CCIS}leadOrganisation"),
                    vec![fragment(r, "lead"), fragment(r, "other")],
                )
            }),
            ("partner a literal", |r| {
                set(r, &format!("{CCIS}partner"), vec![plain("A partner")])
            }),
        ]
    }

    /// Validation decisions.
    fn validation_mutations() -> Vec<Mutation> {
        vec![
            ("no version used", |r| set(r, &prov("used"), vec![])),
            ("used a literal", |r| {
                set(r, &prov("used"), vec![plain("x")])
            }),
            ("two versions used", |r| {
                add(r, r.iri.clone().into(), &prov("used"), fragment(r, "other"))
            }),
            ("used names no initiative", |r| {
                drop_any(r, &prov("specializationOf"))
            }),
            ("used version 0", |r| {
                set_on(
                    r,
                    "used",
                    &format!("{CCIS}version"),
                    vec![typed("0", xsd::INTEGER)],
                )
            }),
            ("used without a digest", |r| {
                drop_any(r, "https://w3id.org/security#digestMultibase")
            }),
            ("digest a plain string", |r| {
                set_on(
                    r,
                    "used",
                    "https://w3id.org/security#digestMultibase",
                    vec![plain("uEiB")],
                )
            }),
            ("no association", |r| {
                set(r, &prov("qualifiedAssociation"), vec![])
            }),
            ("association without agent", |r| drop_any(r, &prov("agent"))),
            ("role a theme", |r| {
                set_on(
                    r,
                    "association",
                    &prov("hadRole"),
                    vec![ccis("theme-housing")],
                )
            }),
            ("role a workflow state", |r| {
                set_on(
                    r,
                    "association",
                    &prov("hadRole"),
                    vec![ccis("state-published")],
                )
            }),
            ("association without plan", |r| {
                drop_any(r, &prov("hadPlan"))
            }),
            ("no assertions", |r| set(r, &prov("generated"), vec![])),
            ("assertion without criterion", |r| {
                drop_any(r, &earl("test"))
            }),
            ("assertion without subject", |r| {
                drop_any(r, &earl("subject"))
            }),
            ("assertion without result", |r| drop_any(r, &earl("result"))),
            ("result untested", |r| {
                set_on(
                    r,
                    "result-1",
                    &earl("outcome"),
                    vec![iri(&earl("untested"))],
                )
            }),
            ("result without outcome", |r| drop_any(r, &earl("outcome"))),
            ("result comment untagged", |r| {
                set_on(r, "result-2", &dct("description"), vec![plain("x")])
            }),
            ("no outcome", |r| set(r, &format!("{CCIS}outcome"), vec![])),
            ("outcome a workflow state", |r| {
                set(r, &format!("{CCIS}outcome"), vec![ccis("state-published")])
            }),
            ("two outcomes", |r| {
                add(
                    r,
                    r.iri.clone().into(),
                    &format!("{CCIS}outcome"),
                    ccis("outcome-rejected"),
                )
            }),
            ("no rationale", |r| {
                set(r, &format!("{CCIS}rationale"), vec![])
            }),
            ("rationale untagged", |r| {
                set(r, &format!("{CCIS}rationale"), vec![plain("why")])
            }),
            ("no end time", |r| set(r, &prov("endedAtTime"), vec![])),
            ("end time a date", |r| {
                set(
                    r,
                    &prov("endedAtTime"),
                    vec![typed("2026-11-20", xsd::DATE)],
                )
            }),
        ]
    }

    /// Classes, fragments and tombstones.
    fn structure_mutations() -> Vec<Mutation> {
        vec![
            ("a described fragment", |r| {
                add(r, fragment(r, "part"), rdf::TYPE.as_str(), ccis("Tool"))
            }),
            ("a class of the record's own", |r| {
                let class = r
                    .triples
                    .iter()
                    .find(|t| t.predicate == rdf::TYPE && t.subject == r.iri.clone().into())
                    .map(|t| t.object.clone());
                let Some(class) = class else { return r.clone() };
                let own = fragment(r, "Kind");
                let r = map(r, rdf::TYPE.as_str(), |t| (*t != class).then(|| t.clone()));
                let r = add(&r, r.iri.clone().into(), rdf::TYPE.as_str(), own.clone());
                add(&r, own, rdfs::SUB_CLASS_OF.as_str(), class)
            }),
            ("every concept a tool", |r| {
                add(
                    r,
                    iri("http://www.w3.org/2004/02/skos/core#Concept"),
                    rdfs::SUB_CLASS_OF.as_str(),
                    ccis("Tool"),
                )
            }),
            ("an organisation", |r| {
                set(r, rdf::TYPE.as_str(), vec![ccis("Organisation")])
            }),
            ("an organisation without spatial", |r| {
                set(
                    &set(r, rdf::TYPE.as_str(), vec![ccis("Organisation")]),
                    &dct("spatial"),
                    vec![],
                )
            }),
            ("withdrawn", |r| {
                Record::tombstone(r.iri.clone(), 2, "2026-11-21T10:00:00Z")
            }),
            ("withdrawn without version", |r| {
                let t = Record::tombstone(r.iri.clone(), 2, "2026-11-21T10:00:00Z");
                set(&t, &format!("{CCIS}version"), vec![])
            }),
        ]
    }

    fn normalized(focus: &str) -> String {
        if focus.starts_with("_:") {
            "_:".into()
        } else {
            focus.trim_matches(['<', '>']).to_owned()
        }
    }

    fn by_plan(plan: &ShapePlan, r: &Record) -> BTreeSet<(String, Option<String>)> {
        plan.evaluate(&r.triples)
            .iter()
            .map(|f| {
                let focus = match &f.focus {
                    Term::NamedNode(n) => n.as_str().to_owned(),
                    other => other.to_string(),
                };
                (
                    normalized(&focus),
                    f.path.as_ref().map(|p| p.as_str().to_owned()),
                )
            })
            .collect()
    }

    fn by_rudof(reference: &ReferenceValidator, r: &Record) -> BTreeSet<(String, Option<String>)> {
        let violations: Vec<Violation> = match reference.validate(r) {
            Ok(()) => Vec::new(),
            Err(ShapeError::Violations { violations, .. }) => violations,
            Err(e) => panic!("{e}"),
        };
        violations
            .iter()
            .map(|v| (normalized(&v.focus), v.path.as_ref().map(|p| normalized(p))))
            .collect()
    }

    /// The shapes a finding shows as violated: its own, and the value shape
    /// a value failed.
    fn violated(plan: &ShapePlan, findings: &[Finding], out: &mut BTreeSet<String>) {
        for f in findings {
            out.insert(plan.shape(f.shape).name.clone());
            if let Detail::Shape(s, nested) = &f.detail {
                let shape = plan.shape(*s);
                out.insert(shape.name.clone());
                violated(plan, nested, out);
                // Not a member of a closed list, found by one lookup: the
                // property of a one-property shape failed.
                if let ([p], true) = (shape.properties.as_slice(), nested.is_empty()) {
                    out.insert(plan.shape(*p).name.clone());
                }
            }
        }
    }

    #[test]
    fn every_sample_record_passes_both_engines() {
        let plan = ShapePlan::builtin().unwrap();
        let reference = ReferenceValidator::new().unwrap();
        for r in &samples() {
            assert!(
                plan.evaluate(&r.triples).is_empty(),
                "{}: {:?}",
                r.iri,
                plan.evaluate(&r.triples)
            );
            assert_eq!(by_rudof(&reference, r), BTreeSet::new(), "{}", r.iri);
        }
    }

    #[test]
    fn the_plan_and_rudof_agree_on_valid_and_broken_records() {
        let plan = ShapePlan::builtin().unwrap();
        let reference = ReferenceValidator::new().unwrap();
        // A few records of each class, from every node's samples.
        let mut per_class = HashMap::new();
        let samples: Vec<Record> = samples()
            .into_iter()
            .filter(|r| {
                let n = per_class.entry(r.class().map(|(_, c)| c)).or_insert(0);
                *n += 1;
                *n <= 3
            })
            .collect();
        let mut covered = BTreeSet::new();
        let mut broken = 0;
        for (name, mutate) in mutations() {
            for r in &samples {
                let m = mutate(r);
                let (new, old) = (by_plan(&plan, &m), by_rudof(&reference, &m));
                assert_eq!(new, old, "{name} on {}", r.iri);
                let findings = plan.evaluate(&m.triples);
                broken += usize::from(!findings.is_empty());
                violated(&plan, &findings, &mut covered);
            }
        }
        assert!(broken > 400, "{broken} broken records");
        // Every shape is violated at least once (a node shape through its
        // property shapes), but the tombstone's rdf:type (a tombstone is found
        // by its type) and the members of sh:or (reported by their parent).
        for (_, s) in plan.shapes() {
            if s.properties
                .iter()
                .any(|p| covered.contains(&plan.shape(*p).name))
            {
                covered.insert(s.name.clone());
            }
        }
        let unviolable = |s: &Shape| {
            let only_type = |s: &Shape| s.path.as_ref().is_some_and(|p| *p == rdf::TYPE);
            only_type(s)
                || (s.path.is_none() && s.name.starts_with("_:"))
                || (!s.properties.is_empty()
                    && s.properties.iter().all(|p| only_type(plan.shape(*p))))
        };
        let missed: Vec<&str> = plan
            .shapes()
            .filter(|(_, s)| !covered.contains(&s.name) && !unviolable(s))
            .map(|(_, s)| s.name.as_str())
            .collect();
        assert!(missed.is_empty(), "never violated: {missed:?}");
        assert_eq!(plan.shapes().filter(|(_, s)| unviolable(s)).count(), 4);
    }

    #[test]
    fn an_ill_formed_date_is_refused_where_rudof_lets_it_pass() {
        // rudof checks the lexical form of xsd:dateTime but not of xsd:date;
        // SHACL's sh:datatype asks for a well-formed literal of both.
        let plan = ShapePlan::builtin().unwrap();
        let reference = ReferenceValidator::new().unwrap();
        let r = set(
            &samples()[0],
            &dct("issued"),
            vec![typed("2021-02-29", xsd::DATE)],
        );
        assert!(by_rudof(&reference, &r).is_empty());
        let findings = plan.evaluate(&r.triples);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].component, Component::Or);
    }

    #[test]
    fn closed_lists_are_computed_once_from_the_reference_data() {
        let plan = ShapePlan::builtin().unwrap();
        let size = |name: &str| {
            let (id, _) = plan
                .shapes()
                .find(|(_, s)| s.name == format!("{CCIS}{name}"))
                .unwrap();
            plan.closed_list(id).map(|l| l.members.len())
        };
        assert_eq!(size("EuCountryShape"), Some(27));
        assert_eq!(size("EuLanguageShape"), Some(24));
        assert_eq!(size("ThemeShape"), Some(10));
        assert_eq!(size("AudienceShape"), Some(5));
        assert_eq!(size("StageShape"), Some(3));
        assert_eq!(size("ToolTypeShape"), Some(8));
        assert_eq!(size("LevelOfActionShape"), Some(4));
        assert_eq!(size("DecisionOutcomeShape"), Some(3));
        assert_eq!(size("ValidatorRoleShape"), Some(2));
        let themes = plan.closed_list_of_path(&dct("subject")).unwrap();
        assert_eq!(
            themes.scheme.as_ref().map(NamedNode::as_str),
            Some("https://w3id.org/ccis/ns#Themes")
        );
        assert_eq!(themes.file.as_deref(), Some("schemes.ttl"));
        assert!(plan.closed_list_of_path(&dct("title")).is_none());
    }

    #[test]
    fn constructs_the_plan_does_not_evaluate_are_refused() {
        let prefixes =
            "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://ex.example/> .\n";
        let refused = |body: &str| match ShapePlan::compile(&format!("{prefixes}{body}"), &[]) {
            Err(e @ PlanError::Unsupported { .. }) => e.to_string(),
            other => panic!("{body}: {other:?}"),
        };
        assert!(
            refused(
                "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:pattern \"^a\" ] ."
            )
            .contains("sh:pattern")
        );
        assert!(
            refused("ex:S sh:targetNode ex:n ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .")
                .contains("sh:targetNode")
        );
        assert!(refused("ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ] .").contains("sh:inversePath"));
        assert!(
            refused(
                "ex:S sh:targetClass ex:C ; sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ] ."
            )
            .contains("sh:path other than one predicate IRI")
        );
        assert!(refused("ex:S sh:targetClass ex:C ; sh:class ex:D .").contains("sh:class"));
        assert!(
            refused("ex:S sh:targetClass ex:C ; sh:severity sh:Warning ; sh:nodeKind sh:IRI .")
                .contains("sh:severity")
        );
        assert!(
            refused("ex:S sh:targetClass ex:C ; sh:node ex:T . ex:T sh:node ex:S .")
                .contains("recursive")
        );
        assert!(refused("ex:S a sh:NodeShape , <http://www.w3.org/2000/01/rdf-schema#Class> ; sh:nodeKind sh:IRI .").contains("implicit class target"));
        assert!(refused("ex:S sh:targetClass ex:C ; sh:minInclusive \"2020-01-01\"^^<http://www.w3.org/2001/XMLSchema#date> .").contains("non-numeric"));
        let malformed = ShapePlan::compile(
            &format!("{prefixes}ex:S sh:targetClass ex:C ; sh:minCount \"one\" ."),
            &[],
        );
        assert!(
            matches!(malformed, Err(PlanError::Malformed { .. })),
            "{malformed:?}"
        );
        let targeted = ShapePlan::compile(
            &format!("{prefixes}ex:S sh:targetClass ex:C ; sh:nodeKind sh:IRI ."),
            &[(
                "ref.ttl",
                "<https://ex.example/x> a <https://ex.example/C> .",
            )],
        );
        assert!(
            matches!(targeted, Err(PlanError::Reference(_))),
            "{targeted:?}"
        );
    }

    #[test]
    fn lexical_forms() {
        for ok in [
            "2020-02-29",
            "-0044-03-15",
            "12020-01-01",
            "2020-01-01Z",
            "2020-01-01+14:00",
        ] {
            let (d, z) = split_zone(ok);
            assert!(is_date(d) && is_zone(z), "{ok}");
        }
        for bad in [
            "2021-02-29",
            "2020-1-01",
            "20-01-01",
            "02020-01-01",
            "2020-13-01",
            "2020-01-01+15:00",
        ] {
            let (d, z) = split_zone(bad);
            assert!(!(is_date(d) && is_zone(z)), "{bad}");
        }
        for ok in [
            "10:00:00",
            "23:59:59.999",
            "24:00:00",
            "10:00:00Z",
            "10:00:00-05:30",
        ] {
            assert!(is_time_zoned(ok), "{ok}");
        }
        for bad in [
            "10:00",
            "24:00:01",
            "10:60:00",
            "10:00:00.",
            "10:00:00+5:00",
        ] {
            assert!(!is_time_zoned(bad), "{bad}");
        }
        assert!(is_integer("+007") && !is_integer("1.0") && !is_integer("") && !is_integer("-"));
        assert!(is_decimal("1.") && is_decimal(".5") && !is_decimal(".") && !is_decimal("1e3"));
    }
}
