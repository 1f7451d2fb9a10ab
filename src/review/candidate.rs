//! Candidates: the content of `code/files/` as the review loop replaces it (a regeneration, an
//! edit before accepting), with every previous version archived.
//!
//! ```text
//! code/candidates/<n>/candidate.json   CandidateRecord: kind, paths, note, rejected hunks + reasons
//! code/candidates/<n>/files/<path>     the candidate each path had before replacement n
//! code/candidates/.tmp-<n>-<pid>/      an archive being written (published by one rename)
//! ```
//!
//! Invariants:
//! - nothing is lost: a candidate is archived (files synced, directory renamed into place)
//!   before the new one is written, and archives are never rewritten;
//! - archive numbers are `u32`s: a number read back (from a directory name or a caller) is
//!   parsed as one before it becomes a path, and file paths are [`RelPath`]s written through
//!   [`SafeDir`];
//! - [`install`] writes `code/files/` through [`SafeDir`] (atomic, path-checked, no symlinks)
//!   under the accept lock, then re-derives diff.patch for exactly those paths: review states
//!   are keyed by hunk ids, which hash a hunk's content (not its position), so every hunk whose
//!   content did not change keeps its state, and a changed hunk is a new hunk.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codegen::diff::{self, Backend, FileInput};
use crate::report::ValidationReport;
use crate::review::patchset;
use crate::review::rediff::{RediffReport, drifted, load_patch, rediff_locked};
use crate::review::view::{self, FileHunks};
use crate::review::{ReviewError, findings, undo};
use crate::task::TaskDir;
use crate::task::fsio::{SafeDir, WriteError};
use crate::task::relpath::RelPath;
use crate::task::state::TaskState;

/// The record file in each archive directory.
pub const RECORD: &str = "candidate.json";

/// What replaced the archived candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    /// A regeneration with feedback.
    Regen,
    /// An edit before accepting.
    Edit,
}

/// A rejected hunk of an archived candidate, with the reviewer's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedHunk {
    /// Hunk id.
    pub id: String,
    /// Its file.
    pub path: String,
    /// Why it was rejected, if the reviewer said.
    pub reason: Option<String>,
}

/// `code/candidates/<n>/candidate.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateRecord {
    /// Format version.
    pub version: u32,
    /// The archive number `n` (1-based).
    pub number: u32,
    /// When the candidates were replaced.
    pub at: DateTime<Utc>,
    /// By what.
    pub kind: CandidateKind,
    /// The archived paths (their previous candidates are under `files/`).
    pub paths: Vec<RelPath>,
    /// The reviewer's note (regenerations).
    pub note: Option<String>,
    /// The hunks that were rejected in the archived candidates, with reasons.
    pub rejected: Vec<RejectedHunk>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
    move |e| ReviewError::Write(WriteError::Io { path: path.to_path_buf(), source: e })
}

/// `code/candidates/`, checked: no component of it may be a symlink (a cloned task could point
/// it anywhere), so archives are never written or read through one.
///
/// # Errors
/// [`ReviewError::Task`] for a symlinked component.
pub fn candidates_dir(task: &TaskDir) -> Result<PathBuf, ReviewError> {
    Ok(task.checked("code/candidates")?)
}

/// Every archive record, ascending by number (unreadable ones are skipped).
pub fn records(task: &TaskDir) -> Vec<CandidateRecord> {
    let Ok(root) = candidates_dir(task) else { return Vec::new() };
    let mut out: Vec<CandidateRecord> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            let rec: CandidateRecord = serde_json::from_slice(&fs::read(e.path().join(RECORD)).ok()?).ok()?;
            (rec.number == n).then_some(rec)
        })
        .collect();
    out.sort_by_key(|r| r.number);
    out
}

/// Archives the current `code/files/` content of `paths` (those that have one) as the next
/// archive, with `note` and the rejected hunks of those paths (from diff.patch and state.json).
///
/// # Errors
/// Write errors; nothing is published then.
pub fn archive(
    task: &TaskDir,
    kind: CandidateKind,
    paths: &[RelPath],
    note: Option<&str>,
) -> Result<CandidateRecord, ReviewError> {
    let root = candidates_dir(task)?;
    fs::create_dir_all(&root).map_err(io(&root))?;
    let number = records(task).last().map_or(1, |r| r.number + 1).max(next_free(&root));
    let st = TaskState::load(task)?;
    let patch = load_patch(task).unwrap_or_default();
    let rejected = patch
        .files
        .iter()
        .filter(|f| paths.contains(&f.path))
        .flat_map(|f| f.hunks.iter().map(move |h| (f, h)))
        .filter(|(_, h)| st.hunks.get(&h.id) == Some(&false))
        .map(|(f, h)| RejectedHunk {
            id: h.id.clone(),
            path: f.path.to_string(),
            reason: st.reasons.get(&h.id).cloned(),
        })
        .collect();
    let rec = CandidateRecord {
        version: 1,
        number,
        at: Utc::now(),
        kind,
        paths: paths.to_vec(),
        note: note.map(str::to_owned),
        rejected,
    };
    let tmp = root.join(format!(".tmp-{number}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let from = SafeDir::new(task.files_dir());
    let to = SafeDir::new(tmp.join("files"));
    for p in paths {
        if let Some(bytes) = from.read(p)? {
            let mode = fs::metadata(p.join_to(from.root()))
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
                .ok();
            to.write(p, &bytes, mode)?;
        }
    }
    crate::task::fsio::write_json_atomic(&tmp.join(RECORD), &rec)?;
    let dest = root.join(number.to_string());
    fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok(rec)
}

/// One past the highest numbered directory under `root` (records that failed to parse still
/// hold their number).
fn next_free(root: &Path) -> u32 {
    fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1)
}

/// The newest archived candidate of `path`: its archive number and bytes; `None` when it was
/// never replaced.
///
/// # Errors
/// Read errors.
pub fn previous(task: &TaskDir, path: &RelPath) -> Result<Option<(u32, Vec<u8>)>, ReviewError> {
    for rec in records(task).iter().rev().filter(|r| r.paths.contains(path)) {
        let dir = SafeDir::new(candidates_dir(task)?.join(rec.number.to_string()).join("files"));
        if let Some(bytes) = dir.read(path)? {
            return Ok(Some((rec.number, bytes)));
        }
    }
    Ok(None)
}

/// What changed between the previous candidate of a file and the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateDiff {
    /// The archive the previous candidate is in.
    pub archive: u32,
    /// The unified diff previous → current, as hunks (their states mean nothing here).
    pub file: Option<FileHunks>,
}

/// The diff of candidates for `path`: the newest archived candidate against the current
/// `code/files/` content (not against the working tree), so a reviewer sees whether the
/// feedback landed. `None` when the file was never replaced; `file` is `None` when the two
/// are identical.
///
/// # Errors
/// [`ReviewError::UnknownFiles`] for a path that is not a valid relative path; read and diff
/// errors.
pub fn candidate_diff(task: &TaskDir, path: &str) -> Result<Option<CandidateDiff>, ReviewError> {
    let rel = RelPath::new(path).map_err(|_| ReviewError::UnknownFiles(format!("`{path}`")))?;
    let Some((archive, old)) = previous(task, &rel)? else { return Ok(None) };
    let new = SafeDir::new(task.files_dir()).read(&rel)?;
    let mut out = Vec::new();
    let input = FileInput { path: &rel, old: Some(&old), new: new.as_deref(), old_mode: 0o644, new_mode: 0o644 };
    diff::write_file_diff(&mut out, &input, Backend::default())
        .map_err(|e| ReviewError::Patch(crate::codegen::patch::PatchError::Diff(e)))?;
    let parsed = patchset::parse(&out)?;
    let file = view::files(&parsed, &TaskState::default()).into_iter().next();
    Ok(Some(CandidateDiff { archive, file }))
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Installed {
    /// The re-derived diff.
    pub rediff: RediffReport,
    /// Hunk ids of the installed paths that kept an explicit review state (their content did
    /// not change).
    pub kept: Vec<String>,
    /// Hunk ids of the installed paths that are new.
    pub new: Vec<String>,
}

/// Writes the new candidates (`(path, bytes)`) to `code/files/`, records their findings
/// (`(path, bytes validated, findings)`, possibly for more files than were written) and
/// re-derives diff.patch for the written paths, under the accept lock (see the module
/// invariants).
///
/// # Errors
/// Lock, write, state and diff errors.
pub fn install(
    task: &TaskDir,
    repo: &Path,
    new: &[(RelPath, Vec<u8>)],
    validated: &[(RelPath, Vec<u8>, Vec<ValidationReport>)],
) -> Result<Installed, ReviewError> {
    let _lock = crate::review::lock(task)?;
    undo::recover_locked(task, repo)?;
    let before = load_patch(task).unwrap_or_default();
    let files = SafeDir::new(task.files_dir());
    for (p, bytes) in new {
        files.write(p, bytes, None)?;
    }
    findings::record(task, validated)?;
    let scope: HashSet<String> = new.iter().map(|(p, _)| p.to_string()).collect();
    let drift: HashSet<String> = drifted(&before, repo).into_iter().filter(|p| scope.contains(p)).collect();
    let known: HashSet<String> = before.ids().map(str::to_owned).collect();
    let mut st = TaskState::load(task)?;
    let rediff = rediff_locked(task, repo, &mut st, Some(&scope), &drift, &known)?;
    let after = load_patch(task)?;
    let (mut kept, mut fresh) = (Vec::new(), Vec::new());
    for f in after.files.iter().filter(|f| scope.contains(f.path.as_str())) {
        for h in &f.hunks {
            if known.contains(&h.id) {
                if st.hunks.contains_key(&h.id) {
                    kept.push(h.id.clone());
                }
            } else {
                fresh.push(h.id.clone());
            }
        }
    }
    Ok(Installed { rediff, kept, new: fresh })
}

/// The hunks of `path` in the current diff, split by review state: (rejected with reasons,
/// accepted), as feedback for a regeneration.
///
/// # Errors
/// Parse, state and findings errors.
pub fn hunks_of(task: &TaskDir, path: &RelPath) -> Result<(Vec<view::HunkView>, Vec<view::HunkView>), ReviewError> {
    let patch = match load_patch(task) {
        Ok(p) => p,
        Err(ReviewError::NoPatch) => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let st = TaskState::load(task)?;
    let held: BTreeMap<String, Vec<ValidationReport>> = findings::introduced(task)?;
    let Some(file) = view::files_with(&patch, &st, &held).into_iter().find(|f| f.path == path.as_str()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (rejected, rest): (Vec<_>, Vec<_>) = file.hunks.into_iter().partition(|h| h.state == view::HunkState::Rejected);
    Ok((rejected, rest.into_iter().filter(|h| h.state == view::HunkState::Accepted).collect()))
}
