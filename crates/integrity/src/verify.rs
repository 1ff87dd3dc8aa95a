//! The one verifier of signed records: `ccis verify` and the harvester call
//! [`Verifier::verify`], so they can never disagree.
//!
//! It checks, in order, each requirement with its own [`Rule`]: the record's
//! statements are all inside the record and nothing unsigned comes with it;
//! exactly one proof; the origin is known; the limits; the proof's properties,
//! type, cryptosuite, purpose and `created` (not in the future beyond the
//! allowed clock skew); the signature; the key pinned for the origin, valid
//! at `created` and not revoked. What passes is exactly the record and proof
//! that were verified ([`Verified`], [`Verified::signed`]): nothing else read
//! with them is kept. [`Verifier::verify_many`] gives a page of records the
//! same verdicts with one batch verification of their signatures.

use crate::keys::{self, KeyError};
use crate::peers::{Peers, TrustError};
use crate::proof::{self, Proof, ProofError, SignatureCheck};
use crate::signed::{FoundRecord, SignedRecord};
use ccis_model::canon::{self, CanonError, Limits};
use ccis_model::record::{self, Record, RecordError};
use ed25519_dalek::VerifyingKey;
use oxrdf::{NamedOrBlankNode, Term};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
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
    /// Rule 4: a decision about an initiative this node does not hold.
    DecisionInitiative,
    /// Rule 4: a decision about a version the initiative never had: another
    /// version number, or a digest that is not that version's.
    DecisionVersion,
    /// Rule 4: a decision not signed by the validator its level requires
    /// (the national node of the initiative's country, or the European node).
    DecisionSigner,
    /// Rule 4: a decision the workflow does not allow where it comes (an
    /// EU-level decision without a national validation of the same version).
    DecisionWorkflow,
}

impl Rule {
    /// Every rule, in the order they are checked.
    pub const ALL: [Rule; 24] = [
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
        Rule::DecisionInitiative,
        Rule::DecisionVersion,
        Rule::DecisionSigner,
        Rule::DecisionWorkflow,
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
            Self::DecisionInitiative => "4-decision-initiative",
            Self::DecisionVersion => "4-decision-version",
            Self::DecisionSigner => "4-decision-signer",
            Self::DecisionWorkflow => "4-decision-workflow",
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

/// A record that passed every check: exactly what was verified, as it was
/// read (nothing else read with it), with the key that signed it.
#[derive(Debug, Clone)]
pub struct Verified<'r> {
    /// The content that was verified.
    pub record: &'r Record,
    /// Its one proof.
    pub proof: &'r Proof,
    /// The key that signed it.
    pub key: VerifyingKey,
    /// The id of its origin node, when trust comes from `peers.toml`.
    pub origin: Option<String>,
}

impl Verified<'_> {
    /// Exactly what was verified, as an owned signed record: the content and its proof.
    pub fn signed(&self) -> SignedRecord {
        SignedRecord {
            record: self.record.clone(),
            proof: self.proof.clone(),
        }
    }

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
    /// The keys of the verification methods met so far.
    keys: KeyCache,
}

/// Decoded keys by verification method: a page's members are mostly signed
/// by one key, whose did:key need not be decoded (and its point
/// decompressed) for each. Bounded, as the methods come from outside.
#[derive(Default)]
struct KeyCache(Mutex<HashMap<String, VerifyingKey>>);

impl KeyCache {
    /// Most verification methods remembered.
    const CAPACITY: usize = 64;

    /// The key a did:key verification method names.
    fn key(&self, verification_method: &str) -> Result<VerifyingKey, KeyError> {
        let Ok(mut known) = self.0.lock() else {
            return keys::parse_verification_method(verification_method);
        };
        if let Some(key) = known.get(verification_method) {
            return Ok(*key);
        }
        let key = keys::parse_verification_method(verification_method)?;
        if known.len() < Self::CAPACITY {
            known.insert(verification_method.to_owned(), key);
        }
        Ok(key)
    }
}

/// A record that passed every check before its signature: what is left to
/// check of it.
struct SignatureDue<'r> {
    found: &'r FoundRecord,
    proof: &'r Proof,
    check: SignatureCheck,
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
            keys: KeyCache::default(),
        }
    }

    /// The same verifier with other record limits.
    pub fn with_record_limits(self, record_limits: record::RecordLimits) -> Self {
        Self {
            record_limits,
            ..self
        }
    }

    /// Verifies one record read from a dataset or a feed page.
    pub fn verify<'r>(&self, found: &'r FoundRecord) -> Result<Verified<'r>, Refusal> {
        let due = self.before_signature(found)?;
        due.check.verify()?;
        self.after_signature(due)
    }

    /// Verifies records as [`Self::verify`] does each, with one Ed25519 batch
    /// verification for the signatures of those that pass every check before
    /// their signature. When the batch fails, those signatures are checked
    /// one by one to refuse only the bad ones: every record gets the verdict
    /// [`Self::verify`] gives it, whatever else the page holds (see
    /// [`proof::verify_batch`] for why no signature, even one crafted by its
    /// key holder, can pass one way and fail the other). The verdicts are in
    /// the order of `found`.
    pub fn verify_many<'r>(&self, found: &[&'r FoundRecord]) -> Vec<Result<Verified<'r>, Refusal>> {
        let due: Vec<Result<SignatureDue<'r>, Refusal>> =
            found.iter().map(|f| self.before_signature(f)).collect();
        let checks: Vec<&SignatureCheck> = due.iter().flatten().map(|d| &d.check).collect();
        let all_good = proof::verify_batch(&checks).is_ok();
        due.into_iter()
            .map(|due| {
                let due = due?;
                if !all_good {
                    due.check.verify()?;
                }
                self.after_signature(due)
            })
            .collect()
    }

    /// Every check before the signature, in order; what the signature check needs.
    fn before_signature<'r>(&self, found: &'r FoundRecord) -> Result<SignatureDue<'r>, Refusal> {
        let proof = Self::check_content(found)?;
        let iri = found.record.iri.as_str();
        if let Trust::Peers(peers) = &self.trust
            && peers.origin_of(iri).is_none()
        {
            return Err(TrustError::UnknownOrigin(iri.to_owned()).into());
        }
        self.check_limits(found, proof)?;
        self.check_proof(proof)?;
        let key = self
            .keys
            .key(proof.verification_method()?)
            .map_err(ProofError::from)?;
        let check = proof::signature_check(proof, key, || {
            canon::document_sha256(&found.record.triples, &self.canon_limits)
        })?;
        Ok(SignatureDue {
            found,
            proof,
            check,
        })
    }

    /// The record's statements are all inside it, nothing unsigned comes
    /// with it, and it has exactly one proof, returned.
    fn check_content(found: &FoundRecord) -> Result<&Proof, Refusal> {
        let record = &found.record;
        let iri = record.iri.as_str();
        for t in &record.triples {
            if let NamedOrBlankNode::NamedNode(s) = &t.subject
                && s.as_str() != iri
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
        match found.proofs.as_slice() {
            [] => Err(ProofError::Missing.into()),
            [one] => Ok(one),
            more => Err(Refusal::new(
                Rule::SeveralProofs,
                format!("{} proofs; a record carries exactly one", more.len()),
            )),
        }
    }

    /// The record's limits and the size of its proof.
    fn check_limits(&self, found: &FoundRecord, proof: &Proof) -> Result<(), Refusal> {
        found.record.check_limits(&self.record_limits)?;
        // Most proofs are far below the limit by a bound that needs no writing.
        let bound: usize = proof
            .statements
            .iter()
            .map(|(p, o)| p.as_str().len() + display_len_bound(o))
            .sum();
        if bound <= MAX_PROOF_BYTES {
            return Ok(());
        }
        let proof_bytes: usize = proof
            .statements
            .iter()
            .map(|(p, o)| p.as_str().len() + display_len(o))
            .sum();
        if proof_bytes > MAX_PROOF_BYTES {
            return Err(Refusal::new(
                Rule::Limits,
                format!("the proof is {proof_bytes} bytes; at most {MAX_PROOF_BYTES} are accepted"),
            ));
        }
        Ok(())
    }

    /// The proof's properties, type, cryptosuite, purpose, and `created` not
    /// in the future beyond the clock skew.
    fn check_proof(&self, proof: &Proof) -> Result<(), Refusal> {
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
        Ok(())
    }

    /// With a good signature: the key is trusted for the record.
    fn after_signature<'r>(&self, due: SignatureDue<'r>) -> Result<Verified<'r>, Refusal> {
        let SignatureDue {
            found,
            proof,
            check,
        } = due;
        let key = check.key;
        let origin = match &self.trust {
            Trust::Peers(peers) => {
                let origin =
                    peers.check_trust(found.record.iri.as_str(), &key, proof.created()?)?;
                Some(origin.id.clone())
            }
            Trust::Key(expected) if *expected == key => None,
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
        };
        Ok(Verified {
            record: &found.record,
            proof,
            key,
            origin,
        })
    }
}

/// At least the length of a term's N-Triples form: each byte of a literal's
/// value takes at most 6 once escaped (`\u0000`), and its delimiters at most
/// 8 (quotes, then `^^<…>`, `@…` or `@…--rtl`).
fn display_len_bound(term: &Term) -> usize {
    match term {
        Term::NamedNode(n) => n.as_str().len() + 2,
        Term::Literal(l) => {
            6 * l.value().len() + 8 + l.language().map_or(l.datatype().as_str().len(), str::len)
        }
        other => display_len(other),
    }
}

/// The length of a term's N-Triples form, without writing it out.
fn display_len(term: &impl std::fmt::Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = write!(count, "{term}");
    count.0
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::ProofSigner;
    use ccis_model::vocab;
    use ed25519_dalek::SigningKey;
    use oxrdf::vocab::xsd;
    use oxrdf::{Literal, NamedNode, Triple};

    const CREATED: &str = "2026-03-01T10:00:00Z";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[11u8; 32])
    }

    /// Record `i` of a page, signed by `signer`.
    fn member(i: usize, signer: &ProofSigner) -> FoundRecord {
        let iri = NamedNode::new_unchecked(format!("https://fr.example/records/tool-{i}"));
        let record = Record::new(
            iri.clone(),
            vec![
                Triple::new(
                    iri.clone(),
                    vocab::DCT_TITLE,
                    Literal::new_language_tagged_literal_unchecked(format!("Tool {i}"), "en"),
                ),
                Triple::new(
                    iri,
                    vocab::VERSION,
                    Literal::new_typed_literal("1", xsd::INTEGER),
                ),
            ],
        );
        let proof = signer
            .sign(&record.document(), CREATED, &Limits::default())
            .unwrap();
        FoundRecord {
            record,
            proofs: vec![proof],
            unsigned: Vec::new(),
        }
    }

    fn page(n: usize) -> Vec<FoundRecord> {
        let signer = ProofSigner::new(key());
        (0..n).map(|i| member(i, &signer)).collect()
    }

    /// Alters a member's content after it was signed.
    fn tamper(found: &mut FoundRecord) {
        let iri = found.record.iri.clone();
        found.record.triples.push(Triple::new(
            iri,
            vocab::DCT_SOURCE,
            Literal::new_simple_literal("added after signing"),
        ));
    }

    fn verifier() -> Verifier<'static> {
        Verifier::new(Trust::Key(key().verifying_key()))
    }

    /// The rule of each verdict, `None` for a record that passes.
    fn rules(verdicts: &[Result<Verified<'_>, Refusal>]) -> Vec<Option<Rule>> {
        verdicts
            .iter()
            .map(|v| v.as_ref().err().map(|r| r.rule))
            .collect()
    }

    #[test]
    fn a_page_of_good_members_all_pass() {
        let members = page(5);
        let refs: Vec<&FoundRecord> = members.iter().collect();
        let verdicts = verifier().verify_many(&refs);
        assert_eq!(verdicts.len(), 5);
        for (found, verdict) in members.iter().zip(&verdicts) {
            let verified = verdict.as_ref().unwrap();
            assert_eq!(verified.record, &found.record);
            assert_eq!(verified.proof, &found.proofs[0]);
            assert_eq!(verified.key, key().verifying_key());
            assert_eq!(verified.signed().record, found.record);
        }
    }

    #[test]
    fn a_tampered_member_is_refused_and_the_others_accepted() {
        let mut members = page(6);
        tamper(&mut members[2]);
        let refs: Vec<&FoundRecord> = members.iter().collect();
        let verdicts = verifier().verify_many(&refs);
        let sig = Some(Rule::Signature);
        assert_eq!(
            rules(&verdicts),
            [None, None, sig, None, None, None],
            "{verdicts:?}"
        );
        // Two bad ones, the last included: both named, no other.
        tamper(&mut members[5]);
        let refs: Vec<&FoundRecord> = members.iter().collect();
        assert_eq!(
            rules(&verifier().verify_many(&refs)),
            [None, None, sig, None, None, sig]
        );
    }

    #[test]
    fn no_records_no_verdicts() {
        assert!(verifier().verify_many(&[]).is_empty());
    }

    #[test]
    fn each_member_gets_the_verdict_verify_gives_it() {
        let mut members = page(8);
        tamper(&mut members[1]);
        members[2].proofs.clear();
        members[3]
            .unsigned
            .push("<urn:x> <urn:p> <urn:o> .".to_owned());
        // Signed by another key than the one trusted.
        members[4] = member(4, &ProofSigner::new(SigningKey::from_bytes(&[12u8; 32])));
        // A verification method that is no did:key, twice (nothing cached for it).
        for m in &mut members[5..7] {
            for (p, o) in &mut m.proofs[0].statements {
                if p.as_ref() == vocab::SEC_VERIFICATION_METHOD {
                    *o = NamedNode::new_unchecked("https://fr.example/keys/1").into();
                }
            }
        }
        let refs: Vec<&FoundRecord> = members.iter().collect();
        let verifier = verifier();
        let many = verifier.verify_many(&refs);
        let one_by_one: Vec<_> = members.iter().map(|m| verifier.verify(m)).collect();
        assert_eq!(
            rules(&many),
            [
                None,
                Some(Rule::Signature),
                Some(Rule::NoProof),
                Some(Rule::Unsigned),
                Some(Rule::KeyNotPinned),
                Some(Rule::ProofMalformed),
                Some(Rule::ProofMalformed),
                None,
            ]
        );
        for (a, b) in many.iter().zip(&one_by_one) {
            assert_eq!(a.as_ref().err(), b.as_ref().err());
        }
    }

    #[test]
    fn proof_size_bound_never_undercounts() {
        let terms: Vec<Term> = vec![
            NamedNode::new_unchecked("did:key:z6Mk#z6Mk").into(),
            Literal::new_simple_literal("").into(),
            Literal::new_simple_literal("\u{1}\"\\\u{FFFF}é").into(),
            Literal::new_language_tagged_literal_unchecked("", "en").into(),
            Literal::new_typed_literal("2026-01-01T00:00:00Z", xsd::DATE_TIME).into(),
        ];
        for t in &terms {
            assert!(display_len_bound(t) >= t.to_string().len(), "{t}");
            assert_eq!(display_len(t), t.to_string().len(), "{t}");
        }
    }
}
