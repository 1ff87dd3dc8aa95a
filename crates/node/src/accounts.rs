//! Operator accounts for the validators' pages (`accounts.toml` in the node
//! directory, never served): a name, a role and an Argon2id hash of the
//! password. `ccis account add | list | remove` edits the file; the server
//! reads it at every login and every page, so an account removed is out at
//! once, sessions included.
//!
//! The file is replaced atomically; a password is never stored nor logged,
//! only its PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`, the OWASP
//! parameters).

use crate::atomic_file::write_atomic;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// File name of the accounts in a node directory.
pub const ACCOUNTS_FILE: &str = "accounts.toml";
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (Argon2 hashes any length; this bounds the work
/// a login form can ask for).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What an operator may do on the validators' pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    /// Everything: decide, edit, read the audit log.
    Admin,
    /// Review and decide on initiatives.
    Validator,
    /// Read the queue; create and edit initiatives (never decide).
    Editor,
}

impl AccountRole {
    /// Every role.
    pub const ALL: [AccountRole; 3] = [Self::Admin, Self::Validator, Self::Editor];

    /// Its name as written in `accounts.toml` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Validator => "validator",
            Self::Editor => "editor",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether it may sign validation decisions.
    pub fn can_decide(self) -> bool {
        matches!(self, Self::Admin | Self::Validator)
    }

    /// Whether it may create initiatives.
    pub fn can_edit(self) -> bool {
        matches!(self, Self::Admin | Self::Editor)
    }
}

/// One operator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The operator's name: the one the audit log and the four-eyes rule use.
    pub name: String,
    /// What they may do.
    pub role: AccountRole,
    /// The PHC string of their password's Argon2id hash.
    pub password_hash: String,
    /// When the account was added (RFC 3339).
    pub created: String,
}

/// `accounts.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// The accounts, by name.
    #[serde(default, rename = "account")]
    pub accounts: Vec<Account>,
}

/// Why an account cannot be added, removed, read or checked.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{} is not a valid accounts file: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// A name that cannot be an operator's.
    #[error(
        "{0:?} is not an operator name: 1 to 64 characters among letters, digits, '.', '-' and '_'"
    )]
    BadName(String),
    /// The name is taken.
    #[error("there is already an account {0:?} (remove it first with `ccis account remove`)")]
    Exists(String),
    /// No such account.
    #[error("no account {0:?} (see `ccis account list`)")]
    Unknown(String),
    /// A password too short or too long.
    #[error("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters")]
    BadPassword,
    /// Hashing failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// The accounts of a node directory.
#[derive(Debug, Clone)]
pub struct AccountFile {
    path: PathBuf,
}

fn hasher() -> Result<Argon2<'static>, AccountError> {
    // OWASP's first recommended set: 19 MiB, two passes, one lane.
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A hash to check against when the name is unknown, so that a login takes
/// as long for a name that does not exist as for a wrong password.
fn decoy_hash() -> Option<&'static str> {
    static DECOY: OnceLock<Option<String>> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_password("not the password of anyone").ok())
        .as_deref()
}

/// The Argon2id PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .to_string())
}

fn password_matches(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Whether `name` can be an operator's name.
pub fn is_operator_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl AccountFile {
    /// The accounts of the node directory `dir`.
    pub fn of(dir: &Path) -> Self {
        Self {
            path: dir.join(ACCOUNTS_FILE),
        }
    }

    /// The accounts (none when the file does not exist).
    pub fn load(&self) -> Result<Accounts, AccountError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Accounts::default()),
            Err(source) => {
                return Err(AccountError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| AccountError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    fn save(&self, accounts: &Accounts) -> Result<(), AccountError> {
        let text = toml::to_string(accounts).map_err(|e| AccountError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let text = format!(
            "# Operator accounts of the validators' pages: edit with `ccis account`.\n# Private: never served, never published.\n\n{text}"
        );
        write_atomic(&self.path, text.as_bytes()).map_err(|source| AccountError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Adds an account; `created` is the time to record (RFC 3339).
    pub fn add(
        &self,
        name: &str,
        role: AccountRole,
        password: &str,
        created: &str,
    ) -> Result<Account, AccountError> {
        if !is_operator_name(name) {
            return Err(AccountError::BadName(name.to_owned()));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountError::BadPassword);
        }
        let mut accounts = self.load()?;
        if accounts.find(name).is_some() {
            return Err(AccountError::Exists(name.to_owned()));
        }
        let account = Account {
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
            created: created.to_owned(),
        };
        accounts.accounts.push(account.clone());
        self.save(&accounts)?;
        Ok(account)
    }

    /// Removes an account.
    pub fn remove(&self, name: &str) -> Result<Account, AccountError> {
        let mut accounts = self.load()?;
        let at = accounts
            .accounts
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| AccountError::Unknown(name.to_owned()))?;
        let removed = accounts.accounts.remove(at);
        self.save(&accounts)?;
        Ok(removed)
    }

    /// The account `name` if `password` is its password; `None` otherwise
    /// (unknown name or wrong password alike, in about the same time).
    pub fn check(&self, name: &str, password: &str) -> Result<Option<Account>, AccountError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let accounts = self.load()?;
        match accounts.find(name) {
            Some(account) if password_matches(password, &account.password_hash) => {
                Ok(Some(account.clone()))
            }
            Some(_) => Ok(None),
            None => {
                if let Some(decoy) = decoy_hash() {
                    let _ = password_matches(password, decoy);
                }
                Ok(None)
            }
        }
    }
}

impl Accounts {
    /// The account `name` (names compare without case).
    pub fn find(&self, name: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_accounts_log_in_with_their_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccountFile::of(dir.path());
        let added = file
            .add(
                "marie",
                AccountRole::Validator,
                "correct horse battery",
                "2026-12-02T00:00:00Z",
            )
            .unwrap();
        assert!(
            added
                .password_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        let text = std::fs::read_to_string(dir.path().join(ACCOUNTS_FILE)).unwrap();
        assert!(!text.contains("correct horse"), "{text}");
        assert_eq!(
            file.check("marie", "correct horse battery")
                .unwrap()
                .map(|a| a.role),
            Some(AccountRole::Validator)
        );
        assert!(
            file.check("MARIE", "correct horse battery")
                .unwrap()
                .is_some()
        );
        assert!(
            file.check("marie", "correct horse batterY")
                .unwrap()
                .is_none()
        );
        assert!(
            file.check("paul", "correct horse battery")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            file.add("Marie", AccountRole::Editor, "another long password", ""),
            Err(AccountError::Exists(_))
        ));
        file.remove("marie").unwrap();
        assert!(
            file.check("marie", "correct horse battery")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            file.remove("marie"),
            Err(AccountError::Unknown(_))
        ));
    }

    #[test]
    fn names_and_passwords_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccountFile::of(dir.path());
        for bad in ["", "a b", "é", "x/y", &"n".repeat(65)] {
            assert!(
                matches!(
                    file.add(bad, AccountRole::Admin, "long enough password", ""),
                    Err(AccountError::BadName(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            file.add("short", AccountRole::Admin, "too short", ""),
            Err(AccountError::BadPassword)
        ));
        assert!(matches!(
            file.add(
                "long",
                AccountRole::Admin,
                &"x".repeat(MAX_PASSWORD_BYTES + 1),
                ""
            ),
            Err(AccountError::BadPassword)
        ));
        std::fs::write(dir.path().join(ACCOUNTS_FILE), "[[account]]\nname = 3\n").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(
            err.contains("accounts.toml") && err.contains("line"),
            "{err}"
        );
    }
}
