//! `ai-tools regen PATH… [-m NOTE] [--with-dependents]`: new candidates for some targets, asked
//! for with the review feedback ([`ai_tools::review::regen`]). Progress goes to stderr, the
//! result to stdout (one JSON object with `--json`). Ctrl-C cancels; nothing changes then.
//! Exit codes: 0 ok, 1 failed (provider, reply, repair), 2 bad input (unknown target, plan,
//! another run active), 3 scope mismatch, 130 interrupted.

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use ai_tools::broker::build;
use ai_tools::codegen::prompt::Prompts;
use ai_tools::orchestrator::Session;
use ai_tools::review::findings::describe;
use ai_tools::review::regen::{self, RegenCtx, RegenProgress, RegenRequest, RegenSettings};

use super::args::RegenArgs;

/// The regeneration settings of a session (the run's).
pub fn settings(s: &Session) -> RegenSettings {
    let r = s.run_settings();
    RegenSettings {
        context_budget: r.context_budget,
        repo_summary_max_files: r.repo_summary_max_files,
        generate: r.generate,
        validate: r.validate,
        repair: r.repair,
    }
}

fn progress(quiet: bool) -> impl Fn(RegenProgress) + Send + Sync {
    move |p| {
        if quiet {
            return;
        }
        match p {
            RegenProgress::Generating { path, dependent } => {
                eprintln!("regenerating {path}{}", if dependent { " (depends on a target)" } else { "" })
            }
            RegenProgress::Generated { path, changed, input_tokens, output_tokens } => eprintln!(
                "  {path}: {} ({input_tokens} in / {output_tokens} out tokens)",
                if changed { "new candidate" } else { "same as before" }
            ),
            RegenProgress::Provider { path, notice } => {
                eprintln!("  {path}: {}", serde_json::to_string(&notice).unwrap_or_default())
            }
            RegenProgress::Validated { findings } => eprintln!("validated: {findings} findings"),
            RegenProgress::Repaired { path, attempts, remaining } => {
                eprintln!("  repaired {path}: {attempts} attempts, {remaining} findings left")
            }
        }
    }
}

/// Runs `ai-tools regen`.
pub fn run(s: Session, a: &RegenArgs) -> Result<i32> {
    let env = s.env.clone();
    let broker = build::build(&s.config, &|k| env(k)).map_err(|e| super::Exit { code: 2, message: e.to_string() })?;
    let prompts = Prompts::load(s.prompt_dir.as_deref())?;
    let settings = settings(&s);
    let req = RegenRequest { paths: a.paths.clone(), note: a.note.clone(), with_dependents: a.with_dependents };
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let progress = progress(a.quiet || a.json);
    let result = rt.block_on(async {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
        });
        let ctx = RegenCtx {
            repo: &s.repo,
            task: &s.task,
            broker: &broker,
            prompts: &prompts,
            settings: &settings,
            cancel: &cancel,
            progress: &progress,
        };
        regen::regenerate(&ctx, &req).await
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => return Err(super::Exit { code: e.exit_code(), message: e.to_string() }.into()),
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(0);
    }
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
    Ok(0)
}
