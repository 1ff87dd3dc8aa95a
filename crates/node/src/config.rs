//! A node's own configuration (`ccis.toml`) and the layout of its directory.

use anyhow::{Context, bail};
use ccis_integrity::keys;
use ccis_model::vocab;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the node configuration.
pub const CONFIG_FILE: &str = "ccis.toml";
/// Directory of the embedded store.
pub const STORE_DIR: &str = "store";

/// `ccis.toml`: who the node is and which keys it signs with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node id, e.g. `fr-avise`.
    pub id: String,
    /// Human name of the centre.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code of an EU member state.
    pub country: String,
    /// Base URL; record IRIs are `{base_url}/records/{slug}`.
    pub base_url: String,
    /// Address `ccis serve` listens on (default: the host and port of the base URL
    /// when it names an IP address, else 127.0.0.1:8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The operator's language for the messages the node words itself (SHACL
    /// violations): a language tag such as `fr` or `de`; English by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Signing keys; the last one not revoked signs new records.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Settings of `ccis serve`.
    #[serde(default)]
    pub server: ServerConfig,
    /// Settings of harvesting (`ccis harvest`, and `ccis serve` every interval).
    #[serde(default)]
    pub harvest: ccis_harvest::HarvestConfig,
}

/// `[server]` in `ccis.toml`. Every limit here has a default; docs/06-sparql.md
/// ("Limits and abuse") describes each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Members per feed page (fixed once the feed has its first member).
    pub page_size: u64,
    /// Most seconds a SPARQL query may run (used when `query_timeout_ms` is unset).
    pub query_timeout_secs: u64,
    /// Most milliseconds a SPARQL query may run; overrides `query_timeout_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_timeout_ms: Option<u64>,
    /// Largest SPARQL query text accepted, in bytes.
    pub max_query_bytes: usize,
    /// Deepest nesting of brackets (`(`, `[`, `{`) accepted in a SPARQL query.
    pub max_query_depth: usize,
    /// SPARQL queries evaluated at the same time.
    pub max_concurrent_queries: usize,
    /// SPARQL queries waiting for a turn; more are refused with 503.
    pub max_queued_queries: usize,
    /// Address space of one SPARQL query's worker process, in MiB.
    pub query_memory_mib: u64,
    /// Largest serialized SPARQL result the server relays, in bytes.
    pub max_result_bytes: u64,
    /// Most milliseconds a client may take to send a request's headers.
    pub header_timeout_ms: u64,
    /// Milliseconds after which a connection with no request in flight and no
    /// traffic is closed.
    pub idle_timeout_ms: u64,
    /// Most connections open at once (never more than the open-files limit allows).
    pub max_connections: usize,
    /// Milliseconds requests in flight may take to finish after SIGTERM.
    pub shutdown_grace_ms: u64,
    /// Largest request body the operator API accepts, in bytes.
    pub max_body_bytes: usize,
    /// SHA-256 (hex) of the operator API's bearer token; no token, no API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token_sha256: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            page_size: ccis_store::DEFAULT_PAGE_SIZE,
            query_timeout_secs: 10,
            query_timeout_ms: None,
            max_query_bytes: 64 * 1024,
            max_query_depth: 32,
            max_concurrent_queries: 4,
            max_queued_queries: 32,
            query_memory_mib: 2048,
            max_result_bytes: 256 * 1024 * 1024,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 1024,
            shutdown_grace_ms: 5_000,
            max_body_bytes: 2 * 1024 * 1024,
            api_token_sha256: None,
        }
    }
}

/// A new random API token (64 hex digits) and the SHA-256 hex to keep in `ccis.toml`.
pub fn new_api_token() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token = hex::encode(bytes);
    let hash = token_sha256(&token);
    Ok((token, hash))
}

/// The SHA-256 hex of a token, the only form in which a node keeps it.
pub fn token_sha256(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// One of the node's keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Public key as Multikey (`z6Mk…`).
    pub public_key: String,
    /// File holding the secret key, relative to the node directory (mode 0600).
    pub secret_key_file: String,
    /// When the key started to sign (RFC 3339).
    pub valid_from: String,
    /// When the key stops being valid, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Whether the key is revoked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

impl NodeConfig {
    /// Reads `ccis.toml` from a node directory.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a node directory? create one with `ccis init`)",
                path.display(),
                dir.display()
            )
        })?;
        let config: Self =
            toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
        config
            .check()
            .with_context(|| format!("invalid {}", path.display()))?;
        Ok(config)
    }

    /// Writes `ccis.toml` atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self)?;
        let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(CONFIG_FILE))?;
        Ok(())
    }

    /// Checks id, country and base URL.
    pub fn check(&self) -> anyhow::Result<()> {
        check_node_id(&self.id)?;
        if vocab::country_iri(&self.country).is_none() || self.country.len() != 2 {
            bail!(
                "country {:?} is not the ISO 3166-1 alpha-2 code of an EU member state",
                self.country
            );
        }
        check_base_url(&self.base_url)?;
        for key in &self.keys {
            keys::parse_public_multikey(&key.public_key)?;
        }
        if self.server.page_size == 0 || self.server.page_size > 10_000 {
            bail!(
                "server.page_size {} must be between 1 and 10000",
                self.server.page_size
            );
        }
        if let Some(h) = &self.server.api_token_sha256
            && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            bail!("server.api_token_sha256 must be 64 hex digits (create one with `ccis token`)");
        }
        Ok(())
    }

    /// The node's country as an EU authority-table IRI.
    pub fn country_iri(&self) -> String {
        vocab::country_iri(&self.country).unwrap_or_default()
    }

    /// The key that signs new records.
    pub fn active_key(&self) -> anyhow::Result<&KeyConfig> {
        self.keys
            .iter()
            .rev()
            .find(|k| !k.revoked)
            .context("the node has no usable key (all revoked); add one to ccis.toml")
    }

    /// The address to listen on.
    pub fn listen_address(&self) -> anyhow::Result<std::net::SocketAddr> {
        if let Some(listen) = &self.listen {
            return listen.parse().with_context(|| {
                format!("listen {listen:?} is not an address like 127.0.0.1:8080")
            });
        }
        let authority = self
            .base_url
            .split_once("://")
            .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
        Ok(authority
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 8080))))
    }

    /// The IRI of a record of this node from its slug.
    pub fn record_iri(&self, slug: &str) -> String {
        format!("{}/records/{slug}", self.base_url)
    }
}

pub use ccis_model::ids::{check_base_url, check_node_id};

/// Paths inside a node directory.
#[derive(Debug, Clone)]
pub struct NodeDir {
    /// The directory.
    pub root: PathBuf,
}

impl NodeDir {
    /// A node directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `ccis.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// The store directory.
    pub fn store(&self) -> PathBuf {
        self.root.join(STORE_DIR)
    }
}
