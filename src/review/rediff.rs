//! Re-deriving code/diff.patch against the working tree as it is now: after an accept, an undo
//! or a recovery, and on request after drift (`ai-tools hunks --rediff`).
//!
//! Invariants: code/files is never changed here (it stays the generated source of truth); each
//! re-derived file's base in state.json and under code/base/ is replaced by the one its new
//! section was made against, and a file outside the re-diff's scope keeps all three; a hunk of
//! a drifted file that neither the previous diff nor state.json knew starts rejected (see the
//! [`crate::review`] invariants).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::codegen::diff::{Backend, FileStat};
use crate::codegen::patch;
use crate::review::patchset::{self, FileAction, HunkKind, PatchSet};
use crate::review::{ReviewError, tree};
use crate::task::TaskDir;
use crate::task::fsio::{self, SafeDir};
use crate::task::state::TaskState;

/// What a re-diff produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RediffReport {
    /// Files in the new diff.
    pub files: usize,
    /// Hunks in the new diff.
    pub hunks: usize,
    /// New hunks of drifted files that start rejected.
    pub reset: Vec<String>,
    /// Per-file numbers of the new diff (for [`crate::orchestrator::Event::DiffReady`]).
    #[serde(skip)]
    pub stats: Vec<FileStat>,
}

/// Reads and parses code/diff.patch.
///
/// # Errors
/// [`ReviewError::NoPatch`] when it is missing, [`ReviewError::Parse`], or a read error.
pub fn load_patch(task: &TaskDir) -> Result<PatchSet, ReviewError> {
    let path = task.diff_patch();
    match std::fs::read(&path) {
        Ok(bytes) => Ok(patchset::parse(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ReviewError::NoPatch),
        Err(source) => Err(crate::task::fsio::WriteError::Io { path, source }.into()),
    }
}

/// The paths of `patch` whose working-tree file is no longer the base the patch was made
/// against.
pub fn drifted(patch: &PatchSet, repo: &Path) -> HashSet<String> {
    let t = SafeDir::new(repo);
    patch
        .files
        .iter()
        .filter(|f| {
            let cur = tree::read(&t, &f.path).ok().flatten();
            match f.action {
                FileAction::Create => cur.is_some(),
                _ => f.old_blob.as_ref().is_some_and(|b| cur.as_ref().is_none_or(|c| &c.blob() != b)),
            }
        })
        .map(|f| f.path.to_string())
        .collect()
}

/// The re-diff itself; the caller holds the lock. With `scope`, only those paths are
/// re-derived: every other file keeps its section of the current diff.patch, its base entry and
/// its kept base blob, so drift in a file this operation did not touch is still detected (and a
/// refused file stays refused) until an explicit full re-diff. Saves `st`.
pub(crate) fn rediff_locked(
    task: &TaskDir,
    repo: &Path,
    st: &mut TaskState,
    scope: Option<&HashSet<String>>,
    drifted: &HashSet<String>,
    known: &HashSet<String>,
) -> Result<RediffReport, ReviewError> {
    let (d, bases) = patch::derive_with_bases(task, repo, Backend::default())?;
    let fresh = patchset::parse(&d.patch)?;
    let (bytes, stats) = match scope {
        None => {
            st.base = d.base;
            (d.patch, d.stats)
        }
        Some(paths) => {
            let old_bytes = std::fs::read(task.diff_patch()).unwrap_or_default();
            let old = patchset::parse(&old_bytes).unwrap_or_default();
            let mut sections: BTreeMap<&str, &[u8]> = BTreeMap::new();
            for f in old.files.iter().filter(|f| !paths.contains(f.path.as_str())) {
                sections.insert(f.path.as_str(), &old_bytes[f.span.clone()]);
            }
            for f in fresh.files.iter().filter(|f| paths.contains(f.path.as_str())) {
                sections.insert(f.path.as_str(), &d.patch[f.span.clone()]);
            }
            for (p, b) in d.base {
                if paths.contains(&p) {
                    st.base.insert(p, b);
                }
            }
            let kept: Vec<FileStat> = d.stats.into_iter().filter(|s| paths.contains(s.path.as_str())).collect();
            let mut stats: Vec<FileStat> = old
                .files
                .iter()
                .filter(|f| !paths.contains(f.path.as_str()))
                .map(|f| FileStat {
                    path: f.path.clone(),
                    additions: f.hunks.iter().map(|h| h.additions()).sum(),
                    deletions: f.hunks.iter().map(|h| h.deletions()).sum(),
                    hunks: f.hunks.iter().filter(|h| h.kind == HunkKind::Text).count(),
                })
                .chain(kept)
                .collect();
            stats.sort_by(|a, b| a.path.cmp(&b.path));
            (sections.into_values().flat_map(|b| b.iter().copied()).collect(), stats)
        }
    };
    let new = patchset::parse(&bytes)?;
    // Bases first, so every blob diff.patch names is kept before it names it.
    patch::store_bases(task, &bases)?;
    fsio::write_atomic(&task.diff_patch(), &bytes)?;
    patch::prune_bases(task, &new.files.iter().filter_map(|f| f.old_blob.clone()).collect());
    let mut reset = Vec::new();
    for f in new.files.iter().filter(|f| drifted.contains(f.path.as_str())) {
        for h in &f.hunks {
            if !known.contains(&h.id) && !st.hunks.contains_key(&h.id) {
                st.hunks.insert(h.id.clone(), false);
                reset.push(h.id.clone());
            }
        }
    }
    st.save(task)?;
    Ok(RediffReport { files: new.files.len(), hunks: new.ids().count(), reset, stats })
}

/// [`rediff_locked`] when the task has a manifest to diff; otherwise (code/ archived or never
/// generated) only saves `st`.
pub(crate) fn refresh(
    task: &TaskDir,
    repo: &Path,
    st: &mut TaskState,
    scope: &HashSet<String>,
    drifted: &HashSet<String>,
    known: &HashSet<String>,
) -> Result<RediffReport, ReviewError> {
    if task.manifest().is_file() {
        return rediff_locked(task, repo, st, Some(scope), drifted, known);
    }
    st.save(task)?;
    Ok(RediffReport::default())
}
