//! Validators' checklists, read from Turtle: checklists are data.
//!
//! A checklist is a `skos:ConceptScheme` also typed `ccis:Checklist`; its
//! criteria are the `skos:Concept`s `skos:inScheme` it, labelled by
//! `skos:prefLabel`, with guidance in `skos:scopeNote` and their order given
//! by `skos:notation` ("1", "2" … or "1.1", "1.2" …). Categories, when a grid
//! has some, are `skos:Collection`s whose `skos:member`s are criteria.
//! `vocab/checklists/sim.ttl` documents the pattern; the two built-in
//! checklists are embedded, and a centre adds its own by dropping a Turtle
//! file in a directory ([`load_dir`], [`all`]).

use crate::vocab::{CCIS, SKOS};
use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::vocab::rdf;
use oxrdf::{NamedOrBlankNode, Term, Triple};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// `vocab/checklists/sim.ttl`: the Social Innovation Match validators' checklist.
pub const SIM_TTL: &str = include_str!("../../../vocab/checklists/sim.ttl");
/// `vocab/checklists/csess.ttl`: the structure of the French CSESS 2017 grid.
pub const CSESS_TTL: &str = include_str!("../../../vocab/checklists/csess.ttl");
/// The built-in checklists, by file name.
pub const BUILTIN: &[(&str, &str)] = &[("sim.ttl", SIM_TTL), ("csess.ttl", CSESS_TTL)];
/// The IRI of the Social Innovation Match validators' checklist.
pub const SIM: &str = "https://w3id.org/ccis/checklists/sim";
/// The IRI of the CSESS 2017 grid (structure).
pub const CSESS: &str = "https://w3id.org/ccis/checklists/csess-2017";

/// Texts by language tag (lower case).
pub type Texts = BTreeMap<String, String>;

/// A validators' checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    /// Its IRI (the concept scheme; what a decision's `prov:hadPlan` names).
    pub iri: String,
    /// Its name, by language.
    pub labels: Texts,
    /// Its categories, in order (none for a flat list).
    pub categories: Vec<Category>,
    /// Its criteria, in order.
    pub criteria: Vec<Criterion>,
    /// The file it was read from.
    pub file: String,
}

/// A category of criteria.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Its IRI (a `skos:Collection`).
    pub iri: String,
    /// Its name, by language.
    pub labels: Texts,
}

/// One criterion a validator assesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// Its IRI (a `skos:Concept`; what an EARL assertion's `earl:test` names).
    pub iri: String,
    /// The IRI of its category, if the checklist has categories.
    pub category: Option<String>,
    /// What is assessed, by language.
    pub labels: Texts,
    /// How to assess it, by language.
    pub guidance: Texts,
}

impl Checklist {
    /// Its short name: the file name without `.ttl` (`sim`, `csess`).
    pub fn name(&self) -> &str {
        std::path::Path::new(&self.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(&self.file)
    }

    /// The criterion with this IRI.
    pub fn criterion(&self, iri: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.iri == iri)
    }
}

/// Why a checklist file cannot be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    /// The file cannot be read.
    #[error("cannot read checklist {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not Turtle.
    #[error("checklist {file} is not valid Turtle: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (with the line).
        message: String,
    },
    /// No resource typed `ccis:Checklist`.
    #[error(
        "checklist {file} has no checklist: one skos:ConceptScheme must be typed ccis:Checklist (<{CCIS}Checklist>)"
    )]
    NoChecklist {
        /// The file.
        file: String,
    },
    /// More than one checklist in one file.
    #[error("checklist {file} defines {} checklists ({}); put each in its own file", .checklists.len(), .checklists.join(", "))]
    SeveralChecklists {
        /// The file.
        file: String,
        /// Their IRIs.
        checklists: Vec<String>,
    },
    /// A checklist, category or criterion without a label.
    #[error("checklist {file}: <{subject}> has no skos:prefLabel with a language tag")]
    NoLabel {
        /// The file.
        file: String,
        /// What lacks it.
        subject: String,
    },
    /// A text without a language tag.
    #[error("checklist {file}: a {property} of <{subject}> has no language tag (write \"…\"@en)")]
    UntaggedText {
        /// The file.
        file: String,
        /// Its subject.
        subject: String,
        /// `skos:prefLabel` or `skos:scopeNote`.
        property: &'static str,
    },
    /// Two texts in one language.
    #[error("checklist {file}: <{subject}> has two {property} in language {language}")]
    DuplicateLanguage {
        /// The file.
        file: String,
        /// Their subject.
        subject: String,
        /// `skos:prefLabel` or `skos:scopeNote`.
        property: &'static str,
        /// The language.
        language: String,
    },
    /// A checklist without criteria.
    #[error(
        "checklist {file}: <{checklist}> has no criteria (skos:Concepts with skos:inScheme <{checklist}>)"
    )]
    NoCriteria {
        /// The file.
        file: String,
        /// The checklist.
        checklist: String,
    },
    /// A category member that is not a criterion of the checklist.
    #[error(
        "checklist {file}: category <{category}> lists <{member}>, which is not a criterion of the checklist"
    )]
    NotACriterion {
        /// The file.
        file: String,
        /// The category.
        category: String,
        /// The member.
        member: String,
    },
    /// A criterion in two categories.
    #[error(
        "checklist {file}: criterion <{criterion}> is in two categories, <{first}> and <{second}>"
    )]
    TwoCategories {
        /// The file.
        file: String,
        /// The criterion.
        criterion: String,
        /// One category.
        first: String,
        /// The other.
        second: String,
    },
    /// The same checklist IRI in two files.
    #[error("checklist <{iri}> is defined twice, in {first} and in {second}")]
    Duplicate {
        /// The IRI.
        iri: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
}

const PREF_LABEL: &str = "skos:prefLabel";
const SCOPE_NOTE: &str = "skos:scopeNote";

/// The statements of a file, by subject IRI.
struct Index {
    file: String,
    about: HashMap<String, Vec<(String, Term)>>,
}

impl Index {
    fn objects<'a>(&'a self, subject: &str, predicate: &'a str) -> impl Iterator<Item = &'a Term> {
        self.about
            .get(subject)
            .into_iter()
            .flatten()
            .filter(move |(p, _)| p == predicate)
            .map(|(_, o)| o)
    }

    fn iris<'a>(&'a self, subject: &str, predicate: &'a str) -> impl Iterator<Item = &'a str> {
        self.objects(subject, predicate).filter_map(|o| match o {
            Term::NamedNode(n) => Some(n.as_str()),
            _ => None,
        })
    }

    fn subjects_where(&self, predicate: &str, object: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .about
            .iter()
            .filter(|(_, po)| {
                po.iter().any(|(p, o)| {
                    p == predicate && matches!(o, Term::NamedNode(n) if n.as_str() == object)
                })
            })
            .map(|(s, _)| s.clone())
            .collect();
        out.sort();
        out
    }

    fn notation(&self, subject: &str) -> Option<&str> {
        let notation = format!("{SKOS}notation");
        self.about.get(subject)?.iter().find_map(|(p, o)| match o {
            Term::Literal(l) if *p == notation => Some(l.value()),
            _ => None,
        })
    }

    fn texts(
        &self,
        subject: &str,
        local: &str,
        property: &'static str,
    ) -> Result<Texts, ChecklistError> {
        let mut out = Texts::new();
        for o in self.objects(subject, &format!("{SKOS}{local}")) {
            let Term::Literal(l) = o else { continue };
            let Some(language) = l.language() else {
                return Err(ChecklistError::UntaggedText {
                    file: self.file.clone(),
                    subject: subject.to_owned(),
                    property,
                });
            };
            if out
                .insert(language.to_ascii_lowercase(), l.value().to_owned())
                .is_some()
            {
                return Err(ChecklistError::DuplicateLanguage {
                    file: self.file.clone(),
                    subject: subject.to_owned(),
                    property,
                    language: language.to_owned(),
                });
            }
        }
        Ok(out)
    }

    fn labels(&self, subject: &str) -> Result<Texts, ChecklistError> {
        let labels = self.texts(subject, "prefLabel", PREF_LABEL)?;
        if labels.is_empty() {
            return Err(ChecklistError::NoLabel {
                file: self.file.clone(),
                subject: subject.to_owned(),
            });
        }
        Ok(labels)
    }
}

/// Orders notations such as "2" < "10" and "1.2" < "1.10": numeric parts
/// as numbers, others as text; a missing notation sorts last.
fn by_notation(a: (Option<&str>, &str), b: (Option<&str>, &str)) -> Ordering {
    let parts = |n: &str| -> Vec<(u64, String)> {
        n.split('.')
            .map(|p| (p.parse().unwrap_or(u64::MAX), p.to_owned()))
            .collect()
    };
    match (a.0, b.0) {
        (Some(x), Some(y)) => parts(x).cmp(&parts(y)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.1.cmp(b.1))
}

impl Checklist {
    /// Reads the one checklist of a Turtle file; `file` names it in errors.
    pub fn parse(file: &str, ttl: &str) -> Result<Self, ChecklistError> {
        let triples: Vec<Triple> = RdfParser::from_format(RdfFormat::Turtle)
            .for_slice(ttl.as_bytes())
            .map(|q| q.map(Triple::from))
            .collect::<Result<_, _>>()
            .map_err(|e| ChecklistError::Parse {
                file: file.to_owned(),
                message: e.to_string(),
            })?;
        let mut about: HashMap<String, Vec<(String, Term)>> = HashMap::new();
        for t in triples {
            if let NamedOrBlankNode::NamedNode(s) = t.subject {
                about
                    .entry(s.into_string())
                    .or_default()
                    .push((t.predicate.into_string(), t.object));
            }
        }
        let index = Index {
            file: file.to_owned(),
            about,
        };
        let rdf_type = rdf::TYPE.as_str();
        let checklists = index.subjects_where(rdf_type, &format!("{CCIS}Checklist"));
        let iri = match checklists.as_slice() {
            [] => {
                return Err(ChecklistError::NoChecklist {
                    file: file.to_owned(),
                });
            }
            [one] => one.clone(),
            _ => {
                return Err(ChecklistError::SeveralChecklists {
                    file: file.to_owned(),
                    checklists,
                });
            }
        };
        let labels = index.labels(&iri)?;
        let concept = format!("{SKOS}Concept");
        let mut criteria_iris: Vec<String> = index
            .subjects_where(&format!("{SKOS}inScheme"), &iri)
            .into_iter()
            .filter(|s| index.iris(s, rdf_type).any(|c| c == concept))
            .collect();
        if criteria_iris.is_empty() {
            return Err(ChecklistError::NoCriteria {
                file: file.to_owned(),
                checklist: iri,
            });
        }
        criteria_iris.sort_by(|a, b| by_notation((index.notation(a), a), (index.notation(b), b)));
        // Categories: the collections whose members are criteria of this checklist.
        let mut category_iris = index.subjects_where(rdf_type, &format!("{SKOS}Collection"));
        category_iris.sort_by(|a, b| by_notation((index.notation(a), a), (index.notation(b), b)));
        let member = format!("{SKOS}member");
        let mut categories = Vec::new();
        let mut category_of: HashMap<&str, &str> = HashMap::new();
        for c in &category_iris {
            for m in index.iris(c, &member) {
                let Some(criterion) = criteria_iris.iter().find(|x| *x == m) else {
                    return Err(ChecklistError::NotACriterion {
                        file: file.to_owned(),
                        category: c.clone(),
                        member: m.to_owned(),
                    });
                };
                if let Some(first) = category_of.insert(criterion, c) {
                    return Err(ChecklistError::TwoCategories {
                        file: file.to_owned(),
                        criterion: criterion.clone(),
                        first: first.to_owned(),
                        second: c.clone(),
                    });
                }
            }
            categories.push(Category {
                iri: c.clone(),
                labels: index.labels(c)?,
            });
        }
        let criteria = criteria_iris
            .iter()
            .map(|c| {
                Ok(Criterion {
                    iri: c.clone(),
                    category: category_of.get(c.as_str()).map(|s| (*s).to_owned()),
                    labels: index.labels(c)?,
                    guidance: index.texts(c, "scopeNote", SCOPE_NOTE)?,
                })
            })
            .collect::<Result<_, ChecklistError>>()?;
        Ok(Self {
            iri,
            labels,
            categories,
            criteria,
            file: file.to_owned(),
        })
    }
}

/// The built-in checklists (SIM, then CSESS).
pub fn builtin() -> Result<Vec<Checklist>, ChecklistError> {
    BUILTIN
        .iter()
        .map(|(file, ttl)| Checklist::parse(file, ttl))
        .collect()
}

/// The checklists of the `*.ttl` files of a directory, by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Checklist>, ChecklistError> {
    let read_error = |source| ChecklistError::Read {
        file: dir.display().to_string(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    files.retain(|p| p.extension().is_some_and(|e| e == "ttl"));
    files.sort();
    files
        .iter()
        .map(|path| {
            let file = path.display().to_string();
            let ttl = std::fs::read_to_string(path).map_err(|source| ChecklistError::Read {
                file: file.clone(),
                source,
            })?;
            Checklist::parse(&file, &ttl)
        })
        .collect()
}

/// The built-in checklists and those of `extra`, if given; one IRI may
/// not be defined twice.
pub fn all(extra: Option<&Path>) -> Result<Vec<Checklist>, ChecklistError> {
    let mut out = builtin()?;
    if let Some(dir) = extra {
        for c in load_dir(dir)? {
            if let Some(first) = out.iter().find(|o| o.iri == c.iri) {
                return Err(ChecklistError::Duplicate {
                    iri: c.iri,
                    first: first.file.clone(),
                    second: c.file,
                });
            }
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANGUAGES: [&str; 6] = ["en", "fr", "es", "sv", "lv", "lt"];

    fn six(texts: &Texts, what: &str) {
        for l in LANGUAGES {
            assert!(
                texts.get(l).is_some_and(|t| !t.trim().is_empty()),
                "{what}: no {l} text"
            );
        }
    }

    #[test]
    fn the_built_in_checklists_load_labelled_in_six_languages() {
        let all = builtin().unwrap();
        let iris: Vec<&str> = all.iter().map(|c| c.iri.as_str()).collect();
        assert_eq!(iris, [SIM, CSESS]);
        for c in &all {
            six(&c.labels, &c.iri);
            for k in &c.categories {
                six(&k.labels, &k.iri);
            }
            for k in &c.criteria {
                six(&k.labels, &k.iri);
                six(&k.guidance, &k.iri);
            }
        }
        let sim = &all[0];
        let names: Vec<&str> = sim
            .criteria
            .iter()
            .map(|c| c.labels["en"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Scope of the problem addressed",
                "Approach and methodology",
                "Key results and benefits",
                "Potential for scaling up and transfer"
            ]
        );
        assert!(sim.categories.is_empty());
        assert!(sim.criteria.iter().all(|c| c.category.is_none()));
        let csess = &all[1];
        let categories: Vec<&str> = csess
            .categories
            .iter()
            .map(|c| c.labels["en"].as_str())
            .collect();
        assert_eq!(
            categories,
            [
                "Social needs and stakeholder involvement",
                "Other positive effects",
                "Experimentation and risk-taking"
            ]
        );
        // Every criterion is in a category, and in notation order.
        let per_category: Vec<usize> = csess
            .categories
            .iter()
            .map(|k| {
                csess
                    .criteria
                    .iter()
                    .filter(|c| c.category.as_deref() == Some(k.iri.as_str()))
                    .count()
            })
            .collect();
        assert_eq!(per_category, [3, 3, 3]);
        assert!(csess.criteria[0].iri.ends_with("#unmet-needs"));
        assert!(csess.criteria[8].iri.ends_with("#risk-taking"));
        assert!(csess.criterion(&csess.criteria[4].iri).is_some());
    }

    const PREFIXES: &str = "@prefix ccis: <https://w3id.org/ccis/ns#> .\n\
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
        @prefix ex: <https://centre.example/grid#> .\n";

    fn parse(body: &str) -> Result<Checklist, ChecklistError> {
        Checklist::parse("grid.ttl", &format!("{PREFIXES}{body}"))
    }

    const GRID: &str =
        "ex:grid a skos:ConceptScheme , ccis:Checklist ; skos:prefLabel \"Grid\"@en .\n";

    #[test]
    fn a_centre_adds_a_checklist_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("grid.ttl"),
            format!(
                "{PREFIXES}{GRID}\
                 ex:b a skos:Concept ; skos:inScheme ex:grid ; skos:notation \"10\" ; skos:prefLabel \"B\"@en .\n\
                 ex:a a skos:Concept ; skos:inScheme ex:grid ; skos:notation \"2\" ; skos:prefLabel \"A\"@en ; skos:scopeNote \"Look\"@en .\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a checklist").unwrap();
        let loaded = all(Some(dir.path())).unwrap();
        assert_eq!(loaded.len(), 3);
        let grid = &loaded[2];
        assert_eq!(grid.iri, "https://centre.example/grid#grid");
        let order: Vec<&str> = grid
            .criteria
            .iter()
            .map(|c| c.labels["en"].as_str())
            .collect();
        assert_eq!(order, ["A", "B"], "2 before 10");
        assert_eq!(grid.criteria[0].guidance["en"], "Look");
        assert!(grid.criteria[1].guidance.is_empty());
        // The same IRI twice is refused, naming both files.
        std::fs::write(dir.path().join("sim-copy.ttl"), SIM_TTL).unwrap();
        let err = all(Some(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains(SIM) && err.contains("sim.ttl") && err.contains("sim-copy.ttl"),
            "{err}"
        );
    }

    #[test]
    fn malformed_checklists_are_refused_with_the_file_and_the_fault() {
        let err = |body: &str| parse(body).unwrap_err();
        let e = err("ex:grid a ccis:Checklist ; skos:prefLabel \"Grid\"@en");
        assert!(matches!(e, ChecklistError::Parse { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("checklist grid.ttl is not valid Turtle"),
            "{e}"
        );
        assert!(matches!(
            err("ex:grid a skos:ConceptScheme ; skos:prefLabel \"Grid\"@en ."),
            ChecklistError::NoChecklist { .. }
        ));
        let e = err(&format!(
            "{GRID}ex:other a ccis:Checklist ; skos:prefLabel \"O\"@en ."
        ));
        assert!(
            matches!(e, ChecklistError::SeveralChecklists { ref checklists, .. } if checklists.len() == 2)
        );
        assert!(matches!(err(GRID), ChecklistError::NoCriteria { .. }));
        let e = err(&format!(
            "{GRID}ex:a a skos:Concept ; skos:inScheme ex:grid ."
        ));
        assert_eq!(
            e.to_string(),
            "checklist grid.ttl: <https://centre.example/grid#a> has no skos:prefLabel with a language tag"
        );
        let e = err(&format!(
            "{GRID}ex:a a skos:Concept ; skos:inScheme ex:grid ; skos:prefLabel \"A\" ."
        ));
        assert!(
            matches!(
                e,
                ChecklistError::UntaggedText {
                    property: PREF_LABEL,
                    ..
                }
            ),
            "{e}"
        );
        let e = err(&format!(
            "{GRID}ex:a a skos:Concept ; skos:inScheme ex:grid ; skos:prefLabel \"A\"@en , \"A2\"@en ."
        ));
        assert!(
            matches!(e, ChecklistError::DuplicateLanguage { ref language, .. } if language == "en"),
            "{e}"
        );
        let e = err(&format!(
            "{GRID}ex:a a skos:Concept ; skos:inScheme ex:grid ; skos:prefLabel \"A\"@en .\n\
             ex:k a skos:Collection ; skos:prefLabel \"K\"@en ; skos:member ex:a , ex:z ."
        ));
        assert!(
            matches!(e, ChecklistError::NotACriterion { ref member, .. } if member.ends_with("#z")),
            "{e}"
        );
        let e = err(&format!(
            "{GRID}ex:a a skos:Concept ; skos:inScheme ex:grid ; skos:prefLabel \"A\"@en .\n\
             ex:k a skos:Collection ; skos:prefLabel \"K\"@en ; skos:member ex:a .\n\
             ex:l a skos:Collection ; skos:prefLabel \"L\"@en ; skos:member ex:a ."
        ));
        assert!(matches!(e, ChecklistError::TwoCategories { .. }), "{e}");
        let missing = tempfile::tempdir().unwrap().path().join("missing");
        let e = load_dir(&missing).unwrap_err();
        assert!(matches!(e, ChecklistError::Read { .. }), "{e}");
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
