//! The fast verifiers a candidate is judged by before anything slow runs: the built-in syntax
//! check and ruff on stdin (findings, and its safe fixes).
//!
//! Invariant: this is the one place the deterministic fixes and candidate selection start
//! ruff; it runs as a pure analyzer (`executes_code(false)`) — unless it was found in the
//! repo's own `.venv`/`venv`/`node_modules` (then it is project code, run only when the
//! sandbox may execute code) — through the run's [`Sandbox`] in a [`Scratch`] (the shadow
//! tree), exactly as the validators run it, with the content on stdin — nothing is written
//! anywhere.

use std::path::PathBuf;
use std::time::Duration;

use crate::sandbox::{Job, Sandbox, SandboxError, Scratch};
use crate::task::relpath::RelPath;
use crate::validate::{Finding, Tool, Validators, ruff, syntax};

/// Default time limit of one ruff run.
pub const RUFF_TIMEOUT: Duration = Duration::from_secs(30);

/// Why ruff gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum FastCheckError {
    /// It did not start, did not finish in time, or was refused.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// It printed something that is not its report.
    #[error("ruff printed no usable output (exit {code:?}): {stderr}")]
    Output {
        /// Its exit code.
        code: Option<i32>,
        /// The start of its stderr.
        stderr: String,
    },
}

/// Where ruff is and how it runs.
#[derive(Debug, Clone)]
pub struct FastCheck<'a> {
    ruff: Option<PathBuf>,
    /// ruff comes from the repo's own dependency dirs: running it runs project code.
    ruff_is_repo_code: bool,
    sandbox: Sandbox,
    scratch: &'a Scratch,
    timeout: Duration,
}

impl<'a> FastCheck<'a> {
    /// ruff at `ruff` (none: the syntax check only), run by `sandbox` in `scratch` under
    /// `timeout`.
    pub fn new(ruff: Option<PathBuf>, sandbox: Sandbox, scratch: &'a Scratch, timeout: Duration) -> Self {
        Self { ruff, ruff_is_repo_code: false, sandbox, scratch, timeout }
    }

    /// The validators' ruff and sandbox, in `shadow`, with [`RUFF_TIMEOUT`].
    pub fn for_validators(validators: &Validators, shadow: &'a Scratch) -> Self {
        let ruff = validators.tools().iter().find(|(t, _)| *t == Tool::Ruff).map(|(_, p)| p.clone());
        let repo_code = ruff.as_deref().is_some_and(|p| validators.is_repo_local(p));
        Self::new(ruff, validators.sandbox().clone(), shadow, RUFF_TIMEOUT).repo_code(repo_code)
    }

    /// Marks ruff as the repo's own (found in its `.venv`/`venv`/`node_modules`): it then runs
    /// only where the sandbox may execute project code.
    #[must_use]
    pub fn repo_code(self, yes: bool) -> Self {
        Self { ruff_is_repo_code: yes, ..self }
    }

    /// Whether ruff is available.
    pub fn has_ruff(&self) -> bool {
        self.ruff.is_some()
    }

    /// The built-in syntax check of `content` as `file` (empty for files without a grammar).
    pub fn syntax(file: &RelPath, content: &str) -> Vec<Finding> {
        syntax::check(file, content).unwrap_or_default()
    }

    async fn ruff(&self, args: Vec<String>, content: &str) -> Result<Option<crate::sandbox::Output>, FastCheckError> {
        let Some(bin) = &self.ruff else { return Ok(None) };
        let job = Job::new(bin, self.scratch)
            .args(args)
            .stdin(content.as_bytes())
            .timeout(self.timeout)
            .executes_code(self.ruff_is_repo_code);
        Ok(Some(self.sandbox.run(job).await?))
    }

    /// ruff's findings (`--select F,E9`) for `content` as `file`; empty without ruff.
    ///
    /// # Errors
    /// [`FastCheckError`] when ruff fails or prints no report.
    pub async fn ruff_findings(&self, file: &RelPath, content: &str) -> Result<Vec<Finding>, FastCheckError> {
        let Some(out) = self.ruff(ruff::stdin_args(file.as_str()), content).await? else { return Ok(Vec::new()) };
        ruff::parse(&out.stdout)
            .map_err(|_| FastCheckError::Output { code: out.code, stderr: out.stderr.chars().take(400).collect() })
    }

    /// `content` with ruff's safe fixes applied ([`ruff::fix_args`]); `content` unchanged
    /// without ruff.
    ///
    /// # Errors
    /// [`FastCheckError`] when ruff fails (exit status other than 0 or 1).
    pub async fn ruff_fix(&self, file: &RelPath, content: &str) -> Result<String, FastCheckError> {
        let Some(out) = self.ruff(ruff::fix_args(file.as_str()), content).await? else {
            return Ok(content.to_owned());
        };
        match out.code {
            Some(0 | 1) if !out.stdout.is_empty() || content.is_empty() => Ok(out.stdout),
            code => Err(FastCheckError::Output { code, stderr: out.stderr.chars().take(400).collect() }),
        }
    }
}
