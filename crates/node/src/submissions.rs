//! Public submissions of initiatives, kept private until the operator
//! accepts them.
//!
//! A project holder proposes an initiative (`ccis:Initiative`) through the
//! node's form or API; the proposal is kept in `submissions/` in the node
//! directory, one JSON file per submission ([`Submission`]), never in the
//! RDF store: SPARQL, the feed, the record pages, the search index and the
//! exports never see it. The proposal is Turtle under a temporary IRI
//! (`{base}/records/submission-{id}`); the submitter's contact is kept apart
//! in the same file, so that it can be erased while the proposal stays.
//! Accepting publishes the proposal as the node's own signed record through
//! [`Node::publish`], without the contact, and deletes the file.
//! Submissions not accepted within `[submissions] expire_days` are deleted.
//!
//! When the node sends e-mail (`[mail]`, see [`crate::mail`]), the submitter
//! is told when their proposal is received, accepted or rejected; and
//! accepting keeps their contact apart, in `submissions/accepted/{id}.json`
//! ([`Accepted`]), so that they can be told of the decisions about their
//! initiative; `erase` and `[submissions] expire_days` (counted from the
//! acceptance) delete it. Nothing of it is ever in a record.

use crate::atomic_file::write_atomic;
use crate::node::{Node, NodeError, Published};
use ccis_integrity::shapes::{ShapeError, ShapeValidator};
use ccis_model::rdf_input::{self, InputFormat, PinnedContexts};
use ccis_model::record::{self, Record};
use ccis_model::vocab;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxrdf::vocab::rdf;
use oxrdf::{Literal, NamedNode, NamedOrBlankNode, Triple};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The slug prefix of a submission's temporary record IRI.
pub const TEMPORARY_PREFIX: &str = "submission-";

/// The licence every proposal is published under.
pub const LICENSE: &str = "https://creativecommons.org/licenses/by/4.0/";

/// Longest text of one field, in characters.
pub const MAX_FIELD_CHARS: usize = 10_000;

/// Who sent a submission: personal data, never published, erasable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The submitter's name.
    pub name: String,
    /// The submitter's e-mail address.
    pub email: String,
}

/// One submission as kept in `submissions/{id}.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Random id, 16 hexadecimal digits.
    pub id: String,
    /// When it was received (RFC 3339, UTC).
    pub received_at: String,
    /// The temporary record IRI of the proposal (`{base}/records/submission-{id}`).
    pub record: String,
    /// The slug the submitter proposes for the published record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The proposal's title (for listing).
    pub title: String,
    /// The lead organisation's name, if given (for listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The proposed initiative, as Turtle (no `ccis:version` or `dct:modified`).
    pub turtle: String,
    /// The submitter's contact; `None` once erased.
    #[serde(default)]
    pub contact: Option<Contact>,
    /// When the contact was erased, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<String>,
    /// The language the submitter used (the form's interface language, else
    /// the language of the texts): e-mails to them are in English and in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The contact of the submitter of an accepted initiative, kept apart in
/// `submissions/accepted/{id}.json` while the node sends e-mail, to tell
/// them of the decisions about it. Never in a record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The submission's id.
    pub id: String,
    /// The IRI of the record it was published as.
    pub record: String,
    /// Its title when accepted.
    pub title: String,
    /// When it was accepted (RFC 3339, UTC).
    pub accepted_at: String,
    /// The language the submitter used, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The submitter's contact.
    pub contact: Contact,
}

/// The directory of the contacts of accepted submissions, inside the
/// submissions directory.
pub const ACCEPTED_DIR: &str = "accepted";

/// Why a submission cannot be stored, read, accepted or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmissionError {
    /// A file or the directory cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A submission file that is not a submission.
    #[error("{}: not a submission file: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
    /// Not a submission id (16 hexadecimal digits).
    #[error("{0:?} is not a submission id (16 hexadecimal digits; see `ccis submission list`)")]
    BadId(String),
    /// No submission with this id (accepted, rejected or expired).
    #[error("no submission {0} (see `ccis submission list`)")]
    NotFound(String),
    /// A slug that is not lowercase letters, digits and dashes.
    #[error("{0:?} is not a slug (lowercase letters, digits and dashes); choose one with --slug")]
    BadSlug(String),
    /// The record IRI the proposal would get is already a record of the node.
    #[error("<{0}> is already a record of this node; choose another slug with --slug")]
    SlugTaken(String),
    /// The proposal kept in the file no longer reads as one initiative.
    #[error("submission {id}: the proposal does not read as one initiative: {reason}")]
    Proposal {
        /// The submission.
        id: String,
        /// Why.
        reason: String,
    },
    /// The node refused to publish or store the proposal.
    #[error(transparent)]
    Node(Box<NodeError>),
    /// The operating system gave no random bytes.
    #[error("no random source for a submission id: {0}")]
    NoRandomness(String),
}

impl From<NodeError> for SubmissionError {
    fn from(e: NodeError) -> Self {
        SubmissionError::Node(Box::new(e))
    }
}

/// A new random submission id: 16 hexadecimal digits.
pub fn new_id() -> Result<String, SubmissionError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| SubmissionError::NoRandomness(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// Whether `id` is a submission id.
pub fn is_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The time as RFC 3339.
fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The directory of pending submissions.
#[derive(Debug, Clone)]
pub struct SubmissionStore {
    dir: PathBuf,
}

impl SubmissionStore {
    /// The submissions in `dir` (`NodeDir::submissions`); created on first save.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> Result<PathBuf, SubmissionError> {
        if !is_id(id) {
            return Err(SubmissionError::BadId(id.to_owned()));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SubmissionError + '_ {
        move |source| SubmissionError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Writes a submission atomically (the directory mode 0700, the file 0600:
    /// it holds personal data).
    pub fn save(&self, submission: &Submission) -> Result<(), SubmissionError> {
        let path = self.path(&submission.id)?;
        create_private_dir(&self.dir).map_err(Self::io(&self.dir))?;
        if !path.exists() {
            create_private_file(&path).map_err(Self::io(&path))?;
        }
        let bytes =
            serde_json::to_vec_pretty(submission).map_err(|source| SubmissionError::Json {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, &bytes).map_err(Self::io(&path))
    }

    /// The submission `id`.
    pub fn get(&self, id: &str) -> Result<Submission, SubmissionError> {
        let path = self.path(id)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SubmissionError::NotFound(id.to_owned()));
            }
            Err(source) => return Err(SubmissionError::Io { path, source }),
        };
        serde_json::from_slice(&bytes).map_err(|source| SubmissionError::Json { path, source })
    }

    /// Every submission, oldest first; a file that does not read as one is
    /// skipped with a warning.
    pub fn list(&self) -> Result<Vec<Submission>, SubmissionError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(SubmissionError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut all = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Self::io(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if !is_id(id) {
                continue;
            }
            match self.get(id) {
                Ok(s) => all.push(s),
                Err(SubmissionError::NotFound(_)) => {}
                Err(e) => tracing::warn!(error = %e, "skipping a submission file"),
            }
        }
        all.sort_by(|a, b| (&a.received_at, &a.id).cmp(&(&b.received_at, &b.id)));
        Ok(all)
    }

    /// Deletes the submission `id`.
    pub fn remove(&self, id: &str) -> Result<(), SubmissionError> {
        let path = self.path(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(SubmissionError::NotFound(id.to_owned()))
            }
            Err(source) => Err(SubmissionError::Io { path, source }),
        }
    }

    /// Removes the submitter's contact from submission `id`, keeping the
    /// proposal; returns the submission as now kept.
    pub fn erase_contact(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Submission, SubmissionError> {
        let mut submission = self.get(id)?;
        if submission.contact.take().is_some() {
            submission.erased_at = Some(rfc3339(now));
        }
        self.save(&submission)?;
        Ok(submission)
    }

    fn accepted_path(&self, id: &str) -> Result<PathBuf, SubmissionError> {
        if !is_id(id) {
            return Err(SubmissionError::BadId(id.to_owned()));
        }
        Ok(self.dir.join(ACCEPTED_DIR).join(format!("{id}.json")))
    }

    /// Keeps the contact of an accepted submission (mode 0600 in a 0700 directory).
    pub fn keep_accepted(&self, accepted: &Accepted) -> Result<(), SubmissionError> {
        let path = self.accepted_path(&accepted.id)?;
        let dir = self.dir.join(ACCEPTED_DIR);
        create_private_dir(&self.dir).map_err(Self::io(&self.dir))?;
        create_private_dir(&dir).map_err(Self::io(&dir))?;
        if !path.exists() {
            create_private_file(&path).map_err(Self::io(&path))?;
        }
        let bytes =
            serde_json::to_vec_pretty(accepted).map_err(|source| SubmissionError::Json {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, &bytes).map_err(Self::io(&path))
    }

    /// Every contact kept for accepted submissions; a file that does not
    /// read as one is skipped with a warning.
    pub fn accepted(&self) -> Result<Vec<Accepted>, SubmissionError> {
        let dir = self.dir.join(ACCEPTED_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SubmissionError::Io { path: dir, source }),
        };
        let mut all = Vec::new();
        for entry in entries {
            let path = entry.map_err(Self::io(&dir))?.path();
            let Some(id) = path.file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            if !is_id(id) || path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let read = std::fs::read(&path)
                .map_err(Self::io(&path))
                .and_then(|bytes| {
                    serde_json::from_slice::<Accepted>(&bytes).map_err(|source| {
                        SubmissionError::Json {
                            path: path.clone(),
                            source,
                        }
                    })
                });
            match read {
                Ok(a) => all.push(a),
                Err(e) => tracing::warn!(error = %e, "skipping an accepted submission's contact"),
            }
        }
        all.sort_by(|a, b| (&a.accepted_at, &a.id).cmp(&(&b.accepted_at, &b.id)));
        Ok(all)
    }

    /// The contact kept for the submission accepted as `record`, if any.
    pub fn accepted_as(&self, record: &str) -> Result<Option<Accepted>, SubmissionError> {
        Ok(self.accepted()?.into_iter().find(|a| a.record == record))
    }

    /// Deletes the contact kept for accepted submission `id`.
    pub fn erase_accepted(&self, id: &str) -> Result<(), SubmissionError> {
        let path = self.accepted_path(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(SubmissionError::NotFound(id.to_owned()))
            }
            Err(source) => Err(SubmissionError::Io { path, source }),
        }
    }

    /// Deletes the contacts kept for submissions accepted `days` days or
    /// more before `now` (0: all of them); returns their ids.
    pub fn expire_accepted(
        &self,
        days: u64,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, SubmissionError> {
        let limit = days_limit(days);
        let mut expired = Vec::new();
        for accepted in self.accepted()? {
            let Ok(at) = OffsetDateTime::parse(&accepted.accepted_at, &Rfc3339) else {
                continue;
            };
            if now - at >= limit {
                match self.erase_accepted(&accepted.id) {
                    Ok(()) | Err(SubmissionError::NotFound(_)) => expired.push(accepted.id),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    /// Deletes the submissions received `days` days or more before `now`
    /// (0: all of them); returns their ids.
    pub fn expire(&self, days: u64, now: OffsetDateTime) -> Result<Vec<String>, SubmissionError> {
        let limit = days_limit(days);
        let mut expired = Vec::new();
        for submission in self.list()? {
            let Ok(received) = OffsetDateTime::parse(&submission.received_at, &Rfc3339) else {
                continue;
            };
            if now - received >= limit {
                match self.remove(&submission.id) {
                    Ok(()) | Err(SubmissionError::NotFound(_)) => expired.push(submission.id),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }
}

/// `days` as a duration, capped where `time` can count it.
fn days_limit(days: u64) -> time::Duration {
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400 - 1);
    time::Duration::days(days.min(i64::MAX / 86_400 - 1))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::create_new(path).map(drop)
}

/// A field of a proposal that is missing or wrong; `field` is the name of
/// the form field (and JSON member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field: `title`, `theme`, `contact_email`… (`record` for the record as a whole).
    pub field: String,
    /// What is wrong: `required`, `invalid`, `too-long`, `shape` (a SHACL
    /// violation, worded in `message`) or `syntax`.
    pub code: String,
    /// What is wrong, in words (English, or the shapes' language for `shape`).
    pub message: String,
}

impl FieldError {
    /// An error of `field` (`code`: `required`, `invalid`, `too-long`…).
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The fields of a proposal, in the order of the form.
pub const FIELDS: [&str; 17] = [
    "language",
    "title",
    "description",
    "problem_addressed",
    "approach",
    "key_results",
    "scaling_potential",
    "lessons_learned",
    "target_group",
    "funding",
    "theme",
    "stage",
    "level_of_action",
    "organisation",
    "slug",
    "contact_name",
    "contact_email",
];

/// The text fields of a proposal, their property and whether required.
const TEXTS: [(&str, &str, bool); 9] = [
    ("title", "http://purl.org/dc/terms/title", true),
    ("description", "http://purl.org/dc/terms/description", true),
    (
        "problem_addressed",
        "https://w3id.org/ccis/ns#problemAddressed",
        true,
    ),
    ("approach", "https://w3id.org/ccis/ns#approach", true),
    ("key_results", "https://w3id.org/ccis/ns#keyResults", true),
    (
        "scaling_potential",
        "https://w3id.org/ccis/ns#scalingPotential",
        true,
    ),
    (
        "lessons_learned",
        "https://w3id.org/ccis/ns#lessonsLearned",
        false,
    ),
    (
        "target_group",
        "https://w3id.org/ccis/ns#targetGroup",
        false,
    ),
    ("funding", "https://w3id.org/ccis/ns#funding", false),
];

/// The field a property of the record is entered in.
pub fn field_of_path(path: &str) -> &'static str {
    if let Some((field, _, _)) = TEXTS.iter().find(|(_, p, _)| *p == path) {
        return field;
    }
    match path {
        "http://purl.org/dc/terms/subject" => "theme",
        "https://w3id.org/ccis/ns#stage" => "stage",
        "https://w3id.org/ccis/ns#levelOfAction" => "level_of_action",
        "https://w3id.org/ccis/ns#leadOrganisation" => "organisation",
        "http://purl.org/dc/terms/language" => "language",
        _ => "record",
    }
}

/// A proposal as entered in the form or sent as JSON: every field as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    /// Field values by name (see [`FIELDS`]); `theme` may have several.
    pub values: Vec<(String, String)>,
}

impl Proposal {
    /// The fields of a form (`application/x-www-form-urlencoded` pairs);
    /// names that are not fields (`lang`) are left out.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            values: pairs
                .into_iter()
                .filter(|(k, _)| FIELDS.contains(&k.as_str()))
                .collect(),
        }
    }

    /// The fields of a JSON object (the same names; `theme` a string or an
    /// array of strings); other members and other types are errors.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, Vec<FieldError>> {
        let Some(object) = value.as_object() else {
            return Err(vec![FieldError::new(
                "record",
                "invalid",
                "the body must be a JSON object with the fields of the form",
            )]);
        };
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for (name, v) in object {
            if !FIELDS.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    name,
                    "invalid",
                    "not a field of a submission",
                ));
                continue;
            }
            match v {
                serde_json::Value::String(s) => values.push((name.clone(), s.clone())),
                serde_json::Value::Null => {}
                serde_json::Value::Array(items) if name == "theme" => {
                    for item in items {
                        match item.as_str() {
                            Some(s) => values.push((name.clone(), s.to_owned())),
                            None => errors.push(FieldError::new(
                                name,
                                "invalid",
                                "themes must be strings",
                            )),
                        }
                    }
                }
                _ => errors.push(FieldError::new(name, "invalid", "must be a string")),
            }
        }
        if errors.is_empty() {
            Ok(Self { values })
        } else {
            Err(errors)
        }
    }

    /// The (first) value of a field, trimmed; empty if absent.
    pub fn get(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(k, v)| k == field && !v.trim().is_empty())
            .map_or("", |(_, v)| v.trim())
    }

    /// Every non-empty value of a field, trimmed.
    pub fn all(&self, field: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(k, v)| k == field && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The submitter's contact, or what is wrong with it.
    pub fn contact(&self) -> Result<Contact, Vec<FieldError>> {
        contact(self.get("contact_name"), self.get("contact_email"))
    }

    /// The proposed slug, if any, or what is wrong with it.
    pub fn slug(&self) -> Result<Option<String>, FieldError> {
        match self.get("slug") {
            "" => Ok(None),
            s if record::is_slug(s) && !s.starts_with(TEMPORARY_PREFIX) => Ok(Some(s.to_owned())),
            _ => Err(FieldError::new(
                "slug",
                "invalid",
                "lowercase letters, digits and dashes only",
            )),
        }
    }

    /// The initiative record at `iri`, its countries the node's `country_iri`:
    /// every required field there and well formed, the submitter's contact
    /// included, or what is not.
    pub fn record(&self, iri: &NamedNode, country_iri: &str) -> Result<Record, Vec<FieldError>> {
        self.build(iri, country_iri, true)
    }

    /// [`Proposal::record`] for an operator's own initiative: no contact.
    pub fn operator_record(
        &self,
        iri: &NamedNode,
        country_iri: &str,
    ) -> Result<Record, Vec<FieldError>> {
        self.build(iri, country_iri, false)
    }

    fn build(
        &self,
        iri: &NamedNode,
        country_iri: &str,
        with_contact: bool,
    ) -> Result<Record, Vec<FieldError>> {
        let mut errors = Vec::new();
        let language = self.get("language").to_ascii_lowercase();
        let language_iri = if language.is_empty() {
            errors.push(FieldError::new("language", "required", "required"));
            None
        } else {
            match vocab::language_iri(&language) {
                Some(i) if language.len() == 2 => Some(i),
                _ => {
                    errors.push(FieldError::new(
                        "language",
                        "invalid",
                        "not the two-letter code of an official EU language",
                    ));
                    None
                }
            }
        };
        let mut triples = vec![Triple::new(iri.clone(), rdf::TYPE, vocab::INITIATIVE)];
        let term = |p: &str| NamedNode::new_unchecked(p);
        for (field, property, required) in TEXTS {
            let value = self.get(field);
            if value.is_empty() {
                if required {
                    errors.push(FieldError::new(field, "required", "required"));
                }
                continue;
            }
            if value.chars().count() > MAX_FIELD_CHARS {
                errors.push(FieldError::new(
                    field,
                    "too-long",
                    format!("at most {MAX_FIELD_CHARS} characters"),
                ));
                continue;
            }
            if language_iri.is_some() {
                match Literal::new_language_tagged_literal(value, &language) {
                    Ok(l) => triples.push(Triple::new(iri.clone(), term(property), l)),
                    Err(_) => {
                        errors.push(FieldError::new("language", "invalid", "not a language tag"))
                    }
                }
            }
        }
        let themes = self.all("theme");
        if themes.is_empty() {
            errors.push(FieldError::new("theme", "required", "required"));
        }
        for theme in themes {
            match concept(theme, "theme-") {
                Some(c) => triples.push(Triple::new(
                    iri.clone(),
                    term(&format!("{}subject", vocab::DCT)),
                    c,
                )),
                None => errors.push(FieldError::new(
                    "theme",
                    "invalid",
                    format!("{theme:?} is not a theme"),
                )),
            }
        }
        for (field, prefix, property) in [
            ("stage", "stage-", "stage"),
            ("level_of_action", "level-", "levelOfAction"),
        ] {
            let value = self.get(field);
            if value.is_empty() {
                errors.push(FieldError::new(field, "required", "required"));
                continue;
            }
            match concept(value, prefix) {
                Some(c) => triples.push(Triple::new(
                    iri.clone(),
                    term(&format!("{}{property}", vocab::CCIS)),
                    c,
                )),
                None => errors.push(FieldError::new(
                    field,
                    "invalid",
                    format!("{value:?} is not a value of this list"),
                )),
            }
        }
        let organisation = self.get("organisation");
        if organisation.chars().count() > 500 {
            errors.push(FieldError::new(
                "organisation",
                "too-long",
                "at most 500 characters",
            ));
        } else if !organisation.is_empty() {
            let lead = NamedNode::new_unchecked(format!("{}#lead", iri.as_str()));
            triples.push(Triple::new(
                iri.clone(),
                term(&format!("{}leadOrganisation", vocab::CCIS)),
                lead.clone(),
            ));
            triples.push(Triple::new(
                lead.clone(),
                rdf::TYPE,
                term(&format!("{}Organization", vocab::SCHEMA)),
            ));
            triples.push(Triple::new(
                lead,
                term(&format!("{}name", vocab::SCHEMA)),
                Literal::new_simple_literal(organisation),
            ));
        }
        if let Some(l) = language_iri {
            triples.push(Triple::new(
                iri.clone(),
                term(&format!("{}language", vocab::DCT)),
                term(&l),
            ));
        }
        triples.push(Triple::new(
            iri.clone(),
            term(&format!("{}spatial", vocab::DCT)),
            term(country_iri),
        ));
        triples.push(Triple::new(
            iri.clone(),
            term(&format!("{}license", vocab::DCT)),
            term(LICENSE),
        ));
        if let Err(e) = self.slug() {
            errors.push(e);
        }
        if with_contact && let Err(e) = self.contact() {
            errors.extend(e);
        }
        if errors.is_empty() {
            Ok(Record::new(iri.clone(), triples))
        } else {
            Err(errors)
        }
    }
}

/// The contact of a submitter, or what is wrong with it.
pub fn contact(name: &str, email: &str) -> Result<Contact, Vec<FieldError>> {
    let (name, email) = (name.trim(), email.trim());
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::new("contact_name", "required", "required"));
    } else if name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "contact_name",
            "invalid",
            "at most 200 characters, on one line",
        ));
    }
    if email.is_empty() {
        errors.push(FieldError::new("contact_email", "required", "required"));
    } else if !is_email(email) {
        errors.push(FieldError::new(
            "contact_email",
            "invalid",
            "not an e-mail address",
        ));
    }
    if errors.is_empty() {
        Ok(Contact {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    } else {
        Err(errors)
    }
}

/// A plausible e-mail address: `local@domain.tld`, no spaces, at most 254 bytes.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// A concept of the ccis vocabulary from `value`: its IRI, `ccis:NAME`,
/// `PREFIX…` or the name without prefix (`employment` for `theme-employment`).
fn concept(value: &str, prefix: &str) -> Option<NamedNode> {
    let name = value
        .strip_prefix(vocab::CCIS)
        .or_else(|| value.strip_prefix("ccis:"))
        .unwrap_or(value);
    let name = if name.starts_with(prefix) {
        name.to_owned()
    } else {
        format!("{prefix}{name}")
    };
    let ok = name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| NamedNode::new_unchecked(format!("{}{name}", vocab::CCIS)))
}

/// The SHACL violations of a proposed record, as field errors: the record is
/// checked as its first version would be published.
pub fn check_shapes(record: &Record, validator: &ShapeValidator) -> Vec<FieldError> {
    let stamped = record.stamped(1, &rfc3339(OffsetDateTime::now_utc()));
    match validator.validate(&stamped) {
        Ok(()) => Vec::new(),
        Err(ShapeError::Violations { violations, .. }) => violations
            .into_iter()
            .map(|v| {
                let field = v.path.as_deref().map_or("record", field_of_path);
                let message = match &v.hint {
                    Some(h) => format!("{}; {h}", v.message),
                    None => v.message.clone(),
                };
                FieldError::new(field, "shape", message)
            })
            .collect(),
        Err(e) => vec![FieldError::new("record", "shape", e.to_string())],
    }
}

/// The one initiative of a Turtle document sent by a submitter, with the
/// slug it proposes: relative IRIs resolve against `base_url`, every subject
/// must lie in the node's record space (`<records/my-initiative>`), and
/// `ccis:version` and `dct:modified` are left out (the node stamps them).
pub fn initiative_from_turtle(
    bytes: &[u8],
    base_url: &str,
) -> Result<(Record, Option<String>), Vec<FieldError>> {
    let base = format!("{}/", base_url.trim_end_matches('/'));
    let syntax = |message: String| vec![FieldError::new("record", "syntax", message)];
    let quads = rdf_input::parse(
        bytes,
        InputFormat::Turtle,
        Some(&base),
        "submission",
        &PinnedContexts::default(),
    )
    .map_err(|e| syntax(e.to_string()))?;
    let records = record::split_into_records(quads, base_url).map_err(|e| syntax(e.to_string()))?;
    let [record] = <[Record; 1]>::try_from(records).map_err(|r| {
        syntax(format!(
            "a submission is one initiative record; this document has {}",
            r.len()
        ))
    })?;
    if record.class().map(|(c, _)| c) != Some(vocab::INITIATIVE) {
        return Err(syntax("the record is not a ccis:Initiative".to_owned()));
    }
    let slug = record
        .iri
        .as_str()
        .rsplit_once("/records/")
        .map(|(_, s)| s.to_owned())
        .filter(|s| !s.starts_with(TEMPORARY_PREFIX));
    let record = Record::new(record.iri.clone(), record.content_key());
    Ok((record, slug))
}

/// A record's triples as Turtle.
pub fn to_turtle(record: &Record) -> Result<String, std::io::Error> {
    let mut serializer = RdfSerializer::from_format(RdfFormat::Turtle);
    for (prefix, iri) in [
        ("dct", vocab::DCT),
        ("ccis", vocab::CCIS),
        ("schema", vocab::SCHEMA),
    ] {
        serializer = serializer
            .with_prefix(prefix, iri)
            .map_err(std::io::Error::other)?;
    }
    let mut writer = serializer.for_writer(Vec::new());
    for t in &record.triples {
        writer.serialize_triple(t)?;
    }
    let bytes = writer.finish()?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// The name of a record's lead organisation (`…#lead schema:name`), if any.
fn organisation_of(record: &Record) -> Option<String> {
    let name = format!("{}name", vocab::SCHEMA);
    let lead = format!("{}#lead", record.iri.as_str());
    record
        .triples
        .iter()
        .find_map(|t| match (&t.subject, &t.object) {
            (NamedOrBlankNode::NamedNode(s), oxrdf::Term::Literal(l))
                if s.as_str() == lead && t.predicate.as_str() == name =>
            {
                Some(l.value().to_owned())
            }
            _ => None,
        })
}

impl Submission {
    /// A new submission of `record` (renamed to its temporary IRI under
    /// `base_url`) from `contact`, received at `now`.
    pub fn new(
        id: &str,
        base_url: &str,
        record: &Record,
        slug: Option<String>,
        contact: Contact,
        now: OffsetDateTime,
    ) -> Result<Self, SubmissionError> {
        let iri = NamedNode::new(format!(
            "{}/records/{TEMPORARY_PREFIX}{id}",
            base_url.trim_end_matches('/')
        ))
        .map_err(|e| SubmissionError::Proposal {
            id: id.to_owned(),
            reason: e.to_string(),
        })?;
        let record = record.renamed(iri);
        let turtle = to_turtle(&record).map_err(|e| SubmissionError::Proposal {
            id: id.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            id: id.to_owned(),
            received_at: rfc3339(now),
            record: record.iri.as_str().to_owned(),
            slug,
            title: record.title(&["en"]).unwrap_or_default(),
            organisation: organisation_of(&record),
            turtle,
            contact: Some(contact),
            erased_at: None,
            language: None,
        })
    }

    /// The proposal read back from its Turtle.
    pub fn proposal(&self, base_url: &str) -> Result<Record, SubmissionError> {
        let reason = |e: Vec<FieldError>| SubmissionError::Proposal {
            id: self.id.clone(),
            reason: e
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        };
        initiative_from_turtle(self.turtle.as_bytes(), base_url)
            .map(|(r, _)| r)
            .map_err(reason)
    }

    /// Its age at `now`, in whole days (0 if the date does not read).
    pub fn age_days(&self, now: OffsetDateTime) -> i64 {
        OffsetDateTime::parse(&self.received_at, &Rfc3339).map_or(0, |at| (now - at).whole_days())
    }
}

/// A slug from a title: lowercase ASCII letters and digits, dashes between
/// words, at most 60 characters (letters with accents lose them).
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ą' => 'a',
            'ç' | 'č' | 'ć' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ų' => 'u',
            'š' | 'ś' => 's',
            'ž' | 'ź' | 'ż' => 'z',
            'ñ' | 'ņ' | 'ń' => 'n',
            'ļ' | 'ł' => 'l',
            'ķ' => 'k',
            'ģ' => 'g',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// Publishes submission `id` as the node's own signed record through
/// [`Node::publish`], without the submitter's contact, under
/// `{base}/records/{slug}` (`slug`, else the one proposed, else one made from
/// the title), then deletes the submission. Never replaces a record the node
/// already holds. When the node sends e-mail, the submitter is told (the
/// record's URL), and their contact is kept apart ([`Accepted`]) to tell
/// them of the decisions about it; a message that cannot be sent is logged.
pub fn accept(
    node: &Node,
    submissions: &SubmissionStore,
    id: &str,
    slug: Option<&str>,
) -> Result<Published, SubmissionError> {
    let submission = submissions.get(id)?;
    let base = &node.config.base_url;
    let proposal = submission.proposal(base)?;
    let slug = match slug {
        Some(s) => s.to_owned(),
        None => submission
            .slug
            .clone()
            .or_else(|| Some(slugify(&submission.title)).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("initiative-{id}")),
    };
    if !record::is_slug(&slug) || slug.starts_with(TEMPORARY_PREFIX) {
        return Err(SubmissionError::BadSlug(slug));
    }
    let iri = node.config.record_iri(&slug);
    let named = NamedNode::new(iri.clone()).map_err(|_| SubmissionError::BadSlug(slug.clone()))?;
    let held = node
        .store
        .get(&named)
        .map_err(crate::node::store_err(format!("cannot read <{iri}>")))?;
    if held.is_some() {
        return Err(SubmissionError::SlugTaken(iri));
    }
    let published = node.publish(vec![proposal.renamed(named)])?;
    let Some(published) = published.into_iter().next() else {
        return Err(SubmissionError::Proposal {
            id: id.to_owned(),
            reason: "nothing was published".to_owned(),
        });
    };
    if node.config.mail.is_some()
        && let Some(contact) = &submission.contact
    {
        let kept = Accepted {
            id: submission.id.clone(),
            record: published.iri.clone(),
            title: submission.title.clone(),
            accepted_at: rfc3339(OffsetDateTime::now_utc()),
            language: submission.language.clone(),
            contact: contact.clone(),
        };
        if let Err(e) = submissions.keep_accepted(&kept) {
            tracing::warn!(submission = %id, error = %e, "cannot keep the submitter's contact for the decisions' e-mails");
        }
    }
    submissions.remove(id)?;
    crate::mail::post(
        &node.config,
        crate::mail::accepted(&node.config, &submission, &published.iri)
            .into_iter()
            .collect(),
    );
    Ok(published)
}

/// Deletes submission `id`, proposal and contact; when the node sends
/// e-mail, its submitter is told first that it was not accepted (with
/// `reason` if given); a message that cannot be sent is logged.
pub fn reject(
    config: &crate::config::NodeConfig,
    submissions: &SubmissionStore,
    id: &str,
    reason: Option<&str>,
) -> Result<(), SubmissionError> {
    let submission = submissions.get(id)?;
    submissions.remove(id)?;
    crate::mail::post(
        config,
        crate::mail::rejected(config, &submission, reason)
            .into_iter()
            .collect(),
    );
    Ok(())
}

/// Tells the submitter of `submission` that it was received and the
/// validators that it arrived, when the node sends e-mail; a message that
/// cannot be sent is logged. (Blocking until sent, unless
/// [`crate::mail::deliver_in_background`] was called.)
pub fn notify_received(config: &crate::config::NodeConfig, submission: &Submission) {
    let letters = [
        crate::mail::received(config, submission),
        crate::mail::new_submission(config, submission),
    ];
    crate::mail::post(config, letters.into_iter().flatten().collect());
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://ccis.example.org";

    fn proposal() -> Proposal {
        Proposal::from_pairs(
            [
                ("language", "en"),
                ("title", "Repair cafés for every village"),
                ("description", "Volunteers repair what neighbours bring."),
                ("problem_addressed", "Waste and isolation."),
                ("approach", "Monthly repair sessions."),
                ("key_results", "Objects saved from landfill."),
                ("scaling_potential", "A kit for other villages."),
                ("theme", "ecological-transition"),
                ("theme", "theme-social-inclusion"),
                ("stage", "emergence"),
                ("level_of_action", "local"),
                ("organisation", "Village Association"),
                ("contact_name", "Ada Lovelace"),
                ("contact_email", "ada@example.org"),
                ("lang", "fr"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
    }

    fn temp_iri() -> NamedNode {
        NamedNode::new_unchecked(format!("{BASE}/records/{TEMPORARY_PREFIX}0123456789abcdef"))
    }

    #[test]
    fn a_complete_proposal_passes_the_initiative_shape() {
        let validator = ShapeValidator::new().unwrap();
        let record = proposal()
            .record(
                &temp_iri(),
                "http://publications.europa.eu/resource/authority/country/FRA",
            )
            .unwrap();
        assert_eq!(check_shapes(&record, &validator), Vec::new());
        assert!(!to_turtle(&record).unwrap().contains("ada@example.org"));
    }

    #[test]
    fn missing_fields_are_named() {
        let p = Proposal::from_pairs([("title".to_owned(), "Only a title".to_owned())]);
        let errors = p.record(&temp_iri(), "x:y").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "language",
            "description",
            "approach",
            "theme",
            "stage",
            "level_of_action",
            "contact_email",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let bad = Proposal::from_pairs(proposal().values.into_iter().map(|(k, v)| {
            if k == "stage" {
                (k, "nonsense".to_owned())
            } else {
                (k, v)
            }
        }));
        let record = bad
            .record(
                &temp_iri(),
                "http://publications.europa.eu/resource/authority/country/FRA",
            )
            .unwrap();
        let errors = check_shapes(&record, &ShapeValidator::new().unwrap());
        assert!(errors.iter().any(|e| e.field == "stage"), "{errors:?}");
    }

    #[test]
    fn json_fields_and_unknown_members() {
        let p =
            Proposal::from_json(&serde_json::json!({"title": "T", "theme": ["a", "b"]})).unwrap();
        assert_eq!(p.all("theme"), ["a", "b"]);
        let e = Proposal::from_json(&serde_json::json!({"titel": "T", "stage": 3})).unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(Proposal::from_json(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn store_saves_lists_erases_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = SubmissionStore::new(dir.path().join("submissions"));
        assert!(store.list().unwrap().is_empty());
        let p = proposal();
        let record = p
            .record(
                &temp_iri(),
                "http://publications.europa.eu/resource/authority/country/FRA",
            )
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let id = new_id().unwrap();
        assert!(is_id(&id));
        let s = Submission::new(
            &id,
            BASE,
            &record,
            None,
            p.contact().unwrap(),
            now - time::Duration::days(10),
        )
        .unwrap();
        assert_eq!(s.organisation.as_deref(), Some("Village Association"));
        store.save(&s).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("submissions").join(format!("{id}.json")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = store.get(&id).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.proposal(BASE).unwrap().iri.as_str(), s.record);
        assert_eq!(store.list().unwrap().len(), 1);
        let erased = store.erase_contact(&id, now).unwrap();
        assert!(erased.contact.is_none() && erased.erased_at.is_some());
        let text =
            std::fs::read_to_string(dir.path().join("submissions").join(format!("{id}.json")))
                .unwrap();
        assert!(!text.contains("ada@example.org"));
        assert!(text.contains("Repair cafés"));
        assert_eq!(store.expire(90, now).unwrap(), Vec::<String>::new());
        assert_eq!(store.expire(10, now).unwrap(), vec![id.clone()]);
        assert!(matches!(store.get(&id), Err(SubmissionError::NotFound(_))));
        assert!(matches!(
            store.get("../ccis.toml"),
            Err(SubmissionError::BadId(_))
        ));
        assert!(matches!(
            store.remove(&id),
            Err(SubmissionError::NotFound(_))
        ));
    }

    #[test]
    fn turtle_submissions() {
        let ttl = br#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
<records/my-initiative> a ccis:Initiative ; dct:title "T"@en ; ccis:version 3 ."#;
        let (record, slug) = initiative_from_turtle(ttl, BASE).unwrap();
        assert_eq!(slug.as_deref(), Some("my-initiative"));
        assert_eq!(record.version(), None);
        let two = br#"@prefix ccis: <https://w3id.org/ccis/ns#> .
<records/a> a ccis:Initiative . <records/b> a ccis:Initiative ."#;
        assert!(initiative_from_turtle(two, BASE).is_err());
        let tool = br#"@prefix ccis: <https://w3id.org/ccis/ns#> . <records/a> a ccis:Tool ."#;
        assert!(initiative_from_turtle(tool, BASE).is_err());
        assert!(initiative_from_turtle(b"not turtle", BASE).is_err());
    }

    #[test]
    fn slugs_from_titles() {
        assert_eq!(slugify("Réparer, c'est l'Été !"), "reparer-c-est-l-ete");
        assert_eq!(slugify("¿?"), "");
    }
}
