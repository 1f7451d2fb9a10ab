//! Viewed marks: which files the user has looked through, kept across restarts.
//!
//! A mark is stored with the fingerprint of the file's hunks (a SHA-256 over its hunk ids,
//! which are content hashes), so a file whose hunks change loses its mark: the mark only counts
//! while the fingerprint matches the diff on screen.
//!
//! The marks live in `<task>/workbench.json` (`{"viewed": {"<path>": "<fingerprint>"}}`), a file
//! the workbench owns; the review engine's state.json is not touched. Invariants: the file is
//! replaced whole through an atomic write; a file that cannot be read (missing, corrupt, a
//! symlink, over [`MAX_BYTES`]) counts as no marks, never as an error that stops the workbench —
//! it is untrusted input from the task directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::task::TaskDir;
use crate::task::fsio::{self, WriteError};

/// The marks file's name inside the task directory.
pub const FILE: &str = "workbench.json";

/// Largest marks file read, in bytes.
pub const MAX_BYTES: u64 = 1 << 20;

/// The fingerprint of a file's hunks: hex SHA-256 of its hunk ids in diff order, 16 digits.
pub fn fingerprint<'a>(hunk_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for id in hunk_ids {
        h.update(id.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())[..16].to_owned()
}

/// Viewed marks: file path → fingerprint of its hunks when it was marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewedMarks {
    /// Marked files.
    #[serde(default)]
    pub viewed: BTreeMap<String, String>,
}

/// Why the marks could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MarksError {
    /// Not a regular file (a symlink or a directory), or too large.
    #[error("{0}: not a regular file under 1 MiB; viewed marks start empty")]
    NotRegular(PathBuf),
    /// Unreadable or not the expected JSON.
    #[error("{path}: {message}; viewed marks start empty (delete the file to silence this)")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ViewedMarks {
    /// The marks file of `task`.
    pub fn path(task: &TaskDir) -> PathBuf {
        task.root().join(FILE)
    }

    /// Whether `path` is marked with the fingerprint `fp` (its hunks as they are now).
    pub fn is_viewed(&self, path: &str, fp: &str) -> bool {
        self.viewed.get(path).is_some_and(|f| f == fp)
    }

    /// Marks `path` viewed at `fp`, or unmarks it if it was; returns whether it is viewed now.
    pub fn toggle(&mut self, path: &str, fp: &str) -> bool {
        if self.is_viewed(path, fp) {
            self.viewed.remove(path);
            false
        } else {
            self.viewed.insert(path.to_owned(), fp.to_owned());
            true
        }
    }

    /// Drops the mark of `path` unless it was made at `fp`; returns whether a mark was dropped.
    pub fn keep_if_current(&mut self, path: &str, fp: &str) -> bool {
        if self.viewed.get(path).is_some_and(|f| f != fp) {
            self.viewed.remove(path);
            return true;
        }
        false
    }

    /// Reads the marks of `task` (no file: no marks).
    ///
    /// # Errors
    /// [`MarksError`] when the file exists but is not a regular file under [`MAX_BYTES`] or not
    /// the expected JSON.
    pub fn load(task: &TaskDir) -> Result<Self, MarksError> {
        Self::load_from(&Self::path(task))
    }

    fn load_from(path: &Path) -> Result<Self, MarksError> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(MarksError::Bad { path: path.to_path_buf(), message: e.to_string() }),
        };
        if !meta.is_file() || meta.len() > MAX_BYTES {
            return Err(MarksError::NotRegular(path.to_path_buf()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| MarksError::Bad { path: path.to_path_buf(), message: e.to_string() })?;
        serde_json::from_str(&text).map_err(|e| MarksError::Bad { path: path.to_path_buf(), message: e.to_string() })
    }

    /// Writes the marks of `task` atomically.
    ///
    /// # Errors
    /// [`WriteError`] naming the file.
    pub fn save(&self, task: &TaskDir) -> Result<(), WriteError> {
        fsio::write_json_atomic(&Self::path(task), self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_counts_only_while_the_hunks_are_the_same() {
        let fp1 = fingerprint(["aaaa", "bbbb"]);
        let fp2 = fingerprint(["aaaa", "cccc"]);
        assert_ne!(fp1, fp2);
        let mut m = ViewedMarks::default();
        assert!(m.toggle("a.py", &fp1));
        assert!(m.is_viewed("a.py", &fp1));
        assert!(!m.is_viewed("a.py", &fp2));
        assert!(!m.keep_if_current("a.py", &fp1));
        assert!(m.keep_if_current("a.py", &fp2));
        assert!(m.viewed.is_empty());
        assert!(m.toggle("a.py", &fp2));
        assert!(!m.toggle("a.py", &fp2));
    }

    #[test]
    fn survives_a_save_and_load_and_ignores_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let task = TaskDir::new(dir.path());
        assert_eq!(ViewedMarks::load(&task).unwrap(), ViewedMarks::default());
        let mut m = ViewedMarks::default();
        m.toggle("pkg/models.py", &fingerprint(["x"]));
        m.save(&task).unwrap();
        assert_eq!(ViewedMarks::load(&task).unwrap(), m);
        std::fs::write(ViewedMarks::path(&task), "{not json").unwrap();
        let e = ViewedMarks::load(&task).unwrap_err().to_string();
        assert!(e.contains("workbench.json") && e.contains("start empty"), "{e}");
        std::fs::remove_file(ViewedMarks::path(&task)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", ViewedMarks::path(&task)).unwrap();
        assert!(matches!(ViewedMarks::load(&task), Err(MarksError::NotRegular(_))));
    }
}
