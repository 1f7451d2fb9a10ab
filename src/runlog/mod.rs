//! The run log (seed: the codegen reliability log): one [`StepEvent`] per stage — and per wave
//! and per repaired file where it helps — with timing, tokens, the [`ValidationReport`]s a
//! step found and the [`RepairAttempt`]s it made, plus the run totals
//! `validation_errors_before_repair` and `errors_surviving_repair`.
//!
//! Written as `<task>/logs/run-<id>.json` and `<task>/logs/run-<id>.md`, both atomically (see
//! [`crate::task::fsio::write_atomic`]), after every stage, so a killed run still leaves a
//! consistent log of the stages it finished.
//!
//! Invariants: a sub-step (a wave, a repaired file) names its top-level step in `parent`, and
//! totals and the markdown's error list count top-level steps only, so nothing is counted
//! twice; `repair_success_rate` and `tokens_spent_on_repair` are always derived from the
//! attempts, never stored apart from them.

mod markdown;
pub mod recorder;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

pub use crate::report::{CandidateRecord, RepairAttempt, ValidationReport};
use crate::task::TaskDir;
use crate::task::fsio::{self, WriteError};

pub use recorder::{Recorder, plan_hash};

/// One step of a run. Serializes with the derived `repair_success_rate` and
/// `tokens_spent_on_repair` (see the module invariants).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepEvent {
    /// `context`, `generate`, `wave 1`, `materialize`, `diff`, `validate`, `repair`,
    /// `repair app.py`, `ready`.
    pub name: String,
    /// The top-level step a sub-step belongs to.
    #[serde(default)]
    pub parent: Option<String>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ended (`None` while running or when the run died in it).
    pub end: Option<DateTime<Utc>>,
    /// Wall time, seconds.
    pub duration: f64,
    /// Prompt tokens spent in it.
    pub input_tokens: u64,
    /// Completion tokens spent in it.
    pub output_tokens: u64,
    /// Findings it recorded.
    #[serde(default)]
    pub validation_errors: Vec<ValidationReport>,
    /// Repair attempts it made.
    #[serde(default)]
    pub repair_attempts: Vec<RepairAttempt>,
    /// Tests the step ran (the `test` step: the first run; 0 elsewhere).
    #[serde(default)]
    pub tests_run: usize,
    /// Tests that failed in the step's first run and do not fail on the base.
    #[serde(default)]
    pub tests_failed_before_repair: usize,
    /// Of those, still failing when the tests ran again after repair (equal to
    /// `tests_failed_before_repair` when nothing was repaired).
    #[serde(default)]
    pub tests_failed_after_repair: usize,
    /// The candidates sampled in it (a generated file's sub-step), kept or not.
    #[serde(default)]
    pub candidates: Vec<CandidateRecord>,
}

impl StepEvent {
    /// A step named `name` starting now.
    pub fn start(name: impl Into<String>, parent: Option<&str>) -> Self {
        Self {
            name: name.into(),
            parent: parent.map(str::to_owned),
            start: Utc::now(),
            end: None,
            duration: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            validation_errors: Vec::new(),
            repair_attempts: Vec::new(),
            tests_run: 0,
            tests_failed_before_repair: 0,
            tests_failed_after_repair: 0,
            candidates: Vec::new(),
        }
    }

    /// Marks the step ended now.
    pub fn finish(&mut self) {
        let end = Utc::now();
        self.duration = (end - self.start).num_microseconds().unwrap_or(0) as f64 / 1e6;
        self.end = Some(end);
    }

    /// Tokens in and out.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// Fraction of repair attempts that succeeded; `None` without attempts.
    pub fn repair_success_rate(&self) -> Option<f64> {
        if self.repair_attempts.is_empty() {
            return None;
        }
        let ok = self.repair_attempts.iter().filter(|a| a.success).count();
        Some(ok as f64 / self.repair_attempts.len() as f64)
    }

    /// Tokens (in + out) spent on repair attempts.
    pub fn tokens_spent_on_repair(&self) -> u64 {
        self.repair_attempts.iter().map(|a| a.input_tokens + a.output_tokens).sum()
    }
}

impl Serialize for StepEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("StepEvent", 17)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("parent", &self.parent)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("end", &self.end)?;
        st.serialize_field("duration", &self.duration)?;
        st.serialize_field("tokens", &self.tokens())?;
        st.serialize_field("input_tokens", &self.input_tokens)?;
        st.serialize_field("output_tokens", &self.output_tokens)?;
        st.serialize_field("validation_errors_count", &self.validation_errors.len())?;
        st.serialize_field("validation_errors", &self.validation_errors)?;
        st.serialize_field("repair_attempts", &self.repair_attempts)?;
        st.serialize_field("repair_success_rate", &self.repair_success_rate())?;
        st.serialize_field("tokens_spent_on_repair", &self.tokens_spent_on_repair())?;
        st.serialize_field("tests_run", &self.tests_run)?;
        st.serialize_field("tests_failed_before_repair", &self.tests_failed_before_repair)?;
        st.serialize_field("tests_failed_after_repair", &self.tests_failed_after_repair)?;
        if !self.candidates.is_empty() {
            st.serialize_field("candidates", &self.candidates)?;
        } else {
            st.skip_field("candidates")?;
        }
        st.end()
    }
}

/// The log of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLog {
    /// Run id.
    pub run_id: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When the run ended (`None` while it runs).
    pub ended_at: Option<DateTime<Utc>>,
    /// `running`, `ready`, `failed`, `scope_mismatch` or `cancelled`.
    pub status: String,
    /// sha256 of plan.md and plan.files.json when the run began (what `--resume` compares).
    #[serde(default)]
    pub plan_hash: String,
    /// Steps in the order they started.
    pub steps: Vec<StepEvent>,
    /// Findings the generation introduced, at the first validation (before any repair).
    pub validation_errors_before_repair: usize,
    /// Introduced findings left after the repair stage (or all of them when there was none).
    pub errors_surviving_repair: usize,
    /// Findings already in the base version of the modified files (never repaired, not counted
    /// above).
    #[serde(default)]
    pub preexisting_errors: usize,
    /// Tests the test step ran (0 when it did not run).
    #[serde(default)]
    pub tests_run: usize,
    /// Failing tests the generation introduced (not failing on the base), before repair.
    #[serde(default)]
    pub tests_failed_before_repair: usize,
    /// Of those, still failing after repair.
    #[serde(default)]
    pub tests_failed_after_repair: usize,
    /// The run's quality score ([`crate::quality::score_run`]: the mean of its files'), once
    /// verified.
    #[serde(default)]
    pub quality_score: Option<f64>,
    /// Each generated file's quality score, by path.
    #[serde(default)]
    pub file_scores: std::collections::BTreeMap<String, f64>,
}

impl RunLog {
    /// A new log for `run_id`.
    pub fn new(run_id: impl Into<String>, plan_hash: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            started_at: Utc::now(),
            ended_at: None,
            status: "running".into(),
            plan_hash: plan_hash.into(),
            steps: Vec::new(),
            validation_errors_before_repair: 0,
            errors_surviving_repair: 0,
            preexisting_errors: 0,
            tests_run: 0,
            tests_failed_before_repair: 0,
            tests_failed_after_repair: 0,
            quality_score: None,
            file_scores: Default::default(),
        }
    }

    /// Top-level steps (no parent).
    pub fn top_steps(&self) -> impl Iterator<Item = &StepEvent> {
        self.steps.iter().filter(|s| s.parent.is_none())
    }

    /// Every repair attempt of the run.
    pub fn repair_attempts(&self) -> impl Iterator<Item = &RepairAttempt> {
        self.top_steps().flat_map(|s| s.repair_attempts.iter())
    }

    /// The log as markdown: a step table with Val errors and Repairs columns, then a
    /// Validation errors section (file, line, tool, code, category, message).
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// Writes `run-<id>.json` and `run-<id>.md` under `logs_dir` atomically; returns their
    /// paths `(json, markdown)`.
    ///
    /// # Errors
    /// [`WriteError`] naming the file that could not be written.
    pub fn write(&self, logs_dir: &Path) -> Result<(PathBuf, PathBuf), WriteError> {
        let (json, md) = paths(logs_dir, &self.run_id);
        fsio::write_json_atomic(&json, self)?;
        fsio::write_atomic(&md, self.to_markdown().as_bytes())?;
        Ok((json, md))
    }

    /// Loads `run-<id>.json` from `logs_dir` (`None` when absent or unreadable).
    pub fn load(logs_dir: &Path, run_id: &str) -> Option<Self> {
        let path = paths(logs_dir, run_id).0;
        // Never followed through a symlink (the task dir is untrusted).
        if std::fs::symlink_metadata(&path).ok()?.file_type().is_symlink() {
            return None;
        }
        let b = std::fs::read(path).ok()?;
        serde_json::from_slice(&b).ok()
    }
}

/// `(run-<id>.json, run-<id>.md)` under `logs_dir`.
pub fn paths(logs_dir: &Path, run_id: &str) -> (PathBuf, PathBuf) {
    (logs_dir.join(format!("run-{run_id}.json")), logs_dir.join(format!("run-{run_id}.md")))
}

/// The run ids with a markdown log in the task's `logs/`, oldest first (run ids sort by
/// start time): only regular files named `run-<id>.md` with a well-formed id
/// ([`crate::task::ids::is_run_id`]); a symlinked `logs/` lists nothing, a symlinked log is
/// skipped.
pub fn run_ids(task: &TaskDir) -> Vec<String> {
    let Ok(dir) = task.checked("logs") else { return Vec::new() };
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("run-").and_then(|n| n.strip_suffix(".md")).map(str::to_owned)
        })
        .filter(|id| crate::task::ids::is_run_id(id))
        .collect();
    ids.sort();
    ids
}

/// Why a run log could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The task has no run logs.
    #[error("no run log under {0}: run `ai-tools codegen` first")]
    NoLogs(PathBuf),
    /// The named run has no log.
    #[error("no run log for run {run_id} under {dir} (known runs: {known})")]
    Unknown {
        /// The id asked for.
        run_id: String,
        /// The logs dir.
        dir: PathBuf,
        /// The ids that exist.
        known: String,
    },
    /// The logs dir or the log is a symlink (or not where it should be).
    #[error(transparent)]
    Unsafe(#[from] crate::task::TaskError),
    /// The log exists but cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The markdown log of `run_id`, or of the newest run when `None`.
///
/// # Errors
/// [`LogError`].
pub fn read_markdown(task: &TaskDir, run_id: Option<&str>) -> Result<String, LogError> {
    let ids = run_ids(task);
    let id = match run_id {
        Some(id) if ids.iter().any(|i| i == id) => id.to_owned(),
        Some(id) => {
            return Err(LogError::Unknown { run_id: id.to_owned(), dir: task.logs_dir(), known: ids.join(", ") });
        }
        None => ids.last().cloned().ok_or_else(|| LogError::NoLogs(task.logs_dir()))?,
    };
    let path = task.checked(&format!("logs/run-{id}.md"))?;
    std::fs::read_to_string(&path).map_err(|source| LogError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::classify::classify_error;

    pub(crate) fn report(file: &str, line: u32, tool: &str, code: &str) -> ValidationReport {
        ValidationReport {
            step: "validate".into(),
            file: file.into(),
            line,
            column: 1,
            code: code.into(),
            category: classify_error(tool, code),
            message: format!("{code} | at {line}"),
            tool: tool.into(),
            severity: crate::report::Severity::Error,
            preexisting: false,
        }
    }

    #[test]
    fn derived_metrics_and_json_shape() {
        let mut s = StepEvent::start("repair", None);
        assert_eq!(s.repair_success_rate(), None);
        let e = report("a.py", 2, "ruff", "F821");
        for (n, ok) in [(1, false), (2, true)] {
            s.repair_attempts.push(RepairAttempt {
                step: "repair".into(),
                file: "a.py".into(),
                attempt: n,
                errors_in: vec![e.clone()],
                errors_out: if ok { vec![] } else { vec![e.clone()] },
                success: ok,
                input_tokens: 100,
                output_tokens: 20,
                kind: crate::report::AttemptKind::Model,
                fix: None,
                rejected: None,
                candidates: Vec::new(),
            });
        }
        s.finish();
        assert_eq!(s.repair_success_rate(), Some(0.5));
        assert_eq!(s.tokens_spent_on_repair(), 240);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["repair_success_rate"], 0.5);
        assert_eq!(v["tokens_spent_on_repair"], 240);
        assert_eq!(v["repair_attempts"][0]["errors_in"][0]["category"], "undefined_name");
        let back: StepEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn writes_both_files_and_reads_the_newest() {
        let t = tempfile::tempdir().unwrap();
        let task = TaskDir::new(t.path());
        assert!(matches!(read_markdown(&task, None), Err(LogError::NoLogs(_))));
        for id in ["20260101-000000-aaaa", "20260102-000000-bbbb"] {
            let mut log = RunLog::new(id, "h");
            let mut v = StepEvent::start("validate", None);
            v.validation_errors.push(report("a.py", 3, "pyright", "reportUndefinedVariable"));
            v.finish();
            log.steps.push(v);
            log.validation_errors_before_repair = 1;
            log.write(&task.logs_dir()).unwrap();
        }
        let md = read_markdown(&task, None).unwrap();
        assert!(md.contains("20260102-000000-bbbb"), "{md}");
        assert!(read_markdown(&task, Some("20260101-000000-aaaa")).unwrap().contains("aaaa"));
        assert!(matches!(read_markdown(&task, Some("nope")), Err(LogError::Unknown { .. })));
        let log = RunLog::load(&task.logs_dir(), "20260101-000000-aaaa").unwrap();
        assert_eq!(log.steps[0].validation_errors[0].line, 3);
    }

    #[test]
    fn log_follows_no_symlink_and_lists_only_run_ids() {
        let t = tempfile::tempdir().unwrap();
        let secret = t.path().join("secret.md");
        std::fs::write(&secret, "host secret\n").unwrap();
        let task = TaskDir::new(t.path().join("task"));
        let logs = task.logs_dir();
        std::fs::create_dir_all(&logs).unwrap();
        std::os::unix::fs::symlink(&secret, logs.join("run-20260101-000000-aaaa.md")).unwrap();
        std::fs::write(logs.join("run-not-an-id.md"), "x\n").unwrap();
        std::os::unix::fs::symlink(&secret, logs.join("run-20260101-000000-aaaa.json")).unwrap();
        assert!(run_ids(&task).is_empty(), "{:?}", run_ids(&task));
        assert!(read_markdown(&task, None).is_err());
        assert!(RunLog::load(&logs, "20260101-000000-aaaa").is_none());
        // A symlinked logs/ dir lists nothing.
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("run-20260101-000000-bbbb.md"), "host secret\n").unwrap();
        std::fs::remove_dir_all(&logs).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &logs).unwrap();
        assert!(run_ids(&task).is_empty());
        let e = read_markdown(&task, Some("20260101-000000-bbbb"));
        assert!(!e.is_ok_and(|md| md.contains("host secret")));
    }
}
