//! The one verifier of signed records: `ccis verify` and the harvester call
//! [`Verifier::verify`], so they can never disagree.
//!
//! It checks, in order, each requirement with its own [`Rule`]: the record's
//! statements are all inside the record and nothing unsigned comes with it;
//! exactly one proof; the origin is known; the limits; the proof's properties,
//! type, cryptosuite, purpose and `created` (not in the future beyond the
//! allowed clock skew); the signature; the key pinned for the origin, valid
//! at `created` and not revoked. What passes is exactly the [`SignedRecord`]
//! that was verified: nothing else read with it is kept.

use crate::keys;
use crate::peers::{Peers, TrustError};
use crate::proof::{self, ProofError};
use crate::signed::{FoundRecord, SignedRecord};
use ccis_model::canon::{CanonError, Limits};
use ccis_model::record::{self, RecordError};
use ed25519_dalek::VerifyingKey;
use oxrdf::NamedOrBlankNode;
use time::OffsetDateTime;

/// How far in the future a proof's `created` may be, for clocks that differ.
pub const DEFAULT_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Most bytes of a proof's statements (a ccis proof takes about 400).
pub const MAX_PROOF_BYTES: usize = 16 * 1024;

/// Why a member or a record is refused: one rule per requirement, one list
/// for the verifier and the harvester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Not a well-formed version (member IRI, version, a subject outside the record).
    Malformed,
    /// Statements come with the record that no signature covers.
    Unsigned,
    /// No proof.
    NoProof,
    /// More than one proof.
    SeveralProofs,
    /// The proof has a property ccis proofs do not use.
    ProofProperty,
    /// The proof type is not `DataIntegrityProof`.
    ProofType,
    /// The cryptosuite is not `eddsa-rdfc-2022`.
    Cryptosuite,
    /// The proof purpose is not `assertionMethod`.
    ProofPurpose,
    /// A proof property is missing, repeated or malformed.
    ProofMalformed,
    /// `created` lies in the future beyond the allowed clock skew.
    CreatedInFuture,
    /// The signature does not verify.
    Signature,
    /// The record's origin is not in `peers.toml` (information, not an attack).
    UnknownOrigin,
    /// The key is not pinned for the origin (or is not the key given).
    KeyNotPinned,
    /// The key is revoked.
    KeyRevoked,
    /// The key was not valid at `created`.
    KeyNotValid,
    /// A record of this node that this node did not publish.
    NotPublishedHere,
    /// Size, statements, blank nodes, or canonicalization work over the limits.
    Limits,
    /// Rule 2: not newer than the stored version.
    Version,
    /// Rule 2: same version, other content, both signed by the origin.
    Equivocation,
    /// Rule 3: the SHACL shapes.
    Shapes,
}

impl Rule {
    /// Every rule, in the order they are checked.
    pub const ALL: [Rule; 20] = [
        Rule::Malformed,
        Rule::Unsigned,
        Rule::NoProof,
        Rule::SeveralProofs,
        Rule::UnknownOrigin,
        Rule::NotPublishedHere,
        Rule::Limits,
        Rule::ProofProperty,
        Rule::ProofType,
        Rule::Cryptosuite,
        Rule::ProofPurpose,
        Rule::ProofMalformed,
        Rule::CreatedInFuture,
        Rule::Signature,
        Rule::KeyNotPinned,
        Rule::KeyRevoked,
        Rule::KeyNotValid,
        Rule::Version,
        Rule::Equivocation,
        Rule::Shapes,
    ];

    /// The name used in logs, counts, `/status` and `ccis verify`; the digit
    /// is the harvest rule of the design it belongs to.
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unsigned => "1-unsigned-statements",
            Self::NoProof => "1-no-proof",
            Self::SeveralProofs => "1-several-proofs",
            Self::ProofProperty => "1-proof-property",
            Self::ProofType => "1-proof-type",
            Self::Cryptosuite => "1-cryptosuite",
            Self::ProofPurpose => "1-proof-purpose",
            Self::ProofMalformed => "1-proof-malformed",
            Self::CreatedInFuture => "1-created-in-future",
            Self::Signature => "1-signature",
            Self::UnknownOrigin => "unknown-origin",
            Self::KeyNotPinned => "1-key-not-pinned",
            Self::KeyRevoked => "1-key-revoked",
            Self::KeyNotValid => "1-key-not-valid",
            Self::NotPublishedHere => "1-not-published-here",
            Self::Limits => "3-limits",
            Self::Version => "2-version",
            Self::Equivocation => "2-equivocation",
            Self::Shapes => "3-shapes",
        }
    }

    /// The rule of a name given by [`Rule::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether a refusal by this rule is information for the operator rather
    /// than a sign of a faulty or hostile peer: a record whose origin this
    /// node chose not to trust.
    pub fn is_information(self) -> bool {
        self == Self::UnknownOrigin
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: the rule and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{rule}] {reason}")]
pub struct Refusal {
    /// The rule.
    pub rule: Rule,
    /// What was wrong, naming the statement, property or key.
    pub reason: String,
}

impl Refusal {
    /// A refusal by `rule`.
    pub fn new(rule: Rule, reason: impl Into<String>) -> Self {
        Self {
            rule,
            reason: reason.into(),
        }
    }
}

impl From<ProofError> for Refusal {
    fn from(e: ProofError) -> Self {
        let rule = match &e {
            ProofError::Missing => Rule::NoProof,
            ProofError::Type(_) => Rule::ProofType,
            ProofError::Cryptosuite(_) => Rule::Cryptosuite,
            ProofError::Purpose(_) => Rule::ProofPurpose,
            ProofError::Property(_) => Rule::ProofProperty,
            ProofError::Malformed(_) | ProofError::Key(_) => Rule::ProofMalformed,
            ProofError::Canon(_) => Rule::Limits,
            ProofError::BadSignature => Rule::Signature,
        };
        Self::new(rule, e.to_string())
    }
}

impl From<TrustError> for Refusal {
    fn from(e: TrustError) -> Self {
        let rule = match &e {
            TrustError::UnknownOrigin(_) => Rule::UnknownOrigin,
            TrustError::NotPinned { .. } => Rule::KeyNotPinned,
            TrustError::Revoked { .. } => Rule::KeyRevoked,
            TrustError::NotValidAt { .. } => Rule::KeyNotValid,
        };
        Self::new(rule, e.to_string())
    }
}

impl From<RecordError> for Refusal {
    fn from(e: RecordError) -> Self {
        Self::new(Rule::Limits, e.to_string())
    }
}

impl From<CanonError> for Refusal {
    fn from(e: CanonError) -> Self {
        Self::new(Rule::Limits, e.to_string())
    }
}

/// Whom to trust when verifying.
pub enum Trust<'a> {
    /// Keys pinned in `peers.toml`, for the record's origin node.
    Peers(&'a Peers),
    /// One given key.
    Key(VerifyingKey),
}

/// A record that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Exactly what was verified: the content and its proof.
    pub signed: SignedRecord,
    /// The key that signed it.
    pub key: VerifyingKey,
    /// The id of its origin node, when trust comes from `peers.toml`.
    pub origin: Option<String>,
}

impl Verified {
    /// The did:key verification method of the key that signed it.
    pub fn verification_method(&self) -> String {
        keys::verification_method(&self.key)
    }
}

/// The verifier: whom it trusts, the time it runs at, how much clock skew it
/// allows and the canonicalization limits.
pub struct Verifier<'a> {
    /// Whom to trust.
    pub trust: Trust<'a>,
    /// The time of verification (a proof `created` later than this plus
    /// `clock_skew` is refused).
    pub now: OffsetDateTime,
    /// Allowed difference between the signer's clock and this one.
    pub clock_skew: time::Duration,
    /// Canonicalization limits.
    pub canon_limits: Limits,
    /// Size, statement and blank-node limits of a record.
    pub record_limits: record::RecordLimits,
}

impl<'a> Verifier<'a> {
    /// A verifier trusting `trust`, at the current time, with the default
    /// clock skew and limits.
    pub fn new(trust: Trust<'a>) -> Self {
        Self {
            trust,
            now: OffsetDateTime::now_utc(),
            clock_skew: DEFAULT_CLOCK_SKEW,
            canon_limits: Limits::default(),
            record_limits: record::RecordLimits::default(),
        }
    }

    /// Verifies one record read from a dataset or a feed page.
    pub fn verify(&self, found: &FoundRecord) -> Result<Verified, Refusal> {
        let record = &found.record;
        let iri = record.iri.as_str();
        for t in &record.triples {
            if let NamedOrBlankNode::NamedNode(s) = &t.subject
                && record::record_iri_part(s.as_str()) != iri
            {
                return Err(Refusal::new(
                    Rule::Malformed,
                    format!("subject <{}> lies outside the record", s.as_str()),
                ));
            }
        }
        if let Some(first) = found.unsigned.first() {
            return Err(Refusal::new(
                Rule::Unsigned,
                format!(
                    "{} statement(s) next to the proof that no signature covers, first: {first}",
                    found.unsigned.len()
                ),
            ));
        }
        let proof = match found.proofs.as_slice() {
            [] => return Err(ProofError::Missing.into()),
            [one] => one,
            more => {
                return Err(Refusal::new(
                    Rule::SeveralProofs,
                    format!("{} proofs; a record carries exactly one", more.len()),
                ));
            }
        };
        let origin = match &self.trust {
            Trust::Peers(peers) => Some(
                peers
                    .origin_of(iri)
                    .ok_or_else(|| TrustError::UnknownOrigin(iri.to_owned()))?,
            ),
            Trust::Key(_) => None,
        };
        record.check_limits(&self.record_limits)?;
        let proof_bytes: usize = proof
            .statements
            .iter()
            .map(|(p, o)| p.as_str().len() + o.to_string().len())
            .sum();
        if proof_bytes > MAX_PROOF_BYTES {
            return Err(Refusal::new(
                Rule::Limits,
                format!("the proof is {proof_bytes} bytes; at most {MAX_PROOF_BYTES} are accepted"),
            ));
        }
        proof::check_structure(proof)?;
        let created = proof.created_at()?;
        if created > self.now + self.clock_skew {
            return Err(Refusal::new(
                Rule::CreatedInFuture,
                format!(
                    "created {} is later than now ({}) plus the allowed clock skew of {} s",
                    proof.created().unwrap_or_default(),
                    self.now,
                    self.clock_skew.whole_seconds()
                ),
            ));
        }
        let key = proof::verify(&record.document(), proof, &self.canon_limits)?;
        match &self.trust {
            Trust::Peers(peers) => {
                peers.check_trust(iri, &key, proof.created()?)?;
            }
            Trust::Key(expected) if *expected == key => {}
            Trust::Key(expected) => {
                return Err(Refusal::new(
                    Rule::KeyNotPinned,
                    format!(
                        "signed by {}, not by the given key {}",
                        keys::public_multikey(&key),
                        keys::public_multikey(expected)
                    ),
                ));
            }
        }
        Ok(Verified {
            signed: SignedRecord {
                record: record.clone(),
                proof: proof.clone(),
            },
            key,
            origin: origin.map(|p| p.id.clone()),
        })
    }
}

/// The verdict on one record, as `ccis verify` prints it.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The record IRI.
    pub iri: String,
    /// Its `ccis:version`.
    pub version: Option<u64>,
    /// The verification method (and origin) that verified it, or the refusal.
    pub result: Result<String, Refusal>,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self.version.map_or("?".to_owned(), |v| v.to_string());
        match &self.result {
            Ok(vm) => write!(f, "OK      {} v{version} signed by {vm}", self.iri),
            Err(why) => write!(f, "FAILED  {} v{version}: {why}", self.iri),
        }
    }
}

/// Verifies one record read from a dataset, now, with the default limits.
pub fn verify_record(found: &FoundRecord, trust: &Trust<'_>) -> Verdict {
    let trust = match trust {
        Trust::Peers(p) => Trust::Peers(p),
        Trust::Key(k) => Trust::Key(*k),
    };
    Verifier::new(trust).verdict(found)
}

impl Verifier<'_> {
    /// The verdict on one record.
    pub fn verdict(&self, found: &FoundRecord) -> Verdict {
        Verdict {
            iri: found.record.iri.as_str().to_owned(),
            version: found.record.version(),
            result: self.verify(found).map(|v| match &v.origin {
                Some(origin) => format!("{} ({origin})", v.verification_method()),
                None => v.verification_method(),
            }),
        }
    }
}
