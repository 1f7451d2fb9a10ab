//! The end of the verify stage: the improvement loop ([`crate::repair::improve`]) for files
//! whose [quality score](crate::quality) is under `[quality] min_score` after repair, then the
//! score per file and per run in the summary and the run log.
//!
//! Invariants: the improvement loop works through the same repair loop and guardrails, on
//! the static findings that weigh (a failing test is left to the repair loop and the test
//! re-run: a candidate is only re-validated, not re-tested); a candidate that does not raise
//! the file's score is discarded; improved content is written to code/files only through
//! [`SafeDir`] and the caller re-derives diff.patch; the score counts every finding left
//! (static and failing tests), preexisting and environment findings weighing nothing.

use std::collections::BTreeMap;

use crate::broker::BrokerError;
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::Run;
use crate::quality::{self, score_run};
use crate::repair::improve::{Improvement, improve_file};
use crate::repair::{RepairCtx, RepairError};
use crate::report::ValidationReport;
use crate::report::classify::Category;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::validate::Validators;
use crate::validate::shadow::ShadowTree;

/// The run-log step of the improvement loop.
const IMPROVE_STEP: &str = "improve";

impl Run {
    /// Runs the improvement loop on the files of `targets` scoring under `min_score` with
    /// `findings` (everything left after repair); returns the findings after it and whether
    /// code/files changed.
    ///
    /// # Errors
    /// The cancelled ending, or a [`Fail`] when improved content cannot be written.
    pub(crate) async fn improve(
        &mut self,
        validators: &Validators,
        shadow: &ShadowTree,
        targets: &[RelPath],
        mut findings: Vec<ValidationReport>,
    ) -> Result<(Vec<ValidationReport>, bool), Fail> {
        let cfg = self.env.settings.quality.clone();
        if cfg.max_iterations == 0 || !self.env.settings.repair.enabled {
            return Ok((findings, false));
        }
        let names: Vec<String> = targets.iter().map(ToString::to_string).collect();
        let low: Vec<String> = score_run(&names, &findings)
            .files
            .into_iter()
            .filter(|f| f.score < cfg.min_score)
            .map(|f| f.file)
            .collect();
        let mut changed = false;
        let mut opened = false;
        for file in low {
            let Ok(path) = RelPath::new(&file) else { continue };
            let statics: Vec<ValidationReport> =
                findings.iter().filter(|f| f.file == file && f.category != Category::TestFailure).cloned().collect();
            if !statics.iter().any(|f| quality::weight_of(f).is_some()) {
                continue;
            }
            if !opened {
                self.log_step(IMPROVE_STEP);
                opened = true;
            }
            let Some(imp) = self.improve_one(validators, shadow, &path, statics).await? else { break };
            changed |= imp.content_changed;
            findings.retain(|f| f.file != file || f.category == Category::TestFailure);
            findings.extend(imp.improvement.findings.iter().cloned());
        }
        self.summary.add_calls(&self.env.broker.take_records());
        Ok((findings, changed))
    }

    /// One file's improvement: `None` when the provider went down (the loop stops).
    async fn improve_one(
        &mut self,
        validators: &Validators,
        shadow: &ShadowTree,
        path: &RelPath,
        statics: Vec<ValidationReport>,
    ) -> Result<Option<Improved>, Fail> {
        let files: SafeDir =
            self.env.task.safe_dir("code/files").map_err(|e| Fail::failed(e.to_string(), "check the task dir"))?;
        let Ok(Some(bytes)) = files.read(path) else { return Ok(Some(Improved::none(statics))) };
        let content = String::from_utf8_lossy(&bytes).into_owned();
        let cfg = self.env.settings.quality.clone();
        let env = self.env.clone();
        let (on_attempt, notices) = self.repair_events(path);
        let ctx = RepairCtx {
            broker: &env.broker,
            prompts: &env.prompts,
            validators,
            shadow,
            settings: self.repair_settings(),
            cancel: &env.cancel,
            on_attempt: &on_attempt,
            notices: &notices,
        };
        let started = std::time::Instant::now();
        let imp = match improve_file(&ctx, &cfg, path, &content, statics).await {
            Ok(i) => i,
            Err(RepairError::Broker(BrokerError::Cancelled)) => return Err(Fail::cancelled()),
            Err(RepairError::Broker(e)) => {
                env.bus.emit(Event::log("warn", format!("improvement stopped: provider error: {e}")));
                return Ok(None);
            }
            Err(e) => return Err(Fail::failed(format!("improving {path} failed: {e}"), "see the error, then /redo")),
        };
        let content_changed = imp.content != content;
        if content_changed {
            files.write(path, imp.content.as_bytes(), None).map_err(|e| {
                Fail::failed(format!("cannot write the improved {path}: {e}"), "check permissions on the task dir")
            })?;
        }
        self.record_improvement(path, &imp, started.elapsed());
        Ok(Some(Improved { improvement: imp, content_changed }))
    }

    /// Records one file's improvement in the summary, the run log and an event.
    fn record_improvement(&mut self, path: &RelPath, imp: &Improvement, took: std::time::Duration) {
        self.summary.repair_attempts += imp.attempts.len();
        self.summary.improvement_attempts += imp.attempts.len();
        self.summary.improvements_discarded += imp.discarded as usize;
        self.log_attempts((format!("improve {path}"), IMPROVE_STEP), took, &imp.attempts, (&imp.findings, true));
        self.env.bus.emit(Event::log(
            "info",
            format!(
                "improve {path}: score {:.2} → {:.2} ({} attempts, {} discarded)",
                imp.score_before,
                imp.score_after,
                imp.attempts.len(),
                imp.discarded
            ),
        ));
    }

    /// The quality score of `targets` given `findings`, per file and per run, into the summary
    /// and the run log.
    pub(crate) fn record_score(&mut self, targets: &[RelPath], findings: &[ValidationReport]) {
        let names: Vec<String> = targets.iter().map(ToString::to_string).collect();
        let run = score_run(&names, findings);
        let files: BTreeMap<String, f64> = run.files.iter().map(|f| (f.file.clone(), f.score)).collect();
        self.summary.quality_score = Some(run.score);
        self.summary.file_scores = files.clone();
        if let Some(r) = self.rec.as_mut() {
            let log = r.log_mut();
            log.quality_score = Some(run.score);
            log.file_scores = files;
        }
        self.persist_log();
    }
}

/// A file's improvement and whether its content changed.
struct Improved {
    improvement: Improvement,
    content_changed: bool,
}

impl Improved {
    /// Nothing to improve (the file is not in code/files).
    fn none(findings: Vec<ValidationReport>) -> Self {
        let s = quality::score(&findings);
        Self {
            improvement: Improvement {
                content: String::new(),
                findings,
                score_before: s,
                score_after: s,
                attempts: Vec::new(),
                discarded: 0,
            },
            content_changed: false,
        }
    }
}
