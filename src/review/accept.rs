//! The accept engine: the selected hunks of code/diff.patch into the working tree.
//!
//! Order of work (each step's failure leaves the previous state; see [`crate::review::journal`]
//! for why a kill at any point resolves to old-or-new per file):
//! 1. under the task lock, recover an interrupted accept or undo;
//! 2. resolve the selection and plan every file in memory: the base with the selected hunks
//!    applied, merged onto the current file after drift ([`crate::review::merge`]); a file that
//!    cannot take its hunks cleanly is refused and never written;
//! 3. journal the plan with the pre-accept bytes (`accepts/<n>/`, status pending);
//! 4. write each file (temp + rename, mode set) or delete it;
//! 5. record the landed hunks in state.json and re-derive diff.patch against the new tree;
//! 6. mark the record done — the commit point; then commit or stage with git when asked.

use std::collections::HashSet;
use std::path::Path;

use chrono::Utc;
use serde::Serialize;

use crate::codegen::diff::FileStat;
use crate::codegen::patch;
use crate::review::git::Git;
use crate::review::journal::{self, AcceptRecord, JournalFile, Side, Status};
use crate::review::merge::{self, Conflict};
use crate::review::patchset::{FileAction, FilePatch, Hunk, HunkKind, PatchSet};
use crate::review::rediff::{RediffReport, load_patch, refresh};
use crate::review::tree::{self, Content};
use crate::review::undo::{self, RecoveryReport};
use crate::review::view::{HunkState, resolve_ids};
use crate::review::{EXIT_DRIFT, ReviewError};
use crate::task::TaskDir;
use crate::task::fsio::{SafeDir, WriteError};
use crate::task::relpath::RelPath;
use crate::task::state::TaskState;

/// Which hunks to accept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// The hunks whose review state is accepted (the default): explicitly accepted ones, and
    /// undecided ones of files without open findings the run introduced
    /// ([`crate::review::findings`]); unreviewed hunks of held files are left out.
    #[default]
    Accepted,
    /// Every hunk, whatever its state.
    All,
    /// These hunk ids (full or unique prefixes), whatever their state.
    Hunks(Vec<String>),
    /// Every hunk of these paths, whatever their state.
    Files(Vec<String>),
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcceptOptions {
    /// The hunks.
    pub selection: Selection,
    /// Commit exactly the accepted paths afterwards (needs git).
    pub commit: bool,
    /// Commit message; default: the plan title (first `# ` heading of planning/plan.md).
    pub message: Option<String>,
    /// Stage the accepted paths (aggressive mode); ignored outside git.
    pub stage: bool,
}

/// What happened to a landed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It did not exist and now does.
    Created,
    /// Its content or mode changed.
    Modified,
    /// It was deleted.
    Deleted,
    /// It already held the result.
    Unchanged,
}

/// A file whose hunks landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandedFile {
    /// Repo-relative path.
    pub path: String,
    /// What happened to it.
    pub change: Change,
    /// Hunk ids that landed.
    pub hunks: Vec<String>,
    /// The file had drifted and the hunks were merged around the edit.
    pub merged: bool,
}

/// A file that was refused and left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileConflict {
    /// Repo-relative path.
    pub path: String,
    /// The selected hunk ids that did not land.
    pub hunks: Vec<String>,
    /// Why.
    pub reason: String,
}

/// The commit an accept made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Commit id.
    pub id: String,
    /// Its message.
    pub message: String,
    /// The paths it commits.
    pub paths: Vec<String>,
}

/// What an accept did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AcceptReport {
    /// The accept number (`accepts/<n>/`), `None` when nothing landed.
    pub accept: Option<u32>,
    /// Files whose hunks landed, by path.
    pub landed: Vec<LandedFile>,
    /// Files refused because they changed since the diff, by path.
    pub conflicts: Vec<FileConflict>,
    /// Every hunk id that landed.
    pub hunks: Vec<String>,
    /// The commit, with `--commit`.
    pub commit: Option<CommitInfo>,
    /// Paths staged (aggressive mode).
    pub staged: Vec<String>,
    /// A git step that failed after the accept itself succeeded.
    pub git_error: Option<String>,
    /// Hunks left in the re-derived diff.
    pub remaining: usize,
    /// New hunks of drifted files that start rejected after the re-diff.
    pub reset: Vec<String>,
    /// Files a bare accept left unreviewed hunks of, because they have open findings the run
    /// introduced; accept them with an explicit selection.
    pub held: Vec<String>,
    /// An interrupted accept or undo rolled back first.
    pub recovered: Option<RecoveryReport>,
    /// Per-file numbers of the re-derived diff.
    #[serde(skip)]
    pub stats: Vec<FileStat>,
}

impl AcceptReport {
    /// Process exit code: 4 when a file was refused, 1 when git failed, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.conflicts.is_empty() {
            EXIT_DRIFT
        } else if self.git_error.is_some() {
            1
        } else {
            0
        }
    }

    /// What to do about refused files.
    pub fn suggestion(&self) -> Option<&'static str> {
        (!self.conflicts.is_empty()).then_some(
            "the refused files were edited since the diff and were left as they are: run `/redo codegen` \
             (`ai-tools codegen --redo`) so generation sees the edits, or re-diff (`ai-tools hunks --rediff`) \
             and review the hunks against the files as they are now",
        )
    }
}

/// One file's planned landing.
struct FilePlan {
    path: RelPath,
    before: Option<Content>,
    after: Option<Content>,
    hunks: Vec<String>,
    drifted: bool,
}

impl FilePlan {
    fn writes(&self) -> bool {
        self.before != self.after
    }

    fn change(&self) -> Change {
        match (&self.before, &self.after) {
            _ if !self.writes() => Change::Unchanged,
            (None, Some(_)) => Change::Created,
            (Some(_), None) => Change::Deleted,
            _ => Change::Modified,
        }
    }
}

/// Applies the selected hunks (see the module docs).
///
/// # Errors
/// [`ReviewError`] for bad selections (nothing is written), a held lock, a missing or
/// unparsable diff.patch, `--commit` outside git, or a write failure (the files written so far
/// are rolled back before returning). Files refused for drift are not errors: see
/// [`AcceptReport::conflicts`] and [`AcceptReport::exit_code`].
pub fn accept(task: &TaskDir, repo: &Path, opts: &AcceptOptions) -> Result<AcceptReport, ReviewError> {
    let _lock = crate::review::lock(task)?;
    let recovered = undo::recover_locked(task, repo)?;
    let patch = load_patch(task)?;
    crate::review::provenance::check(task, repo, &patch)?;
    let mut st = TaskState::load(task)?;
    let git = if opts.commit || opts.stage { Git::discover(repo) } else { None };
    if opts.commit && git.is_none() {
        return Err(ReviewError::NotGit(repo.to_path_buf()));
    }
    let held = crate::review::findings::introduced(task)?;
    let selected = select(&patch, &st, &held, &opts.selection)?;
    let tree = SafeDir::new(repo);
    let held_paths = match opts.selection {
        Selection::Accepted => patch
            .files
            .iter()
            .filter(|f| held.contains_key(f.path.as_str()) && f.hunks.iter().any(|h| !st.hunks.contains_key(&h.id)))
            .map(|f| f.path.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let mut report =
        AcceptReport { recovered, remaining: patch.ids().count(), held: held_paths, ..AcceptReport::default() };
    let mut plans = Vec::new();
    for (f, hunks) in &selected {
        match plan_file(task, &tree, git.as_ref(), f, hunks)? {
            Ok(p) => plans.push(p),
            Err(c) => report.conflicts.push(c),
        }
    }
    if plans.is_empty() {
        return Ok(report);
    }
    // Paths that already held uncommitted changes: committing or staging them would take the
    // user's own edits along, so they land in the working tree but stay out of git.
    let dirty = match &git {
        Some(g) => g.dirty(&plans.iter().map(|p| &p.path).collect::<Vec<_>>())?,
        None => Vec::new(),
    };

    let n = journal::next_number(task)?;
    let mut rec = AcceptRecord {
        version: 1,
        number: n,
        status: Status::Pending,
        at: Utc::now(),
        files: plans
            .iter()
            .map(|p| JournalFile {
                path: p.path.clone(),
                before: p.before.as_ref().map(Side::of),
                after: p.after.as_ref().map(Side::of),
                drifted: p.drifted,
            })
            .collect(),
        hunks: plans.iter().flat_map(|p| p.hunks.iter().cloned()).collect(),
        commit: None,
        staged: false,
        nonce: None,
    };
    let befores: Vec<(&RelPath, &Content)> =
        plans.iter().filter(|p| p.writes()).filter_map(|p| p.before.as_ref().map(|c| (&p.path, c))).collect();
    journal::begin(task, &mut rec, &befores)?;

    let rd = match land(task, repo, &tree, &plans, &patch, &mut st, &mut rec) {
        Ok(rd) => rd,
        Err(e) => {
            // Put back what was written; the record is still pending.
            undo::recover_locked(task, repo)?;
            return Err(e);
        }
    };

    report.accept = Some(n);
    report.hunks = rec.hunks.clone();
    report.remaining = rd.hunks;
    report.reset = rd.reset;
    report.stats = rd.stats;
    report.landed = plans
        .iter()
        .map(|p| LandedFile {
            path: p.path.to_string(),
            change: p.change(),
            hunks: p.hunks.clone(),
            merged: p.drifted && p.writes(),
        })
        .collect();

    let paths: Vec<&RelPath> = plans.iter().map(|p| &p.path).filter(|p| !dirty.contains(p)).collect();
    if !dirty.is_empty() {
        let names: Vec<String> = dirty.iter().map(ToString::to_string).collect();
        report.git_error = Some(format!(
            "not {} (they had uncommitted changes before this accept, which would have gone along): {}; \
             review them with `git diff` and commit them yourself",
            if opts.commit { "committed" } else { "staged" },
            names.join(", ")
        ));
    }
    if let Some(git) = &git {
        if opts.commit {
            let message = opts.message.clone().unwrap_or_else(|| plan_title(task));
            match git.commit_only(&paths, &message) {
                Ok(Some(id)) => {
                    rec.commit = Some(id.clone());
                    journal::set_status(task, &mut rec, Status::Done)?;
                    report.commit =
                        Some(CommitInfo { id, message, paths: paths.iter().map(ToString::to_string).collect() });
                }
                Ok(None) => {}
                Err(e) => report.git_error = Some(e.to_string()),
            }
        }
        if opts.stage && !paths.is_empty() {
            match git.stage(&paths) {
                Ok(()) => {
                    rec.staged = true;
                    journal::set_status(task, &mut rec, Status::Done)?;
                    report.staged = paths.iter().map(ToString::to_string).collect();
                }
                Err(e) => report.git_error = Some(e.to_string()),
            }
        }
    }
    Ok(report)
}

/// Steps 4–6 of the module docs up to the commit point: write, record, re-diff, mark done.
fn land(
    task: &TaskDir,
    repo: &Path,
    tree: &SafeDir,
    plans: &[FilePlan],
    patch: &PatchSet,
    st: &mut TaskState,
    rec: &mut AcceptRecord,
) -> Result<RediffReport, ReviewError> {
    for p in plans.iter().filter(|p| p.writes()) {
        tree::put(tree, &p.path, p.after.as_ref())?;
    }
    for id in &rec.hunks {
        st.landed.insert(id.clone(), rec.number);
    }
    let scope: HashSet<String> = plans.iter().map(|p| p.path.to_string()).collect();
    let drifted: HashSet<String> = plans.iter().filter(|p| p.drifted).map(|p| p.path.to_string()).collect();
    let known: HashSet<String> = patch.ids().map(str::to_owned).collect();
    let rd = refresh(task, repo, st, &scope, &drifted, &known)?;
    journal::set_status(task, rec, Status::Done)?;
    Ok(rd)
}

/// The plan title: the first `# ` heading of planning/plan.md, else the task's name.
pub fn plan_title(task: &TaskDir) -> String {
    let slug = task.slug();
    std::fs::read_to_string(task.plan_md()).map_or_else(|_| slug.clone(), |t| crate::plan::title_of(&t, &slug))
}

/// The selected hunks grouped by file, in patch order, files without any left out.
fn select<'p>(
    patch: &'p PatchSet,
    st: &TaskState,
    held: &std::collections::BTreeMap<String, Vec<crate::report::ValidationReport>>,
    sel: &Selection,
) -> Result<Vec<(&'p FilePatch, Vec<&'p Hunk>)>, ReviewError> {
    let ids: HashSet<String> = match sel {
        Selection::Accepted => patch
            .files
            .iter()
            .flat_map(|f| {
                let h = held.contains_key(f.path.as_str());
                f.hunks.iter().filter(move |x| HunkState::of(st, &x.id, h) == HunkState::Accepted)
            })
            .map(|x| x.id.clone())
            .collect(),
        Selection::All => patch.ids().map(str::to_owned).collect(),
        Selection::Hunks(ids) => resolve_ids(patch, ids)?.into_iter().collect(),
        Selection::Files(paths) => {
            let mut ids = HashSet::new();
            let mut unknown = Vec::new();
            for p in paths {
                let p = p.trim();
                match patch.file(p.strip_prefix("./").unwrap_or(p)) {
                    Some(f) => ids.extend(f.hunks.iter().map(|h| h.id.clone())),
                    None => unknown.push(format!("`{p}`")),
                }
            }
            if !unknown.is_empty() {
                return Err(ReviewError::UnknownFiles(unknown.join(", ")));
            }
            ids
        }
    };
    Ok(patch
        .files
        .iter()
        .map(|f| (f, f.hunks.iter().filter(|h| ids.contains(&h.id)).collect::<Vec<_>>()))
        .filter(|(_, h)| !h.is_empty())
        .collect())
}

fn describe(c: &Conflict) -> String {
    match c {
        Conflict::Stale { hunk } => {
            format!("hunk {hunk} does not match the base code/diff.patch was made against")
        }
        Conflict::Overlap { hunks } => {
            let parts: Vec<String> = hunks
                .iter()
                .map(|(id, lines)| {
                    if lines.end - lines.start <= 1 {
                        format!("hunk {id} (edit at line {})", lines.start)
                    } else {
                        format!("hunk {id} (edit at lines {}-{})", lines.start, lines.end - 1)
                    }
                })
                .collect();
            format!("changed since the diff, and the edit touches {}", parts.join(", "))
        }
    }
}

/// Plans one file: `Ok(Err(_))` when it must be refused.
fn plan_file(
    task: &TaskDir,
    tree: &SafeDir,
    git: Option<&Git>,
    f: &FilePatch,
    hunks: &[&Hunk],
) -> Result<Result<FilePlan, FileConflict>, ReviewError> {
    let ids: Vec<String> = hunks.iter().map(|h| h.id.clone()).collect();
    let refuse = |reason: String| Ok(Err(FileConflict { path: f.path.to_string(), hunks: ids.clone(), reason }));
    let current = match tree::read(tree, &f.path) {
        Ok(c) => c,
        Err(e @ (WriteError::Symlink { .. } | WriteError::NotADirectory { .. } | WriteError::IsDirectory(_))) => {
            return refuse(e.to_string());
        }
        Err(e) => return Err(e.into()),
    };
    let text: Vec<&Hunk> = hunks.iter().copied().filter(|h| h.kind == HunkKind::Text).collect();
    let drifted = match f.action {
        FileAction::Create => current.is_some(),
        _ => f.old_blob.as_ref().is_some_and(|b| current.as_ref().is_none_or(|c| &c.blob() != b)),
    };
    let after = match f.action {
        FileAction::Create => {
            let new = match merge::apply(b"", b"", &text) {
                Ok(bytes) => Content { bytes, mode: f.new_mode.unwrap_or(0o644) },
                Err(c) => return refuse(describe(&c)),
            };
            match &current {
                Some(cur) if cur.bytes == new.bytes => Some(cur.clone()),
                Some(cur) => match merge::apply(b"", &cur.bytes, &text) {
                    Ok(bytes) => Some(Content { bytes, ..new }),
                    Err(_) => {
                        return refuse("did not exist at the diff and was created since; it is left as it is".into());
                    }
                },
                None => Some(new),
            }
        }
        FileAction::Delete if drifted && current.is_some() => {
            return refuse("changed since the diff; deleting it would lose the edit".into());
        }
        FileAction::Delete => None,
        FileAction::Modify => {
            let Some(cur) = &current else {
                return refuse("was deleted since the diff; restore it or re-diff".into());
            };
            let bytes = if text.is_empty() {
                cur.bytes.clone()
            } else {
                let base = if drifted {
                    f.old_blob.as_deref().and_then(|b| patch::stored_base(task, b).or_else(|| git?.blob(b)))
                } else {
                    Some(cur.bytes.clone())
                };
                let Some(base) = base else {
                    return refuse(
                        "changed since the diff, and the base to merge with is not kept (code/base/)".into(),
                    );
                };
                match merge::apply(&base, &cur.bytes, &text) {
                    Ok(b) => b,
                    Err(c) => return refuse(describe(&c)),
                }
            };
            let mut mode = cur.mode;
            if hunks.iter().any(|h| h.kind == HunkKind::Mode) {
                let want_x = f.new_mode.is_some_and(|m| m & 0o111 != 0);
                mode = if want_x { mode | ((mode & 0o444) >> 2) } else { mode & !0o111 };
            }
            Some(Content { bytes, mode })
        }
    };
    Ok(Ok(FilePlan { path: f.path.clone(), before: current, after, hunks: ids, drifted }))
}
