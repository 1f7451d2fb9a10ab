//! The test step of the verify stage ([`crate::testing`]): after static validation, the
//! selected tests run in the sandbox on the run's scratch view (code/files overlaid); every
//! failing test is a `test_failure` finding the repair loop works on like a validator's; after
//! repair the tests run again.
//!
//! Invariants: the tests only run through [`crate::testing::run_tests`], i.e. in the sandbox
//! (refused, with a notice, where it is unavailable unless unsandboxed runs are allowed); a
//! failing test that also fails on the base (same selection, cached for the run) is
//! `preexisting`, counted apart and never repaired; the run log's `test` step and totals hold
//! `tests_run`, `tests_failed_before_repair` and `tests_failed_after_repair`, and the summary
//! prints them; a runner that cannot run is a warning, never a failure of the run.

use crate::orchestrator::events::{Event, ValidationWhen};
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::Run;
use crate::sandbox::{Sandbox, Scratch};
use crate::task::relpath::RelPath;
use crate::testing::{self, BaseCache, TestCtx, TestOutcome};

/// The run-log step the first test run is recorded in.
pub(crate) const TEST_STEP: &str = "test";

/// What the test step runs with: the verify stage's scratch view and sandbox, the generated
/// files, and the base's failures cached for the run.
pub(crate) struct TestRig<'a> {
    pub(crate) scratch: &'a Scratch,
    pub(crate) sandbox: &'a Sandbox,
    pub(crate) targets: &'a [RelPath],
    pub(crate) cache: &'a BaseCache,
}

impl Run {
    /// Runs the selected tests (the first run, or the re-run `after_repair`), publishes and
    /// records the outcome; an empty outcome when `[test] enabled = false`.
    ///
    /// # Errors
    /// The cancelled ending, or a [`Fail`] when the base's view cannot be built.
    pub(crate) async fn run_test_step(&mut self, rig: &TestRig<'_>, after_repair: bool) -> Result<TestOutcome, Fail> {
        if !self.env.settings.test.enabled {
            return Ok(TestOutcome::default());
        }
        if !after_repair {
            self.log_step(TEST_STEP);
        }
        let cfg = self.env.settings.test.clone();
        let ctx = TestCtx {
            repo: &self.env.repo,
            scratch: rig.scratch,
            sandbox: rig.sandbox,
            cfg: &cfg,
            targets: rig.targets,
            step: if after_repair { crate::repair::STEP } else { TEST_STEP },
        };
        let out = tokio::select! {
            _ = self.env.cancel.cancelled() => return Err(Fail::cancelled()),
            o = testing::run_tests(&ctx, rig.cache) => o,
        }
        .map_err(|e| Fail::failed(format!("cannot run the tests on the base: {e}"), "check disk space, then /redo"))?;
        for r in &out.runs {
            if let Some(e) = &r.error {
                self.env.bus.emit(Event::log("warn", format!("test runner {}: {e}", r.runner)));
            }
            if r.timed_out {
                let secs = cfg.timeout_secs;
                self.env.bus.emit(Event::log("warn", format!("test runner {} stopped at {secs} s", r.runner)));
            }
        }
        self.env.bus.emit(Event::TestsReported {
            when: if after_repair { ValidationWhen::AfterRepair } else { ValidationWhen::BeforeRepair },
            tests_run: out.tests_run,
            tests_failed: out.tests_failed,
            preexisting: out.findings.iter().filter(|f| f.preexisting).count(),
            failures: out.findings.clone(),
        });
        self.record_tests(&out, after_repair);
        Ok(out)
    }

    /// Records a test run in the summary and the run log (see the module invariants).
    fn record_tests(&mut self, out: &TestOutcome, after_repair: bool) {
        let s = &mut self.summary;
        if after_repair {
            s.tests_failed_after_repair = out.tests_failed;
        } else {
            s.tests_run = out.tests_run;
            s.tests_failed_before_repair = out.tests_failed;
            s.tests_failed_after_repair = out.tests_failed;
            s.tests_preexisting = out.findings.iter().filter(|f| f.preexisting).count();
        }
        let Some(r) = self.rec.as_mut() else { return };
        if after_repair {
            if let Some(s) = r.current() {
                s.validation_errors.extend(out.findings.iter().cloned());
            }
            let log = r.log_mut();
            log.tests_failed_after_repair = out.tests_failed;
            if let Some(step) = log.steps.iter_mut().rev().find(|s| s.name == TEST_STEP && s.parent.is_none()) {
                step.tests_failed_after_repair = out.tests_failed;
            }
        } else {
            if let Some(step) = r.current() {
                step.validation_errors = out.findings.clone();
                step.tests_run = out.tests_run;
                step.tests_failed_before_repair = out.tests_failed;
                step.tests_failed_after_repair = out.tests_failed;
            }
            let log = r.log_mut();
            log.tests_run = out.tests_run;
            log.tests_failed_before_repair = out.tests_failed;
            log.tests_failed_after_repair = out.tests_failed;
        }
        self.persist_log();
    }
}
