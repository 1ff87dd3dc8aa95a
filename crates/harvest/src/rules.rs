//! The three harvest rules of the design, applied to one member of a page.
//!
//! 1. the proof verifies with a key pinned for the record's origin node,
//!    valid at the proof's `created` and not revoked;
//! 2. the version is greater than the stored one (an equal version with other
//!    content is equivocation: refused and flagged);
//! 3. the record passes the SHACL shapes and the limits.

use anyhow::Context as _;
use ccis_feed::PageMember;
use ccis_integrity::peers::Peers;
use ccis_integrity::shapes::ShapeValidator;
use ccis_integrity::signed::{FoundRecord, SignedRecord};
use ccis_integrity::verify::{Refusal, Trust, Verified, Verifier};
use ccis_model::record;
use ccis_store::{NodeStore, member_iri};
use oxrdf::NamedNode;
use std::collections::HashMap;

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

/// Everything a decision reads.
pub struct Judge<'a> {
    /// This node's id.
    pub self_id: &'a str,
    /// This node's base URL.
    pub self_base: &'a str,
    /// Trusted peers with their pinned keys.
    pub peers: &'a Peers,
    /// The store (stored versions and proofs).
    pub store: &'a NodeStore,
    /// SHACL shapes.
    pub validator: &'a ShapeValidator,
    /// Rule 3's limits.
    pub limits: &'a record::RecordLimits,
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
        /// with another one); `None` when it does not hold it or it has no single proof.
        stored_member: Option<bool>,
        /// The verifier's verdict (rule 1 and the limits).
        verdict: Result<Verified<'m>, Refusal>,
    },
}

impl Judge<'_> {
    /// Judges the members of a page up to and including the verifier, which
    /// checks the signatures of all that reach it with one batch verification;
    /// [`Self::decide`] then judges each member further, in page order.
    pub fn screen<'m>(&self, members: &'m [PageMember]) -> anyhow::Result<Vec<Screened<'m>>> {
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
        let verifier =
            Verifier::new(Trust::Peers(self.peers)).with_record_limits(self.limits.clone());
        let mut verdicts = verifier.verify_many(&reaching).into_iter();
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
                    verdict: verdicts
                        .next()
                        .context("the verifier gave fewer verdicts than records")?,
                },
            });
        }
        Ok(screened)
    }

    /// The rules before the verifier: a well-formed member, not already
    /// stored with this very proof, not a record of this node.
    fn before_verifier(&self, m: &PageMember) -> anyhow::Result<BeforeVerifier> {
        let record = &m.found.record;
        let iri = record.iri.as_str();
        let refuse = |rule, reason| Ok(BeforeVerifier::Decided(Decision::Refuse(rule, reason)));
        let Some(version) = record.version() else {
            return refuse(Rule::Malformed, "no ccis:version".into());
        };
        if m.member != member_iri(iri, version) {
            return refuse(
                Rule::Malformed,
                format!(
                    "member <{}> is not <{iri}/versions/{version}>",
                    m.member.as_str()
                ),
            );
        }
        // A version already stored, with this very proof: seen before (again,
        // or by another path). With another proof, it is judged below.
        let incoming_proof = match m.found.proofs.as_slice() {
            [one] => one.proof_value().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let stored_member = if incoming_proof.is_empty() {
            None
        } else {
            self.store.member_has_proof(&m.member, &incoming_proof)?
        };
        if stored_member == Some(true) && m.found.unsigned.is_empty() {
            return Ok(BeforeVerifier::Decided(Decision::Known));
        }
        let own = record::record_of(iri, self.self_base).is_some()
            || self
                .peers
                .origin_of(iri)
                .is_some_and(|p| p.id == self.self_id);
        if own {
            // This node's own versions come back through peers that relay
            // them (known, above); any other version of its records is forged.
            return refuse(
                Rule::NotPublishedHere,
                "a record of this node that this node did not publish".into(),
            );
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
        pending: &HashMap<NamedNode, (u64, Option<String>)>,
    ) -> anyhow::Result<Decision> {
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
        let record = &m.found.record;
        let (stored, replaces_stored) = match pending.get(&record.iri) {
            Some((v, pv)) => (Some((*v, pv.clone())), false),
            None => {
                let stored = self
                    .store
                    .get(&record.iri)?
                    .map(|s| (s.record.version().unwrap_or(0), proof_value(&s)));
                let replaces = stored.is_some();
                (stored, replaces)
            }
        };
        let equivocation = || {
            Decision::Refuse(
                Rule::Equivocation,
                format!(
                    "version {version} is already stored with other content: the origin signed two contents with one version"
                ),
            )
        };
        if stored_member == Some(false) {
            return Ok(equivocation());
        }
        let signed = verified.signed();
        if let Some((stored_version, stored_proof)) = stored {
            if version == stored_version {
                return Ok(if stored_proof == proof_value(&signed) {
                    Decision::Known
                } else {
                    equivocation()
                });
            }
            if version < stored_version {
                return Ok(Decision::Refuse(
                    Rule::Version,
                    format!("version {version} is older than the stored version {stored_version}"),
                ));
            }
        }
        Ok(Decision::Accept {
            origin: verified.origin.unwrap_or_default(),
            verified_with: ccis_integrity::keys::verification_method(&verified.key),
            signed,
            replaces_stored,
        })
    }
}
