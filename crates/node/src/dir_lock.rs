//! One writer per node directory: `ccis.lock` says which command holds it.
//!
//! A command that writes the store (`serve`, `publish`, `harvest`…) takes an
//! exclusive lock on `DIR/ccis.lock` and writes there who it is. A second
//! writer gets one clear line naming the holder and what to do instead of
//! the store's own lock error. The lock is the operating system's (`flock`),
//! so it ends with the process that holds it, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file in a node directory.
pub const LOCK_FILE: &str = "ccis.lock";

/// Why a node directory cannot be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process writes to the node.
    #[error(
        "node directory {dir} is in use by {holder}; stop it first, or while `ccis serve` runs \
         publish and withdraw through its operator API (/api/records) and read with \
         `ccis status`, `ccis query` or `ccis export`, which do not need the lock"
    )]
    Held {
        /// The node directory.
        dir: PathBuf,
        /// Who holds it, as it wrote in the lock file.
        holder: String,
    },
    /// The lock file cannot be opened or written.
    #[error("cannot lock node directory {dir} ({path}): {source}")]
    Io {
        /// The node directory.
        dir: PathBuf,
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// An exclusive lock on a node directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` for `command` (e.g. "`ccis serve`"), or says who holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            dir: dir.to_owned(),
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    holder: if holder.is_empty() {
                        "another ccis process".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let now = time::OffsetDateTime::now_utc();
        let since = now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let who = format!("{command} (pid {}, since {since})", std::process::id());
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(who.as_bytes()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_told_who_holds_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::acquire(dir.path(), "`ccis serve`").unwrap();
        let err = DirLock::acquire(dir.path(), "`ccis publish`").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("in use by `ccis serve` (pid "), "{text}");
        drop(held);
        DirLock::acquire(dir.path(), "`ccis publish`").unwrap();
    }
}
