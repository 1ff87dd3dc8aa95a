//! Checks of validation decisions that need keys and trusted peers: what
//! the harvest applies to a decision record on top of the rules every record
//! passes (its proof, its version, its shapes).
//!
//! - [`check_used_version`]: the decision names this initiative (else it is
//!   a replay onto another one), this version, and the digest of this
//!   version's exact signed content;
//! - [`check_signer`]: a national decision is signed by a key pinned for the
//!   national node of the initiative's own country, an EU-level decision by
//!   a key pinned for a node of role `european`, and the validator it names
//!   is the node that signed it.
//!
//! Each refusal is its own variant of [`DecisionRefusal`] and names the
//! decision record.

use crate::keys::{self, base58};
use crate::peers::{Peer, Peers, Role as PeerRole, TrustError};
use ccis_model::canon::{self, CanonError};
use ccis_model::decision::{Decision, sha256_of_multibase, version_digest};
use ccis_model::record::Record;
use ccis_model::workflow::Role;
use ed25519_dalek::VerifyingKey;

/// Why a decision is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefusal {
    /// The decision used another initiative than the one it is checked against.
    #[error(
        "decision <{decision}> is about <{named}>, not <{initiative}>: refused as replayed onto another initiative"
    )]
    OtherInitiative {
        /// The decision record.
        decision: String,
        /// The initiative it names.
        named: String,
        /// The initiative it was checked against.
        initiative: String,
    },
    /// The decision judged another version.
    #[error(
        "decision <{decision}> judged version {judged} of <{initiative}>, not version {version}"
    )]
    OtherVersion {
        /// The decision record.
        decision: String,
        /// The initiative.
        initiative: String,
        /// The version it judged.
        judged: u64,
        /// The version it was checked against.
        version: u64,
    },
    /// The digest is not that of the version's signed content.
    #[error(
        "decision <{decision}>: its digest {claimed} is not that of version {version} of <{initiative}>, whose signed content has digest {actual}"
    )]
    DigestMismatch {
        /// The decision record.
        decision: String,
        /// The initiative.
        initiative: String,
        /// The version.
        version: u64,
        /// The digest the decision states.
        claimed: String,
        /// The digest of the version's canonical N-Quads.
        actual: String,
    },
    /// The version's canonical form cannot be computed within the limits.
    #[error("decision <{decision}>: the digest of <{initiative}> cannot be computed: {source}")]
    Canon {
        /// The decision record.
        decision: String,
        /// The initiative.
        initiative: String,
        /// Why.
        source: CanonError,
    },
    /// The signing key is not trusted for the decision record at all.
    #[error("decision <{decision}>: {source}")]
    Untrusted {
        /// The decision record.
        decision: String,
        /// Why the key is not trusted.
        source: TrustError,
    },
    /// A national decision not signed by the national node of the initiative's country.
    #[error(
        "national decision <{decision}> is signed by {key} of {signer} ({}, {signer_country}), not by the national node of the initiative's country {country}",
        role_name(*.signer_role)
    )]
    NotNationalSigner {
        /// The decision record.
        decision: String,
        /// The signing key (Multikey).
        key: String,
        /// The node it is pinned for.
        signer: String,
        /// That node's role.
        signer_role: PeerRole,
        /// That node's country.
        signer_country: String,
        /// The initiative's country.
        country: String,
    },
    /// An EU-level decision not signed by a node of role `european`.
    #[error(
        "EU-level decision <{decision}> is signed by {key} of {signer}, which is not a node of role european"
    )]
    NotEuropeanSigner {
        /// The decision record.
        decision: String,
        /// The signing key (Multikey).
        key: String,
        /// The node it is pinned for.
        signer: String,
    },
    /// The validator the decision names is not the node that signed it.
    #[error(
        "decision <{decision}> names <{agent}> as its validator but is signed by {signer}, whose node is <{expected}>"
    )]
    AgentNotSigner {
        /// The decision record.
        decision: String,
        /// The `prov:agent` it names.
        agent: String,
        /// The signing node's id.
        signer: String,
        /// The signing node's IRI.
        expected: String,
    },
}

impl DecisionRefusal {
    /// The harvest rule a refusal falls under.
    pub fn rule(&self) -> crate::verify::Rule {
        use crate::verify::Rule;
        match self {
            Self::OtherInitiative { .. }
            | Self::OtherVersion { .. }
            | Self::DigestMismatch { .. } => Rule::DecisionVersion,
            Self::Canon { .. } => Rule::Limits,
            Self::Untrusted { .. }
            | Self::NotNationalSigner { .. }
            | Self::NotEuropeanSigner { .. }
            | Self::AgentNotSigner { .. } => Rule::DecisionSigner,
        }
    }
}

fn role_name(role: PeerRole) -> &'static str {
    match role {
        PeerRole::National => "national",
        PeerRole::European => "european",
    }
}

/// The SHA-256 digest a `digestMultibase` names: a sha2-256 multihash in
/// base64url (`u…`) or base58btc (`z…`).
fn claimed_sha256(text: &str) -> Option<[u8; 32]> {
    if let Some(digest) = sha256_of_multibase(text) {
        return Some(digest);
    }
    let bytes = base58::decode(text.strip_prefix('z')?)?;
    bytes.strip_prefix(&[0x12, 0x20][..])?.try_into().ok()
}

/// Checks that `decision` used exactly `initiative`, this version of it:
/// same IRI (else a replay), same version, and a digest of this version's
/// signed content (its RDFC-1.0 canonical N-Quads).
pub fn check_used_version(
    decision: &Decision,
    initiative: &Record,
    limits: &canon::Limits,
) -> Result<(), DecisionRefusal> {
    let name = || decision.iri.as_str().to_owned();
    let used = &decision.used;
    if used.initiative != initiative.iri {
        return Err(DecisionRefusal::OtherInitiative {
            decision: name(),
            named: used.initiative.as_str().to_owned(),
            initiative: initiative.iri.as_str().to_owned(),
        });
    }
    let version = initiative.version().unwrap_or(0);
    if used.version != version {
        return Err(DecisionRefusal::OtherVersion {
            decision: name(),
            initiative: initiative.iri.as_str().to_owned(),
            judged: used.version,
            version,
        });
    }
    let actual = canon::document_sha256(&initiative.triples, limits).map_err(|source| {
        DecisionRefusal::Canon {
            decision: name(),
            initiative: initiative.iri.as_str().to_owned(),
            source,
        }
    })?;
    if claimed_sha256(&used.digest) != Some(actual) {
        return Err(DecisionRefusal::DigestMismatch {
            decision: name(),
            initiative: initiative.iri.as_str().to_owned(),
            version,
            claimed: used.digest.clone(),
            actual: version_digest(initiative, limits).unwrap_or_default(),
        });
    }
    Ok(())
}

/// Checks who signed `decision`: `key`, at `created` (the proof's), must be
/// pinned in `peers` for the decision's origin node; for a national decision
/// that node is the national node of `initiative_country` (ISO 3166-1
/// alpha-2, the country of the initiative's origin node), for an EU-level
/// decision a node of role `european`; and the decision's `prov:agent` is
/// that node (`{base_url}/node`). Returns the signing peer.
pub fn check_signer<'p>(
    decision: &Decision,
    key: &VerifyingKey,
    created: &str,
    initiative_country: &str,
    peers: &'p Peers,
) -> Result<&'p Peer, DecisionRefusal> {
    let name = || decision.iri.as_str().to_owned();
    let signer = peers
        .check_trust(decision.iri.as_str(), key, created)
        .map_err(|source| DecisionRefusal::Untrusted {
            decision: name(),
            source,
        })?;
    match decision.role {
        Role::National => {
            if signer.role != PeerRole::National
                || !signer.country.eq_ignore_ascii_case(initiative_country)
            {
                return Err(DecisionRefusal::NotNationalSigner {
                    decision: name(),
                    key: keys::public_multikey(key),
                    signer: signer.id.clone(),
                    signer_role: signer.role,
                    signer_country: signer.country.clone(),
                    country: initiative_country.to_ascii_uppercase(),
                });
            }
        }
        Role::European => {
            if signer.role != PeerRole::European {
                return Err(DecisionRefusal::NotEuropeanSigner {
                    decision: name(),
                    key: keys::public_multikey(key),
                    signer: signer.id.clone(),
                });
            }
        }
    }
    let expected = format!("{}/node", signer.base_url.trim_end_matches('/'));
    if decision.validator.as_str() != expected {
        return Err(DecisionRefusal::AgentNotSigner {
            decision: name(),
            agent: decision.validator.as_str().to_owned(),
            signer: signer.id.clone(),
            expected,
        });
    }
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::ProofSigner;
    use crate::shapes::ShapeValidator;
    use crate::signed::{SignedRecord, records_in};
    use crate::verify::{Trust, Verifier};
    use ccis_model::checklist;
    use ccis_model::decision::{Assessment, CriterionOutcome, UsedVersion};
    use ccis_model::rdf_input::{InputFormat, parse};
    use ccis_model::record::split_into_records;
    use ccis_model::workflow::{self, Outcome};
    use ed25519_dalek::SigningKey;
    use oxrdf::NamedNode;

    const CREATED: &str = "2026-11-20T10:00:00Z";
    const FR: &str = "https://fr.example";
    const ES: &str = "https://es.example";
    const EU: &str = "https://eu.example";

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    /// France (key 1), Spain (key 2), both national; the European node (key 3).
    fn peers() -> Peers {
        let peer = |id: &str, country: &str, role: &str, base: &str, k: u8| {
            format!(
                "[[peer]]\nid = \"{id}\"\nname = \"{id}\"\ncountry = \"{country}\"\nrole = \"{role}\"\nbase_url = \"{base}\"\n\
                 [[peer.keys]]\npublic_key = \"{}\"\n",
                keys::public_multikey(&key(k).verifying_key())
            )
        };
        Peers::parse(
            &[
                peer("fr-avise", "FR", "national", FR, 1),
                peer("es-uafse", "ES", "national", ES, 2),
                peer("eu-eccsi", "LT", "european", EU, 3),
            ]
            .concat(),
        )
        .unwrap()
    }

    /// Version 2 of a French initiative, as its node stamped it.
    fn initiative() -> Record {
        let ttl = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/records/fr/territoire-zero-chomeur.ttl"
        ))
        .unwrap();
        let base = format!("{FR}/");
        let quads = parse(
            &ttl,
            InputFormat::Turtle,
            Some(&base),
            "tzc",
            &Default::default(),
        )
        .unwrap();
        let mut records = split_into_records(quads, &base).unwrap();
        assert_eq!(records.len(), 1);
        records.remove(0).stamped(2, "2026-11-19T09:00:00Z")
    }

    fn decision(base: &str, role: Role, initiative: &Record) -> Decision {
        let sim = &checklist::builtin().unwrap()[0];
        Decision {
            iri: NamedNode::new_unchecked(format!("{base}/records/validation-tzc-v2")),
            used: UsedVersion {
                initiative: initiative.iri.clone(),
                version: 2,
                digest: version_digest(initiative, &canon::Limits::default()).unwrap(),
            },
            validator: NamedNode::new_unchecked(format!("{base}/node")),
            role,
            checklist: NamedNode::new_unchecked(checklist::SIM),
            assessments: sim
                .criteria
                .iter()
                .map(|c| Assessment {
                    criterion: NamedNode::new_unchecked(&c.iri),
                    outcome: CriterionOutcome::Passed,
                    comment: [("en".to_owned(), "Documented.".to_owned())].into(),
                })
                .collect(),
            outcome: Outcome::Validated,
            rationale: [("en".to_owned(), "Meets the four criteria.".to_owned())].into(),
            ended_at: time::macros::datetime!(2026-11-20 09:59 UTC),
        }
    }

    #[test]
    fn a_decision_is_signed_verified_and_read_back_like_any_record() {
        let initiative = initiative();
        let d = decision(FR, Role::National, &initiative);
        let record = d.to_record().stamped(1, "2026-11-20T10:00:00Z");
        ShapeValidator::new().unwrap().validate(&record).unwrap();
        let proof = ProofSigner::new(key(1))
            .sign(&record.document(), CREATED, &canon::Limits::default())
            .unwrap();
        let signed = SignedRecord { record, proof };
        let found = records_in(&signed.to_quads());
        assert_eq!(found.len(), 1);
        let peers = peers();
        let verifier = Verifier::new(Trust::Peers(&peers));
        let verified = verifier.verify(&found[0]).unwrap();
        assert_eq!(verified.origin.as_deref(), Some("fr-avise"));
        let back = Decision::from_record(verified.record).unwrap();
        assert_eq!(back, d);
        check_used_version(&back, &initiative, &canon::Limits::default()).unwrap();
        let signer = check_signer(&back, &verified.key, CREATED, "fr", &peers).unwrap();
        assert_eq!(signer.id, "fr-avise");
        // And the workflow takes it.
        let current = workflow::InitiativeVersion {
            iri: initiative.iri.as_str().to_owned(),
            version: 2,
            digest: back.used.digest.clone(),
            level: workflow::Level::National,
            withdrawn: false,
        };
        let state = workflow::derive_state(&current, &[back.summary()]).state;
        assert_eq!(state, workflow::State::NationallyValidated);
    }

    /// The sample decision of `examples/decisions` reads as a decision, and
    /// names the digest its comment says: that of version 1 of the
    /// initiative stamped 2026-11-20T10:00:00Z on the sample French node.
    #[test]
    fn the_sample_decision_names_the_version_it_says() {
        let base = "http://127.0.0.1:8401/";
        let read = |name: &str| {
            let folder = if name.starts_with("validation-") {
                "decisions"
            } else {
                "records/fr"
            };
            let path = format!(
                "{}/../../examples/{folder}/{name}.ttl",
                env!("CARGO_MANIFEST_DIR")
            );
            let quads = parse(
                &std::fs::read(&path).unwrap(),
                InputFormat::Turtle,
                Some(base),
                name,
                &Default::default(),
            )
            .unwrap();
            split_into_records(quads, base).unwrap().remove(0)
        };
        let initiative = read("territoire-zero-chomeur").stamped(1, "2026-11-20T10:00:00Z");
        let decision = Decision::from_record(&read("validation-territoire-zero-chomeur")).unwrap();
        assert_eq!(
            (decision.role, decision.outcome, decision.assessments.len()),
            (Role::National, Outcome::Validated, 4)
        );
        assert_eq!(decision.validator.as_str(), "http://127.0.0.1:8401/node");
        check_used_version(&decision, &initiative, &canon::Limits::default()).unwrap();
    }

    #[test]
    fn the_shapes_refuse_a_decision_without_assessments_or_with_a_bad_outcome() {
        let shapes = ShapeValidator::new().unwrap();
        let mut d = decision(FR, Role::National, &initiative());
        d.assessments.clear();
        let record = d.to_record().stamped(1, "2026-11-20T10:00:00Z");
        let err = shapes.validate(&record).unwrap_err().to_string();
        assert!(err.contains("prov:generated"), "{err}");
    }

    #[test]
    fn a_decision_replayed_onto_another_initiative_is_refused() {
        let initiative = initiative();
        let d = decision(FR, Role::National, &initiative);
        let other = initiative.renamed(NamedNode::new_unchecked(format!("{FR}/records/other")));
        let err = check_used_version(&d, &other, &canon::Limits::default()).unwrap_err();
        assert!(
            matches!(err, DecisionRefusal::OtherInitiative { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(d.iri.as_str()), "{err}");
    }

    #[test]
    fn a_decision_about_another_version_or_other_content_is_refused() {
        let initiative = initiative();
        let d = decision(FR, Role::National, &initiative);
        let limits = canon::Limits::default();
        let v3 = initiative.stamped(3, "2026-11-21T09:00:00Z");
        let err = check_used_version(&d, &v3, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                DecisionRefusal::OtherVersion {
                    judged: 2,
                    version: 3,
                    ..
                }
            ),
            "{err}"
        );
        // Same version number, other content: the digest tells.
        let edited = initiative.stamped(2, "2026-11-19T09:00:01Z");
        let err = check_used_version(&d, &edited, &limits).unwrap_err();
        let DecisionRefusal::DigestMismatch {
            claimed, actual, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(claimed, &d.used.digest);
        assert_eq!(actual, &version_digest(&edited, &limits).unwrap());
        assert!(err.to_string().contains(d.iri.as_str()), "{err}");
        // The same digest in base58btc names the same content.
        let sha = sha256_of_multibase(&d.used.digest).unwrap();
        let mut z = d.clone();
        z.used.digest = format!("z{}", base58::encode(&[&[0x12, 0x20][..], &sha].concat()));
        check_used_version(&z, &initiative, &limits).unwrap();
        // A digest that is no multihash is refused.
        z.used.digest = "uEiB".into();
        assert!(matches!(
            check_used_version(&z, &initiative, &limits),
            Err(DecisionRefusal::DigestMismatch { .. })
        ));
    }

    #[test]
    fn a_national_decision_signed_by_another_country_is_refused() {
        let initiative = initiative();
        let peers = peers();
        // Spain's node decides, at national level, on a French initiative.
        let d = decision(ES, Role::National, &initiative);
        let err = check_signer(&d, &key(2).verifying_key(), CREATED, "FR", &peers).unwrap_err();
        assert!(
            matches!(&err, DecisionRefusal::NotNationalSigner { signer, country, .. } if signer == "es-uafse" && country == "FR"),
            "{err}"
        );
        assert!(err.to_string().contains(d.iri.as_str()), "{err}");
        // The European node cannot sign a national decision either.
        let d = decision(EU, Role::National, &initiative);
        let err = check_signer(&d, &key(3).verifying_key(), CREATED, "FR", &peers).unwrap_err();
        assert!(
            matches!(err, DecisionRefusal::NotNationalSigner { .. }),
            "{err}"
        );
        // A key that is not pinned for the decision's origin.
        let d = decision(FR, Role::National, &initiative);
        let err = check_signer(&d, &key(2).verifying_key(), CREATED, "FR", &peers).unwrap_err();
        assert!(
            matches!(
                err,
                DecisionRefusal::Untrusted {
                    source: TrustError::NotPinned { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_eu_decision_must_be_signed_by_the_european_node() {
        let initiative = initiative();
        let peers = peers();
        let d = decision(EU, Role::European, &initiative);
        let signer = check_signer(&d, &key(3).verifying_key(), CREATED, "FR", &peers).unwrap();
        assert_eq!(signer.id, "eu-eccsi");
        let d = decision(FR, Role::European, &initiative);
        let err = check_signer(&d, &key(1).verifying_key(), CREATED, "FR", &peers).unwrap_err();
        assert!(
            matches!(&err, DecisionRefusal::NotEuropeanSigner { signer, .. } if signer == "fr-avise"),
            "{err}"
        );
    }

    #[test]
    fn a_decision_naming_another_validator_than_its_signer_is_refused() {
        let mut d = decision(FR, Role::National, &initiative());
        d.validator = NamedNode::new_unchecked(format!("{ES}/node"));
        let err = check_signer(&d, &key(1).verifying_key(), CREATED, "FR", &peers()).unwrap_err();
        assert!(
            matches!(&err, DecisionRefusal::AgentNotSigner { expected, .. } if expected == "https://fr.example/node"),
            "{err}"
        );
    }
}
