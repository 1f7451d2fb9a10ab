//! Finding validator executables (they run through [`crate::sandbox`]).
//!
//! Discovery order for a tool `name`: the repo's `.venv/bin`, `venv/bin` and
//! `node_modules/.bin` (the project's pinned versions), then each directory on `PATH`, then the
//! venv `ai-tools tools pull` fills in the cache dir ([`super::tools`]). Never `npx`: without a
//! local package it would download and run an unrelated one.
//!
//! Invariant: an executable or interpreter found in the repo's own dirs is the repo's code:
//! running it counts as executing project code ([`runs_repo_code`]), so it runs only in the
//! sandbox (or with `[sandbox] allow_unsandboxed = true`), never as a "pure analyzer".

use std::path::{Path, PathBuf};

/// The repo-local directories searched before `PATH`, in order.
pub fn local_dirs(repo: &Path) -> Vec<PathBuf> {
    vec![repo.join(".venv/bin"), repo.join("venv/bin"), repo.join("node_modules/.bin")]
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `bin` dir of the venv `ai-tools tools pull` fills: `<cache dir>/tools/venv/bin`
/// (`$AI_TOOLS_CACHE_DIR` or the platform cache dir, from the process environment).
pub fn cache_bin_dir() -> Option<PathBuf> {
    crate::models::cache_dir_with(&|k| std::env::var(k).ok()).ok().map(|d| d.join("tools/venv/bin"))
}

/// The absolute path of tool `name` for `repo` (see the module docs), or `None`.
pub fn find_tool(repo: &Path, name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    local_dirs(repo)
        .into_iter()
        .chain(path_dirs)
        .chain(cache_bin_dir())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// The Python interpreter a type checker should resolve imports with: the repo's
/// `.venv`/`venv` interpreter under `root` when there is one, else `python3` on `PATH`.
pub fn python_for(root: &Path) -> Option<PathBuf> {
    [root.join(".venv/bin/python"), root.join("venv/bin/python")]
        .into_iter()
        .find(|p| p.exists())
        .or_else(|| find_tool(root, "python3"))
}

/// Whether running `bin` executes code the repo ships: `bin` lies in one of `repo_local` (the
/// repo's [`local_dirs`]), or — for a tool given an interpreter (`uses_python`: pyright's
/// `--pythonpath`, mypy's `--python-executable`, which run it to find its site-packages) —
/// `python` lies in one of the view `root`'s local dirs.
pub fn runs_repo_code(
    repo_local: &[PathBuf],
    bin: &Path,
    root: &Path,
    python: Option<&Path>,
    uses_python: bool,
) -> bool {
    let in_any = |p: &Path, dirs: &[PathBuf]| dirs.iter().any(|d| p.starts_with(d));
    in_any(bin, repo_local) || uses_python && python.is_some_and(|p| in_any(p, &local_dirs(root)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_local_dirs_come_first() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("node_modules/.bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("cat");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_tool(t.path(), "cat"), Some(exe.clone()));
        let local = local_dirs(t.path());
        assert!(runs_repo_code(&local, &exe, t.path(), None, false), "a repo tool is repo code");
        let sh = Path::new("/bin/sh");
        assert!(!runs_repo_code(&local, sh, t.path(), Some(Path::new("/usr/bin/python3")), true));
        let venv_py = t.path().join(".venv/bin/python");
        assert!(runs_repo_code(&local, sh, t.path(), Some(&venv_py), true), "the repo's interpreter runs");
        assert!(!runs_repo_code(&local, sh, t.path(), Some(&venv_py), false), "not given to this tool");
    }
}
