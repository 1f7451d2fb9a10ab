//! `<task>/accepts/`: the accept journal and the undo snapshots. (Whoever accepts, undoes or
//! recovers holds the task lock, [`crate::task::TaskLock`].)
//!
//! ```text
//! accepts/<n>/accept.json       AcceptRecord: status, files with before/after blob + mode, hunks
//! accepts/<n>/before/<path>     the pre-accept bytes of every file accept n touched that existed
//! accepts/.tmp-<n>-<pid>/       a journal being written (published by one rename)
//! accepts/.trash-<n>-<pid>/     a journal being removed (after one rename)
//! ```
//!
//! Invariants:
//! - a numbered directory appears whole: it is built under `.tmp-*` (files synced) and renamed
//!   into place, so `accept.json` and every snapshot it names exist together, before the first
//!   working-tree write of that accept;
//! - a record's status is the commit point: `pending` (working-tree writes may be under way),
//!   `done` (the accept happened), `undoing` (an undo may be under way). Anything but `done` is
//!   rolled back to the `before` side by recovery, which is the same operation as finishing an
//!   undo, so a kill at any moment resolves to old-or-new per file and to one consistent state;
//! - numbered directories are removed by renaming them to `.trash-*` first, so a record never
//!   loses its snapshots while still looking like a record;
//! - the journal is read as untrusted data: a directory counts as record `n` only when its name
//!   is `n` in canonical decimal ([`ids::accept_number`]) and it is a real directory (not a
//!   symlink); cleanup removes only real directories named like its own scratch
//!   ([`ids::is_journal_scratch`]); every path goes through [`TaskDir::checked`].
//!
//! The snapshot files are written with plain writes inside the fresh `.tmp-*` directory, then
//! synced together: that directory is private until the rename publishes it, which is the
//! atomic step, and paths are [`RelPath`]s joined under it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::review::tree::Content;
use crate::review::{ReviewError, owner};
use crate::task::fsio::{self, SafeDir};
use crate::task::relpath::RelPath;
use crate::task::{TaskDir, ids};

/// The record file in each accept directory.
pub const RECORD: &str = "accept.json";

/// Where an accept stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Working-tree writes may be under way; not yet an accept.
    Pending,
    /// The accept happened; undo can restore its `before` side.
    Done,
    /// An undo began; its files may be partly restored.
    Undoing,
}

/// One side of a journaled file: its git blob id and permission bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// Git blob id of the bytes.
    pub blob: String,
    /// Permission bits (`0o644` style).
    pub mode: u32,
}

impl Side {
    /// The side of `content`.
    pub fn of(content: &Content) -> Self {
        Self { blob: content.blob(), mode: content.mode }
    }

    /// Whether `content` is this side (same bytes and the same executable bit).
    pub fn matches(side: Option<&Side>, content: Option<&Content>) -> bool {
        match (side, content) {
            (None, None) => true,
            (Some(s), Some(c)) => s.blob == c.blob() && (s.mode & 0o111 != 0) == (c.mode & 0o111 != 0),
            _ => false,
        }
    }
}

/// One file an accept touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFile {
    /// Repo-relative path.
    pub path: RelPath,
    /// The file before the accept (`None`: absent); its bytes are under `before/<path>`.
    pub before: Option<Side>,
    /// The file the accept wrote (`None`: deleted).
    pub after: Option<Side>,
    /// The file had changed since the diff and the hunks were merged around the edit.
    #[serde(default)]
    pub drifted: bool,
}

/// `accepts/<n>/accept.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptRecord {
    /// Format version.
    pub version: u32,
    /// The accept number `n` (1-based).
    pub number: u32,
    /// Commit point (see the module invariants).
    pub status: Status,
    /// When the accept began.
    pub at: DateTime<Utc>,
    /// Files touched, sorted by path.
    pub files: Vec<JournalFile>,
    /// Hunk ids that landed.
    pub hunks: Vec<String>,
    /// The git commit made of it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Its paths were staged (aggressive mode); undo unstages them.
    #[serde(default)]
    pub staged: bool,
    /// The random nonce registered for it in the user's state dir ([`crate::review::owner`]);
    /// set by [`begin`]. A record without a registered nonce is not this machine's and is
    /// ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
    move |e| ReviewError::Journal { path: path.to_path_buf(), message: e.to_string() }
}

/// A task-checked path under `accepts/` (see the module invariants).
fn accepts_path(task: &TaskDir, rel: &str) -> Result<PathBuf, ReviewError> {
    Ok(task.checked(&if rel.is_empty() { "accepts".to_owned() } else { format!("accepts/{rel}") })?)
}

fn record_dir(task: &TaskDir, n: u32) -> Result<PathBuf, ReviewError> {
    accepts_path(task, &n.to_string())
}

/// Every record under `accepts/`, ascending by number.
///
/// # Errors
/// [`ReviewError::Journal`] for an unreadable directory or record.
pub fn records(task: &TaskDir) -> Result<Vec<AcceptRecord>, ReviewError> {
    Ok(all_records(task)?.into_iter().filter(|r| owner::owned(task, r.nonce.as_deref())).collect())
}

/// Every record on disk, this machine's or not (for numbering and diagnostics: never replay
/// or undo from this list, see [`crate::review::owner`]).
///
/// # Errors
/// As [`records`].
pub fn all_records(task: &TaskDir) -> Result<Vec<AcceptRecord>, ReviewError> {
    let dir = accepts_path(task, "")?;
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir)(e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Some(n) = e.file_name().to_str().and_then(ids::accept_number) else { continue };
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            return Err(ReviewError::Journal {
                path: e.path(),
                message: "an accept record must be a directory, and this is a symlink or a file; remove it".into(),
            });
        }
        let path = accepts_path(task, &format!("{n}/{RECORD}"))?;
        let bytes = fs::read(&path).map_err(io(&path))?;
        let rec: AcceptRecord = serde_json::from_slice(&bytes)
            .map_err(|err| ReviewError::Journal { path: path.clone(), message: err.to_string() })?;
        if rec.number != n {
            return Err(ReviewError::Journal { path, message: format!("records accept {}", rec.number) });
        }
        out.push(rec);
    }
    out.sort_by_key(|r| r.number);
    Ok(out)
}

/// The number the next accept gets: one past the highest recorded.
///
/// # Errors
/// As [`records`].
pub fn next_number(task: &TaskDir) -> Result<u32, ReviewError> {
    Ok(all_records(task)?.last().map_or(1, |r| r.number + 1))
}

/// Publishes `rec` (status pending) with the `before` snapshots of its files, after giving it a
/// nonce registered in the user's state dir ([`crate::review::owner::register`]).
///
/// # Errors
/// [`ReviewError::Journal`]; nothing is published then.
pub fn begin(task: &TaskDir, rec: &mut AcceptRecord, befores: &[(&RelPath, &Content)]) -> Result<(), ReviewError> {
    rec.nonce = Some(owner::register(task)?);
    let accepts = accepts_path(task, "")?;
    let tmp = accepts_path(task, &format!(".tmp-{}-{}", rec.number, std::process::id()))?;
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let before = tmp.join("before");
    fs::create_dir_all(&before).map_err(io(&before))?;
    let mut opened = Vec::with_capacity(befores.len() + 1);
    for (rel, content) in befores {
        let path = rel.join_to(&before);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut f = fs::File::create(&path).map_err(io(&path))?;
        f.write_all(&content.bytes).map_err(io(&path))?;
        opened.push((path, f));
    }
    let path = tmp.join(RECORD);
    let mut f = fs::File::create(&path).map_err(io(&path))?;
    let json = serde_json::to_vec_pretty(rec).map_err(|e| io(&path)(std::io::Error::other(e)))?;
    f.write_all(&json).map_err(io(&path))?;
    opened.push((path, f));
    for (path, f) in &opened {
        f.sync_all().map_err(io(path))?;
    }
    sync_dir(&tmp);
    let dest = record_dir(task, rec.number)?;
    fs::rename(&tmp, &dest).map_err(io(&dest))?;
    sync_dir(&accepts);
    Ok(())
}

/// Rewrites record `n`'s status (and commit) atomically: the commit point.
///
/// # Errors
/// [`ReviewError::Journal`] or a write error.
pub fn set_status(task: &TaskDir, rec: &mut AcceptRecord, status: Status) -> Result<(), ReviewError> {
    rec.status = status;
    fsio::write_json_atomic(&accepts_path(task, &format!("{}/{RECORD}", rec.number))?, rec)?;
    Ok(())
}

/// The pre-accept bytes of `rel` from accept `n`.
///
/// # Errors
/// [`ReviewError::Journal`] when the snapshot is missing or unreadable.
pub fn before(task: &TaskDir, n: u32, rel: &RelPath) -> Result<Vec<u8>, ReviewError> {
    let dir = SafeDir::new(accepts_path(task, &format!("{n}/before"))?);
    let path = rel.join_to(dir.root());
    match dir.read(rel) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(ReviewError::Journal { path, message: "the snapshot is missing".into() }),
        Err(e) => Err(ReviewError::Journal { path, message: e.to_string() }),
    }
}

/// Removes accept `n`'s directory (renamed aside first, see the module invariants).
///
/// # Errors
/// [`ReviewError::Journal`] when the rename fails; a failed delete after it is left for
/// [`clean_scratch`].
pub fn discard(task: &TaskDir, n: u32) -> Result<(), ReviewError> {
    let dir = record_dir(task, n)?;
    let trash = accepts_path(task, &format!(".trash-{n}-{}", std::process::id()))?;
    fs::rename(&dir, &trash).map_err(io(&dir))?;
    sync_dir(&accepts_path(task, "")?);
    let _ = fs::remove_dir_all(&trash);
    Ok(())
}

/// Removes half-written (`.tmp-*`) and half-removed (`.trash-*`) journal directories; returns
/// how many.
pub fn clean_scratch(task: &TaskDir) -> usize {
    let Ok(dir) = accepts_path(task, "") else { return 0 };
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in entries.flatten() {
        let scratch = e.file_name().to_str().is_some_and(ids::is_journal_scratch);
        if scratch && e.file_type().is_ok_and(|t| t.is_dir()) && fs::remove_dir_all(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

fn sync_dir(dir: &Path) {
    // Durability of renames against power loss; best effort (some filesystems refuse).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
