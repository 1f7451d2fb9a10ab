//! The materialize stage: write generated content to `code/files/` and record the manifest.
//!
//! Invariants: `code/files/` holds exactly one file per `create`/`modify` target and none for a
//! `delete`; every write goes through [`SafeDir`] (atomic, path-checked, never through a
//! symlink); writing the same inputs twice gives the same bytes. `code/manifest.json` lists
//! every target with its action, so the diff can be derived from `code/files/` alone. A
//! `modify` target's content is written in its working-tree file's line-ending style and
//! final-newline state ([`crate::codegen::eol`]), whatever the reply used.
//!
//! The task dir is untrusted: `code/`, `code/files/` and the manifest are reached through
//! [`TaskDir::checked`] (never through a symlink), and [`archive`] names its directory only
//! with a checked run id.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde::{Deserialize, Serialize};

use crate::codegen::eol;
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
        std::fs::read(task.checked("code/manifest.json").ok()?).ok().and_then(|b| serde_json::from_slice(&b).ok())
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
    let dir: SafeDir = task.safe_dir("code/files")?;
    std::fs::create_dir_all(dir.root()).map_err(|e| WriteError::Io { path: dir.root().to_path_buf(), source: e })?;
    let tree = SafeDir::new(repo);
    let mut out = Vec::new();
    let mut manifest: BTreeMap<RelPath, Action> = BTreeMap::new();
    for (path, action, content) in files {
        manifest.insert(path.clone(), *action);
        match (action, content) {
            (Action::Delete, _) | (_, None) => {
                dir.remove(path)?;
                out.push(Materialized { path: path.clone(), action: *action, bytes: 0, lines: 0 });
            }
            (_, Some(generated)) => {
                let existing = std::fs::symlink_metadata(path.join_to(repo))
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.permissions().mode());
                let text = &in_base_style(&tree, path, *action, generated);
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
    fsio::write_json_atomic(&task.checked("code/manifest.json")?, &m)?;
    Ok(out)
}

/// `generated` in the line-ending style of the working-tree file it modifies (unchanged for a
/// `create`, or when the file cannot be read as UTF-8 text).
fn in_base_style(tree: &SafeDir, path: &RelPath, action: Action, generated: &str) -> String {
    if action != Action::Modify {
        return generated.to_owned();
    }
    match tree.read(path) {
        Ok(Some(bytes)) => match std::str::from_utf8(&bytes) {
            Ok(base) => eol::conform(base, generated),
            Err(_) => generated.to_owned(),
        },
        _ => generated.to_owned(),
    }
}

/// Whether the task has outputs from an earlier run (`code/files/`, `code/diff.patch` or the
/// manifest).
pub fn has_outputs(task: &TaskDir) -> bool {
    ["code/files", "code/diff.patch", "code/manifest.json"]
        .iter()
        .any(|rel| std::fs::symlink_metadata(task.root().join(rel)).is_ok())
}

/// Moves `code/files/`, `code/diff.patch`, `code/manifest.json` and the review loop's
/// `code/candidates/` and `code/findings.json` to `code/archive/<run_id>/` (renames, so nothing
/// is copied or lost, and a planted symlink is moved as itself, never followed). Returns the
/// archive dir. `run_id` comes from state.json, which is untrusted: when it is not a run id
/// ([`crate::task::ids::is_run_id`]) the archive is named `unknown-<UTC time>` instead, so the
/// id never becomes a path.
///
/// # Errors
/// [`WriteError`] when `code/` or `code/archive/` is a symlink or a rename fails; what was
/// moved before stays moved.
pub fn archive(task: &TaskDir, run_id: &str) -> Result<std::path::PathBuf, WriteError> {
    let base = if crate::task::ids::is_run_id(run_id) {
        run_id.to_owned()
    } else {
        format!("unknown-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"))
    };
    let mut dest = task.archive_dir(&base)?;
    let mut n = 1;
    while std::fs::symlink_metadata(&dest).is_ok() {
        n += 1;
        dest = task.archive_dir(&format!("{base}.{n}"))?;
    }
    std::fs::create_dir_all(&dest).map_err(|e| WriteError::Io { path: dest.clone(), source: e })?;
    for name in ["files", "diff.patch", "manifest.json", "candidates", "findings.json"] {
        let from = task.checked(&format!("code/{name}"))?;
        if std::fs::symlink_metadata(&from).is_ok() {
            std::fs::rename(&from, dest.join(name)).map_err(|e| WriteError::Io { path: from.clone(), source: e })?;
        }
    }
    Ok(dest)
}
