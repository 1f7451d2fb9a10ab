//! Placeholder hooks: the [`Command`]s the review loop's workbench actions send the actor.
//!
//! The commands that carry a rejection reason and an edited file to the review engine are being
//! added with the shared slash-command table (issue 10) and the review loop (issue 14). Until
//! they land, each hook sends the nearest command that exists today, so the workbench already
//! behaves correctly for everything but the new data; every hook names what it should become.
//! This is the only file to change when they land.

use crate::orchestrator::Command;

/// Rejecting hunk `id` with `reason` (empty: no reason).
///
/// Today: [`Command::SetHunks`] rejecting the hunk; the reason stays in the workbench (shown on
/// the hunk's header). To become: a `SetHunks` whose entries carry the reason, stored in the
/// hunk's review state by the engine (and sent to the model by `/regen`).
pub fn reject_with_reason(id: &str, reason: &str) -> Vec<Command> {
    let _ = reason;
    vec![Command::SetHunks(vec![(id.to_owned(), false)])]
}

/// The user edited `code/files/<path>` in the editor and the file changed.
///
/// Today: [`Command::Rediff`], which re-derives diff.patch from code/files (hunks the edit did
/// not touch keep their ids, hence their states). To become: the engine's edit command, which
/// also re-validates the file before re-diffing.
pub fn file_edited(path: &str) -> Vec<Command> {
    let _ = path;
    vec![Command::Rediff]
}
