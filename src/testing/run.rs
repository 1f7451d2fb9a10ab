//! Running the test runners in the sandbox, and the base's failures ([`BaseCache`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::report::ValidationReport;
use crate::sandbox::{Job, Sandbox, SandboxError, Scratch, ScratchError};
use crate::task::relpath::RelPath;
use crate::testing::parse::{self, TestResult};
use crate::testing::{Runner, Scope, TestConfig, finding, is_test_file, locate, select};
use crate::validate::{cargo, exec, go};

/// What the test step works with.
pub struct TestCtx<'a> {
    /// The repo (executables are found in its `.venv`/`node_modules`, then `PATH`; the base is
    /// its working tree).
    pub repo: &'a Path,
    /// The run's scratch view, code/files overlaid.
    pub scratch: &'a Scratch,
    /// The run's sandbox.
    pub sandbox: &'a Sandbox,
    /// `[test]`.
    pub cfg: &'a TestConfig,
    /// The generated files (`create`/`modify` targets).
    pub targets: &'a [RelPath],
    /// The step the findings carry (`test`).
    pub step: &'a str,
}

/// One runner's invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerRun {
    /// The runner (`pytest`, `go_test`, `cargo_test`, `node_test`, `test_command`).
    pub runner: String,
    /// The selected test files (empty: the whole suite).
    pub selected: Vec<String>,
    /// Tests that ran (passed or failed).
    pub tests_run: usize,
    /// Tests that failed (preexisting ones included).
    pub tests_failed: usize,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// Killed at `[test] timeout_secs`.
    pub timed_out: bool,
    /// Why it produced no usable result (refused by the sandbox, did not start, no report).
    pub error: Option<String>,
}

/// The test step's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestOutcome {
    /// Each runner's invocation.
    pub runs: Vec<RunnerRun>,
    /// One finding per failing test (category `test_failure`), preexisting ones marked.
    pub findings: Vec<ValidationReport>,
    /// Tests that ran, all runners.
    pub tests_run: usize,
    /// Tests that failed and do not fail on the base.
    pub tests_failed: usize,
}

/// Why the test step could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The base's scratch view could not be built.
    #[error(transparent)]
    Scratch(#[from] ScratchError),
}

/// The base's failing test ids per (runner, selection, repo fingerprint), computed once per
/// key and kept for the run (and its repair re-runs).
#[derive(Debug, Default)]
pub struct BaseCache {
    map: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl BaseCache {
    fn get(&self, key: &str) -> Option<BTreeSet<String>> {
        self.map.lock().ok()?.get(key).cloned()
    }
    fn put(&self, key: String, ids: BTreeSet<String>) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(key, ids);
        }
    }
}

/// The files of `root` a test selection looks at: test files by name, with their text.
fn repo_tests(root: &Path) -> Vec<(RelPath, String)> {
    let mut out = Vec::new();
    let walk = ignore::WalkBuilder::new(root).hidden(true).git_ignore(false).build();
    for e in walk.flatten() {
        let Ok(rel) = e.path().strip_prefix(root) else { continue };
        let Some(rp) = rel.to_str().and_then(|s| RelPath::new(s).ok()) else { continue };
        if rp.segments().any(|s| matches!(s, "node_modules" | ".venv" | "venv" | "target")) || !is_test_file(&rp) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            out.push((rp, text));
        }
    }
    out
}

fn go_packages(files: &[RelPath]) -> Vec<String> {
    go::package_dirs(files)
}

/// The job for `runner` over `selected` in `scratch`, and where its JUnit report will be.
fn job<'a>(
    runner: Runner,
    ctx: &TestCtx<'_>,
    scratch: &'a Scratch,
    selected: &[RelPath],
) -> Result<(Job<'a>, Option<PathBuf>), String> {
    let names: Vec<String> = selected.iter().map(ToString::to_string).collect();
    let find = |name: &str| exec::find_tool(ctx.repo, name).ok_or(format!("`{name}` not found"));
    let timeout = Duration::from_secs(ctx.cfg.timeout_secs.max(1));
    let (job, report) = match runner {
        Runner::Pytest => {
            let python = pytest_python(scratch.root()).ok_or("no python interpreter")?;
            let report = scratch.tmp().join("pytest-junit.xml");
            let mut args: Vec<String> = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            args.push(format!("--junitxml={}", report.display()));
            args.extend(names);
            (Job::new(python, scratch).args(args).env("PYTHONDONTWRITEBYTECODE", "1"), Some(report))
        }
        Runner::GoTest => {
            let mut args = vec!["test".to_owned(), "-json".to_owned()];
            args.extend(go_packages(selected));
            (go::job(Job::new(find("go")?, scratch), &go::build_cache(ctx.repo)).args(args), None)
        }
        Runner::CargoTest => {
            let target = cargo::target_cache(ctx.repo);
            let _ = std::fs::create_dir_all(&target);
            let j = cargo::job(Job::new(find("cargo")?, scratch), &target).env("RUST_BACKTRACE", "0");
            (j.args(["test", "--offline", "--no-fail-fast"]), None)
        }
        Runner::NodeTest => {
            let report = scratch.tmp().join("node-junit.xml");
            let mut args = vec![
                "--test".to_owned(),
                "--test-reporter=junit".to_owned(),
                format!("--test-reporter-destination={}", report.display()),
            ];
            args.extend(names);
            (Job::new(find("node")?, scratch).args(args), Some(report))
        }
        Runner::Command => {
            let argv = ctx.cfg.command.clone().unwrap_or_default();
            let (head, rest) = argv.split_first().ok_or("`[test] command` is empty")?;
            let bin = if Path::new(head).is_absolute() { PathBuf::from(head) } else { find(head)? };
            (Job::new(bin, scratch).args(rest.to_vec()), None)
        }
    };
    Ok((job.timeout(timeout).executes_code(true), report))
}

/// Runs `runner` over `selected` in `scratch`: its results, or the run record's error.
async fn invoke(
    runner: Runner,
    ctx: &TestCtx<'_>,
    scratch: &Scratch,
    selected: &[RelPath],
) -> (Vec<TestResult>, RunnerRun) {
    let started = Instant::now();
    let mut rec = RunnerRun {
        runner: runner.name().to_owned(),
        selected: selected.iter().map(ToString::to_string).collect(),
        tests_run: 0,
        tests_failed: 0,
        elapsed_ms: 0,
        timed_out: false,
        error: None,
    };
    let results = match job(runner, ctx, scratch, selected) {
        Err(e) => {
            rec.error = Some(e);
            vec![]
        }
        Ok((job, report)) => match ctx.sandbox.run(job).await {
            Err(SandboxError::Timeout { secs, .. }) => {
                rec.timed_out = true;
                vec![TestResult {
                    id: format!("{} (timeout)", runner.name()),
                    file: selected.first().map(ToString::to_string),
                    line: None,
                    passed: false,
                    message: format!("the test run did not finish within {secs} s and was stopped"),
                    output: String::new(),
                }]
            }
            Err(e) => {
                rec.error = Some(e.to_string());
                vec![]
            }
            Ok(out) => {
                let parsed = match (runner, report) {
                    (_, Some(path)) => read_report(&path)
                        .map_err(|e| format!("no report at {}: {e}; stderr: {}", path.display(), tail(&out.stderr)))
                        .and_then(|x| parse::junit(&x)),
                    (Runner::GoTest, None) => Ok(parse::go_json(&out.stdout)),
                    (Runner::CargoTest, None) => Ok(parse::libtest(&out.stdout)),
                    _ => Ok(vec![TestResult {
                        id: "command".into(),
                        file: None,
                        line: None,
                        passed: out.code == Some(0),
                        message: format!("exit status {:?}", out.code),
                        output: tail(&format!("{}\n{}", out.stdout, out.stderr)),
                    }]),
                };
                parsed.unwrap_or_else(|e| {
                    rec.error = Some(e);
                    vec![]
                })
            }
        },
    };
    rec.tests_run = results.iter().filter(|r| !rec.timed_out || r.passed).count();
    rec.tests_failed = results.iter().filter(|r| !r.passed).count();
    rec.elapsed_ms = started.elapsed().as_millis() as u64;
    (results, rec)
}

fn tail(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    chars[chars.len().saturating_sub(crate::testing::OUTPUT_CAP)..].iter().collect()
}

/// Failing test ids of `runner` over `selected` on the base (the repo without code/files),
/// cached in `cache`.
async fn base_failures(
    ctx: &TestCtx<'_>,
    cache: &BaseCache,
    runner: Runner,
    selected: &[RelPath],
) -> Result<BTreeSet<String>, TestError> {
    let existing: Vec<RelPath> = selected.iter().filter(|p| p.join_to(ctx.repo).is_file()).cloned().collect();
    // The run's view was copied from the repo as it is now: its fingerprint names the base, so
    // the base is copied again only when its failures are not cached yet.
    let key = format!(
        "{}|{}|{}",
        runner.name(),
        ctx.scratch.repo_fingerprint(),
        existing.iter().map(RelPath::as_str).collect::<Vec<_>>().join(",")
    );
    if let Some(ids) = cache.get(&key) {
        return Ok(ids);
    }
    let ids: BTreeSet<String> = if existing.is_empty() && !selected.is_empty() {
        BTreeSet::new()
    } else {
        let base = Scratch::mirror_of(ctx.repo)?;
        let (results, _) = invoke(runner, ctx, &base, &existing).await;
        results.into_iter().filter(|r| !r.passed).map(|r| r.id).collect()
    };
    cache.put(key, ids.clone());
    Ok(ids)
}

/// Runs the test step (see the module docs of [`crate::testing`]); `cache` holds the base's
/// failures across calls (the re-runs after repair reuse them).
///
/// # Errors
/// [`TestError`] when the base's view cannot be built; runner failures are recorded in
/// [`TestOutcome::runs`].
pub async fn run_tests(ctx: &TestCtx<'_>, cache: &BaseCache) -> Result<TestOutcome, TestError> {
    let mut out = TestOutcome::default();
    if !ctx.cfg.enabled {
        return Ok(out);
    }
    let runners = if ctx.cfg.command.is_some() { vec![Runner::Command] } else { Runner::detect(ctx.targets) };
    let repo_files = repo_tests(ctx.scratch.root());
    let root = ctx.scratch.root().display().to_string();
    for runner in runners {
        let selected = match runner {
            Runner::CargoTest | Runner::Command => vec![],
            _ => select(runner, ctx.targets, &repo_files, ctx.cfg.scope),
        };
        let whole = matches!(runner, Runner::CargoTest | Runner::Command) || ctx.cfg.scope == Scope::All;
        if selected.is_empty() && !whole {
            continue;
        }
        let (results, rec) = invoke(runner, ctx, ctx.scratch, &selected).await;
        let failing: Vec<&TestResult> = results.iter().filter(|r| !r.passed).collect();
        let base = if failing.is_empty() || rec.timed_out {
            BTreeSet::new()
        } else {
            base_failures(ctx, cache, runner, &selected).await?
        };
        let read = |p: &RelPath| ctx.scratch.read(p).ok().flatten().map(|b| String::from_utf8_lossy(&b).into_owned());
        for r in failing {
            let at = locate(r, ctx.targets, &selected, &root, &read);
            let mut f = finding(runner, r, at, ctx.step);
            f.preexisting = base.contains(&r.id);
            if !f.preexisting {
                out.tests_failed += 1;
            }
            out.findings.push(f);
        }
        out.tests_run += rec.tests_run;
        out.runs.push(rec);
    }
    Ok(out)
}
/// The largest JUnit report read, bytes: a report is written where the tests run, so it is
/// untrusted and capped.
const MAX_REPORT: u64 = 16 * 1024 * 1024;

/// Reads a report the sandboxed run wrote: a regular file (never through a symlink, never a
/// FIFO or device, which could block or never end), at most [`MAX_REPORT`] bytes.
fn read_report(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut s = String::new();
    f.take(MAX_REPORT).read_to_string(&mut s)?;
    Ok(s)
}

/// The interpreter pytest runs under: the repo's own `.venv`/`venv` (its dependencies
/// installed), else the managed tools venv when `ai-tools tools pull` put pytest there, else
/// `python3` on `PATH`.
fn pytest_python(root: &Path) -> Option<PathBuf> {
    let own = [root.join(".venv/bin/python"), root.join("venv/bin/python")].into_iter().find(|p| p.exists());
    let managed = exec::cache_bin_dir().filter(|d| d.join("pytest").is_file()).map(|d| d.join("python"));
    own.or(managed.filter(|p| p.exists())).or_else(|| exec::python_for(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_read_only_as_a_regular_file_and_capped() {
        let d = tempfile::tempdir().unwrap();
        let ok = d.path().join("ok.xml");
        std::fs::write(&ok, "<testsuites/>").unwrap();
        assert_eq!(read_report(&ok).unwrap(), "<testsuites/>");
        // A link the sandboxed tests planted, to a host file or an endless device: refused.
        let link = d.path().join("link.xml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_report(&link).is_err());
        // A FIFO (which would block the run forever): refused without blocking.
        let fifo = d.path().join("fifo.xml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(read_report(&fifo).is_err());
    }
}
