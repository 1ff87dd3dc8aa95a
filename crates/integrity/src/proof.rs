//! W3C Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite.
//!
//! hashData = SHA-256(canonical proof configuration) ‖ SHA-256(canonical document);
//! the signature is Ed25519 over those 64 bytes, and `proofValue` is `z` + base58btc.

use crate::keys::{self, KeyError};
use ccis_model::canon::{self, CanonError, Limits, Lines};
use ccis_model::vocab;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    BlankNodeRef, GraphName, GraphNameRef, Literal, LiteralRef, NamedNode, NamedOrBlankNode, Quad,
    QuadRef, Term, TermRef,
};
use sha2::{Digest, Sha256};

/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// Why a proof does not verify: one variant per requirement of the Data
/// Integrity verification algorithm, so that each has its own refusal rule.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The record has no proof.
    #[error("no proof")]
    Missing,
    /// The proof's `type` is not `DataIntegrityProof`.
    #[error("proof type is {0}, not DataIntegrityProof")]
    Type(String),
    /// Another cryptosuite than `eddsa-rdfc-2022`.
    #[error("cryptosuite is {0}, not eddsa-rdfc-2022")]
    Cryptosuite(String),
    /// The `proofPurpose` is not `assertionMethod`.
    #[error("proofPurpose is {0}, not assertionMethod")]
    Purpose(String),
    /// The proof node has a statement that ccis proofs do not use.
    #[error("the proof has a property that ccis proofs do not use: {0}")]
    Property(String),
    /// A proof property is missing, repeated or malformed.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The verification method is not a usable did:key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Canonicalization was refused.
    #[error("cannot canonicalize: {0}")]
    Canon(#[from] CanonError),
    /// The signature does not match the content.
    #[error("signature does not verify (content or proof altered, or wrong key)")]
    BadSignature,
}

/// The properties a ccis proof node has, each exactly once: `type`,
/// `cryptosuite`, `created`, `verificationMethod`, `proofPurpose`, `proofValue`.
pub const PROOF_PROPERTIES: [&str; 6] = [
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    "https://w3id.org/security#cryptosuite",
    "http://purl.org/dc/terms/created",
    "https://w3id.org/security#verificationMethod",
    "https://w3id.org/security#proofPurpose",
    "https://w3id.org/security#proofValue",
];

/// A Data Integrity proof: the statements about the proof node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// (predicate, object) pairs of the proof node, `proofValue` included.
    pub statements: Vec<(NamedNode, Term)>,
}

impl Proof {
    /// The proof options of a new `eddsa-rdfc-2022` proof (no `proofValue` yet).
    pub fn options(created: &str, verification_method: &str) -> Self {
        Self {
            statements: vec![
                (rdf::TYPE.into(), vocab::SEC_DATA_INTEGRITY_PROOF.into()),
                (
                    vocab::SEC_CRYPTOSUITE.into(),
                    Literal::new_typed_literal(CRYPTOSUITE, vocab::SEC_CRYPTOSUITE_STRING).into(),
                ),
                (
                    vocab::DCT_CREATED.into(),
                    Literal::new_typed_literal(created, xsd::DATE_TIME).into(),
                ),
                (
                    vocab::SEC_VERIFICATION_METHOD.into(),
                    NamedNode::new_unchecked(verification_method).into(),
                ),
                (
                    vocab::SEC_PROOF_PURPOSE.into(),
                    vocab::SEC_ASSERTION_METHOD.into(),
                ),
            ],
        }
    }

    fn object(&self, predicate: oxrdf::NamedNodeRef<'_>) -> Option<TermRef<'_>> {
        let mut found = self
            .statements
            .iter()
            .filter(|(p, _)| p.as_ref() == predicate)
            .map(|(_, o)| o.as_ref());
        let first = found.next();
        if found.next().is_some() { None } else { first }
    }

    fn literal(&self, predicate: oxrdf::NamedNodeRef<'_>) -> Result<&str, ProofError> {
        match self.object(predicate) {
            Some(TermRef::Literal(l)) => Ok(l.value()),
            _ => Err(ProofError::Malformed(format!(
                "needs exactly one literal <{}>",
                predicate.as_str()
            ))),
        }
    }

    /// The `created` date-time, as written.
    pub fn created(&self) -> Result<&str, ProofError> {
        self.literal(vocab::DCT_CREATED)
    }

    /// The `created` date-time, parsed (RFC 3339, as `xsd:dateTime` with a time zone).
    pub fn created_at(&self) -> Result<time::OffsetDateTime, ProofError> {
        let created = self.created()?;
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                ProofError::Malformed(format!("created {created:?} is not an RFC 3339 date-time"))
            })
    }

    /// The verification method IRI.
    pub fn verification_method(&self) -> Result<&str, ProofError> {
        match self.object(vocab::SEC_VERIFICATION_METHOD) {
            Some(TermRef::NamedNode(n)) => Ok(n.as_str()),
            _ => Err(ProofError::Malformed(
                "needs exactly one verificationMethod IRI".into(),
            )),
        }
    }

    /// The `proofValue` multibase string.
    pub fn proof_value(&self) -> Result<&str, ProofError> {
        self.literal(vocab::SEC_PROOF_VALUE)
    }

    /// The proof configuration: the proof without its `proofValue`.
    pub fn configuration(&self) -> Vec<(NamedNode, Term)> {
        self.statements
            .iter()
            .filter(|(p, _)| p.as_ref() != vocab::SEC_PROOF_VALUE)
            .cloned()
            .collect()
    }

    /// The proof as quads about `node` in `graph`.
    pub fn to_quads(&self, node: &NamedOrBlankNode, graph: &GraphName) -> Vec<Quad> {
        self.statements
            .iter()
            .map(|(p, o)| Quad::new(node.clone(), p.clone(), o.clone(), graph.clone()))
            .collect()
    }

    /// Reads the proof node's statements from quads (its graph is the caller's choice).
    pub fn from_quads<'a>(
        node: &NamedOrBlankNode,
        quads: impl IntoIterator<Item = &'a Quad>,
    ) -> Self {
        Self {
            statements: quads
                .into_iter()
                .filter(|q| &q.subject == node)
                .map(|q| (q.predicate.clone(), q.object.clone()))
                .collect(),
        }
    }
}

/// Canonical N-Quads of a proof configuration: the proof node becomes `_:c14n0`.
///
/// With a single blank node whose statements are all ground, RDFC-1.0 labels it
/// `c14n0`; this is computed directly.
pub fn canonical_proof_configuration(proof: &Proof) -> Result<String, ProofError> {
    Ok(configuration_lines(proof)?.concat())
}

/// SHA-256 of [`canonical_proof_configuration`], without building it.
fn proof_configuration_sha256(proof: &Proof) -> Result<[u8; 32], ProofError> {
    Ok(configuration_lines(proof)?.sha256())
}

fn configuration_lines(proof: &Proof) -> Result<Lines, ProofError> {
    let node = BlankNodeRef::new_unchecked("c14n0");
    let mut lines = Lines::with_capacity(proof.statements.len());
    for (p, o) in &proof.statements {
        if p.as_ref() == vocab::SEC_PROOF_VALUE {
            continue;
        }
        if matches!(o, Term::BlankNode(_)) {
            return Err(ProofError::Malformed(
                "blank node values in a proof are not supported".into(),
            ));
        }
        lines.push(QuadRef::new(
            node,
            p.as_ref(),
            o.as_ref(),
            GraphNameRef::DefaultGraph,
        ));
    }
    Ok(lines)
}

/// hashData: SHA-256(proof configuration) ‖ SHA-256(document), both canonical N-Quads.
pub fn hash_data(canonical_proof_config: &str, canonical_document: &str) -> [u8; 64] {
    join_hashes(
        &Sha256::digest(canonical_proof_config.as_bytes()).into(),
        &Sha256::digest(canonical_document.as_bytes()).into(),
    )
}

fn join_hashes(proof_config_hash: &[u8; 32], document_hash: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(proof_config_hash);
    out[32..].copy_from_slice(document_hash);
    out
}

/// Encodes a signature as a `proofValue`: `z` + base58btc.
pub fn encode_proof_value(signature: &Signature) -> String {
    format!("z{}", keys::base58::encode(&signature.to_bytes()))
}

fn decode_proof_value(value: &str) -> Result<Signature, ProofError> {
    let bytes = value
        .strip_prefix('z')
        .and_then(keys::base58::decode)
        .ok_or_else(|| ProofError::Malformed("proofValue is not base58btc multibase".into()))?;
    Signature::from_slice(&bytes)
        .map_err(|_| ProofError::Malformed("proofValue is not a 64-byte signature".into()))
}

/// A signing key with what every proof it makes repeats, computed once.
pub struct ProofSigner {
    key: SigningKey,
    verification_method: String,
    /// The canonical proof configuration lines after the `created` one
    /// (type, cryptosuite, proofPurpose, verificationMethod sort after it).
    config_suffix: String,
}

impl ProofSigner {
    /// Prepares a key for signing.
    pub fn new(key: SigningKey) -> Self {
        let verification_method = keys::verification_method(&key.verifying_key());
        let options = Proof::options("", &verification_method);
        // Our own options never hold blank nodes, so this cannot fail.
        let config = canonical_proof_configuration(&options).unwrap_or_default();
        let config_suffix = config
            .split_inclusive('\n')
            .filter(|l| !l.contains(vocab::DCT_CREATED.as_str()))
            .collect();
        Self {
            key,
            verification_method,
            config_suffix,
        }
    }

    /// The did:key verification method of the key.
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }

    /// Signs the document (its quads, with no proof) and returns the proof.
    pub fn sign(
        &self,
        document: &[Quad],
        created: &str,
        limits: &Limits,
    ) -> Result<Proof, ProofError> {
        let document_hash = canon::canonical_sha256(document, limits)?;
        let mut created_line = String::with_capacity(128);
        canon::write_quad(
            &mut created_line,
            QuadRef::new(
                BlankNodeRef::new_unchecked("c14n0"),
                vocab::DCT_CREATED,
                LiteralRef::new_typed_literal(created, xsd::DATE_TIME),
                GraphNameRef::DefaultGraph,
            ),
        );
        let config_hash: [u8; 32] = Sha256::new()
            .chain_update(created_line.as_bytes())
            .chain_update(self.config_suffix.as_bytes())
            .finalize()
            .into();
        let signature = self.key.sign(&join_hashes(&config_hash, &document_hash));
        let mut proof = Proof::options(created, &self.verification_method);
        proof.statements.push((
            vocab::SEC_PROOF_VALUE.into(),
            Literal::new_typed_literal(encode_proof_value(&signature), vocab::SEC_MULTIBASE).into(),
        ));
        Ok(proof)
    }
}

/// Signs the document (its quads, with no proof) with `key` and returns the proof.
pub fn sign(
    document: &[Quad],
    key: &SigningKey,
    created: &str,
    limits: &Limits,
) -> Result<Proof, ProofError> {
    ProofSigner::new(key.clone()).sign(document, created, limits)
}

/// Verifies a proof over a document and returns the key that made it.
///
/// The key is the one the verification method names; whether that key is
/// trusted for the document is the caller's decision.
pub fn verify(
    document: &[Quad],
    proof: &Proof,
    limits: &Limits,
) -> Result<VerifyingKey, ProofError> {
    check_structure(proof)?;
    let key = keys::parse_verification_method(proof.verification_method()?)?;
    let check = signature_check(proof, key, || canon::canonical_sha256(document, limits))?;
    check.verify()?;
    Ok(key)
}

/// Everything a proof's signature check needs: the key, the signature and
/// the hashData it signs.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    /// The key the verification method names.
    pub key: VerifyingKey,
    /// The signature of the `proofValue`.
    pub signature: Signature,
    /// hashData: SHA-256(proof configuration) ‖ SHA-256(document).
    pub message: [u8; 64],
}

impl SignatureCheck {
    /// Checks the signature: the cofactored Ed25519 equation, after refusing
    /// a weak key and non-canonical encodings (see [`verify_batch`] for why).
    pub fn verify(&self) -> Result<(), ProofError> {
        if crate::ed25519::verify(&self.key, &self.message, &self.signature) {
            Ok(())
        } else {
            Err(ProofError::BadSignature)
        }
    }
}

/// The steps of [`verify`] after the proof's structure and its key, in the
/// same order: the `proofValue`, the proof configuration, then the document
/// (`document_hash`, its canonical SHA-256, is only computed if all else is
/// well formed).
pub fn signature_check(
    proof: &Proof,
    key: VerifyingKey,
    document_hash: impl FnOnce() -> Result<[u8; 32], CanonError>,
) -> Result<SignatureCheck, ProofError> {
    let signature = decode_proof_value(proof.proof_value()?)?;
    let config_hash = proof_configuration_sha256(proof)?;
    Ok(SignatureCheck {
        key,
        signature,
        message: join_hashes(&config_hash, &document_hash()?),
    })
}

/// Checks the signatures of `checks` together with Ed25519 batch
/// verification: on a feed page of 250 members, less than half the work of
/// checking them one by one. `Ok` exactly when every one passes
/// [`SignatureCheck::verify`]; on [`ProofError::BadSignature`],
/// [`SignatureCheck::verify`] tells which.
///
/// Every signature gets the same verdict alone and in any batch, whatever
/// else the batch holds. ed25519-dalek's own single (cofactorless) and
/// batch (random coefficients) checks differ on signatures the key holder
/// crafts (a small-order component in `R` or in the key, `R` not
/// canonically encoded), and on the first kind the batch verdict even
/// depends on the other members. Here both paths first refuse non-canonical
/// encodings and weak keys, the single check uses the cofactored equation
/// `[8](R + [k]A − [s]B) = 0`, and a batch that does not hold is decided one
/// by one: a batch holds only if every member has no defect outside the
/// torsion, which is what the cofactored equation accepts (the reasoning is
/// in `crates/integrity/src/ed25519.rs`). Honest signatures of any
/// implementation pass both ways.
pub fn verify_batch(checks: &[&SignatureCheck]) -> Result<(), ProofError> {
    match checks {
        [] => return Ok(()),
        [one] => return one.verify(),
        _ => {}
    }
    let messages: Vec<&[u8]> = checks.iter().map(|c| &c.message[..]).collect();
    let signatures: Vec<Signature> = checks.iter().map(|c| c.signature).collect();
    let keys: Vec<VerifyingKey> = checks.iter().map(|c| c.key).collect();
    if crate::ed25519::verify_batch(&keys, &messages, &signatures) {
        Ok(())
    } else {
        Err(ProofError::BadSignature)
    }
}

/// Checks what a proof must be before its signature is looked at: only the
/// properties of [`PROOF_PROPERTIES`], type `DataIntegrityProof`, cryptosuite
/// `eddsa-rdfc-2022`, purpose `assertionMethod`, a `created` date-time.
pub fn check_structure(proof: &Proof) -> Result<(), ProofError> {
    if let Some((p, _)) = proof
        .statements
        .iter()
        .find(|(p, _)| !PROOF_PROPERTIES.contains(&p.as_str()))
    {
        return Err(ProofError::Property(format!("<{}>", p.as_str())));
    }
    match proof.object(rdf::TYPE) {
        Some(t) if t == vocab::SEC_DATA_INTEGRITY_PROOF.into() => {}
        other => return Err(ProofError::Type(describe(other))),
    }
    let suite = proof.literal(vocab::SEC_CRYPTOSUITE)?;
    if suite != CRYPTOSUITE {
        return Err(ProofError::Cryptosuite(format!("{suite:?}")));
    }
    match proof.object(vocab::SEC_PROOF_PURPOSE) {
        Some(p) if p == vocab::SEC_ASSERTION_METHOD.into() => {}
        other => return Err(ProofError::Purpose(describe(other))),
    }
    proof.created_at()?;
    Ok(())
}

fn describe(term: Option<TermRef<'_>>) -> String {
    term.map_or("missing or repeated".to_owned(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    fn doc() -> Vec<Quad> {
        vec![Quad::new(
            NamedNode::new_unchecked("http://ex/r"),
            vocab::DCT_TITLE,
            Literal::new_language_tagged_literal_unchecked("Titre", "fr"),
            GraphName::DefaultGraph,
        )]
    }

    #[test]
    fn signer_proof_configuration_matches_the_generic_one() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let created = "2026-03-04T05:06:07Z";
        let proof = ProofSigner::new(key.clone())
            .sign(&doc(), created, &Limits::default())
            .unwrap();
        assert_eq!(
            proof.configuration(),
            Proof::options(created, &keys::verification_method(&key.verifying_key())).statements
        );
        // The signature was made over the generic canonical configuration.
        let config = canonical_proof_configuration(&proof).unwrap();
        let document = canon::canonical_nquads(&doc(), &Limits::default()).unwrap();
        let signature = decode_proof_value(proof.proof_value().unwrap()).unwrap();
        assert!(
            key.verifying_key()
                .verify(&hash_data(&config, &document), &signature)
                .is_ok()
        );
    }

    #[test]
    fn sign_then_verify_and_detect_tampering() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let limits = Limits::default();
        let proof = sign(&doc(), &key, "2026-01-01T00:00:00Z", &limits).unwrap();
        assert_eq!(
            verify(&doc(), &proof, &limits).unwrap(),
            key.verifying_key()
        );
        let mut altered = doc();
        altered[0].object = Literal::new_language_tagged_literal_unchecked("Autre", "fr").into();
        assert!(matches!(
            verify(&altered, &proof, &limits),
            Err(ProofError::BadSignature)
        ));
        let mut later = proof.clone();
        later.statements[2].1 =
            Literal::new_typed_literal("2027-01-01T00:00:00Z", xsd::DATE_TIME).into();
        assert!(matches!(
            verify(&doc(), &later, &limits),
            Err(ProofError::BadSignature)
        ));
    }
}
