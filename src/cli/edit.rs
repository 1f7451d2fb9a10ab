//! `ai-tools edit PATH`: opens a generated file in `$VISUAL`/`$EDITOR` (on a scratch copy),
//! then re-validates and re-diffs it ([`ai_tools::review::edit`]). An editor that exits
//! non-zero or leaves the file unchanged changes nothing.
//! Exit codes: 0 edited or unchanged, 1 the editor failed or could not start, 2 bad input (no
//! editor set, not a generated target).

use anyhow::{Context, Result};

use ai_tools::orchestrator::Session;
use ai_tools::review::edit::{self, EditOutcome};
use ai_tools::review::findings::describe;

use super::args::EditArgs;

/// Runs `ai-tools edit`.
pub fn run(s: Session, a: &EditArgs) -> Result<i32> {
    let editor =
        edit::editor_command(|k| std::env::var(k).ok()).map_err(|e| super::Exit { code: 2, message: e.to_string() })?;
    let session = edit::begin(&s.task, &a.path)?;
    let status =
        session.command(&editor).status().with_context(|| format!("cannot start the editor `{}`", editor.join(" ")))?;
    let validate = s.config.validate.clone();
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let outcome = rt.block_on(session.finish(&s.repo, &validate, status.success()))?;
    if a.json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        match &outcome {
            EditOutcome::Unchanged { why } => println!("{}: {why}", a.path),
            EditOutcome::Changed { archive, findings, installed } => {
                println!(
                    "{}: edited; the previous candidate is in code/candidates/{archive}/; {} kept their review state, {} new",
                    a.path,
                    installed.kept.len(),
                    installed.new.len()
                );
                println!("  {} findings after re-validation", findings.len());
                for r in findings.iter().take(5) {
                    println!("    {}", describe(r));
                }
            }
        }
    }
    Ok(if status.success() { 0 } else { 1 })
}
