//! Offline verification of signed records: proof, origin binding, trust.

use crate::canon::Limits;
use crate::keys;
use crate::peers::Peers;
use crate::proof::{self, ProofError};
use crate::record;
use crate::signed::FoundRecord;
use ed25519_dalek::VerifyingKey;
use oxrdf::NamedOrBlankNode;

/// Whom to trust when verifying.
pub enum Trust<'a> {
    /// Keys pinned in `peers.toml`, for the record's origin node.
    Peers(&'a Peers),
    /// One given key.
    Key(VerifyingKey),
}

/// The verdict on one record.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The record IRI.
    pub iri: String,
    /// Its `ccis:version`.
    pub version: Option<u64>,
    /// The verification method that verified it, or why it does not verify.
    pub result: Result<String, String>,
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

/// Verifies one record read from a dataset.
pub fn verify_record(found: &FoundRecord, trust: &Trust<'_>) -> Verdict {
    let iri = found.record.iri.as_str().to_owned();
    Verdict {
        iri: iri.clone(),
        version: found.record.version(),
        result: check(found, trust),
    }
}

fn check(found: &FoundRecord, trust: &Trust<'_>) -> Result<String, String> {
    let record = &found.record;
    let iri = record.iri.as_str();
    for t in &record.triples {
        if let NamedOrBlankNode::NamedNode(s) = &t.subject {
            if record::record_iri_part(s.as_str()) != iri {
                return Err(format!("subject <{}> lies outside the record", s.as_str()));
            }
        }
    }
    record.check_limits().map_err(|e| e.to_string())?;
    let proof = match found.proofs.as_slice() {
        [] => return Err(ProofError::Missing.to_string()),
        [one] => one,
        _ => return Err("more than one proof".into()),
    };
    let key =
        proof::verify(&record.document(), proof, &Limits::default()).map_err(|e| e.to_string())?;
    let created = proof.created().map_err(|e| e.to_string())?;
    match trust {
        Trust::Peers(peers) => {
            let peer = peers
                .check_trust(iri, &key, created)
                .map_err(|e| e.to_string())?;
            Ok(format!("{} ({})", keys::verification_method(&key), peer.id))
        }
        Trust::Key(expected) if *expected == key => Ok(keys::verification_method(&key)),
        Trust::Key(expected) => Err(format!(
            "signed by {}, not by the given key {}",
            keys::public_multikey(&key),
            keys::public_multikey(expected)
        )),
    }
}
