//! `ai-tools codegen --resume <run-id>`: continue a run from the first stage whose inputs are
//! not already on disk and current.
//!
//! "Current" means: the run is the task's latest (`state.json`'s run id), `code/manifest.json`
//! was written by that run and lists exactly the plan's targets and actions, every
//! `create`/`modify` target exists in `code/files/`, and plan.md and plan.files.json hash the
//! same as when the run began (recorded in its run log). Then context, generate and materialize
//! are skipped and the run starts again at diff → verify → ready, under the same run id,
//! appending to the same run log. Anything else is refused as bad input before anything is
//! written, pointing at `--redo`.

use crate::codegen::materialize::Manifest;
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::Run;
use crate::plan::{Action, Plan};
use crate::runlog::{Recorder, RunLog, plan_hash};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::{Phase, RunStatus, TaskState};

const REDO: &str = "run `ai-tools codegen --redo` to start a new run";

/// Why the outputs of run `id` are not current, if they are not (see the module docs).
pub fn not_current(task: &TaskDir, plan: &Plan, st: &TaskState, id: &str) -> Option<String> {
    if st.run_id.as_deref() != Some(id) {
        return Some(format!(
            "run {id} is not the task's latest run (that is {})",
            st.run_id.as_deref().unwrap_or("none")
        ));
    }
    if st.status == RunStatus::ScopeMismatch {
        return Some(format!(
            "run {id} ended in a scope mismatch (replies wrote outside the plan); revisit the plan instead of resuming"
        ));
    }
    let Some(manifest) = Manifest::load(task) else {
        return Some(format!("run {id} never materialized its files (no code/manifest.json)"));
    };
    if manifest.run_id != id {
        return Some(format!("code/ holds the output of run {}, not {id}", manifest.run_id));
    }
    let mut planned: Vec<(&RelPath, Action)> = plan.files.iter().map(|f| (&f.path, f.action)).collect();
    planned.sort_by(|a, b| a.0.cmp(b.0));
    let mut written: Vec<(&RelPath, Action)> = manifest.files.iter().map(|e| (&e.path, e.action)).collect();
    written.sort_by(|a, b| a.0.cmp(b.0));
    if planned != written {
        return Some(format!(
            "code/manifest.json of run {id} does not list exactly the plan's targets (the plan changed, or some \
             targets were never generated)"
        ));
    }
    let files = SafeDir::new(task.files_dir());
    if let Some(missing) = manifest
        .files
        .iter()
        .filter(|e| e.action != Action::Delete)
        .find(|e| !matches!(files.read(&e.path), Ok(Some(_))))
    {
        return Some(format!("code/files/{} is missing", missing.path));
    }
    match RunLog::load(&task.logs_dir(), id) {
        None => Some(format!("run {id} has no run log to resume from")),
        Some(log) if log.plan_hash != plan_hash(task) => Some(format!("the plan changed since run {id}")),
        Some(_) => None,
    }
}

impl Run {
    /// Resumes run `id` (see the module docs): the run continues at the diff stage.
    ///
    /// # Errors
    /// [`Fail::bad_input`] when the outputs are not current.
    pub(crate) fn resume(&mut self, id: &str) -> Result<(), Fail> {
        if let Some(why) = not_current(&self.env.task, &self.plan, &self.state, id) {
            return Err(Fail::bad_input(format!("cannot resume: {why}"), REDO));
        }
        let Some(mut log) = RunLog::load(&self.env.task.logs_dir(), id) else {
            return Err(Fail::bad_input(format!("cannot resume: run {id} has no run log"), REDO));
        };
        log.status = "running".into();
        log.ended_at = None;
        self.rec = Some(Recorder::new(&self.env.task.logs_dir(), log));
        self.run_id = id.to_owned();
        self.summary.run_id = id.to_owned();
        if let Some(m) = Manifest::load(&self.env.task) {
            self.summary.files_deleted = m.files.iter().filter(|e| e.action == Action::Delete).count();
            self.summary.files_generated = m.files.len() - self.summary.files_deleted;
        }
        self.state.status = RunStatus::Running;
        self.state.failure = None;
        self.state.next_phase = None;
        self.state.phase = Phase::Codegen;
        self.began = true;
        self.announce_start();
        self.env.bus.emit(Event::log(
            "info",
            format!("resuming run {id}: code/files is current, skipping context, generate and materialize"),
        ));
        Ok(())
    }
}
