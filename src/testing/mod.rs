//! The test step: runs the project's tests over the generated code, in the
//! [sandbox](crate::sandbox), and turns every failing test into a finding of category
//! `test_failure`.
//!
//! Runners, detected per language of the generated files ([`Runner::detect`]) or replaced by
//! `[test] command`:
//! - Python: `python -m pytest --junitxml=… -o junit_family=xunit1` with the repo's venv
//!   interpreter (`.venv`, `venv`), else `python3` on `PATH`;
//! - Go: `go test -json` over the packages of the selected tests (needs `go.mod`);
//! - Rust: `cargo test --offline --no-fail-fast` (needs `Cargo.toml`; libtest's text parsed);
//! - JS/TS: `node --test --test-reporter=junit` over the selected test files.
//!
//! Scope ([`select`]): by default the test files among the generated files plus the repo's
//! test files that mention a generated module's name (a cheap text search); `scope = "all"`
//! runs the runner's whole suite. Rust runs the crate's suite either way.
//!
//! Location ([`locate`]): the deepest traceback frame inside a generated non-test file when
//! there is one; else, when the failing test line calls a function a generated non-test file
//! defines (`def`/`func`/`fn`/`function NAME`), that definition; else the test.
//!
//! Invariants: test runners execute project code, so they only ever run through
//! [`Sandbox::run`] with `executes_code(true)` — refused (a notice, no findings) where the
//! sandbox is unavailable unless unsandboxed runs are allowed; a run that exceeds
//! `timeout_secs` is killed (its process group) and reported as one finding; a failing test
//! whose id also fails on the base (same runner, same selection) is `preexisting` and never
//! repaired.

pub mod config;
pub mod parse;
pub mod run;

use serde::Serialize;

use crate::report::classify::Category;
use crate::report::{Severity, ValidationReport};
use crate::task::relpath::RelPath;
use crate::validate::{Family, family};

pub use config::{Scope, TestConfig};
pub use run::{BaseCache, RunnerRun, TestCtx, TestError, TestOutcome, run_tests};

/// A test runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Runner {
    /// pytest.
    Pytest,
    /// `go test -json`.
    GoTest,
    /// `cargo test`.
    CargoTest,
    /// `node --test`.
    NodeTest,
    /// `[test] command`.
    Command,
}

impl Runner {
    /// Its name: the `tool` of its findings.
    pub fn name(self) -> &'static str {
        match self {
            Runner::Pytest => "pytest",
            Runner::GoTest => "go_test",
            Runner::CargoTest => "cargo_test",
            Runner::NodeTest => "node_test",
            Runner::Command => "test_command",
        }
    }

    /// The runner for files of `fam`.
    pub fn for_family(fam: Family) -> Option<Self> {
        match fam {
            Family::Python => Some(Runner::Pytest),
            Family::Go => Some(Runner::GoTest),
            Family::Rust => Some(Runner::CargoTest),
            Family::TypeScript => Some(Runner::NodeTest),
            Family::Other => None,
        }
    }

    /// The runners the generated `targets` call for, in order.
    pub fn detect(targets: &[RelPath]) -> Vec<Self> {
        let mut out: Vec<Runner> = targets.iter().filter_map(|t| Runner::for_family(family(t))).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Whether `path` is a test file by its runner's convention (`test_*.py`, `*_test.py`,
/// `*_test.go`, `*.test.{js,ts,…}`, `*.spec.*`, anything under `tests/` for Rust).
pub fn is_test_file(path: &RelPath) -> bool {
    let s = path.as_str();
    let name = s.rsplit('/').next().unwrap_or(s);
    match family(path) {
        Family::Python => {
            (name.starts_with("test_") && name.ends_with(".py")) || name.ends_with("_test.py") || name == "conftest.py"
        }
        Family::Go => name.ends_with("_test.go"),
        Family::Rust => s.starts_with("tests/") || s.contains("/tests/"),
        Family::TypeScript => name.contains(".test.") || name.contains(".spec.") || s.starts_with("test/"),
        Family::Other => false,
    }
}

/// The module name a test would mention to use `path`: the file stem (`calc` for
/// `app/calc.py`), or the package directory's name for Go.
fn module_name(path: &RelPath) -> Option<String> {
    let s = path.as_str();
    let name = s.rsplit('/').next()?;
    let stem = name.split('.').next()?;
    if stem.is_empty() || stem == "__init__" || stem == "mod" || stem == "lib" || stem == "index" {
        let dir = s.rsplit('/').nth(1)?;
        return Some(dir.to_owned());
    }
    Some(stem.to_owned())
}

/// The tests for `runner` in scope: the generated test files of its language, plus (scope
/// `changed`) the repo's test files `repo_files` that mention a generated non-test module's
/// name, or (scope `all`) every test file of its language. Sorted, distinct.
pub fn select(runner: Runner, targets: &[RelPath], repo_files: &[(RelPath, String)], scope: Scope) -> Vec<RelPath> {
    let mine = |p: &RelPath| Runner::for_family(family(p)) == Some(runner) && is_test_file(p);
    let mut out: Vec<RelPath> = targets.iter().filter(|p| mine(p)).cloned().collect();
    let modules: Vec<String> =
        targets.iter().filter(|p| !is_test_file(p)).filter_map(module_name).filter(|m| m.len() > 1).collect();
    for (p, text) in repo_files.iter().filter(|(p, _)| mine(p)) {
        let uses = scope == Scope::All || modules.iter().any(|m| mentions(text, m));
        if uses {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `text` mentions the identifier `name` (not as part of a longer identifier).
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// `(file, line)` mentions in a runner's output: `path.ext:LINE` for the source extensions,
/// with `file://`, `./` and `root` prefixes removed; in order of appearance.
pub fn frames(output: &str, root: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for ext in [".py:", ".go:", ".rs:", ".js:", ".mjs:", ".cjs:", ".ts:", ".tsx:", ".mts:"] {
        for (i, _) in output.match_indices(ext) {
            let start = output[..i]
                .rfind(|c: char| c.is_whitespace() || matches!(c, '(' | '"' | '\'' | '<' | '[' | ','))
                .map_or(0, |s| s + 1);
            let digits: String = output[i + ext.len()..].chars().take_while(char::is_ascii_digit).collect();
            let Ok(line) = digits.parse::<u32>() else { continue };
            let mut path = &output[start..i + ext.len() - 1];
            path = path.strip_prefix("file://").unwrap_or(path);
            path = path.strip_prefix(root).map_or(path, |p| p.trim_start_matches('/'));
            path = path.trim_start_matches("./");
            out.push((i, path.to_owned(), line));
        }
    }
    out.sort();
    out.into_iter().map(|(_, p, l)| (p, l)).collect()
}

/// Where a failure is located: `(file, line)` (see the module docs). `known` resolves a bare
/// file name (Go prints `calc_test.go:7`) to a path; `read` gives a file's content in the view.
pub fn locate(
    r: &parse::TestResult,
    targets: &[RelPath],
    tests: &[RelPath],
    root: &str,
    read: &dyn Fn(&RelPath) -> Option<String>,
) -> Option<(RelPath, u32)> {
    let resolve = |p: &str| -> Option<RelPath> {
        let direct = RelPath::new(p).ok().filter(|rp| targets.contains(rp) || tests.contains(rp));
        direct.or_else(|| {
            let suffix = format!("/{p}");
            targets.iter().chain(tests).find(|t| t.as_str().ends_with(&suffix) || t.as_str() == p).cloned()
        })
    };
    let text = format!("{}\n{}", r.message, r.output);
    let found: Vec<(RelPath, u32)> =
        frames(&text, root).into_iter().filter_map(|(p, l)| Some((resolve(&p)?, l))).collect();
    let generated_code = |p: &RelPath| targets.contains(p) && !is_test_file(p);
    if let Some(deepest) = found.iter().rev().find(|(p, _)| generated_code(p)) {
        return Some(deepest.clone());
    }
    let test_loc = found.last().cloned().or_else(|| {
        let f = r.file.as_deref().and_then(|f| RelPath::new(f).ok())?;
        Some((f, r.line.unwrap_or(0)))
    });
    if let Some((tf, tl)) = &test_loc
        && let Some(def) = called_definition(tf, *tl, targets, read)
    {
        return Some(def);
    }
    test_loc
}

/// The definition, in a generated non-test file, of a function called on `file:line`.
fn called_definition(
    file: &RelPath,
    line: u32,
    targets: &[RelPath],
    read: &dyn Fn(&RelPath) -> Option<String>,
) -> Option<(RelPath, u32)> {
    let text = read(file)?;
    let src = text.lines().nth(line.checked_sub(1)? as usize)?;
    let mut calls: Vec<&str> = Vec::new();
    for (i, _) in src.match_indices('(') {
        let head = &src[..i];
        let start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
        if start < i {
            calls.push(&src[start..i]);
        }
    }
    for t in targets.iter().filter(|t| !is_test_file(t)) {
        let Some(body) = read(t) else { continue };
        for (n, l) in body.lines().enumerate() {
            let l = l.trim_start();
            let hit = calls.iter().any(|c| {
                ["def ", "func ", "fn ", "pub fn ", "function ", "export function "]
                    .iter()
                    .any(|kw| l.strip_prefix(kw).is_some_and(|rest| rest.starts_with(&format!("{c}("))))
            });
            if hit {
                return Some((t.clone(), n as u32 + 1));
            }
        }
    }
    None
}

/// Largest runner output kept in a finding's message, in characters.
pub const OUTPUT_CAP: usize = 4000;

/// The finding for failing test `r` of `runner`, located at `at` (see [`locate`]).
pub fn finding(runner: Runner, r: &parse::TestResult, at: Option<(RelPath, u32)>, step: &str) -> ValidationReport {
    let mut output: String = r.output.chars().take(OUTPUT_CAP).collect();
    if r.output.chars().count() > OUTPUT_CAP {
        output.push_str("\n… (output truncated)");
    }
    let (file, line) = at.map_or((String::new(), 0), |(f, l)| (f.to_string(), l));
    let message = if output.trim().is_empty() || output.trim() == r.message.trim() {
        format!("test {} failed: {}", r.id, r.message)
    } else {
        format!("test {} failed: {}\n{}", r.id, r.message, output)
    };
    ValidationReport {
        step: step.to_owned(),
        file,
        line,
        column: 0,
        code: r.id.clone(),
        category: Category::TestFailure,
        message,
        tool: runner.name().to_owned(),
        severity: Severity::Error,
        preexisting: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn test_files_runners_and_scope() {
        assert!(is_test_file(&rp("tests/test_calc.py")) && is_test_file(&rp("calc/calc_test.go")));
        assert!(is_test_file(&rp("src/a.test.ts")) && !is_test_file(&rp("app/calc.py")));
        let targets = vec![rp("app/calc.py"), rp("tests/test_new.py"), rp("calc/calc.go")];
        assert_eq!(Runner::detect(&targets), vec![Runner::Pytest, Runner::GoTest]);
        let repo = vec![
            (rp("tests/test_calc.py"), "from app.calc import add\n".to_owned()),
            (rp("tests/test_other.py"), "from app.calculator import x\n".to_owned()),
            (rp("app/util.py"), "import calc\n".to_owned()),
        ];
        assert_eq!(
            select(Runner::Pytest, &targets, &repo, Scope::Changed),
            vec![rp("tests/test_calc.py"), rp("tests/test_new.py")]
        );
        assert_eq!(select(Runner::Pytest, &targets, &repo, Scope::All).len(), 3);
    }

    #[test]
    fn frames_and_locations() {
        let out = "def test_div():\n>   assert div(1, 0) == 0\n\ntests/test_calc.py:9: \n_ _ _\n\n    def div(a, b):\n>       return a / b\n\napp/calc.py:6: ZeroDivisionError";
        assert_eq!(frames(out, "/s"), vec![("tests/test_calc.py".to_owned(), 9), ("app/calc.py".to_owned(), 6)]);
        let node = "at TestContext.<anonymous> (file:///s/calc.test.mjs:4:29)";
        assert_eq!(frames(node, "/s"), vec![("calc.test.mjs".to_owned(), 4)]);
        let targets = vec![rp("app/calc.py"), rp("tests/test_calc.py")];
        let r = parse::TestResult {
            id: "tests/test_calc.py::test_div".into(),
            file: Some("tests/test_calc.py".into()),
            line: Some(8),
            passed: false,
            message: "ZeroDivisionError: division by zero".into(),
            output: out.into(),
        };
        let none = |_: &RelPath| None;
        assert_eq!(locate(&r, &targets, &[], "/s", &none), Some((rp("app/calc.py"), 6)));
        // A wrong result: only the test's frame; the called function's definition is the place.
        let r = parse::TestResult { output: "tests/test_calc.py:5: AssertionError".into(), ..r };
        let read = |p: &RelPath| match p.as_str() {
            "tests/test_calc.py" => {
                Some("from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n".into())
            }
            "app/calc.py" => Some("\"\"\"Calc.\"\"\"\n\n\ndef add(a, b):\n    return a + b + 1\n".into()),
            _ => None,
        };
        assert_eq!(locate(&r, &targets, &[], "/s", &read), Some((rp("app/calc.py"), 4)));
        assert_eq!(locate(&r, &targets, &[], "/s", &none), Some((rp("tests/test_calc.py"), 5)));
        let f = finding(Runner::Pytest, &r, Some((rp("app/calc.py"), 4)), "test");
        assert_eq!((f.category, f.tool.as_str(), f.line), (Category::TestFailure, "pytest", 4));
        assert!(f.message.starts_with("test tests/test_calc.py::test_div failed: ZeroDivisionError"), "{}", f.message);
    }
}
