//! `ai-tools demo`: writes the bundled example project (`examples/todo-app`, compiled into the
//! binary so the demo works wherever the binary is) into a fresh temporary git repo, makes sure
//! the embedded model is there, and runs the codegen phase on its `add-tags` task.
//!
//! Nothing here special-cases the run: the session is the one `ai-tools codegen --repo <copy>`
//! would build, except that the provider defaults to `local` (the no-key, no-network path) unless
//! `--provider` or `AI_TOOLS_PROVIDER` names another.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use ai_tools::config::Config;
use ai_tools::orchestrator::{Command as ActorCommand, RunOptions};
use ai_tools::ui::headless::HeadlessOptions;

use super::args::{Common, DemoArgs};

/// The example project, relative path → content.
pub const PROJECT: &[(&str, &str)] = &[
    (
        ".ai-tools/tasks/add-tags/planning/plan.files.json",
        include_str!("../../examples/todo-app/.ai-tools/tasks/add-tags/planning/plan.files.json"),
    ),
    (
        ".ai-tools/tasks/add-tags/planning/plan.md",
        include_str!("../../examples/todo-app/.ai-tools/tasks/add-tags/planning/plan.md"),
    ),
    ("README.md", include_str!("../../examples/todo-app/README.md")),
    ("pyproject.toml", include_str!("../../examples/todo-app/pyproject.toml")),
    ("tests/test_format.py", include_str!("../../examples/todo-app/tests/test_format.py")),
    ("tests/test_store.py", include_str!("../../examples/todo-app/tests/test_store.py")),
    ("todo/__init__.py", include_str!("../../examples/todo-app/todo/__init__.py")),
    ("todo/format.py", include_str!("../../examples/todo-app/todo/format.py")),
    ("todo/models.py", include_str!("../../examples/todo-app/todo/models.py")),
    ("todo/store.py", include_str!("../../examples/todo-app/todo/store.py")),
];

/// The task the demo runs.
pub const TASK: &str = ".ai-tools/tasks/add-tags";

/// The workbench when stdout is a terminal, unless `--headless`.
fn use_tui(headless: bool) -> bool {
    !headless && std::io::stdout().is_terminal()
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let mut git = Command::new("git");
    ai_tools::sandbox::env::scrub(&mut git, &[]);
    let out = git
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=ai-tools demo", "-c", "user.email=demo@ai-tools.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .context("the demo needs git on PATH")?;
    if !out.status.success() {
        bail!("git {} failed in {}: {}", args.join(" "), dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Writes the example project into a new directory under the system temp dir, commits it to a
/// fresh git repo, and returns the directory (kept after the demo, for inspection).
///
/// # Errors
/// I/O or git failures.
pub fn prepare() -> Result<PathBuf> {
    let root = tempfile::Builder::new()
        .prefix("ai-tools-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo")?
        .keep();
    for (rel, text) in PROJECT {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    git(&root, &["init", "-q"])?;
    git(&root, &["add", "-A"])?;
    git(&root, &["commit", "-q", "-m", "todo-app: the ai-tools demo project"])?;
    Ok(root)
}

/// Whether the session will run the default (pulled) model: its codegen provider is of kind
/// `local` and no model file is configured for it.
fn runs_default_model(cfg: &Config) -> bool {
    let Some(name) = cfg.provider.as_deref() else { return false };
    let pc = cfg.providers.get(name);
    let kind = pc.and_then(|p| p.kind.as_deref()).unwrap_or(name);
    kind == "local" && cfg.model_path.is_none() && pc.and_then(|p| p.model_path.as_ref()).is_none()
}

/// Pulls the pinned ruff and pyright into the cache dir when they are not there yet, so the
/// demo shows validation and repair with real tools. A failed pull is a warning: the demo still
/// runs with the built-in syntax check.
fn ensure_validators() {
    use ai_tools::validate::tools;
    let Some(dir) = tools::tools_dir(&|k| std::env::var(k).ok()) else { return };
    match tools::ensure(&dir) {
        Ok(None) => {}
        Ok(Some(done)) => {
            for t in done {
                eprintln!("validator ready: {} {} ({})", t.name, t.version, t.path.display());
            }
        }
        Err(e) => eprintln!("warning: could not pull the validators (the demo runs with the syntax check only): {e}"),
    }
}

/// `ai-tools demo`; returns the codegen run's exit code.
///
/// # Errors
/// Setup failures (temp dir, git, the model pull, configuration).
pub fn run(common: &Common, args: &DemoArgs) -> Result<i32> {
    let root = prepare()?;
    eprintln!("demo project: {} (examples/todo-app, committed to a fresh git repo)", root.display());
    let common = Common { repo: Some(root.clone()), task: Some(root.join(TASK)), ..common.clone() };
    let mut session = super::session(&common)?;
    if session.config.provider.is_none() {
        session.config.provider = Some("local".into());
    }
    if runs_default_model(&session.config) {
        super::model::ensure_default()?;
    }
    ensure_validators();
    let task = session.task.clone();
    let opts = RunOptions::default();
    let code = if use_tui(args.headless) {
        // The workbench starts the run itself; the summary prints after it closes.
        let summary = super::run_tui(session, &common, vec![ActorCommand::Codegen(opts)])?;
        match &summary {
            Some(s) => print!("{}", s.render()),
            None => println!("the run did not end ready in the workbench (see the run log)"),
        }
        i32::from(summary.is_none())
    } else {
        super::run_headless(session, opts, HeadlessOptions { json: false, quiet: args.quiet })?
    };
    let exists = |p: &Path| if p.exists() { "" } else { " (not written)" };
    println!();
    println!("demo {}:", if code == 0 { "finished" } else { "ended with errors (see above)" });
    println!("  project:    {}", root.display());
    println!("  task:       {}", task.root().display());
    println!("  code/files: {}{}", task.files_dir().display(), exists(&task.files_dir()));
    println!("  diff.patch: {}{}", task.diff_patch().display(), exists(&task.diff_patch()));
    println!("  run logs:   {}", task.logs_dir().display());
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), "__pycache__" | ".pytest_cache" | "code" | "logs" | "state.json") {
                continue;
            }
            if p.is_dir() {
                files_under(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }

    #[test]
    fn the_embedded_project_is_the_examples_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/todo-app");
        let mut on_disk = Vec::new();
        files_under(&root, &root, &mut on_disk);
        on_disk.sort();
        let embedded: Vec<String> = PROJECT.iter().map(|(p, _)| (*p).to_owned()).collect();
        assert_eq!(embedded, on_disk, "add new example files to demo::PROJECT");
        for (rel, text) in PROJECT {
            assert_eq!(std::fs::read_to_string(root.join(rel)).unwrap(), *text, "{rel}");
        }
    }

    #[test]
    fn prepare_writes_a_committed_repo_with_a_valid_plan() {
        let root = prepare().unwrap();
        let plan = ai_tools::plan::load(&ai_tools::task::TaskDir::new(root.join(TASK)), &root).unwrap();
        let waves = &plan.waves;
        assert!(plan.files.len() >= 3 && waves.len() >= 2, "{} files in {} waves", plan.files.len(), waves.len());
        let status = Command::new("git").arg("-C").arg(&root).args(["status", "--porcelain"]).output().unwrap();
        assert!(status.stdout.is_empty(), "{}", String::from_utf8_lossy(&status.stdout));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_an_unconfigured_local_provider_needs_the_pull() {
        let mut c = Config { provider: Some("local".into()), ..Config::default() };
        assert!(runs_default_model(&c));
        c.model_path = Some("x.gguf".into());
        assert!(!runs_default_model(&c));
        let c = Config { provider: Some("anthropic".into()), ..Config::default() };
        assert!(!runs_default_model(&c));
    }
}
