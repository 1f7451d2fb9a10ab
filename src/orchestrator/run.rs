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

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerError, CallCtx, Role, StreamDelta};
use crate::codegen::diff::Backend;
use crate::codegen::generate::{self, GenerateError, GenerateSettings};
use crate::codegen::lang;
use crate::codegen::materialize::{self, Materialized};
use crate::codegen::patch;
use crate::codegen::prompt::Prompts;
use crate::config::{RepairConfig, ValidateConfig};
use crate::context::{self, DependencyContent, repo_summary};
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Event, FileDiffStat, RunOptions};
use crate::orchestrator::summary::{Summary, WaveTiming};
use crate::orchestrator::{checks, resume};
use crate::plan::dag;
use crate::runlog::{Recorder, RunLog, plan_hash};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;
use crate::task::plan::{self, Action, Plan};
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

pub(crate) fn stage(env: &RunEnv, st: &mut TaskState, s: Stage) {
    st.stage = Some(s);
    save(env, st);
    env.bus.emit(Event::StageChanged { stage: s });
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
    env.broker.take_records();
    env.broker.set_transcript_dir(Some(env.task.logs_dir().join("provider").join(&run_id)));
    let chain = env.broker.chain(Role::Codegen);
    let model = env.broker.primary(Role::Codegen).map(|p| p.model().to_owned()).unwrap_or_default();
    env.bus.emit(Event::RunStarted {
        run_id: run_id.clone(),
        task: env.task.root().to_path_buf(),
        repo: env.repo.clone(),
        providers: chain,
        model,
        files: plan.files.len(),
        waves: waves.len(),
    });
    env.bus.emit(Event::PhaseChanged { phase: Phase::Codegen });

    // context
    stage(env, st, Stage::Context);
    checks::log_step(env, rec, "context", summary);
    let (r, max) = (env.repo.clone(), env.settings.repo_summary_max_files);
    let summary_text = Arc::new(blocking(move || repo_summary::summarize(&r, max).render()).await?);

    // generate
    stage(env, st, Stage::Generate);
    checks::log_step(env, rec, "generate", summary);
    let gen_started = Instant::now();
    let mut generated: BTreeMap<RelPath, Option<String>> = BTreeMap::new();
    let mut scope: BTreeSet<String> = BTreeSet::new();
    let mut failed: Vec<String> = Vec::new();
    for (wi, wave) in waves.iter().enumerate() {
        if env.cancel.is_cancelled() {
            break;
        }
        let wave_no = wi + 1;
        let wave_started = Instant::now();
        env.bus.emit(Event::WaveStarted { wave: wave_no, files: wave.iter().map(ToString::to_string).collect() });
        let results = run_wave(env, &plan, wave, wave_no, &generated, &summary_text).await?;
        let (mut ok, mut bad) = (0, 0);
        let mut provider_error: Option<String> = None;
        let mut cancelled = false;
        for (path, res) in results {
            let fs = st.files.entry(path.to_string()).or_default();
            match res {
                Ok(None) => {
                    fs.status = FileStatus::Generated;
                    generated.insert(path, None);
                    ok += 1;
                }
                Ok(Some(g)) => {
                    fs.status = FileStatus::Generated;
                    fs.input_tokens = g.record.input_tokens;
                    fs.output_tokens = g.record.output_tokens;
                    fs.lines = g.content.lines().count();
                    env.bus.emit(Event::FileGenerated {
                        path: path.to_string(),
                        lines: fs.lines,
                        input_tokens: g.record.input_tokens,
                        output_tokens: g.record.output_tokens,
                        elapsed_ms: g.elapsed.as_millis() as u64,
                        provider: g.record.provider.clone(),
                    });
                    if !g.scope_violations.is_empty() {
                        env.bus.emit(Event::ScopeViolation {
                            target: path.to_string(),
                            paths: g.scope_violations.clone(),
                        });
                        scope.extend(g.scope_violations);
                    }
                    generated.insert(path, Some(g.content));
                    ok += 1;
                }
                Err(GenerateError::Broker(BrokerError::Cancelled)) => {
                    fs.status = FileStatus::Skipped;
                    cancelled = true;
                }
                Err(GenerateError::Broker(e)) => {
                    fs.status = FileStatus::Failed;
                    fs.error = Some(e.to_string());
                    env.bus.emit(Event::FileFailed { path: path.to_string(), error: e.to_string() });
                    provider_error.get_or_insert(e.to_string());
                    failed.push(path.to_string());
                    bad += 1;
                }
                Err(GenerateError::OutOfScope(paths)) => {
                    let msg = format!("the reply only wrote files outside the plan: {}", paths.join(", "));
                    fs.status = FileStatus::Failed;
                    fs.error = Some(msg.clone());
                    env.bus.emit(Event::FileFailed { path: path.to_string(), error: msg });
                    env.bus.emit(Event::ScopeViolation { target: path.to_string(), paths: paths.clone() });
                    scope.extend(paths);
                    failed.push(path.to_string());
                    bad += 1;
                }
                Err(e) => {
                    fs.status = FileStatus::Failed;
                    fs.error = Some(e.to_string());
                    env.bus.emit(Event::FileFailed { path: path.to_string(), error: e.to_string() });
                    failed.push(path.to_string());
                    bad += 1;
                }
            }
        }
        let secs = wave_started.elapsed();
        summary.waves.push(WaveTiming { wave: wave_no, files: wave.len(), seconds: secs.as_secs_f64() });
        env.bus.emit(Event::WaveFinished { wave: wave_no, elapsed_ms: secs.as_millis() as u64, ok, failed: bad });
        let records = env.broker.take_records();
        checks::log_wave(rec, wave_no, secs, &records);
        summary.add_calls(&records);
        st.usage = usage_of(summary);
        save(env, st);
        if let Some(e) = provider_error {
            return Err(Fail {
                files: failed,
                ..Fail::failed(
                    format!("provider error: {e}"),
                    "check the provider (key, base URL, model) with `ai-tools providers`, then run codegen again",
                )
            });
        }
        if cancelled || env.cancel.is_cancelled() {
            return Err(Fail {
                status: RunStatus::Cancelled,
                ..Fail::failed("the run was cancelled", "run codegen again when ready")
            });
        }
        if bad > 0 {
            for later in &waves[wi + 1..] {
                for p in later {
                    if let Some(fs) = st.files.get_mut(p.as_str()) {
                        fs.status = FileStatus::Skipped;
                    }
                }
            }
            break;
        }
    }
    summary.generation_seconds = gen_started.elapsed().as_secs_f64();

    // materialize
    stage(env, st, Stage::Materialize);
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
    stage(env, st, Stage::Diff);
    checks::log_step(env, rec, "diff", summary);
    let derived = derive_diff(env).await?;
    st.base = derived.0;
    emit_diff(env, summary, &derived.1);
    save(env, st);

    // validate + repair
    crate::orchestrator::checks::validate_and_repair(env, &plan, st, summary, &run_id, rec).await?;

    if derived.1.is_empty() && summary.diff_files == 0 && !opts.allow_empty {
        return Err(Fail::failed(
            "missing outputs: the diff is empty (the generated files equal the working tree)",
            "run `ai-tools codegen --redo` for another attempt, or pass --allow-empty if no change is the expected result",
        ));
    }
    if !scope.is_empty() {
        return Err(Fail {
            status: RunStatus::ScopeMismatch,
            reason: format!(
                "scope mismatch: replies tried to write files outside plan.files.json: {}",
                scope.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            suggestion:
                "revisit the plan: add those files to plan.files.json if they are needed, then run codegen again".into(),
            exit_code: 3,
            next_phase: Some(Phase::Planning),
            files: scope.into_iter().collect(),
        });
    }
    if opts.apply {
        crate::orchestrator::checks::apply(env, st).await?;
    }
    summary.total_seconds = started.elapsed().as_secs_f64();
    Ok(())
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

type WaveResult = Vec<(RelPath, Result<Option<generate::Generated>, GenerateError>)>;

async fn run_wave(
    env: &RunEnv,
    plan: &Arc<Plan>,
    wave: &[RelPath],
    wave_no: usize,
    generated: &BTreeMap<RelPath, Option<String>>,
    summary_text: &Arc<String>,
) -> Result<WaveResult, Fail> {
    let sem = Arc::new(Semaphore::new(env.settings.concurrency.max(1)));
    // Cancelled when a provider fails for good, stopping the wave's other requests; the run's
    // own token (the user's stop) cancels it too.
    let wave_cancel = env.cancel.child_token();
    let mut set: JoinSet<(RelPath, Result<Option<generate::Generated>, GenerateError>)> = JoinSet::new();
    let tree = SafeDir::new(&env.repo);
    for path in wave {
        let Some(entry) = plan.entry(path).cloned() else { continue };
        if entry.action == Action::Delete {
            set.spawn({
                let p = path.clone();
                async move { (p, Ok(None)) }
            });
            continue;
        }
        let current = match entry.action {
            Action::Modify => tree
                .read(path)
                .map_err(|e| Fail::failed(format!("cannot read {path}: {e}"), "check the file"))?
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            _ => None,
        };
        let mut deps = Vec::new();
        for d in &entry.depends_on {
            let (content, from_run) = match generated.get(d) {
                Some(Some(c)) => (c.clone(), true),
                Some(None) => (String::new(), true),
                None => (
                    tree.read(d).ok().flatten().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default(),
                    false,
                ),
            };
            deps.push(DependencyContent { path: d.clone(), content, generated: from_run });
        }
        let pkg = context::build(plan, &entry, summary_text, current, deps, env.settings.context_budget);
        env.bus.emit(Event::ContextBuilt {
            path: path.to_string(),
            tokens: pkg.tokens,
            truncated: pkg.truncated.iter().map(|t| t.part.clone()).collect(),
        });
        let (env2, plan2, sem2, p, cancel) =
            (env.clone(), plan.clone(), sem.clone(), path.clone(), wave_cancel.clone());
        set.spawn(async move {
            let Ok(_permit) = sem2.acquire_owned().await else {
                return (p, Err(GenerateError::Broker(BrokerError::Cancelled)));
            };
            env2.bus.emit(Event::FileStarted { path: p.to_string(), wave: wave_no });
            let label = p.to_string();
            let bus = env2.bus.clone();
            let sink = {
                let (bus, label) = (bus.clone(), label.clone());
                move |d: StreamDelta| match d {
                    StreamDelta::Text(text) => bus.emit(Event::FileDelta { path: label.clone(), text }),
                    StreamDelta::Restart => bus.emit(Event::FileRestart { path: label.clone() }),
                }
            };
            let notices = {
                let (bus, label) = (bus.clone(), label.clone());
                move |notice| bus.emit(Event::Provider { notice, path: label.clone() })
            };
            let ctx = CallCtx { label: &label, sink: &sink, notices: &notices, cancel: &cancel };
            let r =
                generate::generate_file(&env2.broker, &env2.prompts, &plan2, &pkg, &env2.settings.generate, &ctx).await;
            (p, r.map(Some))
        });
    }
    let mut out = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(r) => {
                // A provider failure means the chain is down: stop the wave's other requests.
                if matches!(r.1, Err(GenerateError::Broker(BrokerError::Failed(_)))) {
                    wave_cancel.cancel();
                }
                out.push(r);
            }
            Err(e) => return Err(Fail::failed(format!("internal error: {e}"), "report this bug")),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
