//! The materialize stage: write generated content to `code/files/` and record the manifest.
//!
//! Invariants: `code/files/` holds exactly one file per `create`/`modify` target and none for a
//! `delete`; every write goes through [`SafeDir`] (atomic, path-checked, never through a
//! symlink); writing the same inputs twice gives the same bytes. `code/manifest.json` lists
//! every target with its action, so the diff can be derived from `code/files/` alone.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde::{Deserialize, Serialize};

use crate::plan::Action;
use crate::task::TaskDir;
use crate::task::fsio::{self, SafeDir, WriteError};
use crate::task::relpath::RelPath;

/// One target in `code/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Target path.
    pub path: RelPath,
    /// Planned action.
    pub action: Action,
}

/// `code/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Manifest {
    /// The run that wrote code/files.
    pub run_id: String,
    /// Targets, sorted by path.
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    /// Loads `code/manifest.json` (`None` when absent or unreadable).
    pub fn load(task: &TaskDir) -> Option<Self> {
        std::fs::read(task.manifest()).ok().and_then(|b| serde_json::from_slice(&b).ok())
    }
}

/// What the materialize stage wrote for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Materialized {
    /// Target path.
    pub path: RelPath,
    /// Action.
    pub action: Action,
    /// Bytes written (0 for a delete).
    pub bytes: usize,
    /// Lines written.
    pub lines: usize,
}

/// Unix mode for a generated file: the working-tree file's mode for a `modify`; for a
/// `create`, `0o755` when the content starts with a `#!` line, else `0o644`.
pub fn mode_for(action: Action, existing_mode: Option<u32>, content: &str) -> u32 {
    match (action, existing_mode) {
        (Action::Modify, Some(m)) => m & 0o777,
        _ if content.starts_with("#!") => 0o755,
        _ => 0o644,
    }
}

/// Writes `files` (`(path, action, content)`; content `None` for deletes) under `code/files/`
/// and the manifest for `run_id`. `repo` supplies existing files' modes.
///
/// # Errors
/// [`WriteError`] for the first file that cannot be written; files written before it stay.
pub fn materialize(
    task: &TaskDir,
    repo: &std::path::Path,
    run_id: &str,
    files: &[(RelPath, Action, Option<String>)],
) -> Result<Vec<Materialized>, WriteError> {
    let dir = SafeDir::new(task.files_dir());
    std::fs::create_dir_all(dir.root()).map_err(|e| WriteError::Io { path: dir.root().to_path_buf(), source: e })?;
    let mut out = Vec::new();
    let mut manifest: BTreeMap<RelPath, Action> = BTreeMap::new();
    for (path, action, content) in files {
        manifest.insert(path.clone(), *action);
        match (action, content) {
            (Action::Delete, _) | (_, None) => {
                dir.remove(path)?;
                out.push(Materialized { path: path.clone(), action: *action, bytes: 0, lines: 0 });
            }
            (_, Some(text)) => {
                let existing = std::fs::symlink_metadata(path.join_to(repo))
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.permissions().mode());
                let mode = mode_for(*action, existing, text);
                dir.write(path, text.as_bytes(), Some(mode))?;
                out.push(Materialized {
                    path: path.clone(),
                    action: *action,
                    bytes: text.len(),
                    lines: text.lines().count(),
                });
            }
        }
    }
    let m = Manifest {
        run_id: run_id.to_owned(),
        files: manifest.into_iter().map(|(path, action)| ManifestEntry { path, action }).collect(),
    };
    fsio::write_json_atomic(&task.manifest(), &m)?;
    Ok(out)
}

/// Whether the task has outputs from an earlier run (`code/files/`, `code/diff.patch` or the
/// manifest).
pub fn has_outputs(task: &TaskDir) -> bool {
    task.files_dir().exists() || task.diff_patch().exists() || task.manifest().exists()
}

/// Moves `code/files/`, `code/diff.patch`, `code/manifest.json` and the review loop's
/// `code/candidates/` and `code/findings.json` to `code/archive/<run_id>/` (renames, so nothing
/// is copied or lost). Returns the archive dir.
///
/// # Errors
/// [`WriteError::Io`] when a rename fails; what was moved before stays moved.
pub fn archive(task: &TaskDir, run_id: &str) -> Result<std::path::PathBuf, WriteError> {
    let mut dest = task.archive_dir(run_id);
    let mut n = 1;
    while dest.exists() {
        n += 1;
        dest = task.archive_dir(&format!("{run_id}.{n}"));
    }
    std::fs::create_dir_all(&dest).map_err(|e| WriteError::Io { path: dest.clone(), source: e })?;
    let code = task.code_dir();
    for (from, name) in [
        (task.files_dir(), "files"),
        (task.diff_patch(), "diff.patch"),
        (task.manifest(), "manifest.json"),
        (code.join("candidates"), "candidates"),
        (code.join("findings.json"), "findings.json"),
    ] {
        if from.exists() {
            std::fs::rename(&from, dest.join(name)).map_err(|e| WriteError::Io { path: from.clone(), source: e })?;
        }
    }
    Ok(dest)
}
