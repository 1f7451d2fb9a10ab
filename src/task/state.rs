//! `<task>/state.json`: where the task stands.
//!
//! Invariant: state.json is only ever replaced whole through an atomic rename, so a killed run
//! leaves the previous consistent state or the next one. Unknown or missing fields default, so
//! older and newer state files still load.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::plan::Action;
use crate::task::TaskDir;
use crate::task::fsio::{self, WriteError};

/// The global pipeline phases (seed 000 §5). ai-tools runs `codegen`; the others are where a
/// run routes the user next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Writing the plan.
    Planning,
    /// Reviewing the plan.
    PlanReview,
    /// Turning the plan into code (this tool).
    #[default]
    Codegen,
    /// Reviewing the generated code.
    Review,
}

impl Phase {
    /// Every phase in pipeline order.
    pub const ALL: [Phase; 4] = [Phase::Planning, Phase::PlanReview, Phase::Codegen, Phase::Review];

    /// The phase's name as state.json spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Planning => "planning",
            Phase::PlanReview => "plan_review",
            Phase::Codegen => "codegen",
            Phase::Review => "review",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stages inside the codegen phase (seed 001, extended with validate and repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Building a context package per target file.
    Context,
    /// Asking models for each file, wave by wave.
    Generate,
    /// Writing code/files.
    Materialize,
    /// Deriving code/diff.patch.
    Diff,
    /// Running the language's tools on the generated files.
    Validate,
    /// Fixing what validation flagged.
    Repair,
    /// Done: outputs are ready for review.
    Ready,
}

impl Stage {
    /// Every stage in order.
    pub const ALL: [Stage; 7] = [
        Stage::Context,
        Stage::Generate,
        Stage::Materialize,
        Stage::Diff,
        Stage::Validate,
        Stage::Repair,
        Stage::Ready,
    ];

    /// The stage's name as events and state.json spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Context => "context",
            Stage::Generate => "generate",
            Stage::Materialize => "materialize",
            Stage::Diff => "diff",
            Stage::Validate => "validate",
            Stage::Repair => "repair",
            Stage::Ready => "ready",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the latest run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// No run yet.
    #[default]
    Idle,
    /// A run is in progress (or was killed mid-way).
    Running,
    /// Outputs are ready for review.
    Ready,
    /// The run failed; see `failure`.
    Failed,
    /// Generated changes went outside the plan; route back to planning.
    ScopeMismatch,
    /// The user stopped the run.
    Cancelled,
}

/// A working-tree file as it was when the diff was made: what accept compares against to detect
/// drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BaseEntry {
    /// Git blob id (sha1 of `blob <len>\0<bytes>`), or `None` when the file was absent.
    pub blob: Option<String>,
    /// Size in bytes, when present.
    pub size: Option<u64>,
    /// Unix permission bits, when present.
    pub mode: Option<u32>,
}

/// Per-file progress of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Waiting for its wave.
    #[default]
    Queued,
    /// A model is writing it.
    Generating,
    /// Generated, not yet written.
    Generated,
    /// Written to code/files (or, for a delete, recorded).
    Materialized,
    /// Generation or parsing failed; see `error`.
    Failed,
    /// Not attempted because a dependency failed or the run stopped.
    Skipped,
}

/// One target's record in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FileState {
    /// The planned action.
    pub action: Option<Action>,
    /// 1-based wave number.
    pub wave: usize,
    /// Progress.
    pub status: FileStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Prompt tokens spent on it.
    pub input_tokens: u64,
    /// Completion tokens spent on it.
    pub output_tokens: u64,
    /// Lines in the generated file.
    pub lines: usize,
}

/// Why a run did not end ready, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub reason: String,
    /// What the user can do about it.
    pub suggestion: String,
}

/// Token and call totals for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UsageTotals {
    /// Model calls made (retries count once each).
    pub api_calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in US dollars from the price table (0 when unpriced).
    pub cost_usd: f64,
}

/// The whole of state.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskState {
    /// Format version.
    pub version: u32,
    /// Global phase the task is in.
    pub phase: Phase,
    /// Current or last codegen stage.
    pub stage: Option<Stage>,
    /// How the latest run stands.
    pub status: RunStatus,
    /// The latest run's id.
    pub run_id: Option<String>,
    /// When the latest run started.
    pub started_at: Option<DateTime<Utc>>,
    /// When this state was written.
    pub updated_at: Option<DateTime<Utc>>,
    /// Where the orchestrator suggests going next.
    pub next_phase: Option<Phase>,
    /// Why the run failed.
    pub failure: Option<Failure>,
    /// Working-tree files as the diff saw them, by path.
    pub base: BTreeMap<String, BaseEntry>,
    /// Per-target progress, by path.
    pub files: BTreeMap<String, FileState>,
    /// Totals for the latest run.
    pub usage: UsageTotals,
    /// Review state per hunk id: `true` accepted, `false` rejected. Absent means the default:
    /// accepted, or unreviewed in a file with open findings the run introduced (see
    /// [`crate::review::findings`]).
    pub hunks: BTreeMap<String, bool>,
    /// Why a hunk was rejected, by hunk id (free text the user gave; sent to the model by a
    /// regeneration). Only rejected hunks carry one.
    pub reasons: BTreeMap<String, String>,
    /// Hunk ids that have landed in the working tree, with the accept number that wrote them.
    pub landed: BTreeMap<String, u32>,
}

impl Default for TaskState {
    fn default() -> Self {
        Self {
            version: 1,
            phase: Phase::Codegen,
            stage: None,
            status: RunStatus::Idle,
            run_id: None,
            started_at: None,
            updated_at: None,
            next_phase: None,
            failure: None,
            base: BTreeMap::new(),
            files: BTreeMap::new(),
            usage: UsageTotals::default(),
            hunks: BTreeMap::new(),
            reasons: BTreeMap::new(),
            landed: BTreeMap::new(),
        }
    }
}

/// A state.json that exists but cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid state JSON.
    #[error("{path}:{line}:{column}: state.json is corrupt: {message}; move it aside to start fresh")]
    Corrupt {
        /// Where.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl TaskState {
    /// Loads `<task>/state.json`, or the default state when it does not exist.
    ///
    /// # Errors
    /// [`StateError`] when it exists but cannot be read or parsed.
    pub fn load(task: &TaskDir) -> Result<Self, StateError> {
        Self::load_from(&checked_path(task)?)
    }

    /// Loads a state file at `path` (default when missing).
    ///
    /// # Errors
    /// As [`TaskState::load`].
    pub fn load_from(path: &Path) -> Result<Self, StateError> {
        let shown = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                path: shown,
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(StateError::Io { path: shown, source }),
        }
    }

    /// Stamps `updated_at` and writes state.json atomically.
    ///
    /// # Errors
    /// [`StateError::Write`].
    pub fn save(&mut self, task: &TaskDir) -> Result<(), StateError> {
        self.updated_at = Some(Utc::now());
        fsio::write_json_atomic(&checked_path(task)?, self)?;
        Ok(())
    }

    /// Whether hunk `id` is accepted when it has no explicit state and its file is clean
    /// (hunks of clean files start accepted).
    pub fn hunk_accepted(&self, id: &str) -> bool {
        self.hunks.get(id).copied().unwrap_or(true)
    }
}

/// `<task>/state.json` through [`TaskDir::checked`] (never read or written through a symlink).
fn checked_path(task: &TaskDir) -> Result<std::path::PathBuf, StateError> {
    task.checked("state.json").map_err(|e| match e {
        crate::task::TaskError::Unsafe { source, .. } => StateError::Write(source),
        other => StateError::Io {
            path: task.state_json().display().to_string(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// A new run id: `YYYYMMDD-HHMMSS-xxxx` (UTC time and 4 random hex digits), sortable by start.
pub fn new_run_id() -> String {
    let r: u16 = rand::random();
    format!("{}-{r:04x}", Utc::now().format("%Y%m%d-%H%M%S"))
}
