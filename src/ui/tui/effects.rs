//! The event loop's side of the app's [`Effect`]s: the disk and the terminal.
//!
//! Invariants:
//! - the editor only ever opens a file inside the task: the scratch copy the actor handed out
//!   for a generated file ([`crate::orchestrator::Event::EditReady`]; `code/files/` itself is
//!   never opened), or the task's plan.files.json; the working tree is never opened here;
//! - the editor's environment carries no API keys: it is started by
//!   [`crate::review::edit::editor_process`], which removes every name the sandbox denies;
//! - after a file's editor exits, the actor is told ([`Command::EditFinish`]) and decides: a
//!   failed editor or byte-identical file changes nothing.

use std::path::PathBuf;
use std::process::ExitStatus;

use crate::orchestrator::Command;
use crate::review::edit;
use crate::ui::tui::app::App;
use crate::ui::tui::planview;
use crate::ui::tui::review_state::Effect;
use crate::ui::tui::viewed::ViewedMarks;

/// What is being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditTarget {
    /// `code/files/<path>`.
    File(String),
    /// The task's plan.files.json.
    Plan,
}

/// An editor session to run with the terminal suspended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditJob {
    /// What.
    pub target: EditTarget,
    /// The absolute file to open.
    pub file: PathBuf,
    /// Its bytes before, for plan.files.json (`None`: it did not exist, or a generated file,
    /// whose change the actor judges).
    pub before: Option<Vec<u8>>,
    /// Variable names to keep from the editor besides the built-in deny rules.
    pub deny_env: Vec<String>,
}

/// Performs `effect`; returns the editor session it needs, if any (the caller suspends the
/// terminal, runs [`run_editor`], resumes, then calls [`finish_edit`]). Failures go to the log.
pub fn perform(app: &mut App, effect: Effect) -> Option<EditJob> {
    if let Effect::OpenEditor { path, file, deny_env } = effect {
        // The actor named the file: no task lookup needed.
        return Some(EditJob { target: EditTarget::File(path), file, before: None, deny_env });
    }
    let Some(ctx) = app.review.task.clone() else {
        if effect != Effect::SaveViewed {
            app.log_line("the task is not known yet: /codegen first (or start the workbench in a task)");
        }
        return None;
    };
    match effect {
        Effect::LoadViewed => match ViewedMarks::load(&ctx.task) {
            Ok(m) => app.set_viewed(m),
            Err(e) => app.log_line(format!("warn: {e}")),
        },
        Effect::SaveViewed => {
            if let Err(e) = app.review.viewed.save(&ctx.task) {
                app.log_line(format!("warn: viewed marks not saved: {e}"));
            }
        }
        Effect::ShowPlan => {
            let scroll = app.review.plan.as_ref().map_or(0, |p| p.scroll);
            app.review.plan = Some(planview::PlanView { scroll, ..planview::load(&ctx.task, &ctx.repo) });
            app.status = "plan: j/k scroll · e edits plan.files.json · Esc closes".into();
        }
        Effect::EditPlan => {
            // Never through a symlink: a cloned task could point plan.files.json anywhere.
            let file = match ctx.task.checked("planning/plan.files.json") {
                Ok(f) => f,
                Err(e) => {
                    app.log_line(format!("cannot edit plan.files.json: {e}"));
                    return None;
                }
            };
            let before = std::fs::read(&file).ok();
            return Some(EditJob { target: EditTarget::Plan, file, before, deny_env: Vec::new() });
        }
        Effect::OpenEditor { .. } => {}
    }
    None
}

/// Runs the editor (`$VISUAL`, else `$EDITOR`, split like a shell would, so `code --wait`
/// works: [`edit::editor_command`]) on `job.file` with a scrubbed environment, and waits.
///
/// # Errors
/// When no editor is set or it cannot be started.
pub fn run_editor(job: &EditJob) -> std::io::Result<ExitStatus> {
    let editor = edit::editor_command(|k| std::env::var(k).ok()).map_err(std::io::Error::other)?;
    edit::editor_process(&editor, &job.file, &job.deny_env).status()
}

/// After the editor: for a generated file, tells the actor the editor exited (it judges whether
/// anything changed, re-validates and re-diffs); for plan.files.json, re-checks and shows the
/// plan. Returns the commands for the actor.
pub fn finish_edit(app: &mut App, job: &EditJob, status: std::io::Result<ExitStatus>) -> Vec<Command> {
    let editor_ok = match &status {
        Err(e) => {
            app.log_line(format!("error: cannot start the editor: {e}"));
            false
        }
        Ok(s) if !s.success() => {
            app.log_line(format!("the editor exited with {s}: nothing changed"));
            false
        }
        Ok(_) => true,
    };
    match &job.target {
        EditTarget::File(p) => vec![Command::EditFinish { path: p.clone(), editor_ok }],
        EditTarget::Plan => {
            perform(app, Effect::ShowPlan);
            if editor_ok {
                let changed = std::fs::read(&job.file).ok() != job.before;
                let ok = app.review.plan.as_ref().is_some_and(|p| p.error.is_none());
                app.log_line(match (changed, ok) {
                    (false, _) => "plan.files.json unchanged".to_owned(),
                    (true, true) => "plan.files.json saved and checked: /codegen runs it".to_owned(),
                    (true, false) => {
                        "plan.files.json has an error (shown in the plan view): /plan edit again".to_owned()
                    }
                });
            }
            Vec::new()
        }
    }
}
