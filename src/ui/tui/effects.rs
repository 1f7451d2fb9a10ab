//! The event loop's side of the app's [`Effect`]s: the disk and the terminal.
//!
//! Invariants:
//! - the editor only ever opens a file inside the task: `code/files/<path>` for a path that is
//!   a valid repo-relative path with no symlink on the way ([`SafeDir::read`] checks it), or the
//!   task's plan.files.json; the working tree is never opened here;
//! - the editor's environment carries no API keys (names ending in `_API_KEY`, `_TOKEN` or
//!   `_SECRET` are removed), like every child process;
//! - an editor that fails or leaves the file byte-identical changes nothing: no command is sent.

use std::path::PathBuf;
use std::process::ExitStatus;

use crate::orchestrator::Command;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::ui::tui::app::App;
use crate::ui::tui::hooks;
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
    /// Its bytes before (`None`: it did not exist).
    pub before: Option<Vec<u8>>,
}

/// Performs `effect`; returns the editor session it needs, if any (the caller suspends the
/// terminal, runs [`run_editor`], resumes, then calls [`finish_edit`]). Failures go to the log.
pub fn perform(app: &mut App, effect: Effect) -> Option<EditJob> {
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
            let file = ctx.task.plan_files_json();
            let before = std::fs::read(&file).ok();
            return Some(EditJob { target: EditTarget::Plan, file, before });
        }
        Effect::EditFile(path) => {
            let checked = RelPath::new(&path).map_err(|e| e.to_string()).and_then(|rel| {
                SafeDir::new(ctx.task.files_dir()).read(&rel).map(|b| (rel, b)).map_err(|e| e.to_string())
            });
            match checked {
                Ok((rel, Some(before))) => {
                    let file = rel.join_to(&ctx.task.files_dir());
                    return Some(EditJob { target: EditTarget::File(path), file, before: Some(before) });
                }
                Ok((_, None)) => app.log_line(format!("{path}: not in code/files/ (a deletion, or not generated yet)")),
                Err(e) => app.log_line(format!("cannot edit {path}: {e}")),
            }
        }
    }
    None
}

/// The editor command: `$VISUAL`, else `$EDITOR`, else `vi`.
pub fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

/// Whether an environment variable may hold a secret (and so is kept from the editor).
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.ends_with("_API_KEY") || n.ends_with("_TOKEN") || n.ends_with("_SECRET")
}

/// Runs `editor` (see [`editor`]) on `job.file` and waits for it. The editor string may carry
/// arguments (`code --wait`): it runs through `sh -c`, with the file as `$1`, as git does.
///
/// # Errors
/// When the editor cannot be started.
pub fn run_editor(job: &EditJob, editor: &str) -> std::io::Result<ExitStatus> {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(format!("{editor} \"$1\"")).arg("ai-tools-editor").arg(&job.file);
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(is_secret) {
            c.env_remove(k);
        }
    }
    c.status()
}

/// After the editor: re-checks and shows the plan, or, when the file changed, asks for a
/// re-diff. Returns the commands for the actor.
pub fn finish_edit(app: &mut App, job: &EditJob, status: std::io::Result<ExitStatus>) -> Vec<Command> {
    let what = match &job.target {
        EditTarget::File(p) => format!("code/files/{p}"),
        EditTarget::Plan => "plan.files.json".to_owned(),
    };
    match status {
        Err(e) => {
            app.log_line(format!("error: cannot start the editor `{}`: {e}; set $VISUAL or $EDITOR", editor()));
            return Vec::new();
        }
        Ok(s) if !s.success() => {
            app.log_line(format!("the editor exited with {s}: {what} left as it was"));
            if job.target == EditTarget::Plan {
                perform(app, Effect::ShowPlan);
            }
            return Vec::new();
        }
        Ok(_) => {}
    }
    let after = std::fs::read(&job.file).ok();
    let changed = after != job.before;
    match &job.target {
        EditTarget::Plan => {
            perform(app, Effect::ShowPlan);
            let ok = app.review.plan.as_ref().is_some_and(|p| p.error.is_none());
            app.log_line(match (changed, ok) {
                (false, _) => "plan.files.json unchanged".to_owned(),
                (true, true) => "plan.files.json saved and checked: /codegen runs it".to_owned(),
                (true, false) => "plan.files.json has an error (shown in the plan view): /plan edit again".to_owned(),
            });
            Vec::new()
        }
        EditTarget::File(p) if changed => {
            app.log_line(format!("{what} edited: re-diffing (hunks the edit did not touch keep their state)"));
            hooks::file_edited(p)
        }
        EditTarget::File(_) => {
            app.log_line(format!("{what} unchanged"));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens_are_secret() {
        assert!(is_secret("OPENAI_API_KEY") && is_secret("GITHUB_TOKEN") && is_secret("aws_secret"));
        assert!(!is_secret("EDITOR") && !is_secret("TERM") && !is_secret("KEYBOARD"));
    }
}
