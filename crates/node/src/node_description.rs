//! A node's description as `GET /node` serves it (Turtle, N-Triples or
//! JSON-LD), read back as RDF: who the node is and its keys, to pin it in
//! `peers.toml` (`ccis peer add`, `ccis peer update`). The same description
//! built from a node's own `ccis.toml` gives its entry (`ccis node entry`),
//! so both write the same `[[peer]]` table.
//!
//! Fetching is bounded: a time limit for the whole exchange and a size limit
//! on the body, read as it arrives; redirects are not followed (the operator
//! is told where they lead).

use crate::config::{self, NodeConfig};
use ccis_integrity::keys;
use ccis_integrity::peers::{Peer, PeerKey, Role};
use ccis_model::rdf_input::{self, InputError, InputFormat, PinnedContexts};
use ccis_model::vocab;
use oxrdf::{NamedNode, NamedOrBlankNode, Quad, Term};
use std::io::Read;
use std::time::Duration;

/// Default time limit for fetching a description (connection, headers, body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default size limit of a description: 1 MiB (one is a few kilobytes).
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
/// What a description is asked for in.
const ACCEPT: &str = "text/turtle, application/ld+json;q=0.9, application/n-triples;q=0.8";

/// Limits on fetching a description.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Most time for the whole exchange.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A node as it describes itself.
#[derive(Debug, Clone)]
pub struct NodeDescription {
    /// Node id (`dct:identifier`).
    pub id: String,
    /// Name of the centre (`schema:name`), if given.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2 country code (from `dct:spatial`).
    pub country: String,
    /// Base URL (`schema:url`).
    pub base_url: String,
    /// Its keys (`sec:assertionMethod`), ordered by `valid_from` then key.
    pub keys: Vec<PeerKey>,
}

/// Why a description cannot be fetched or read.
#[derive(Debug, thiserror::Error)]
pub enum DescriptionError {
    /// Not an http(s) URL.
    #[error("{url} is not an http(s) URL; give the node's base URL, e.g. https://ccis.example.org")]
    NotHttp {
        /// What was given.
        url: String,
    },
    /// No answer in time.
    #[error(
        "{url} did not answer within {secs} s; check the URL, or allow more time with --timeout"
    )]
    Timeout {
        /// The description's URL.
        url: String,
        /// The limit.
        secs: u64,
    },
    /// Connection refused, name not resolved…
    #[error("cannot fetch {url}: {message}; check the URL and that the node is running")]
    Fetch {
        /// The description's URL.
        url: String,
        /// What happened, on one line.
        message: String,
    },
    /// A redirect, not followed.
    #[error(
        "{url} redirects to {location}; if you trust that address, run the command again with it"
    )]
    Redirect {
        /// The description's URL.
        url: String,
        /// Where it leads.
        location: String,
    },
    /// Another status than 200.
    #[error(
        "{url} answered HTTP {status}; give the base URL of a ccis node (its description is at BASE/node)"
    )]
    Status {
        /// The description's URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// A body larger than allowed.
    #[error(
        "{url}: the description is over {limit} bytes, more than any node description; is it a ccis node?"
    )]
    TooLarge {
        /// The description's URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Not an RDF format a node serves its description in.
    #[error(
        "{url} answered {content_type:?}, not Turtle, N-Triples or JSON-LD; is it a ccis node?"
    )]
    ContentType {
        /// The description's URL.
        url: String,
        /// The media type it answered.
        content_type: String,
    },
    /// Not parseable RDF.
    #[error("cannot read the description: {0}")]
    Syntax(#[from] InputError),
    /// A required statement is missing.
    #[error("{url} does not describe a node: {what} is missing")]
    Missing {
        /// The description's URL.
        url: String,
        /// What is missing.
        what: &'static str,
    },
    /// A statement is there but not valid.
    #[error("{url}: {what}")]
    Bad {
        /// The description's URL.
        url: String,
        /// What is wrong.
        what: String,
    },
    /// The description belongs to a node with another base URL.
    #[error(
        "{url} describes node {id} whose base URL is {base_url}; pin a node from its own base URL: run the command again with {base_url}"
    )]
    Elsewhere {
        /// The description's URL.
        url: String,
        /// The node described.
        id: String,
        /// Its base URL.
        base_url: String,
    },
}

/// The URL of the description of the node at `url` (its base URL, or the
/// description's own URL): `{base}/node`. Refuses anything but http(s).
pub fn description_url(url: &str) -> Result<String, DescriptionError> {
    let not_http = || DescriptionError::NotHttp {
        url: url.to_owned(),
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| not_http())?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(not_http());
    }
    let base = parsed.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/node") {
        base.to_owned()
    } else {
        format!("{base}/node")
    })
}

/// Fetches and reads the description at `url` (from [`description_url`]).
pub fn fetch(url: &str, options: &FetchOptions) -> Result<NodeDescription, DescriptionError> {
    let fetch_error = |e: reqwest::Error| {
        if e.is_timeout() {
            DescriptionError::Timeout {
                url: url.to_owned(),
                secs: options.timeout.as_secs().max(1),
            }
        } else {
            DescriptionError::Fetch {
                url: url.to_owned(),
                message: root_cause(&e),
            }
        }
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ccis/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(fetch_error)?;
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, ACCEPT)
        .send()
        .map_err(fetch_error)?;
    let (format, response) = check_response(url, response)?;
    let mut body = Vec::new();
    response
        .take(options.max_bytes + 1)
        .read_to_end(&mut body)
        .map_err(
            |e| match e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                Some(r) if r.is_timeout() => DescriptionError::Timeout {
                    url: url.to_owned(),
                    secs: options.timeout.as_secs().max(1),
                },
                _ => DescriptionError::Fetch {
                    url: url.to_owned(),
                    message: e.to_string(),
                },
            },
        )?;
    if body.len() as u64 > options.max_bytes {
        return Err(DescriptionError::TooLarge {
            url: url.to_owned(),
            limit: options.max_bytes,
        });
    }
    parse(&body, format, url)
}

/// The innermost cause of an error (reqwest wraps "connection refused" in three layers).
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Status, redirect and content type of a response; the format to parse it in.
fn check_response(
    url: &str,
    response: reqwest::blocking::Response,
) -> Result<(InputFormat, reqwest::blocking::Response), DescriptionError> {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(no Location header)")
            .to_owned();
        return Err(DescriptionError::Redirect {
            url: url.to_owned(),
            location,
        });
    }
    if status != reqwest::StatusCode::OK {
        return Err(DescriptionError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match InputFormat::from_media_type(&content_type) {
        Some(f @ (InputFormat::Turtle | InputFormat::NTriples | InputFormat::JsonLd)) => {
            Ok((f, response))
        }
        _ => Err(DescriptionError::ContentType {
            url: url.to_owned(),
            content_type: rdf_input::media_type_of(Some(&content_type)),
        }),
    }
}

/// Reads a description served at `url` (relative IRIs resolve against it).
pub fn parse(
    bytes: &[u8],
    format: InputFormat,
    url: &str,
) -> Result<NodeDescription, DescriptionError> {
    let quads = rdf_input::parse(bytes, format, Some(url), url, &PinnedContexts::default())?;
    Described { quads, url }.read()
}

/// The statements of a description, and where they came from.
struct Described<'a> {
    quads: Vec<Quad>,
    url: &'a str,
}

fn sec(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{}{local}", vocab::SEC))
}

fn schema(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{}{local}", vocab::SCHEMA))
}

impl Described<'_> {
    fn objects<'q>(
        &'q self,
        subject: &'q NamedOrBlankNode,
        predicate: &'q NamedNode,
    ) -> impl Iterator<Item = &'q Term> + 'q {
        self.quads
            .iter()
            .filter(move |q| &q.subject == subject && &q.predicate == predicate)
            .map(|q| &q.object)
    }

    fn literal(&self, subject: &NamedOrBlankNode, predicate: &NamedNode) -> Option<String> {
        self.objects(subject, predicate).find_map(|o| match o {
            Term::Literal(l) => Some(l.value().to_owned()),
            _ => None,
        })
    }

    fn iri(&self, subject: &NamedOrBlankNode, predicate: &NamedNode) -> Option<String> {
        self.objects(subject, predicate).find_map(|o| match o {
            Term::NamedNode(n) => Some(n.as_str().to_owned()),
            _ => None,
        })
    }

    fn missing(&self, what: &'static str) -> DescriptionError {
        DescriptionError::Missing {
            url: self.url.to_owned(),
            what,
        }
    }

    fn bad(&self, what: String) -> DescriptionError {
        DescriptionError::Bad {
            url: self.url.to_owned(),
            what,
        }
    }

    /// The node described: the subject named like the URL, with an id.
    fn read(&self) -> Result<NodeDescription, DescriptionError> {
        let identifier = NamedNode::from(vocab::DCT_IDENTIFIER);
        let me = NamedOrBlankNode::NamedNode(NamedNode::new_unchecked(self.url));
        let Some(id) = self.literal(&me, &identifier) else {
            let other = self
                .quads
                .iter()
                .find(|q| q.predicate == identifier)
                .map(|q| q.subject.clone());
            return Err(match other {
                Some(s) => match (self.literal(&s, &identifier), self.iri(&s, &schema("url"))) {
                    (Some(id), Some(base_url)) => DescriptionError::Elsewhere {
                        url: self.url.to_owned(),
                        id,
                        base_url,
                    },
                    _ => self.missing("the node's base URL (schema:url)"),
                },
                None => self.missing("a node id (dct:identifier)"),
            });
        };
        config::check_node_id(&id).map_err(|e| self.bad(e.to_string()))?;
        let base_url = self
            .iri(&me, &schema("url"))
            .ok_or_else(|| self.missing("the node's base URL (schema:url)"))?;
        config::check_base_url(&base_url).map_err(|e| self.bad(e.to_string()))?;
        if format!("{base_url}/node") != self.url {
            return Err(DescriptionError::Elsewhere {
                url: self.url.to_owned(),
                id,
                base_url,
            });
        }
        let country = self
            .iri(&me, &vocab::DCT_SPATIAL.into())
            .and_then(|iri| country_code(&iri))
            .ok_or_else(|| self.missing("an EU member state (dct:spatial)"))?;
        let keys = self.keys(&me)?;
        if keys.is_empty() {
            return Err(self.missing("a key (sec:assertionMethod with sec:publicKeyMultibase)"));
        }
        Ok(NodeDescription {
            id,
            name: self.literal(&me, &schema("name")),
            country,
            base_url,
            keys,
        })
    }

    fn keys(&self, me: &NamedOrBlankNode) -> Result<Vec<PeerKey>, DescriptionError> {
        let mut keys = Vec::new();
        for method in self.objects(me, &sec("assertionMethod")) {
            let Term::NamedNode(vm) = method else {
                continue;
            };
            let vm_node = NamedOrBlankNode::NamedNode(vm.clone());
            let multikey = self
                .literal(&vm_node, &sec("publicKeyMultibase"))
                .ok_or_else(|| self.missing("a key's sec:publicKeyMultibase"))?;
            let public = keys::parse_public_multikey(&multikey)
                .map_err(|e| self.bad(format!("key {multikey}: {e}")))?;
            if keys::verification_method(&public) != vm.as_str() {
                return Err(self.bad(format!(
                    "key {multikey} is published as <{}>, not as its did:key",
                    vm.as_str()
                )));
            }
            let valid_from_term = NamedNode::new_unchecked(format!("{}validFrom", vocab::CCIS));
            keys.push(PeerKey {
                public_key: multikey,
                valid_from: self.literal(&vm_node, &valid_from_term),
                valid_until: self.literal(&vm_node, &sec("expires")),
                revoked: self.objects(&vm_node, &sec("revoked")).next().is_some(),
            });
        }
        sort_keys(&mut keys);
        keys.dedup_by(|a, b| a.public_key == b.public_key);
        Ok(keys)
    }
}

/// Keys in the order descriptions and entries list them: by `valid_from`,
/// then by public key.
pub(crate) fn sort_keys(keys: &mut [PeerKey]) {
    keys.sort_by(|a, b| (&a.valid_from, &a.public_key).cmp(&(&b.valid_from, &b.public_key)));
}

/// ISO 3166-1 alpha-2 codes of the EU member states (and `EL`, the EU's code for Greece).
const EU_COUNTRIES: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "EL", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// The alpha-2 code of an EU authority-table country IRI.
pub fn country_code(iri: &str) -> Option<String> {
    EU_COUNTRIES
        .iter()
        .find(|code| vocab::country_iri(code).as_deref() == Some(iri))
        .map(|code| (*code).to_owned())
}

impl NodeDescription {
    /// The description `/node` serves for a node with this configuration.
    pub fn of_config(config: &NodeConfig) -> Self {
        let mut keys: Vec<PeerKey> = config
            .keys
            .iter()
            .filter(|k| keys::parse_public_multikey(&k.public_key).is_ok())
            .map(|k| PeerKey {
                public_key: k.public_key.clone(),
                valid_from: Some(k.valid_from.clone()),
                valid_until: k.valid_until.clone(),
                revoked: k.revoked,
            })
            .collect();
        sort_keys(&mut keys);
        Self {
            id: config.id.clone(),
            name: Some(config.name.clone()),
            country: country_code(&config.country_iri()).unwrap_or_else(|| config.country.clone()),
            base_url: config.base_url.clone(),
            keys,
        }
    }

    /// The `[[peer]]` entry that pins this node with `role`.
    pub fn to_peer(&self, role: Role) -> Peer {
        Peer {
            id: self.id.clone(),
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            country: self.country.clone(),
            role,
            base_url: self.base_url.clone(),
            keys: self.keys.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_urls() {
        for (given, expected) in [
            ("http://127.0.0.1:8401", "http://127.0.0.1:8401/node"),
            ("http://127.0.0.1:8401/", "http://127.0.0.1:8401/node"),
            (
                "https://ccis.example.org/node",
                "https://ccis.example.org/node",
            ),
            ("https://example.org/ccis/", "https://example.org/ccis/node"),
        ] {
            assert_eq!(description_url(given).unwrap(), expected);
        }
        for bad in [
            "ftp://example.org",
            "example.org",
            "file:///etc/passwd",
            "http://x/?a=b",
            "",
        ] {
            let err = description_url(bad).unwrap_err();
            assert!(
                err.to_string().contains("not an http(s) URL"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_description_is_read_and_checked() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        let mk = keys::public_multikey(&key);
        let vm = keys::verification_method(&key);
        let ttl = format!(
            "@prefix sec: <https://w3id.org/security#> .
            <https://fr.example/node> a <https://schema.org/Organization> ;
              <http://purl.org/dc/terms/identifier> \"fr-test\" ;
              <https://schema.org/name> \"Test\" ;
              <http://purl.org/dc/terms/spatial> <http://publications.europa.eu/resource/authority/country/FRA> ;
              <https://schema.org/url> <https://fr.example> ;
              sec:assertionMethod <{vm}> .
            <{vm}> sec:publicKeyMultibase \"{mk}\" ;
              <https://w3id.org/ccis/ns#validFrom> \"2026-01-01T00:00:00Z\" ."
        );
        let d = parse(
            ttl.as_bytes(),
            InputFormat::Turtle,
            "https://fr.example/node",
        )
        .unwrap();
        assert_eq!((d.id.as_str(), d.country.as_str()), ("fr-test", "FR"));
        assert_eq!(d.keys.len(), 1);
        assert_eq!(
            d.keys[0].valid_from.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );

        let err = parse(
            ttl.as_bytes(),
            InputFormat::Turtle,
            "https://other.example/node",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("run the command again with https://fr.example"),
            "{err}"
        );
        let no_key = ttl.replace(
            &format!("sec:assertionMethod <{vm}>"),
            "a <https://schema.org/Thing>",
        );
        let err = parse(
            no_key.as_bytes(),
            InputFormat::Turtle,
            "https://fr.example/node",
        )
        .unwrap_err();
        assert!(err.to_string().contains("a key"), "{err}");
        let err = parse(
            b"<a> <b> <c> .",
            InputFormat::Turtle,
            "https://fr.example/node",
        )
        .unwrap_err();
        assert!(err.to_string().contains("node id"), "{err}");
    }
}
