//! A node's own configuration (`ccis.toml`) and the layout of its directory.

use ccis_integrity::keys;
use ccis_integrity::peers::Role;
use ccis_model::vocab;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the node configuration.
pub const CONFIG_FILE: &str = "ccis.toml";
/// Directory of the embedded store.
pub const STORE_DIR: &str = "store";
/// Directory of the submissions waiting for the operator (never served).
pub const SUBMISSIONS_DIR: &str = "submissions";

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
    /// The node's role: `national` (the default) or `european`; it is the
    /// level of the validation decisions the node signs.
    #[serde(default, skip_serializing_if = "Role::is_national")]
    pub role: Role,
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
    /// Public submissions of initiatives (`/submit`, `/api/submissions`).
    #[serde(default, skip_serializing_if = "SubmissionsConfig::is_default")]
    pub submissions: SubmissionsConfig,
    /// The validators' pages (`/review`): sessions and logins.
    #[serde(default, skip_serializing_if = "ReviewConfig::is_default")]
    pub review: ReviewConfig,
    /// E-mail to submitters and validators through the centre's SMTP relay
    /// (`[mail]`); none is sent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailConfig>,
}

/// `[review]` in `ccis.toml`: sessions and logins of the validators' pages
/// (docs/13-validators.md). Accounts are in `accounts.toml` (`ccis account`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Seconds without a request after which a session ends (default 1800).
    pub session_idle_secs: u64,
    /// Seconds after login after which a session ends whatever its use (default 43200).
    pub session_max_secs: u64,
    /// Sessions held at once, logged in or not (default 1000); the oldest go first.
    pub max_sessions: usize,
    /// Failed logins allowed per client address, and per account name,
    /// within `login_window_secs` (default 5); more are refused with 429.
    pub max_login_failures: u32,
    /// The window of `max_login_failures`, in seconds (default 900).
    pub login_window_secs: u64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            session_idle_secs: 1800,
            session_max_secs: 12 * 3600,
            max_sessions: 1000,
            max_login_failures: 5,
            login_window_secs: 900,
        }
    }
}

impl ReviewConfig {
    /// Whether every setting has its default (then `ccis.toml` leaves the section out).
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// `[mail]` in `ccis.toml`: e-mail to the submitters of initiatives and to
/// the centre's validators through its SMTP relay (docs/12-validation.md,
/// "E-mail"). Off without the section. A message that cannot be sent is
/// logged and never fails what it tells about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// Host name (or IP address) of the SMTP relay, e.g. `smtp.avise.org`.
    pub relay: String,
    /// Port of the relay (default: 25 with `tls = "none"`, 587 with
    /// `starttls`, 465 with `tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the connection is protected: `starttls` (the default), `tls`
    /// (TLS from the first byte) or `none` (plain text, for a relay on the
    /// same host or network).
    #[serde(default)]
    pub tls: MailTls,
    /// User name to authenticate with at the relay, if it asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name of the environment variable that holds the relay password (the
    /// password is never written in `ccis.toml`); needed with `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// The sender, e.g. `Avise <ccis@avise.org>`.
    pub from: String,
    /// The validators' addresses: each is told of every submission received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<String>,
    /// Most milliseconds to connect to the relay and for each of its
    /// answers (default 20,000); a message not sent by then is given up.
    #[serde(default = "MailConfig::default_timeout_ms")]
    pub timeout_ms: u64,
}

/// `[mail] tls`: how the connection to the relay is protected.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain text (port 25 by default): only for a relay on the same host or network.
    None,
    /// Plain text upgraded to TLS with STARTTLS before anything is sent (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl MailConfig {
    /// The default of `timeout_ms`: 20 seconds.
    pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

    fn default_timeout_ms() -> u64 {
        Self::DEFAULT_TIMEOUT_MS
    }

    /// The port of the relay: `port`, else the usual port of the TLS mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            MailTls::None => 25,
            MailTls::Starttls => 587,
            MailTls::Tls => 465,
        })
    }
}

/// `[submissions]` in `ccis.toml`: proposals of initiatives by project
/// holders, kept private in `submissions/` until the operator accepts them
/// (docs/12-validation.md, "Submissions").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SubmissionsConfig {
    /// Whether `/submit` and `/api/submissions` take proposals (default true).
    pub enabled: bool,
    /// Largest submission body, in bytes (default 64 KiB); more is refused with 413.
    pub max_bytes: usize,
    /// Submissions one client (IP address) may send per hour (default 10);
    /// more are refused with 429 and `Retry-After`.
    pub per_client_per_hour: u32,
    /// Days after which a submission not accepted is deleted (default 90);
    /// checked when submissions are listed or accepted and when `ccis serve` starts.
    pub expire_days: u64,
}

impl Default for SubmissionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 64 * 1024,
            per_client_per_hour: 10,
            expire_days: 90,
        }
    }
}

impl SubmissionsConfig {
    /// Whether every setting has its default (then `ccis.toml` leaves the section out).
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
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

/// Why a node's configuration cannot be read, written or used; each variant
/// names the file or the field, and what to do where there is something to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `ccis.toml` cannot be read.
    #[error("cannot read {} (is {} a node directory? create one with `ccis init`): {source}", path.display(), dir.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The directory given as a node directory.
        dir: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// `ccis.toml` is not TOML or not its fields (the message names the line).
    #[error("invalid {}: {source}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        source: toml::de::Error,
    },
    /// A field of `ccis.toml` has a value it cannot have.
    #[error("invalid {}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Which field and why.
        source: Box<ConfigError>,
    },
    /// `ccis.toml` cannot be written; the file as it was is kept.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The configuration cannot be written as TOML (a defect).
    #[error("cannot write the configuration as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// The node id or base URL is not acceptable.
    #[error(transparent)]
    Id(#[from] ccis_model::ids::IdError),
    /// The country is not an EU member state.
    #[error("country {0:?} is not the ISO 3166-1 alpha-2 code of an EU member state")]
    Country(String),
    /// A key's `public_key` that is not an Ed25519 Multikey.
    #[error("keys: {0}")]
    Key(#[from] keys::KeyError),
    /// A page size out of bounds.
    #[error("server.page_size {0} must be between 1 and 10000")]
    PageSize(u64),
    /// An API token hash that is not SHA-256 hex.
    #[error("server.api_token_sha256 must be 64 hex digits (create one with `ccis token`)")]
    TokenHash,
    /// Every key is revoked.
    #[error("the node has no usable key (all revoked); add one with `ccis key rotate`")]
    NoUsableKey,
    /// `listen` is not a socket address.
    #[error("listen {0:?} is not an address like 127.0.0.1:8080")]
    Listen(String),
    /// The operating system gave no random bytes.
    #[error("no random source for a new API token: {0}")]
    NoRandomness(String),
    /// A `[mail]` setting that cannot be used.
    #[error("mail: {0}")]
    Mail(String),
}

/// A new random API token (64 hex digits) and the SHA-256 hex to keep in `ccis.toml`.
pub fn new_api_token() -> Result<(String, String), ConfigError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConfigError::NoRandomness(e.to_string()))?;
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
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            dir: dir.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Syntax {
            path: path.clone(),
            source,
        })?;
        config.check().map_err(|e| ConfigError::Invalid {
            path,
            source: Box::new(e),
        })?;
        Ok(config)
    }

    /// Writes `ccis.toml` atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)?;
        let path = dir.join(CONFIG_FILE);
        crate::atomic_file::write_atomic(&path, text.as_bytes())
            .map_err(|source| ConfigError::Write { path, source })
    }

    /// Checks id, country and base URL.
    pub fn check(&self) -> Result<(), ConfigError> {
        check_node_id(&self.id)?;
        if vocab::country_iri(&self.country).is_none() || self.country.len() != 2 {
            return Err(ConfigError::Country(self.country.clone()));
        }
        check_base_url(&self.base_url)?;
        for key in &self.keys {
            keys::parse_public_multikey(&key.public_key)?;
        }
        if self.server.page_size == 0 || self.server.page_size > 10_000 {
            return Err(ConfigError::PageSize(self.server.page_size));
        }
        if let Some(h) = &self.server.api_token_sha256
            && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ConfigError::TokenHash);
        }
        if let Some(mail) = &self.mail {
            crate::mail::check(mail).map_err(|e| ConfigError::Mail(e.to_string()))?;
        }
        Ok(())
    }

    /// The node's country as an EU authority-table IRI.
    pub fn country_iri(&self) -> String {
        vocab::country_iri(&self.country).unwrap_or_default()
    }

    /// The key that signs new records.
    pub fn active_key(&self) -> Result<&KeyConfig, ConfigError> {
        self.keys
            .iter()
            .rev()
            .find(|k| !k.revoked)
            .ok_or(ConfigError::NoUsableKey)
    }

    /// The address to listen on.
    pub fn listen_address(&self) -> Result<std::net::SocketAddr, ConfigError> {
        if let Some(listen) = &self.listen {
            return listen
                .parse()
                .map_err(|_| ConfigError::Listen(listen.clone()));
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

    /// The search index directory.
    pub fn index(&self) -> PathBuf {
        self.root.join(ccis_search::INDEX_DIR)
    }

    /// The directory of pending submissions, one JSON file each.
    pub fn submissions(&self) -> PathBuf {
        self.root.join(SUBMISSIONS_DIR)
    }
}
