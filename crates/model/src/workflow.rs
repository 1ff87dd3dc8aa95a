//! The validation workflow of initiatives: states, events, the one
//! transition function, and the state derived from signed decisions.
//!
//! The allowed transitions live in [`transition`] and nowhere else. An
//! initiative's state is never a field someone edits: [`derive_state`]
//! replays the verified decisions about its *current* version through
//! [`transition`], so every node holding the same records computes the same
//! state. Decisions about another version (or other content under the same
//! version number) do not apply; they are reported as about an older version.
//!
//! Routes: local, regional and national initiatives go national review →
//! EU review; transnational ones go straight to EU review at the European
//! node.

use std::fmt;
use time::OffsetDateTime;

/// The ccis namespace, as the concept IRIs below are written.
const NS: &str = "https://w3id.org/ccis/ns#";

/// A state of the workflow (`ccis:WorkflowStates` in `vocab/schemes.ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Being written; not yet proposed.
    Draft,
    /// Proposed; the current version awaits review.
    Submitted,
    /// Reviewed by the national centre of its country.
    NationalReview,
    /// A validator asked for changes; a new version goes back to review.
    ChangesRequested,
    /// Validated nationally; awaits EU-level review.
    NationallyValidated,
    /// Reviewed by the European centre.
    EuReview,
    /// Validated at EU level.
    Published,
    /// Refused by a validator.
    Rejected,
    /// Withdrawn by its origin node.
    Withdrawn,
}

impl State {
    /// Every state, in workflow order.
    pub const ALL: [State; 9] = [
        State::Draft,
        State::Submitted,
        State::NationalReview,
        State::ChangesRequested,
        State::NationallyValidated,
        State::EuReview,
        State::Published,
        State::Rejected,
        State::Withdrawn,
    ];

    /// The concept's local name (`skos:notation`).
    pub fn notation(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::NationalReview => "national-review",
            State::ChangesRequested => "changes-requested",
            State::NationallyValidated => "nationally-validated",
            State::EuReview => "eu-review",
            State::Published => "published",
            State::Rejected => "rejected",
            State::Withdrawn => "withdrawn",
        }
    }

    /// The SKOS concept IRI (`ccis:state-…`).
    pub fn iri(self) -> String {
        format!("{NS}state-{}", self.notation())
    }

    /// The state named by a concept IRI.
    pub fn from_iri(iri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.iri() == iri)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.notation())
    }
}

/// An initiative's level of action (`ccis:LevelsOfAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Local.
    Local,
    /// Regional.
    Regional,
    /// National.
    National,
    /// Several countries: EU-level validation only.
    Transnational,
}

impl Level {
    /// Every level.
    pub const ALL: [Level; 4] = [
        Level::Local,
        Level::Regional,
        Level::National,
        Level::Transnational,
    ];

    /// The concept's local name.
    pub fn notation(self) -> &'static str {
        match self {
            Level::Local => "local",
            Level::Regional => "regional",
            Level::National => "national",
            Level::Transnational => "transnational",
        }
    }

    /// The SKOS concept IRI (`ccis:level-…`).
    pub fn iri(self) -> String {
        format!("{NS}level-{}", self.notation())
    }

    /// The level named by a concept IRI.
    pub fn from_iri(iri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.iri() == iri)
    }

    /// Whether the route goes through a national review first.
    pub fn has_national_review(self) -> bool {
        self != Level::Transnational
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.notation())
    }
}

/// The outcome of a decision (`ccis:DecisionOutcomes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Validated.
    Validated,
    /// Changes requested.
    ChangesRequested,
    /// Rejected.
    Rejected,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [
        Outcome::Validated,
        Outcome::ChangesRequested,
        Outcome::Rejected,
    ];

    /// The concept's local name.
    pub fn notation(self) -> &'static str {
        match self {
            Outcome::Validated => "validated",
            Outcome::ChangesRequested => "changes-requested",
            Outcome::Rejected => "rejected",
        }
    }

    /// The SKOS concept IRI (`ccis:outcome-…`).
    pub fn iri(self) -> String {
        format!("{NS}outcome-{}", self.notation())
    }

    /// The outcome named by a concept IRI.
    pub fn from_iri(iri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.iri() == iri)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.notation())
    }
}

/// The role a validator decides in (`ccis:ValidatorRoles`): the level of its decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The national centre of the initiative's country.
    National,
    /// The European centre.
    European,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 2] = [Role::National, Role::European];

    /// The concept's local name.
    pub fn notation(self) -> &'static str {
        match self {
            Role::National => "national-validator",
            Role::European => "european-validator",
        }
    }

    /// The SKOS concept IRI (`ccis:role-…`).
    pub fn iri(self) -> String {
        format!("{NS}role-{}", self.notation())
    }

    /// The role named by a concept IRI.
    pub fn from_iri(iri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.iri() == iri)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.notation())
    }
}

/// What happens to an initiative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// The project holder or an operator proposes a draft for validation.
    Submit,
    /// The national centre starts reviewing.
    StartNationalReview,
    /// The national centre decides.
    DecideNational(Outcome),
    /// The European centre starts reviewing.
    StartEuReview,
    /// The European centre decides.
    DecideEu(Outcome),
    /// The origin node withdraws the initiative.
    Withdraw,
    /// A new version of the initiative is published.
    NewVersion,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 11] = [
        Event::Submit,
        Event::StartNationalReview,
        Event::DecideNational(Outcome::Validated),
        Event::DecideNational(Outcome::ChangesRequested),
        Event::DecideNational(Outcome::Rejected),
        Event::StartEuReview,
        Event::DecideEu(Outcome::Validated),
        Event::DecideEu(Outcome::ChangesRequested),
        Event::DecideEu(Outcome::Rejected),
        Event::Withdraw,
        Event::NewVersion,
    ];
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Submit => f.write_str("submit"),
            Event::StartNationalReview => f.write_str("start national review"),
            Event::DecideNational(o) => write!(f, "national decision ({o})"),
            Event::StartEuReview => f.write_str("start EU review"),
            Event::DecideEu(o) => write!(f, "EU decision ({o})"),
            Event::Withdraw => f.write_str("withdraw"),
            Event::NewVersion => f.write_str("new version"),
        }
    }
}

/// A transition the workflow does not allow, with what it would allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{event} is not allowed for a {level} initiative in state {state}; allowed: {}",
    list(allowed)
)]
pub struct IllegalTransition {
    /// The current state.
    pub state: State,
    /// The refused event.
    pub event: Event,
    /// The initiative's level of action.
    pub level: Level,
    /// The events allowed in this state at this level.
    pub allowed: Vec<Event>,
}

fn list(events: &[Event]) -> String {
    if events.is_empty() {
        return "none".into();
    }
    events
        .iter()
        .map(Event::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one transition function of the workflow.
pub fn transition(state: State, event: Event, level: Level) -> Result<State, IllegalTransition> {
    next(state, event, level).ok_or_else(|| IllegalTransition {
        state,
        event,
        level,
        allowed: allowed_events(state, level),
    })
}

/// The events allowed in `state` for an initiative at `level`.
pub fn allowed_events(state: State, level: Level) -> Vec<Event> {
    Event::ALL
        .into_iter()
        .filter(|e| next(state, *e, level).is_some())
        .collect()
}

fn next(state: State, event: Event, level: Level) -> Option<State> {
    use State::*;
    let national = level.has_national_review();
    let decided = |o: Outcome| match o {
        Outcome::Validated => None,
        Outcome::ChangesRequested => Some(ChangesRequested),
        Outcome::Rejected => Some(Rejected),
    };
    match (state, event) {
        (Withdrawn, _) => None,
        (_, Event::Withdraw) => Some(Withdrawn),
        (Draft, Event::Submit) => Some(Submitted),
        (Draft, Event::NewVersion) => Some(Draft),
        // An edit after a review started or ended needs a new review.
        (_, Event::NewVersion) => Some(Submitted),
        (Submitted, Event::StartNationalReview) if national => Some(NationalReview),
        (Submitted, Event::StartEuReview) if !national => Some(EuReview),
        (NationalReview, Event::DecideNational(o)) if national => {
            decided(o).or(Some(NationallyValidated))
        }
        (NationallyValidated, Event::StartEuReview) if national => Some(EuReview),
        (EuReview, Event::DecideEu(o)) => decided(o).or(Some(Published)),
        _ => None,
    }
}

/// One version of an initiative, as the state is derived for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiativeVersion {
    /// The initiative record's IRI.
    pub iri: String,
    /// Its current version.
    pub version: u64,
    /// `digestMultibase` of the current version's signed content.
    pub digest: String,
    /// Its level of action.
    pub level: Level,
    /// Whether the current version is a withdrawal tombstone.
    pub withdrawn: bool,
}

/// A verified decision, as far as the workflow needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionSummary {
    /// The decision record's IRI.
    pub iri: String,
    /// The initiative it used.
    pub initiative: String,
    /// The version it used.
    pub version: u64,
    /// The digest of the version it used.
    pub digest: String,
    /// The level it was taken at.
    pub role: Role,
    /// What was decided.
    pub outcome: Outcome,
    /// When (`prov:endedAtTime`).
    pub ended_at: OffsetDateTime,
}

impl DecisionSummary {
    /// The key decisions are replayed in: time, then national before
    /// European, then every other field, so that the order of the input
    /// never matters.
    fn replay_key(&self) -> impl Ord + '_ {
        (
            self.ended_at,
            self.role,
            &self.iri,
            self.outcome,
            &self.initiative,
            self.version,
            &self.digest,
        )
    }
}

/// How one decision bears on the current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionStatus {
    /// It is about the current version and took effect.
    Applies,
    /// It is about another version, or other content under the current
    /// version number: it does not apply to the current version, and is
    /// shown as about an older version.
    AboutOlderVersion,
    /// It is about another initiative.
    OtherInitiative,
    /// It is about the current version but the workflow does not allow it
    /// where it comes (e.g. an EU decision without a national validation).
    Refused(IllegalTransition),
}

/// The state of an initiative and how each decision bears on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The state of the current version.
    pub state: State,
    /// Each decision (by IRI, sorted) and its status.
    pub decisions: Vec<(String, DecisionStatus)>,
}

/// The state of an initiative derived from its current version and the
/// verified decisions about it.
///
/// A version in the catalogue starts as [`State::Submitted`]; the decisions
/// about that exact version (same IRI, version and digest) are replayed in
/// time order through [`transition`], a national decision as national review
/// then decision, an EU decision as EU review then decision. Drafts and
/// reviews in progress are not signed records and are never derived. A
/// withdrawn initiative is [`State::Withdrawn`]. The result depends only on
/// the set of decisions, not on their order.
pub fn derive_state(current: &InitiativeVersion, decisions: &[DecisionSummary]) -> Derived {
    let mut sorted: Vec<&DecisionSummary> = decisions.iter().collect();
    sorted.sort_by(|a, b| a.replay_key().cmp(&b.replay_key()));
    sorted.dedup();
    let mut state = if current.withdrawn {
        State::Withdrawn
    } else {
        State::Submitted
    };
    let mut out = Vec::with_capacity(sorted.len());
    for d in sorted {
        let status = if d.initiative != current.iri {
            DecisionStatus::OtherInitiative
        } else if d.version != current.version || d.digest != current.digest || current.withdrawn {
            DecisionStatus::AboutOlderVersion
        } else {
            let (start, decide) = match d.role {
                Role::National => (Event::StartNationalReview, Event::DecideNational(d.outcome)),
                Role::European => (Event::StartEuReview, Event::DecideEu(d.outcome)),
            };
            match transition(state, start, current.level)
                .and_then(|s| transition(s, decide, current.level))
            {
                Ok(s) => {
                    state = s;
                    DecisionStatus::Applies
                }
                Err(e) => DecisionStatus::Refused(e),
            }
        };
        out.push((d.iri.clone(), status));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Derived {
        state,
        decisions: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use Level as L;
    use Outcome as O;
    use State as S;

    /// The allowed transitions, written out independently of `next`: (from,
    /// event, levels it is allowed at, to). Everything not listed is refused.
    fn table() -> Vec<(S, E, &'static [L], S)> {
        const ALL: &[L] = &[L::Local, L::Regional, L::National, L::Transnational];
        const ROUTED: &[L] = &[L::Local, L::Regional, L::National];
        const TRANS: &[L] = &[L::Transnational];
        let mut t = vec![
            (S::Draft, E::Submit, ALL, S::Submitted),
            (S::Draft, E::NewVersion, ALL, S::Draft),
            (
                S::Submitted,
                E::StartNationalReview,
                ROUTED,
                S::NationalReview,
            ),
            (S::Submitted, E::StartEuReview, TRANS, S::EuReview),
            (
                S::NationalReview,
                E::DecideNational(O::Validated),
                ROUTED,
                S::NationallyValidated,
            ),
            (
                S::NationalReview,
                E::DecideNational(O::ChangesRequested),
                ROUTED,
                S::ChangesRequested,
            ),
            (
                S::NationalReview,
                E::DecideNational(O::Rejected),
                ROUTED,
                S::Rejected,
            ),
            (
                S::NationallyValidated,
                E::StartEuReview,
                ROUTED,
                S::EuReview,
            ),
            (S::EuReview, E::DecideEu(O::Validated), ALL, S::Published),
            (
                S::EuReview,
                E::DecideEu(O::ChangesRequested),
                ALL,
                S::ChangesRequested,
            ),
            (S::EuReview, E::DecideEu(O::Rejected), ALL, S::Rejected),
        ];
        for s in [
            S::Submitted,
            S::NationalReview,
            S::ChangesRequested,
            S::NationallyValidated,
            S::EuReview,
            S::Published,
            S::Rejected,
        ] {
            t.push((s, E::NewVersion, ALL, S::Submitted));
        }
        for s in S::ALL.into_iter().filter(|s| *s != S::Withdrawn) {
            t.push((s, E::Withdraw, ALL, S::Withdrawn));
        }
        t
    }

    #[test]
    fn every_state_event_and_level_follows_the_table() {
        let table = table();
        let mut allowed = 0;
        for state in S::ALL {
            for event in E::ALL {
                for level in L::ALL {
                    let expected = table
                        .iter()
                        .find(|(s, e, ls, _)| *s == state && *e == event && ls.contains(&level))
                        .map(|(.., to)| *to);
                    let got = transition(state, event, level);
                    match expected {
                        Some(to) => {
                            allowed += 1;
                            assert_eq!(got, Ok(to), "{state} + {event} at {level}");
                        }
                        None => {
                            let err = got.expect_err(&format!("{state} + {event} at {level}"));
                            assert_eq!((err.state, err.event, err.level), (state, event, level));
                            let listed: Vec<E> = E::ALL
                                .into_iter()
                                .filter(|e| {
                                    table.iter().any(|(s, te, ls, _)| {
                                        *s == state && te == e && ls.contains(&level)
                                    })
                                })
                                .collect();
                            assert_eq!(err.allowed, listed, "{state} at {level}");
                        }
                    }
                }
            }
        }
        // 9 states × 11 events × 4 levels, of which the table allows these.
        assert_eq!(allowed, 96);
    }

    #[test]
    fn an_illegal_transition_names_the_state_and_the_allowed_events() {
        let err = transition(S::Submitted, E::DecideEu(O::Validated), L::Local).unwrap_err();
        assert_eq!(
            err.to_string(),
            "EU decision (validated) is not allowed for a local initiative in state submitted; \
             allowed: start national review, withdraw, new version"
        );
        let err = transition(S::Withdrawn, E::Submit, L::National).unwrap_err();
        assert!(err.allowed.is_empty());
        assert!(err.to_string().ends_with("allowed: none"), "{err}");
    }

    #[test]
    fn concept_iris_match_the_schemes() {
        let schemes = crate::vocab::SCHEMES_TTL;
        for s in S::ALL {
            assert_eq!(S::from_iri(&s.iri()), Some(s));
            let local = s.iri().replace(NS, "ccis:");
            assert!(
                schemes.contains(&format!("{local} a skos:Concept")),
                "{local}"
            );
        }
        for l in L::ALL {
            assert_eq!(L::from_iri(&l.iri()), Some(l));
            let local = l.iri().replace(NS, "ccis:");
            assert!(
                schemes.contains(&format!("{local} a skos:Concept")),
                "{local}"
            );
        }
        for o in O::ALL {
            assert_eq!(O::from_iri(&o.iri()), Some(o));
            let local = o.iri().replace(NS, "ccis:");
            assert!(
                schemes.contains(&format!("{local} a skos:Concept")),
                "{local}"
            );
        }
        for r in Role::ALL {
            assert_eq!(Role::from_iri(&r.iri()), Some(r));
            let local = r.iri().replace(NS, "ccis:");
            assert!(
                schemes.contains(&format!("{local} a skos:Concept")),
                "{local}"
            );
        }
        assert_eq!(
            S::from_iri("https://w3id.org/ccis/ns#state-under-review"),
            None
        );
    }

    const I: &str = "https://fr.example/records/tzc";

    fn current(version: u64, level: L) -> InitiativeVersion {
        InitiativeVersion {
            iri: I.into(),
            version,
            digest: format!("uEiD{version}"),
            level,
            withdrawn: false,
        }
    }

    fn decision(n: u32, version: u64, role: Role, outcome: O, minute: u8) -> DecisionSummary {
        DecisionSummary {
            iri: format!("https://x.example/records/d{n}"),
            initiative: I.into(),
            version,
            digest: format!("uEiD{version}"),
            role,
            outcome,
            ended_at: time::macros::datetime!(2026-11-20 10:00 UTC)
                + time::Duration::minutes(minute.into()),
        }
    }

    fn statuses(d: &Derived) -> Vec<&DecisionStatus> {
        d.decisions.iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn national_then_eu_validation_publishes() {
        let v = current(1, L::Local);
        let national = decision(1, 1, Role::National, O::Validated, 0);
        let eu = decision(2, 1, Role::European, O::Validated, 5);
        assert_eq!(derive_state(&v, &[]).state, S::Submitted);
        assert_eq!(
            derive_state(&v, std::slice::from_ref(&national)).state,
            S::NationallyValidated
        );
        let d = derive_state(&v, &[eu.clone(), national.clone()]);
        assert_eq!(d.state, S::Published);
        assert_eq!(
            statuses(&d),
            [&DecisionStatus::Applies, &DecisionStatus::Applies]
        );
    }

    #[test]
    fn an_eu_decision_without_a_national_one_is_refused_but_not_for_transnational() {
        let eu = decision(2, 1, Role::European, O::Validated, 5);
        let d = derive_state(&current(1, L::Regional), std::slice::from_ref(&eu));
        assert_eq!(d.state, S::Submitted);
        assert!(matches!(
            &d.decisions[0].1,
            DecisionStatus::Refused(e) if e.state == S::Submitted && e.event == E::StartEuReview
        ));
        let t = current(1, L::Transnational);
        assert_eq!(
            derive_state(&t, std::slice::from_ref(&eu)).state,
            S::Published
        );
        // A national decision does not apply to a transnational initiative.
        let national = decision(1, 1, Role::National, O::Validated, 0);
        let d = derive_state(&t, &[national]);
        assert_eq!(d.state, S::Submitted);
        assert!(matches!(d.decisions[0].1, DecisionStatus::Refused(_)));
    }

    #[test]
    fn decisions_about_an_older_version_or_other_content_do_not_apply() {
        let national_v1 = decision(1, 1, Role::National, O::Validated, 0);
        let eu_v1 = decision(2, 1, Role::European, O::Validated, 5);
        let v2 = current(2, L::National);
        let d = derive_state(&v2, &[national_v1.clone(), eu_v1.clone()]);
        assert_eq!(d.state, S::Submitted);
        assert_eq!(
            statuses(&d),
            [
                &DecisionStatus::AboutOlderVersion,
                &DecisionStatus::AboutOlderVersion
            ]
        );
        // Same version number, other content: not the version judged.
        let mut other = current(1, L::National);
        other.digest = "uEiDother".into();
        assert_eq!(
            derive_state(&other, std::slice::from_ref(&national_v1)).state,
            S::Submitted
        );
        // Another initiative's decision.
        let mut elsewhere = national_v1.clone();
        elsewhere.initiative = "https://fr.example/records/other".into();
        let d = derive_state(&current(1, L::National), &[elsewhere]);
        assert_eq!(
            (d.state, statuses(&d)),
            (S::Submitted, vec![&DecisionStatus::OtherInitiative])
        );
        // A withdrawn initiative stays withdrawn.
        let mut gone = current(1, L::National);
        gone.withdrawn = true;
        let d = derive_state(&gone, &[national_v1, eu_v1]);
        assert_eq!(d.state, S::Withdrawn);
    }

    #[test]
    fn changes_requested_then_a_new_version_validated() {
        let asked = decision(1, 1, Role::National, O::ChangesRequested, 0);
        let validated_v1 = decision(2, 1, Role::National, O::Validated, 9);
        let d = derive_state(
            &current(1, L::Local),
            &[asked.clone(), validated_v1.clone()],
        );
        // Changes were asked on version 1: deciding again on it is refused.
        assert_eq!(d.state, S::ChangesRequested);
        assert!(matches!(d.decisions[1].1, DecisionStatus::Refused(_)));
        let validated_v2 = decision(3, 2, Role::National, O::Validated, 30);
        let d = derive_state(&current(2, L::Local), &[asked, validated_v1, validated_v2]);
        assert_eq!(d.state, S::NationallyValidated);
        let rejected = decision(4, 1, Role::National, O::Rejected, 0);
        assert_eq!(
            derive_state(&current(1, L::Local), &[rejected]).state,
            S::Rejected
        );
    }

    /// A small deterministic generator, so the shuffles are reproducible.
    fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
        let mut out = items.to_vec();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for i in (1..out.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.swap(i, (x % (i as u64 + 1)) as usize);
        }
        out
    }

    #[test]
    fn the_order_of_the_decisions_does_not_matter() {
        let decisions = vec![
            decision(1, 1, Role::National, O::ChangesRequested, 0),
            decision(2, 2, Role::National, O::Validated, 10),
            decision(3, 2, Role::European, O::ChangesRequested, 20),
            decision(4, 3, Role::National, O::Validated, 30),
            decision(5, 3, Role::European, O::Validated, 40),
            // At the same instant as 5: national before European, then by
            // IRI, so 7 (refused), 5 (applies), 6 (refused).
            decision(6, 3, Role::European, O::Rejected, 40),
            decision(7, 3, Role::National, O::Rejected, 40),
        ];
        for level in L::ALL {
            let v = current(3, level);
            let reference = derive_state(&v, &decisions);
            assert_eq!(reference.state, S::Published, "{level}");
            assert!(
                matches!(reference.decisions[5].1, DecisionStatus::Refused(_)),
                "{level}"
            );
            for seed in 0..50 {
                let input = shuffled(&decisions, seed);
                assert_eq!(derive_state(&v, &input), reference, "{level}, seed {seed}");
            }
        }
    }
}
