//! One codegen run as one object. [`Run`] owns everything a run works on — its environment,
//! the plan (with its waves, layered once when it loads), the task state, the summary, the run log — and each stage is a
//! method of it, defined in its own file under [`crate::orchestrator::stages`]. This file holds
//! the run context (the struct and the primitives every stage uses: enter a stage, save the
//! state, re-derive and announce the diff, log a step) and the driver, [`run`], which only
//! sequences stages:
//!
//! ```text
//! plan → (fresh: begin → context → generate → materialize → format | resume: resume)
//!      → diff → verify (validate, test, repair, improve, score) → check outputs
//!      → apply (with --apply) → finish
//! ```
//!
//! Invariants:
//! - bad input (plan errors, a corrupt state.json, outputs that would be overwritten) ends the
//!   run before anything is written, with exit code 2: nothing is saved until the run has
//!   [begun](Run::began);
//! - the run is the only writer of state.json while it holds the task's run lock, and rewrites
//!   it atomically after every stage, so a killed run leaves it consistent; a stage that panics
//!   ends the run as failed through the same path as any other failure;
//! - a provider error ends the run without materializing or diffing: no partial diff.patch is
//!   ever left as if it were a result;
//! - the working tree is only touched with `RunOptions::apply`;
//! - every ending publishes exactly one final event: [`Event::Ready`] or [`Event::Failed`].

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::codegen::diff::Backend;
use crate::codegen::generate::GenerateSettings;
use crate::codegen::patch;
use crate::codegen::prompt::Prompts;
use crate::config::{RepairConfig, ValidateConfig};
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Event, RunOptions, wire_name};
use crate::orchestrator::fail::Fail;
use crate::orchestrator::summary::Summary;
use crate::plan::Plan;
use crate::runlog::Recorder;
use crate::task::TaskDir;
use crate::task::relpath::RelPath;
use crate::task::state::{Failure, Phase, RunStatus, Stage, TaskState, UsageTotals};

/// Settings a run needs beyond the broker.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Requests in flight at once during generate.
    pub concurrency: usize,
    /// Context package budget, estimated tokens (⌈chars / 4⌉).
    pub context_budget: usize,
    /// How many files the repo summary lists at most.
    pub repo_summary_max_files: usize,
    /// Request settings (edit threshold, max tokens, sampling).
    pub generate: GenerateSettings,
    /// `[generate]`, with `candidates` resolved for the codegen chain's first provider
    /// ([`crate::codegen::quality::GenerateConfig::candidates_for`]).
    pub generate_quality: crate::codegen::quality::GenerateConfig,
    /// Diff algorithm.
    pub diff_backend: Backend,
    /// `[validate]`.
    pub validate: ValidateConfig,
    /// `[repair]`.
    pub repair: RepairConfig,
    /// `[test]`: the test step after static validation.
    pub test: crate::testing::TestConfig,
    /// `[format]`: formatting generated files before the diff.
    pub format: crate::format::FormatConfig,
    /// `[quality]`: the score threshold and improvement attempts after repair.
    pub quality: crate::quality::QualityConfig,
    /// `[sandbox]` (user config only), its `deny_env` extended with every provider's
    /// `api_key_env`.
    pub sandbox: crate::sandbox::SandboxConfig,
}

/// What a run works with, shared by the tasks it spawns (cheap to clone).
#[derive(Clone)]
pub struct RunEnv {
    /// The working tree's root.
    pub repo: PathBuf,
    /// The task directory.
    pub task: TaskDir,
    /// Settings resolved from the configuration.
    pub settings: RunSettings,
    /// The provider broker.
    pub broker: Arc<Broker>,
    /// Prompt templates.
    pub prompts: Arc<Prompts>,
    /// Where events go.
    pub bus: EventBus,
    /// Cancelled by `/cancel`; every stage checks it.
    pub cancel: CancellationToken,
}

/// What the generate stage produced, for the stages after it.
#[derive(Debug, Default)]
pub(crate) struct Generation {
    /// New content per generated target (`None` for deletes).
    pub(crate) generated: BTreeMap<RelPath, Option<String>>,
    /// Unplanned paths replies tried to write.
    pub(crate) scope: BTreeSet<String>,
    /// Targets that failed.
    pub(crate) failed: Vec<String>,
    /// The provider chain's failure, when it went down.
    pub(crate) provider_error: Option<String>,
}

/// One run's state; its methods are the stages (see the module docs).
pub(crate) struct Run {
    pub(crate) env: RunEnv,
    pub(crate) opts: RunOptions,
    /// The checked plan (empty until the plan stage loaded it).
    pub(crate) plan: Arc<Plan>,
    /// state.json as this run keeps it.
    pub(crate) state: TaskState,
    /// Whether the run has begun writing (state.json, the run log).
    pub(crate) began: bool,
    pub(crate) run_id: String,
    pub(crate) summary: Summary,
    /// The run log, once the run began.
    pub(crate) rec: Option<Recorder>,
    pub(crate) generation: Generation,
    started: Instant,
}

/// Runs the codegen phase once (see the module invariants) and returns its final event — the
/// [`Event::Ready`] or [`Event::Failed`] it has also published.
pub async fn run(env: RunEnv, opts: RunOptions) -> Event {
    // One run per task, across processes; held until the final state is written.
    let _lock = match crate::task::RunLock::acquire(&env.task) {
        Ok(l) => l,
        Err(e) => {
            let f =
                Fail::bad_input(e.to_string(), "wait for the other run to end (or /cancel it), then run codegen again");
            let ev = f.event(None);
            env.bus.emit(ev.clone());
            return ev;
        }
    };
    let mut run = Run::new(env, opts);
    let result = match AssertUnwindSafe(run.drive()).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => Err(Fail::internal(panic_message(&*panic))),
    };
    run.finish(result)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

impl Run {
    fn new(env: RunEnv, opts: RunOptions) -> Self {
        let summary = Summary {
            task_dir: env.task.root().to_path_buf(),
            files_dir: env.task.files_dir(),
            diff_patch: env.task.diff_patch(),
            ..Summary::default()
        };
        Self {
            env,
            opts,
            plan: Arc::new(Plan::default()),
            state: TaskState::default(),
            began: false,
            run_id: String::new(),
            summary,
            rec: None,
            generation: Generation::default(),
            started: Instant::now(),
        }
    }

    /// The stages in order.
    async fn drive(&mut self) -> Result<(), Fail> {
        self.load_plan().await?;
        match self.opts.resume.clone() {
            Some(id) => self.resume(&id)?,
            None => {
                self.begin().await?;
                let repo_summary = self.context().await?;
                self.generate(repo_summary).await?;
                self.materialize().await?;
                self.format().await?;
            }
        }
        self.diff().await?;
        self.verify().await?;
        self.check_outputs()?;
        if self.opts.apply {
            self.apply().await?;
        }
        Ok(())
    }

    /// Writes the final state and run log and publishes the final event.
    fn finish(mut self, result: Result<(), Fail>) -> Event {
        self.summary.total_seconds = self.started.elapsed().as_secs_f64();
        self.env.broker.set_transcript_dir(None);
        let status = result.as_ref().map_or_else(|f| f.status, |()| RunStatus::Ready);
        self.finish_log(status);
        let ev = match result {
            Ok(()) => {
                self.state.status = RunStatus::Ready;
                self.state.stage = Some(Stage::Ready);
                self.state.next_phase = Some(Phase::Review);
                self.state.failure = None;
                self.save();
                self.env.bus.emit(Event::StageChanged { stage: Stage::Ready });
                Event::Ready { summary: Box::new(self.summary) }
            }
            Err(f) => {
                self.state.status = f.status;
                self.state.next_phase = f.next_phase;
                self.state.failure = Some(Failure { reason: f.reason.clone(), suggestion: f.suggestion.clone() });
                self.save();
                let has_summary = self.summary.api_calls > 0 || self.summary.files_generated > 0;
                f.event(has_summary.then(|| Box::new(self.summary)))
            }
        };
        self.env.bus.emit(ev.clone());
        ev
    }

    /// Rewrites state.json (once the run has begun); a write failure is reported, not fatal.
    pub(crate) fn save(&mut self) {
        if !self.began {
            return;
        }
        self.state.usage = UsageTotals {
            api_calls: self.summary.api_calls,
            input_tokens: self.summary.input_tokens,
            output_tokens: self.summary.output_tokens,
            cost_usd: self.summary.cost_usd,
        };
        if let Err(e) = self.state.save(&self.env.task) {
            self.env.bus.emit(Event::log("error", format!("cannot write state.json: {e}")));
        }
    }

    /// Enters stage `s`: state.json, an event and a run-log step — unless the run was cancelled.
    ///
    /// # Errors
    /// The cancelled ending, so no stage starts after the user stopped the run.
    pub(crate) fn enter(&mut self, s: Stage, log_name: &str) -> Result<(), Fail> {
        if self.env.cancel.is_cancelled() {
            return Err(Fail::cancelled());
        }
        self.state.stage = Some(s);
        self.save();
        self.env.bus.emit(Event::StageChanged { stage: s });
        self.log_step(log_name);
        Ok(())
    }

    /// Re-derives diff.patch from code/files against the working tree, records the base in the
    /// state, and announces it ([`Event::diff_ready`]): the one way a run publishes a diff.
    ///
    /// # Errors
    /// A [`Fail`] when the diff cannot be written.
    pub(crate) async fn rediff(&mut self) -> Result<(), Fail> {
        let (task, repo, backend) = (self.env.task.clone(), self.env.repo.clone(), self.env.settings.diff_backend);
        let d = blocking(move || patch::write(&task, &repo, backend))
            .await?
            .map_err(|e| Fail::failed(format!("diff failed: {e}"), "fix the reported file, then /redo codegen"))?;
        self.state.base = d.base;
        self.summary.diff_files = d.stats.len();
        self.summary.additions = d.stats.iter().map(|s| s.additions).sum();
        self.summary.deletions = d.stats.iter().map(|s| s.deletions).sum();
        self.env.bus.emit(Event::diff_ready(&self.env.task, &d.stats));
        self.save();
        Ok(())
    }

    /// Opens run-log step `name` (see [`Recorder::begin`]); a log write failure is reported,
    /// not fatal.
    pub(crate) fn log_step(&mut self, name: &str) {
        let tokens = (self.summary.input_tokens, self.summary.output_tokens);
        if let Some(r) = self.rec.as_mut()
            && let Err(e) = r.begin(name, tokens)
        {
            self.env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}")));
        }
    }

    /// The repair loop's callbacks for `path` (its `on_attempt` and `notices`): each attempt and
    /// each provider notice is published as an event.
    pub(crate) fn repair_events(
        &self,
        path: &RelPath,
    ) -> (
        impl Fn(&crate::report::RepairAttempt) + Send + Sync + use<>,
        impl Fn(crate::broker::Notice) + Send + Sync + use<>,
    ) {
        let bus = self.env.bus.clone();
        let on_attempt = move |a: &crate::report::RepairAttempt| bus.emit(Event::RepairAttempted { repair: a.clone() });
        let (bus, label) = (self.env.bus.clone(), path.to_string());
        let notices = move |notice| bus.emit(Event::Provider { notice, path: label.clone() });
        (on_attempt, notices)
    }

    /// Records a file's repair attempts (`name`: `repair <file>`, `improve <file>`) as a
    /// sub-step of `parent` that ended now after `took`, with `findings` left; the attempts
    /// (and, with `findings_to_parent`, the findings) also go on the open step. Writes the log.
    pub(crate) fn log_attempts(
        &mut self,
        (name, parent): (String, &str),
        took: std::time::Duration,
        attempts: &[crate::report::RepairAttempt],
        (findings, findings_to_parent): (&[crate::report::ValidationReport], bool),
    ) {
        let mut sub = crate::runlog::StepEvent::start(name, Some(parent));
        sub.start -= chrono::Duration::from_std(took).unwrap_or_default();
        sub.input_tokens = attempts.iter().map(|a| a.input_tokens).sum();
        sub.output_tokens = attempts.iter().map(|a| a.output_tokens).sum();
        sub.validation_errors = findings.to_vec();
        sub.repair_attempts = attempts.to_vec();
        sub.finish();
        sub.duration = took.as_secs_f64();
        if let Some(r) = self.rec.as_mut() {
            if let Some(s) = r.current() {
                s.repair_attempts.extend(attempts.iter().cloned());
                if findings_to_parent {
                    s.validation_errors.extend(findings.iter().cloned());
                }
            }
            r.sub_step(sub);
        }
        self.persist_log();
    }

    /// Writes the run log as it stands (after a sub-step); a failure is reported, not fatal.
    pub(crate) fn persist_log(&mut self) {
        if let Some(r) = self.rec.as_ref()
            && let Err(e) = r.persist()
        {
            self.env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}")));
        }
    }

    /// Closes the run log with the run's final `status` (a `ready` step first when ready),
    /// writes it, points the summary at it and announces it.
    fn finish_log(&mut self, status: RunStatus) {
        if status == RunStatus::Ready {
            self.log_step(Stage::Ready.as_str());
        }
        let tokens = (self.summary.input_tokens, self.summary.output_tokens);
        let Some(r) = self.rec.as_mut() else { return };
        match r.close(&wire_name(&status), tokens) {
            Ok((json, markdown)) => {
                self.summary.run_log = Some(markdown.clone());
                self.env.bus.emit(Event::RunLogWritten { json, markdown });
            }
            Err(e) => self.env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}"))),
        }
    }

    /// The ending checks once the diff is final: a run whose replies wrote outside the plan
    /// routes back to planning; an empty diff is missing output unless `--allow-empty`.
    fn check_outputs(&self) -> Result<(), Fail> {
        let scope = &self.generation.scope;
        if self.summary.diff_files == 0 && !self.opts.allow_empty && scope.is_empty() {
            return Err(Fail::failed(
                "missing outputs: the diff is empty (the generated files equal the working tree)",
                "run `ai-tools codegen --redo` for another attempt, or pass --allow-empty if no change is the expected result",
            ));
        }
        if !scope.is_empty() {
            return Err(Fail::scope_mismatch(scope));
        }
        Ok(())
    }
}

/// Runs `f` on a blocking thread (file system work, validators' bookkeeping).
///
/// # Errors
/// [`Fail::internal`] when `f` panicked.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Fail> {
    tokio::task::spawn_blocking(f).await.map_err(Fail::internal)
}
