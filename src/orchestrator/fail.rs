//! How a run (or a command that cannot start one) fails: one [`Fail`] value, turned into the
//! one [`Event::Failed`] front ends render.
//!
//! Invariant: every failure a front end sees carries a reason, what to do, and the documented
//! exit code (1 failed, 2 bad input, 3 scope mismatch); nothing else builds `Event::Failed`.

use std::collections::BTreeSet;

use crate::orchestrator::events::Event;
use crate::orchestrator::summary::Summary;
use crate::task::state::{Phase, RunStatus};

/// Why a run ended without being ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    /// `failed`, `scope_mismatch` or `cancelled`.
    pub(crate) status: RunStatus,
    /// What went wrong, for people.
    pub(crate) reason: String,
    /// What to do about it.
    pub(crate) suggestion: String,
    /// 1 failed, 2 bad input, 3 scope mismatch (and 4 from an `--apply` refused by drift).
    pub(crate) exit_code: i32,
    /// Where the pipeline goes next when codegen cannot fix it (`planning` after a scope
    /// mismatch).
    pub(crate) next_phase: Option<Phase>,
    /// The files concerned.
    pub(crate) files: Vec<String>,
}

impl Fail {
    /// Bad input (a plan error, a corrupt state.json, outputs that would be overwritten): exit 2.
    pub(crate) fn bad_input(reason: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Self { exit_code: 2, ..Self::failed(reason, suggestion) }
    }

    /// A failure of the run itself (provider, disk, missing outputs): exit 1.
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

    /// The ending of a run the user stopped.
    pub(crate) fn cancelled() -> Self {
        Self { status: RunStatus::Cancelled, ..Self::failed("the run was cancelled", "run codegen again when ready") }
    }

    /// A bug: a panicked task, a state that cannot happen.
    pub(crate) fn internal(why: impl std::fmt::Display) -> Self {
        Self::failed(
            format!("internal error: the run stopped unexpectedly ({why})"),
            "report this bug with the log file; run codegen again",
        )
    }

    /// The scope-mismatch ending: exit 3, next phase planning, naming the unplanned paths.
    pub(crate) fn scope_mismatch(scope: &BTreeSet<String>) -> Self {
        let files: Vec<String> = scope.iter().cloned().collect();
        Self {
            status: RunStatus::ScopeMismatch,
            reason: format!(
                "scope mismatch: replies tried to write files outside plan.files.json: {}",
                files.join(", ")
            ),
            suggestion:
                "revisit the plan: add those files to plan.files.json if they are needed, then run codegen again".into(),
            exit_code: 3,
            next_phase: Some(Phase::Planning),
            files,
        }
    }

    /// The same failure about `files`.
    pub(crate) fn with_files(self, files: Vec<String>) -> Self {
        Self { files, ..self }
    }

    /// The [`Event::Failed`] for this failure, with the summary of what did happen when the run
    /// got that far.
    pub(crate) fn event(self, summary: Option<Box<Summary>>) -> Event {
        Event::Failed {
            status: self.status,
            reason: self.reason,
            suggestion: self.suggestion,
            exit_code: self.exit_code,
            next_phase: self.next_phase,
            files: self.files,
            summary,
        }
    }
}
