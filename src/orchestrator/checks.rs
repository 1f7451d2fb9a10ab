//! The stages after `diff`: validate and repair, and the aggressive-mode apply.
//!
//! Invariants: validation runs in a shadow tree, never in the working tree; a missing
//! validator is reported once per run and skipped; findings never fail a run — they are
//! reported (events, summary, run log) and the run still ends ready; repairs write code/files
//! only through [`SafeDir`] and re-derive diff.patch afterwards; a provider failure during
//! repair stops the repair stage (what was repaired stays) but not the run; cancellation ends
//! the run as cancelled.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::broker::{BrokerError, CallRecord};
use crate::codegen::materialize::Manifest;
use crate::orchestrator::events::{Event, ValidationWhen};
use crate::orchestrator::run::{self, Fail, RunEnv, blocking, cancelled, save};
use crate::orchestrator::summary::Summary;
use crate::plan::{Action, Plan};
use crate::repair::{self, RepairCtx, RepairError, RepairSettings};
use crate::report::ValidationReport;
use crate::review::{self, AcceptOptions, Selection};
use crate::runlog::{Recorder, StepEvent};
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::{RunStatus, Stage, TaskState};
use crate::validate::shadow::ShadowTree;
use crate::validate::{Validation, Validators};

/// Opens run-log step `name` (see [`Recorder::begin`]); a log write failure is reported, not fatal.
pub(crate) fn log_step(env: &RunEnv, rec: &mut Option<Recorder>, name: &str, summary: &Summary) {
    if let Some(r) = rec.as_mut()
        && let Err(e) = r.begin(name, (summary.input_tokens, summary.output_tokens))
    {
        env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}")));
    }
}

/// Records wave `wave` of the generate step as a run-log sub-step: `elapsed` wall time ending
/// now, the tokens of `records`.
pub(crate) fn log_wave(rec: &mut Option<Recorder>, wave: usize, elapsed: std::time::Duration, records: &[CallRecord]) {
    let Some(r) = rec.as_mut() else { return };
    let mut s = StepEvent::start(format!("wave {wave}"), Some(Stage::Generate.as_str()));
    s.start -= chrono::Duration::from_std(elapsed).unwrap_or_default();
    s.input_tokens = records.iter().map(|c| c.input_tokens).sum();
    s.output_tokens = records.iter().map(|c| c.output_tokens).sum();
    s.finish();
    r.sub_step(s);
}

/// Closes the run log with the run's final `status` (a `ready` step first when ready), writes
/// it, points the summary at it and announces it.
pub(crate) fn finish_log(env: &RunEnv, rec: &mut Option<Recorder>, summary: &mut Summary, status: RunStatus) {
    if status == RunStatus::Ready {
        log_step(env, rec, Stage::Ready.as_str(), summary);
    }
    let Some(r) = rec.as_mut() else { return };
    let name = crate::orchestrator::events::wire_name(&status);
    match r.close(&name, (summary.input_tokens, summary.output_tokens)) {
        Ok((json, markdown)) => {
            summary.run_log = Some(markdown.clone());
            env.bus.emit(Event::RunLogWritten { json, markdown });
        }
        Err(e) => env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}"))),
    }
}

async fn validate_once(
    env: &RunEnv,
    validators: &Validators,
    shadow: &ShadowTree,
    step: &str,
    when: ValidationWhen,
) -> Result<Validation, Fail> {
    let v = tokio::select! {
        _ = env.cancel.cancelled() => return Err(cancelled()),
        v = validators.validate(shadow, step) => v,
    }
    .map_err(|e| {
        Fail::failed(format!("validation failed: {e}"), "check disk space and permissions, then /redo codegen")
    })?;
    for r in v.runs.iter().filter(|r| r.error.is_some()) {
        env.bus.emit(Event::log("warn", format!("validator {}: {}", r.tool, r.error.as_deref().unwrap_or(""))));
    }
    env.bus.emit(Event::ValidationReported {
        when,
        findings: v.reports.clone(),
        validators: v.runs.clone(),
        elapsed_ms: v.elapsed.as_millis() as u64,
    });
    Ok(v)
}

/// Runs the validate and repair stages (see [`crate::validate`] and [`crate::repair`]).
///
/// # Errors
/// A [`Fail`] when the stages cannot run at all (no manifest, the shadow tree cannot be built,
/// a repair cannot be written) or the run was cancelled; findings themselves are not failures.
pub(crate) async fn validate_and_repair(
    env: &RunEnv,
    _plan: &Plan,
    st: &mut TaskState,
    summary: &mut Summary,
    _run_id: &str,
    rec: &mut Option<Recorder>,
) -> Result<(), Fail> {
    let vcfg = &env.settings.validate;
    if !vcfg.enabled {
        env.bus.emit(Event::log("info", "validation is disabled ([validate] enabled = false)"));
        return Ok(());
    }
    run::stage(env, st, Stage::Validate)?;
    log_step(env, rec, Stage::Validate.as_str(), summary);
    let manifest = Manifest::load(&env.task)
        .ok_or_else(|| Fail::failed("code/manifest.json is missing", "run `ai-tools codegen --redo`"))?;
    let targets: Vec<RelPath> =
        manifest.files.iter().filter(|e| e.action != Action::Delete).map(|e| e.path.clone()).collect();
    let validators = Validators::discover(&env.repo, vcfg, &targets);
    for s in validators.skipped() {
        env.bus.emit(Event::ValidatorSkipped { tool: s.tool.clone(), reason: s.reason.clone() });
    }
    let (repo, files_dir, m) = (env.repo.clone(), env.task.files_dir(), manifest.clone());
    let shadow = run::blocking(move || ShadowTree::build(&repo, &files_dir, &m)).await?.map_err(|e| {
        Fail::failed(format!("cannot build the shadow tree: {e}"), "check disk space, then /redo codegen")
    })?;
    let before =
        validate_once(env, &validators, &shadow, Stage::Validate.as_str(), ValidationWhen::BeforeRepair).await?;
    summary.validation_errors_before_repair = before.reports.len();
    summary.errors_surviving_repair = before.reports.len();
    if let Some(r) = rec.as_mut() {
        if let Some(s) = r.current() {
            s.validation_errors = before.reports.clone();
        }
        r.log_mut().validation_errors_before_repair = before.reports.len();
        r.log_mut().errors_surviving_repair = before.reports.len();
    }
    if before.reports.is_empty() || !env.settings.repair.enabled {
        return Ok(());
    }

    run::stage(env, st, Stage::Repair)?;
    log_step(env, rec, Stage::Repair.as_str(), summary);
    let mut by_file: BTreeMap<String, Vec<ValidationReport>> = BTreeMap::new();
    for r in before.reports {
        by_file.entry(r.file.clone()).or_default().push(r);
    }
    let rcfg = &env.settings.repair;
    let settings = RepairSettings {
        max_attempts: rcfg.max_attempts.max(1),
        max_changed_fraction: rcfg.max_changed_fraction,
        min_changed_lines: rcfg.min_changed_lines,
        max_tokens: env.settings.generate.max_tokens,
        temperature: env.settings.generate.temperature,
    };
    let mut changed_any = false;
    let repaired = repair_all(env, summary, rec, &validators, &shadow, by_file, settings, &mut changed_any).await;
    // Whatever ended the stage, diff.patch must not lag behind a repaired code/files.
    if changed_any {
        let derived = run::derive_diff(env).await?;
        st.base = derived.0;
        run::emit_diff(env, summary, &derived.1);
    }
    st.usage = run::usage_of(summary);
    run::save(env, st);
    repaired
}

/// The repair loop over every file with findings, then the after-repair validation. Sets
/// `changed_any` as soon as a repaired file is written, so the caller re-derives the diff even
/// when this returns an error.
#[allow(clippy::too_many_arguments)]
async fn repair_all(
    env: &RunEnv,
    summary: &mut Summary,
    rec: &mut Option<Recorder>,
    validators: &Validators,
    shadow: &ShadowTree,
    by_file: BTreeMap<String, Vec<ValidationReport>>,
    settings: RepairSettings,
    changed_any: &mut bool,
) -> Result<(), Fail> {
    let files = SafeDir::new(env.task.files_dir());
    for (file, findings) in by_file {
        let Ok(path) = RelPath::new(&file) else { continue };
        let original = match files.read(&path) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => continue,
            Err(e) => return Err(Fail::failed(format!("cannot read code/files/{file}: {e}"), "check the task dir")),
        };
        env.bus.emit(Event::RepairStarted {
            path: file.clone(),
            findings: findings.len(),
            max_attempts: settings.max_attempts,
        });
        let mut sub = StepEvent::start(format!("repair {file}"), Some(Stage::Repair.as_str()));
        let bus = env.bus.clone();
        let on_attempt = move |a: &crate::report::RepairAttempt| bus.emit(Event::RepairAttempted { repair: a.clone() });
        let bus = env.bus.clone();
        let label = file.clone();
        let notices = move |notice| bus.emit(Event::Provider { notice, path: label.clone() });
        let ctx = RepairCtx {
            broker: &env.broker,
            prompts: &env.prompts,
            validators,
            shadow,
            settings,
            cancel: &env.cancel,
            on_attempt: &on_attempt,
            notices: &notices,
        };
        let started = Instant::now();
        let outcome = match repair::repair_file(&ctx, &path, &original, findings).await {
            Ok(o) => o,
            Err(RepairError::Broker(BrokerError::Cancelled)) => return Err(cancelled()),
            Err(RepairError::Broker(e)) => {
                env.bus.emit(Event::log("warn", format!("repair stopped: provider error: {e}")));
                break;
            }
            Err(e) => {
                return Err(Fail::failed(format!("repair of {file} failed: {e}"), "see the error, then /redo codegen"));
            }
        };
        if outcome.changed {
            files.write(&path, outcome.content.as_bytes(), None).map_err(|e| {
                Fail::failed(format!("cannot write the repaired {file}: {e}"), "check permissions on the task dir")
            })?;
            *changed_any = true;
        }
        summary.repair_attempts += outcome.attempts.len();
        sub.input_tokens = outcome.attempts.iter().map(|a| a.input_tokens).sum();
        sub.output_tokens = outcome.attempts.iter().map(|a| a.output_tokens).sum();
        sub.validation_errors = outcome.remaining.clone();
        sub.repair_attempts = outcome.attempts.clone();
        sub.finish();
        sub.duration = started.elapsed().as_secs_f64();
        if let Some(r) = rec.as_mut() {
            if let Some(s) = r.current() {
                s.repair_attempts.extend(outcome.attempts.iter().cloned());
            }
            r.sub_step(sub);
            if let Err(e) = r.persist() {
                env.bus.emit(Event::log("warn", format!("cannot write the run log: {e}")));
            }
        }
        env.bus.emit(Event::FileRepaired {
            path: file,
            success: outcome.success(),
            attempts: outcome.attempts.len(),
            remaining: outcome.remaining.len(),
            changed: outcome.changed,
        });
    }
    summary.add_calls(&env.broker.take_records());

    let after = validate_once(env, validators, shadow, repair::STEP, ValidationWhen::AfterRepair).await?;
    summary.errors_surviving_repair = after.reports.len();
    if let Some(r) = rec.as_mut() {
        if let Some(s) = r.current() {
            s.validation_errors = after.reports.clone();
        }
        r.log_mut().errors_surviving_repair = after.reports.len();
    }
    Ok(())
}

/// Aggressive mode: applies every hunk of diff.patch to the working tree through the accept
/// engine and stages the touched paths in a git repo.
///
/// # Errors
/// A [`Fail`] when the accept engine refuses (drift) or a write fails.
pub(crate) async fn apply(env: &RunEnv, st: &mut TaskState) -> Result<(), Fail> {
    if env.cancel.is_cancelled() {
        return Err(cancelled());
    }
    // The accept engine reads and writes state.json: hand it the run's state, take back its own.
    save(env, st);
    let (task, repo) = (env.task.clone(), env.repo.clone());
    let opts = AcceptOptions { selection: Selection::All, commit: false, message: None, stage: true };
    let report = blocking(move || review::accept(&task, &repo, &opts)).await?.map_err(|e| Fail {
        exit_code: e.exit_code(),
        ..Fail::failed(format!("--apply failed: {e}"), "fix it, then accept with `ai-tools accept`")
    })?;
    if let Ok(fresh) = TaskState::load(&env.task) {
        *st = fresh;
    }
    if report.accept.is_some() {
        env.bus.emit(crate::orchestrator::review::diff_ready(&env.task, &report.stats));
    }
    let (exit_code, suggestion) = (report.exit_code(), report.suggestion().map(str::to_owned));
    let refused: Vec<String> = report.conflicts.iter().map(|c| c.path.clone()).collect();
    let git_error = report.git_error.clone();
    env.bus.emit(Event::Accepted { report: Box::new(report), exit_code, suggestion: suggestion.clone() });
    if !refused.is_empty() {
        return Err(Fail {
            exit_code,
            files: refused.clone(),
            ..Fail::failed(
                format!("--apply refused files that changed while the run was going: {}", refused.join(", ")),
                suggestion.unwrap_or_default(),
            )
        });
    }
    if let Some(e) = git_error {
        return Err(Fail::failed(format!("applied, but staging failed: {e}"), "stage the files with `git add`"));
    }
    Ok(())
}
