//! Examples in the plan become executable checks of a Python candidate.
//!
//! Two forms are recognised, and only as the user wrote them ([`extract`]):
//! - doctest lines: `>>> call(args)` (with `... ` continuation lines) followed by the expected
//!   output lines, up to a blank line, the next `>>>` or the end of a docstring or fence;
//! - equalities: a line `f(x) == y` (optionally bulleted or prefixed by `assert`), or a code
//!   span `` `f(x) == y` `` anywhere in a line.
//!
//! [`ExampleRunner::run`] writes the candidate as its module into a fresh directory under the
//! scratch area's TMPDIR and runs the examples with Python's own `doctest` machinery
//! (`NORMALIZE_WHITESPACE`, `ELLIPSIS`) or `==`, each under a time limit, as a job of the run's
//! [`Sandbox`] that executes code (bubblewrap: no network, read-only system, the sandbox's env
//! allowlist; without bubblewrap it is refused unless `[sandbox] allow_unsandboxed = true`).
//!
//! Invariants: running an example runs generated code, so it only ever happens in the
//! sandbox, in a scratch copy — never in the working tree or the task dir; an example whose own
//! text does not compile is `invalid` and never counts against a candidate.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::report::classify::classify_error;
use crate::report::{Severity, ValidationReport};
use crate::sandbox::{Job, Sandbox, SandboxError, Scratch};
use crate::task::relpath::RelPath;

/// The tool name example findings carry.
pub const TOOL: &str = "examples";

/// One example the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Example {
    /// A doctest example: `source` (without the prompts) and the expected output `want`
    /// (empty: the statement must only not raise).
    Doctest {
        /// The code, continuation lines joined with `\n`.
        source: String,
        /// Expected output, each line ending in `\n`.
        want: String,
    },
    /// `left == right`.
    Equality {
        /// The call.
        left: String,
        /// The expected value's expression.
        right: String,
    },
}

impl Example {
    /// The example as the user wrote it (one line).
    pub fn display(&self) -> String {
        match self {
            Example::Doctest { source, want } if want.is_empty() => format!(">>> {}", first_line(source)),
            Example::Doctest { source, want } => format!(">>> {} → {}", first_line(source), want.trim_end()),
            Example::Equality { left, right } => format!("{left} == {right}"),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Whether `e` calls the function `name` (its first call, dotted prefixes ignored).
pub fn calls(e: &Example, name: &str) -> bool {
    let code = match e {
        Example::Doctest { source, .. } => source.as_str(),
        Example::Equality { left, .. } => left.as_str(),
    };
    let head: String =
        code.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
    head.rsplit('.').next() == Some(name) && code.trim_start()[head.len()..].starts_with('(')
}

static EQ_LINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(?:[-*]\s+)?(?:assert\s+)?([A-Za-z_][\w.]*\(.*\)\s*==\s*.+?)\s*$").ok());
static EQ_SPAN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"`([A-Za-z_][\w.]*\([^`]*\)\s*==\s*[^`]+)`").ok());

/// Splits `text` at its first `==` outside brackets and quotes.
fn split_eq(text: &str) -> Option<(String, String)> {
    let (mut depth, mut quote): (i32, Option<char>) = (0, None);
    let b: Vec<char> = text.chars().collect();
    for i in 0..b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                '=' if depth == 0 && b.get(i + 1) == Some(&'=') && i > 0 && !"!<>=".contains(b[i - 1]) => {
                    let left: String = b[..i].iter().collect();
                    let right: String = b[i + 2..].iter().collect();
                    let right = right.trim().trim_end_matches(['.', ';', ',']).trim().to_owned();
                    return (!right.is_empty()).then(|| (left.trim().to_owned(), right));
                }
                _ => {}
            },
        }
    }
    None
}

fn ends_block(t: &str) -> bool {
    t.is_empty() || t.starts_with(">>>") || t.starts_with("\"\"\"") || t.starts_with("'''") || t.starts_with("```")
}

/// The examples in `text` (a file's description or plan.md), in order, each once.
pub fn extract(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Example> = Vec::new();
    let push = |e: Example, out: &mut Vec<Example>| {
        if !out.contains(&e) {
            out.push(e);
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(">>>") {
            let indent = line.len() - trimmed.len();
            let strip = |l: &str| -> String {
                let cut = l.len() - l.trim_start().len();
                l[cut.min(indent)..].to_owned()
            };
            let mut source = rest.strip_prefix(' ').unwrap_or(rest).to_owned();
            i += 1;
            while i < lines.len() {
                let t = lines[i].trim_start();
                let Some(cont) = t.strip_prefix("...") else { break };
                source.push('\n');
                source.push_str(cont.strip_prefix(' ').unwrap_or(cont));
                i += 1;
            }
            let mut want = String::new();
            while i < lines.len() && !ends_block(lines[i].trim()) {
                let l = strip(lines[i]);
                // A docstring closed at the end of an output line.
                let (l, closed) = match l.trim_end().strip_suffix("\"\"\"") {
                    Some(x) => (x.to_owned(), true),
                    None => (l, false),
                };
                if !l.trim().is_empty() {
                    want.push_str(l.trim_end());
                    want.push('\n');
                }
                i += 1;
                if closed {
                    break;
                }
            }
            if !source.trim().is_empty() {
                push(Example::Doctest { source, want }, &mut out);
            }
            continue;
        }
        let mut found: Vec<String> = Vec::new();
        if let Some(re) = EQ_SPAN.as_ref() {
            found.extend(re.captures_iter(line).map(|c| c[1].to_owned()));
        }
        if found.is_empty()
            && !line.contains('`')
            && let Some(c) = EQ_LINE.as_ref().and_then(|re| re.captures(line))
        {
            found.push(c[1].to_owned());
        }
        for f in found {
            if let Some((left, right)) = split_eq(&f) {
                push(Example::Equality { left, right }, &mut out);
            }
        }
        i += 1;
    }
    out
}

/// How one example went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It passed.
    Pass,
    /// Wrong output, an exception, or a timeout.
    Fail,
    /// The example's own text does not compile (never held against a candidate).
    Invalid,
}

/// One example's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleResult {
    /// The example, as written ([`Example::display`]).
    pub example: String,
    /// How it went.
    pub status: Status,
    /// What happened instead (output, exception), empty on a pass.
    #[serde(default)]
    pub detail: String,
}

/// The examples' results for one candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamplesOutcome {
    /// One per example, in order.
    pub results: Vec<ExampleResult>,
}

impl ExamplesOutcome {
    /// Examples that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.status == Status::Pass).count()
    }

    /// Examples that failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.status == Status::Fail).count()
    }

    /// The failures as findings of tool [`TOOL`] on `file` (category `test_failure`, line 0),
    /// for the repair prompt and the run log.
    pub fn reports(&self, file: &RelPath, step: &str) -> Vec<ValidationReport> {
        self.results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| ValidationReport {
                step: step.to_owned(),
                file: file.to_string(),
                line: 0,
                column: 0,
                code: "example".into(),
                category: classify_error(TOOL, "example"),
                message: format!("the plan's example `{}` fails: {}", r.example, r.detail),
                tool: TOOL.into(),
                severity: Severity::Error,
                preexisting: false,
            })
            .collect()
    }
}

/// Why the examples could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExamplesError {
    /// The temporary directory or its files could not be written.
    #[error("cannot prepare the examples run: {0}")]
    Io(#[from] std::io::Error),
    /// The sandbox refused the run (no bubblewrap) or Python did not start.
    #[error(transparent)]
    Sandbox(SandboxError),
}

/// The Python harness: loads the candidate as its module (its stdout swallowed) and runs each
/// example under `SIGALRM`, writing the results as JSON to the path in `argv[2]`.
const HARNESS: &str = include_str!("examples_harness.py");

/// Runs examples against candidates, in the run's sandbox.
#[derive(Debug, Clone)]
pub struct ExampleRunner {
    python: PathBuf,
    sandbox: Sandbox,
    per_example: Duration,
    timeout: Duration,
}

impl ExampleRunner {
    /// `python` runs the harness (made absolute) through `sandbox`; each example gets
    /// `per_example`, the whole run `timeout`.
    pub fn new(python: PathBuf, sandbox: Sandbox, per_example: Duration, timeout: Duration) -> Self {
        let python = std::path::absolute(&python).unwrap_or(python);
        Self { python, sandbox, per_example, timeout }
    }

    /// The interpreter the validators would use for `repo` (its `.venv`, else `python3`),
    /// 5 s per example, 30 s per run; `None` without Python.
    pub fn discover(repo: &Path, sandbox: Sandbox) -> Option<Self> {
        crate::validate::exec::python_for(repo)
            .map(|p| Self::new(p, sandbox, Duration::from_secs(5), Duration::from_secs(30)))
    }

    /// Runs `examples` against `content` as the Python file `file` (see the module docs), in
    /// `scratch` (the shadow tree: the candidate may import the project's other modules). The
    /// candidate, the harness and the results live in a fresh directory under the scratch
    /// area's TMPDIR. A candidate that cannot be imported, or a run that times out, fails every
    /// example that has no result.
    ///
    /// # Errors
    /// [`ExamplesError`] when the run cannot be set up, or the sandbox refuses or fails it
    /// (no bubblewrap and `[sandbox] allow_unsandboxed` off: the examples are not run).
    pub async fn run(
        &self,
        scratch: &Scratch,
        file: &RelPath,
        content: &str,
        examples: &[Example],
    ) -> Result<ExamplesOutcome, ExamplesError> {
        if examples.is_empty() {
            return Ok(ExamplesOutcome::default());
        }
        std::fs::create_dir_all(scratch.tmp())?;
        let dir = tempfile::Builder::new().prefix("examples-").tempdir_in(scratch.tmp())?;
        let stem = file.as_str().rsplit('/').next().unwrap_or("candidate").trim_end_matches(".py");
        let module = if stem.chars().all(|c| c.is_alphanumeric() || c == '_') && !stem.is_empty() {
            stem.to_owned()
        } else {
            "candidate".to_owned()
        };
        let path = dir.path().join(format!("{module}.py"));
        std::fs::write(&path, content)?;
        std::fs::write(dir.path().join("harness.py"), HARNESS)?;
        let spec = serde_json::json!({
            "module": module,
            "path": path,
            "per_example_secs": self.per_example.as_secs().max(1),
            "sys_path": [scratch.root()],
            "examples": examples,
        });
        std::fs::write(dir.path().join("spec.json"), spec.to_string())?;
        let out_path = dir.path().join("results.json");
        let arg = |p: PathBuf| p.display().to_string();
        let job = Job::new(&self.python, scratch)
            .args([
                "-I".to_owned(),
                arg(dir.path().join("harness.py")),
                arg(dir.path().join("spec.json")),
                arg(out_path.clone()),
            ])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .timeout(self.timeout)
            .executes_code(true);
        let timed_out = match self.sandbox.run(job).await {
            Ok(_) => false,
            Err(SandboxError::Timeout { .. }) => true,
            Err(e) => return Err(ExamplesError::Sandbox(e)),
        };
        let mut results: Vec<ExampleResult> = std::fs::read_to_string(&out_path)
            .ok()
            .and_then(|s| serde_json::from_str::<Vec<(Status, String)>>(&s).ok())
            .unwrap_or_default()
            .into_iter()
            .zip(examples)
            .map(|((status, detail), e)| ExampleResult { example: e.display(), status, detail })
            .collect();
        let why = if timed_out {
            format!("the examples did not finish within {} s", self.timeout.as_secs())
        } else {
            "the candidate could not be run".to_owned()
        };
        for e in examples.iter().skip(results.len()) {
            results.push(ExampleResult { example: e.display(), status: Status::Fail, detail: why.clone() });
        }
        Ok(ExamplesOutcome { results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n    \"\"\"\n";

    fn doctest(source: &str, want: &str) -> Example {
        Example::Doctest { source: source.into(), want: want.into() }
    }

    #[test]
    fn extracts_doctests_and_equalities_as_written() {
        assert_eq!(
            extract(PROMPT),
            vec![
                doctest("has_close_elements([1.0, 2.0, 3.0], 0.5)", "False\n"),
                doctest("has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "True\n"),
            ]
        );
        let prose = "Add `slugify(text) -> str`, e.g. `slugify(\"A b\") == \"a-b\"`.\n\n\
                     - slugify('') == ''\n    fix_spaces(\" Example 2\") == \"_Example_2\"\n\
                     if x == 1 then nothing\n>>> total = 0\n>>> for i in range(3):\n...     total += i\n>>> total\n3\n";
        let got = extract(prose);
        assert_eq!(
            got,
            vec![
                Example::Equality { left: "slugify(\"A b\")".into(), right: "\"a-b\"".into() },
                Example::Equality { left: "slugify('')".into(), right: "''".into() },
                Example::Equality { left: "fix_spaces(\" Example 2\")".into(), right: "\"_Example_2\"".into() },
                doctest("total = 0", ""),
                doctest("for i in range(3):\n    total += i", ""),
                doctest("total", "3\n"),
            ]
        );
        assert!(calls(&got[0], "slugify") && !calls(&got[0], "slug") && !calls(&got[3], "total"));
        assert!(extract("Nothing to run here; `x` is a name.").is_empty());
    }

    fn runner() -> ExampleRunner {
        let python = crate::validate::exec::find_tool(Path::new("."), "python3").expect("python3 on PATH");
        let sandbox = Sandbox::detect(&crate::sandbox::SandboxConfig::default());
        assert!(sandbox.is_isolated(), "bubblewrap is needed to run examples");
        ExampleRunner::new(python, sandbox, Duration::from_secs(2), Duration::from_secs(20))
    }

    #[tokio::test]
    async fn runs_examples_against_candidates() {
        let (_repo, scratch) = crate::repair::autofix::tests::scratch();
        let file = RelPath::new("pkg/has_close_elements.py").unwrap();
        let examples = extract(PROMPT);
        let right = "print('noise while importing')\n\ndef has_close_elements(numbers, threshold):\n    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n";
        let o = runner().run(&scratch, &file, right, &examples).await.unwrap();
        assert_eq!((o.passed(), o.failed()), (2, 0), "{o:?}");
        let wrong = "def has_close_elements(numbers, threshold):\n    return False\n";
        let o = runner().run(&scratch, &file, wrong, &examples).await.unwrap();
        assert_eq!((o.passed(), o.failed()), (1, 1), "{o:?}");
        assert_eq!(o.results[1].detail, "expected True, got False");
        let reports = o.reports(&file, "repair");
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].category, crate::report::classify::Category::TestFailure);
        assert!(reports[0].message.contains("has_close_elements([1.0, 2.8"), "{}", reports[0].message);
        // A candidate that does not import fails every example; one that loops is stopped.
        let broken = "def has_close_elements(numbers, threshold):\n    return numbers[\n";
        let o = runner().run(&scratch, &file, broken, &examples).await.unwrap();
        assert_eq!(o.failed(), 2);
        assert!(o.results[0].detail.contains("SyntaxError"), "{o:?}");
        let slow = "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n";
        let o = runner().run(&scratch, &file, slow, &examples).await.unwrap();
        assert_eq!(o.failed(), 2);
        assert!(o.results[0].detail.contains("did not finish within 2 s"), "{o:?}");
        // An example that is not valid Python is never held against the candidate.
        let bad = [Example::Equality { left: "has_close_elements([1.0], 0.5".into(), right: "False".into() }];
        let o = runner().run(&scratch, &file, right, &bad).await.unwrap();
        assert_eq!(o.results[0].status, Status::Invalid, "{o:?}");
    }

    #[tokio::test]
    async fn the_environment_is_scrubbed() {
        let (_repo, scratch) = crate::repair::autofix::tests::scratch();
        let file = RelPath::new("probe.py").unwrap();
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("AI_TOOLS_TEST_SECRET_KEY", "sk-should-not-leak") };
        let code = "import os\nSEEN = os.environ.get('AI_TOOLS_TEST_SECRET_KEY', 'absent')\n";
        let ex = [Example::Equality { left: "str(SEEN)".into(), right: "'absent'".into() }];
        let o = runner().run(&scratch, &file, code, &ex).await.unwrap();
        assert_eq!(o.results[0].status, Status::Pass, "{o:?}");
    }
}
