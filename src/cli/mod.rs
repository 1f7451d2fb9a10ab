//! Command-line parsing and the subcommands' glue. Everything here is the binary's edge:
//! it resolves the repo, task and configuration, starts the orchestrator, and hands off to a
//! front end.

mod accepts;
mod args;
mod demo;
mod edit;
mod model;
mod providers;
mod regen;
mod review;
mod tools;
mod trust;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

pub use args::Cli;
use args::{Cmd, Common, ModelCmd, TaskCmd, ToolsCmd};

use ai_tools::config::{self, Config};
use ai_tools::orchestrator::{self, RunOptions, Session};
use ai_tools::task::{self, TaskDir};
use ai_tools::ui::headless::{self, HeadlessOptions};
use ai_tools::ui::tui::{
    self, App,
    theme::{ColorDepth, Theme},
};
use std::io::IsTerminal;

/// An error that carries its own exit code.
#[derive(Debug)]
pub struct Exit {
    /// The code.
    pub code: i32,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Exit code for an error: its own for [`Exit`], 2 for bad input (plans, config, tasks), else 1.
pub fn exit_code_of(e: &anyhow::Error) -> i32 {
    if let Some(x) = e.downcast_ref::<Exit>() {
        return x.code;
    }
    if let Some(r) = e.downcast_ref::<ai_tools::review::ReviewError>() {
        return r.exit_code();
    }
    if e.downcast_ref::<config::ConfigError>().is_some()
        || e.downcast_ref::<task::TaskError>().is_some()
        || e.downcast_ref::<ai_tools::plan::PlanError>().is_some()
    {
        return 2;
    }
    1
}

fn bad_input(message: impl Into<String>) -> anyhow::Error {
    Exit { code: 2, message: message.into() }.into()
}

/// The git top level of `dir`, or `dir` itself outside a git repo.
fn repo_root(dir: &Path) -> PathBuf {
    let mut git = std::process::Command::new("git");
    ai_tools::sandbox::env::scrub(&mut git, &[]);
    let out = git.arg("-C").arg(dir).args(["rev-parse", "--show-toplevel"]).output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => dir.to_path_buf(),
    }
}

/// The repo root from `--repo` or the current directory.
pub fn resolve_repo(common: &Common) -> Result<PathBuf> {
    let dir = match &common.repo {
        Some(r) => r.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if !dir.is_dir() {
        return Err(bad_input(format!("--repo {}: not a directory", dir.display())));
    }
    let root = if common.repo.is_some() { dir } else { repo_root(&dir) };
    Ok(root.canonicalize().unwrap_or(root))
}

/// Loads the configuration layers and applies the flags.
pub fn load_config(repo: &Path, common: &Common) -> Result<Config> {
    let user = config::user_config_path();
    let (mut cfg, sources) = config::load(user.as_deref(), Some(&repo.join(".ai-tools.toml")))?;
    if let Some(ignored) = &sources.ignored {
        eprintln!("{ignored}");
    }
    if let Some(p) = &common.provider {
        cfg.provider = Some(p.clone());
    }
    if let Some(m) = &common.model {
        cfg.model = Some(m.clone());
    }
    if let Some(p) = &common.model_path {
        cfg.model_path = Some(p.clone());
    }
    Ok(cfg)
}

fn locate_task(repo: &Path, common: &Common) -> Result<TaskDir> {
    task::locate(repo, common.task.as_deref()).map_err(|e| match e {
        task::TaskError::NoTask(dir) => bad_input(format!(
            "no task found under {}\n  hint: create one with `ai-tools task new <slug>`, or pass --task DIR",
            dir.display()
        )),
        other => other.into(),
    })
}

/// A session for the repo and task the flags name.
pub fn session(common: &Common) -> Result<Session> {
    let repo = resolve_repo(common)?;
    let cfg = load_config(&repo, common)?;
    // Keys in variables with unusual names are kept from git hooks and editors too.
    ai_tools::sandbox::env::deny_also(cfg.providers.values().filter_map(|p| p.api_key_env.clone()));
    let task = locate_task(&repo, common)?;
    Ok(Session {
        repo,
        task,
        config: cfg,
        env: Arc::new(|k: &str| std::env::var(k).ok()),
        prompt_dir: ai_tools::codegen::prompt::user_prompt_dir(),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Runs one codegen run on `s` with the headless front end; returns its exit code.
///
/// # Errors
/// When the async runtime cannot start.
pub fn run_headless(s: Session, opts: RunOptions, out: HeadlessOptions) -> Result<i32> {
    runtime()?.block_on(async move {
        let (handle, events, join) = orchestrator::spawn(s);
        let code = headless::run_codegen(&handle, events, opts, out).await;
        handle.send(orchestrator::Command::Shutdown);
        let _ = join.await;
        Ok(code)
    })
}

/// Starts the actor on `s`, runs `f` with its handle (a one-shot command that requests and
/// renders answers), then stops the actor.
///
/// # Errors
/// When the async runtime cannot start, or what `f` returns.
fn with_actor<F, Fut>(s: Session, f: F) -> Result<i32>
where
    F: FnOnce(orchestrator::Handle) -> Fut,
    Fut: std::future::Future<Output = Result<i32>>,
{
    runtime()?.block_on(async move {
        let (handle, _events, join) = orchestrator::spawn(s);
        let r = f(handle.clone()).await;
        handle.send(orchestrator::Command::Shutdown);
        let _ = join.await;
        r
    })
}

/// Runs the parsed command line; returns the process exit code.
///
/// # Errors
/// Any failure, mapped to an exit code by [`exit_code_of`].
pub fn run(cli: Cli) -> Result<i32> {
    let common = cli.common;
    match cli.cmd {
        Some(Cmd::Codegen(a)) => {
            let mut s = session(&common)?;
            if let Some(c) = a.concurrency {
                if c == 0 {
                    return Err(bad_input("--concurrency must be at least 1"));
                }
                s.config.concurrency = c;
            }
            let opts = RunOptions { redo: a.redo, apply: a.apply, allow_empty: a.allow_empty, resume: a.resume };
            run_headless(s, opts, HeadlessOptions { json: a.json, quiet: a.quiet })
        }
        Some(Cmd::Providers(a)) => {
            let repo = resolve_repo(&common)?;
            let cfg = load_config(&repo, &common)?;
            runtime()?.block_on(providers::run(&cfg, &a))
        }
        Some(Cmd::Log { run_id }) => {
            let repo = resolve_repo(&common)?;
            let t = locate_task(&repo, &common)?;
            let md = ai_tools::runlog::read_markdown(&t, run_id.as_deref()).map_err(|e| bad_input(e.to_string()))?;
            print!("{}", ai_tools::ui::visible::visible(&md));
            Ok(0)
        }
        Some(Cmd::Hunks(a)) => with_actor(session(&common)?, |h| async move { review::hunks(&h, &a).await }),
        Some(Cmd::Accept(a)) => with_actor(session(&common)?, |h| async move { review::accept(&h, &a).await }),
        Some(Cmd::Undo(a)) => with_actor(session(&common)?, |h| async move { review::undo(&h, &a).await }),
        Some(Cmd::Accepts(a)) => with_actor(session(&common)?, |h| async move { accepts::run(&h, &a).await }),
        Some(Cmd::Regen(a)) => with_actor(session(&common)?, |h| async move { regen::run(&h, &a).await }),
        Some(Cmd::Edit(a)) => with_actor(session(&common)?, |h| async move { edit::run(&h, &a).await }),
        Some(Cmd::Repl) => {
            let s = session(&common)?;
            let _log = init_file_logging();
            let depth = ColorDepth::detect(|k| std::env::var(k).ok());
            let theme = Theme::load(common.theme.as_deref().unwrap_or(&s.config.theme), depth)
                .map_err(|e| bad_input(e.to_string()))?;
            runtime()?.block_on(async move {
                let (handle, events, join) = orchestrator::spawn(s);
                let r = ai_tools::ui::repl::run(handle, events, theme).await;
                let _ = join.await;
                r
            })?;
            Ok(0)
        }
        Some(Cmd::Model { cmd: ModelCmd::Pull { force } }) => model::pull_cmd(force),
        Some(Cmd::Model { cmd: ModelCmd::List }) => model::list_cmd(),
        Some(Cmd::Tools { cmd: ToolsCmd::Pull { force } }) => tools::pull_cmd(force),
        Some(Cmd::Tools { cmd: ToolsCmd::List }) => tools::list_cmd(&resolve_repo(&common)?),
        Some(Cmd::Demo(a)) => demo::run(&common, &a),
        Some(Cmd::Trust(a)) => trust::run(&resolve_repo(&common)?, &a),
        Some(Cmd::Task { cmd: TaskCmd::New { slug, title } }) => {
            let repo = resolve_repo(&common)?;
            let t = task::scaffold(&repo, &slug, title.as_deref())?;
            println!("created task {}", t.root().display());
            println!("  edit {} (the narrative plan)", t.plan_md().display());
            println!("  and  {} (the per-file plan), then run `ai-tools codegen`", t.plan_files_json().display());
            Ok(0)
        }
        None => {
            let s = session(&common)?;
            run_tui(s, &common, Vec::new()).map(|_| 0)
        }
    }
}

/// Opens the workbench on `s`, sends `initial` commands, and returns the summary of the last
/// run that ended ready in it, if any.
///
/// # Errors
/// Bad input without a terminal or with an unknown theme; terminal failures.
pub fn run_tui(
    s: Session,
    common: &Common,
    initial: Vec<orchestrator::Command>,
) -> Result<Option<ai_tools::orchestrator::summary::Summary>> {
    if !std::io::stdout().is_terminal() {
        return Err(bad_input("the workbench needs a terminal; use `ai-tools codegen` (headless) or `ai-tools repl`"));
    }
    let _log = init_file_logging();
    let depth = ColorDepth::detect(|k| std::env::var(k).ok());
    let theme =
        Theme::load(common.theme.as_deref().unwrap_or(&s.config.theme), depth).map_err(|e| bad_input(e.to_string()))?;
    let mut app = App::new(theme).with_task(s.task.clone(), s.repo.clone());
    app.provider_names.extend(s.config.providers.keys().cloned());
    let app = runtime()?.block_on(async move {
        let (handle, events, join) = orchestrator::spawn(s);
        let r = tui::run(handle, events, app, initial).await;
        let _ = join.await;
        r
    })?;
    Ok(app.last_summary)
}

/// Sends tracing output to the log file (never the screen); the guard flushes it on drop.
fn init_file_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let path = tui::log_file()?;
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::never(dir, path.file_name()?);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("AI_TOOLS_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init().ok()?;
    Some(guard)
}
