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
//! Invariant: every path a [`TaskDir`] hands out is inside its root.

pub mod fsio;
pub mod relpath;
pub mod state;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    /// Another codegen run holds the task.
    #[error("another codegen run is active on task {0} (in this or another process); wait for it to end or stop it")]
    Busy(PathBuf),
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
    /// `code/archive/<run_id>/`.
    pub fn archive_dir(&self, run_id: &str) -> PathBuf {
        self.root.join("code/archive").join(run_id)
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

/// Exclusive hold on a task for one codegen run: `<task>/.codegen.lock`, locked with an OS file
/// lock, so it is released when the run ends or its process dies.
#[derive(Debug)]
pub struct RunLock {
    _file: fs::File,
}

impl RunLock {
    /// Takes the lock without waiting.
    ///
    /// # Errors
    /// [`TaskError::Busy`] when another run holds it; [`TaskError::Io`] on I/O failure.
    pub fn acquire(task: &TaskDir) -> Result<Self, TaskError> {
        let path = task.root().join(".codegen.lock");
        let io = |source| TaskError::Io { path: path.clone(), source };
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(TaskError::Busy(task.root().to_path_buf())),
            Err(fs::TryLockError::Error(e)) => Err(TaskError::Io { path, source: e }),
        }
    }
}

/// Picks the task: `explicit` when given, else the most recently modified directory under
/// `<repo>/.ai-tools/tasks/`.
///
/// # Errors
/// [`TaskError::NoTask`] when there is none, [`TaskError::NotADirectory`] for a bad `explicit`.
pub fn locate(repo: &Path, explicit: Option<&Path>) -> Result<TaskDir, TaskError> {
    if let Some(p) = explicit {
        return if p.is_dir() { Ok(TaskDir::new(p)) } else { Err(TaskError::NotADirectory(p.to_path_buf())) };
    }
    let dir = repo.join(TASKS_DIR);
    let mut best: Option<(SystemTime, PathBuf)> = None;
    let entries = fs::read_dir(&dir).map_err(|_| TaskError::NoTask(dir.clone()))?;
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_dir() {
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
    let task = TaskDir::new(repo.join(TASKS_DIR).join(slug));
    if task.root().exists() {
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
