#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The test step with the real runners (pytest, go test -json, cargo test) under bubblewrap:
//! failing tests become `test_failure` findings at the generated module's line, a test that
//! also fails on the base is preexisting, a hanging test is killed at the timeout, and a fixed
//! module makes the re-run pass.

#[path = "validate_support/mod.rs"]
mod common;

use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::plan::Action;
use ai_tools::report::ValidationReport;
use ai_tools::sandbox::{Sandbox, SandboxConfig, Scratch};
use ai_tools::task::relpath::RelPath;
use ai_tools::testing::{BaseCache, TestConfig, TestCtx, TestOutcome, run_tests};
use common::write;

/// Writes `generated` as code/files over `repo`, builds the scratch view and runs the tests.
async fn test_run(
    repo: &std::path::Path,
    generated: &[(&str, &str)],
    cfg: &TestConfig,
    cache: &BaseCache,
) -> (TestOutcome, Scratch, Vec<RelPath>) {
    let files = repo.join(".ai-tools/tasks/t/code/files");
    let mut entries = Vec::new();
    for (p, c) in generated {
        write(&files, p, c);
        let action = if repo.join(p).exists() { Action::Modify } else { Action::Create };
        entries.push(ManifestEntry { path: RelPath::new(p).unwrap(), action });
    }
    let targets: Vec<RelPath> = entries.iter().map(|e| e.path.clone()).collect();
    let scratch = Scratch::build(repo, &files, &Manifest { run_id: "r".into(), files: entries }).unwrap();
    let sandbox = Sandbox::detect(&SandboxConfig::default());
    assert!(sandbox.is_isolated(), "tests run under bubblewrap: {:?}", sandbox.unavailable_reason());
    let ctx = TestCtx { repo, scratch: &scratch, sandbox: &sandbox, cfg, targets: &targets, step: "test" };
    let out = run_tests(&ctx, cache).await.unwrap();
    for r in &out.runs {
        assert!(r.error.is_none(), "{} failed: {:?}", r.runner, r.error);
    }
    (out, scratch, targets)
}

fn at(f: &ValidationReport) -> (&str, u32, &str, &str, bool) {
    (f.file.as_str(), f.line, f.tool.as_str(), f.code.as_str(), f.preexisting)
}

const CALC_WRONG: &str = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    return a + b + 1\n";
const CALC_FIXED: &str = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n";
const TEST_CALC: &str = "from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_zero():\n    assert add(0, 5) == 5\n";

#[tokio::test(flavor = "multi_thread")]
async fn pytest_failure_is_located_at_the_module_and_passes_once_fixed() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "app/__init__.py", "");
    let cache = BaseCache::default();
    let cfg = TestConfig::default();
    let (out, _, _) =
        test_run(repo, &[("app/calc.py", CALC_WRONG), ("tests/test_calc.py", TEST_CALC)], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed), (2, 2));
    let got: Vec<_> = out.findings.iter().map(at).collect();
    assert_eq!(
        got,
        vec![
            ("app/calc.py", 4, "pytest", "tests/test_calc.py::test_add", false),
            ("app/calc.py", 4, "pytest", "tests/test_calc.py::test_zero", false),
        ]
    );
    let f = &out.findings[0];
    assert_eq!(f.category.as_str(), "test_failure");
    assert!(f.message.starts_with("test tests/test_calc.py::test_add failed: assert 4 == 3"), "{}", f.message);
    assert!(f.message.contains("where 4 = add(1, 2)"), "the runner's diff is kept: {}", f.message);
    assert_eq!(out.runs[0].selected, vec!["tests/test_calc.py"]);

    // The repaired module: the re-run passes.
    let (out, _, _) =
        test_run(repo, &[("app/calc.py", CALC_FIXED), ("tests/test_calc.py", TEST_CALC)], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed, out.findings.len()), (2, 0, 0));
    assert!(
        !repo.join("app/calc.py").exists() && !repo.join(".pytest_cache").exists(),
        "the working tree is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_fails_on_the_base_is_preexisting_and_a_hanging_one_is_killed() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "app/__init__.py", "");
    write(repo, "app/calc.py", CALC_FIXED);
    // An existing test that uses the changed module and already fails on the base.
    write(
        repo,
        "tests/test_legacy.py",
        "from app.calc import add\n\n\ndef test_legacy():\n    assert add(1, 1) == 3\n",
    );
    // An existing test of an unrelated module: out of scope.
    write(repo, "tests/test_other.py", "def test_other():\n    assert False\n");
    let cache = BaseCache::default();
    let modified = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n\n\ndef sub(a: int, b: int) -> int:\n    return a - b\n";
    let (out, _, _) = test_run(repo, &[("app/calc.py", modified)], &TestConfig::default(), &cache).await;
    assert_eq!(out.runs[0].selected, vec!["tests/test_legacy.py"]);
    assert_eq!((out.tests_run, out.tests_failed), (1, 0), "the preexisting failure is not counted");
    assert_eq!(
        out.findings.iter().map(at).collect::<Vec<_>>(),
        vec![("app/calc.py", 4, "pytest", "tests/test_legacy.py::test_legacy", true)]
    );

    let hang = "import time\n\nfrom app.calc import add\n\n\ndef test_hangs():\n    time.sleep(120)\n    assert add(1, 2) == 3\n";
    let cfg = TestConfig { timeout_secs: 3, ..TestConfig::default() };
    let started = std::time::Instant::now();
    let (out, _, _) = test_run(repo, &[("app/calc.py", modified), ("tests/test_hang.py", hang)], &cfg, &cache).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "killed at the timeout");
    assert!(out.runs[0].timed_out);
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].code, "pytest (timeout)");
    assert!(out.findings[0].message.contains("did not finish within 3 s"), "{}", out.findings[0].message);
}

#[tokio::test(flavor = "multi_thread")]
async fn go_test_json_failure_is_located_at_the_function_and_passes_once_fixed() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path();
    write(repo, "go.mod", "module example.com/m\n\ngo 1.19\n");
    let wrong = "package calc\n\n// Add returns the sum.\nfunc Add(a, b int) int {\n\treturn a + b + 1\n}\n";
    let test = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif got := Add(1, 2); got != 3 {\n\t\tt.Errorf(\"Add(1, 2) = %d, want 3\", got)\n\t}\n}\n\nfunc TestOK(t *testing.T) {}\n";
    let cache = BaseCache::default();
    let cfg = TestConfig::default();
    let (out, _, _) = test_run(repo, &[("calc/calc.go", wrong), ("calc/calc_test.go", test)], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed), (2, 1));
    assert_eq!(
        out.findings.iter().map(at).collect::<Vec<_>>(),
        vec![("calc/calc.go", 4, "go_test", "example.com/m/calc/TestAdd", false)]
    );
    assert!(out.findings[0].message.starts_with("test example.com/m/calc/TestAdd failed: Add(1, 2) = 4, want 3"));
    let fixed = wrong.replace("a + b + 1", "a + b");
    let (out, _, _) = test_run(repo, &[("calc/calc.go", &fixed), ("calc/calc_test.go", test)], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed), (2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_test_failure_is_located_at_the_panic_and_passes_once_fixed() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path();
    write(repo, "Cargo.toml", "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    let wrong = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b + 1\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn adds() {\n        assert_eq!(add(1, 2), 3);\n    }\n\n    #[test]\n    fn ok() {}\n}\n";
    let cache = BaseCache::default();
    let cfg = TestConfig::default();
    let (out, _, _) = test_run(repo, &[("src/lib.rs", wrong)], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed), (2, 1));
    assert_eq!(
        out.findings.iter().map(at).collect::<Vec<_>>(),
        vec![("src/lib.rs", 11, "cargo_test", "tests::adds", false)]
    );
    assert!(out.findings[0].message.contains("left: 4"), "{}", out.findings[0].message);
    let (out, _, _) = test_run(repo, &[("src/lib.rs", &wrong.replace("a + b + 1", "a + b"))], &cfg, &cache).await;
    assert_eq!((out.tests_run, out.tests_failed), (2, 0));
    assert!(!repo.join("target").exists());
}
