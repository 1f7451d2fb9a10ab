//! The actor's side of editing a candidate by hand ([`Command::EditBegin`] /
//! [`Command::EditFinish`]): the front end only runs the editor on the scratch copy the actor
//! hands it; starting the edit, re-validating, archiving, installing and re-diffing happen
//! here, through [`crate::review::edit`], so the TUI, the REPL and `ai-tools edit` behave alike.
//!
//! Invariants: at most one open edit per target (a second `EditBegin` for the same path
//! replaces the first, whose scratch copy is removed); an `EditFinish` without an open edit is
//! refused (exit 2); every command is answered.

use std::collections::HashMap;
use std::path::Path;

use crate::config::ValidateConfig;
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Answer, Event};
use crate::review::edit::{self, EditOutcome, EditSession};
use crate::review::{self, ReviewError};
use crate::sandbox::SandboxConfig;
use crate::task::TaskDir;

/// The edits in progress, by target path as the front end named it.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    open: HashMap<String, EditSession>,
}

/// Publishes `events` and returns them as an answer with `exit_code`.
fn publish(bus: &EventBus, events: Vec<Event>, exit_code: i32, error: Option<String>) -> Answer {
    for e in &events {
        bus.emit(e.clone());
    }
    Answer { events, exit_code, error }
}

fn refuse(bus: &EventBus, e: &ReviewError) -> Answer {
    publish(bus, vec![Event::Rejected { reason: e.to_string() }], e.exit_code(), Some(e.to_string()))
}

impl Edits {
    /// Starts an edit of `path`: answers [`Event::EditReady`] with the scratch copy to open.
    /// `deny_env`: variable names the editor must not see besides the built-in rules.
    pub(crate) fn begin(&mut self, task: &TaskDir, bus: &EventBus, path: String, deny_env: Vec<String>) -> Answer {
        match edit::begin(task, &path) {
            Ok(session) => {
                let file = session.file().to_path_buf();
                self.open.insert(path.clone(), session);
                publish(bus, vec![Event::EditReady { path, file, deny_env }], 0, None)
            }
            Err(e) => refuse(bus, &e),
        }
    }

    /// Finishes the edit of `path` after its editor exited (`editor_ok`: status 0), validating
    /// with the run's settings (`validate`, `sandbox`): answers
    /// [`Event::Edited`], then the new diff and review view when the candidate changed.
    pub(crate) async fn finish(
        &mut self,
        task: &TaskDir,
        repo: &Path,
        (validate, sandbox): (&ValidateConfig, &SandboxConfig),
        bus: &EventBus,
        path: &str,
        editor_ok: bool,
    ) -> Answer {
        let Some(session) = self.open.remove(path) else {
            let e = ReviewError::UnknownFiles(format!("`{path}` (no edit of it is open: start one with /edit {path})"));
            return refuse(bus, &e);
        };
        let outcome = match session.finish(repo, validate, sandbox, editor_ok).await {
            Ok(o) => o,
            Err(e) => return refuse(bus, &e),
        };
        let diff = match &outcome {
            EditOutcome::Changed { installed, .. } => Some(Event::diff_ready(task, &installed.rediff.stats)),
            EditOutcome::Unchanged { .. } => None,
        };
        let mut events = vec![Event::Edited { path: path.to_owned(), outcome }];
        if let Some(d) = diff {
            events.push(d);
            let (t, r) = (task.clone(), repo.to_path_buf());
            match tokio::task::spawn_blocking(move || review::snapshot(&t, &r)).await {
                Ok(Ok(files)) => events.push(Event::Hunks { files }),
                Ok(Err(e)) => events.push(Event::Rejected { reason: e.to_string() }),
                Err(e) => events.push(Event::Rejected { reason: format!("internal error: {e}") }),
            }
        }
        publish(bus, events, i32::from(!editor_ok), None)
    }
}
