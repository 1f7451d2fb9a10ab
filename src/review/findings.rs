//! The open findings of each generated file: what holds its hunks back from a bare accept.
//!
//! Source of truth, per file, newest first:
//! 1. `code/findings.json` — written by every re-validation after the run (a regeneration, an
//!    edit before accepting; see [`crate::review::regen`] and [`crate::review::edit`]): the
//!    findings of the file as it stands in `code/files/` after that operation. Entries of an
//!    earlier run (another `run_id`) are ignored.
//! 2. The run log of the task's latest run (`logs/run-<run_id>.json`, run id from state.json):
//!    the findings of its last top-level `validate` or `repair` step, which is the validation
//!    the run ended with (after repair when repair ran; the repair step holds the tests' re-run
//!    too) — plus, when no repair ran, the failing tests of the `test` step after `validate`. The run's `ValidationReported`
//!    events carry the same reports, but the run log is what outlives the process.
//!
//! A file is *held* when it has an open finding the run introduced: a [`ValidationReport`]
//! with `preexisting == false` (findings that are in the base version too are shown, never
//! held against the change). A held file's hunks without an explicit review state are
//! unreviewed: a bare accept skips them, an explicit selection lands them.
//!
//! Invariant: `code/findings.json` is only ever replaced whole (atomic write) and names only
//! paths that parse as [`RelPath`]s; anything unreadable there counts as absent (the run log
//! then decides), so a damaged file can never make broken code look clean by itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::ValidationReport;
use crate::review::ReviewError;
use crate::runlog::RunLog;
use crate::task::TaskDir;
use crate::task::fsio;
use crate::task::relpath::RelPath;
use crate::task::state::TaskState;

/// The file name under `code/`.
pub const FILE: &str = "findings.json";

/// One file's findings as a re-validation left them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FileFindings {
    /// Git blob id of the `code/files/` content that was validated.
    pub blob: String,
    /// Every finding on it (pre-existing ones included).
    pub findings: Vec<ValidationReport>,
}

/// `code/findings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FindingsFile {
    /// The run whose `code/files/` these re-validations are about.
    pub run_id: String,
    /// By repo-relative path.
    pub files: BTreeMap<String, FileFindings>,
}

impl FindingsFile {
    /// Loads `code/findings.json` when it belongs to `run_id` (else, or when absent or
    /// unreadable, an empty one for `run_id`).
    pub fn load(task: &TaskDir, run_id: &str) -> Self {
        let fresh = || Self { run_id: run_id.to_owned(), files: BTreeMap::new() };
        // Never read through a symlink (a cloned task could point it anywhere).
        let Ok(path) = task.checked(&format!("code/{FILE}")) else { return fresh() };
        let Ok(bytes) = std::fs::read(path) else { return fresh() };
        match serde_json::from_slice::<Self>(&bytes) {
            Ok(mut f) if f.run_id == run_id => {
                f.files.retain(|p, _| RelPath::new(p).is_ok());
                f
            }
            _ => fresh(),
        }
    }

    /// Writes it atomically.
    ///
    /// # Errors
    /// [`ReviewError::Write`].
    pub fn save(&self, task: &TaskDir) -> Result<(), ReviewError> {
        fsio::write_json_atomic(&task.code_dir().join(FILE), self)?;
        Ok(())
    }
}

/// Whether a run id from state.json (untrusted: the task dir may come from a cloned repo) is
/// safe to put in a file name: `[A-Za-z0-9._-]+`, not starting with `.`.
pub fn safe_run_id(id: &str) -> bool {
    !id.is_empty() && !id.starts_with('.') && id.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

/// The findings the run log's final validation recorded, by file (empty without a run log).
fn from_run_log(task: &TaskDir, run_id: &str) -> BTreeMap<String, Vec<ValidationReport>> {
    let mut out: BTreeMap<String, Vec<ValidationReport>> = BTreeMap::new();
    if !safe_run_id(run_id) {
        return out;
    }
    let Some(log) = RunLog::load(&task.logs_dir(), run_id) else { return out };
    let steps: Vec<&crate::runlog::StepEvent> = log.top_steps().collect();
    let last = steps.iter().rposition(|s| s.name == "validate" || s.name == "repair");
    let mut found = last.map(|i| steps[i].validation_errors.clone()).unwrap_or_default();
    // Without a repair step, the failing tests are in the `test` step after `validate`.
    if let Some(i) = last.filter(|i| steps[*i].name == "validate")
        && let Some(t) = steps[i + 1..].iter().find(|s| s.name == "test")
    {
        found.extend(t.validation_errors.iter().cloned());
    }
    for r in found {
        out.entry(r.file.clone()).or_default().push(r);
    }
    out
}

/// Every file's current findings (pre-existing ones included), from the sources in the module
/// docs; files without findings are absent.
///
/// # Errors
/// [`ReviewError::State`] when state.json cannot be read.
pub fn current(task: &TaskDir) -> Result<BTreeMap<String, Vec<ValidationReport>>, ReviewError> {
    let st = TaskState::load(task)?;
    // No run id (outputs materialized outside a run): only re-validations count.
    let run_id = st.run_id.unwrap_or_default();
    let mut out = if run_id.is_empty() { BTreeMap::new() } else { from_run_log(task, &run_id) };
    for (path, f) in FindingsFile::load(task, &run_id).files {
        if f.findings.is_empty() {
            out.remove(&path);
        } else {
            out.insert(path, f.findings);
        }
    }
    Ok(out)
}

/// The open findings the run introduced (`preexisting == false`), by file: the files whose
/// hunks are held back from a bare accept. Files without any are absent.
///
/// # Errors
/// As [`current`].
pub fn introduced(task: &TaskDir) -> Result<BTreeMap<String, Vec<ValidationReport>>, ReviewError> {
    let mut all = current(task)?;
    for v in all.values_mut() {
        v.retain(|r| !r.preexisting);
    }
    all.retain(|_, v| !v.is_empty());
    Ok(all)
}

/// Records re-validated findings for `files` (`(path, content validated, findings)`) in
/// `code/findings.json` for the task's current run.
///
/// # Errors
/// State and write errors.
pub fn record(task: &TaskDir, files: &[(RelPath, Vec<u8>, Vec<ValidationReport>)]) -> Result<(), ReviewError> {
    let st = TaskState::load(task)?;
    let run_id = st.run_id.unwrap_or_default();
    let mut f = FindingsFile::load(task, &run_id);
    for (path, bytes, findings) in files {
        f.files.insert(
            path.to_string(),
            FileFindings { blob: crate::codegen::diff::git_blob_id(bytes), findings: findings.clone() },
        );
    }
    f.save(task)
}

/// One line describing a finding: `path:line:col: tool code: message` (first message line).
pub fn describe(r: &ValidationReport) -> String {
    let msg = r.message.lines().next().unwrap_or("");
    format!("{}:{}:{}: {} {}: {msg}", r.file, r.line, r.column, r.tool, r.code)
}
