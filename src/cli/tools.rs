//! `ai-tools tools pull [--force]` and `ai-tools tools list`: the binary's side of
//! [`ai_tools::validate::tools`]. Progress goes to stderr; results to stdout.

use std::path::Path;

use anyhow::{Context, Result};

use ai_tools::validate::tools;

/// `ai-tools tools pull [--force]`: installs the pinned ruff and pyright into the cache dir.
///
/// # Errors
/// [`tools::ToolsError`] (python3/pip missing or failing, offline).
pub fn pull_cmd(force: bool) -> Result<i32> {
    let dir = tools::tools_dir(&|k| std::env::var(k).ok()).context("no cache dir: set AI_TOOLS_CACHE_DIR or HOME")?;
    let pins: Vec<String> = tools::PINNED.iter().map(|(n, v)| format!("{n}=={v}")).collect();
    eprintln!("installing {} into {} with pip…", pins.join(", "), dir.join("venv").display());
    for t in tools::pull(&dir, force)? {
        println!("{} {} ready: {}", t.name, t.version, t.path.display());
    }
    Ok(0)
}

/// `ai-tools tools list`: what each validator resolves to for `repo`, and from where.
///
/// # Errors
/// None today (kept fallible for the command table).
pub fn list_cmd(repo: &Path) -> Result<i32> {
    print!("{}", tools::render(&tools::resolve_all(repo, true)));
    Ok(0)
}
