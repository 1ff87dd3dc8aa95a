//! The validation workflow on a node: the state of each initiative it holds,
//! derived from the verified decisions about it, and the decisions the node
//! signs as a validator (national, or European for the node of role
//! `european`).
//!
//! Nothing here stores a state: [`Node::initiative`] reads the initiative's
//! current version and the decisions held about it and replays them through
//! the one transition function ([`workflow::derive_state`]). A decision is
//! refused before it is signed when the workflow would refuse it (with the
//! current state and the allowed events), when a national node decides on
//! another country's initiative, when a criterion of the checklist is left
//! unassessed, and when the deciding operator published or edited the
//! initiative on this node (four eyes, from the [`crate::audit`] log).

use crate::audit::{AuditEntry, AuditError, AuditLog};
use crate::config::NodeConfig;
use crate::node::{Node, NodeError, Published, now, store_err};
use ccis_integrity::peers::{Peers, Role as NodeRole};
use ccis_integrity::signed::SignedRecord;
use ccis_model::canon::{self, CanonError};
use ccis_model::checklist::{self, Checklist, ChecklistError, Texts};
use ccis_model::decision::{self, Assessment, CriterionOutcome, Decision, UsedVersion};
use ccis_model::record;
use ccis_model::workflow::{
    self, DecisionStatus, Event, IllegalTransition, Level, Outcome, Role, State,
};
use ccis_store::NodeStore;
use oxrdf::NamedNode;
use time::OffsetDateTime;

/// A decision held by the node and how it bears on the initiative's current version.
#[derive(Debug, Clone)]
pub struct HeldDecision {
    /// The decision as its record says.
    pub decision: Decision,
    /// Whether it applies to the current version.
    pub status: DecisionStatus,
}

/// An initiative as the workflow sees it.
#[derive(Debug, Clone)]
pub struct InitiativeState {
    /// The initiative record's IRI.
    pub iri: String,
    /// Its title (English if it has one).
    pub title: Option<String>,
    /// Id of its origin node.
    pub origin: String,
    /// Its origin node's country (ISO 3166-1 alpha-2): whose national centre validates it.
    pub country: String,
    /// Its current version.
    pub version: u64,
    /// The digest of the current version's signed content.
    pub digest: String,
    /// Its level of action.
    pub level: Level,
    /// Its state, derived.
    pub state: State,
    /// When the current version was published (`dct:modified`).
    pub modified: String,
    /// The decisions held about it, by IRI.
    pub decisions: Vec<HeldDecision>,
}

impl InitiativeState {
    /// Whether the workflow waits for a decision at the level of `role` now.
    pub fn awaits(&self, role: Role) -> bool {
        let (start, decide) = match role {
            Role::National => (
                Event::StartNationalReview,
                Event::DecideNational(Outcome::Validated),
            ),
            Role::European => (Event::StartEuReview, Event::DecideEu(Outcome::Validated)),
        };
        workflow::transition(self.state, start, self.level)
            .and_then(|s| workflow::transition(s, decide, self.level))
            .is_ok()
    }
}

/// What a validator decides.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    /// The initiative's IRI.
    pub initiative: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Why, by language (at least one).
    pub rationale: Texts,
    /// The checklist followed: its IRI or its file name without `.ttl`
    /// (`sim`, `csess`); the SIM checklist when `None`.
    pub checklist: Option<String>,
    /// Each criterion (IRI, or its local name after `#` or `/`) with its
    /// outcome and comment.
    pub assessments: Vec<(String, CriterionOutcome, Texts)>,
    /// Who decides (an operator name, for the four-eyes rule and the audit log).
    pub operator: String,
    /// The version the validator reviewed, if known: the decision is refused
    /// when the initiative has a newer one since.
    pub version: Option<u64>,
}

/// Why a decision is not signed, or the workflow cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// The node holds no initiative with this IRI.
    #[error("<{0}> is not an initiative held by this node (see `ccis review list`)")]
    NotHeld(String),
    /// A national node decides only on initiatives of its own country.
    #[error(
        "<{initiative}> is an initiative of {country}: its national validator is the national node of {country}, not this node ({own})"
    )]
    OtherCountry {
        /// The initiative.
        initiative: String,
        /// Its country.
        country: String,
        /// This node's country.
        own: String,
    },
    /// The workflow does not allow this decision now.
    #[error("<{initiative}>: {source}")]
    Illegal {
        /// The initiative.
        initiative: String,
        /// The refused transition, with the current state and the allowed events.
        source: IllegalTransition,
    },
    /// No checklist by that name.
    #[error("no checklist {name:?}; known: {known}")]
    UnknownChecklist {
        /// The name given.
        name: String,
        /// The checklists known (file names and IRIs).
        known: String,
    },
    /// A criterion the checklist does not have.
    #[error("checklist <{checklist}> has no criterion {name:?}; its criteria: {known}")]
    UnknownCriterion {
        /// The checklist.
        checklist: String,
        /// The name given.
        name: String,
        /// Its criteria (local names).
        known: String,
    },
    /// Criteria left unassessed.
    #[error("a decision assesses every criterion of <{checklist}>; not assessed: {missing}")]
    Unassessed {
        /// The checklist.
        checklist: String,
        /// The criteria left out (local names).
        missing: String,
    },
    /// A decision states why.
    #[error("a decision states its rationale (in at least one language)")]
    NoRationale,
    /// The operator published or edited the initiative.
    #[error(
        "operator {operator:?} did {action} version {version} of <{initiative}> on {at}; another operator decides on it (four eyes)"
    )]
    FourEyes {
        /// The operator.
        operator: String,
        /// The initiative.
        initiative: String,
        /// What they did.
        action: String,
        /// The version they did it to.
        version: u64,
        /// When.
        at: String,
    },
    /// No operator named.
    #[error("a decision names the operator who takes it (four eyes, audit log)")]
    NoOperator,
    /// The initiative changed since the validator reviewed it.
    #[error(
        "<{initiative}> is at version {current} now, not version {reviewed} as reviewed: review the new version"
    )]
    VersionChanged {
        /// The initiative.
        initiative: String,
        /// The version reviewed.
        reviewed: u64,
        /// Its current version.
        current: u64,
    },
    /// The checklists cannot be read.
    #[error(transparent)]
    Checklist(#[from] ChecklistError),
    /// The audit log cannot be read or written.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The digest of a version cannot be computed.
    #[error("<{initiative}>: its digest cannot be computed: {source}")]
    Canon {
        /// The initiative.
        initiative: String,
        /// Why.
        source: CanonError,
    },
}

/// Actions that make an operator the author or editor of a record.
const EDITING_ACTIONS: &[&str] = &["publish", "withdraw", "accept-submission"];

impl Node {
    /// The role this node decides in.
    pub fn validator_role(&self) -> Role {
        match self.config.role {
            NodeRole::National => Role::National,
            NodeRole::European => Role::European,
        }
    }

    /// Every initiative held (own and harvested), with its derived state, by IRI.
    pub fn initiatives(&self) -> Result<Vec<InitiativeState>, NodeError> {
        derive_initiatives(&self.store, &self.config, &self.peers_for_workflow()?)
    }

    /// One initiative with its derived state and the decisions held about it.
    pub fn initiative(&self, iri: &str) -> Result<InitiativeState, NodeError> {
        let node = NamedNode::new(iri).map_err(|_| NodeError::NotAnIri(iri.to_owned()))?;
        let peers = self.peers_for_workflow()?;
        derive_initiative(&self.store, &self.config, &peers, &node)?
            .ok_or_else(|| ValidationError::NotHeld(iri.to_owned()).into())
    }

    /// The checklists this node knows: the built-in ones.
    pub fn checklists(&self) -> Result<Vec<Checklist>, NodeError> {
        Ok(checklist::builtin().map_err(ValidationError::from)?)
    }

    /// Signs and publishes a decision about an initiative's current version,
    /// after checking that the workflow allows it, that this node is its
    /// validator at its level, that every criterion is assessed, and that
    /// the operator did not publish or edit it (four eyes); the action is
    /// written to the audit log. Returns the published decision and the
    /// initiative's state after it.
    pub fn decide(
        &self,
        request: &DecisionRequest,
    ) -> Result<(Published, InitiativeState), NodeError> {
        if request.operator.trim().is_empty() {
            return Err(ValidationError::NoOperator.into());
        }
        if request.rationale.values().all(|t| t.trim().is_empty()) {
            return Err(ValidationError::NoRationale.into());
        }
        let current = self.initiative(&request.initiative)?;
        if let Some(reviewed) = request.version
            && reviewed != current.version
        {
            return Err(ValidationError::VersionChanged {
                initiative: current.iri.clone(),
                reviewed,
                current: current.version,
            }
            .into());
        }
        let role = self.validator_role();
        if role == Role::National && !current.country.eq_ignore_ascii_case(&self.config.country) {
            return Err(ValidationError::OtherCountry {
                initiative: current.iri.clone(),
                country: current.country.clone(),
                own: self.config.country.clone(),
            }
            .into());
        }
        self.check_four_eyes(&request.operator, &current.iri)?;
        let checklists = self.checklists()?;
        let list = pick_checklist(&checklists, request.checklist.as_deref())?;
        let assessments = assessments(list, &request.assessments)?;
        let decision = Decision {
            iri: self.decision_iri(&current, role)?,
            used: UsedVersion {
                initiative: NamedNode::new_unchecked(current.iri.clone()),
                version: current.version,
                digest: current.digest.clone(),
            },
            validator: ccis_store::node_iri(&self.config.base_url),
            role,
            checklist: NamedNode::new_unchecked(list.iri.clone()),
            assessments,
            outcome: request.outcome,
            rationale: request.rationale.clone(),
            ended_at: decision_time(),
        };
        check_allowed(&current, &decision)?;
        let published = self
            .publish(vec![decision.to_record()])?
            .into_iter()
            .next()
            .ok_or_else(|| ValidationError::NotHeld(current.iri.clone()))?;
        AuditLog::of(&self.dir.root)
            .append(&[AuditEntry {
                at: now(),
                operator: request.operator.clone(),
                action: "decide".into(),
                record: current.iri.clone(),
                version: current.version,
                detail: format!(
                    "{} {} <{}>",
                    role.notation(),
                    request.outcome.notation(),
                    published.iri
                ),
            }])
            .map_err(ValidationError::from)?;
        self.tell_submitter(&current, &published, request);
        let after = self.initiative(&current.iri)?;
        Ok((published, after))
    }

    /// Tells the submitter of an initiative this node accepted from a
    /// submission of the decision just signed, when the node sends e-mail
    /// and still keeps their contact ([`crate::submissions::Accepted`]).
    /// Nothing here fails the decision: a problem is logged.
    fn tell_submitter(
        &self,
        initiative: &InitiativeState,
        decision: &Published,
        request: &DecisionRequest,
    ) {
        if self.config.mail.is_none() {
            return;
        }
        let submissions = crate::submissions::SubmissionStore::new(self.dir.submissions());
        let kept = match submissions.accepted_as(&initiative.iri) {
            Ok(Some(kept)) => kept,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(initiative = %initiative.iri, error = %e, "cannot read the submitter's contact; no e-mail about the decision");
                return;
            }
        };
        let letter = crate::mail::decision(
            &self.config,
            &kept.contact,
            kept.language.as_deref(),
            &crate::mail::DecisionNotice {
                initiative: &initiative.iri,
                title: initiative.title.as_deref().unwrap_or(&kept.title),
                outcome: request.outcome,
                role: self.validator_role(),
                rationale: &request.rationale,
                decision: &decision.iri,
            },
        );
        crate::mail::post(&self.config, vec![letter]);
    }

    /// Writes operator actions on published records to the audit log.
    pub fn audit(
        &self,
        operator: &str,
        action: &str,
        published: &[Published],
    ) -> Result<(), NodeError> {
        let at = now();
        let entries: Vec<AuditEntry> = published
            .iter()
            .filter(|p| p.outcome != crate::node::Outcome::Unchanged)
            .map(|p| AuditEntry {
                at: at.clone(),
                operator: operator.to_owned(),
                action: action.to_owned(),
                record: p.iri.clone(),
                version: p.version,
                detail: String::new(),
            })
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        Ok(AuditLog::of(&self.dir.root)
            .append(&entries)
            .map_err(ValidationError::from)?)
    }

    fn check_four_eyes(&self, operator: &str, initiative: &str) -> Result<(), NodeError> {
        let log = AuditLog::of(&self.dir.root);
        let about = log.about(initiative).map_err(ValidationError::from)?;
        if let Some(e) = about.iter().find(|e| {
            e.operator.eq_ignore_ascii_case(operator.trim())
                && EDITING_ACTIONS.contains(&e.action.as_str())
        }) {
            return Err(ValidationError::FourEyes {
                operator: operator.trim().to_owned(),
                initiative: initiative.to_owned(),
                action: e.action.clone(),
                version: e.version,
                at: e.at.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// `{base}/records/validation-{initiative slug}-v{version}-{level}`, with
    /// `-2`, `-3`… if taken.
    fn decision_iri(
        &self,
        initiative: &InitiativeState,
        role: Role,
    ) -> Result<NamedNode, NodeError> {
        let slug: String = initiative
            .iri
            .rsplit('/')
            .next()
            .unwrap_or("initiative")
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .take(60)
            .collect();
        let level = match role {
            Role::National => "national",
            Role::European => "eu",
        };
        let stem = format!("validation-{slug}-v{}-{level}", initiative.version);
        for n in 1..1000u32 {
            let candidate = if n == 1 {
                stem.clone()
            } else {
                format!("{stem}-{n}")
            };
            if !record::is_slug(&candidate) {
                break;
            }
            let iri = NamedNode::new(self.config.record_iri(&candidate))
                .map_err(|_| NodeError::NotAnIri(candidate.clone()))?;
            let taken = self
                .store
                .get(&iri)
                .map_err(store_err(format!("cannot read <{}>", iri.as_str())))?
                .is_some();
            if !taken {
                return Ok(iri);
            }
        }
        Err(NodeError::NotAnIri(stem))
    }

    /// The trust list, or none when the node has no `peers.toml` yet.
    fn peers_for_workflow(&self) -> Result<Peers, NodeError> {
        if !self.dir.root.join("peers.toml").exists() {
            return Ok(Peers::default());
        }
        Ok(Peers::load_for_node(&self.dir.root)?)
    }
}

/// Every initiative held in `store` (own and harvested), with its derived
/// state, by IRI; see [`derive_initiative`].
pub fn derive_initiatives(
    store: &NodeStore,
    config: &NodeConfig,
    peers: &Peers,
) -> Result<Vec<InitiativeState>, NodeError> {
    let iris = store
        .initiatives()
        .map_err(store_err("cannot list the initiatives"))?;
    let mut out = Vec::with_capacity(iris.len());
    for iri in iris {
        if let Some(state) = derive_initiative(store, config, peers, &iri)? {
            out.push(state);
        }
    }
    Ok(out)
}

/// An initiative held in `store`, with its state derived from the decisions
/// held about it (`None` if the store holds no initiative by that IRI), as
/// the node configured by `config` and trusting `peers` sees it.
pub fn derive_initiative(
    store: &NodeStore,
    config: &NodeConfig,
    peers: &Peers,
    iri: &NamedNode,
) -> Result<Option<InitiativeState>, NodeError> {
    let read = |what: &str| store_err(format!("cannot read {what} of <{}>", iri.as_str()));
    let Some(current) = store.get(iri).map_err(read("the current version"))? else {
        return Ok(None);
    };
    let record = &current.record;
    let signed_decisions = store.decisions_about(iri).map_err(read("the decisions"))?;
    // A withdrawn initiative is a tombstone; its decisions say what it was.
    let withdrawn_initiative = record.is_withdrawn() && !signed_decisions.is_empty();
    if !decision::is_initiative(record) && !withdrawn_initiative {
        return Ok(None);
    }
    let version =
        decision::initiative_version(record, &canon::Limits::default()).map_err(|source| {
            ValidationError::Canon {
                initiative: iri.as_str().to_owned(),
                source,
            }
        })?;
    let held: Vec<Decision> = signed_decisions
        .iter()
        .filter_map(|s: &SignedRecord| Decision::from_record(&s.record).ok())
        .collect();
    let summaries: Vec<_> = held.iter().map(Decision::summary).collect();
    let derived = workflow::derive_state(&version, &summaries);
    let decisions = held
        .into_iter()
        .map(|d| {
            let status = derived
                .decisions
                .iter()
                .find(|(i, _)| i == d.iri.as_str())
                .map(|(_, s)| s.clone())
                .unwrap_or(DecisionStatus::AboutOlderVersion);
            HeldDecision {
                decision: d,
                status,
            }
        })
        .collect();
    let (origin, country) = origin_of(config, iri.as_str(), peers);
    Ok(Some(InitiativeState {
        iri: iri.as_str().to_owned(),
        title: record.title(&["en"]),
        origin,
        country,
        version: version.version,
        digest: version.digest,
        level: version.level,
        state: derived.state,
        modified: record.modified().unwrap_or_default().to_owned(),
        decisions,
    }))
}

/// The origin node's id and country.
fn origin_of(config: &NodeConfig, iri: &str, peers: &Peers) -> (String, String) {
    if record::record_of(iri, &config.base_url).is_some() {
        return (config.id.clone(), config.country.to_ascii_uppercase());
    }
    peers
        .origin_of(iri)
        .map(|p| (p.id.clone(), p.country.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// The time of a decision: now, to the second (what `xsd:dateTime` keeps).
fn decision_time() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Refuses a decision the workflow would refuse given those held.
fn check_allowed(current: &InitiativeState, decision: &Decision) -> Result<(), NodeError> {
    let version = workflow::InitiativeVersion {
        iri: current.iri.clone(),
        version: current.version,
        digest: current.digest.clone(),
        level: current.level,
        withdrawn: current.state == State::Withdrawn,
    };
    let mut summaries: Vec<_> = current
        .decisions
        .iter()
        .map(|h| h.decision.summary())
        .collect();
    summaries.push(decision.summary());
    let derived = workflow::derive_state(&version, &summaries);
    let status = derived
        .decisions
        .iter()
        .find(|(i, _)| i == decision.iri.as_str())
        .map(|(_, s)| s.clone());
    match status {
        Some(DecisionStatus::Refused(source)) => Err(ValidationError::Illegal {
            initiative: current.iri.clone(),
            source,
        }
        .into()),
        Some(DecisionStatus::Applies) => Ok(()),
        _ => {
            // A withdrawn initiative: no review applies to it.
            let start = match decision.role {
                Role::National => Event::StartNationalReview,
                Role::European => Event::StartEuReview,
            };
            let source = workflow::transition(current.state, start, current.level)
                .err()
                .unwrap_or_else(|| IllegalTransition {
                    state: current.state,
                    event: start,
                    level: current.level,
                    allowed: workflow::allowed_events(current.state, current.level),
                });
            Err(ValidationError::Illegal {
                initiative: current.iri.clone(),
                source,
            }
            .into())
        }
    }
}

/// The checklist named (IRI or file stem), the SIM one by default.
fn pick_checklist<'c>(
    checklists: &'c [Checklist],
    name: Option<&str>,
) -> Result<&'c Checklist, ValidationError> {
    let name = name.unwrap_or(checklist::SIM);
    let stem = |c: &Checklist| {
        std::path::Path::new(&c.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned()
    };
    checklists
        .iter()
        .find(|c| c.iri == name || stem(c) == name)
        .ok_or_else(|| ValidationError::UnknownChecklist {
            name: name.to_owned(),
            known: checklists
                .iter()
                .map(|c| format!("{} (<{}>)", stem(c), c.iri))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A criterion's local name: what follows its last `#` or `/`.
pub fn criterion_name(iri: &str) -> &str {
    iri.rsplit(['#', '/']).next().unwrap_or(iri)
}

/// The assessments given, one per criterion of the checklist in its order;
/// every criterion assessed, none unknown.
fn assessments(
    list: &Checklist,
    given: &[(String, CriterionOutcome, Texts)],
) -> Result<Vec<Assessment>, ValidationError> {
    let names = || {
        list.criteria
            .iter()
            .map(|c| criterion_name(&c.iri))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut found: Vec<Option<&(String, CriterionOutcome, Texts)>> =
        vec![None; list.criteria.len()];
    for g in given {
        let Some(at) = list
            .criteria
            .iter()
            .position(|c| c.iri == g.0 || criterion_name(&c.iri) == g.0)
        else {
            return Err(ValidationError::UnknownCriterion {
                checklist: list.iri.clone(),
                name: g.0.clone(),
                known: names(),
            });
        };
        found[at] = Some(g);
    }
    let missing: Vec<&str> = list
        .criteria
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(c, _)| criterion_name(&c.iri))
        .collect();
    if !missing.is_empty() {
        return Err(ValidationError::Unassessed {
            checklist: list.iri.clone(),
            missing: missing.join(", "),
        });
    }
    Ok(list
        .criteria
        .iter()
        .zip(found)
        .filter_map(|(c, f)| {
            f.map(|(_, outcome, comment)| Assessment {
                criterion: NamedNode::new_unchecked(c.iri.clone()),
                outcome: *outcome,
                comment: comment.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> Checklist {
        let all = checklist::builtin().expect("built-in checklists");
        pick_checklist(&all, Some("sim")).expect("sim").clone()
    }

    #[test]
    fn checklists_are_found_by_file_stem_or_iri_and_sim_by_default() {
        let all = checklist::builtin().expect("built-in checklists");
        assert_eq!(
            pick_checklist(&all, None).expect("default").iri,
            checklist::SIM
        );
        assert_eq!(
            pick_checklist(&all, Some("csess")).expect("csess").iri,
            checklist::CSESS
        );
        assert_eq!(
            pick_checklist(&all, Some(checklist::CSESS))
                .expect("by IRI")
                .iri,
            checklist::CSESS
        );
        let e = pick_checklist(&all, Some("nope")).expect_err("unknown");
        assert!(e.to_string().contains("sim (<"), "{e}");
    }

    #[test]
    fn every_criterion_is_assessed_once_in_the_checklist_order() {
        let list = sim();
        let names: Vec<&str> = list
            .criteria
            .iter()
            .map(|c| criterion_name(&c.iri))
            .collect();
        assert_eq!(names.len(), 4);
        let mut given: Vec<_> = names
            .iter()
            .rev()
            .map(|n| ((*n).to_owned(), CriterionOutcome::Passed, Texts::new()))
            .collect();
        let got = assessments(&list, &given).expect("all assessed");
        let order: Vec<&str> = got
            .iter()
            .map(|a| criterion_name(a.criterion.as_str()))
            .collect();
        assert_eq!(order, names);

        given.pop();
        let e = assessments(&list, &given).expect_err("one missing");
        assert!(
            matches!(&e, ValidationError::Unassessed { missing, .. } if missing == names[0]),
            "{e}"
        );
        given.push(("made-up".into(), CriterionOutcome::Failed, Texts::new()));
        let e = assessments(&list, &given).expect_err("unknown criterion");
        assert!(
            e.to_string().contains("made-up") && e.to_string().contains(names[1]),
            "{e}"
        );
    }

    #[test]
    fn criteria_are_named_by_their_local_name() {
        assert_eq!(
            criterion_name("https://w3id.org/ccis/checklists/sim#problem-scope"),
            "problem-scope"
        );
        assert_eq!(criterion_name("https://example.org/list/c1"), "c1");
    }
}
