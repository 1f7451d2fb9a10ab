//! Working-tree file operations for accept and undo, all through [`SafeDir`].
//!
//! Invariants: a file is replaced by temp file + rename with its mode set exactly (never
//! through a symlink, never under `.git/`); a deletion also removes the parent directories it
//! leaves empty (as `git apply` does), never the repo root; stale temp files that a killed write
//! left next to a target are removable by name ([`fsio::TEMP_PREFIX`]).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::codegen::diff::git_blob_id;
use crate::task::fsio::{self, SafeDir, WriteError};
use crate::task::relpath::RelPath;

/// A file's content and Unix permission bits (`0o644` style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Bytes.
    pub bytes: Vec<u8>,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
}

impl Content {
    /// The git blob id of the bytes.
    pub fn blob(&self) -> String {
        git_blob_id(&self.bytes)
    }
}

/// Reads `rel` under `tree` (`None` when absent), refusing symlinks.
///
/// # Errors
/// [`WriteError`] for a symlinked component, a directory, or I/O failure.
pub fn read(tree: &SafeDir, rel: &RelPath) -> Result<Option<Content>, WriteError> {
    let Some(bytes) = tree.read(rel)? else { return Ok(None) };
    let path = rel.join_to(tree.root());
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|source| WriteError::Io { path, source })?;
    Ok(Some(Content { bytes, mode }))
}

/// Makes `rel` hold `content` (`None`: absent), atomically.
///
/// # Errors
/// [`WriteError`]; the file is then unchanged.
pub fn put(tree: &SafeDir, rel: &RelPath, content: Option<&Content>) -> Result<(), WriteError> {
    match content {
        Some(c) => tree.write(rel, &c.bytes, Some(c.mode)).map(|_| ()),
        None => {
            tree.remove(rel)?;
            prune_empty_parents(tree.root(), rel);
            Ok(())
        }
    }
}

/// Removes the directories above `rel` that are now empty, innermost first, stopping at the
/// first that is not empty (or not a plain directory) and never removing `root`.
pub fn prune_empty_parents(root: &Path, rel: &RelPath) {
    let segs: Vec<&str> = rel.segments().collect();
    for depth in (1..segs.len()).rev() {
        let mut dir = root.to_path_buf();
        dir.extend(&segs[..depth]);
        // remove_dir refuses non-empty directories and symlinks (ENOTDIR): both end the walk.
        if std::fs::remove_dir(&dir).is_err() {
            break;
        }
    }
}

/// Removes temp files a killed write may have left in the directory of `rel` (see
/// [`fsio::TEMP_PREFIX`]); returns how many. A directory reached through a symlink is skipped.
pub fn clean_temp_files(tree: &SafeDir, rel: &RelPath) -> usize {
    let segs: Vec<&str> = rel.segments().collect();
    let mut dir = tree.root().to_path_buf();
    for seg in &segs[..segs.len() - 1] {
        dir.push(seg);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            _ => return 0,
        }
    }
    clean_temp_in(&dir)
}

/// Removes the regular files named [`fsio::TEMP_PREFIX`]`*` directly in `dir`; returns how many.
pub fn clean_temp_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in entries.flatten() {
        let stale = e.file_name().to_str().is_some_and(|s| s.starts_with(fsio::TEMP_PREFIX))
            && e.file_type().is_ok_and(|t| t.is_file());
        if stale && std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}
