//! The operator audit log: one JSON line per operator action
//! (`audit.jsonl` in the node directory), appended and synced before the
//! action is reported done. It is private to the node (never served) and is
//! what the four-eyes rule of the validation workflow reads: no operator
//! decides on an initiative they published or edited.
//!
//! A crash while a line is appended leaves at most that last line cut;
//! reading skips a line that does not parse.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// File name of the audit log in a node directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// One operator action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who: the operator's name as they gave it.
    pub operator: String,
    /// What: `publish`, `withdraw`, `decide`…
    pub action: String,
    /// The record acted on.
    pub record: String,
    /// The version it has after the action.
    pub version: u64,
    /// A short detail (a decision's outcome and level), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Why the audit log cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("audit log {}: {source}", path.display())]
pub struct AuditError {
    /// The log file.
    pub path: PathBuf,
    /// What the file system said.
    pub source: std::io::Error,
}

/// The audit log of a node directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The audit log of the node directory `dir`.
    pub fn of(dir: &Path) -> Self {
        Self {
            path: dir.join(AUDIT_FILE),
        }
    }

    /// Appends entries and syncs them to disk.
    pub fn append(&self, entries: &[AuditEntry]) -> Result<(), AuditError> {
        let err = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut text = String::new();
        for e in entries {
            let line = serde_json::to_string(e).map_err(|e| err(std::io::Error::other(e)))?;
            text.push_str(&line);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)
    }

    /// Every entry, oldest first (none if the log does not exist yet).
    pub fn entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AuditError {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|source| AuditError {
                path: self.path.clone(),
                source,
            })?;
            if let Ok(entry) = serde_json::from_str(&line) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// The entries about one record.
    pub fn about(&self, record: &str) -> Result<Vec<AuditEntry>, AuditError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.record == record)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(operator: &str, record: &str) -> AuditEntry {
        AuditEntry {
            at: "2026-12-01T10:00:00Z".into(),
            operator: operator.into(),
            action: "publish".into(),
            record: record.into(),
            version: 1,
            detail: String::new(),
        }
    }

    #[test]
    fn appends_reads_back_and_skips_a_cut_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::of(dir.path());
        assert!(log.entries().expect("empty").is_empty());
        log.append(&[entry("ana", "https://x/records/a")])
            .expect("append");
        log.append(&[entry("bo", "https://x/records/b")])
            .expect("append");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(AUDIT_FILE))
            .expect("open");
        f.write_all(b"{\"at\":\"2026-").expect("cut line");
        assert_eq!(log.entries().expect("read").len(), 2);
        let about = log.about("https://x/records/b").expect("about");
        assert_eq!(about, vec![entry("bo", "https://x/records/b")]);
    }
}
