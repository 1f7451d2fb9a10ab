#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The verify loop end to end, through the orchestrator: codegen runs whose model is a loopback
//! server speaking Anthropic's real SSE wire format, with the real validators, the real test
//! runners (pytest from the worktree's .venv, `go test -json`, `cargo test`) under bubblewrap,
//! the real formatters and the outcome in code/files, diff.patch, the summary and the run log.

#[path = "validate_support/mod.rs"]
mod common;

use std::sync::Arc;

use ai_tools::config::Config;
use ai_tools::orchestrator::summary::Summary;
use ai_tools::orchestrator::{Event, Session};
use ai_tools::task::TaskDir;
use common::{Loopback, anth_text, anth_tools, user_text, write};
use serde_json::{Value, json};

struct Run {
    events: Vec<Event>,
    task: TaskDir,
    bodies: Vec<Value>,
    log: Value,
    _repo: tempfile::TempDir,
}

impl Run {
    fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.task.files_dir().join(rel)).unwrap()
    }
    fn step(&self, name: &str) -> Value {
        self.log["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned().unwrap()
    }
    fn summary(&self) -> &Summary {
        match self.events.last() {
            Some(Event::Ready { summary }) => summary,
            other => panic!("not ready: {other:#?}"),
        }
    }
    /// `(tests_run, tests_failed_before_repair, tests_failed_after_repair)` of the run log's
    /// totals, asserted equal to its `test` step's and the summary's.
    fn test_numbers(&self) -> (u64, u64, u64) {
        let keys = ["tests_run", "tests_failed_before_repair", "tests_failed_after_repair"];
        let of = |v: &Value| keys.map(|k| v[k].as_u64().unwrap());
        let total = of(&self.log);
        assert_eq!(of(&self.step("test")), total, "the test step records the run's numbers");
        let s = self.summary();
        assert_eq!([s.tests_run, s.tests_failed_before_repair, s.tests_failed_after_repair].map(|n| n as u64), total);
        (total[0], total[1], total[2])
    }
    fn test_findings(&self, step: &str) -> Vec<Value> {
        let st = self.step(step);
        st["validation_errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["category"] == "test_failure")
            .cloned()
            .collect()
    }
}

fn reply(path: &str, fence: &str, content: &str) -> String {
    anth_text(&format!("{path}\n```{fence}\n{content}```\n"), 1000, 200)
}

/// Runs codegen in `repo` for `plan` (`(path, action, depends_on)`) with `replies` scripted
/// and `config` tuned by `tune`.
async fn run(
    t: tempfile::TempDir,
    plan: &[(&str, &str, &[&str])],
    replies: Vec<String>,
    tune: impl FnOnce(&mut Config),
) -> Run {
    let task = TaskDir::new(common::plan(t.path(), plan));
    let lb = Loopback::start(replies).await;
    let mut config = Config { provider: Some("anthropic".into()), ..Config::default() };
    config.retry.max_retries = 0;
    tune(&mut config);
    let url = lb.url.clone();
    let session = Session {
        repo: t.path().to_path_buf(),
        task: task.clone(),
        config,
        env: Arc::new(move |k: &str| match k {
            "ANTHROPIC_API_KEY" => Some("sk-ant-loopback-secret-0001".into()),
            "ANTHROPIC_BASE_URL" => Some(url.clone()),
            _ => None,
        }),
        prompt_dir: None,
    };
    let (events, _, log) = common::codegen_through_actor(session, 300).await;
    let bodies = lb.bodies();
    let secret_free = bodies.iter().chain(std::iter::once(&log)).all(|b| !b.to_string().contains("loopback-secret"));
    assert!(secret_free, "the API key never reaches a request body or a log");
    Run { events, task, bodies, log, _repo: t }
}

const CALC_WRONG: &str = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a - b\n";
const TEST_CALC: &str = "\"\"\"Tests of calc.\"\"\"\n\nfrom calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n\n\ndef test_zero() -> None:\n    assert add(0, 0) == 0\n";

fn calc_fixed() -> String {
    CALC_WRONG.replace("a - b", "a + b")
}

const CALC_PLAN: &[(&str, &str, &[&str])] = &[("calc.py", "create", &[]), ("test_calc.py", "create", &["calc.py"])];

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_pytest_test_is_repaired_and_passes_on_the_rerun() {
    let r = run(
        common::repo(),
        CALC_PLAN,
        vec![
            reply("calc.py", "python", CALC_WRONG),
            reply("test_calc.py", "python", TEST_CALC),
            anth_tools(&[("write_file", json!({ "content": calc_fixed() }))], 300, 40),
        ],
        |_| {},
    )
    .await;
    assert_eq!(r.file("calc.py"), calc_fixed(), "the model's fix is kept");
    assert_eq!(r.file("test_calc.py"), TEST_CALC, "the test file is not touched");
    assert_eq!(r.bodies.len(), 3);
    // The failing test reached the repair prompt with the runner's output, for calc.py.
    let prompt = user_text(&r.bodies[2]);
    assert!(prompt.starts_with("Target file: calc.py\n"), "{prompt}");
    assert!(prompt.contains("test test_calc.py::test_add failed: assert -1 == 3"), "{prompt}");

    assert_eq!(r.test_numbers(), (2, 1, 0));
    let before = r.test_findings("test");
    assert_eq!(before.len(), 1);
    let f = &before[0];
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64(), f["tool"].as_str(), f["code"].as_str()),
        (Some("calc.py"), Some(4), Some("pytest"), Some("test_calc.py::test_add")),
        "located at the called function in the generated module"
    );
    assert!(r.test_findings("repair").is_empty(), "no failing test after repair");
    let s = r.summary();
    assert_eq!((s.validation_errors_before_repair, s.repair_attempts, s.tests_preexisting), (0, 1, 0));
    assert!(s.render().contains("Tests: 2 run, 1 failing before repair, 0 after (0 preexisting)"), "{}", s.render());
    let md = std::fs::read_to_string(s.run_log.as_ref().unwrap()).unwrap();
    assert!(md.contains("- Tests: 2 run, 1 failing before repair, 0 after"), "{md}");
    let patch = std::fs::read_to_string(r.task.diff_patch()).unwrap();
    assert!(patch.contains("+    return a + b") && !patch.contains("a - b"), "diff.patch is re-derived: {patch}");
    let names: Vec<&str> = r.log["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "context",
            "generate",
            "check calc.py",
            "wave 1",
            "check test_calc.py",
            "wave 2",
            "materialize",
            "format",
            "diff",
            "validate",
            "test",
            "repair",
            "repair calc.py",
            "ready"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_failing_on_the_base_is_preexisting_and_never_repaired() {
    let t = common::repo();
    let base = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a + b\n";
    write(t.path(), "calc.py", base);
    // An existing test of the changed module that already fails on the base.
    write(
        t.path(),
        "test_legacy.py",
        "\"\"\"Legacy.\"\"\"\n\nfrom calc import add\n\n\ndef test_legacy() -> None:\n    assert add(1, 1) == 3\n",
    );
    let modified =
        format!("{base}\n\ndef sub(a: int, b: int) -> int:\n    \"\"\"Return a minus b.\"\"\"\n    return a - b\n");
    let r = run(t, &[("calc.py", "modify", &[])], vec![reply("calc.py", "python", &modified)], |_| {}).await;
    assert_eq!(r.bodies.len(), 1, "no repair request: the failure is not the generation's");
    assert_eq!(r.test_numbers(), (1, 0, 0));
    let f = r.test_findings("test");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0]["code"].as_str(), f[0]["preexisting"].as_bool()),
        (Some("test_legacy.py::test_legacy"), Some(true))
    );
    let s = r.summary();
    assert_eq!((s.tests_preexisting, s.repair_attempts), (1, 0));
    assert!(s.render().contains("Tests: 1 run, 0 failing before repair, 0 after (1 preexisting)"), "{}", s.render());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_test_is_stopped_at_the_timeout_and_reported() {
    let hang = "\"\"\"Hangs.\"\"\"\n\nimport time\n\nfrom calc import add\n\n\ndef test_hangs() -> None:\n    time.sleep(120)\n    assert add(1, 2) == 3\n";
    let started = std::time::Instant::now();
    let r = run(
        common::repo(),
        CALC_PLAN,
        vec![reply("calc.py", "python", &calc_fixed()), reply("test_calc.py", "python", hang)],
        |c| {
            c.test.timeout_secs = 3;
            c.repair.enabled = false;
        },
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(100), "stopped at the timeout");
    assert_eq!(r.test_numbers(), (0, 1, 1));
    let f = r.test_findings("test");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["code"].as_str(), Some("pytest (timeout)"));
    assert!(f[0]["message"].as_str().unwrap().contains("did not finish within 3 s"), "{}", f[0]["message"]);
    assert!(
        r.events.iter().any(|e| matches!(e, Event::Log { message, .. } if message.contains("stopped at 3 s"))),
        "the timeout is announced"
    );
    // Review holds the test file back: its failing test is an open finding.
    let open = ai_tools::review::findings::current(&r.task).unwrap();
    let held: Vec<&str> = open.get("test_calc.py").unwrap().iter().map(|f| f.code.as_str()).collect();
    assert_eq!(held, vec!["pytest (timeout)"]);
}

const GO_WRONG: &str =
    "package calc\n\n// Add returns the sum of a and b.\nfunc Add(a, b int) int {\n\treturn a - b\n}\n";
const GO_TEST: &str = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif got := Add(1, 2); got != 3 {\n\t\tt.Errorf(\"Add(1, 2) = %d, want 3\", got)\n\t}\n}\n\nfunc TestZero(t *testing.T) {\n\tif got := Add(0, 0); got != 0 {\n\t\tt.Errorf(\"Add(0, 0) = %d, want 0\", got)\n\t}\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_go_test_is_repaired_and_passes_on_the_rerun() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "go.mod", "module example.com/m\n\ngo 1.19\n");
    let fixed = GO_WRONG.replace("a - b", "a + b");
    let r = run(
        t,
        &[("calc/calc.go", "create", &[]), ("calc/calc_test.go", "create", &["calc/calc.go"])],
        vec![
            reply("calc/calc.go", "go", GO_WRONG),
            reply("calc/calc_test.go", "go", GO_TEST),
            anth_tools(&[("write_file", json!({ "content": fixed }))], 300, 40),
        ],
        |_| {},
    )
    .await;
    assert_eq!(r.file("calc/calc.go"), fixed);
    assert_eq!(r.bodies.len(), 3);
    let prompt = user_text(&r.bodies[2]);
    assert!(prompt.starts_with("Target file: calc/calc.go\n"), "{prompt}");
    assert!(prompt.contains("test example.com/m/calc/TestAdd failed: Add(1, 2) = -1, want 3"), "{prompt}");
    assert_eq!(r.test_numbers(), (2, 1, 0));
    let f = r.test_findings("test");
    assert_eq!(
        f.iter().map(|f| (f["file"].as_str(), f["line"].as_u64(), f["tool"].as_str())).collect::<Vec<_>>(),
        vec![(Some("calc/calc.go"), Some(4), Some("go_test"))]
    );
    assert!(r.test_findings("repair").is_empty());
}

const RS_WRONG: &str = "/// The sum of `a` and `b`.\npub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn adds() {\n        assert_eq!(add(1, 2), 3);\n    }\n\n    #[test]\n    fn zero() {\n        assert_eq!(add(0, 0), 0);\n    }\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cargo_test_is_repaired_and_passes_on_the_rerun() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    let fixed = RS_WRONG.replace("a - b", "a + b");
    let r = run(
        t,
        &[("src/lib.rs", "create", &[])],
        vec![
            reply("src/lib.rs", "rust", RS_WRONG),
            anth_tools(&[("write_file", json!({ "content": fixed }))], 300, 40),
        ],
        |_| {},
    )
    .await;
    assert_eq!(r.file("src/lib.rs"), fixed);
    assert_eq!(r.bodies.len(), 2);
    let prompt = user_text(&r.bodies[1]);
    assert!(prompt.contains("test tests::adds failed"), "{prompt}");
    assert_eq!(r.test_numbers(), (2, 1, 0));
    let f = r.test_findings("test");
    assert_eq!(
        f.iter().map(|f| (f["file"].as_str(), f["line"].as_u64(), f["tool"].as_str())).collect::<Vec<_>>(),
        vec![(Some("src/lib.rs"), Some(12), Some("cargo_test"))]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_file_is_formatted_and_an_unformatted_base_keeps_its_bytes() {
    let t = common::repo();
    // The base of legacy.py is not formatted the way ruff formats it.
    let base = "\"\"\"Legacy.\"\"\"\nVALUES = [1,2,3]\n\n\ndef first( ):\n    return VALUES[0]\n";
    write(t.path(), "legacy.py", base);
    let modified = format!("{base}\n\ndef last( ):\n    return VALUES[-1]\n");
    let new = "\"\"\"Fresh.\"\"\"\ndef double(x:int)->int:\n  return x*2\n";
    let r = run(
        t,
        &[("fresh.py", "create", &[]), ("legacy.py", "modify", &["fresh.py"])],
        vec![reply("fresh.py", "python", new), reply("legacy.py", "python", &modified)],
        |_| {},
    )
    .await;
    assert_eq!(
        r.file("fresh.py"),
        "\"\"\"Fresh.\"\"\"\n\n\ndef double(x: int) -> int:\n    return x * 2\n",
        "a new file is formatted (ruff format)"
    );
    assert_eq!(r.file("legacy.py"), modified, "a file whose base is not formatted keeps the generated bytes");
    let patch = std::fs::read_to_string(r.task.diff_patch()).unwrap();
    assert!(patch.contains("+    return x * 2"), "the diff is made from the formatted file: {patch}");
    assert!(!patch.contains("-VALUES") && !patch.contains("+VALUES"), "no unrelated reformatting: {patch}");
    assert!(r.step("format")["validation_errors"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_true_and_eval_are_security_findings_until_repaired() {
    let unsafe_py = "\"\"\"Runner.\"\"\"\n\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n    \"\"\"Run cmd.\"\"\"\n    return subprocess.call(cmd, shell=True)\n\n\ndef ask() -> object:\n    \"\"\"Evaluate what the user types.\"\"\"\n    return eval(input())\n";
    let safe_py = "\"\"\"Runner.\"\"\"\n\nimport ast\nimport shlex\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n    \"\"\"Run cmd.\"\"\"\n    return subprocess.call(shlex.split(cmd))\n\n\ndef ask() -> object:\n    \"\"\"Evaluate what the user types.\"\"\"\n    return ast.literal_eval(input())\n";
    let r = run(
        common::repo(),
        &[("runner.py", "create", &[])],
        vec![
            reply("runner.py", "python", unsafe_py),
            anth_tools(&[("write_file", json!({ "content": safe_py }))], 300, 40),
        ],
        |_| {},
    )
    .await;
    let security = |step: &str| -> Vec<(String, String)> {
        let st = r.step(step);
        let mut v: Vec<(String, String)> = st["validation_errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["category"] == "security")
            .map(|f| (f["code"].as_str().unwrap().to_owned(), f["severity"].as_str().unwrap_or("error").to_owned()))
            .collect();
        v.sort();
        v
    };
    let before = security("validate");
    assert!(before.contains(&("S602".into(), "error".into())), "{before:?}");
    assert!(before.contains(&("S307".into(), "error".into())), "{before:?}");
    assert_eq!(r.file("runner.py"), safe_py, "the loopback model's repair is kept");
    let prompt = user_text(&r.bodies[1]);
    assert!(prompt.contains("S602") && prompt.contains("S307"), "{prompt}");
    let after = security("repair");
    assert!(after.iter().all(|(_, sev)| sev != "error"), "no high security finding is left: {after:?}");
    let s = r.summary();
    assert_eq!(s.errors_surviving_repair, 0);
}

const STORE: &str = "\"\"\"Store.\"\"\"\n\nPATH = \"/tmp/store.txt\"\n\n\ndef path() -> str:\n    \"\"\"Return the store's path.\"\"\"\n    return PATH\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_improvement_loop_keeps_a_better_candidate_and_discards_a_worse_one() {
    // S108 (a hard-coded /tmp path) is a medium security finding: not repaired, but it weighs
    // 20, so the file scores 0.80, under min_score 0.9.
    let worse = STORE.replace("\"/tmp/store.txt\"", "eval(\"'/tmp/store.txt'\")");
    let r = run(
        common::repo(),
        &[("store.py", "create", &[])],
        vec![reply("store.py", "python", STORE), anth_tools(&[("write_file", json!({ "content": worse }))], 300, 40)],
        |_| {},
    )
    .await;
    assert_eq!(r.file("store.py"), STORE, "the candidate that lowers the score is discarded");
    assert_eq!(r.bodies.len(), 2, "one improvement attempt, then the loop stops");
    let prompt = user_text(&r.bodies[1]);
    assert!(prompt.contains("S108"), "the warning reaches the prompt: {prompt}");
    let s = r.summary();
    assert_eq!((s.improvement_attempts, s.improvements_discarded, s.repair_attempts), (1, 1, 1));
    assert_eq!(s.quality_score, Some(0.8));
    assert_eq!(s.file_scores.get("store.py"), Some(&0.8));
    assert!(s.render().contains("Quality score: 0.80 (store.py 0.80)"), "{}", s.render());
    assert_eq!(r.log["quality_score"].as_f64(), Some(0.8));
    assert_eq!(r.log["file_scores"]["store.py"].as_f64(), Some(0.8));
    let improve = r.step("improve");
    assert_eq!(improve["repair_attempts"].as_array().unwrap().len(), 1);

    let better = STORE.replace(
        "PATH = \"/tmp/store.txt\"",
        "import os\nimport tempfile\n\nPATH = os.path.join(tempfile.gettempdir(), \"store.txt\")",
    );
    let r = run(
        common::repo(),
        &[("store.py", "create", &[])],
        vec![reply("store.py", "python", STORE), anth_tools(&[("write_file", json!({ "content": better }))], 300, 40)],
        |_| {},
    )
    .await;
    assert_eq!(r.file("store.py"), better, "a candidate that raises the score is kept");
    let s = r.summary();
    assert_eq!((s.improvement_attempts, s.improvements_discarded), (1, 0));
    assert_eq!(s.quality_score, Some(1.0));
    let patch = std::fs::read_to_string(r.task.diff_patch()).unwrap();
    assert!(patch.contains("tempfile.gettempdir()"), "diff.patch is re-derived: {patch}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_that_still_fails_the_tests_is_not_a_success() {
    let still_wrong = CALC_WRONG.replace("a - b", "a * b");
    let r = run(
        common::repo(),
        CALC_PLAN,
        vec![
            reply("calc.py", "python", CALC_WRONG),
            reply("test_calc.py", "python", TEST_CALC),
            anth_tools(&[("write_file", json!({ "content": still_wrong }))], 300, 40),
            anth_tools(&[("write_file", json!({ "content": calc_fixed() }))], 300, 40),
        ],
        |_| {},
    )
    .await;
    assert_eq!(r.file("calc.py"), calc_fixed());
    assert_eq!(r.bodies.len(), 4, "the statically clean but wrong candidate gets a second attempt");
    let second = user_text(&r.bodies[3]);
    assert!(second.contains("test test_calc.py::test_add failed: assert 2 == 3"), "re-tested: {second}");
    let attempts = r.step("repair")["repair_attempts"].as_array().unwrap().clone();
    let ok: Vec<bool> = attempts.iter().map(|a| a["success"].as_bool().unwrap()).collect();
    assert_eq!(ok, vec![false, true]);
    assert_eq!(attempts[0]["errors_out"][0]["category"], "test_failure");
    assert_eq!(r.test_numbers(), (2, 1, 0));
}
