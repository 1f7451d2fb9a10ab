//! `ai-tools edit PATH`: opens a generated file in `$VISUAL`/`$EDITOR` (on a scratch copy the
//! actor hands out, [`Command::EditBegin`]), then has the actor re-validate and re-diff it
//! ([`Command::EditFinish`]). An editor that exits non-zero or leaves the file unchanged
//! changes nothing.
//! Exit codes: 0 edited or unchanged, 1 the editor failed or could not start, 2 bad input (no
//! editor set, not a generated target).

use anyhow::{Context, Result};

use ai_tools::orchestrator::{Command, Event, Handle};
use ai_tools::review::edit::{self, EditOutcome};

use super::args::EditArgs;

/// Runs `ai-tools edit` through the actor behind `handle`.
pub async fn run(handle: &Handle, a: &EditArgs) -> Result<i32> {
    let editor =
        edit::editor_command(|k| std::env::var(k).ok()).map_err(|e| super::Exit { code: 2, message: e.to_string() })?;
    let begun = handle.request(Command::EditBegin { path: a.path.clone() }).await;
    let Some((file, deny)) = begun.find(|e| match e {
        Event::EditReady { file, deny_env, .. } => Some((file.clone(), deny_env.clone())),
        _ => None,
    }) else {
        let why = begun.error.unwrap_or_else(|| "the edit could not start".to_owned());
        return Err(super::Exit { code: begun.exit_code.max(1), message: why }.into());
    };
    let mut process = edit::editor_process(&editor, &file, &deny);
    let status = tokio::task::spawn_blocking(move || process.status())
        .await
        .context("the editor's thread failed")?
        .with_context(|| format!("cannot start the editor `{}`", editor.join(" ")));
    let editor_ok = status.as_ref().is_ok_and(std::process::ExitStatus::success);
    let finished = handle.request(Command::EditFinish { path: a.path.clone(), editor_ok }).await;
    status?;
    let outcome = finished.find(|e| match e {
        Event::Edited { outcome, .. } => Some(outcome.clone()),
        _ => None,
    });
    let Some(outcome) = outcome else {
        let why = finished.error.unwrap_or_else(|| "the edit could not finish".to_owned());
        return Err(super::Exit { code: finished.exit_code.max(1), message: why }.into());
    };
    if a.json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        let line = ai_tools::ui::describe::line(&Event::Edited { path: a.path.clone(), outcome: outcome.clone() });
        println!("{}", line.unwrap_or_default());
    }
    Ok(match outcome {
        EditOutcome::Unchanged { .. } if !editor_ok => 1,
        _ => 0,
    })
}
