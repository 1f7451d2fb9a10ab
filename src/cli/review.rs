//! `ai-tools hunks`, `accept` and `undo`: each sends its command to the orchestrator actor —
//! the same path the workbench and the REPL take — and renders the events of the actor's
//! answer for people (stdout, refusals on stderr) or, with `--json`, for scripts (stdout only).
//! Exit codes: 0 ok, 1 failed, 2 bad input, 4 refused because files changed.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use ai_tools::orchestrator::{Answer, Command, Event, Handle};
use ai_tools::review::accept::Change;
use ai_tools::review::{self, AcceptReport, FileHunks, RecoveryReport, Selection};

use super::args::{AcceptArgs, HunksArgs, UndoArgs};

/// One line of `ai-tools hunks --json`.
#[derive(Serialize)]
struct HunkRow<'a> {
    id: &'a str,
    file: &'a str,
    header: &'a str,
    state: &'a str,
    kind: review::patchset::HunkKind,
    action: review::patchset::FileAction,
    additions: usize,
    deletions: usize,
    old_start: usize,
    old_lines: usize,
    new_start: usize,
    new_lines: usize,
}

fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn note_recovery(r: Option<&RecoveryReport>) {
    if let Some(r) = r {
        let n: Vec<String> = r.rolled_back.iter().map(ToString::to_string).collect();
        eprintln!(
            "recovered: rolled back the interrupted accept/undo {} ({} files restored{})",
            n.join(", "),
            r.restored.len(),
            if r.kept.is_empty() { String::new() } else { format!("; left as they are: {}", r.kept.join(", ")) }
        );
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// The answer's refusal, printed, as the exit code; `None` when the command was carried out.
fn refused(a: &Answer) -> Option<i32> {
    let e = a.error.as_ref()?;
    eprintln!("error: {e}");
    Some(a.exit_code)
}

/// `ai-tools hunks`.
pub async fn hunks(handle: &Handle, a: &HunksArgs) -> Result<i32> {
    if a.rediff {
        let answer = handle.request(Command::Rediff).await;
        if let Some(code) = refused(&answer) {
            return Ok(code);
        }
        let report = answer.find(|e| match e {
            Event::Rediffed { report } => Some(report.clone()),
            _ => None,
        });
        if let (false, Some(r)) = (a.json, report) {
            println!("re-derived code/diff.patch: {} in {}", plural(r.hunks, "hunk"), plural(r.files, "file"));
            if !r.reset.is_empty() {
                println!(
                    "  {} of edited files start rejected (they may undo your edits): {}",
                    plural(r.reset.len(), "new hunk"),
                    r.reset.join(", ")
                );
            }
        }
    }
    let answer = handle.request(Command::Snapshot).await;
    if let Some(code) = refused(&answer) {
        return Ok(code);
    }
    let files = answer
        .find(|e| match e {
            Event::Hunks { files } => Some(files.clone()),
            _ => None,
        })
        .unwrap_or_default();
    if a.json {
        for f in &files {
            for h in &f.hunks {
                print_json(&HunkRow {
                    id: &h.id,
                    file: &f.path,
                    header: &h.header,
                    state: h.state.as_str(),
                    kind: h.kind,
                    action: f.action,
                    additions: h.additions,
                    deletions: h.deletions,
                    old_start: h.old_start,
                    old_lines: h.old_lines,
                    new_start: h.new_start,
                    new_lines: h.new_lines,
                })?;
            }
        }
        return Ok(0);
    }
    print_hunks(&files);
    Ok(0)
}

fn print_hunks(files: &[FileHunks]) {
    if files.is_empty() {
        println!("no hunks: code/diff.patch is empty (everything landed, or code/files equals the working tree)");
        return;
    }
    for f in files {
        let accepted = f.hunks.iter().filter(|h| h.state == review::HunkState::Accepted).count();
        let action = ai_tools::orchestrator::events::wire_name(&f.action);
        println!(
            "{}  {action}  +{} −{}  ({}, {accepted} accepted)",
            f.path,
            f.additions,
            f.deletions,
            plural(f.hunks.len(), "hunk")
        );
        for h in &f.hunks {
            println!("  {}  {:<8}  {}  +{} −{}", h.id, h.state.as_str(), h.header, h.additions, h.deletions);
        }
    }
}

/// `ai-tools accept`.
pub async fn accept(handle: &Handle, a: &AcceptArgs) -> Result<i32> {
    let selection = match (&a.hunks, &a.files, a.all) {
        (Some(ids), _, _) => Selection::Hunks(ids.clone()),
        (_, Some(paths), _) => Selection::Files(paths.clone()),
        (_, _, true) => Selection::All,
        _ => Selection::Accepted,
    };
    let answer = handle.request(Command::Accept { selection, commit: a.commit, message: a.message.clone() }).await;
    if let Some(code) = refused(&answer) {
        return Ok(code);
    }
    let Some(report) = answer.find(|e| match e {
        Event::Accepted { report, .. } => Some(report.clone()),
        _ => None,
    }) else {
        return Ok(answer.exit_code);
    };
    let code = report.exit_code();
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("exit_code".into(), code.into());
            o.insert("suggestion".into(), report.suggestion().into());
        }
        print_json(&v)?;
        return Ok(code);
    }
    note_recovery(report.recovered.as_ref());
    print_accept(&report);
    Ok(code)
}

fn print_accept(r: &AcceptReport) {
    match r.accept {
        Some(n) => {
            println!("accept {n}: {} landed in {}", plural(r.hunks.len(), "hunk"), plural(r.landed.len(), "file"))
        }
        None if r.conflicts.is_empty() => {
            println!("nothing to accept: no hunk is selected (all rejected, or the diff is empty)")
        }
        None => println!("nothing landed"),
    }
    for f in &r.landed {
        let what = match f.change {
            Change::Created => "created",
            Change::Modified => "modified",
            Change::Deleted => "deleted",
            Change::Unchanged => "unchanged",
        };
        let merged = if f.merged { ", merged around edits made since the diff" } else { "" };
        println!("  {what:<9} {}  ({}{merged})", f.path, plural(f.hunks.len(), "hunk"));
    }
    if !r.conflicts.is_empty() {
        eprintln!("refused, left untouched:");
        for c in &r.conflicts {
            eprintln!("  {}: {}", c.path, c.reason);
        }
        if let Some(s) = r.suggestion() {
            eprintln!("  what to do: {s}");
        }
    }
    if let Some(c) = &r.commit {
        let short: String = c.id.chars().take(12).collect();
        println!("committed {short} \"{}\" ({})", c.message, plural(c.paths.len(), "path"));
    }
    if let Some(e) = &r.git_error {
        eprintln!("git: {e}");
    }
    if !r.reset.is_empty() {
        println!("{} of edited files start rejected: {}", plural(r.reset.len(), "new hunk"), r.reset.join(", "));
    }
    if r.accept.is_some() {
        println!(
            "{} left in code/diff.patch (`ai-tools hunks`; `ai-tools undo` reverts this accept)",
            plural(r.remaining, "hunk")
        );
    }
}

/// `ai-tools undo`.
pub async fn undo(handle: &Handle, a: &UndoArgs) -> Result<i32> {
    let answer = handle.request(Command::Undo).await;
    if let Some(code) = refused(&answer) {
        return Ok(code);
    }
    let Some(r) = answer.find(|e| match e {
        Event::Undone { report } => Some(report.clone()),
        _ => None,
    }) else {
        return Ok(answer.exit_code);
    };
    if a.json {
        print_json(&r)?;
        return Ok(i32::from(r.git_error.is_some()));
    }
    note_recovery(r.recovered.as_ref());
    println!("undid accept {}: restored {}", r.accept, plural(r.restored.len(), "file"));
    for p in &r.restored {
        println!("  {p}");
    }
    if let Some(c) = &r.commit {
        println!("its commit {c} stays in git history; `git revert {c}` undoes it there");
    }
    if !r.unstaged.is_empty() {
        println!("unstaged {}", plural(r.unstaged.len(), "path"));
    }
    if let Some(e) = &r.git_error {
        eprintln!("git: {e}");
        return Ok(1);
    }
    println!("{} in code/diff.patch", plural(r.remaining, "hunk"));
    Ok(0)
}
