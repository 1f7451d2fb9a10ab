//! The task directory: where a plan comes in and generated code goes out.
//!
//! ```text
//! <repo>/.ai-tools/tasks/<slug>/
//!   planning/plan.md            narrative plan (required)
//!   planning/plan.files.json    per-file plan (required)
//!   planning/planning.ai.json   structured plan details (optional)
//!   review/plan-review.json     plan review caveats (optional)
//!   code/files/<path>           generated files: the single source of truth
//!   code/manifest.json          targets and actions of the run that wrote code/files
//!   code/diff.patch             unified diff of code/files against the working tree (derived)
//!   code/base/<blob id>         the bytes diff.patch was made against, for merging after drift
//!   code/archive/<run-id>/      earlier outputs moved aside by a redo
//!   state.json                  phase, stage, run id, base hashes, per-file status
//!   logs/                       run logs and provider transcripts
//!   accepts/<n>/                pre-accept snapshots for undo
//! ```
//!
//! Invariants:
//! - every path a [`TaskDir`] hands out is inside its root;
//! - a task dir is untrusted data (tasks are committed and cloned with the repo): nothing under
//!   it is followed through a symlink. Every path the program opens under a task goes through
//!   [`TaskDir::checked`] (or [`TaskDir::safe_dir`]), which refuses a symlinked component;
//!   taking the task lock ([`lock::TaskLock`]) also checks the whole fixed layout
//!   ([`TaskDir::check_layout`]), so a command that mutates a task refuses a planted symlink
//!   before it reads or writes anything;
//! - every id read from disk is checked against its format ([`ids`]) before it becomes a path
//!   segment, and cleanup deletes only entries whose names it could have written.
//!
//! The plain accessors ([`TaskDir::files_dir`], [`TaskDir::diff_patch`], …) are lexical: use them
//! for display, or after the layout check of a held lock.

pub mod fsio;
pub mod ids;
pub mod lock;
pub mod relpath;
pub mod state;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use lock::{RunLock, TaskLock};

use crate::task::fsio::WriteError;

/// Where tasks live under a repo.
pub const TASKS_DIR: &str = ".ai-tools/tasks";

/// A task directory (see the module docs for its layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDir {
    root: PathBuf,
}

/// Failure to find or create a task.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No task under the repo and none given.
    #[error("no task found under {0}")]
    NoTask(PathBuf),
    /// `--task` names something that is not a directory.
    #[error("{0} is not a task directory")]
    NotADirectory(PathBuf),
    /// `task new` with a slug that is not `[a-z0-9._-]+`.
    #[error("`{0}` is not a valid task slug: use letters, digits, `-`, `_` and `.`")]
    BadSlug(String),
    /// Another command (a codegen run, accept, undo, re-diff, a hunk-state change) holds the
    /// task's lock.
    #[error(
        "another ai-tools command (a codegen run, accept, undo or re-diff) is working on task {0}; wait for it to end or stop it"
    )]
    Busy(PathBuf),
    /// An entry of the task dir is a symlink (or a file where the layout has a directory).
    #[error(
        "task {task}: {source}; a task dir is data from the repo, and ai-tools never follows a symlink inside it: replace that entry with a real file or directory (or remove it)"
    )]
    Unsafe {
        /// The task's root.
        task: PathBuf,
        /// Which component, and why.
        #[source]
        source: WriteError,
    },
    /// An id read from the task dir (state.json, a directory name) does not have its format.
    #[error("{file}: `{id}` is not a valid {what}; fix or remove it")]
    BadId {
        /// Where the id was read.
        file: PathBuf,
        /// The id as read (shown escaped).
        id: String,
        /// What kind of id (`run id`, `accept number`, `blob id`).
        what: &'static str,
    },
    /// `task new` over an existing task.
    #[error("task {0} already exists")]
    Exists(PathBuf),
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl From<TaskError> for WriteError {
    /// A task error where a write error is expected: [`TaskError::Unsafe`] gives its component
    /// error; anything else becomes [`WriteError::Io`] carrying the message.
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Unsafe { source, .. } => source,
            TaskError::Io { path, source } => WriteError::Io { path, source },
            other => WriteError::Io {
                path: PathBuf::new(),
                source: io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
            },
        }
    }
}

impl TaskDir {
    /// A task rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The task's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory's name.
    pub fn slug(&self) -> String {
        self.root.file_name().map_or_else(|| "task".into(), |n| n.to_string_lossy().into_owned())
    }

    /// `planning/plan.md`.
    pub fn plan_md(&self) -> PathBuf {
        self.root.join("planning/plan.md")
    }
    /// `planning/plan.files.json`.
    pub fn plan_files_json(&self) -> PathBuf {
        self.root.join("planning/plan.files.json")
    }
    /// `planning/planning.ai.json`.
    pub fn planning_ai_json(&self) -> PathBuf {
        self.root.join("planning/planning.ai.json")
    }
    /// `review/plan-review.json`.
    pub fn plan_review_json(&self) -> PathBuf {
        self.root.join("review/plan-review.json")
    }
    /// `code/`.
    pub fn code_dir(&self) -> PathBuf {
        self.root.join("code")
    }
    /// `code/files/`.
    pub fn files_dir(&self) -> PathBuf {
        self.root.join("code/files")
    }
    /// `code/manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("code/manifest.json")
    }
    /// `code/diff.patch`.
    pub fn diff_patch(&self) -> PathBuf {
        self.root.join("code/diff.patch")
    }
    /// `code/base/`: base blobs kept by the diff stage.
    pub fn base_dir(&self) -> PathBuf {
        self.root.join("code/base")
    }
    /// `code/archive/<run_id>/`, checked: `run_id` must be a run id ([`ids::is_run_id`]) and no
    /// component may be a symlink.
    ///
    /// # Errors
    /// [`TaskError::BadId`] for a malformed id, [`TaskError::Unsafe`] for a symlink.
    pub fn archive_dir(&self, run_id: &str) -> Result<PathBuf, TaskError> {
        if !ids::is_run_id(run_id) {
            return Err(TaskError::BadId { file: self.state_json(), id: format!("{run_id:?}"), what: "run id" });
        }
        self.checked(&format!("code/archive/{run_id}"))
    }
    /// `state.json`.
    pub fn state_json(&self) -> PathBuf {
        self.root.join("state.json")
    }
    /// `logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// `accepts/`.
    pub fn accepts_dir(&self) -> PathBuf {
        self.root.join("accepts")
    }
}

/// Every fixed entry of the task layout (see the module docs), task-relative, parents first:
/// what [`TaskDir::check_layout`] inspects.
pub const LAYOUT: &[&str] = &[
    "planning",
    "planning/plan.md",
    "planning/plan.files.json",
    "planning/planning.ai.json",
    "review",
    "review/plan-review.json",
    "code",
    "code/files",
    "code/manifest.json",
    "code/diff.patch",
    "code/base",
    "code/archive",
    "code/candidates",
    "state.json",
    "logs",
    "logs/provider",
    "accepts",
    lock::LOCK_FILE,
];

impl TaskDir {
    /// `rel` (task-relative, `/`-separated, e.g. `code/diff.patch`) under the root, after
    /// checking that no existing component of it is a symlink and that every existing component
    /// above the last is a directory. The one helper every path the program opens under a task
    /// goes through.
    ///
    /// # Errors
    /// [`TaskError::Unsafe`] naming the component; [`TaskError::BadId`] when `rel` is not a
    /// plain relative path (a caller passed an unchecked id).
    pub fn checked(&self, rel: &str) -> Result<PathBuf, TaskError> {
        fsio::resolve_no_follow(&self.root, rel).map_err(|source| match source {
            WriteError::Io { source: e, .. } if e.kind() == io::ErrorKind::InvalidInput => {
                TaskError::BadId { file: self.root.clone(), id: format!("{rel:?}"), what: "task-relative path" }
            }
            source => TaskError::Unsafe { task: self.root.clone(), source },
        })
    }

    /// A [`fsio::SafeDir`] rooted at the task-relative directory `rel` (checked as by
    /// [`TaskDir::checked`]); the `SafeDir` checks everything below it.
    ///
    /// # Errors
    /// As [`TaskDir::checked`].
    pub fn safe_dir(&self, rel: &str) -> Result<fsio::SafeDir, TaskError> {
        self.checked(rel).map(fsio::SafeDir::new)
    }

    /// Checks every entry of [`LAYOUT`] that exists: none may be a symlink. Run by
    /// [`TaskLock`] on every acquire, so every command that mutates a task starts with it.
    ///
    /// # Errors
    /// [`TaskError::Unsafe`] naming the first offending entry.
    pub fn check_layout(&self) -> Result<(), TaskError> {
        LAYOUT.iter().try_for_each(|rel| self.checked(rel).map(|_| ()))
    }
}

/// Picks the task: `explicit` when given, else the most recently modified directory under
/// `<repo>/.ai-tools/tasks/`.
///
/// # Errors
/// [`TaskError::NoTask`] when there is none, [`TaskError::NotADirectory`] for a bad `explicit`.
pub fn locate(repo: &Path, explicit: Option<&Path>) -> Result<TaskDir, TaskError> {
    if let Some(p) = explicit {
        let real_dir = fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        return if real_dir { Ok(TaskDir::new(p)) } else { Err(TaskError::NotADirectory(p.to_path_buf())) };
    }
    let dir = fsio::resolve_no_follow(repo, TASKS_DIR)
        .map_err(|source| TaskError::Unsafe { task: repo.join(TASKS_DIR), source })?;
    let mut best: Option<(SystemTime, PathBuf)> = None;
    let entries = fs::read_dir(&dir).map_err(|_| TaskError::NoTask(dir.clone()))?;
    for e in entries.flatten() {
        let path = e.path();
        // DirEntry::file_type does not follow symlinks: a symlinked task is never picked.
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let t = newest_mtime(&path);
        if best.as_ref().is_none_or(|(bt, bp)| (t, &path) > (*bt, bp)) {
            best = Some((t, path));
        }
    }
    best.map(|(_, p)| TaskDir::new(p)).ok_or(TaskError::NoTask(dir))
}

/// The newest modification time of a task's own files (its dir, planning/, state.json), so
/// editing a plan makes its task the newest.
fn newest_mtime(task: &Path) -> SystemTime {
    [
        task.to_path_buf(),
        task.join("planning"),
        task.join("planning/plan.md"),
        task.join("planning/plan.files.json"),
        task.join("state.json"),
    ]
    .iter()
    .filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
    .max()
    .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Scaffolds `<repo>/.ai-tools/tasks/<slug>/` with a plan.md (titled `title` or the slug), an
/// empty plan.files.json and a review/ directory.
///
/// # Errors
/// [`TaskError::BadSlug`], [`TaskError::Exists`], or I/O failure.
pub fn scaffold(repo: &Path, slug: &str, title: Option<&str>) -> Result<TaskDir, TaskError> {
    let valid = !slug.is_empty()
        && !slug.starts_with('.')
        && slug.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(TaskError::BadSlug(slug.to_owned()));
    }
    let root = fsio::resolve_no_follow(repo, &format!("{TASKS_DIR}/{slug}"))
        .map_err(|source| TaskError::Unsafe { task: repo.join(TASKS_DIR).join(slug), source })?;
    let task = TaskDir::new(root);
    if fs::symlink_metadata(task.root()).is_ok() {
        return Err(TaskError::Exists(task.root().to_path_buf()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TaskError::Io { path, source }
    };
    let title = title.unwrap_or(slug);
    let md =
        format!("# {title}\n\n## Goal\n\nDescribe the change.\n\n## Approach\n\nHow the files below achieve it.\n");
    let files = "{\n  \"files\": []\n}\n";
    fsio::write_atomic(&task.plan_md(), md.as_bytes())
        .map_err(|e| TaskError::Io { path: task.plan_md(), source: io::Error::other(e) })?;
    fsio::write_atomic(&task.plan_files_json(), files.as_bytes())
        .map_err(|e| TaskError::Io { path: task.plan_files_json(), source: io::Error::other(e) })?;
    let review = task.root().join("review");
    fs::create_dir_all(&review).map_err(io(&review))?;
    Ok(task)
}
