//! Review and accept: moving reviewed hunks from `code/files/` into the working tree.
//!
//! This is the only path besides `codegen --apply` that writes the working tree. The flow:
//!
//! 1. [`patchset`] parses `code/diff.patch` into files and hunks with stable ids; each hunk's
//!    review state (accepted / rejected with an optional reason; absent = accepted, or
//!    unreviewed in a file held by open findings the run introduced, see [`findings`]) lives in
//!    `state.json` ([`crate::task::state::TaskState::hunks`] and `reasons`). [`view`] turns
//!    them into what front ends list and draw, and sets states.
//! 2. [`accept()`] applies a selection of hunks. Per file it compares the working-tree file with
//!    the base diff.patch was made against (the blob id on its `index` line). Unchanged: the base
//!    gets exactly the selected hunks. Changed (drift): the hunks are merged onto the file as it
//!    is when they still apply cleanly ([`merge`], a 3-way merge with the base kept under
//!    `code/base/`), otherwise that file is refused, left untouched and reported (exit code 4).
//! 3. Every landing file is snapshotted under `accepts/<n>/` and journaled ([`journal`]) before
//!    the first write; each write is temp file + rename with the mode set ([`tree`]); then
//!    diff.patch is re-derived against the new tree so what was not accepted stays reviewable,
//!    state.json records the landed hunks, and the record is marked done.
//! 4. [`undo()`] restores the last accept when its files still hold what it wrote; recovery
//!    ([`undo::recover`]) rolls back an accept or undo that a kill interrupted. Both work
//!    without git.
//! 5. With git ([`git`]), `--commit` commits exactly the accepted paths and aggressive mode
//!    stages them.
//! 6. [`history`] lists the journaled accepts and undoes back to any of them.
//!
//! The review loop replaces candidates in `code/files/` before anything is accepted:
//! [`regen`] asks the model again with the reviewer's feedback, [`edit`] takes a hand edit;
//! both re-validate ([`verify`]), archive the previous candidate and re-derive the diff through
//! [`candidate`], which also gives the diff of candidates (previous → current).
//!
//! Invariants:
//! - a user's edit is never overwritten: a file that changed since the diff is written only
//!   when every selected hunk applies cleanly around the edit, and undo refuses files that
//!   changed since the accept;
//! - every operation here that reads or writes the task holds the task lock
//!   ([`crate::task::TaskLock`], the same lock a codegen run holds), taken by [`lock`];
//! - after any kill, every touched file holds its old or its new content, and the next review
//!   operation (which runs recovery under the task lock) makes the files, state.json's `landed`
//!   and diff.patch agree again;
//! - after a re-diff that follows drift, a hunk that was not in the previous diff starts
//!   rejected: it may undo an edit made outside ai-tools, so accepting the default set never
//!   does that silently.

pub mod accept;
pub mod candidate;
pub mod edit;
pub mod findings;
pub mod git;
pub mod history;
pub mod journal;
pub mod merge;
pub mod owner;
pub mod patchset;
pub mod provenance;
pub mod rediff;
pub mod regen;
pub mod tree;
pub mod undo;
pub mod verify;
pub mod view;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use accept::{AcceptOptions, AcceptReport, FileConflict, LandedFile, Selection, accept};
pub use history::{AcceptEntry, accepts, undo_to};
pub use rediff::RediffReport;
pub use undo::{RecoveryReport, UndoReport, recover, undo};
pub use view::{DiffLine, FileHunks, FileReview, HunkMark, HunkState, HunkView, Mark, mark, set_states, snapshot};

use crate::codegen::patch::PatchError;
use crate::task::fsio::WriteError;
use crate::task::lock::{REVIEW_WAIT, TaskLock};
use crate::task::state::{StateError, TaskState};
use crate::task::{TaskDir, TaskError};

/// Exit code for a refusal because the working tree drifted (accept) or changed since an accept
/// (undo).
pub const EXIT_DRIFT: i32 = 4;

/// Why a review operation failed as a whole (per-file drift refusals of an accept are not errors:
/// they are in [`AcceptReport::conflicts`]).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No diff.patch.
    #[error("code/diff.patch is missing: nothing to review; run `ai-tools codegen` first")]
    NoPatch,
    /// diff.patch does not parse.
    #[error("{0}; re-derive it with `ai-tools hunks --rediff`")]
    Parse(#[from] patchset::ParseError),
    /// Ids that match no hunk.
    #[error("no hunk has the id {0}; list them with `ai-tools hunks`")]
    UnknownHunks(String),
    /// An id prefix that matches several hunks.
    #[error("hunk id `{0}` is ambiguous (it starts {1}); give more digits")]
    AmbiguousHunk(String, String),
    /// Paths with no hunks in diff.patch.
    #[error("code/diff.patch has no hunks for {0}; list them with `ai-tools hunks`")]
    UnknownFiles(String),
    /// `--commit` outside a git repository.
    #[error("--commit needs a git repository, and {0} is not in one; accept without --commit")]
    NotGit(PathBuf),
    /// A git command failed.
    #[error("git {args} failed: {stderr}")]
    Git {
        /// The git arguments.
        args: String,
        /// What git said.
        stderr: String,
    },
    /// A rejection reason that cannot be kept.
    #[error("bad reason: {0}")]
    BadReason(String),
    /// An accept number that names no accept in the journal.
    #[error("there is no accept {0} to undo; list them with `ai-tools accepts`")]
    UnknownAccept(u32),
    /// Re-validation of new candidates could not run.
    #[error("validation could not run: {0}")]
    Validation(String),
    /// Another process holds the task's lock.
    #[error(
        "another ai-tools command (a codegen run, accept, undo or re-diff) is working on task {0}; try again when it ends"
    )]
    Busy(PathBuf),
    /// The task dir is unsafe to use (a symlinked entry, a malformed id) or unreadable.
    #[error(transparent)]
    Task(TaskError),
    /// No accept to undo.
    #[error("nothing to undo: no accept of this task is recorded under {0}")]
    NothingToUndo(PathBuf),
    /// Files changed since the accept that undo would restore.
    #[error(
        "undo of accept {number} refused: {} changed since that accept wrote them, and undo never \
         overwrites an edit; put them back as the accept left them, or restore by hand from {}",
        files.join(", "),
        dir.display()
    )]
    UndoRefused {
        /// The accept number.
        number: u32,
        /// The changed files.
        files: Vec<String>,
        /// Its snapshot directory.
        dir: PathBuf,
    },
    /// code/diff.patch does not match what it is derived from ([`provenance`]).
    #[error(
        "code/diff.patch does not match code/files/ for {path}: {why}; nothing was applied. Re-derive it with `ai-tools hunks --rediff` and review again"
    )]
    NotDerived {
        /// The file section that does not match.
        path: String,
        /// What does not match.
        why: String,
    },
    /// The accept journal is unreadable.
    #[error("accept journal {}: {message}", path.display())]
    Journal {
        /// Where.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A read or write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// state.json could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// diff.patch could not be re-derived.
    #[error(transparent)]
    Patch(#[from] PatchError),
}

impl ReviewError {
    /// Process exit code for one-shot front ends: 2 bad input, 4 refused because files
    /// changed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReviewError::NoPatch
            | ReviewError::UnknownHunks(_)
            | ReviewError::AmbiguousHunk(..)
            | ReviewError::UnknownFiles(_)
            | ReviewError::NotGit(_)
            | ReviewError::NothingToUndo(_)
            | ReviewError::Task(TaskError::Unsafe { .. } | TaskError::BadId { .. })
            | ReviewError::BadReason(_)
            | ReviewError::NotDerived { .. }
            | ReviewError::UnknownAccept(_)
            | ReviewError::State(StateError::Corrupt { .. }) => 2,
            ReviewError::UndoRefused { .. } => EXIT_DRIFT,
            _ => 1,
        }
    }
}

impl From<TaskError> for ReviewError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Busy(root) => ReviewError::Busy(root),
            e => ReviewError::Task(e),
        }
    }
}

/// Takes the task lock for a review operation, waiting up to [`REVIEW_WAIT`] for another
/// process (a codegen run holds it for the whole run).
///
/// # Errors
/// [`ReviewError::Busy`] when it stays held; [`ReviewError::Task`] when the task layout holds a
/// symlink or the lock file cannot be opened.
pub fn lock(task: &TaskDir) -> Result<TaskLock, ReviewError> {
    Ok(TaskLock::acquire_within(task, REVIEW_WAIT)?)
}

/// Re-derives diff.patch ([`rediff::rediff_locked`]) against the working tree (under the task lock, after recovery).
///
/// # Errors
/// [`ReviewError`] when the lock is held, the manifest is missing, or a write fails.
pub fn rediff(task: &TaskDir, repo: &Path) -> Result<RediffReport, ReviewError> {
    let _lock = crate::review::lock(task)?;
    undo::recover_locked(task, repo)?;
    let old = match rediff::load_patch(task) {
        Ok(p) => p,
        Err(ReviewError::NoPatch | ReviewError::Parse(_)) => patchset::PatchSet::default(),
        Err(e) => return Err(e),
    };
    let drift = rediff::drifted(&old, repo);
    let mut st = TaskState::load(task)?;
    let known: HashSet<String> = old.ids().map(str::to_owned).collect();
    rediff::rediff_locked(task, repo, &mut st, None, &drift, &known)
}
