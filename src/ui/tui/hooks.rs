//! The [`Command`]s the review loop's workbench actions send the actor: the one place the
//! workbench's review gestures meet the engine's commands.

use crate::orchestrator::Command;
use crate::review::view::Mark;

/// Rejecting hunk `id` with `reason` (empty: no reason): [`Command::MarkHunks`], so the engine
/// stores the reason in the hunk's review state (and `/regen` sends it to the model).
pub fn reject_with_reason(id: &str, reason: &str) -> Vec<Command> {
    let reason = Some(reason.trim()).filter(|r| !r.is_empty()).map(str::to_owned);
    vec![Command::MarkHunks(vec![Mark { id: id.to_owned(), accepted: false, reason }])]
}
