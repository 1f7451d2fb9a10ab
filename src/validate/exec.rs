//! Finding validator executables and running them under a timeout.
//!
//! Discovery order for a tool `name`: the repo's `.venv/bin`, `venv/bin` and
//! `node_modules/.bin` (the project's pinned versions), then each directory on `PATH`. Never
//! `npx`: without a local package it would download and run an unrelated one.
//!
//! Invariant: a child process never outlives its future — it is spawned with `kill_on_drop`,
//! so a timeout or a cancelled run kills it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

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

/// A finished tool run.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Why a tool could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// It did not start.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It ran longer than the validator timeout and was killed.
    #[error("{program} did not finish within {secs} s and was stopped")]
    Timeout {
        /// The program.
        program: String,
        /// The limit, seconds.
        secs: u64,
    },
}

/// Runs `program args…` in `cwd` with `stdin` (when given) and `env`, killing it after
/// `timeout`.
///
/// # Errors
/// [`ExecError`]; a non-zero exit is not an error (validators exit 1 when they find something).
pub async fn run(
    program: &Path,
    args: &[String],
    cwd: &Path,
    stdin: Option<&[u8]>,
    env: &[(&str, String)],
    timeout: Duration,
) -> Result<ToolOutput, ExecError> {
    let shown = program.display().to_string();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn { program: shown.clone(), source })?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let bytes = bytes.to_vec();
        // Written concurrently with reading the output, so a large input cannot deadlock.
        tokio::spawn(async move {
            let _ = pipe.write_all(&bytes).await;
            let _ = pipe.shutdown().await;
        });
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(ToolOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Ok(Err(source)) => Err(ExecError::Spawn { program: shown, source }),
        Err(_) => Err(ExecError::Timeout { program: shown, secs: timeout.as_secs() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_with_stdin_and_times_out() {
        let t = tempfile::tempdir().unwrap();
        let cat = find_tool(t.path(), "cat").unwrap();
        let out = run(&cat, &[], t.path(), Some(b"hello"), &[], Duration::from_secs(10)).await.unwrap();
        assert_eq!((out.code, out.stdout.as_str()), (Some(0), "hello"));
        let sleep = find_tool(t.path(), "sleep").unwrap();
        let err = run(&sleep, &["5".into()], t.path(), None, &[], Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
        assert!(find_tool(t.path(), "surely-no-such-tool-here").is_none());
    }

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
