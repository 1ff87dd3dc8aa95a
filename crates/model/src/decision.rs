//! A validation decision and its record.
//!
//! A decision `D` is a record of type `ccis:Validation` (a `prov:Activity`);
//! its parts are fragments of its IRI, so it is signed, served and harvested
//! like every record:
//!
//! ```text
//! D  a ccis:Validation, prov:Activity ;
//!    prov:used D#used ; prov:qualifiedAssociation D#association ;
//!    prov:wasAssociatedWith V ; prov:generated D#assertion-1, … ;
//!    ccis:outcome ccis:outcome-validated ; ccis:rationale "…"@en ;
//!    prov:endedAtTime "…"^^xsd:dateTime .
//! D#used a prov:Entity ; prov:specializationOf I ; ccis:version 3 ;
//!    sec:digestMultibase "uEiB…"^^sec:multibase .
//! D#association a prov:Association ; prov:agent V ;
//!    prov:hadRole ccis:role-national-validator ; prov:hadPlan C .
//! D#assertion-1 a earl:Assertion ; earl:assertedBy V ; earl:subject D#used ;
//!    earl:test C#criterion ; earl:result D#result-1 ; earl:mode earl:manual .
//! D#result-1 a earl:TestResult ; earl:outcome earl:passed ; dct:description "…"@en .
//! ```
//!
//! `I` is the initiative record, `V` the validator node (`{base}/node`), `C`
//! the checklist. The digest is that of the exact signed content of version
//! 3 of `I`: SHA-256 of its RDFC-1.0 canonical N-Quads (the document its
//! proof signs), as a multihash (`0x12 0x20` ‖ digest) in multibase
//! base64url without padding (`u…`), as the W3C Verifiable Credentials 2.0
//! data model and Data Integrity 1.0 write `digestMultibase`.

use crate::canon::{self, CanonError};
use crate::checklist::Texts;
use crate::record::Record;
use crate::vocab;
use crate::workflow::{DecisionSummary, InitiativeVersion, Level, Outcome, Role};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Term, Triple};
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The datatype of multibase values (`sec:multibase`).
pub const SEC_MULTIBASE: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("https://w3id.org/security#multibase");

/// The multihash header of a SHA-256 digest: code 0x12, length 32.
const SHA2_256_MULTIHASH: [u8; 2] = [0x12, 0x20];

/// How one criterion was judged (`earl:outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CriterionOutcome {
    /// `earl:passed`
    Passed,
    /// `earl:failed`
    Failed,
    /// `earl:cantTell`
    CantTell,
}

impl CriterionOutcome {
    /// Every criterion outcome.
    pub const ALL: [CriterionOutcome; 3] = [Self::Passed, Self::Failed, Self::CantTell];

    /// The EARL IRI.
    pub fn iri(self) -> String {
        let local = match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::CantTell => "cantTell",
        };
        format!("{}{local}", vocab::EARL)
    }

    /// The outcome named by an EARL IRI.
    pub fn from_iri(iri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.iri() == iri)
    }
}

/// The version of an initiative a decision used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedVersion {
    /// The initiative record.
    pub initiative: NamedNode,
    /// Its version.
    pub version: u64,
    /// `digestMultibase` of that version's signed content ([`version_digest`]).
    pub digest: String,
}

/// The assessment of one criterion: an EARL assertion and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The criterion (`earl:test`).
    pub criterion: NamedNode,
    /// Passed, failed or cannot tell.
    pub outcome: CriterionOutcome,
    /// The validator's comment, by language (may be empty).
    pub comment: Texts,
}

/// A validation decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The decision record's IRI.
    pub iri: NamedNode,
    /// The version judged.
    pub used: UsedVersion,
    /// The validator node (`{base}/node`).
    pub validator: NamedNode,
    /// The role it decided in: the level of the decision.
    pub role: Role,
    /// The checklist it followed (`prov:hadPlan`).
    pub checklist: NamedNode,
    /// One assessment per criterion, in the order they are written.
    pub assessments: Vec<Assessment>,
    /// What was decided.
    pub outcome: Outcome,
    /// Why, by language.
    pub rationale: Texts,
    /// When.
    pub ended_at: OffsetDateTime,
}

/// Why a record is not a decision, or a decision cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// The record is not typed `ccis:Validation`.
    #[error("record <{0}> is not a validation decision (rdf:type ccis:Validation)")]
    NotAValidation(String),
    /// A statement is missing.
    #[error("decision <{record}>: <{subject}> has no {property}")]
    Missing {
        /// The decision record.
        record: String,
        /// The node lacking it.
        subject: String,
        /// The property.
        property: &'static str,
    },
    /// A property has several values where one is expected.
    #[error("decision <{record}>: <{subject}> has {count} values of {property}; one is expected")]
    Several {
        /// The decision record.
        record: String,
        /// The node.
        subject: String,
        /// The property.
        property: &'static str,
        /// How many.
        count: usize,
    },
    /// A value is not what is expected.
    #[error("decision <{record}>: {property} of <{subject}> is {value}; expected {expected}")]
    Invalid {
        /// The decision record.
        record: String,
        /// The node.
        subject: String,
        /// The property.
        property: &'static str,
        /// The value found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// `digestMultibase` of a record version's signed content: SHA-256 of the
/// RDFC-1.0 canonical N-Quads of its document, as a multibase multihash.
pub fn version_digest(record: &Record, limits: &canon::Limits) -> Result<String, CanonError> {
    Ok(digest_multibase(&canon::document_sha256(
        &record.triples,
        limits,
    )?))
}

/// An initiative version as the workflow needs it: IRI, version, digest of
/// its signed content, level of action (`ccis:levelOfAction`; national when
/// a tombstone no longer says), and whether it is a withdrawal.
pub fn initiative_version(
    record: &Record,
    limits: &canon::Limits,
) -> Result<InitiativeVersion, CanonError> {
    let level = record
        .triples
        .iter()
        .filter(|t| t.predicate.as_ref() == vocab::LEVEL_OF_ACTION)
        .find_map(|t| match &t.object {
            Term::NamedNode(n) => Level::from_iri(n.as_str()),
            _ => None,
        })
        .unwrap_or(Level::National);
    Ok(InitiativeVersion {
        iri: record.iri.as_str().to_owned(),
        version: record.version().unwrap_or(0),
        digest: version_digest(record, limits)?,
        level,
        withdrawn: record.is_withdrawn(),
    })
}

/// Whether a record is an initiative (`ccis:Initiative`).
pub fn is_initiative(record: &Record) -> bool {
    record.class().is_some_and(|(c, _)| c == vocab::INITIATIVE)
}

/// Whether a record is a validation decision (`ccis:Validation`).
pub fn is_decision(record: &Record) -> bool {
    record.class().is_some_and(|(c, _)| c == vocab::VALIDATION)
}

/// A SHA-256 digest as a multihash in multibase base64url without padding (`u…`).
pub fn digest_multibase(sha256: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&SHA2_256_MULTIHASH);
    bytes.extend_from_slice(sha256);
    format!("u{}", base64url_encode(&bytes))
}

/// The SHA-256 digest of a `u…` multibase multihash, if it is one.
pub fn sha256_of_multibase(text: &str) -> Option<[u8; 32]> {
    let bytes = base64url_decode(text.strip_prefix('u')?)?;
    let digest = bytes.strip_prefix(&SHA2_256_MULTIHASH[..])?;
    digest.try_into().ok()
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = BASE64URL.iter().position(|x| x == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
        // The unused low bits of a final partial chunk must be zero.
        let used = 8 * (chunk.len() - 1);
        if chunk.len() < 4 && n & ((1 << (24 - used)) - 1) != 0 {
            return None;
        }
    }
    Some(out)
}

fn language_literal(text: &str, language: &str) -> Literal {
    Literal::new_language_tagged_literal(text, language)
        .unwrap_or_else(|_| Literal::new_simple_literal(text))
}

impl Decision {
    fn fragment(&self, name: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("{}#{name}", self.iri.as_str()))
    }

    /// The decision as a record (not yet stamped with its version).
    ///
    /// A comment or rationale whose language tag is not well-formed is
    /// written without one, which the shapes then refuse.
    pub fn to_record(&self) -> Record {
        let d = &self.iri;
        let used = self.fragment("used");
        let association = self.fragment("association");
        let mut t = vec![
            Triple::new(d.clone(), rdf::TYPE, vocab::VALIDATION),
            Triple::new(d.clone(), rdf::TYPE, vocab::PROV_ACTIVITY),
            Triple::new(d.clone(), vocab::PROV_USED, used.clone()),
            Triple::new(
                d.clone(),
                vocab::PROV_QUALIFIED_ASSOCIATION,
                association.clone(),
            ),
            Triple::new(
                d.clone(),
                vocab::PROV_WAS_ASSOCIATED_WITH,
                self.validator.clone(),
            ),
            Triple::new(
                d.clone(),
                vocab::OUTCOME,
                NamedNode::new_unchecked(self.outcome.iri()),
            ),
            Triple::new(
                d.clone(),
                vocab::PROV_ENDED_AT_TIME,
                Literal::new_typed_literal(format_time(self.ended_at), xsd::DATE_TIME),
            ),
            Triple::new(used.clone(), rdf::TYPE, vocab::PROV_ENTITY),
            Triple::new(
                used.clone(),
                vocab::PROV_SPECIALIZATION_OF,
                self.used.initiative.clone(),
            ),
            Triple::new(
                used.clone(),
                vocab::VERSION,
                Literal::new_typed_literal(self.used.version.to_string(), xsd::INTEGER),
            ),
            Triple::new(
                used.clone(),
                vocab::SEC_DIGEST_MULTIBASE,
                Literal::new_typed_literal(&self.used.digest, SEC_MULTIBASE),
            ),
            Triple::new(association.clone(), rdf::TYPE, vocab::PROV_ASSOCIATION),
            Triple::new(
                association.clone(),
                vocab::PROV_AGENT,
                self.validator.clone(),
            ),
            Triple::new(
                association.clone(),
                vocab::PROV_HAD_ROLE,
                NamedNode::new_unchecked(self.role.iri()),
            ),
            Triple::new(association, vocab::PROV_HAD_PLAN, self.checklist.clone()),
        ];
        for (language, text) in &self.rationale {
            t.push(Triple::new(
                d.clone(),
                vocab::RATIONALE,
                language_literal(text, language),
            ));
        }
        for (n, a) in self.assessments.iter().enumerate() {
            let assertion = self.fragment(&format!("assertion-{}", n + 1));
            let result = self.fragment(&format!("result-{}", n + 1));
            t.extend([
                Triple::new(d.clone(), vocab::PROV_GENERATED, assertion.clone()),
                Triple::new(assertion.clone(), rdf::TYPE, vocab::EARL_ASSERTION),
                Triple::new(
                    assertion.clone(),
                    vocab::EARL_ASSERTED_BY,
                    self.validator.clone(),
                ),
                Triple::new(assertion.clone(), vocab::EARL_SUBJECT, used.clone()),
                Triple::new(assertion.clone(), vocab::EARL_TEST, a.criterion.clone()),
                Triple::new(assertion.clone(), vocab::EARL_RESULT, result.clone()),
                Triple::new(assertion, vocab::EARL_MODE, vocab::EARL_MANUAL),
                Triple::new(result.clone(), rdf::TYPE, vocab::EARL_TEST_RESULT),
                Triple::new(
                    result.clone(),
                    vocab::EARL_OUTCOME,
                    NamedNode::new_unchecked(a.outcome.iri()),
                ),
            ]);
            for (language, text) in &a.comment {
                t.push(Triple::new(
                    result.clone(),
                    vocab::DCT_DESCRIPTION,
                    language_literal(text, language),
                ));
            }
        }
        Record::new(self.iri.clone(), t)
    }

    /// Reads a decision from a record's graph.
    pub fn from_record(record: &Record) -> Result<Self, DecisionError> {
        let r = Reader { record };
        let d = record.iri.as_str();
        if !r
            .objects(d, rdf::TYPE)
            .any(|o| matches!(o, Term::NamedNode(n) if n.as_ref() == vocab::VALIDATION))
        {
            return Err(DecisionError::NotAValidation(d.to_owned()));
        }
        let used = r.one_iri(d, vocab::PROV_USED, "prov:used")?;
        let association = r.one_iri(
            d,
            vocab::PROV_QUALIFIED_ASSOCIATION,
            "prov:qualifiedAssociation",
        )?;
        let outcome_iri = r.one_iri(d, vocab::OUTCOME, "ccis:outcome")?;
        let outcome = Outcome::from_iri(outcome_iri.as_str()).ok_or_else(|| {
            r.invalid(
                d,
                "ccis:outcome",
                &outcome_iri,
                "a concept of ccis:DecisionOutcomes",
            )
        })?;
        let ended = r.one_literal(d, vocab::PROV_ENDED_AT_TIME, "prov:endedAtTime")?;
        let ended_at = (ended.datatype() == xsd::DATE_TIME)
            .then(|| OffsetDateTime::parse(ended.value(), &Rfc3339).ok())
            .flatten()
            .ok_or_else(|| {
                r.invalid(
                    d,
                    "prov:endedAtTime",
                    &ended,
                    "an xsd:dateTime with a time zone",
                )
            })?;
        let rationale = r.texts(d, vocab::RATIONALE, "ccis:rationale")?;
        if rationale.is_empty() {
            return Err(r.missing(d, "ccis:rationale"));
        }

        let u = used.as_str();
        let initiative = r.one_iri(u, vocab::PROV_SPECIALIZATION_OF, "prov:specializationOf")?;
        let version_literal = r.one_literal(u, vocab::VERSION, "ccis:version")?;
        let version = version_literal
            .value()
            .parse::<u64>()
            .ok()
            .filter(|v| *v > 0 && version_literal.datatype() == xsd::INTEGER)
            .ok_or_else(|| {
                r.invalid(
                    u,
                    "ccis:version",
                    &version_literal,
                    "a positive xsd:integer",
                )
            })?;
        let digest_literal =
            r.one_literal(u, vocab::SEC_DIGEST_MULTIBASE, "sec:digestMultibase")?;
        if digest_literal.datatype() != SEC_MULTIBASE {
            return Err(r.invalid(
                u,
                "sec:digestMultibase",
                &digest_literal,
                "a sec:multibase literal",
            ));
        }

        let a = association.as_str();
        let validator = r.one_iri(a, vocab::PROV_AGENT, "prov:agent")?;
        let role_iri = r.one_iri(a, vocab::PROV_HAD_ROLE, "prov:hadRole")?;
        let role = Role::from_iri(role_iri.as_str()).ok_or_else(|| {
            r.invalid(
                a,
                "prov:hadRole",
                &role_iri,
                "a concept of ccis:ValidatorRoles",
            )
        })?;
        let checklist = r.one_iri(a, vocab::PROV_HAD_PLAN, "prov:hadPlan")?;

        let mut assertions: Vec<NamedNode> = r
            .objects(d, vocab::PROV_GENERATED)
            .map(|o| match o {
                Term::NamedNode(n) => Ok(n.clone()),
                other => Err(r.invalid(d, "prov:generated", other, "an IRI")),
            })
            .collect::<Result<_, _>>()?;
        if assertions.is_empty() {
            return Err(r.missing(d, "prov:generated"));
        }
        assertions.sort_by(|x, y| natural(x.as_str(), y.as_str()));
        let assessments = assertions
            .iter()
            .map(|assertion| {
                let s = assertion.as_str();
                let criterion = r.one_iri(s, vocab::EARL_TEST, "earl:test")?;
                let result = r.one_iri(s, vocab::EARL_RESULT, "earl:result")?;
                let outcome_iri =
                    r.one_iri(result.as_str(), vocab::EARL_OUTCOME, "earl:outcome")?;
                let outcome =
                    CriterionOutcome::from_iri(outcome_iri.as_str()).ok_or_else(|| {
                        r.invalid(
                            result.as_str(),
                            "earl:outcome",
                            &outcome_iri,
                            "earl:passed, earl:failed or earl:cantTell",
                        )
                    })?;
                Ok(Assessment {
                    criterion,
                    outcome,
                    comment: r.texts(result.as_str(), vocab::DCT_DESCRIPTION, "dct:description")?,
                })
            })
            .collect::<Result<_, DecisionError>>()?;
        Ok(Self {
            iri: record.iri.clone(),
            used: UsedVersion {
                initiative,
                version,
                digest: digest_literal.value().to_owned(),
            },
            validator,
            role,
            checklist,
            assessments,
            outcome,
            rationale,
            ended_at,
        })
    }

    /// What the workflow needs of this decision.
    pub fn summary(&self) -> DecisionSummary {
        DecisionSummary {
            iri: self.iri.as_str().to_owned(),
            initiative: self.used.initiative.as_str().to_owned(),
            version: self.used.version,
            digest: self.used.digest.clone(),
            role: self.role,
            outcome: self.outcome,
            ended_at: self.ended_at,
        }
    }
}

/// `prov:endedAtTime` as written: RFC 3339, which is a valid xsd:dateTime.
fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Compares strings with their runs of digits as numbers ("a-2" < "a-10").
fn natural(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    fn key(s: &str) -> Vec<(Option<u128>, &str)> {
        runs(s)
            .into_iter()
            .map(|(digits, r)| (digits.then(|| r.parse().ok()).flatten(), r))
            .collect()
    }
    if a.is_empty() || b.is_empty() {
        return a.cmp(b);
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

struct Reader<'a> {
    record: &'a Record,
}

impl<'a> Reader<'a> {
    fn objects(
        &self,
        subject: &'a str,
        predicate: NamedNodeRef<'a>,
    ) -> impl Iterator<Item = &'a Term> {
        self.record
            .triples
            .iter()
            .filter(move |t| {
                t.predicate.as_ref() == predicate
                    && matches!(&t.subject, NamedOrBlankNode::NamedNode(n) if n.as_str() == subject)
            })
            .map(|t| &t.object)
    }

    fn missing(&self, subject: &str, property: &'static str) -> DecisionError {
        DecisionError::Missing {
            record: self.record.iri.as_str().to_owned(),
            subject: subject.to_owned(),
            property,
        }
    }

    fn invalid(
        &self,
        subject: &str,
        property: &'static str,
        value: &dyn std::fmt::Display,
        expected: &'static str,
    ) -> DecisionError {
        DecisionError::Invalid {
            record: self.record.iri.as_str().to_owned(),
            subject: subject.to_owned(),
            property,
            value: value.to_string(),
            expected,
        }
    }

    fn one(
        &self,
        subject: &'a str,
        predicate: NamedNodeRef<'a>,
        property: &'static str,
    ) -> Result<&'a Term, DecisionError> {
        let mut values = self.objects(subject, predicate);
        let first = values
            .next()
            .ok_or_else(|| self.missing(subject, property))?;
        let more = values.count();
        if more > 0 {
            return Err(DecisionError::Several {
                record: self.record.iri.as_str().to_owned(),
                subject: subject.to_owned(),
                property,
                count: more + 1,
            });
        }
        Ok(first)
    }

    fn one_iri(
        &self,
        subject: &'a str,
        predicate: NamedNodeRef<'a>,
        property: &'static str,
    ) -> Result<NamedNode, DecisionError> {
        match self.one(subject, predicate, property)? {
            Term::NamedNode(n) => Ok(n.clone()),
            other => Err(self.invalid(subject, property, other, "an IRI")),
        }
    }

    fn one_literal(
        &self,
        subject: &'a str,
        predicate: NamedNodeRef<'a>,
        property: &'static str,
    ) -> Result<&'a Literal, DecisionError> {
        match self.one(subject, predicate, property)? {
            Term::Literal(l) => Ok(l),
            other => Err(self.invalid(subject, property, other, "a literal")),
        }
    }

    fn texts(
        &self,
        subject: &'a str,
        predicate: NamedNodeRef<'a>,
        property: &'static str,
    ) -> Result<Texts, DecisionError> {
        let mut out = Texts::new();
        for o in self.objects(subject, predicate) {
            let Some((l, language)) = (match o {
                Term::Literal(l) => l.language().map(|language| (l, language)),
                _ => None,
            }) else {
                return Err(self.invalid(subject, property, o, "a text with a language tag"));
            };
            if out
                .insert(language.to_owned(), l.value().to_owned())
                .is_some()
            {
                return Err(self.invalid(subject, property, o, "at most one text per language"));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist;

    /// A decision of the French node on version 2 of an initiative, after
    /// the SIM checklist.
    fn sample() -> Decision {
        let sim = &checklist::builtin().unwrap()[0];
        let outcomes = [
            CriterionOutcome::Passed,
            CriterionOutcome::Passed,
            CriterionOutcome::CantTell,
            CriterionOutcome::Failed,
        ];
        Decision {
            iri: NamedNode::new_unchecked("https://fr.example/records/decision-tzc-2"),
            used: UsedVersion {
                initiative: NamedNode::new_unchecked("https://fr.example/records/tzc"),
                version: 2,
                digest: digest_multibase(&[7; 32]),
            },
            validator: NamedNode::new_unchecked("https://fr.example/node"),
            role: Role::National,
            checklist: NamedNode::new_unchecked(checklist::SIM),
            assessments: sim
                .criteria
                .iter()
                .zip(outcomes)
                .map(|(c, outcome)| Assessment {
                    criterion: NamedNode::new_unchecked(&c.iri),
                    outcome,
                    comment: [(
                        "fr".to_owned(),
                        format!("Commentaire sur {}", c.labels["fr"]),
                    )]
                    .into(),
                })
                .collect(),
            outcome: Outcome::ChangesRequested,
            rationale: [
                ("en".to_owned(), "Show the transfer conditions.".to_owned()),
                (
                    "fr".to_owned(),
                    "Précisez les conditions de transfert.".to_owned(),
                ),
            ]
            .into(),
            ended_at: time::macros::datetime!(2026-11-20 10:30:15 +01:00),
        }
    }

    #[test]
    fn a_decision_reads_back_from_its_record() {
        let d = sample();
        let record = d.to_record();
        assert_eq!(Decision::from_record(&record), Ok(d.clone()));
        // Stamped as a node publishes it, it still reads back.
        let stamped = record.stamped(1, "2026-11-20T10:31:00Z");
        assert_eq!(Decision::from_record(&stamped), Ok(d.clone()));
        assert_eq!(record.class().map(|(_, c)| c), Some("Validation"));
        // Every subject is the record or one of its fragments.
        for t in &record.triples {
            let NamedOrBlankNode::NamedNode(s) = &t.subject else {
                panic!("blank node in {t}")
            };
            assert_eq!(crate::record::record_iri_part(s.as_str()), d.iri.as_str());
        }
        let summary = d.summary();
        assert_eq!(
            (summary.version, summary.role, summary.outcome),
            (2, Role::National, Outcome::ChangesRequested)
        );
    }

    #[test]
    fn more_than_nine_assessments_keep_their_order() {
        let mut d = sample();
        let first = d.assessments[0].clone();
        d.assessments = (0..12)
            .map(|i| Assessment {
                criterion: NamedNode::new_unchecked(format!("https://c.example/grid#c{i}")),
                ..first.clone()
            })
            .collect();
        assert_eq!(Decision::from_record(&d.to_record()), Ok(d));
    }

    fn without(record: &Record, predicate: NamedNodeRef<'_>) -> Record {
        Record::new(
            record.iri.clone(),
            record
                .triples
                .iter()
                .filter(|t| t.predicate.as_ref() != predicate)
                .cloned()
                .collect(),
        )
    }

    fn with(record: &Record, subject: &str, predicate: NamedNodeRef<'_>, object: Term) -> Record {
        let mut triples = record.triples.clone();
        triples.push(Triple::new(
            NamedNode::new_unchecked(subject),
            predicate,
            object,
        ));
        Record::new(record.iri.clone(), triples)
    }

    #[test]
    fn what_is_wrong_with_a_decision_record_is_named() {
        let record = sample().to_record();
        let d = record.iri.as_str().to_owned();
        let used = format!("{d}#used");
        let err = |r: &Record| Decision::from_record(r).unwrap_err();

        let mut tool = without(&record, rdf::TYPE);
        tool = with(&tool, &d, rdf::TYPE, vocab::TOOL.into());
        assert_eq!(err(&tool), DecisionError::NotAValidation(d.clone()));
        assert_eq!(
            err(&without(&record, vocab::SEC_DIGEST_MULTIBASE)),
            DecisionError::Missing {
                record: d.clone(),
                subject: used.clone(),
                property: "sec:digestMultibase"
            }
        );
        let two_versions = with(
            &record,
            &used,
            vocab::VERSION,
            Literal::new_typed_literal("3", xsd::INTEGER).into(),
        );
        assert!(matches!(
            err(&two_versions),
            DecisionError::Several {
                property: "ccis:version",
                count: 2,
                ..
            }
        ));
        let bad_outcome = with(
            &without(&record, vocab::OUTCOME),
            &d,
            vocab::OUTCOME,
            NamedNode::new_unchecked(crate::workflow::State::Published.iri()).into(),
        );
        assert!(matches!(
            err(&bad_outcome),
            DecisionError::Invalid {
                property: "ccis:outcome",
                ..
            }
        ));
        let bad_time = with(
            &without(&record, vocab::PROV_ENDED_AT_TIME),
            &d,
            vocab::PROV_ENDED_AT_TIME,
            Literal::new_simple_literal("yesterday").into(),
        );
        assert_eq!(
            err(&bad_time).to_string(),
            format!(
                "decision <{d}>: prov:endedAtTime of <{d}> is \"yesterday\"; expected an xsd:dateTime with a time zone"
            )
        );
        let untagged = with(
            &record,
            &d,
            vocab::RATIONALE,
            Literal::new_simple_literal("why").into(),
        );
        assert!(matches!(
            err(&untagged),
            DecisionError::Invalid {
                property: "ccis:rationale",
                ..
            }
        ));
        assert!(matches!(
            err(&without(&record, vocab::RATIONALE)),
            DecisionError::Missing {
                property: "ccis:rationale",
                ..
            }
        ));
        assert!(matches!(
            err(&without(&record, vocab::EARL_OUTCOME)),
            DecisionError::Missing {
                property: "earl:outcome",
                ..
            }
        ));
        assert!(matches!(
            err(&without(&record, vocab::PROV_GENERATED)),
            DecisionError::Missing {
                property: "prov:generated",
                ..
            }
        ));
    }

    #[test]
    fn digests_are_sha256_multihashes_in_base64url() {
        // The digest of "abc", as a multihash in base64url without padding:
        // 0x12 0x20 ‖ ba7816bf…, which begins "uEiC6eBa_".
        let abc: [u8; 32] =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b"abc")).into();
        let text = digest_multibase(&abc);
        assert_eq!(text, "uEiC6eBa_jwHP6kFBQN5driIjsANho5YXepy0EP9h8gAVrQ");
        assert_eq!(text.len(), 47);
        assert_eq!(sha256_of_multibase(&text), Some(abc));
        assert_eq!(sha256_of_multibase(&text[..46]), None);
        assert_eq!(sha256_of_multibase(&text.replacen('u', "z", 1)), None);
        assert_eq!(sha256_of_multibase("u"), None);
        for n in 0..8 {
            let bytes: Vec<u8> = (0..n).map(|i| i * 37 + 1).collect();
            assert_eq!(base64url_decode(&base64url_encode(&bytes)), Some(bytes));
        }
        assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
        assert_eq!(base64url_decode("-_9"), None, "non-zero padding bits");
    }

    #[test]
    fn the_version_digest_is_that_of_the_canonical_document() {
        let record = sample().to_record().stamped(1, "2026-11-20T10:31:00Z");
        let limits = canon::Limits::default();
        let nquads = canon::canonical_nquads(&record.document(), &limits).unwrap();
        let expected: [u8; 32] = sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(nquads.as_bytes()),
        )
        .into();
        assert_eq!(
            version_digest(&record, &limits),
            Ok(digest_multibase(&expected))
        );
        let later = record.stamped(2, "2026-11-21T10:31:00Z");
        assert_ne!(
            version_digest(&later, &limits),
            version_digest(&record, &limits)
        );
    }
}
