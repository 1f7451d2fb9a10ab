//! The sandbox: the one way ai-tools runs an external process that reads or runs generated
//! code (validators, test runners).
//!
//! A process runs in a [`Scratch`] area — a private copy of the repo with `code/files`
//! overlaid, plus a scratch `HOME` and `TMPDIR` — under bubblewrap ([`bwrap`]): the system and
//! the tool's install roots read-only, the scratch area the only writable place, no network, its
//! own PID namespace, no capabilities, and an environment built from an allowlist ([`env`]).
//! Every process gets a wall-clock limit (on timeout its whole process group is killed) and a
//! memory limit (`RLIMIT_DATA` via util-linux `prlimit`, [`SandboxConfig::memory_mb`]).
//!
//! Where bubblewrap cannot start (not installed, no user namespaces, another OS, or
//! `[sandbox] enabled = false`), [`Sandbox::notice`] says so once with what to install, and:
//! - a job marked as a pure analyzer ([`Job::executes_code`] false: ruff, the syntax check,
//!   pyright, tsc with `--incremental false` — each only when neither it nor the interpreter it
//!   is given comes from the repo's `.venv`, `venv` or `node_modules`, see
//!   `validate::exec::runs_repo_code`) still runs, unsandboxed, in the scratch copy
//!   with the allowlisted environment;
//! - a job that can execute project code (cargo check, mypy with plugins, tests) is refused with
//!   [`SandboxError::Refused`] — a finding-free notice for the caller to show — unless the user's
//!   config sets `[sandbox] allow_unsandboxed = true`.
//!
//! Invariants: nothing a sandboxed process does can change a file outside its scratch area (and
//! the writable paths its job names); no denied variable (API keys, tokens, the broker's) ever
//! reaches it; a child never outlives its [`Sandbox::run`] future. A cloned repo cannot weaken
//! the sandbox: `[sandbox]` is read from the user's config only ([`strip_repo_layer`]).

pub mod bwrap;
pub mod env;
pub mod scratch;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

pub use scratch::{Scratch, ScratchError};

use crate::task::relpath::RelPath;

/// What to install when the sandbox is unavailable (quoted in the notice).
pub const INSTALL_HINT: &str = "install bubblewrap (Debian/Ubuntu: `apt install bubblewrap`, Fedora: `dnf install bubblewrap`, Arch: `pacman -S bubblewrap`) on Linux with unprivileged user namespaces enabled";

/// `[sandbox]` settings. Read from the user's config file only, never from a repo's
/// `.ai-tools.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Use bubblewrap. `false` behaves exactly as if it could not start (the fallback).
    pub enabled: bool,
    /// Where the sandbox is unavailable, still run tools that can execute project code (cargo
    /// check, mypy with plugins, tests) — unsandboxed, in the scratch copy with the scrubbed
    /// environment. Off by default.
    pub allow_unsandboxed: bool,
    /// Memory limit per process in MiB (`RLIMIT_DATA`: heap and private writable mappings);
    /// 0 turns it off.
    pub memory_mb: u64,
    /// The bubblewrap executable (default: `bwrap` on `PATH`).
    pub bwrap: Option<PathBuf>,
    /// Further environment variable names never passed to a child (on top of the built-in
    /// deny rules; the caller adds every provider's `api_key_env`).
    pub deny_env: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self { enabled: true, allow_unsandboxed: false, memory_mb: 4096, bwrap: None, deny_env: Vec::new() }
    }
}

/// Removes the `[sandbox]` table from a repo's config layer (a cloned repo must not be able to
/// turn the sandbox off); returns whether there was one, so the caller can warn.
pub fn strip_repo_layer(table: &mut toml::Table) -> bool {
    table.remove("sandbox").is_some()
}

/// Why a job produced no output.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// It did not start.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It ran past its limit; its whole process group was killed.
    #[error("{program} did not finish within {secs} s and was stopped")]
    Timeout {
        /// The program.
        program: String,
        /// The limit, seconds.
        secs: u64,
    },
    /// It can execute project code and the sandbox is unavailable: not run.
    #[error("{program} was not run: it can execute project code and the sandbox is unavailable ({reason})")]
    Refused {
        /// The program.
        program: String,
        /// Why the sandbox is unavailable.
        reason: String,
    },
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Wall time including the sandbox's start-up.
    pub elapsed: Duration,
    /// Whether it ran under bubblewrap.
    pub sandboxed: bool,
}

/// One process to run in a scratch area (builder; see [`Sandbox::run`]).
#[derive(Debug, Clone)]
pub struct Job<'a> {
    program: PathBuf,
    args: Vec<String>,
    scratch: &'a Scratch,
    cwd: Option<RelPath>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    readable: Vec<PathBuf>,
    writable: Vec<PathBuf>,
    timeout: Duration,
    executes_code: bool,
}

impl<'a> Job<'a> {
    /// `program` (an absolute path) run in `scratch`'s view root; by default: no args, no
    /// stdin, a 300 s limit, and treated as able to execute project code.
    pub fn new(program: impl Into<PathBuf>, scratch: &'a Scratch) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            scratch,
            cwd: None,
            stdin: None,
            env: Vec::new(),
            readable: Vec::new(),
            writable: Vec::new(),
            timeout: Duration::from_secs(300),
            executes_code: true,
        }
    }
    /// Its arguments.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }
    /// Working directory relative to the view root.
    pub fn cwd(mut self, rel: RelPath) -> Self {
        self.cwd = Some(rel);
        self
    }
    /// Bytes for its standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }
    /// A variable its tool documents that it needs (a denied name is dropped, see [`env`]).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
    /// A further path it may read (bound read-only).
    pub fn readable(mut self, p: impl Into<PathBuf>) -> Self {
        self.readable.push(p.into());
        self
    }
    /// A further path it may write (a cache outside the scratch area, e.g. a cargo target dir).
    pub fn writable(mut self, p: impl Into<PathBuf>) -> Self {
        self.writable.push(p.into());
        self
    }
    /// Its wall-clock limit.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// Whether it can execute project code (build scripts, plugins, tests). `false` only for
    /// pure analyzers, which then still run where the sandbox is unavailable.
    pub fn executes_code(mut self, yes: bool) -> Self {
        self.executes_code = yes;
        self
    }
}

#[derive(Debug, Clone)]
enum Launcher {
    Bwrap(PathBuf),
    Unavailable(String),
}

/// The run's sandbox: whether bubblewrap works here, and how to launch jobs (see the module
/// docs). Detect it once per run.
#[derive(Debug, Clone)]
pub struct Sandbox {
    cfg: SandboxConfig,
    launcher: Launcher,
    prlimit: Option<PathBuf>,
}

fn find_on(path: Option<&str>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path?).map(|d| d.join(name)).find(|p| p.is_file())
}

impl Sandbox {
    /// Detects the sandbox with the process's `PATH` (see [`Sandbox::detect_with`]).
    pub fn detect(cfg: &SandboxConfig) -> Self {
        Self::detect_with(cfg, std::env::var("PATH").ok().as_deref())
    }

    /// Finds `bwrap` (the configured path, else on `path`) and `prlimit` on `path`, and probes
    /// bwrap once with the real flags (about 5 ms).
    pub fn detect_with(cfg: &SandboxConfig, path: Option<&str>) -> Self {
        let prlimit = find_on(path, "prlimit");
        let launcher = if !cfg.enabled {
            Launcher::Unavailable("turned off by `[sandbox] enabled = false`".into())
        } else {
            match cfg.bwrap.clone().or_else(|| find_on(path, "bwrap")) {
                None => Launcher::Unavailable("`bwrap` was not found on PATH".into()),
                Some(b) => match bwrap::probe(&b) {
                    Ok(()) => Launcher::Bwrap(b),
                    Err(e) => Launcher::Unavailable(format!("bubblewrap cannot start here: {e}")),
                },
            }
        };
        Self { cfg: cfg.clone(), launcher, prlimit }
    }

    /// Whether jobs run under bubblewrap.
    pub fn is_isolated(&self) -> bool {
        matches!(self.launcher, Launcher::Bwrap(_))
    }

    /// Why the sandbox is unavailable (`None` when it works).
    pub fn unavailable_reason(&self) -> Option<&str> {
        match &self.launcher {
            Launcher::Unavailable(r) => Some(r),
            Launcher::Bwrap(_) => None,
        }
    }

    /// The once-per-run notice when the sandbox is unavailable: why, what to install, and what
    /// runs meanwhile.
    pub fn notice(&self) -> Option<String> {
        let reason = self.unavailable_reason()?;
        let code = if self.cfg.allow_unsandboxed {
            "tools that can execute project code (cargo check, mypy with plugins, tests) run unsandboxed because `[sandbox] allow_unsandboxed = true`"
        } else {
            "tools that can execute project code (cargo check, mypy with plugins, tests) are skipped; set `[sandbox] allow_unsandboxed = true` in your user config to run them unsandboxed"
        };
        Some(format!(
            "sandbox unavailable: {reason}. To isolate validators and tests, {INSTALL_HINT}. Meanwhile pure analyzers (ruff, pyright, tsc, the syntax check; from PATH or the ai-tools cache — the repo's own copies in .venv, venv or node_modules count as project code) run in a scratch copy with a scrubbed environment, and {code}."
        ))
    }

    /// Whether a job that can execute project code would run (sandboxed, or allowed
    /// unsandboxed).
    pub fn may_execute_code(&self) -> bool {
        self.is_isolated() || self.cfg.allow_unsandboxed
    }

    /// Runs `job` (see the module docs), killing its process group after its timeout.
    ///
    /// # Errors
    /// [`SandboxError`]: it did not start, timed out, or was refused (can execute code, no
    /// sandbox). A non-zero exit is not an error.
    pub async fn run(&self, job: Job<'_>) -> Result<Output, SandboxError> {
        let shown = job.program.display().to_string();
        let started = Instant::now();
        let host = |k: &str| std::env::var(k).ok();
        let envs = env::build(&host, &job.scratch.home(), &job.scratch.tmp(), &job.env, &self.cfg.deny_env);
        let cwd = job.cwd.as_ref().map_or_else(|| job.scratch.root().to_path_buf(), |c| c.join_to(job.scratch.root()));
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if let (Some(p), true) = (&self.prlimit, self.cfg.memory_mb > 0) {
            let bytes = self.cfg.memory_mb.saturating_mul(1024 * 1024);
            argv.extend([p.as_os_str().to_owned(), format!("--data={bytes}").into(), "--".into()]);
        }
        let sandboxed = match &self.launcher {
            Launcher::Bwrap(b) => {
                argv.push(b.as_os_str().to_owned());
                argv.extend(bwrap::args(&self.layout(&job, cwd.clone(), envs.clone())));
                true
            }
            Launcher::Unavailable(reason) => {
                if job.executes_code && !self.cfg.allow_unsandboxed {
                    return Err(SandboxError::Refused { program: shown, reason: reason.clone() });
                }
                false
            }
        };
        argv.push(job.program.as_os_str().to_owned());
        argv.extend(job.args.iter().map(Into::into));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(if sandboxed { job.scratch.root() } else { &cwd })
            .env_clear()
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(if job.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn { program: shown.clone(), source })?;
        let pgid = child.id();
        if let (Some(bytes), Some(mut pipe)) = (job.stdin, child.stdin.take()) {
            // Written concurrently with reading the output, so a large input cannot deadlock.
            tokio::spawn(async move {
                let _ = pipe.write_all(&bytes).await;
                let _ = pipe.shutdown().await;
            });
        }
        let result = tokio::time::timeout(job.timeout, child.wait_with_output()).await;
        let out = match result {
            Ok(Ok(o)) => o,
            Ok(Err(source)) => return Err(SandboxError::Spawn { program: shown, source }),
            Err(_) => {
                kill_group(pgid);
                return Err(SandboxError::Timeout { program: shown, secs: job.timeout.as_secs() });
            }
        };
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
            sandboxed,
        })
    }

    fn layout(&self, job: &Job<'_>, chdir: PathBuf, env: Vec<(String, String)>) -> bwrap::Layout {
        let path_dirs: Vec<PathBuf> =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut ro = bwrap::tool_roots(&job.program, &path_dirs, home.as_deref());
        ro.extend(job.scratch.linked_dirs().iter().cloned());
        ro.extend(job.readable.iter().cloned());
        let mut rw = vec![job.scratch.area().to_path_buf()];
        rw.extend(job.writable.iter().cloned());
        bwrap::Layout { ro, rw, chdir, env }
    }
}

/// Kills process group `pgid` (the job's, created with `process_group(0)`), best effort.
fn kill_group(pgid: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Some(id) = pgid.and_then(|i| i32::try_from(i).ok()) {
        let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
    }
}
