//! One codegen run: plan → context → generate (wave by wave) → materialize → diff → validate →
//! repair → ready, publishing events as it goes.
//!
//! Invariants:
//! - bad input (plan errors, a corrupt state.json, outputs that would be overwritten) ends the
//!   run before anything is written, with exit code 2;
//! - state.json is rewritten atomically after every stage, so a killed run leaves it consistent;
//! - a provider error ends the run without materializing or diffing: no partial diff.patch is
//!   ever left as if it were a result;
//! - the working tree is only touched with `RunOptions::apply`;
//! - the context stage loads the plan and summarizes the repo; each target's context package is
//!   then built just before its request, once its dependencies have been generated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Role};
use crate::codegen::diff::Backend;
use crate::codegen::generate::GenerateSettings;
use crate::codegen::lang;
use crate::codegen::materialize::{self, Materialized};
use crate::codegen::patch;
use crate::codegen::prompt::Prompts;
use crate::config::{RepairConfig, ValidateConfig};
use crate::context::repo_summary;
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Event, FileDiffStat, PlannedTarget, RunOptions};
use crate::orchestrator::summary::Summary;
use crate::orchestrator::{checks, resume};
use crate::plan::dag;
use crate::plan::{self, Action};
use crate::runlog::{Recorder, RunLog, plan_hash};
use crate::task::TaskDir;
use crate::task::relpath::RelPath;
use crate::task::state::{self, Failure, FileState, FileStatus, Phase, RunStatus, Stage, TaskState};

/// Settings a run needs beyond the broker.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Concurrent requests within a wave.
    pub concurrency: usize,
    /// Context package budget, estimated tokens.
    pub context_budget: usize,
    /// Repo summary cap, files.
    pub repo_summary_max_files: usize,
    /// Request settings.
    pub generate: GenerateSettings,
    /// Diff algorithm.
    pub diff_backend: Backend,
    /// Validation settings.
    pub validate: ValidateConfig,
    /// Repair settings.
    pub repair: RepairConfig,
}

/// Everything a run works with.
#[derive(Clone)]
pub struct RunEnv {
    /// Repo root (the working tree).
    pub repo: PathBuf,
    /// The task.
    pub task: TaskDir,
    /// Settings.
    pub settings: RunSettings,
    /// The broker.
    pub broker: Arc<Broker>,
    /// Prompt templates.
    pub prompts: Arc<Prompts>,
    /// Where events go.
    pub bus: EventBus,
    /// Stops the run.
    pub cancel: CancellationToken,
}

/// How a run ended, for the actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Final status.
    pub status: RunStatus,
    /// Exit code for one-shot front ends.
    pub exit_code: i32,
}

pub(crate) struct Fail {
    pub(crate) status: RunStatus,
    pub(crate) reason: String,
    pub(crate) suggestion: String,
    pub(crate) exit_code: i32,
    pub(crate) next_phase: Option<Phase>,
    pub(crate) files: Vec<String>,
}

impl Fail {
    pub(crate) fn bad_input(reason: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Self {
            status: RunStatus::Failed,
            reason: reason.into(),
            suggestion: suggestion.into(),
            exit_code: 2,
            next_phase: None,
            files: vec![],
        }
    }
    pub(crate) fn failed(reason: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Self {
            status: RunStatus::Failed,
            reason: reason.into(),
            suggestion: suggestion.into(),
            exit_code: 1,
            next_phase: None,
            files: vec![],
        }
    }
}

/// Runs the codegen phase once (see the module invariants) and returns how it ended; the final
/// [`Event::Ready`] or [`Event::Failed`] has been published by then.
pub async fn run(env: RunEnv, opts: RunOptions) -> Outcome {
    let started = Instant::now();
    let mut summary = Summary {
        task_dir: env.task.root().to_path_buf(),
        files_dir: env.task.files_dir(),
        diff_patch: env.task.diff_patch(),
        ..Summary::default()
    };
    let mut state: Option<TaskState> = None;
    let mut rec: Option<Recorder> = None;
    // One run per task, across processes; held until the final state is written.
    let _lock = match crate::task::RunLock::acquire(&env.task) {
        Ok(l) => l,
        Err(e) => {
            env.bus.emit(Event::Failed {
                status: RunStatus::Failed,
                reason: e.to_string(),
                suggestion: "wait for the other run to end (or /cancel it), then run codegen again".into(),
                exit_code: 2,
                next_phase: None,
                files: vec![],
                summary: None,
            });
            return Outcome { status: RunStatus::Failed, exit_code: 2 };
        }
    };
    let result = run_inner(&env, &opts, &mut state, &mut summary, started, &mut rec).await;
    summary.total_seconds = started.elapsed().as_secs_f64();
    env.broker.set_transcript_dir(None);
    let status = result.as_ref().map_or_else(|f| f.status, |()| RunStatus::Ready);
    checks::finish_log(&env, &mut rec, &mut summary, status);
    match result {
        Ok(()) => {
            if let Some(st) = state.as_mut() {
                st.status = RunStatus::Ready;
                st.stage = Some(Stage::Ready);
                st.next_phase = Some(Phase::Review);
                st.failure = None;
                save(&env, st);
            }
            env.bus.emit(Event::StageChanged { stage: Stage::Ready });
            env.bus.emit(Event::Ready { summary: Box::new(summary) });
            Outcome { status: RunStatus::Ready, exit_code: 0 }
        }
        Err(f) => {
            // Bad input before the run began writes nothing, state.json included.
            if let Some(st) = state.as_mut() {
                st.status = f.status;
                st.next_phase = f.next_phase;
                st.failure = Some(Failure { reason: f.reason.clone(), suggestion: f.suggestion.clone() });
                save(&env, st);
            }
            let has_summary = summary.api_calls > 0 || summary.files_generated > 0;
            env.bus.emit(Event::Failed {
                status: f.status,
                reason: f.reason,
                suggestion: f.suggestion,
                exit_code: f.exit_code,
                next_phase: f.next_phase,
                files: f.files,
                summary: has_summary.then(|| Box::new(summary)),
            });
            Outcome { status: f.status, exit_code: f.exit_code }
        }
    }
}

pub(crate) fn save(env: &RunEnv, st: &mut TaskState) {
    if let Err(e) = st.save(&env.task) {
        env.bus.emit(Event::log("error", format!("cannot write state.json: {e}")));
    }
}

/// Enters stage `s` (state.json and an event), unless the run was cancelled.
///
/// # Errors
/// The cancelled ending, so no stage starts after the user stopped the run.
pub(crate) fn stage(env: &RunEnv, st: &mut TaskState, s: Stage) -> Result<(), Fail> {
    if env.cancel.is_cancelled() {
        return Err(cancelled());
    }
    st.stage = Some(s);
    save(env, st);
    env.bus.emit(Event::StageChanged { stage: s });
    Ok(())
}

/// The ending of a run the user stopped.
pub(crate) fn cancelled() -> Fail {
    Fail { status: RunStatus::Cancelled, ..Fail::failed("the run was cancelled", "run codegen again when ready") }
}

pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Fail> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Fail::failed(format!("internal error: {e}"), "report this bug"))
}

async fn run_inner(
    env: &RunEnv,
    opts: &RunOptions,
    state_slot: &mut Option<TaskState>,
    summary: &mut Summary,
    started: Instant,
    rec: &mut Option<Recorder>,
) -> Result<(), Fail> {
    let (task, repo) = (env.task.clone(), env.repo.clone());
    let plan = blocking(move || plan::load(&task, &repo))
        .await?
        .map_err(|e| Fail::bad_input(e.to_string(), "fix the plan, then run codegen again"))?;
    let plan = Arc::new(plan);
    let waves =
        dag::waves(&plan.files).map_err(|c| Fail::bad_input(c.to_string(), "break the cycle in plan.files.json"))?;
    let mut st = TaskState::load(&env.task)
        .map_err(|e| Fail::bad_input(e.to_string(), "move state.json aside to start fresh"))?;
    if let Some(id) = opts.resume.as_deref() {
        return resume::run(env, opts, &plan, &waves, st, state_slot, summary, rec, id).await;
    }

    if st.status == RunStatus::Running {
        // We hold the run lock, so no process is running it: it was killed mid-way.
        env.bus.emit(Event::log(
            "warn",
            format!(
                "run {} did not finish (its process stopped); its state and outputs are kept in code/archive/",
                st.run_id.as_deref().unwrap_or("?")
            ),
        ));
    }
    if materialize::has_outputs(&env.task) {
        let prev = st.run_id.clone().unwrap_or_else(|| format!("unknown-{}", Utc::now().format("%Y%m%d-%H%M%S")));
        if st.status == RunStatus::Ready && !opts.redo {
            return Err(Fail::bad_input(
                format!("code/ already holds the output of run {prev}, which is ready for review"),
                "review or accept it, or run `ai-tools codegen --redo` (`/redo codegen`) to archive it and start again",
            ));
        }
        let task = env.task.clone();
        let dir = blocking(move || materialize::archive(&task, &prev)).await?.map_err(|e| {
            Fail::failed(format!("cannot archive earlier outputs: {e}"), "check permissions on the task dir")
        })?;
        env.bus.emit(Event::Archived { dir });
    }

    let run_id = state::new_run_id();
    summary.run_id = run_id.clone();
    st = TaskState {
        phase: Phase::Codegen,
        status: RunStatus::Running,
        run_id: Some(run_id.clone()),
        started_at: Some(Utc::now()),
        ..TaskState::default()
    };
    for (wi, wave) in waves.iter().enumerate() {
        for p in wave {
            let action = plan.entry(p).map(|e| e.action);
            st.files.insert(p.to_string(), FileState { action, wave: wi + 1, ..FileState::default() });
        }
    }
    *state_slot = Some(st);
    let st = state_slot.as_mut().ok_or_else(|| Fail::failed("internal error: no state", "report this bug"))?;
    *rec = Some(Recorder::new(&env.task.logs_dir(), RunLog::new(run_id.clone(), plan_hash(&env.task))));
    announce_start(env, &run_id, plan.files.len(), waves.len());
    env.bus.emit(plan_loaded(&plan, &waves));

    // context
    stage(env, st, Stage::Context)?;
    checks::log_step(env, rec, "context", summary);
    let (r, max) = (env.repo.clone(), env.settings.repo_summary_max_files);
    let summary_text = Arc::new(blocking(move || repo_summary::summarize(&r, max).render()).await?);

    // generate
    stage(env, st, Stage::Generate)?;
    checks::log_step(env, rec, "generate", summary);
    let gen_started = Instant::now();
    let g = crate::orchestrator::scheduler::generate(env, &plan, &waves, st, summary, &summary_text, rec).await?;
    summary.generation_seconds = gen_started.elapsed().as_secs_f64();
    save(env, st);
    if let Some(e) = g.provider_error {
        return Err(Fail {
            files: g.failed,
            ..Fail::failed(
                format!("provider error: {e}"),
                "check the provider (key, base URL, model) with `ai-tools providers`, then run codegen again",
            )
        });
    }
    if g.cancelled {
        return Err(cancelled());
    }
    let (generated, scope, failed) = (g.generated, g.scope, g.failed);

    // materialize
    stage(env, st, Stage::Materialize)?;
    checks::log_step(env, rec, "materialize", summary);
    let items: Vec<(RelPath, Action, Option<String>)> = plan
        .files
        .iter()
        .filter_map(|f| generated.get(&f.path).map(|c| (f.path.clone(), f.action, c.clone())))
        .collect();
    let (task, repo, rid) = (env.task.clone(), env.repo.clone(), run_id.clone());
    let written = blocking(move || materialize::materialize(&task, &repo, &rid, &items)).await?.map_err(|e| {
        Fail::failed(format!("materialize failed: {e}"), "fix the reported path or permission, then /redo codegen")
    })?;
    record_materialized(env, st, summary, &written);
    save(env, st);

    // A reply that wrote outside the plan routes back to planning, whatever else failed.
    if !failed.is_empty() && !scope.is_empty() {
        return Err(scope_mismatch(&scope));
    }
    if !failed.is_empty() {
        return Err(Fail {
            files: failed.clone(),
            ..Fail::failed(
                format!("{} of {} files could not be generated: {}", failed.len(), plan.files.len(), failed.join(", ")),
                "see each file's error; code/files holds what was generated; run `ai-tools codegen --redo` to try again",
            )
        });
    }
    if written.is_empty() {
        return Err(Fail::failed("missing outputs: no files were produced", "run codegen again"));
    }

    // diff
    stage(env, st, Stage::Diff)?;
    checks::log_step(env, rec, "diff", summary);
    let derived = derive_diff(env).await?;
    st.base = derived.0;
    emit_diff(env, summary, &derived.1);
    save(env, st);

    // validate + repair
    crate::orchestrator::checks::validate_and_repair(env, &plan, st, summary, &run_id, rec).await?;

    if derived.1.is_empty() && summary.diff_files == 0 && !opts.allow_empty && scope.is_empty() {
        return Err(Fail::failed(
            "missing outputs: the diff is empty (the generated files equal the working tree)",
            "run `ai-tools codegen --redo` for another attempt, or pass --allow-empty if no change is the expected result",
        ));
    }
    if !scope.is_empty() {
        return Err(scope_mismatch(&scope));
    }
    if opts.apply {
        crate::orchestrator::checks::apply(env, st).await?;
    }
    summary.total_seconds = started.elapsed().as_secs_f64();
    Ok(())
}

/// The [`Event::PlanLoaded`] for `plan` layered into `waves`.
pub(crate) fn plan_loaded(plan: &crate::plan::Plan, waves: &[Vec<RelPath>]) -> Event {
    let wave_of = |p: &RelPath| waves.iter().position(|w| w.contains(p)).map_or(0, |i| i + 1);
    let files = plan
        .files
        .iter()
        .map(|f| PlannedTarget { path: f.path.to_string(), action: f.action.to_string(), wave: wave_of(&f.path) })
        .collect();
    Event::PlanLoaded { title: plan.title.clone(), files }
}

/// Starts the broker's bookkeeping for run `run_id` (fresh call records, transcripts under
/// `logs/provider/<run_id>/`) and publishes the run's start.
pub(crate) fn announce_start(env: &RunEnv, run_id: &str, files: usize, waves: usize) {
    env.broker.take_records();
    env.broker.set_transcript_dir(Some(env.task.logs_dir().join("provider").join(run_id)));
    env.bus.emit(Event::RunStarted {
        run_id: run_id.to_owned(),
        task: env.task.root().to_path_buf(),
        repo: env.repo.clone(),
        providers: env.broker.chain(Role::Codegen),
        model: env.broker.primary(Role::Codegen).map(|p| p.model().to_owned()).unwrap_or_default(),
        files,
        waves,
    });
    env.bus.emit(Event::PhaseChanged { phase: Phase::Codegen });
}

/// The scope-mismatch ending: exit 3, next phase planning, naming the unplanned paths.
fn scope_mismatch(scope: &std::collections::BTreeSet<String>) -> Fail {
    Fail {
        status: RunStatus::ScopeMismatch,
        reason: format!(
            "scope mismatch: replies tried to write files outside plan.files.json: {}",
            scope.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        suggestion: "revisit the plan: add those files to plan.files.json if they are needed, then run codegen again"
            .into(),
        exit_code: 3,
        next_phase: Some(Phase::Planning),
        files: scope.iter().cloned().collect(),
    }
}

pub(crate) fn usage_of(s: &Summary) -> state::UsageTotals {
    state::UsageTotals {
        api_calls: s.api_calls,
        input_tokens: s.input_tokens,
        output_tokens: s.output_tokens,
        cost_usd: s.cost_usd,
    }
}

fn record_materialized(env: &RunEnv, st: &mut TaskState, summary: &mut Summary, written: &[Materialized]) {
    for m in written {
        if let Some(fs) = st.files.get_mut(m.path.as_str()) {
            fs.status = FileStatus::Materialized;
        }
        if m.action == Action::Delete {
            summary.files_deleted += 1;
        } else {
            summary.files_generated += 1;
            summary.total_loc += m.lines;
            let ty = lang::file_type(&m.path).name.to_owned();
            *summary.loc_by_type.entry(ty.clone()).or_default() += m.lines;
            *summary.files_by_type.entry(ty).or_default() += 1;
        }
        env.bus.emit(Event::FileMaterialized {
            path: m.path.to_string(),
            action: m.action.to_string(),
            bytes: m.bytes,
            lines: m.lines,
        });
    }
}

/// Re-derives diff.patch; returns the base and per-file stats.
pub(crate) async fn derive_diff(env: &RunEnv) -> Result<(BTreeMap<String, state::BaseEntry>, Vec<FileDiffStat>), Fail> {
    let (task, repo, backend) = (env.task.clone(), env.repo.clone(), env.settings.diff_backend);
    let d = blocking(move || patch::write(&task, &repo, backend))
        .await?
        .map_err(|e| Fail::failed(format!("diff failed: {e}"), "fix the reported file, then /redo codegen"))?;
    let stats = d
        .stats
        .iter()
        .map(|s| FileDiffStat {
            path: s.path.to_string(),
            additions: s.additions,
            deletions: s.deletions,
            hunks: s.hunks,
        })
        .collect();
    Ok((d.base, stats))
}

pub(crate) fn emit_diff(env: &RunEnv, summary: &mut Summary, stats: &[FileDiffStat]) {
    summary.diff_files = stats.len();
    summary.additions = stats.iter().map(|s| s.additions).sum();
    summary.deletions = stats.iter().map(|s| s.deletions).sum();
    env.bus.emit(Event::DiffReady {
        patch: env.task.diff_patch(),
        files: stats.to_vec(),
        additions: summary.additions,
        deletions: summary.deletions,
    });
}
