//! Undo of the last accept, and recovery of an accept or undo that a kill interrupted.
//!
//! Both are one operation: put every file of a record back to its `before` side. Undo first
//! checks that every file still holds what the accept wrote (its `after` side) and refuses,
//! naming the files, when one does not; then it marks the record `undoing` (the commit point)
//! and restores. Recovery does the same for every record that is not `done` (an accept killed
//! before its commit point, or an undo killed after its own), restoring only files that hold the
//! record's `after` side and keeping, and reporting, any file that holds neither side.
//!
//! Order, so that a kill at any step is finished by the next recovery: restore files → fix
//! state.json (`landed`) and re-derive diff.patch → remove the record. Nothing here needs git;
//! in a git repo, undo of an accept that staged its paths (aggressive mode) unstages them.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use crate::codegen::diff::FileStat;
use crate::review::ReviewError;
use crate::review::git::Git;
use crate::review::journal::{self, AcceptRecord, Side, Status};
use crate::review::rediff::{load_patch, refresh};
use crate::review::tree::{self, Content};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::TaskState;

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RecoveryReport {
    /// Accept numbers rolled back (an interrupted accept, or an interrupted undo finished).
    pub rolled_back: Vec<u32>,
    /// Files put back to their pre-accept content.
    pub restored: Vec<String>,
    /// Files that held neither side and were left as they are.
    pub kept: Vec<String>,
    /// Stale temp files removed.
    pub temp_files: usize,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoReport {
    /// The accept number undone.
    pub accept: u32,
    /// Files restored (created files removed, deleted files recreated).
    pub restored: Vec<String>,
    /// The commit that accept made, which undo leaves in history.
    pub commit: Option<String>,
    /// Paths the accept had staged (aggressive mode) and undo unstaged.
    pub unstaged: Vec<String>,
    /// A git step that failed after the files were restored.
    pub git_error: Option<String>,
    /// Hunks in the re-derived diff.
    pub remaining: usize,
    /// An interrupted accept or undo rolled back first.
    pub recovered: Option<RecoveryReport>,
    /// Per-file numbers of the re-derived diff.
    #[serde(skip)]
    pub stats: Vec<FileStat>,
}

/// Restores the last accept (see the module docs).
///
/// # Errors
/// [`ReviewError::NothingToUndo`]; [`ReviewError::UndoRefused`] naming the files that changed
/// since the accept (nothing is written then); lock, journal and I/O errors.
pub fn undo(task: &TaskDir, repo: &Path) -> Result<UndoReport, ReviewError> {
    let _lock = crate::review::lock(task)?;
    let recovered = recover_locked(task, repo)?;
    let Some(rec) = journal::records(task)?.into_iter().rev().find(|r| r.status == Status::Done) else {
        return Err(ReviewError::NothingToUndo(task.accepts_dir()));
    };
    let t = SafeDir::new(repo);
    let changed: Vec<String> = rec
        .files
        .iter()
        .filter(|f| !tree::read(&t, &f.path).is_ok_and(|c| Side::matches(f.after.as_ref(), c.as_ref())))
        .map(|f| f.path.to_string())
        .collect();
    if !changed.is_empty() {
        let dir = task.accepts_dir().join(rec.number.to_string());
        return Err(ReviewError::UndoRefused { number: rec.number, files: changed, dir });
    }
    let mut report = undo_locked(task, repo, rec)?;
    report.recovered = recovered;
    Ok(report)
}

/// Undoes `rec`, whose files the caller checked hold its `after` side, under the caller's
/// lock: marks it undoing (the commit point), restores, settles state.json and diff.patch,
/// removes the record, unstages what it staged.
///
/// # Errors
/// Journal, state and I/O errors.
pub(crate) fn undo_locked(task: &TaskDir, repo: &Path, mut rec: AcceptRecord) -> Result<UndoReport, ReviewError> {
    let t = SafeDir::new(repo);
    journal::set_status(task, &mut rec, Status::Undoing)?;
    let (restored, _) = roll_back(task, &t, &rec)?;
    let stats = settle(task, repo, std::slice::from_ref(&rec), &[])?;
    journal::discard(task, rec.number)?;
    let (mut unstaged, mut git_error) = (Vec::new(), None);
    if rec.staged
        && let Some(git) = Git::discover(repo)
    {
        let paths: Vec<&RelPath> = rec.files.iter().map(|f| &f.path).collect();
        match git.unstage(&paths) {
            Ok(()) => unstaged = paths.iter().map(ToString::to_string).collect(),
            Err(e) => git_error = Some(e.to_string()),
        }
    }
    Ok(UndoReport {
        accept: rec.number,
        restored,
        commit: rec.commit,
        unstaged,
        git_error,
        remaining: stats.hunks,
        recovered: None,
        stats: stats.stats,
    })
}

/// Recovers an interrupted accept or undo under the task lock (see the module docs); `None`
/// when there was nothing to recover.
///
/// # Errors
/// Lock, journal, state and I/O errors.
pub fn recover(task: &TaskDir, repo: &Path) -> Result<Option<RecoveryReport>, ReviewError> {
    let _lock = crate::review::lock(task)?;
    recover_locked(task, repo)
}

/// [`recover`] for a caller that holds the lock.
pub(crate) fn recover_locked(task: &TaskDir, repo: &Path) -> Result<Option<RecoveryReport>, ReviewError> {
    journal::clean_scratch(task);
    let open: Vec<AcceptRecord> = journal::records(task)?.into_iter().filter(|r| r.status != Status::Done).collect();
    if open.is_empty() {
        return Ok(None);
    }
    let t = SafeDir::new(repo);
    let mut rep = RecoveryReport::default();
    for rec in open.iter().rev() {
        let (restored, kept) = roll_back(task, &t, rec)?;
        for f in &rec.files {
            rep.temp_files += tree::clean_temp_files(&t, &f.path);
        }
        rep.rolled_back.push(rec.number);
        rep.restored.extend(restored);
        rep.kept.extend(kept);
    }
    rep.temp_files += tree::clean_temp_in(task.root());
    for dir in ["code", "code/base"] {
        rep.temp_files += tree::clean_temp_in(&task.checked(dir)?);
    }
    settle(task, repo, &open, &rep.kept)?;
    for rec in &open {
        journal::discard(task, rec.number)?;
    }
    Ok(Some(rep))
}

/// Drops `recs` from state.json's `landed` and re-derives their files' diff. A file that had
/// drifted when the accept merged into it, or that holds neither side (`kept`), counts as
/// drifted for the re-diff.
fn settle(
    task: &TaskDir,
    repo: &Path,
    recs: &[AcceptRecord],
    kept: &[String],
) -> Result<crate::review::RediffReport, ReviewError> {
    let mut st = TaskState::load(task)?;
    st.landed.retain(|_, n| !recs.iter().any(|r| r.number == *n));
    let scope: HashSet<String> = recs.iter().flat_map(|r| r.files.iter().map(|f| f.path.to_string())).collect();
    let mut drifted: HashSet<String> =
        recs.iter().flat_map(|r| r.files.iter().filter(|f| f.drifted).map(|f| f.path.to_string())).collect();
    drifted.extend(kept.iter().cloned());
    let known: HashSet<String> = load_patch(task).map(|p| p.ids().map(str::to_owned).collect()).unwrap_or_default();
    refresh(task, repo, &mut st, &scope, &drifted, &known)
}

/// Puts the files of `rec` that hold its `after` side back to `before`; returns (restored,
/// kept: files holding neither side).
fn roll_back(task: &TaskDir, t: &SafeDir, rec: &AcceptRecord) -> Result<(Vec<String>, Vec<String>), ReviewError> {
    let (mut restored, mut kept) = (Vec::new(), Vec::new());
    for f in &rec.files {
        let Ok(cur) = tree::read(t, &f.path) else {
            kept.push(f.path.to_string());
            continue;
        };
        if Side::matches(f.before.as_ref(), cur.as_ref()) {
            continue;
        }
        if !Side::matches(f.after.as_ref(), cur.as_ref()) {
            kept.push(f.path.to_string());
            continue;
        }
        let content = match &f.before {
            Some(side) => {
                let bytes = journal::before(task, rec.number, &f.path)?;
                let c = Content { bytes, mode: side.mode };
                if c.blob() != side.blob {
                    return Err(ReviewError::Journal {
                        path: task.accepts_dir().join(rec.number.to_string()),
                        message: format!("the snapshot of `{}` does not match its record", f.path),
                    });
                }
                Some(c)
            }
            None => None,
        };
        tree::put(t, &f.path, content.as_ref())?;
        restored.push(f.path.to_string());
    }
    Ok((restored, kept))
}
