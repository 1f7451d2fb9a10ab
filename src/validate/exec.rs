//! Finding validator executables (they run through [`crate::sandbox`]).
//!
//! Discovery order for a tool `name`: the repo's `.venv/bin`, `venv/bin` and
//! `node_modules/.bin` (the project's pinned versions), then each directory on `PATH`. Never
//! `npx`: without a local package it would download and run an unrelated one.

use std::path::{Path, PathBuf};

/// The repo-local directories searched before `PATH`, in order.
pub fn local_dirs(repo: &Path) -> Vec<PathBuf> {
    vec![repo.join(".venv/bin"), repo.join("venv/bin"), repo.join("node_modules/.bin")]
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The absolute path of tool `name` for `repo` (see the module docs), or `None`.
pub fn find_tool(repo: &Path, name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    local_dirs(repo).into_iter().chain(path_dirs).map(|d| d.join(name)).find(|p| is_executable(p))
}

/// The Python interpreter a type checker should resolve imports with: the repo's
/// `.venv`/`venv` interpreter under `root` when there is one, else `python3` on `PATH`.
pub fn python_for(root: &Path) -> Option<PathBuf> {
    [root.join(".venv/bin/python"), root.join("venv/bin/python")]
        .into_iter()
        .find(|p| p.exists())
        .or_else(|| find_tool(root, "python3"))
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
        assert_eq!(find_tool(t.path(), "cat"), Some(exe));
    }
}
