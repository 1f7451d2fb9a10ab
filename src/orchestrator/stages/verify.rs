//! The verify stages after `diff`: validate ([`crate::validate`]), the tests
//! ([`super::test`], [`crate::testing`]) and repair ([`crate::repair`]).
//!
//! Invariants: validation runs in a shadow tree, never in the working tree; a missing
//! validator is reported once per run and skipped; findings never fail a run — they are
//! reported (events, summary, run log) and the run still ends ready; repairs write code/files
//! only through [`SafeDir`] and re-derive diff.patch afterwards, even when the repair stage
//! ends early; a provider failure during repair stops the repair stage (what was repaired
//! stays) but not the run; cancellation ends the run as cancelled.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::broker::BrokerError;
use crate::codegen::materialize::Manifest;
use crate::orchestrator::events::{Event, ValidationWhen};
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::orchestrator::stages::test::TestRig;
use crate::plan::Action;
use crate::repair::{self, RepairCtx, RepairError, RepairOutcome, RepairSettings};
use crate::report::ValidationReport;
use crate::report::classify::Category;
use crate::sandbox::Sandbox;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::Stage;
use crate::testing::{BaseCache, TestOutcome};
use crate::validate::shadow::ShadowTree;
use crate::validate::{Validation, Validators, baseline};

/// How the repair of one file went.
enum Repaired {
    /// The file is not in code/files (nothing to repair).
    Skipped,
    /// The loop ran, for this long.
    Done(RepairOutcome, std::time::Duration),
    /// The provider went down: the repair stage stops, the run goes on.
    ProviderDown,
}

/// The validators and the shadow tree they run in, for one run, with what the test step
/// needs: the generated files and the base's failing tests, cached for the run.
struct Checkers {
    validators: Validators,
    shadow: ShadowTree,
    targets: Vec<RelPath>,
    base_tests: std::sync::Arc<BaseCache>,
}

impl Checkers {
    fn test_rig(&self) -> TestRig<'_> {
        TestRig {
            scratch: &self.shadow,
            sandbox: self.validators.sandbox(),
            targets: &self.targets,
            cache: &self.base_tests,
        }
    }
}

impl Run {
    /// Validates the generated files and repairs those with findings (see the module docs).
    ///
    /// # Errors
    /// A [`Fail`] when the stages cannot run at all (no manifest, the shadow tree cannot be
    /// built, a repair cannot be written) or the run was cancelled; findings are not failures.
    pub(crate) async fn verify(&mut self) -> Result<(), Fail> {
        if !self.env.settings.validate.enabled {
            self.env.bus.emit(Event::log("info", "validation is disabled ([validate] enabled = false)"));
            return Ok(());
        }
        self.enter(Stage::Validate, Stage::Validate.as_str())?;
        let checkers = self.checkers().await?;
        let mut changed_any = false;
        let result = match self.validate_and_repair(&checkers, &mut changed_any).await {
            Ok(left) => self.improve_and_score(&checkers, left, &mut changed_any).await,
            Err(f) => Err(f),
        };
        // Whatever ended the stage, diff.patch must not lag behind a repaired code/files.
        if changed_any {
            self.rediff().await?;
        }
        self.save();
        result
    }

    /// Validation, the tests and the repair loop; returns every finding left (static and
    /// failing tests, preexisting ones included).
    async fn validate_and_repair(
        &mut self,
        checkers: &Checkers,
        changed_any: &mut bool,
    ) -> Result<Vec<ValidationReport>, Fail> {
        let before = self.validate_once(checkers, Stage::Validate.as_str(), ValidationWhen::BeforeRepair).await?;
        let mut introduced = before.introduced();
        self.summary.validation_errors_before_repair = introduced.len();
        self.summary.errors_surviving_repair = introduced.len();
        self.summary.preexisting_errors = before.preexisting();
        if let Some(r) = self.rec.as_mut() {
            if let Some(s) = r.current() {
                s.validation_errors = before.reports.clone();
            }
            crate::validate::record_counts(r.log_mut(), &before, None);
        }
        // The tests, after static validation: their failures are repaired like findings.
        let tests = self.run_test_step(&checkers.test_rig(), false).await?;
        introduced.extend(tests.findings.iter().filter(|f| crate::validate::repairable(f)).cloned());
        if introduced.is_empty() || !self.env.settings.repair.enabled {
            let mut left = before.reports;
            left.extend(tests.findings);
            return Ok(left);
        }
        self.enter(Stage::Repair, Stage::Repair.as_str())?;
        let mut by_file: BTreeMap<String, Vec<ValidationReport>> = BTreeMap::new();
        for r in introduced {
            by_file.entry(r.file.clone()).or_default().push(r);
        }
        self.repair_all(checkers, by_file, changed_any, tests).await
    }

    /// The improvement loop for files under `[quality] min_score` (the tests run again when it
    /// changed a file), then the quality score of what is `left`.
    async fn improve_and_score(
        &mut self,
        c: &Checkers,
        left: Vec<ValidationReport>,
        changed_any: &mut bool,
    ) -> Result<(), Fail> {
        let (mut left, changed) = self.improve(&c.validators, &c.shadow, &c.targets, left).await?;
        *changed_any |= changed;
        if changed && self.summary.tests_run > 0 {
            let again = self.run_test_step(&c.test_rig(), true).await?;
            left.retain(|f| f.category != Category::TestFailure);
            left.extend(again.findings);
        }
        self.record_score(&c.targets, &left);
        Ok(())
    }

    /// Discovers the validators for the manifest's targets and builds the shadow tree.
    async fn checkers(&mut self) -> Result<Checkers, Fail> {
        let manifest = Manifest::load(&self.env.task)
            .ok_or_else(|| Fail::failed("code/manifest.json is missing", "run `ai-tools codegen --redo`"))?;
        let targets: Vec<RelPath> =
            manifest.files.iter().filter(|e| e.action != Action::Delete).map(|e| e.path.clone()).collect();
        let sandbox = Sandbox::detect(&self.env.settings.sandbox);
        let validators = Validators::discover_with(&self.env.repo, &self.env.settings.validate, &targets, sandbox);
        let test_targets = targets.clone();
        for s in validators.skipped() {
            self.env.bus.emit(Event::ValidatorSkipped { tool: s.tool.clone(), reason: s.reason.clone() });
        }
        // Findings measured against the base: the modify targets' base versions, cached by the task.
        let bases = baseline::bases(&self.env.task, &self.env.repo, &manifest, &self.state.base);
        let cache = baseline::cache_dir(&self.env.task);
        let base = baseline::measure(&validators, &self.env.repo, bases, Some(&cache)).await.map_err(|e| {
            Fail::failed(format!("cannot validate the base version: {e}"), "check disk space, then /redo codegen")
        })?;
        let validators = validators.with_baseline(base);
        let files_dir =
            self.env.task.checked("code/files").map_err(|e| Fail::failed(e.to_string(), "check the task dir"))?;
        let repo = self.env.repo.clone();
        let shadow = blocking(move || ShadowTree::build(&repo, &files_dir, &manifest)).await?.map_err(|e| {
            Fail::failed(format!("cannot build the shadow tree: {e}"), "check disk space, then /redo codegen")
        })?;
        Ok(Checkers { validators, shadow, targets: test_targets, base_tests: std::sync::Arc::default() })
    }

    async fn validate_once(&self, c: &Checkers, step: &str, when: ValidationWhen) -> Result<Validation, Fail> {
        let v = tokio::select! {
            _ = self.env.cancel.cancelled() => return Err(Fail::cancelled()),
            v = c.validators.validate(&c.shadow, step) => v,
        }
        .map_err(|e| {
            Fail::failed(format!("validation failed: {e}"), "check disk space and permissions, then /redo codegen")
        })?;
        for r in v.runs.iter().filter(|r| r.error.is_some()) {
            self.env
                .bus
                .emit(Event::log("warn", format!("validator {}: {}", r.tool, r.error.as_deref().unwrap_or(""))));
        }
        self.env.bus.emit(Event::ValidationReported {
            when,
            findings: v.reports.clone(),
            validators: v.runs.clone(),
            elapsed_ms: v.elapsed.as_millis() as u64,
        });
        Ok(v)
    }

    /// The repair loop over every file with findings, then the after-repair validation (and,
    /// when `tests` had failures or a repair changed a file the tests ran over, the tests
    /// again, so the after-repair numbers describe the code as it now is); returns every
    /// finding left. Sets
    /// `changed_any` as soon as a repaired file is written, so the caller re-derives the diff
    /// even when this returns an error.
    async fn repair_all(
        &mut self,
        c: &Checkers,
        by_file: BTreeMap<String, Vec<ValidationReport>>,
        changed_any: &mut bool,
        tests: TestOutcome,
    ) -> Result<Vec<ValidationReport>, Fail> {
        for (file, findings) in by_file {
            let Ok(path) = RelPath::new(&file) else { continue };
            match self.repair_one(c, &path, findings).await? {
                Repaired::Skipped => {}
                Repaired::Done(outcome, took) => {
                    *changed_any |= outcome.changed;
                    self.record_repair(outcome, took);
                }
                Repaired::ProviderDown => break,
            }
        }
        self.summary.add_calls(&self.env.broker.take_records());
        let after = self.validate_once(c, repair::STEP, ValidationWhen::AfterRepair).await?;
        self.summary.errors_surviving_repair = after.introduced().len();
        if let Some(r) = self.rec.as_mut() {
            if let Some(s) = r.current() {
                s.validation_errors = after.reports.clone();
            }
            r.log_mut().errors_surviving_repair = after.introduced().len();
        }
        let retest = tests.tests_failed > 0 || (*changed_any && tests.tests_run > 0);
        let tests = if retest { self.run_test_step(&c.test_rig(), true).await? } else { tests };
        let mut left = after.reports;
        left.extend(tests.findings);
        Ok(left)
    }

    /// Repairs one file and writes the kept content.
    async fn repair_one(
        &mut self,
        c: &Checkers,
        path: &RelPath,
        findings: Vec<ValidationReport>,
    ) -> Result<Repaired, Fail> {
        let files: SafeDir =
            self.env.task.safe_dir("code/files").map_err(|e| Fail::failed(e.to_string(), "check the task dir"))?;
        let original = match files.read(path) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => return Ok(Repaired::Skipped),
            Err(e) => return Err(Fail::failed(format!("cannot read code/files/{path}: {e}"), "check the task dir")),
        };
        let settings = self.repair_settings();
        let env = &self.env;
        env.bus.emit(Event::RepairStarted {
            path: path.to_string(),
            findings: findings.len(),
            max_attempts: settings.max_attempts,
        });
        let (on_attempt, notices) = self.repair_events(path);
        let ctx = RepairCtx {
            broker: &env.broker,
            prompts: &env.prompts,
            validators: &c.validators,
            shadow: &c.shadow,
            settings,
            cancel: &env.cancel,
            on_attempt: &on_attempt,
            notices: &notices,
        };
        let mut hints = repair::PlanHints::for_file(&self.plan, path, &env.repo, c.validators.sandbox());
        if findings.iter().any(|f| f.category == Category::TestFailure) {
            hints.tests = Some(repair::TestRecheck {
                repo: env.repo.clone(),
                cfg: env.settings.test.clone(),
                targets: c.targets.clone(),
                sandbox: c.validators.sandbox().clone(),
                base: c.base_tests.clone(),
            });
        }
        let started = Instant::now();
        let outcome = match repair::repair_file_with(&ctx, path, &original, findings, &hints).await {
            Ok(o) => o,
            Err(RepairError::Broker(BrokerError::Cancelled)) => return Err(Fail::cancelled()),
            Err(RepairError::Broker(e)) => {
                env.bus.emit(Event::log("warn", format!("repair stopped: provider error: {e}")));
                return Ok(Repaired::ProviderDown);
            }
            Err(e) => {
                return Err(Fail::failed(format!("repair of {path} failed: {e}"), "see the error, then /redo codegen"));
            }
        };
        if outcome.changed {
            files.write(path, outcome.content.as_bytes(), None).map_err(|e| {
                Fail::failed(format!("cannot write the repaired {path}: {e}"), "check permissions on the task dir")
            })?;
        }
        Ok(Repaired::Done(outcome, started.elapsed()))
    }

    pub(crate) fn repair_settings(&self) -> RepairSettings {
        let s = &self.env.settings;
        RepairSettings::new(&s.repair, &s.generate, s.generate_quality.candidate_temperature)
    }

    /// Records one file's repair in the summary, the run log and an event.
    fn record_repair(&mut self, outcome: RepairOutcome, took: std::time::Duration) {
        let file = outcome.file.to_string();
        self.summary.repair_attempts += outcome.attempts.len();
        let step = (format!("repair {file}"), Stage::Repair.as_str());
        self.log_attempts(step, took, &outcome.attempts, (&outcome.remaining, false));
        self.env.bus.emit(Event::FileRepaired {
            path: file,
            success: outcome.success(),
            attempts: outcome.attempts.len(),
            remaining: outcome.remaining.len(),
            changed: outcome.changed,
        });
    }
}
