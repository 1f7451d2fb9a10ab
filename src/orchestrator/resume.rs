//! `ai-tools codegen --resume <run-id>`: continue a run from the first stage whose inputs are
//! not already on disk and current.
//!
//! "Current" means: the run is the task's latest (`state.json`'s run id), `code/manifest.json`
//! was written by that run and lists exactly the plan's targets and actions, every
//! `create`/`modify` target exists in `code/files/`, and plan.md and plan.files.json hash the
//! same as when the run began (recorded in its run log). Then context, generate and materialize
//! are skipped and the run starts again at diff → validate → repair → ready, under the same
//! run id, appending to the same run log. Anything else is refused as bad input before
//! anything is written, pointing at `--redo`.

use std::sync::Arc;

use crate::codegen::materialize::Manifest;
use crate::orchestrator::checks;
use crate::orchestrator::events::{Event, RunOptions};
use crate::orchestrator::run::{self, Fail, RunEnv};
use crate::orchestrator::summary::Summary;
use crate::plan::{Action, Plan};
use crate::runlog::{Recorder, RunLog, plan_hash};
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::{Phase, RunStatus, Stage, TaskState};

const REDO: &str = "run `ai-tools codegen --redo` to start a new run";

/// Why the outputs of run `id` are not current, if they are not (see the module docs).
pub fn not_current(task: &crate::task::TaskDir, plan: &Plan, st: &TaskState, id: &str) -> Option<String> {
    if st.run_id.as_deref() != Some(id) {
        return Some(format!(
            "run {id} is not the task's latest run (that is {})",
            st.run_id.as_deref().unwrap_or("none")
        ));
    }
    if st.status == crate::task::state::RunStatus::ScopeMismatch {
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

/// Resumes run `id` (see the module docs).
///
/// # Errors
/// [`Fail::bad_input`] when the outputs are not current; otherwise as the stages after diff.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    env: &RunEnv,
    opts: &RunOptions,
    plan: &Arc<Plan>,
    waves: &[Vec<RelPath>],
    mut st: TaskState,
    state_slot: &mut Option<TaskState>,
    summary: &mut Summary,
    rec: &mut Option<Recorder>,
    id: &str,
) -> Result<(), Fail> {
    if let Some(why) = not_current(&env.task, plan, &st, id) {
        return Err(Fail::bad_input(format!("cannot resume: {why}"), REDO));
    }
    let Some(log) = RunLog::load(&env.task.logs_dir(), id) else {
        return Err(Fail::bad_input(format!("cannot resume: run {id} has no run log"), REDO));
    };
    let mut log = log;
    log.status = "running".into();
    log.ended_at = None;
    *rec = Some(Recorder::new(&env.task.logs_dir(), log));
    summary.run_id = id.to_owned();
    if let Some(m) = Manifest::load(&env.task) {
        summary.files_deleted = m.files.iter().filter(|e| e.action == Action::Delete).count();
        summary.files_generated = m.files.len() - summary.files_deleted;
    }
    st.status = RunStatus::Running;
    st.failure = None;
    st.next_phase = None;
    st.phase = Phase::Codegen;
    *state_slot = Some(st);
    let st = state_slot.as_mut().ok_or_else(|| Fail::failed("internal error: no state", "report this bug"))?;
    crate::orchestrator::run::announce_start(env, id, plan.files.len(), waves.len());
    env.bus.emit(Event::log(
        "info",
        format!("resuming run {id}: code/files is current, skipping context, generate and materialize"),
    ));

    run::stage(env, st, Stage::Diff)?;
    checks::log_step(env, rec, "diff (resumed)", summary);
    let derived = run::derive_diff(env).await?;
    st.base = derived.0;
    run::emit_diff(env, summary, &derived.1);
    run::save(env, st);
    checks::validate_and_repair(env, plan, st, summary, id, rec).await?;
    if derived.1.is_empty() && summary.diff_files == 0 && !opts.allow_empty {
        return Err(Fail::failed(
            "missing outputs: the diff is empty (the generated files equal the working tree)",
            "run `ai-tools codegen --redo` for another attempt, or pass --allow-empty if no change is the expected result",
        ));
    }
    if opts.apply {
        checks::apply(env, st).await?;
    }
    Ok(())
}
