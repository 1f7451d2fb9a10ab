//! The validate stage's machinery: the real tools of each language run over the generated
//! files in a [shadow tree](shadow), concurrently, and what they report becomes
//! [`ValidationReport`]s with a [category](crate::report::classify).
//!
//! Validators: [`ruff`] (with its security rules), [`pyright`], [`mypy`] (optional) for
//! Python; [`tsc`] and [`eslint`] (security rules) for TypeScript/JavaScript; [`cargo`] for Rust; [`go`] (`gofmt -e`, `go vet`, `go build`) for Go; and
//! the built-in tree-sitter [`syntax`] check for all of them, which always runs.
//!
//! Invariants:
//! - validators run in the shadow tree, never in the working tree;
//! - findings are reported only for generated files (`create`/`modify` targets);
//! - a validator that is not installed is reported once ([`Validators::skipped`]) and never
//!   run; one that crashes, prints something unparseable or exceeds the timeout is recorded in
//!   its [`ValidatorRun::error`] — neither is fatal to the run;
//! - a repair candidate is checked in memory where the tool allows it (ruff on stdin, the
//!   syntax check) and otherwise by overlaying it in the shadow tree;
//! - a tool is a pure analyzer (runs without the sandbox) only when neither it nor the Python
//!   interpreter it is given comes from the repo ([`exec::runs_repo_code`]) and it loads no
//!   project code (mypy with plugins, cargo); otherwise it needs the sandbox or
//!   `[sandbox] allow_unsandboxed = true`.

pub mod baseline;
pub mod cargo;
pub mod eslint;
pub mod exec;
pub mod go;
pub mod mypy;
pub mod pyright;
pub mod ruff;
pub mod security;
pub mod shadow;
pub mod syntax;
pub mod tools;
pub mod tsc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::ValidateConfig;
use crate::report::ValidationReport;
use crate::report::classify::classify_finding;
use crate::sandbox::{Job, Sandbox, SandboxConfig, SandboxError};
use crate::task::relpath::RelPath;
use crate::validate::shadow::{ShadowError, ShadowTree};

/// One finding as a tool printed it, before it is tied to a step and classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The path as printed (absolute under the shadow root, or relative to it).
    pub file: String,
    /// 1-based line (0: none).
    pub line: u32,
    /// 1-based column (0: none).
    pub column: u32,
    /// The tool's code.
    pub code: String,
    /// The tool's message.
    pub message: String,
}

/// A validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// The built-in tree-sitter syntax check.
    Syntax,
    /// ruff (Python lint: pyflakes and syntax).
    Ruff,
    /// pyright (Python types).
    Pyright,
    /// mypy (Python types, optional).
    Mypy,
    /// tsc (TypeScript).
    Tsc,
    /// cargo check (Rust).
    Cargo,
    /// `gofmt -e` (Go parse errors).
    Gofmt,
    /// `go vet` (Go analyzers; warnings).
    GoVet,
    /// `go build` (Go compile errors).
    GoBuild,
    /// eslint with eslint-plugin-security (TypeScript/JavaScript security rules).
    Eslint,
}

impl Tool {
    /// Its name in reports and in `[validate] skip`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Syntax => "syntax",
            Tool::Ruff => "ruff",
            Tool::Pyright => "pyright",
            Tool::Mypy => "mypy",
            Tool::Tsc => "tsc",
            Tool::Cargo => "cargo",
            Tool::Gofmt => "gofmt",
            Tool::GoVet => "go_vet",
            Tool::GoBuild => "go_build",
            Tool::Eslint => "eslint",
        }
    }
}

/// The language family of a file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `.py`, `.pyi`.
    Python,
    /// `.ts`, `.tsx`, `.mts`, `.cts`, `.js`, `.jsx`, `.mjs`, `.cjs`.
    TypeScript,
    /// `.rs`.
    Rust,
    /// `.go`.
    Go,
    /// Anything else.
    Other,
}

/// The family of `path`.
pub fn family(path: &RelPath) -> Family {
    match path.extension().map(str::to_ascii_lowercase).as_deref() {
        Some("py" | "pyi") => Family::Python,
        Some("ts" | "tsx" | "mts" | "cts" | "js" | "jsx" | "mjs" | "cjs") => Family::TypeScript,
        Some("rs") => Family::Rust,
        Some("go") => Family::Go,
        _ => Family::Other,
    }
}

/// The external tools that serve `fam`.
fn tools_for(fam: Family, mypy: bool) -> Vec<Tool> {
    match fam {
        Family::Python if mypy => vec![Tool::Ruff, Tool::Pyright, Tool::Mypy],
        Family::Python => vec![Tool::Ruff, Tool::Pyright],
        Family::TypeScript => vec![Tool::Tsc, Tool::Eslint],
        Family::Rust => vec![Tool::Cargo],
        Family::Go => vec![Tool::Gofmt, Tool::GoVet, Tool::GoBuild],
        Family::Other => vec![],
    }
}

/// A validator that will not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The validator.
    pub tool: String,
    /// Why (not installed, no tsconfig.json, skipped by configuration).
    pub reason: String,
}

/// One validator's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatorRun {
    /// The validator.
    pub tool: String,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// Findings it reported for generated files.
    pub findings: usize,
    /// Why it produced no usable result (crash, timeout, unparseable output).
    pub error: Option<String>,
}

/// The result of validating the generated files.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Findings for generated files, sorted by file, line, column, tool.
    pub reports: Vec<ValidationReport>,
    /// Each validator's run.
    pub runs: Vec<ValidatorRun>,
    /// Wall time of the whole validation.
    pub elapsed: Duration,
}

impl Validation {
    /// The findings the generation introduced: what repair works on and the run log counts as
    /// `validation_errors_before_repair` / `errors_surviving_repair` — not preexisting, not
    /// [environment](crate::report::classify::Category::Environment).
    pub fn introduced(&self) -> Vec<ValidationReport> {
        self.reports.iter().filter(|r| repairable(r)).cloned().collect()
    }

    /// How many findings were already in the base (the run log's `preexisting_errors`).
    pub fn preexisting(&self) -> usize {
        self.reports.iter().filter(|r| r.preexisting).count()
    }
}

/// Writes the validate stage's counts into `log`: `before` is the first validation, `after` the
/// one after repair (when repair ran). Introduced findings only ([`Validation::introduced`]);
/// preexisting ones go to `preexisting_errors`.
pub fn record_counts(log: &mut crate::runlog::RunLog, before: &Validation, after: Option<&Validation>) {
    log.validation_errors_before_repair = before.introduced().len();
    log.errors_surviving_repair = after.unwrap_or(before).introduced().len();
    log.preexisting_errors = before.preexisting();
}

/// Whether the repair loop may work on `r`: introduced by the generation (not preexisting), not
/// an environment finding, and an error (a `high` security finding is one; warnings and infos —
/// `go vet`, medium and low security rules, formatter notes — count in the quality score only).
pub fn repairable(r: &ValidationReport) -> bool {
    !r.preexisting
        && r.category != crate::report::classify::Category::Environment
        && r.severity == crate::report::Severity::Error
}

/// Why validation could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The shadow tree could not be built or updated.
    #[error(transparent)]
    Shadow(#[from] ShadowError),
}

/// The validators for one run: which apply to its generated files, where each is installed,
/// and which are skipped (see the module invariants).
#[derive(Debug, Clone)]
pub struct Validators {
    tools: Vec<(Tool, PathBuf)>,
    /// The repo's `.venv/bin`, `venv/bin`, `node_modules/.bin` ([`exec::local_dirs`]).
    repo_local: Vec<PathBuf>,
    skipped: Vec<Skipped>,
    targets: Vec<RelPath>,
    timeout: Duration,
    cargo_target: PathBuf,
    go_cache: PathBuf,
    sandbox: Sandbox,
    baseline: Option<std::sync::Arc<baseline::Baseline>>,
}

/// Whether `tool` can run for `targets` in `repo` at all (`Err`: why not).
fn precondition(tool: Tool, repo: &Path, targets: &[RelPath], sandbox: &Sandbox) -> Result<(), String> {
    match tool {
        Tool::Tsc if !repo.join("tsconfig.json").is_file() => Err("no tsconfig.json at the repo root".into()),
        Tool::Cargo if !repo.join("Cargo.toml").is_file() => Err("no Cargo.toml at the repo root".into()),
        Tool::GoVet | Tool::GoBuild if !repo.join("go.mod").is_file() => Err("no go.mod at the repo root".into()),
        Tool::Eslint if !eslint::installed(repo) => {
            Err("eslint-plugin-security or @typescript-eslint/parser is not in node_modules".into())
        }
        Tool::Cargo if !sandbox.may_execute_code() => Err(format!(
            "cargo check runs build scripts and proc-macros, and the sandbox is unavailable ({}); set `[sandbox] allow_unsandboxed = true` in your user config to run it unsandboxed",
            sandbox.unavailable_reason().unwrap_or("")
        )),
        Tool::Cargo if !sandbox.is_isolated() && targets.iter().any(|t| {
            let name = t.as_str().rsplit('/').next().unwrap_or("");
            name == "build.rs" || name == "Cargo.toml"
        }) => Err("the generated files include build.rs or Cargo.toml, and cargo check would run generated build code unsandboxed".into()),
        _ => Ok(()),
    }
}

impl Validators {
    /// Decides the validators for `targets` (the generated `create`/`modify` files) in `repo`,
    /// with the default sandbox settings (see [`Validators::discover_with`]).
    pub fn discover(repo: &Path, cfg: &ValidateConfig, targets: &[RelPath]) -> Self {
        Self::discover_with(repo, cfg, targets, Sandbox::detect(&SandboxConfig::default()))
    }

    /// Decides the validators for `targets` in `repo`, run through `sandbox`. When the sandbox
    /// is unavailable its notice is the first [`Validators::skipped`] entry (tool `sandbox`), and
    /// `cargo` — which runs build scripts and proc-macros — is skipped unless unsandboxed runs are
    /// allowed.
    pub fn discover_with(repo: &Path, cfg: &ValidateConfig, targets: &[RelPath], sandbox: Sandbox) -> Self {
        let mut wanted: Vec<Tool> = Vec::new();
        for t in targets {
            for tool in tools_for(family(t), cfg.mypy) {
                if !wanted.contains(&tool) {
                    wanted.push(tool);
                }
            }
        }
        wanted.sort();
        let mut tools = Vec::new();
        let mut skipped = Vec::new();
        let skip = |tool: &str, reason: String| Skipped { tool: tool.to_owned(), reason };
        if let Some(n) = sandbox.notice() {
            skipped.push(skip("sandbox", n));
        }
        for tool in wanted {
            if cfg.skip.iter().any(|s| s == tool.name()) {
                skipped.push(skip(tool.name(), "skipped by [validate] skip".into()));
                continue;
            }
            if let Err(why) = precondition(tool, repo, targets, &sandbox) {
                skipped.push(skip(tool.name(), why));
                continue;
            }
            let bin = match tool {
                Tool::Cargo => "cargo",
                Tool::GoVet | Tool::GoBuild => "go",
                other => other.name(),
            };
            match exec::find_tool(repo, bin) {
                Some(p) => tools.push((tool, p)),
                None => skipped.push(skip(
                    tool.name(),
                    format!(
                        "`{bin}` not found in .venv/bin, venv/bin, node_modules/.bin, on PATH or in the ai-tools cache{}",
                        if matches!(tool, Tool::Ruff | Tool::Pyright) { " (run `ai-tools tools pull`)" } else { "" }
                    ),
                )),
            }
        }
        if cfg.skip.iter().any(|s| s == "syntax") {
            skipped.push(skip("syntax", "skipped by [validate] skip".into()));
        }
        Self {
            tools,
            repo_local: exec::local_dirs(repo),
            skipped,
            targets: targets.to_vec(),
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            cargo_target: cargo::target_cache(repo),
            go_cache: go::build_cache(repo),
            sandbox,
            baseline: None,
        }
    }

    /// These validators with `b` as the base's findings: from now on [`Validators::validate`]
    /// and [`Validators::check_candidate`] mark a finding the base already had as
    /// [`preexisting`](ValidationReport::preexisting).
    pub fn with_baseline(mut self, b: baseline::Baseline) -> Self {
        self.baseline = Some(std::sync::Arc::new(b));
        self
    }

    /// The same validators restricted to `targets`, running only `tools` (and the syntax
    /// check when `syntax`), without a baseline: what [`baseline::measure`] runs on the base.
    pub fn subset(&self, targets: &[RelPath], tools: &[Tool], syntax: bool) -> Self {
        let mut s = self.clone();
        s.targets = targets.to_vec();
        s.tools.retain(|(t, _)| tools.contains(t));
        s.baseline = None;
        s.skipped.retain(|k| k.tool != "syntax");
        if !syntax {
            s.skipped.push(Skipped { tool: "syntax".into(), reason: "not needed".into() });
        }
        s
    }

    /// The sandbox validators run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Validators that will not run, each reported once.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// External validators that will run, with their executables.
    pub fn tools(&self) -> &[(Tool, PathBuf)] {
        &self.tools
    }

    /// Whether `bin` was found in the repo's own dependency dirs (so running it runs the
    /// project's code: only in the sandbox).
    pub fn is_repo_local(&self, bin: &Path) -> bool {
        self.repo_local.iter().any(|d| bin.starts_with(d))
    }

    fn syntax_enabled(&self) -> bool {
        !self.skipped.iter().any(|s| s.tool == "syntax")
    }

    /// Runs every validator over the generated files in `shadow`, concurrently; findings get
    /// `step` as their step.
    ///
    /// # Errors
    /// [`ValidateError`] only when the shadow tree fails; validator failures are recorded in
    /// [`Validation::runs`].
    pub async fn validate(&self, shadow: &ShadowTree, step: &str) -> Result<Validation, ValidateError> {
        let started = Instant::now();
        let mut jobs = Vec::new();
        for (tool, bin) in &self.tools {
            let files: Vec<RelPath> =
                self.targets.iter().filter(|t| tools_for(family(t), true).contains(tool)).cloned().collect();
            jobs.push(self.run_external(*tool, bin, shadow, files, None));
        }
        let mut out = Validation::default();
        let syntax = self.syntax_all(shadow);
        let (results, syn) = futures::join!(futures::future::join_all(jobs), syntax);
        for (run, findings) in results.into_iter().chain(syn) {
            out.reports.extend(self.reports(shadow, &run.tool, findings, step, None));
            out.runs.push(run);
        }
        for r in &mut out.runs {
            r.findings = out.reports.iter().filter(|x| x.tool == r.tool).count();
        }
        if let Some(b) = &self.baseline {
            let text = |f: &str| {
                let rel = RelPath::new(f).ok()?;
                shadow.read(&rel).ok().flatten().map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            b.mark(&mut out.reports, &text);
        }
        sort(&mut out.reports);
        out.elapsed = started.elapsed();
        Ok(out)
    }

    /// Checks `content` as the new content of `file`: in memory for the syntax check and ruff
    /// (stdin), in the shadow tree for the rest (the candidate is overlaid there and stays
    /// until the caller overlays something else).
    ///
    /// # Errors
    /// [`ValidateError`] when the candidate cannot be overlaid.
    pub async fn check_candidate(
        &self,
        shadow: &ShadowTree,
        file: &RelPath,
        content: &str,
        step: &str,
    ) -> Result<Validation, ValidateError> {
        let started = Instant::now();
        let relevant: Vec<&(Tool, PathBuf)> =
            self.tools.iter().filter(|(t, _)| tools_for(family(file), true).contains(t)).collect();
        if relevant.iter().any(|(t, _)| *t != Tool::Ruff) {
            shadow.overlay(file, content.as_bytes())?;
        }
        let mut jobs = Vec::new();
        for (tool, bin) in relevant {
            let stdin = (*tool == Tool::Ruff).then_some((file, content));
            jobs.push(self.run_external(*tool, bin, shadow, vec![file.clone()], stdin));
        }
        let mut results = futures::future::join_all(jobs).await;
        if self.syntax_enabled() {
            let t = Instant::now();
            if let Some(f) = syntax::check(file, content) {
                results.push((run_record(Tool::Syntax, t, None), f));
            }
        }
        let mut out = Validation::default();
        for (run, findings) in results {
            out.reports.extend(self.reports(shadow, &run.tool, findings, step, Some(file)));
            out.runs.push(run);
        }
        if let Some(b) = &self.baseline {
            b.mark(&mut out.reports, &|f: &str| (f == file.as_str()).then(|| content.to_owned()));
        }
        sort(&mut out.reports);
        out.elapsed = started.elapsed();
        Ok(out)
    }

    async fn syntax_all(&self, shadow: &ShadowTree) -> Option<(ValidatorRun, Vec<Finding>)> {
        if !self.syntax_enabled() {
            return None;
        }
        let t = Instant::now();
        let mut files = Vec::new();
        for p in self.targets.iter().filter(|p| syntax::language_for(p).is_some()) {
            if let Ok(Some(b)) = shadow.read(p) {
                files.push((p.clone(), String::from_utf8_lossy(&b).into_owned()));
            }
        }
        let found = tokio::task::spawn_blocking(move || {
            files.iter().flat_map(|(p, c)| syntax::check(p, c).unwrap_or_default()).collect::<Vec<_>>()
        })
        .await;
        Some(match found {
            Ok(f) => (run_record(Tool::Syntax, t, None), f),
            Err(e) => (run_record(Tool::Syntax, t, Some(e.to_string())), vec![]),
        })
    }

    async fn run_external(
        &self,
        tool: Tool,
        bin: &Path,
        shadow: &ShadowTree,
        files: Vec<RelPath>,
        stdin: Option<(&RelPath, &str)>,
    ) -> (ValidatorRun, Vec<Finding>) {
        let t = Instant::now();
        let root = shadow.root();
        let names: Vec<String> = files.iter().map(ToString::to_string).collect();
        let python_bin = exec::python_for(root);
        let repo_code = exec::runs_repo_code(
            &self.repo_local,
            bin,
            root,
            python_bin.as_deref(),
            matches!(tool, Tool::Pyright | Tool::Mypy),
        );
        let python = python_bin.map(|p| p.display().to_string());
        let mut job = Job::new(bin, shadow).timeout(self.timeout).executes_code(false);
        let args = match (tool, stdin) {
            (Tool::Ruff, Some((rel, _))) => ruff::stdin_args(rel.as_str()),
            (Tool::Ruff, None) => ruff::args(&names),
            (Tool::Pyright, _) => pyright::args(&root.display().to_string(), python.as_deref(), &names),
            (Tool::Mypy, _) => {
                job = job.executes_code(mypy::has_plugins(root));
                mypy::args(python.as_deref(), &names)
            }
            (Tool::Tsc, _) => tsc::args(!self.sandbox.is_isolated()),
            (Tool::Cargo, _) => {
                let _ = std::fs::create_dir_all(&self.cargo_target);
                job = cargo::job(job.executes_code(true), &self.cargo_target);
                cargo::args()
            }
            (Tool::Gofmt, _) => {
                job = go::job(job, &self.go_cache);
                go::gofmt_args(&names)
            }
            (Tool::GoVet, _) => {
                job = go::job(job, &self.go_cache);
                go::vet_args(&files)
            }
            (Tool::Eslint, _) => {
                let config = RelPath::new(eslint::CONFIG_PATH).map_err(|e| e.to_string());
                if let Err(e) =
                    config.and_then(|c| shadow.overlay(&c, eslint::CONFIG.as_bytes()).map_err(|e| e.to_string()))
                {
                    return (run_record(tool, t, Some(format!("cannot write the eslint config: {e}"))), vec![]);
                }
                eslint::args(&names)
            }
            (Tool::GoBuild, _) => {
                job = go::job(job, &self.go_cache);
                go::build_args(&files)
            }
            (Tool::Syntax, _) => return (run_record(tool, t, Some("not an external tool".into())), vec![]),
        };
        let mut job = job.args(args);
        if repo_code {
            job = job.executes_code(true);
        }
        if let Some((_, content)) = stdin {
            job = job.stdin(content.as_bytes());
        }
        let out = match self.sandbox.run(job).await {
            Ok(o) => o,
            Err(e @ SandboxError::Refused { .. }) => {
                return (run_record(tool, t, Some(format!("skipped: {e}"))), vec![]);
            }
            Err(e) => return (run_record(tool, t, Some(e.to_string())), vec![]),
        };
        let failed = |what: &str| {
            let detail: String = out.stderr.trim().chars().take(400).collect();
            format!("{} {what} (exit {:?}): {detail}", tool.name(), out.code)
        };
        let parsed: Result<Vec<Finding>, String> = match tool {
            Tool::Ruff => ruff::parse(&out.stdout).map_err(|_| failed("printed no JSON report")),
            Tool::Pyright => pyright::parse(&out.stdout).map_err(|_| failed("printed no JSON report")),
            Tool::Mypy => Ok(mypy::parse(&out.stdout)),
            Tool::Cargo => Ok(cargo::parse(&out.stdout)),
            // gofmt exits 2 on parse errors; anything on stderr that is not a position line
            // (a missing file, a crash) is a failure.
            Tool::Gofmt => {
                let f = go::parse_text(&out.stderr, Some("syntax"));
                if f.is_empty() && out.code != Some(0) { Err(failed("failed")) } else { Ok(f) }
            }
            Tool::GoBuild => {
                let f = go::parse_text(&out.stderr, None);
                if f.is_empty() && out.code != Some(0) { Err(failed("failed")) } else { Ok(f) }
            }
            Tool::GoVet => Ok(go::parse_vet(&out.stderr)),
            Tool::Eslint => eslint::parse(&out.stdout).map_err(|_| failed("printed no JSON report")),
            Tool::Tsc => {
                let (f, global) = tsc::parse(&out.stdout);
                match out.code {
                    Some(0..=2) if global.is_empty() => Ok(f),
                    _ if !global.is_empty() => Err(format!("tsc: {}", global.join("; "))),
                    _ => Err(failed("failed")),
                }
            }
            Tool::Syntax => Ok(vec![]),
        };
        match parsed {
            Ok(f) => (run_record(tool, t, None), f),
            Err(e) => (run_record(tool, t, Some(e)), vec![]),
        }
    }

    /// Whether Python top-level package `top` exists in the view (`top.py`, `top/`, also under
    /// `src/`) or is a generated file's top-level dir or module.
    fn in_repo(&self, shadow: &ShadowTree, top: &str) -> bool {
        let root = shadow.root();
        let generated = self.targets.iter().any(|t| {
            let first = t.as_str().split('/').next().unwrap_or("");
            first == top || first.strip_suffix(".py") == Some(top)
        });
        generated
            || [root.to_path_buf(), root.join("src")].iter().any(|d| {
                d.join(top).is_dir() || d.join(format!("{top}.py")).is_file() || d.join(format!("{top}.pyi")).is_file()
            })
    }

    fn reports(
        &self,
        shadow: &ShadowTree,
        tool: &str,
        findings: Vec<Finding>,
        step: &str,
        only: Option<&RelPath>,
    ) -> Vec<ValidationReport> {
        findings
            .into_iter()
            .filter_map(|f| {
                let rel = shadow.relative(&f.file)?;
                let keep = match only {
                    Some(o) => &rel == o,
                    None => self.targets.contains(&rel),
                };
                let severity = security::severity_of(tool, &f.code);
                keep.then(|| ValidationReport {
                    step: step.to_owned(),
                    file: rel.to_string(),
                    line: f.line,
                    column: f.column,
                    category: classify_finding(tool, &f.code, &f.message, &|top| self.in_repo(shadow, top)),
                    code: f.code,
                    message: f.message,
                    tool: tool.to_owned(),
                    severity,
                    preexisting: false,
                })
            })
            .collect()
    }
}

fn run_record(tool: Tool, started: Instant, error: Option<String>) -> ValidatorRun {
    ValidatorRun { tool: tool.name().to_owned(), elapsed_ms: started.elapsed().as_millis() as u64, findings: 0, error }
}

fn sort(r: &mut [ValidationReport]) {
    r.sort_by(|a, b| (&a.file, a.line, a.column, &a.tool, &a.code).cmp(&(&b.file, b.line, b.column, &b.tool, &b.code)));
}
