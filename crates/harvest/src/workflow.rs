//! Rule 4 of the harvest: a validation decision is stored only if it is
//! bound to a version of an initiative this node holds, signed by the
//! validator its level requires, and allowed by the workflow.
//!
//! Checked after rules 1–3, in page order, for the versions that passed
//! them: a decision is checked against the initiative versions and the
//! decisions stored, and those accepted earlier in the same walk (a relay
//! serves an initiative, its national decision and its EU decision in that
//! order, often on one page).

use ccis_integrity::decision::{check_signer, check_used_version};
use ccis_integrity::keys;
use ccis_integrity::peers::Peers;
use ccis_integrity::signed::SignedRecord;
use ccis_integrity::verify::Rule;
use ccis_model::canon;
use ccis_model::decision::{self, Decision};
use ccis_model::record::{self, Record};
use ccis_model::workflow::{DecisionStatus, DecisionSummary, derive_state};
use ccis_store::RecordStore;
use oxrdf::NamedNode;
use std::collections::HashMap;

use crate::HarvestError;

/// Initiative versions and decisions accepted earlier in a walk, not yet stored.
#[derive(Debug, Default)]
pub(crate) struct WorkflowMemory {
    initiatives: HashMap<(NamedNode, u64), Record>,
    decisions: HashMap<NamedNode, Vec<DecisionSummary>>,
}

/// What rule 4 reads.
pub(crate) struct DecisionRule<'a> {
    /// The store.
    pub store: &'a dyn RecordStore,
    /// Trusted peers.
    pub peers: &'a Peers,
    /// This node's base URL.
    pub self_base: &'a str,
    /// This node's country (ISO 3166-1 alpha-2), for its own initiatives.
    pub self_country: &'a str,
}

/// A refusal by rule 4.
pub(crate) type Refused = (Rule, String);

impl DecisionRule<'_> {
    /// Rule 4 for a version that passed rules 1–3. An accepted initiative
    /// version or decision is noted in `memory`; other records pass.
    pub fn check(
        &self,
        signed: &SignedRecord,
        memory: &mut WorkflowMemory,
    ) -> Result<Result<(), Refused>, HarvestError> {
        let r = &signed.record;
        if decision::is_initiative(r) {
            let version = r.version().unwrap_or(0);
            memory
                .initiatives
                .insert((r.iri.clone(), version), r.clone());
            return Ok(Ok(()));
        }
        if !decision::is_decision(r) {
            return Ok(Ok(()));
        }
        let decision = match Decision::from_record(r) {
            Ok(d) => d,
            Err(e) => return Ok(Err((Rule::Shapes, e.to_string()))),
        };
        match self.check_decision(signed, &decision, memory)? {
            Ok(()) => {
                memory
                    .decisions
                    .entry(decision.used.initiative.clone())
                    .or_default()
                    .push(decision.summary());
                Ok(Ok(()))
            }
            Err(refused) => Ok(Err(refused)),
        }
    }

    fn check_decision(
        &self,
        signed: &SignedRecord,
        decision: &Decision,
        memory: &WorkflowMemory,
    ) -> Result<Result<(), Refused>, HarvestError> {
        let name = decision.iri.as_str();
        let used = &decision.used;
        let initiative = match self.used_version(decision, memory)? {
            Ok(initiative) => initiative,
            Err(refused) => return Ok(Err(refused)),
        };
        let limits = canon::Limits::default();
        if let Err(e) = check_used_version(decision, &initiative, &limits) {
            return Ok(Err((e.rule(), e.to_string())));
        }
        let Some(country) = self.country_of(used.initiative.as_str()) else {
            return Ok(Err((
                Rule::DecisionInitiative,
                format!(
                    "decision <{name}>: the origin of <{}> is not a trusted node",
                    used.initiative.as_str()
                ),
            )));
        };
        let key = signed
            .proof
            .verification_method()
            .ok()
            .and_then(|vm| keys::parse_verification_method(vm).ok());
        let (Some(key), Ok(created)) = (key, signed.proof.created()) else {
            return Ok(Err((
                Rule::DecisionSigner,
                format!("decision <{name}>: its proof names no usable key or time"),
            )));
        };
        if let Err(e) = check_signer(decision, &key, created, &country, self.peers) {
            return Ok(Err((e.rule(), e.to_string())));
        }
        self.check_workflow(decision, &initiative, memory)
    }

    /// The initiative version the decision used, as stored or accepted in the walk.
    fn used_version(
        &self,
        decision: &Decision,
        memory: &WorkflowMemory,
    ) -> Result<Result<Record, Refused>, HarvestError> {
        let used = &decision.used;
        let iri = &used.initiative;
        let name = decision.iri.as_str();
        let store_err = |e| HarvestError::record(name, e);
        let found = match memory.initiatives.get(&(iri.clone(), used.version)) {
            Some(r) => Some(r.clone()),
            None => match self.store.get(iri).map_err(store_err)? {
                Some(current) if current.record.version() == Some(used.version) => {
                    Some(current.record)
                }
                Some(_) => self.store.version(iri, used.version).map_err(store_err)?,
                None => None,
            },
        };
        let held_at_all = found.is_some()
            || memory.initiatives.keys().any(|(i, _)| i == iri)
            || self.store.get(iri).map_err(store_err)?.is_some();
        Ok(match found {
            Some(r) if decision::is_initiative(&r) => Ok(r),
            Some(_) => Err((
                Rule::DecisionInitiative,
                format!(
                    "decision <{name}> is about <{}>, whose version {} is not an initiative",
                    iri.as_str(),
                    used.version
                ),
            )),
            None if held_at_all => Err((
                Rule::DecisionVersion,
                format!(
                    "decision <{name}> judged version {} of <{}>, a version this node never held",
                    used.version,
                    iri.as_str()
                ),
            )),
            None => Err((
                Rule::DecisionInitiative,
                format!(
                    "decision <{name}> is about <{}>, which this node does not hold (its origin \
                     is harvested after the decision's, or not trusted)",
                    iri.as_str()
                ),
            )),
        })
    }

    /// The country whose national node validates an initiative: that of its origin node.
    fn country_of(&self, initiative: &str) -> Option<String> {
        if record::record_of(initiative, self.self_base).is_some() {
            return Some(self.self_country.to_owned());
        }
        self.peers.origin_of(initiative).map(|p| p.country.clone())
    }

    /// The decision is allowed by the workflow, given the decisions held
    /// about the same initiative: replayed with them, it is not refused.
    fn check_workflow(
        &self,
        decision: &Decision,
        initiative: &Record,
        memory: &WorkflowMemory,
    ) -> Result<Result<(), Refused>, HarvestError> {
        let name = decision.iri.as_str();
        let Ok(version) = decision::initiative_version(initiative, &canon::Limits::default())
        else {
            // check_used_version computed this digest already.
            return Ok(Ok(()));
        };
        let mut summaries: Vec<DecisionSummary> = self
            .store
            .decisions_about(&decision.used.initiative)
            .map_err(|e| HarvestError::record(name, e))?
            .iter()
            .filter_map(|s| Decision::from_record(&s.record).ok())
            .map(|d| d.summary())
            .collect();
        if let Some(pending) = memory.decisions.get(&decision.used.initiative) {
            summaries.extend(pending.iter().cloned());
        }
        summaries.push(decision.summary());
        let derived = derive_state(&version, &summaries);
        match derived.decisions.iter().find(|(iri, _)| iri == name) {
            Some((_, DecisionStatus::Refused(e))) => Ok(Err((
                Rule::DecisionWorkflow,
                format!("decision <{name}>: {e}"),
            ))),
            _ => Ok(Ok(())),
        }
    }
}
