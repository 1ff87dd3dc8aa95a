//! The three harvest rules of the design, applied to one member of a page.
//!
//! 1. the proof verifies with a key pinned for the record's origin node,
//!    valid at the proof's `created` and not revoked;
//! 2. the version is greater than the stored one (an equal version with other
//!    content is equivocation: refused and flagged);
//! 3. the record passes the SHACL shapes and the limits.

use crate::canon::Limits;
use crate::feed::PageMember;
use crate::keys;
use crate::peers::Peers;
use crate::proof::{self, ProofError};
use crate::record;
use crate::shapes::ShapeValidator;
use crate::signed::SignedRecord;
use crate::store::{NodeStore, member_iri};
use oxrdf::{NamedNode, NamedOrBlankNode};
use std::collections::HashMap;

/// The rule a member was refused by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The member is not a well-formed version (IRI, version, graphs).
    Malformed,
    /// Rule 1: origin, proof, pinned key.
    Signature,
    /// Rule 2: not newer than the stored version.
    Version,
    /// Rule 2: same version, other content, both signed by the origin.
    Equivocation,
    /// Rule 3: shapes and limits.
    Shapes,
}

impl Rule {
    /// The name used in logs, counts and `/status`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Signature => "1-origin-signature",
            Self::Version => "2-version",
            Self::Equivocation => "2-equivocation",
            Self::Shapes => "3-shapes-limits",
        }
    }
}

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
    pub store: &'a NodeStore,
    /// SHACL shapes.
    pub validator: &'a ShapeValidator,
}

impl Judge<'_> {
    /// Rule 3's shapes for the records a page's members passed the other rules
    /// with: one SHACL run for them all; the error of each refused one.
    pub fn shapes(&self, records: &[&crate::record::Record]) -> Vec<Option<String>> {
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

impl Judge<'_> {
    /// Decides on a member by everything but the SHACL shapes, which
    /// [`Self::shapes`] checks for a whole page at once; `pending` holds
    /// versions accepted earlier in the same batch of pages (record → (version, proofValue)).
    pub fn decide(
        &self,
        m: &PageMember,
        pending: &HashMap<NamedNode, (u64, Option<String>)>,
    ) -> anyhow::Result<Decision> {
        let record = &m.found.record;
        let iri = record.iri.as_str();
        let Some(version) = record.version() else {
            return Ok(Decision::Refuse(Rule::Malformed, "no ccis:version".into()));
        };
        if m.member != member_iri(iri, version) {
            return Ok(Decision::Refuse(
                Rule::Malformed,
                format!(
                    "member <{}> is not <{iri}/versions/{version}>",
                    m.member.as_str()
                ),
            ));
        }
        for t in &record.triples {
            if let NamedOrBlankNode::NamedNode(s) = &t.subject {
                if record::record_iri_part(s.as_str()) != iri {
                    return Ok(Decision::Refuse(
                        Rule::Malformed,
                        format!("subject <{}> lies outside the record", s.as_str()),
                    ));
                }
            }
        }
        let own = record::record_of(iri, self.self_base).is_some()
            || self
                .peers
                .origin_of(iri)
                .is_some_and(|p| p.id == self.self_id);
        let proof = match m.found.proofs.as_slice() {
            [one] => one.clone(),
            [] => return Ok(Decision::Refuse(Rule::Signature, "no proof".into())),
            _ => {
                return Ok(Decision::Refuse(
                    Rule::Signature,
                    "more than one proof".into(),
                ));
            }
        };
        // A version already stored, with this very proof: seen before (again,
        // or by another path). With another proof, it is judged below.
        let incoming_proof = proof.proof_value().unwrap_or_default().to_owned();
        let stored_member = if incoming_proof.is_empty() {
            None
        } else {
            self.store.member_has_proof(&m.member, &incoming_proof)?
        };
        if stored_member == Some(true) {
            return Ok(Decision::Known);
        }
        if own {
            // This node's own versions come back through peers that relay
            // them (known, above); any other version of its records is forged.
            return Ok(Decision::Refuse(
                Rule::Signature,
                "a record of this node that this node did not publish".into(),
            ));
        }
        let Some(origin) = self.peers.origin_of(iri) else {
            return Ok(Decision::Refuse(
                Rule::Signature,
                "no peer in peers.toml originates this IRI".into(),
            ));
        };
        let signed = SignedRecord {
            record: record.clone(),
            proof,
        };
        if let Err(e) = record.check_limits() {
            return Ok(Decision::Refuse(Rule::Shapes, e.to_string()));
        }
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
        // Rule 1 first: nothing unverified is judged further.
        let key = match proof::verify(&record.document(), &signed.proof, &Limits::default()) {
            Ok(k) => k,
            Err(ProofError::Canon(e)) => return Ok(Decision::Refuse(Rule::Shapes, e.to_string())),
            Err(e) => return Ok(Decision::Refuse(Rule::Signature, e.to_string())),
        };
        let created = match signed.proof.created() {
            Ok(c) => c.to_owned(),
            Err(e) => return Ok(Decision::Refuse(Rule::Signature, e.to_string())),
        };
        if let Err(e) = self.peers.check_trust(iri, &key, &created) {
            return Ok(Decision::Refuse(Rule::Signature, e.to_string()));
        }
        if stored_member == Some(false) {
            return Ok(Decision::Refuse(
                Rule::Equivocation,
                format!(
                    "version {version} is already stored with other content: the origin signed two contents with one version"
                ),
            ));
        }
        if let Some((stored_version, stored_proof)) = stored {
            if version == stored_version {
                return Ok(if stored_proof == proof_value(&signed) {
                    Decision::Known
                } else {
                    Decision::Refuse(
                        Rule::Equivocation,
                        format!(
                            "version {version} is already stored with other content: the origin signed two contents with one version"
                        ),
                    )
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
            signed,
            origin: origin.id.clone(),
            verified_with: keys::verification_method(&key),
            replaces_stored,
        })
    }
}
