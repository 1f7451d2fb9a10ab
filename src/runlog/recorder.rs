//! Recording a run's steps as it goes.
//!
//! Invariants: exactly one top-level step is open at a time — [`Recorder::begin`] closes the
//! open one (its tokens are the growth of the run's token totals while it was open) before it
//! opens the next; the log is written after every step boundary, so a killed run leaves a
//! consistent log of what it finished. A write failure never stops the run: it is returned for
//! the caller to report.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::runlog::{RunLog, StepEvent};
use crate::task::TaskDir;
use crate::task::fsio::WriteError;

/// Token totals of the run so far: `(input, output)`.
pub type Tokens = (u64, u64);

/// sha256 (hex) of the task's plan.md and plan.files.json, what `--resume` compares to decide
/// whether a run's outputs are still current.
pub fn plan_hash(task: &TaskDir) -> String {
    let mut h = Sha256::new();
    for p in [task.plan_md(), task.plan_files_json()] {
        let bytes = std::fs::read(&p).unwrap_or_default();
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    hex::encode(h.finalize())
}

/// Builds a [`RunLog`] step by step (see the module invariants).
#[derive(Debug, Clone)]
pub struct Recorder {
    log: RunLog,
    logs_dir: PathBuf,
    open: Option<(usize, Tokens)>,
}

impl Recorder {
    /// A recorder for a new run.
    pub fn new(logs_dir: &Path, log: RunLog) -> Self {
        Self { log, logs_dir: logs_dir.to_path_buf(), open: None }
    }

    /// The log so far.
    pub fn log(&self) -> &RunLog {
        &self.log
    }

    /// The log so far, to update totals.
    pub fn log_mut(&mut self) -> &mut RunLog {
        &mut self.log
    }

    /// The open top-level step.
    pub fn current(&mut self) -> Option<&mut StepEvent> {
        let (i, _) = self.open?;
        self.log.steps.get_mut(i)
    }

    fn close_open(&mut self, tokens: Tokens) {
        if let Some((i, (i0, o0))) = self.open.take()
            && let Some(s) = self.log.steps.get_mut(i)
        {
            s.input_tokens += tokens.0.saturating_sub(i0);
            s.output_tokens += tokens.1.saturating_sub(o0);
            s.finish();
        }
    }

    /// Closes the open step and opens top-level step `name`; writes the log.
    ///
    /// # Errors
    /// [`WriteError`] when the log cannot be written (the recording itself goes on).
    pub fn begin(&mut self, name: &str, tokens: Tokens) -> Result<(), WriteError> {
        self.close_open(tokens);
        self.log.steps.push(StepEvent::start(name, None));
        self.open = Some((self.log.steps.len() - 1, tokens));
        self.persist().map(|_| ())
    }

    /// Adds a finished sub-step (a wave, a repaired file) of the open step.
    pub fn sub_step(&mut self, mut step: StepEvent) {
        if step.parent.is_none() {
            step.parent = self.open.and_then(|(i, _)| self.log.steps.get(i)).map(|s| s.name.clone());
        }
        self.log.steps.push(step);
    }

    /// Writes `run-<id>.json` and `.md`; returns their paths.
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn persist(&self) -> Result<(PathBuf, PathBuf), WriteError> {
        self.log.write(&self.logs_dir)
    }

    /// Closes the open step, stamps the end and `status`, and writes the log.
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn close(&mut self, status: &str, tokens: Tokens) -> Result<(PathBuf, PathBuf), WriteError> {
        self.close_open(tokens);
        self.log.status = status.to_owned();
        self.log.ended_at = Some(chrono::Utc::now());
        self.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_take_the_token_growth_and_sub_steps_their_parent() {
        let t = tempfile::tempdir().unwrap();
        let mut r = Recorder::new(t.path(), RunLog::new("r", "h"));
        r.begin("context", (0, 0)).unwrap();
        r.begin("generate", (0, 0)).unwrap();
        r.sub_step(StepEvent::start("wave 1", None));
        r.begin("materialize", (100, 40)).unwrap();
        let (json, md) = r.close("ready", (100, 40)).unwrap();
        let log = r.log();
        let names: Vec<_> = log.steps.iter().map(|s| (s.name.as_str(), s.parent.as_deref())).collect();
        assert_eq!(
            names,
            vec![("context", None), ("generate", None), ("wave 1", Some("generate")), ("materialize", None)]
        );
        assert_eq!((log.steps[1].input_tokens, log.steps[1].output_tokens), (100, 40));
        assert_eq!(log.steps[3].tokens(), 0);
        assert!(log.steps.iter().filter(|s| s.parent.is_none()).all(|s| s.end.is_some()));
        assert!(json.exists() && md.exists());
        assert_eq!(RunLog::load(t.path(), "r").unwrap().status, "ready");
    }

    #[test]
    fn plan_hash_changes_with_the_plan() {
        let t = tempfile::tempdir().unwrap();
        let task = TaskDir::new(t.path());
        std::fs::create_dir_all(t.path().join("planning")).unwrap();
        std::fs::write(task.plan_md(), "# a").unwrap();
        let a = plan_hash(&task);
        std::fs::write(task.plan_files_json(), "{}").unwrap();
        assert_ne!(a, plan_hash(&task));
    }
}
