//! `ai-tools regen PATH… [-m NOTE] [--with-dependents]`: new candidates for some targets, asked
//! for with the review feedback ([`ai_tools::review::regen`]), through the orchestrator actor
//! ([`Command::Regen`]). Progress goes to stderr, the result to stdout (one JSON object with
//! `--json`). Ctrl-C sends [`Command::Cancel`]; nothing changes then.
//! Exit codes: 0 ok, 1 failed (provider, reply, repair), 2 bad input (unknown target, plan,
//! providers, another run active), 3 scope mismatch, 130 interrupted.

use anyhow::Result;

use ai_tools::orchestrator::{Command, Event, Handle};
use ai_tools::review::findings::describe;
use ai_tools::review::regen::RegenReport;

use super::args::RegenArgs;

/// Prints a progress event on stderr (unless `quiet`).
fn progress(quiet: bool, e: &Event) {
    if let (false, Event::RegenProgress { progress }) = (quiet, e) {
        eprintln!("{}", progress.describe());
    }
}

/// Runs `ai-tools regen` through the actor behind `handle`.
pub async fn run(handle: &Handle, a: &RegenArgs) -> Result<i32> {
    let quiet = a.quiet || a.json;
    let mut events = handle.subscribe();
    let h = handle.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            h.send(Command::Cancel);
        }
    });
    let cmd = Command::Regen { paths: a.paths.clone(), note: a.note.clone(), with_dependents: a.with_dependents };
    let request = handle.request(cmd);
    tokio::pin!(request);
    let answer = loop {
        tokio::select! {
            answer = &mut request => break answer,
            Some(e) = events.recv() => progress(quiet, &e),
        }
    };
    ctrl_c.abort();
    while let Ok(e) = events.try_recv() {
        progress(quiet, &e);
    }
    let report = answer.find(|e| match e {
        Event::Regenerated { report } => Some(report.clone()),
        _ => None,
    });
    let Some(report) = report else {
        let message = answer.error.clone().unwrap_or_else(|| "the regeneration did not finish".to_owned());
        return Err(super::Exit { code: answer.exit_code.max(1), message }.into());
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(0);
    }
    print_report(&report);
    Ok(0)
}

fn print_report(report: &RegenReport) {
    match report.archive {
        Some(n) => println!("regenerated; the previous candidates are in code/candidates/{n}/"),
        None => println!("regenerated; every new candidate equals the previous one, nothing changed"),
    }
    for f in &report.files {
        let what = if f.changed { "new candidate" } else { "unchanged" };
        let dep = if f.dependent { " (dependent)" } else { "" };
        println!("  {}{dep}: {what}, {} open findings", f.path, f.findings.len());
        for r in f.findings.iter().take(3) {
            println!("    {}", describe(r));
        }
    }
    let i = &report.installed;
    if report.archive.is_some() {
        println!(
            "{} in code/diff.patch; {} kept their review state, {} new (`ai-tools hunks`)",
            i.rediff.hunks,
            i.kept.len(),
            i.new.len()
        );
    }
}
