//! The three harvest rules of the design, applied to one member of a page.
//!
//! 1. the proof verifies with a key pinned for the record's origin node,
//!    valid at the proof's `created` and not revoked;
//! 2. the version is greater than the stored one (an equal version with other
//!    content is equivocation: refused and flagged);
//! 3. the record passes the SHACL shapes and the limits.

use ccis_feed::PageMember;
use ccis_integrity::peers::Peers;
use ccis_integrity::shapes::ShapeValidator;
use ccis_integrity::signed::{FoundRecord, SignedRecord};
use ccis_integrity::verify::{Refusal, Trust, Verified, Verifier};
use ccis_model::record;
use ccis_store::{RecordStore, member_iri};
use oxrdf::NamedNode;
use std::collections::HashMap;
use time::OffsetDateTime;

use crate::HarvestError;

pub use ccis_integrity::verify::Rule;

/// What to do with one member.
#[derive(Debug)]
pub enum Decision {
    /// Store it.
    Accept {
        /// The verified version.
        signed: SignedRecord,
        /// Id of its origin node.
        origin: String,
        /// The verification method that signed it.
        verified_with: String,
        /// Whether it replaces a version the store already holds (not one
        /// accepted earlier from the same batch of pages).
        replaces_stored: bool,
    },
    /// Already stored (the same version came before, directly or by another path).
    Known,
    /// Refused, by rule, with why.
    Refuse(Rule, String),
}

/// Everything a decision reads.
pub struct Judge<'a> {
    /// This node's id.
    pub self_id: &'a str,
    /// This node's base URL.
    pub self_base: &'a str,
    /// Trusted peers with their pinned keys.
    pub peers: &'a Peers,
    /// The store (stored versions and proofs).
    pub store: &'a dyn RecordStore,
    /// SHACL shapes.
    pub validator: &'a ShapeValidator,
    /// Rule 3's limits.
    pub limits: &'a record::RecordLimits,
    /// The time of verification (from the harvester's clock): a proof
    /// created later than this, beyond the allowed skew, is refused.
    pub now: OffsetDateTime,
}

impl Judge<'_> {
    /// Rule 3's shapes for the records a page's members passed the other rules
    /// with: one SHACL run for them all; the error of each refused one.
    pub fn shapes(&self, records: &[&ccis_model::record::Record]) -> Vec<Option<String>> {
        self.validator
            .validate_many(records)
            .into_iter()
            .map(|r| r.err().map(|e| e.to_string()))
            .collect()
    }
}

fn proof_value(signed: &SignedRecord) -> Option<String> {
    signed.proof.proof_value().ok().map(str::to_owned)
}

/// A version and its proof value, as stored or accepted earlier.
type Held = (u64, Option<String>);

/// A member judged by the rules that come before the verifier and, if it
/// got that far, by the verifier.
#[derive(Debug)]
pub enum Screened<'m> {
    /// Decided before the verifier (malformed, known, or this node's own).
    Decided(Decision),
    /// The verifier's verdict.
    Verified {
        /// Its `ccis:version`.
        version: u64,
        /// Whether the store holds the member with this proof (`Some(false)`:
        /// with another one); `None` when it does not hold it or it has no
        /// single proof.
        stored_member: Option<bool>,
        /// The verifier's verdict (rule 1 and the limits).
        verdict: Result<Verified<'m>, Refusal>,
    },
}

/// What the rules before the verifier found about a member.
enum BeforeVerifier {
    /// A decision already.
    Decided(Decision),
    /// The member goes to the verifier.
    Reaches {
        /// Its `ccis:version`.
        version: u64,
        /// Whether the store holds the member with this proof.
        stored_member: Option<bool>,
    },
}

impl Judge<'_> {
    /// Judges the members of a page up to and including the verifier, which
    /// checks the signatures of all that reach it with one batch
    /// verification; [`Self::decide`] then judges each member further, in
    /// page order.
    ///
    /// The steps before the verifier, in order: the member's form, whether
    /// it is already stored, whether it is this node's own.
    pub fn screen<'m>(&self, members: &'m [PageMember]) -> Result<Vec<Screened<'m>>, HarvestError> {
        let mut before = Vec::with_capacity(members.len());
        for m in members {
            before.push(self.before_verifier(m)?);
        }
        let reaching: Vec<&FoundRecord> = members
            .iter()
            .zip(&before)
            .filter(|(_, b)| matches!(b, BeforeVerifier::Reaches { .. }))
            .map(|(m, _)| &m.found)
            .collect();
        // Rule 1 and the limits, by the one verifier: nothing unverified is judged further.
        let mut verdicts = self.verifier().verify_many(&reaching).into_iter();
        let mut screened = Vec::with_capacity(members.len());
        for b in before {
            screened.push(match b {
                BeforeVerifier::Decided(d) => Screened::Decided(d),
                BeforeVerifier::Reaches {
                    version,
                    stored_member,
                } => Screened::Verified {
                    version,
                    stored_member,
                    // `verify_many` gives one verdict per record, in order.
                    verdict: verdicts.next().unwrap_or_else(|| {
                        Err(Refusal::new(Rule::Malformed, "no verdict for this member"))
                    }),
                },
            });
        }
        Ok(screened)
    }

    /// The rules before the verifier for one member.
    fn before_verifier(&self, m: &PageMember) -> Result<BeforeVerifier, HarvestError> {
        let version = match Self::check_form(m) {
            Ok(v) => v,
            Err(refused) => return Ok(BeforeVerifier::Decided(refused)),
        };
        // A version already stored, with this very proof: seen before (again,
        // or by another path). With another proof, it is judged below.
        let stored_member = self.stored_member(m)?;
        if stored_member == Some(true) && m.found.unsigned.is_empty() {
            return Ok(BeforeVerifier::Decided(Decision::Known));
        }
        if self.is_own(m.found.record.iri.as_str()) {
            // This node's own versions come back through peers that relay
            // them (known, above); any other version of its records is forged.
            return Ok(BeforeVerifier::Decided(Decision::Refuse(
                Rule::NotPublishedHere,
                "a record of this node that this node did not publish".into(),
            )));
        }
        Ok(BeforeVerifier::Reaches {
            version,
            stored_member,
        })
    }

    /// Decides on a member screened by [`Self::screen`], by everything but
    /// the SHACL shapes, which [`Self::shapes`] checks for a whole page at
    /// once; `pending` holds versions accepted earlier in the same batch of
    /// pages (record → (version, proofValue)).
    pub fn decide(
        &self,
        m: &PageMember,
        screened: Screened<'_>,
        pending: &HashMap<NamedNode, Held>,
    ) -> Result<Decision, HarvestError> {
        let (version, stored_member, verified) = match screened {
            Screened::Decided(decision) => return Ok(decision),
            Screened::Verified {
                verdict: Err(Refusal { rule, reason }),
                ..
            } => return Ok(Decision::Refuse(rule, reason)),
            Screened::Verified {
                version,
                stored_member,
                verdict: Ok(verified),
            } => (version, stored_member, verified),
        };
        if stored_member == Some(false) {
            return Ok(equivocation(version));
        }
        let signed = verified.signed();
        let (held, replaces_stored) = self.held(&m.found.record.iri, pending)?;
        if let Some(refused) = against_held(version, &signed, held) {
            return Ok(refused);
        }
        Ok(Decision::Accept {
            verified_with: verified.verification_method(),
            origin: verified.origin.unwrap_or_default(),
            signed,
            replaces_stored,
        })
    }

    /// The member's version, if the member is a well-formed version: it has
    /// one, and its IRI is `{record}/versions/{version}`.
    fn check_form(m: &PageMember) -> Result<u64, Decision> {
        let iri = m.found.record.iri.as_str();
        let Some(version) = m.found.record.version() else {
            return Err(Decision::Refuse(Rule::Malformed, "no ccis:version".into()));
        };
        if m.member != member_iri(iri, version) {
            return Err(Decision::Refuse(
                Rule::Malformed,
                format!(
                    "member <{}> is not <{iri}/versions/{version}>",
                    m.member.as_str()
                ),
            ));
        }
        Ok(version)
    }

    /// Whether the store's feed log holds this member with the member's own
    /// proof (`Some(true)`), with another (`Some(false)`), or not at all.
    fn stored_member(&self, m: &PageMember) -> Result<Option<bool>, HarvestError> {
        let incoming_proof = match m.found.proofs.as_slice() {
            [one] => one.proof_value().unwrap_or_default(),
            _ => "",
        };
        if incoming_proof.is_empty() {
            return Ok(None);
        }
        self.store
            .member_has_proof(&m.member, incoming_proof)
            .map_err(|e| HarvestError::record(m.record.as_str(), e))
    }

    /// Whether a record IRI is this node's own.
    fn is_own(&self, iri: &str) -> bool {
        record::record_of(iri, self.self_base).is_some()
            || self
                .peers
                .origin_of(iri)
                .is_some_and(|p| p.id == self.self_id)
    }

    /// The one verifier, for rule 1 and the limits, at [`Self::now`].
    fn verifier(&self) -> Verifier<'_> {
        let mut verifier =
            Verifier::new(Trust::Peers(self.peers)).with_record_limits(self.limits.clone());
        verifier.now = self.now;
        verifier
    }

    /// Rule 1 and the limits for one member, by the one verifier, at
    /// [`Self::now`].
    pub fn verify_member<'m>(&self, m: &'m PageMember) -> Result<Verified<'m>, Refusal> {
        self.verifier().verify(&m.found)
    }

    /// What is held of a record: accepted earlier in the batch, else stored
    /// (then an accepted version replaces a stored one).
    fn held(
        &self,
        record: &NamedNode,
        pending: &HashMap<NamedNode, Held>,
    ) -> Result<(Option<Held>, bool), HarvestError> {
        if let Some((v, pv)) = pending.get(record) {
            return Ok((Some((*v, pv.clone())), false));
        }
        let stored = self
            .store
            .get(record)
            .map_err(|e| HarvestError::record(record.as_str(), e))?
            .map(|s| (s.record.version().unwrap_or(0), proof_value(&s)));
        let replaces = stored.is_some();
        Ok((stored, replaces))
    }
}

/// Rule 2 against what is held of the record: `None` if the version is newer.
fn against_held(version: u64, signed: &SignedRecord, held: Option<Held>) -> Option<Decision> {
    let (held_version, held_proof) = held?;
    if version == held_version {
        return Some(if held_proof == proof_value(signed) {
            Decision::Known
        } else {
            equivocation(version)
        });
    }
    (version < held_version).then(|| {
        Decision::Refuse(
            Rule::Version,
            format!("version {version} is older than the stored version {held_version}"),
        )
    })
}

/// The refusal of a version stored with other content.
fn equivocation(version: u64) -> Decision {
    Decision::Refuse(
        Rule::Equivocation,
        format!(
            "version {version} is already stored with other content: the origin signed two contents with one version"
        ),
    )
}
