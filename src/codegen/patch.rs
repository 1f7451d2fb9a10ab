//! The diff stage: derive `code/diff.patch` from `code/files/` + the manifest against the
//! working tree, and record the base the diff was made against.
//!
//! Invariants: diff.patch is always derived, never edited; a target missing from the tree
//! diffs against nothing; a `delete` diffs to a deletion; the base records each target's blob
//! id, size and mode as read for this diff, so later steps detect drift. [`write`] also keeps
//! the bytes of every base that diff.patch changes under `code/base/<blob id>` (written before
//! diff.patch, pruned after it), so accepting onto a file edited since the diff can merge with
//! its base (see [`crate::review`]).
//!
//! The task dir is untrusted: every path under it goes through [`TaskDir::checked`], and
//! pruning `code/base/` deletes only blobs it can prove it wrote (see [`prune_bases`]).

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;

use crate::codegen::diff::{self, Backend, DiffError, FileInput, FileStat};
use crate::codegen::materialize::Manifest;
use crate::plan::Action;
use crate::task::fsio::{self, SafeDir, WriteError};
use crate::task::relpath::RelPath;
use crate::task::state::BaseEntry;
use crate::task::{TaskDir, ids};

/// A derived patch.
#[derive(Debug, Clone)]
pub struct Derived {
    /// diff.patch's bytes.
    pub patch: Vec<u8>,
    /// Per-file numbers, sorted by path.
    pub stats: Vec<FileStat>,
    /// The working-tree state the diff was made against, by path.
    pub base: BTreeMap<String, BaseEntry>,
}

/// Why the diff could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// No manifest: nothing was materialized.
    #[error("code/manifest.json is missing: nothing has been materialized yet; run codegen first")]
    NoManifest,
    /// A read or write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A file cannot be diffed as text.
    #[error(transparent)]
    Diff(#[from] DiffError),
}

/// Reads a working-tree file's bytes and mode (`None` when absent), refusing symlinks.
///
/// # Errors
/// [`WriteError`] for a symlinked path or I/O failure.
pub fn read_tree_file(repo: &SafeDir, path: &RelPath) -> Result<Option<(Vec<u8>, u32)>, WriteError> {
    let Some(bytes) = repo.read(path)? else { return Ok(None) };
    let mode = std::fs::metadata(path.join_to(repo.root())).map(|m| m.permissions().mode()).unwrap_or(0o644);
    Ok(Some((bytes, mode)))
}

/// The base entry for a working-tree file.
pub fn base_entry(file: Option<&(Vec<u8>, u32)>) -> BaseEntry {
    match file {
        Some((b, mode)) => {
            BaseEntry { blob: Some(diff::git_blob_id(b)), size: Some(b.len() as u64), mode: Some(*mode & 0o777) }
        }
        None => BaseEntry::default(),
    }
}

/// Derives the patch for the task's manifest against `repo` (see the module invariants).
///
/// # Errors
/// [`PatchError`].
pub fn derive(task: &TaskDir, repo: &std::path::Path, backend: Backend) -> Result<Derived, PatchError> {
    derive_with_bases(task, repo, backend).map(|(d, _)| d)
}

/// [`derive`], plus the bytes of the base of every file the patch changes.
///
/// # Errors
/// As [`derive`].
pub fn derive_with_bases(
    task: &TaskDir,
    repo: &std::path::Path,
    backend: Backend,
) -> Result<(Derived, Vec<Vec<u8>>), PatchError> {
    let manifest = Manifest::load(task).ok_or(PatchError::NoManifest)?;
    let tree = SafeDir::new(repo);
    let files = task.safe_dir("code/files").map_err(WriteError::from)?;
    let mut sides: Vec<(RelPath, Option<(Vec<u8>, u32)>, Option<(Vec<u8>, u32)>)> = Vec::new();
    let mut base = BTreeMap::new();
    for e in &manifest.files {
        let old = read_tree_file(&tree, &e.path)?;
        base.insert(e.path.to_string(), base_entry(old.as_ref()));
        let new = match e.action {
            Action::Delete => None,
            _ => read_tree_file(&files, &e.path)?,
        };
        sides.push((e.path.clone(), old, new));
    }
    let mut inputs: Vec<FileInput<'_>> = sides
        .iter()
        .map(|(p, old, new)| FileInput {
            path: p,
            old: old.as_ref().map(|(b, _)| b.as_slice()),
            new: new.as_ref().map(|(b, _)| b.as_slice()),
            old_mode: old.as_ref().map_or(0o644, |(_, m)| *m),
            new_mode: new.as_ref().map_or(0o644, |(_, m)| *m),
        })
        .collect();
    let (patch, stats) = diff::unified_diff(&mut inputs, backend)?;
    let changed: HashSet<&RelPath> = stats.iter().map(|s| &s.path).collect();
    let bases = sides
        .iter()
        .filter(|(p, _, _)| changed.contains(p))
        .filter_map(|(_, old, _)| old.clone().map(|(b, _)| b))
        .collect();
    Ok((Derived { patch, stats, base }, bases))
}

/// Derives the patch and writes `code/diff.patch` atomically.
///
/// # Errors
/// [`PatchError`].
pub fn write(task: &TaskDir, repo: &std::path::Path, backend: Backend) -> Result<Derived, PatchError> {
    let (d, bases) = derive_with_bases(task, repo, backend)?;
    let keep = store_bases(task, &bases)?;
    fsio::write_atomic(&task.checked("code/diff.patch").map_err(WriteError::from)?, &d.patch)?;
    prune_bases(task, &keep);
    Ok(d)
}

/// Keeps `bases` under `code/base/<blob id>` (a blob already there is not rewritten); returns
/// their ids.
///
/// # Errors
/// [`WriteError`] when a blob cannot be written, or `code/base` (or a blob in it) is a symlink.
pub fn store_bases(task: &TaskDir, bases: &[Vec<u8>]) -> Result<HashSet<String>, WriteError> {
    let mut ids = HashSet::new();
    for b in bases {
        let id = diff::git_blob_id(b);
        let path = task.checked(&format!("code/base/{id}"))?;
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            fsio::write_atomic(&path, b)?;
        }
        ids.insert(id);
    }
    Ok(ids)
}

/// Removes every kept base blob whose id is not in `keep` (best effort). Only entries this
/// module could have written are removed: regular files (never a symlink or a directory) whose
/// name is a blob id ([`ids::is_blob_id`]) and whose bytes hash to that id. Nothing is removed
/// when `code/base` itself is a symlink.
pub fn prune_bases(task: &TaskDir, keep: &HashSet<String>) {
    let Ok(dir) = task.checked("code/base") else { return };
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
        if keep.contains(&name) || !ids::is_blob_id(&name) || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if stored_base(task, &name).is_some() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The bytes of base blob `id` kept by [`write`] under `code/base/`, checked against the id;
/// `None` when it is not kept (or `id` is not a blob id, or the path holds a symlink).
pub fn stored_base(task: &TaskDir, id: &str) -> Option<Vec<u8>> {
    if !ids::is_blob_id(id) {
        return None;
    }
    let path = task.checked(&format!("code/base/{id}")).ok()?;
    let bytes = std::fs::read(path).ok()?;
    (diff::git_blob_id(&bytes) == id).then_some(bytes)
}
