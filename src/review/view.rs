//! What front ends list and draw: files with their hunks, each hunk's lines with old/new line
//! numbers and its review state; and setting review states (with a reason for a rejection).
//!
//! A hunk's state is its explicit one in state.json when it has one; otherwise accepted, or
//! [`HunkState::Unreviewed`] when its file is held by open findings the run introduced
//! ([`crate::review::findings`]).
//!
//! Invariants: the view is derived from code/diff.patch, state.json and the findings alone, in
//! patch order (files by path, hunks in file order, a mode change first); a review state is
//! only ever set for an id the current diff has, and is persisted before it is reported.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::report::ValidationReport;
use crate::review::patchset::{FileAction, FilePatch, Hunk, HunkKind, LineKind, PatchSet};
use crate::review::rediff::load_patch;
use crate::review::{ReviewError, findings, undo};
use crate::task::TaskDir;
use crate::task::state::TaskState;

/// A hunk's review state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HunkState {
    /// Will be applied by an accept without a selector (the default).
    Accepted,
    /// Stays in code/files only.
    Rejected,
    /// No decision yet, and its file has open findings the run introduced: a bare accept skips
    /// it; an explicit selection (ids, files, all) lands it.
    Unreviewed,
}

impl HunkState {
    /// From state.json's flag.
    pub fn from_flag(accepted: bool) -> Self {
        if accepted { HunkState::Accepted } else { HunkState::Rejected }
    }

    /// The state of hunk `id` in `st`, in a file that is `held` (see the module docs).
    pub fn of(st: &TaskState, id: &str, held: bool) -> Self {
        match st.hunks.get(id) {
            Some(&flag) => Self::from_flag(flag),
            None if held => HunkState::Unreviewed,
            None => HunkState::Accepted,
        }
    }

    /// `accepted` / `rejected` / `unreviewed`.
    pub fn as_str(self) -> &'static str {
        match self {
            HunkState::Accepted => "accepted",
            HunkState::Rejected => "rejected",
            HunkState::Unreviewed => "unreviewed",
        }
    }
}

/// How much of a file is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileReview {
    /// Every hunk accepted.
    All,
    /// Some hunks accepted.
    Some,
    /// No hunk accepted.
    None,
}

/// One line of a hunk, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// Context, removed or added.
    pub kind: LineKind,
    /// 1-based line number in the old file (context and removed lines).
    pub old: Option<usize>,
    /// 1-based line number in the new file (context and added lines).
    pub new: Option<usize>,
    /// The text without its line terminator (invalid UTF-8 replaced).
    pub text: String,
    /// The line ended in `\r\n`.
    pub crlf: bool,
    /// The line has no terminator (`\ No newline at end of file`).
    pub no_newline: bool,
}

/// One hunk, ready to list or draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HunkView {
    /// Stable id (see [`crate::review::patchset`]).
    pub id: String,
    /// The file's path.
    pub file: String,
    /// Text hunk, mode change or empty-file pseudo-hunk.
    pub kind: HunkKind,
    /// `@@ -a,b +c,d @@`, or the pseudo-hunk's description.
    pub header: String,
    /// Review state.
    pub state: HunkState,
    /// Why it was rejected, when the user said.
    pub reason: Option<String>,
    /// Added lines.
    pub additions: usize,
    /// Removed lines.
    pub deletions: usize,
    /// Old side start and count as in the header.
    pub old_start: usize,
    /// Old side line count.
    pub old_lines: usize,
    /// New side start.
    pub new_start: usize,
    /// New side line count.
    pub new_lines: usize,
    /// The lines.
    pub lines: Vec<DiffLine>,
}

/// One file of the diff with its hunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHunks {
    /// Repo-relative path.
    pub path: String,
    /// Create, modify or delete.
    pub action: FileAction,
    /// Permission bits before (`None`: absent).
    pub old_mode: Option<u32>,
    /// Permission bits after (`None`: deleted).
    pub new_mode: Option<u32>,
    /// Added lines over all hunks.
    pub additions: usize,
    /// Removed lines over all hunks.
    pub deletions: usize,
    /// All / some / none of its hunks accepted.
    pub review: FileReview,
    /// Open findings the run introduced in this file (see [`crate::review::findings`]): when
    /// there are any, its hunks without an explicit state are unreviewed and a bare accept
    /// leaves them out. Sorted by line.
    pub findings: Vec<ValidationReport>,
    /// Its hunks in file order.
    pub hunks: Vec<HunkView>,
}

impl FileHunks {
    /// Whether open findings hold the file's undecided hunks back from a bare accept.
    pub fn held(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// A review state that was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HunkMark {
    /// Hunk id.
    pub id: String,
    /// Its new state.
    pub state: HunkState,
    /// Its rejection reason, if any.
    pub reason: Option<String>,
}

fn line_view(kind: LineKind, text: &[u8], old: Option<usize>, new: Option<usize>) -> DiffLine {
    let (body, crlf, no_newline) = if let Some(b) = text.strip_suffix(b"\r\n") {
        (b, true, false)
    } else if let Some(b) = text.strip_suffix(b"\n") {
        (b, false, false)
    } else {
        (text, false, true)
    };
    DiffLine { kind, old, new, text: String::from_utf8_lossy(body).into_owned(), crlf, no_newline }
}

fn hunk_view(f: &FilePatch, h: &Hunk, st: &TaskState, held: bool) -> HunkView {
    let (mut o, mut n) = (h.base_start() + 1, h.new_start.max(1));
    let lines = h
        .lines
        .iter()
        .map(|l| {
            let (old, new) = match l.kind {
                LineKind::Context => (Some(o), Some(n)),
                LineKind::Remove => (Some(o), None),
                LineKind::Add => (None, Some(n)),
            };
            o += usize::from(old.is_some());
            n += usize::from(new.is_some());
            line_view(l.kind, &l.text, old, new)
        })
        .collect();
    HunkView {
        id: h.id.clone(),
        file: f.path.to_string(),
        kind: h.kind,
        header: h.header.clone(),
        state: HunkState::of(st, &h.id, held),
        reason: st.reasons.get(&h.id).cloned(),
        additions: h.additions(),
        deletions: h.deletions(),
        old_start: h.old_start,
        old_lines: h.old_lines,
        new_start: h.new_start,
        new_lines: h.new_lines,
        lines,
    }
}

/// The view of `patch` with the review states of `st`, no file held.
pub fn files(patch: &PatchSet, st: &TaskState) -> Vec<FileHunks> {
    files_with(patch, st, &BTreeMap::new())
}

/// The view of `patch` with the review states of `st` and the introduced open findings
/// `held` (by path, as [`findings::introduced`] returns them).
pub fn files_with(patch: &PatchSet, st: &TaskState, held: &BTreeMap<String, Vec<ValidationReport>>) -> Vec<FileHunks> {
    patch
        .files
        .iter()
        .map(|f| {
            let found = held.get(f.path.as_str()).cloned().unwrap_or_default();
            let hunks: Vec<HunkView> = f.hunks.iter().map(|h| hunk_view(f, h, st, !found.is_empty())).collect();
            let accepted = hunks.iter().filter(|h| h.state == HunkState::Accepted).count();
            FileHunks {
                path: f.path.to_string(),
                action: f.action,
                old_mode: f.old_mode,
                new_mode: f.new_mode,
                additions: hunks.iter().map(|h| h.additions).sum(),
                deletions: hunks.iter().map(|h| h.deletions).sum(),
                review: match accepted {
                    0 => FileReview::None,
                    a if a == hunks.len() => FileReview::All,
                    _ => FileReview::Some,
                },
                findings: found,
                hunks,
            }
        })
        .collect()
}

/// The task's hunks as they stand (after recovering an interrupted accept or undo).
///
/// # Errors
/// [`ReviewError::NoPatch`] without a diff.patch; [`ReviewError::Busy`] while another process
/// accepts; parse, state and I/O errors.
pub fn snapshot(task: &TaskDir, repo: &Path) -> Result<Vec<FileHunks>, ReviewError> {
    let _lock = crate::review::lock(task)?;
    undo::recover_locked(task, repo)?;
    let patch = load_patch(task)?;
    let st = TaskState::load(task)?;
    Ok(files_with(&patch, &st, &findings::introduced(task)?))
}

/// Resolves hunk ids: each is a full id or a prefix that matches exactly one hunk of `patch`.
///
/// # Errors
/// [`ReviewError::UnknownHunks`] listing the ids that match nothing;
/// [`ReviewError::AmbiguousHunk`] for a prefix that matches several.
pub fn resolve_ids(patch: &PatchSet, ids: &[String]) -> Result<Vec<String>, ReviewError> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for id in ids {
        let id = id.trim();
        if patch.hunk(id).is_some() {
            out.push(id.to_owned());
            continue;
        }
        let hits: Vec<&str> =
            if id.is_empty() { Vec::new() } else { patch.ids().filter(|h| h.starts_with(id)).collect() };
        match hits.as_slice() {
            [one] => out.push((*one).to_owned()),
            [] => unknown.push(format!("`{id}`")),
            many => return Err(ReviewError::AmbiguousHunk(id.to_owned(), many.join(", "))),
        }
    }
    if !unknown.is_empty() {
        return Err(ReviewError::UnknownHunks(unknown.join(", ")));
    }
    Ok(out)
}

/// Longest rejection reason kept, in characters (it goes into a prompt).
pub const MAX_REASON_CHARS: usize = 2000;

/// One review decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Hunk id or unique prefix.
    pub id: String,
    /// Accept (`true`) or reject.
    pub accepted: bool,
    /// Why it is rejected (only with `accepted == false`; `None` keeps a reason given before).
    pub reason: Option<String>,
}

/// Sets review states (`(id or unique prefix, accepted)`) and saves state.json.
///
/// # Errors
/// As [`mark`].
pub fn set_states(task: &TaskDir, repo: &Path, marks: &[(String, bool)]) -> Result<Vec<HunkMark>, ReviewError> {
    let marks: Vec<Mark> =
        marks.iter().map(|(id, accepted)| Mark { id: id.clone(), accepted: *accepted, reason: None }).collect();
    mark(task, repo, &marks)
}

/// Records review decisions and saves state.json: an accept clears the hunk's reason, a
/// rejection with a reason stores it (trimmed).
///
/// # Errors
/// As [`resolve_ids`] (then nothing is set); [`ReviewError::BadReason`] for an empty or
/// over-long reason or one on an accept; lock, state and I/O errors.
pub fn mark(task: &TaskDir, repo: &Path, marks: &[Mark]) -> Result<Vec<HunkMark>, ReviewError> {
    for m in marks {
        if let Some(r) = &m.reason {
            let r = r.trim();
            if m.accepted {
                return Err(ReviewError::BadReason("a reason goes with a rejection, not an accept".into()));
            }
            if r.is_empty() || r.chars().count() > MAX_REASON_CHARS {
                return Err(ReviewError::BadReason(format!("give a reason of 1 to {MAX_REASON_CHARS} characters")));
            }
        }
    }
    let _lock = crate::review::lock(task)?;
    undo::recover_locked(task, repo)?;
    let patch = load_patch(task)?;
    let ids: Vec<String> = marks.iter().map(|m| m.id.clone()).collect();
    let resolved = resolve_ids(&patch, &ids)?;
    let mut st = TaskState::load(task)?;
    let mut out = Vec::new();
    for (m, id) in marks.iter().zip(resolved) {
        st.hunks.insert(id.clone(), m.accepted);
        if m.accepted {
            st.reasons.remove(&id);
        } else if let Some(r) = &m.reason {
            st.reasons.insert(id.clone(), r.trim().to_owned());
        }
        let reason = st.reasons.get(&id).cloned();
        out.push(HunkMark { id, state: HunkState::from_flag(m.accepted), reason });
    }
    st.save(task)?;
    Ok(out)
}
