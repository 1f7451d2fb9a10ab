//! Aggressive mode (`codegen --apply`): after the run is otherwise ready, every hunk of
//! diff.patch is applied to the working tree through the accept engine (drift-safe, journaled,
//! undoable) and the touched paths are staged in a git repo. The only way a run touches the
//! working tree.

use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::review::{self, AcceptOptions, Selection};
use crate::task::state::TaskState;

impl Run {
    /// Applies every hunk and stages the touched paths.
    ///
    /// # Errors
    /// The cancelled ending; a [`Fail`] when the accept engine refuses (drift, exit 4), a write
    /// fails, or staging fails.
    pub(crate) async fn apply(&mut self) -> Result<(), Fail> {
        if self.env.cancel.is_cancelled() {
            return Err(Fail::cancelled());
        }
        // The accept engine reads and writes state.json: hand it the run's state, take back its own.
        self.save();
        let (task, repo) = (self.env.task.clone(), self.env.repo.clone());
        let opts = AcceptOptions { selection: Selection::All, commit: false, message: None, stage: true };
        let report = blocking(move || review::accept(&task, &repo, &opts)).await?.map_err(|e| Fail {
            exit_code: e.exit_code(),
            ..Fail::failed(format!("--apply failed: {e}"), "fix it, then accept with `ai-tools accept`")
        })?;
        if let Ok(fresh) = TaskState::load(&self.env.task) {
            self.state = fresh;
        }
        if report.accept.is_some() {
            self.env.bus.emit(Event::diff_ready(&self.env.task, &report.stats));
        }
        let (exit_code, suggestion) = (report.exit_code(), report.suggestion().map(str::to_owned));
        let refused: Vec<String> = report.conflicts.iter().map(|c| c.path.clone()).collect();
        let git_error = report.git_error.clone();
        self.env.bus.emit(Event::Accepted { report: Box::new(report), exit_code, suggestion: suggestion.clone() });
        if !refused.is_empty() {
            return Err(Fail {
                exit_code,
                ..Fail::failed(
                    format!("--apply refused files that changed while the run was going: {}", refused.join(", ")),
                    suggestion.unwrap_or_default(),
                )
            }
            .with_files(refused));
        }
        if let Some(e) = git_error {
            return Err(Fail::failed(format!("applied, but staging failed: {e}"), "stage the files with `git add`"));
        }
        Ok(())
    }
}
