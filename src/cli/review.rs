//! `ai-tools hunks`, `accept` and `undo`: thin wrappers over [`ai_tools::review`] that print
//! for people (stdout, refusals on stderr) or, with `--json`, for scripts (stdout only).
//! Exit codes: 0 ok, 1 failed, 2 bad input, 4 refused because files changed.
//!
//! `hunks --accept/--reject ID… [--reason TEXT]` records review decisions first; `undo --to N`
//! walks the accept journal back to accept N.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use ai_tools::review::accept::Change;
use ai_tools::review::{self, AcceptOptions, AcceptReport, FileHunks, RecoveryReport, Selection};
use ai_tools::task::TaskDir;

use super::args::{AcceptArgs, HunksArgs, UndoArgs};

/// One line of `ai-tools hunks --json`.
#[derive(Serialize)]
struct HunkRow<'a> {
    id: &'a str,
    file: &'a str,
    header: &'a str,
    state: &'a str,
    reason: Option<&'a str>,
    held: bool,
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

/// Records `--accept` / `--reject [--reason]` decisions.
fn mark(task: &TaskDir, repo: &Path, a: &HunksArgs) -> Result<()> {
    let mut marks = Vec::new();
    for id in a.accept.iter().flatten() {
        marks.push(review::Mark { id: id.clone(), accepted: true, reason: None });
    }
    for id in a.reject.iter().flatten() {
        marks.push(review::Mark { id: id.clone(), accepted: false, reason: a.reason.clone() });
    }
    if marks.is_empty() {
        return Ok(());
    }
    for m in review::mark(task, repo, &marks)? {
        if !a.json {
            let why = m.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            println!("{}  {}{why}", m.id, m.state.as_str());
        }
    }
    Ok(())
}

/// `ai-tools hunks`.
pub fn hunks(task: &TaskDir, repo: &Path, a: &HunksArgs) -> Result<i32> {
    mark(task, repo, a)?;
    if a.rediff {
        let r = review::rediff(task, repo)?;
        if !a.json {
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
    let files = review::snapshot(task, repo)?;
    if a.json {
        for f in &files {
            for h in &f.hunks {
                print_json(&HunkRow {
                    id: &h.id,
                    file: &f.path,
                    header: &h.header,
                    state: h.state.as_str(),
                    reason: h.reason.as_deref(),
                    held: f.held(),
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
        if f.held() {
            println!(
                "  held: {} the run introduced, so a bare accept skips its unreviewed hunks; \
                 accept them with `ai-tools accept --files {}` or `--hunks ID`",
                plural(f.findings.len(), "open finding"),
                f.path
            );
            for r in f.findings.iter().take(3) {
                println!("    {}", review::findings::describe(r));
            }
        }
        for h in &f.hunks {
            println!("  {}  {:<8}  {}  +{} −{}", h.id, h.state.as_str(), h.header, h.additions, h.deletions);
            if let Some(r) = &h.reason {
                println!("      reason: {r}");
            }
        }
    }
}

/// `ai-tools accept`.
pub fn accept(task: &TaskDir, repo: &Path, a: &AcceptArgs) -> Result<i32> {
    let selection = match (&a.hunks, &a.files, a.all) {
        (Some(ids), _, _) => Selection::Hunks(ids.clone()),
        (_, Some(paths), _) => Selection::Files(paths.clone()),
        (_, _, true) => Selection::All,
        _ => Selection::Accepted,
    };
    let opts = AcceptOptions { selection, commit: a.commit, message: a.message.clone(), stage: false };
    let report = review::accept(task, repo, &opts)?;
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
    if !r.held.is_empty() {
        println!(
            "left unreviewed hunks of {} with open findings the run introduced: {} (see `ai-tools hunks`; \
             accept them with --files or --hunks)",
            plural(r.held.len(), "file"),
            r.held.join(", ")
        );
    }
    if r.accept.is_some() {
        println!(
            "{} left in code/diff.patch (`ai-tools hunks`; `ai-tools undo` reverts this accept)",
            plural(r.remaining, "hunk")
        );
    }
}

/// `ai-tools undo`.
pub fn undo(task: &TaskDir, repo: &Path, a: &UndoArgs) -> Result<i32> {
    let Some(n) = a.to else {
        let r = review::undo(task, repo)?;
        if a.json {
            print_json(&r)?;
            return Ok(i32::from(r.git_error.is_some()));
        }
        return Ok(print_undo(&r));
    };
    let reports = review::undo_to(task, repo, n)?;
    let failed = reports.iter().any(|r| r.git_error.is_some());
    if a.json {
        print_json(&serde_json::json!({ "undone": reports }))?;
        return Ok(i32::from(failed));
    }
    let mut code = 0;
    for r in &reports {
        code = code.max(print_undo(r));
    }
    Ok(code)
}

fn print_undo(r: &review::UndoReport) -> i32 {
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
        return 1;
    }
    println!("{} in code/diff.patch", plural(r.remaining, "hunk"));
    0
}
