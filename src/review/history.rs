//! The accept history: listing the journaled accepts, and multi-level undo back to any of them.
//!
//! [`undo_to`] walks the journal newest first, undoing each accept down to and including the
//! one named, so the working tree ends as it was before that accept. It checks the whole walk
//! before writing anything: every file must hold, at each step, what the accept being undone
//! wrote — the newest accept's output must be in the working tree, and an older accept's
//! output must be what the next newer accept found (its `before` side). A file edited since
//! (in the tree, or between two accepts) is named in the refusal (exit code 4) and nothing is
//! restored. Each accept is then undone with its own commit point (see [`crate::review::undo`]),
//! so a kill mid-walk leaves a prefix of the walk done and the rest still undoable.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::review::ReviewError;
use crate::review::accept::Change;
use crate::review::journal::{self, AcceptRecord, Side, Status};
use crate::review::tree::{self, Content};
use crate::review::undo::{self, UndoReport};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;

/// One file of a listed accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedFile {
    /// Repo-relative path.
    pub path: String,
    /// Created, modified or deleted by the accept.
    pub change: Change,
    /// The hunks were merged around edits made since the diff.
    pub merged: bool,
}

/// One accept as `ai-tools accepts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptEntry {
    /// The accept number (`ai-tools undo --to N`).
    pub number: u32,
    /// When it began (UTC).
    pub at: DateTime<Utc>,
    /// The files it wrote, by path.
    pub files: Vec<AcceptedFile>,
    /// The hunk ids that landed.
    pub hunks: Vec<String>,
    /// The git commit made of it, if any (undo leaves it in history).
    pub commit: Option<String>,
    /// Its paths were staged (aggressive mode).
    pub staged: bool,
}

fn change_of(before: Option<&Side>, after: Option<&Side>) -> Change {
    match (before, after) {
        (None, Some(_)) => Change::Created,
        (Some(_), None) => Change::Deleted,
        (Some(b), Some(a)) if b == a => Change::Unchanged,
        (None, None) => Change::Unchanged,
        _ => Change::Modified,
    }
}

impl From<&AcceptRecord> for AcceptEntry {
    fn from(r: &AcceptRecord) -> Self {
        Self {
            number: r.number,
            at: r.at,
            files: r
                .files
                .iter()
                .map(|f| AcceptedFile {
                    path: f.path.to_string(),
                    change: change_of(f.before.as_ref(), f.after.as_ref()),
                    merged: f.drifted,
                })
                .collect(),
            hunks: r.hunks.clone(),
            commit: r.commit.clone(),
            staged: r.staged,
        }
    }
}

/// The accepts that can be undone, oldest first (interrupted ones are rolled back by the next
/// review operation and are not listed).
///
/// # Errors
/// [`ReviewError::Journal`] for an unreadable journal.
pub fn accepts(task: &TaskDir) -> Result<Vec<AcceptEntry>, ReviewError> {
    Ok(journal::records(task)?.iter().filter(|r| r.status == Status::Done).map(AcceptEntry::from).collect())
}

/// Undoes accepts newest first down to and including accept `n` (see the module docs);
/// returns one report per accept undone, in the order undone.
///
/// # Errors
/// [`ReviewError::UnknownAccept`] when no done accept has number `n`;
/// [`ReviewError::UndoRefused`] naming every file edited since (nothing is written then);
/// lock, journal and I/O errors.
pub fn undo_to(task: &TaskDir, repo: &Path, n: u32) -> Result<Vec<UndoReport>, ReviewError> {
    let _lock = crate::review::lock(task)?;
    let recovered = undo::recover_locked(task, repo)?;
    let walk: Vec<AcceptRecord> =
        journal::records(task)?.into_iter().filter(|r| r.status == Status::Done && r.number >= n).rev().collect();
    if walk.last().is_none_or(|r| r.number != n) {
        return Err(ReviewError::UnknownAccept(n));
    }
    check_walk(task, repo, &walk)?;
    let mut out = Vec::with_capacity(walk.len());
    for rec in walk {
        out.push(undo::undo_locked(task, repo, rec)?);
    }
    if let Some(first) = out.first_mut() {
        first.recovered = recovered;
    }
    Ok(out)
}

/// Refuses the walk (newest first) when a file does not hold, at some step, what the accept
/// undone there wrote.
fn check_walk(task: &TaskDir, repo: &Path, walk: &[AcceptRecord]) -> Result<(), ReviewError> {
    let t = SafeDir::new(repo);
    // What each file holds at this point of the walk: `None` = not yet read from the tree.
    let mut expected: BTreeMap<String, Option<Side>> = BTreeMap::new();
    let mut changed: Vec<(u32, String)> = Vec::new();
    for rec in walk {
        for f in &rec.files {
            let key = f.path.to_string();
            let ok = match expected.get(&key) {
                Some(side) => match (side, &f.after) {
                    (None, None) => true,
                    (Some(s), Some(a)) => same(s, a),
                    _ => false,
                },
                None => {
                    let cur: Result<Option<Content>, _> = tree::read(&t, &f.path);
                    cur.is_ok_and(|c| Side::matches(f.after.as_ref(), c.as_ref()))
                }
            };
            if !ok && !changed.iter().any(|(_, p)| p == &key) {
                changed.push((rec.number, key.clone()));
            }
            expected.insert(key, f.before.clone());
        }
    }
    let Some((number, _)) = changed.first() else { return Ok(()) };
    let number = *number;
    Err(ReviewError::UndoRefused {
        number,
        files: changed.into_iter().map(|(_, p)| p).collect(),
        dir: task.accepts_dir().join(number.to_string()),
    })
}

/// Two sides with the same bytes and the same executable bit (as [`Side::matches`] compares).
fn same(a: &Side, b: &Side) -> bool {
    a.blob == b.blob && (a.mode & 0o111 != 0) == (b.mode & 0o111 != 0)
}
