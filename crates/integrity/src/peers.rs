//! `peers.toml`: the nodes a node trusts, with their pinned keys.

use crate::keys;
use ccis_model::record;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The role of a peer.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A national competence centre.
    #[default]
    National,
    /// The European competence centre (aggregates and relays).
    European,
}

impl Role {
    /// Whether this is the national role (the default, left out of `ccis.toml`).
    pub fn is_national(&self) -> bool {
        *self == Role::National
    }
}

/// One trusted node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Node id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// National or European.
    pub role: Role,
    /// Base URL: the prefix of the records it originates.
    pub base_url: String,
    /// Pinned keys.
    #[serde(default)]
    pub keys: Vec<PeerKey>,
}

/// A pinned key of a peer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerKey {
    /// Multikey (`z6Mk…`).
    pub public_key: String,
    /// Signatures created before this instant are not accepted.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Signatures created at or after this instant are not accepted.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// A revoked key is never accepted, whatever the date.
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeersFile {
    #[serde(default)]
    peer: Vec<Peer>,
}

/// The trusted peers.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    /// Peers in file order.
    pub peers: Vec<Peer>,
}

/// Why a key is not trusted for a record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrustError {
    /// No peer's base URL prefixes the record IRI.
    #[error("no peer in peers.toml originates <{0}>")]
    UnknownOrigin(String),
    /// The key is not pinned for the origin peer.
    #[error("key {key} is not pinned for peer {peer}")]
    NotPinned {
        /// The key.
        key: String,
        /// The origin peer.
        peer: String,
    },
    /// The key is revoked.
    #[error("key {key} of peer {peer} is revoked")]
    Revoked {
        /// The key.
        key: String,
        /// The origin peer.
        peer: String,
    },
    /// The proof's `created` is outside the key's validity.
    #[error("key {key} of peer {peer} was not valid at {created}")]
    NotValidAt {
        /// The key.
        key: String,
        /// The origin peer.
        peer: String,
        /// The proof's creation time.
        created: String,
    },
}

/// Why `peers.toml` cannot be used; each variant names the file, or the
/// peer and the field (and the TOML parser names the line).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeersError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is read but its content is not acceptable.
    #[error("invalid {}: {source}", path.display())]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong in it.
        source: Box<PeersError>,
    },
    /// Not TOML, or not the fields of `peers.toml` (the message names the line).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A peer's id or base URL is not acceptable.
    #[error("peer {peer}: field {field}: {source}")]
    Id {
        /// The peer.
        peer: String,
        /// `id` or `base_url`.
        field: &'static str,
        /// Why.
        source: ccis_model::ids::IdError,
    },
    /// A country that is not an EU member state code.
    #[error("peer {peer}: field country {country:?} is not an EU member state code")]
    Country {
        /// The peer.
        peer: String,
        /// The value given.
        country: String,
    },
    /// A peer with no pinned key.
    #[error("peer {0}: no key; every peer needs at least one pinned key")]
    NoKey(String),
    /// A pinned key that is not an Ed25519 Multikey.
    #[error("peer {peer}: keys[{index}].public_key: {source}")]
    Key {
        /// The peer.
        peer: String,
        /// The key's index in the peer's `keys`.
        index: usize,
        /// Why.
        source: keys::KeyError,
    },
    /// A key's validity bound that is not an RFC 3339 date-time.
    #[error("peer {peer}: keys[{index}].{field} {value:?} is not an RFC 3339 date-time")]
    Date {
        /// The peer.
        peer: String,
        /// The key's index in the peer's `keys`.
        index: usize,
        /// `valid_from` or `valid_until`.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// One id listed twice.
    #[error("peer {0} is listed twice")]
    Duplicate(String),
}

impl Peers {
    /// Reads and checks `peers.toml`; errors name the line, the peer and the field.
    pub fn load(path: &Path) -> Result<Self, PeersError> {
        let text = std::fs::read_to_string(path).map_err(|source| PeersError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| PeersError::Invalid {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// The peers of the node in `dir`: its `peers.toml`, or none.
    pub fn load_for_node(dir: &Path) -> Result<Self, PeersError> {
        let path = dir.join("peers.toml");
        if path.exists() {
            Self::load(&path)
        } else {
            Ok(Self::default())
        }
    }

    /// Parses and checks the text of `peers.toml`.
    pub fn parse(text: &str) -> Result<Self, PeersError> {
        let file: PeersFile = toml::from_str(text)?;
        for peer in &file.peer {
            check_peer(peer)?;
        }
        let mut ids: Vec<&str> = file.peer.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(PeersError::Duplicate(w[0].to_owned()));
        }
        Ok(Self { peers: file.peer })
    }

    /// The peer by id.
    pub fn get(&self, id: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.id == id)
    }

    /// The peer that originates a record IRI: the one whose base URL prefixes it.
    pub fn origin_of(&self, record_iri: &str) -> Option<&Peer> {
        self.peers
            .iter()
            .find(|p| record::record_of(record_iri, &p.base_url).is_some())
    }

    /// Checks that `key` may sign, at `created`, a record originating at `record_iri`.
    pub fn check_trust(
        &self,
        record_iri: &str,
        key: &VerifyingKey,
        created: &str,
    ) -> Result<&Peer, TrustError> {
        let peer = self
            .origin_of(record_iri)
            .ok_or_else(|| TrustError::UnknownOrigin(record_iri.to_owned()))?;
        let multikey = keys::public_multikey(key);
        let pinned = peer
            .keys
            .iter()
            .find(|k| k.public_key == multikey)
            .ok_or_else(|| TrustError::NotPinned {
                key: multikey.clone(),
                peer: peer.id.clone(),
            })?;
        if pinned.revoked {
            return Err(TrustError::Revoked {
                key: multikey,
                peer: peer.id.clone(),
            });
        }
        let not_valid = || TrustError::NotValidAt {
            key: multikey.clone(),
            peer: peer.id.clone(),
            created: created.to_owned(),
        };
        let at = OffsetDateTime::parse(created, &Rfc3339).map_err(|_| not_valid())?;
        let parse = |v: &Option<String>| {
            v.as_deref()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        };
        if parse(&pinned.valid_from).is_some_and(|from| at < from)
            || parse(&pinned.valid_until).is_some_and(|until| at >= until)
        {
            return Err(not_valid());
        }
        Ok(peer)
    }
}

/// Checks one peer's fields: id, base URL, country, and each pinned key.
fn check_peer(peer: &Peer) -> Result<(), PeersError> {
    let id = |field| {
        move |source| PeersError::Id {
            peer: peer.id.clone(),
            field,
            source,
        }
    };
    ccis_model::ids::check_node_id(&peer.id).map_err(id("id"))?;
    ccis_model::ids::check_base_url(&peer.base_url).map_err(id("base_url"))?;
    if ccis_model::vocab::country_iri(&peer.country).is_none() {
        return Err(PeersError::Country {
            peer: peer.id.clone(),
            country: peer.country.clone(),
        });
    }
    if peer.keys.is_empty() {
        return Err(PeersError::NoKey(peer.id.clone()));
    }
    for (index, key) in peer.keys.iter().enumerate() {
        keys::parse_public_multikey(&key.public_key).map_err(|source| PeersError::Key {
            peer: peer.id.clone(),
            index,
            source,
        })?;
        for (field, value) in [
            ("valid_from", &key.valid_from),
            ("valid_until", &key.valid_until),
        ] {
            if let Some(v) = value
                && OffsetDateTime::parse(v, &Rfc3339).is_err()
            {
                return Err(PeersError::Date {
                    peer: peer.id.clone(),
                    index,
                    field,
                    value: v.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn text(key: &str, extra: &str) -> String {
        format!(
            "[[peer]]\nid = \"fr-avise\"\nname = \"Avise\"\ncountry = \"FR\"\nrole = \"national\"\nbase_url = \"https://fr.example\"\n[[peer.keys]]\npublic_key = \"{key}\"\nvalid_from = \"2026-01-01T00:00:00Z\"\n{extra}"
        )
    }

    #[test]
    fn trust_follows_pinning_validity_and_revocation() {
        let key = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
        let other = SigningKey::from_bytes(&[2u8; 32]).verifying_key();
        let mk = keys::public_multikey(&key);
        let peers = Peers::parse(&text(&mk, "valid_until = \"2027-01-01T00:00:00Z\"\n")).unwrap();
        let rec = "https://fr.example/records/guide";
        assert!(peers.check_trust(rec, &key, "2026-06-01T00:00:00Z").is_ok());
        assert!(matches!(
            peers.check_trust(rec, &key, "2025-06-01T00:00:00Z"),
            Err(TrustError::NotValidAt { .. })
        ));
        assert!(matches!(
            peers.check_trust(rec, &key, "2027-06-01T00:00:00Z"),
            Err(TrustError::NotValidAt { .. })
        ));
        assert!(matches!(
            peers.check_trust(rec, &other, "2026-06-01T00:00:00Z"),
            Err(TrustError::NotPinned { .. })
        ));
        assert!(matches!(
            peers.check_trust(
                "https://else.example/records/x",
                &key,
                "2026-06-01T00:00:00Z"
            ),
            Err(TrustError::UnknownOrigin(_))
        ));
        let revoked = Peers::parse(&text(&mk, "revoked = true\n")).unwrap();
        assert!(matches!(
            revoked.check_trust(rec, &key, "2026-06-01T00:00:00Z"),
            Err(TrustError::Revoked { .. })
        ));
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let err = Peers::parse("[[peer]]\nid = \"x\"\nname = 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("line"), "{err:#}");
        let no_key = "[[peer]]\nid = \"x\"\nname = \"X\"\ncountry = \"FR\"\nrole = \"national\"\nbase_url = \"https://x.example\"\n";
        let err = Peers::parse(no_key).unwrap_err();
        assert!(err.to_string().contains("no key"), "{err}");
        let err = Peers::parse(&text("z6MkBad", "")).unwrap_err();
        assert!(format!("{err:#}").contains("keys[0].public_key"), "{err:#}");
    }
}
