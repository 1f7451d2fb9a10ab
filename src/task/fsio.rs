//! Atomic, path-checked file writes.
//!
//! Invariants, for every write that goes through a [`SafeDir`]:
//! - the target is a [`RelPath`] under the root (never absolute, never `..`, never `.git/`);
//! - no existing component between the root and the target is a symlink, so a write can never
//!   be redirected out of the root, and the target itself is never written through a symlink;
//! - the bytes go to a temp file in the target's own directory, are flushed to disk, and are
//!   renamed over the target: a reader (or a crash) sees the old file or the new one, never a mix.
//!
//! Plain helpers [`write_atomic`] and [`write_json_atomic`] serve files ai-tools owns outright
//! (state.json, run logs) whose paths are built by the program, not taken from model output.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::task::relpath::RelPath;

/// A failed safe write.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A component on the way to the target is a symlink.
    #[error("refusing to write `{path}`: `{component}` is a symlink, and writes never follow symlinks")]
    Symlink {
        /// The repo-relative target.
        path: String,
        /// The offending component, relative to the root.
        component: String,
    },
    /// A component on the way to the target exists but is not a directory.
    #[error("refusing to write `{path}`: `{component}` exists and is not a directory")]
    NotADirectory {
        /// The repo-relative target.
        path: String,
        /// The offending component, relative to the root.
        component: String,
    },
    /// The target exists and is a directory.
    #[error("refusing to write `{0}`: it is a directory")]
    IsDirectory(String),
    /// An I/O error, with the absolute path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// Where it happened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// The name prefix of the temp files atomic writes create next to their targets; a file with
/// this prefix that outlives its writer (a killed process) is garbage.
pub const TEMP_PREFIX: &str = ".ai-tools-tmp-";

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

/// A directory that only accepts checked, atomic writes beneath it (see the module invariants).
#[derive(Debug, Clone)]
pub struct SafeDir {
    root: PathBuf,
}

impl SafeDir {
    /// A safe writer rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks every existing component between the root and `rel`'s parent, creating missing
    /// directories when `create` is set. Returns the target's absolute path.
    fn prepare(&self, rel: &RelPath, create: bool) -> Result<PathBuf, WriteError> {
        let segs: Vec<&str> = rel.segments().collect();
        let mut cur = self.root.clone();
        let mut shown = String::new();
        for seg in &segs[..segs.len() - 1] {
            cur.push(seg);
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(seg);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(WriteError::Symlink { path: rel.to_string(), component: shown });
                }
                Ok(m) if !m.is_dir() => {
                    return Err(WriteError::NotADirectory { path: rel.to_string(), component: shown });
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    fs::create_dir(&cur)
                        .or_else(|e| if e.kind() == io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
                        .map_err(io_err(&cur))?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(rel.join_to(&self.root)),
                Err(e) => return Err(WriteError::Io { path: cur, source: e }),
            }
        }
        let target = rel.join_to(&self.root);
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                Err(WriteError::Symlink { path: rel.to_string(), component: rel.to_string() })
            }
            Ok(m) if m.is_dir() => Err(WriteError::IsDirectory(rel.to_string())),
            _ => Ok(target),
        }
    }

    /// Writes `bytes` to `rel` atomically, creating parent directories. An existing file keeps
    /// its permission bits unless `mode` is given (a Unix mode such as `0o755`); a new file gets
    /// `mode` or `0o644`.
    ///
    /// # Errors
    /// [`WriteError`] when a component is a symlink or not a directory, or on I/O failure; the
    /// target is then unchanged.
    pub fn write(&self, rel: &RelPath, bytes: &[u8], mode: Option<u32>) -> Result<PathBuf, WriteError> {
        fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let target = self.prepare(rel, true)?;
        let keep = fs::metadata(&target).ok().map(|m| m.permissions().mode() & 0o7777);
        let mode = mode.or(keep).unwrap_or(0o644);
        write_atomic_mode(&target, bytes, mode)?;
        Ok(target)
    }

    /// Removes `rel` if it exists (a missing file is not an error). Never follows a symlink:
    /// a symlinked component is refused.
    ///
    /// # Errors
    /// [`WriteError`] on a symlinked component or I/O failure.
    pub fn remove(&self, rel: &RelPath) -> Result<(), WriteError> {
        let target = self.prepare(rel, false)?;
        match fs::remove_file(&target) {
            Ok(()) => {
                sync_parent(&target);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(WriteError::Io { path: target, source: e }),
        }
    }

    /// Reads `rel` if it exists as a regular file (`Ok(None)` when missing). Refuses to read
    /// through a symlinked component.
    ///
    /// # Errors
    /// [`WriteError`] on a symlinked component, a directory, or I/O failure.
    pub fn read(&self, rel: &RelPath) -> Result<Option<Vec<u8>>, WriteError> {
        let target = self.prepare(rel, false)?;
        match fs::read(&target) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(WriteError::Io { path: target, source: e }),
        }
    }
}

/// `rel` (a `/`-separated relative path) joined onto `root` after checking that no existing
/// component from `root`'s first child down to `rel` itself is a symlink, and that every
/// existing component above the last is a directory (a missing component ends the walk: nothing
/// below it exists). `root` itself is not checked. The one check every path built under a task
/// dir goes through (see [`crate::task::TaskDir::checked`]).
///
/// # Errors
/// [`WriteError::Symlink`] or [`WriteError::NotADirectory`] naming the component;
/// [`WriteError::Io`] (`InvalidInput`) when `rel` is empty, absolute or has an empty, `.` or
/// `..` segment; [`WriteError::Io`] when a component cannot be inspected.
pub fn resolve_no_follow(root: &Path, rel: &str) -> Result<PathBuf, WriteError> {
    let segs: Vec<&str> = rel.split('/').collect();
    if rel.is_empty() || rel.contains('\0') || segs.iter().any(|s| matches!(*s, "" | "." | "..")) {
        return Err(WriteError::Io {
            path: root.join(rel),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a plain relative path"),
        });
    }
    let mut cur = root.to_path_buf();
    for (k, seg) in segs.iter().enumerate() {
        cur.push(seg);
        let shown = || segs[..=k].join("/");
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(WriteError::Symlink { path: rel.to_owned(), component: shown() });
            }
            Ok(m) if k + 1 < segs.len() && !m.is_dir() => {
                return Err(WriteError::NotADirectory { path: rel.to_owned(), component: shown() });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(WriteError::Io { path: cur, source: e }),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&segs);
    Ok(out)
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename, fsync
/// of the directory) with permission bits `mode`.
///
/// # Errors
/// [`WriteError::Io`] naming the path; the old file, if any, is left as it was.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).map_err(io_err(path))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    tmp.as_file().set_permissions(fs::Permissions::from_mode(mode)).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| WriteError::Io { path: path.to_path_buf(), source: e.error })?;
    sync_parent(path);
    Ok(())
}

/// [`write_atomic_mode`] with mode `0o644`, creating the parent directory.
///
/// # Errors
/// As [`write_atomic_mode`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    write_atomic_mode(path, bytes, 0o644)
}

/// Serializes `value` as pretty JSON (with a final newline) and writes it atomically.
///
/// # Errors
/// As [`write_atomic`]; serialization of the crate's own types does not fail.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let mut text = serde_json::to_vec_pretty(value)
        .map_err(|e| WriteError::Io { path: path.to_path_buf(), source: io::Error::other(e) })?;
    text.push(b'\n');
    write_atomic(path, &text)
}

fn sync_parent(path: &Path) {
    // Durability of the rename itself; best effort (some filesystems refuse to fsync a dir).
    if let Some(dir) = path.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn rp(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn writes_create_parents_and_replace_atomically() {
        let t = tempfile::tempdir().unwrap();
        let d = SafeDir::new(t.path().join("files"));
        d.write(&rp("a/b/c.txt"), b"one", None).unwrap();
        d.write(&rp("a/b/c.txt"), b"two", None).unwrap();
        assert_eq!(fs::read(t.path().join("files/a/b/c.txt")).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(t.path().join("files/a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn keeps_existing_mode_and_sets_requested_mode() {
        let t = tempfile::tempdir().unwrap();
        let d = SafeDir::new(t.path());
        d.write(&rp("run.sh"), b"#!/bin/sh\n", Some(0o755)).unwrap();
        d.write(&rp("run.sh"), b"#!/bin/sh\necho\n", None).unwrap();
        let mode = fs::metadata(t.path().join("run.sh")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }

    #[test]
    fn refuses_symlinked_parents_and_targets() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        fs::create_dir(&root).unwrap();
        symlink(outside.path(), root.join("link")).unwrap();
        let d = SafeDir::new(&root);
        let err = d.write(&rp("link/evil.txt"), b"x", None).unwrap_err();
        assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
        assert!(!outside.path().join("evil.txt").exists());

        fs::write(outside.path().join("target.txt"), b"keep").unwrap();
        symlink(outside.path().join("target.txt"), root.join("t.txt")).unwrap();
        let err = d.write(&rp("t.txt"), b"x", None).unwrap_err();
        assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
        assert_eq!(fs::read(outside.path().join("target.txt")).unwrap(), b"keep");
        assert!(d.remove(&rp("link/target.txt")).is_err());
    }

    #[test]
    fn remove_is_idempotent() {
        let t = tempfile::tempdir().unwrap();
        let d = SafeDir::new(t.path());
        d.write(&rp("x/y.txt"), b"1", None).unwrap();
        d.remove(&rp("x/y.txt")).unwrap();
        d.remove(&rp("x/y.txt")).unwrap();
        assert!(d.read(&rp("x/y.txt")).unwrap().is_none());
    }
}
