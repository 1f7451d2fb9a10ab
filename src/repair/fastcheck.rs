//! The fast verifiers a candidate is judged by before anything slow runs: the built-in syntax
//! check and ruff on stdin (findings, and its safe fixes).
//!
//! Invariant: this is the one place the deterministic fixes and candidate selection start
//! ruff; it runs through [`crate::validate::exec::run`] (timeout, killed on drop) exactly as
//! the validators do, in the directory given (the shadow tree or the repo), with the content on
//! stdin — nothing is written to disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::task::relpath::RelPath;
use crate::validate::{Finding, exec, ruff, syntax};

/// Default time limit of one ruff run.
pub const RUFF_TIMEOUT: Duration = Duration::from_secs(30);

/// Why ruff gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum FastCheckError {
    /// It did not start or did not finish in time.
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
    /// It printed something that is not its JSON report.
    #[error("ruff printed no JSON report (exit {code:?}): {stderr}")]
    Output {
        /// Its exit code.
        code: Option<i32>,
        /// The start of its stderr.
        stderr: String,
    },
}

/// Where ruff is and how it runs.
#[derive(Debug, Clone)]
pub struct FastCheck {
    ruff: Option<PathBuf>,
    cwd: PathBuf,
    timeout: Duration,
}

impl FastCheck {
    /// ruff at `ruff` (none: the syntax check only), run in `cwd` under `timeout`.
    pub fn new(ruff: Option<PathBuf>, cwd: &Path, timeout: Duration) -> Self {
        Self { ruff, cwd: cwd.to_path_buf(), timeout }
    }

    /// ruff as the validators find it for `repo` (`.venv/bin`, `venv/bin`, `PATH`), run in
    /// `repo` with [`RUFF_TIMEOUT`].
    pub fn discover(repo: &Path) -> Self {
        Self::new(exec::find_tool(repo, "ruff"), repo, RUFF_TIMEOUT)
    }

    /// Whether ruff is available.
    pub fn has_ruff(&self) -> bool {
        self.ruff.is_some()
    }

    /// The built-in syntax check of `content` as `file` (empty for files without a grammar).
    pub fn syntax(file: &RelPath, content: &str) -> Vec<Finding> {
        syntax::check(file, content).unwrap_or_default()
    }

    /// ruff's findings (`--select F,E9`) for `content` as `file`; empty without ruff.
    ///
    /// # Errors
    /// [`FastCheckError`] when ruff fails or prints no report.
    pub async fn ruff_findings(&self, file: &RelPath, content: &str) -> Result<Vec<Finding>, FastCheckError> {
        let Some(bin) = &self.ruff else { return Ok(Vec::new()) };
        let out =
            exec::run(bin, &ruff::stdin_args(file.as_str()), &self.cwd, Some(content.as_bytes()), &[], self.timeout)
                .await?;
        ruff::parse(&out.stdout)
            .map_err(|_| FastCheckError::Output { code: out.code, stderr: out.stderr.chars().take(400).collect() })
    }

    /// `content` with ruff's safe fixes applied ([`ruff::fix_args`]); `content` unchanged
    /// without ruff.
    ///
    /// # Errors
    /// [`FastCheckError`] when ruff fails (exit status other than 0 or 1).
    pub async fn ruff_fix(&self, file: &RelPath, content: &str) -> Result<String, FastCheckError> {
        let Some(bin) = &self.ruff else { return Ok(content.to_owned()) };
        let out =
            exec::run(bin, &ruff::fix_args(file.as_str()), &self.cwd, Some(content.as_bytes()), &[], self.timeout)
                .await?;
        match out.code {
            Some(0 | 1) if !out.stdout.is_empty() || content.is_empty() => Ok(out.stdout),
            code => Err(FastCheckError::Output { code, stderr: out.stderr.chars().take(400).collect() }),
        }
    }
}
