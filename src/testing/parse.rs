//! Reading test runners' reports into [`TestResult`]s.
//!
//! - JUnit XML (pytest `--junitxml` with `junit_family=xunit1`, which adds `file`/`line`;
//!   node's `--test-reporter=junit`, whose top-level tests sit straight under
//!   `<testsuites>` and get a wrapping suite first): parsed with the `junit-parser` crate. A case with a
//!   `<failure>` or `<error>` failed; its message is the element's `message`, its output the
//!   element's text (the traceback).
//! - `go test -json`: one JSON event per line (`{Action, Package, Test, Output}`); a test
//!   failed when its last action is `fail`; its output is the concatenated `output` events.
//!   A package-level `fail` without any failed test (a build failure) becomes one failed
//!   pseudo-test named after the package.
//! - libtest's text output (`cargo test`, no machine-readable format on stable Rust):
//!   `test NAME ... ok|FAILED|ignored` lines give the results; the `---- NAME stdout ----`
//!   blocks give each failure's output, whose first line after `panicked at FILE:L:C:` is
//!   the message.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The runner's id: `tests/test_calc.py::test_add`, `example.com/m/calc/TestAdd`,
    /// `tests::adds`, node's test name.
    pub id: String,
    /// The test's file as the runner reports it, when it does (pytest xunit1).
    pub file: Option<String>,
    /// Its 1-based line, when reported.
    pub line: Option<u32>,
    /// Whether it passed (skipped tests are not reported).
    pub passed: bool,
    /// The assertion message (failed tests).
    pub message: String,
    /// The runner's output for it: traceback, diff, panic (failed tests).
    pub output: String,
}

/// Parses a JUnit XML report.
///
/// # Errors
/// The parser's message when the XML is not a JUnit report.
pub fn junit(xml: &str) -> Result<Vec<TestResult>, String> {
    // node's reporter puts top-level tests straight under <testsuites>, which JUnit readers
    // skip: give them a suite.
    let wrapped;
    let xml = match (xml.find("<testsuites>"), xml.rfind("</testsuites>")) {
        (Some(a), Some(b))
            if a < b && xml[a..b].trim_start_matches("<testsuites>").trim_start().starts_with("<testcase") =>
        {
            wrapped = format!(
                "{}<testsuites><testsuite name=\"node\">{}</testsuite></testsuites>{}",
                &xml[..a],
                &xml[a + "<testsuites>".len()..b],
                &xml[b + "</testsuites>".len()..]
            );
            wrapped.as_str()
        }
        _ => xml,
    };
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut stack: Vec<&junit_parser::TestSuite> = suites.suites.iter().collect();
    while let Some(s) = stack.pop() {
        stack.extend(s.suites.iter());
        for c in &s.cases {
            let (passed, message, output) = match &c.status {
                junit_parser::TestStatus::Success => (true, String::new(), String::new()),
                junit_parser::TestStatus::Skipped(_) => continue,
                junit_parser::TestStatus::Failure(f) => (false, f.message.clone(), f.text.clone()),
                junit_parser::TestStatus::Error(e) => (false, e.message.clone(), e.text.clone()),
            };
            let id = match &c.file {
                Some(f) => format!("{f}::{}", c.original_name),
                None => c.original_name.clone(),
            };
            out.push(TestResult {
                id,
                file: c.file.clone(),
                line: c.line.and_then(|l| u32::try_from(l).ok()).map(|l| l + 1),
                passed,
                message,
                output,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoEvent {
    action: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    output: Option<String>,
}

/// Parses `go test -json` output (see the module docs).
pub fn go_json(stdout: &str) -> Vec<TestResult> {
    let mut tests: BTreeMap<String, (Option<bool>, String)> = BTreeMap::new();
    let mut packages: BTreeMap<String, (Option<bool>, String)> = BTreeMap::new();
    for ev in stdout.lines().filter_map(|l| serde_json::from_str::<GoEvent>(l.trim()).ok()) {
        let slot = match &ev.test {
            Some(t) => tests.entry(format!("{}/{t}", ev.package)).or_default(),
            None => packages.entry(ev.package.clone()).or_default(),
        };
        match ev.action.as_str() {
            "pass" => slot.0 = Some(true),
            "fail" => slot.0 = Some(false),
            "output" => slot.1.push_str(ev.output.as_deref().unwrap_or("")),
            _ => {}
        }
    }
    let mut out: Vec<TestResult> = tests
        .into_iter()
        .filter_map(|(id, (state, output))| {
            let passed = state?;
            let message = if passed { String::new() } else { go_message(&output) };
            Some(TestResult {
                id,
                file: None,
                line: None,
                passed,
                message,
                output: if passed { String::new() } else { output },
            })
        })
        .collect();
    for (pkg, (state, output)) in packages {
        if state == Some(false) && !out.iter().any(|t| !t.passed && t.id.starts_with(&format!("{pkg}/"))) {
            let message = output.lines().find(|l| !l.trim().is_empty()).unwrap_or("the package failed").to_owned();
            out.push(TestResult { id: pkg, file: None, line: None, passed: false, message, output });
        }
    }
    out
}

/// The first `file.go:L: message` line of a Go test's output, without the position.
fn go_message(output: &str) -> String {
    output
        .lines()
        .map(str::trim)
        .find_map(|l| {
            let (head, msg) = l.split_once(": ")?;
            head.contains(".go:").then(|| msg.to_owned())
        })
        .unwrap_or_else(|| output.lines().find(|l| l.starts_with("    ")).unwrap_or("").trim().to_owned())
}

/// Parses libtest's text output (see the module docs).
pub fn libtest(stdout: &str) -> Vec<TestResult> {
    let mut results: Vec<TestResult> = Vec::new();
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, status)) = rest.rsplit_once(" ... ")
        {
            let passed = match status.trim() {
                "ok" => true,
                "FAILED" => false,
                _ => continue,
            };
            results.push(TestResult {
                id: name.trim().to_owned(),
                file: None,
                line: None,
                passed,
                message: String::new(),
                output: String::new(),
            });
            continue;
        }
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            current = Some(name.to_owned());
            continue;
        }
        if line == "failures:" || line.starts_with("test result: ") {
            current = None;
            continue;
        }
        if let Some(name) = &current {
            let o = outputs.entry(name.clone()).or_default();
            o.push_str(line);
            o.push('\n');
        }
    }
    for r in results.iter_mut().filter(|r| !r.passed) {
        let output = outputs.remove(&r.id).unwrap_or_default();
        let mut lines = output.lines().skip_while(|l| !l.contains(" panicked at "));
        lines.next();
        r.message = lines.take_while(|l| !l.starts_with("note: ")).collect::<Vec<_>>().join("\n");
        r.output = output.trim().to_owned();
    }
    results
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_report_with_its_closing_tag_first_is_an_error_not_a_panic() {
        let _ = junit("</testsuites><testsuites><testcase name=\"t\"/>");
    }

    use super::*;

    #[test]
    fn junit_from_pytest_with_file_and_line() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3"><testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py" line="3" time="0.001"><failure message="assert 4 == 3&#10; +  where 4 = add(1, 2)">def test_add():
&gt;       assert add(1, 2) == 3
E       assert 4 == 3

tests/test_calc.py:5: AssertionError</failure></testcase><testcase classname="tests.test_calc" name="test_ok" file="tests/test_calc.py" line="7" time="0.0" /><testcase classname="tests.test_calc" name="test_skip" file="tests/test_calc.py" line="9" time="0.0"><skipped message="no"/></testcase></testsuite></testsuites>"#;
        let r = junit(xml).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].id.as_str(), r[0].passed, r[0].line), ("tests/test_calc.py::test_add", false, Some(4)));
        assert_eq!(r[0].message, "assert 4 == 3\n +  where 4 = add(1, 2)");
        assert!(r[0].output.ends_with("tests/test_calc.py:5: AssertionError"));
        assert!(r[1].passed);
        assert!(junit("not xml <").is_err() || junit("not xml <").unwrap().is_empty());
    }

    #[test]
    fn real_go_test_json_libtest_and_node_junit_output() {
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |n: &str| std::fs::read_to_string(format!("{root}/tests/fixtures/test_runners/{n}")).unwrap();
        let go = go_json(&read("go_test.json"));
        let got: Vec<_> = go.iter().map(|r| (r.id.as_str(), r.passed, r.message.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("example.com/m/calc/TestAdd", false, "Add(1, 2) = 4, want 3"),
                ("example.com/m/calc/TestOK", true, "")
            ]
        );
        assert!(go[0].output.contains("calc_test.go:7: Add(1, 2) = 4, want 3"));

        let rs = libtest(&read("cargo_test.txt"));
        let got: Vec<_> = rs.iter().map(|r| (r.id.as_str(), r.passed)).collect();
        assert_eq!(got, vec![("tests::ok", true), ("tests::adds", false)]);
        assert_eq!(rs[1].message, "assertion `left == right` failed\n  left: 4\n right: 3");
        assert!(rs[1].output.contains("panicked at src/lib.rs:11:9:"));

        let node = junit(&read("node_junit.xml")).unwrap();
        let got: Vec<_> = node.iter().map(|r| (r.id.as_str(), r.passed)).collect();
        assert_eq!(got, vec![("adds", false), ("ok", true)]);
        assert!(node[0].output.contains("calc.test.mjs:4:29"), "{}", node[0].output);

        let py = junit(&read("pytest_junit.xml")).unwrap();
        assert_eq!(py.iter().filter(|r| !r.passed).count(), 2);
    }
}
