//! Best-of-N and "verify as you go" in the generate stage, through `ai-tools codegen` as a
//! process against a loopback server speaking the OpenAI wire format; ruff, Python and
//! bubblewrap are the real ones (the candidates' checks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn codegen(repo: &Path, server: &Server, config: &str) -> (std::process::Output, Vec<Value>) {
    std::fs::write(user_config_file(repo), config).unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = format!("{}:{}", here.join(".venv/bin").display(), std::env::var("PATH").unwrap_or_default());
    let out = ai_tools(repo)
        .args(["codegen", "--provider", "openai", "--json", "--concurrency", "1"])
        .env("OPENAI_BASE_URL", format!("{}/v1", server.url()))
        .env("OPENAI_API_KEY", "sk-test-loopback-0123456789")
        .env("PATH", path)
        .output()
        .unwrap();
    let events = ndjson(&out.stdout);
    (out, events)
}

fn fenced(code: &str) -> Reply {
    Reply::Sse(openai_text_stream(&format!("```python\n{code}```\n")))
}

/// The run log of the task's only run.
fn run_log(task: &Path) -> Value {
    let logs = task.join("logs");
    let name = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
        .find(|n| n.starts_with("run-") && n.ends_with(".json"))
        .unwrap();
    serde_json::from_slice(&std::fs::read(logs.join(name)).unwrap()).unwrap()
}

fn step<'a>(log: &'a Value, name: &str) -> &'a Value {
    log["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step {name}"))
}

const ADD_PLAN: &str = r#"{"files": [{"path": "pkg/add.py", "action": "create",
  "description": "A function `add(a, b)` returning the sum.\n\n>>> add(2, 3)\n5\n"}]}"#;

#[test]
fn of_two_candidates_the_broken_one_is_dropped_and_the_log_records_both() {
    let repo = repo_with(&[("pkg/__init__.py", "")]);
    let task = write_task(repo.path(), "add", "# add\n", ADD_PLAN);
    let server = serve(|_| panic!("only two requests expected"));
    server.push(fenced("def add(a, b:\n    return a + b\n"));
    server.push(fenced("def add(a, b):\n    return a + b\n"));
    let (out, events) = codegen(repo.path(), &server, "temperature = 0.2\n\n[generate]\ncandidates = 2\n");
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(
        std::fs::read_to_string(task.join("code/files/pkg/add.py")).unwrap(),
        "def add(a, b):\n    return a + b\n"
    );
    // Two requests, the same prompt, each with its own seed; the second at the candidate temperature.
    let reqs = server.received();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].user_text(), reqs[1].user_text());
    assert_eq!(reqs[0].body["temperature"].as_f64().map(|t| (t * 10.0).round()), Some(2.0));
    assert_eq!(reqs[1].body["temperature"].as_f64().map(|t| (t * 10.0).round()), Some(7.0));
    assert_ne!(reqs[1].body["seed"], Value::Null);
    assert_ne!(reqs[0].body["seed"], reqs[1].body["seed"]);

    let checked: Vec<&Value> = events.iter().filter(|e| e["event"] == "file_checked").collect();
    assert_eq!(checked.len(), 1, "{events:#?}");
    assert_eq!(checked[0]["summary"], "2 candidates, kept #2 (0 findings)");
    assert_eq!(checked[0]["kept"], 2);

    let log = run_log(&task);
    let s = step(&log, "check pkg/add.py");
    assert_eq!(s["parent"], "generate");
    let c = s["candidates"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0]["number"].as_u64(), c[0]["syntax"].as_u64(), c[0]["kept"].as_bool()),
        (Some(1), Some(1), Some(false))
    );
    assert_eq!(
        (c[1]["number"].as_u64(), c[1]["findings"].as_u64(), c[1]["kept"].as_bool()),
        (Some(2), Some(0), Some(true))
    );
    assert_eq!(c[1]["examples_passed"], 1, "the plan's `>>> add(2, 3)` ran against the kept candidate");
    let md =
        std::fs::read_to_string(task.join("logs").join(format!("run-{}.md", log["run_id"].as_str().unwrap()))).unwrap();
    assert!(md.contains("## Candidates"), "{md}");
}

const CLAMP_PLAN: &str = r#"{"files": [
  {"path": "pkg/util.py", "action": "create", "description": "A function `clamp(x, lo, hi)`."},
  {"path": "pkg/main.py", "action": "create", "description": "Prints clamp(5, 0, 3).", "depends_on": ["pkg/util.py"]}
]}"#;

/// SmolLM2's usual failure: a correct function, then "example usage" junk that does not parse.
const UTIL_WITH_JUNK: &str =
    "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n\n\n# Example usage:\nprint(clamp(\n";
const MAIN: &str = "from pkg.util import clamp\n\nprint(clamp(5, 0, 3))\n";

#[test]
fn a_dependent_is_prompted_with_the_autofixed_version_of_its_dependency() {
    let repo = repo_with(&[("pkg/__init__.py", "")]);
    let task = write_task(repo.path(), "clamp", "# clamp\n", CLAMP_PLAN);
    let server = serve(|req| match req.target().as_deref() {
        Some("pkg/util.py") => fenced(UTIL_WITH_JUNK),
        Some("pkg/main.py") => fenced(MAIN),
        other => panic!("unexpected target {other:?}"),
    });
    let (out, events) = codegen(repo.path(), &server, "[validate]\nenabled = false\n");
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));

    let fixed = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n";
    assert_eq!(std::fs::read_to_string(task.join("code/files/pkg/util.py")).unwrap(), fixed);
    let reqs = server.received();
    assert_eq!(reqs.len(), 2, "one candidate per file by default");
    let main_prompt = reqs.iter().find(|r| r.target().as_deref() == Some("pkg/main.py")).unwrap().user_text();
    assert!(main_prompt.contains("return max(lo, min(x, hi))"), "{main_prompt}");
    assert!(!main_prompt.contains("Example usage"), "the dependency's junk reached its dependent:\n{main_prompt}");

    let util = events.iter().find(|e| e["event"] == "file_checked" && e["path"] == "pkg/util.py").unwrap();
    assert_eq!(util["fixes"], serde_json::json!(["trailing_junk"]));
    assert_eq!(util["summary"], "1 candidate, kept #1 (0 findings)");
    // Checked before its dependents start.
    let at = |name: &str, path: &str| events.iter().position(|e| e["event"] == name && e["path"] == path).unwrap();
    assert!(at("file_checked", "pkg/util.py") < at("file_started", "pkg/main.py"));

    // `[generate] autofix = false`: the file goes on as the model wrote it.
    let repo2 = repo_with(&[("pkg/__init__.py", "")]);
    let task2 = write_task(repo2.path(), "clamp", "# clamp\n", CLAMP_PLAN);
    let (out, events) = codegen(repo2.path(), &server, "[validate]\nenabled = false\n\n[generate]\nautofix = false\n");
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(task2.join("code/files/pkg/util.py")).unwrap(), UTIL_WITH_JUNK);
    assert!(!events.iter().any(|e| e["event"] == "file_checked"));
}

#[test]
fn sampling_stops_at_a_candidate_the_verifiers_find_nothing_in() {
    // `candidates = 3`: #1 fails the plan's example, #2 passes it and is clean, so #3 is never
    // requested; a clean #1 alone costs one request.
    let repo = repo_with(&[("pkg/__init__.py", "")]);
    let task = write_task(repo.path(), "add", "# add\n", ADD_PLAN);
    let server = serve(|_| panic!("sampling goes on after a clean candidate"));
    server.push(fenced("def add(a, b):\n    return a - b\n"));
    server.push(fenced("def add(a, b):\n    return a + b\n"));
    let config = "[generate]\ncandidates = 3\n\n[validate]\nenabled = false\n";
    let (out, events) = codegen(repo.path(), &server, config);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.received().len(), 2);
    assert_eq!(
        std::fs::read_to_string(task.join("code/files/pkg/add.py")).unwrap(),
        "def add(a, b):\n    return a + b\n"
    );
    let checked = events.iter().find(|e| e["event"] == "file_checked").unwrap();
    assert_eq!(checked["summary"], "2 candidates, kept #2 (0 findings)");
    let c = step(&run_log(&task), "check pkg/add.py")["candidates"].as_array().unwrap().clone();
    assert_eq!((c[0]["examples_failed"].as_u64(), c[1]["examples_passed"].as_u64()), (Some(1), Some(1)));

    let repo2 = repo_with(&[("pkg/__init__.py", "")]);
    write_task(repo2.path(), "add", "# add\n", ADD_PLAN);
    let server2 = serve(|_| panic!("sampling goes on after a clean first candidate"));
    server2.push(fenced("def add(a, b):\n    return a + b\n"));
    let (out, events) = codegen(repo2.path(), &server2, config);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server2.received().len(), 1);
    let checked = events.iter().find(|e| e["event"] == "file_checked").unwrap();
    assert_eq!(checked["summary"], "1 candidate, kept #1 (0 findings)");
}
