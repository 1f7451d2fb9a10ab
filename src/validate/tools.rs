//! Validators a user does not have to install: `ai-tools tools pull` puts pinned ruff and
//! pyright from PyPI into a venv in the ai-tools cache dir (`<cache>/tools/venv`, like `model
//! pull` does for the model) and records what it installed (`<cache>/tools/tools.json`);
//! discovery ([`super::exec::find_tool`]) looks there after the repo's `.venv`/`venv`/
//! `node_modules` and `PATH`; `ai-tools tools list` shows what each validator resolves to and
//! from where ([`resolve_all`]).
//!
//! Invariants: pip runs with the machine's `python3` (`-I -m venv`, then the venv's own pip with
//! `-I`), with exact pins ([`PINNED`]), in the cache dir with the host-tool environment
//! ([`crate::sandbox::env::host_command`]: no key, no repo on `sys.path`); the record is written
//! atomically after pip succeeded. Nothing here executes anything from the repo: a validator
//! found in the repo's `.venv`/`venv`/`node_modules` is listed with its path and `(repo, not
//! run)`; the `--version` probes of the others run in `/` with the host-tool environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::sandbox::env::host_command;
use crate::task::fsio;

/// The validators `tools pull` installs, pinned (the same pins CI tests with), and pytest, the
/// test step's Python runner for repos without a venv of their own.
pub const PINNED: &[(&str, &str)] = &[("ruff", "0.17.6"), ("pyright", "1.1.414"), ("pytest", "8.4.2")];

/// Every validator executable discovery looks for, for `tools list`.
pub const ALL: &[&str] = &["ruff", "pyright", "mypy", "tsc", "cargo"];

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    /// No cache dir (neither `$AI_TOOLS_CACHE_DIR` nor a home directory).
    #[error("no cache dir: set AI_TOOLS_CACHE_DIR or HOME")]
    NoCacheDir,
    /// python3 or pip is missing or failed.
    #[error(
        "{0}\n  hint: `tools pull` needs python3 with venv and pip (e.g. `apt-get install python3-venv python3-pip`) and network access to PyPI"
    )]
    Pip(String),
    /// The record could not be written.
    #[error(transparent)]
    Write(#[from] fsio::WriteError),
}

/// One installed validator, as `tools.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Executable name.
    pub name: String,
    /// The pinned version installed.
    pub version: String,
    /// Its path in the venv.
    pub path: PathBuf,
    /// When (RFC 3339).
    pub pulled_at: String,
}

/// `<cache dir>/tools`, reading `$AI_TOOLS_CACHE_DIR` through `env`.
pub fn tools_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    crate::models::cache_dir_with(env).ok().map(|d| d.join("tools"))
}

/// The venv's `bin` dir discovery searches last (from the process environment).
pub fn bin_dir() -> Option<PathBuf> {
    super::exec::cache_bin_dir()
}

/// The record of the last pull in `dir` (empty when none).
pub fn installed(dir: &Path) -> Vec<Installed> {
    std::fs::read(dir.join("tools.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn run(cmd: &mut Command, what: &str) -> Result<(), ToolsError> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| ToolsError::Pip(format!("cannot run {what}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(ToolsError::Pip(format!(
        "{what} failed ({}): {}",
        out.status,
        lines[lines.len().saturating_sub(3)..].join(" | ")
    )))
}

/// Installs [`PINNED`] into `dir/venv` (creating it) and records them in `dir/tools.json`;
/// with `force` pip reinstalls even when the pins are already there.
///
/// # Errors
/// [`ToolsError::Pip`] when python3, venv or pip fail (offline, no venv module);
/// [`ToolsError::Write`] when the record cannot be written.
pub fn pull(dir: &Path, force: bool) -> Result<Vec<Installed>, ToolsError> {
    let dir = &std::path::absolute(dir).map_err(|e| ToolsError::Pip(format!("{}: {e}", dir.display())))?;
    let venv = dir.join("venv");
    if !venv.join("bin/python").exists() {
        std::fs::create_dir_all(dir).map_err(|e| ToolsError::Pip(format!("cannot create {}: {e}", dir.display())))?;
        run(host_command("python3", dir).args(["-I", "-m", "venv"]).arg(&venv), "python3 -m venv")?;
    }
    let mut pip = host_command(venv.join("bin/python"), dir);
    pip.args(["-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]);
    if force {
        pip.arg("--force-reinstall");
    }
    pip.args(PINNED.iter().map(|(n, v)| format!("{n}=={v}")));
    run(&mut pip, "pip install")?;
    let now = chrono::Utc::now().to_rfc3339();
    let rec: Vec<Installed> = PINNED
        .iter()
        .map(|(n, v)| Installed {
            name: (*n).to_owned(),
            version: (*v).to_owned(),
            path: venv.join("bin").join(n),
            pulled_at: now.clone(),
        })
        .collect();
    let json = serde_json::to_vec_pretty(&rec).unwrap_or_default();
    fsio::write_atomic(&dir.join("tools.json"), &json)?;
    Ok(rec)
}

/// Pulls [`PINNED`] into `dir` unless its record says they are all there already; `Ok(None)`
/// when nothing had to be done (what `ai-tools demo` runs before its run).
///
/// # Errors
/// As [`pull`].
pub fn ensure(dir: &Path) -> Result<Option<Vec<Installed>>, ToolsError> {
    let have = installed(dir);
    let cached = PINNED.iter().all(|(n, v)| have.iter().any(|i| i.name == *n && i.version == *v && i.path.exists()));
    if cached { Ok(None) } else { pull(dir, false).map(Some) }
}

/// Where a validator was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The repo's `.venv`, `venv` or `node_modules`.
    Repo,
    /// A directory on `PATH`.
    Path,
    /// The ai-tools cache (`tools pull`).
    Cache,
    /// Not found.
    Missing,
}

/// What one validator resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// Executable name.
    pub name: String,
    /// Its path, when found.
    pub path: Option<PathBuf>,
    /// Where from.
    pub source: Source,
    /// First line of `--version`, when it ran (never for [`Source::Repo`]: the repo's own
    /// executables are not run outside the sandbox).
    pub version: Option<String>,
}

fn version_of(bin: &Path) -> Option<String> {
    let out = host_command(bin, Path::new("/")).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())
}

/// What each of [`ALL`] resolves to for `repo`, in discovery order (see the module docs);
/// `versions` runs the `--version` of each one found on `PATH` or in the cache (never of one
/// found in the repo).
pub fn resolve_all(repo: &Path, versions: bool) -> Vec<Resolution> {
    ALL.iter()
        .map(|name| {
            let path = super::exec::find_tool(repo, name);
            let in_dirs = |dirs: &[PathBuf]| path.as_ref().is_some_and(|p| dirs.iter().any(|d| p.starts_with(d)));
            let source = match &path {
                None => Source::Missing,
                Some(_) if in_dirs(&super::exec::local_dirs(repo)) => Source::Repo,
                Some(_) if in_dirs(&bin_dir().into_iter().collect::<Vec<_>>()) => Source::Cache,
                Some(_) => Source::Path,
            };
            let probe = versions && source != Source::Repo;
            let version = if probe { path.as_deref().and_then(version_of) } else { None };
            Resolution { name: (*name).to_owned(), path, source, version }
        })
        .collect()
}

/// `tools list` as text: one line per validator (name, source, version, path).
pub fn render(list: &[Resolution]) -> String {
    let mut s = String::new();
    for r in list {
        let src = match r.source {
            Source::Repo => "repo",
            Source::Path => "PATH",
            Source::Cache => "ai-tools cache",
            Source::Missing => "not found",
        };
        let path = r.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| match r.name.as_str() {
            "ruff" | "pyright" => "run `ai-tools tools pull`".to_owned(),
            "mypy" => "pip install mypy into the repo's .venv".to_owned(),
            "tsc" => "npm install typescript in the repo".to_owned(),
            _ => "install Rust (rustup.rs)".to_owned(),
        });
        let version = match (r.source, r.version.as_deref()) {
            (Source::Repo, _) => "(repo, not run)",
            (_, v) => v.unwrap_or("-"),
        };
        s.push_str(&format!("{:<8} {:<15} {:<24} {}\n", r.name, src, version, path));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_tools_are_reported_as_repo_and_missing_ones_say_what_to_do() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let ran = t.path().join("ran");
        std::fs::write(bin.join("ruff"), format!("#!/bin/sh\ntouch {}\necho 'ruff 9.9.9'\n", ran.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("ruff"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let list = resolve_all(t.path(), true);
        let ruff = list.iter().find(|r| r.name == "ruff").unwrap();
        assert_eq!((ruff.source, ruff.version.as_deref()), (Source::Repo, None));
        assert!(!ran.exists(), "the repo's own ruff was executed by `tools list`");
        let text = render(&list);
        assert!(text.lines().next().unwrap().starts_with("ruff     repo            (repo, not run)"), "{text}");
        assert!(text.lines().next().unwrap().ends_with(".venv/bin/ruff"), "{text}");
        let missing = Resolution { name: "pyright".into(), path: None, source: Source::Missing, version: None };
        assert!(render(&[missing]).contains("not found       -                        run `ai-tools tools pull`"));
    }
}
