//! `ai-tools accepts`: the accepts that `ai-tools undo` can walk back, oldest first — number,
//! time, files with what happened to each, hunks, and the git commit when one was made. Asks
//! the orchestrator actor ([`Command::ListAccepts`]), as the workbench and the REPL do.
//! Exit codes: 0 ok, 1 an unreadable journal.

use std::io::Write;

use anyhow::Result;

use ai_tools::orchestrator::{Command, Event, Handle};
use ai_tools::review::accept::Change;

use super::args::AcceptsArgs;

/// Lists the accepts.
pub async fn run(handle: &Handle, a: &AcceptsArgs) -> Result<i32> {
    let answer = handle.request(Command::ListAccepts).await;
    if let Some(e) = &answer.error {
        eprintln!("error: {e}");
        return Ok(answer.exit_code);
    }
    let list = answer
        .find(|e| match e {
            Event::AcceptsListed { accepts } => Some(accepts.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if a.json {
        for e in &list {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        return Ok(0);
    }
    if list.is_empty() {
        writeln!(out, "no accepts to undo")?;
        return Ok(0);
    }
    for e in &list {
        let commit = e.commit.as_deref().map(|c| format!("  commit {}", &c[..c.len().min(12)])).unwrap_or_default();
        writeln!(
            out,
            "accept {}  {}  {} in {} file{}{commit}",
            e.number,
            e.at.format("%Y-%m-%d %H:%M:%S UTC"),
            if e.hunks.len() == 1 { "1 hunk".to_owned() } else { format!("{} hunks", e.hunks.len()) },
            e.files.len(),
            if e.files.len() == 1 { "" } else { "s" },
        )?;
        for f in &e.files {
            let what = match f.change {
                Change::Created => "created",
                Change::Modified => "modified",
                Change::Deleted => "deleted",
                Change::Unchanged => "unchanged",
            };
            writeln!(out, "  {what:<9} {}{}", f.path, if f.merged { "  (merged around edits)" } else { "" })?;
        }
        writeln!(out, "  hunks: {}", e.hunks.join(", "))?;
    }
    writeln!(out, "`ai-tools undo` undoes the newest; `ai-tools undo --to N` undoes back to and including N")?;
    Ok(0)
}
