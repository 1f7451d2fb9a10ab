//! `ai-tools codegen` as a process against a loopback server speaking the OpenAI wire format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const PLAN_MD: &str = "# Add a CLI to calc\n\nAdd a util module, use it from ops, and add a CLI.\n";
const FILES_JSON: &str = r#"{
  "files": [
    {"path": "calc/util.py", "action": "create", "description": "clamp helper"},
    {"path": "calc/ops.py", "action": "modify", "description": "use clamp in add", "depends_on": ["calc/util.py"]},
    {"path": "calc/cli.py", "action": "create", "description": "a CLI over ops", "depends_on": ["calc/ops.py"]},
    {"path": "calc/old.py", "action": "delete", "description": "unused"}
  ]
}"#;

const UTIL: &str = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n";
const OPS: &str = "from calc.util import clamp\n\n\ndef add(a, b):\n    return clamp(a + b, -100, 100)\n";
const CLI: &str = "import sys\n\nfrom calc.ops import add\n\nprint(add(int(sys.argv[1]), int(sys.argv[2])))\n";

fn content_for(target: &str) -> &'static str {
    match target {
        "calc/util.py" => UTIL,
        "calc/ops.py" => OPS,
        "calc/cli.py" => CLI,
        other => panic!("unexpected target {other}"),
    }
}

fn calc_repo() -> tempfile::TempDir {
    let r = repo_with(&[
        ("calc/__init__.py", ""),
        ("calc/ops.py", "def add(a, b):\n    return a + b\n"),
        ("calc/old.py", "OLD = 1\n"),
        ("README.md", "calc\n"),
    ]);
    write_task(r.path(), "add-cli", PLAN_MD, FILES_JSON);
    r
}

fn openai_server() -> Server {
    serve(|req| {
        let target = req.target().expect("prompt names its target");
        Reply::Sse(openai_text_stream(&format!("Here it is:\n\n```python\n{}```\n", content_for(&target))))
    })
}

fn codegen(repo: &Path, server: &Server, extra: &[&str]) -> std::process::Output {
    ai_tools(repo)
        .args(["codegen", "--provider", "openai", "--json"])
        .args(extra)
        .env("OPENAI_BASE_URL", format!("{}/v1", server.url()))
        .env("OPENAI_API_KEY", "sk-test-loopback-0123456789")
        .output()
        .unwrap()
}

fn clone_of(repo: &Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let out = Command::new("git").args(["clone", "-q"]).arg(repo).arg(t.path().join("c")).output().unwrap();
    assert!(out.status.success());
    t
}

#[test]
fn codegen_runs_waves_writes_files_patch_state_and_events() {
    let repo = calc_repo();
    let r = repo.path();
    let server = openai_server();
    let out = codegen(r, &server, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");

    // Events: NDJSON, one per line, in stage order, with three waves.
    let events = ndjson(&out.stdout);
    let names = event_names(&events);
    assert_eq!(names.first().map(String::as_str), Some("run_started"));
    assert_eq!(names.last().map(String::as_str), Some("ready"));
    let stages: Vec<&str> =
        events.iter().filter(|e| e["event"] == "stage_changed").filter_map(|e| e["stage"].as_str()).collect();
    for s in ["context", "generate", "materialize", "diff", "ready"] {
        assert!(stages.contains(&s), "stage {s} in {stages:?}");
    }
    let waves: Vec<Vec<String>> = events
        .iter()
        .filter(|e| e["event"] == "wave_started")
        .map(|e| e["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect())
        .collect();
    assert_eq!(waves, vec![vec!["calc/old.py", "calc/util.py"], vec!["calc/ops.py"], vec!["calc/cli.py"]]);
    assert!(names.iter().any(|n| n == "file_delta"), "deltas streamed");
    let ready = events.last().unwrap();
    assert_eq!(ready["summary"]["files_generated"], 3);
    assert_eq!(ready["summary"]["files_deleted"], 1);
    assert_eq!(ready["summary"]["api_calls"], 3);

    // The request format and the wave order: ops.py's prompt carries util.py as generated.
    let reqs = server.received();
    assert_eq!(reqs.len(), 3);
    for q in &reqs {
        assert_eq!(q.path, "/v1/chat/completions");
        assert_eq!(q.header("authorization"), Some("Bearer sk-test-loopback-0123456789"));
        assert_eq!(q.body["stream"], true);
        assert_eq!(q.body["stream_options"]["include_usage"], true);
    }
    let ops_req = reqs.iter().find(|q| q.target().as_deref() == Some("calc/ops.py")).unwrap();
    assert!(ops_req.user_text().contains("## Dependency calc/util.py (as generated in this run)"));
    assert!(ops_req.user_text().contains(UTIL.trim()));

    // code/files holds the generated files; the delete has none.
    let task = r.join(".ai-tools/tasks/add-cli");
    for (p, c) in [("calc/util.py", UTIL), ("calc/ops.py", OPS), ("calc/cli.py", CLI)] {
        assert_eq!(std::fs::read_to_string(task.join("code/files").join(p)).unwrap(), c);
    }
    assert!(!task.join("code/files/calc/old.py").exists());

    // The working tree is untouched.
    assert_eq!(git(r, &["status", "--porcelain"]), "?? .ai-tools/\n");

    // diff.patch applies with git apply and patch -p1 and reproduces code/files.
    let patch = task.join("code/diff.patch");
    for tool in ["git", "patch"] {
        let c = clone_of(r);
        let dir = c.path().join("c");
        let status = if tool == "git" {
            Command::new("git").arg("-C").arg(&dir).arg("apply").arg(&patch).status().unwrap()
        } else {
            Command::new("patch").arg("-p1").arg("-s").arg("-i").arg(&patch).current_dir(&dir).status().unwrap()
        };
        assert!(status.success(), "{tool} failed to apply");
        for (p, want) in [("calc/util.py", UTIL), ("calc/ops.py", OPS), ("calc/cli.py", CLI)] {
            assert_eq!(std::fs::read_to_string(dir.join(p)).unwrap(), want, "{tool}: {p}");
        }
        assert!(!dir.join("calc/old.py").exists(), "{tool}: delete applied");
    }

    // state.json: ready, with the base the diff was made against.
    let state: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["status"], "ready");
    assert_eq!(state["stage"], "ready");
    assert_eq!(state["next_phase"], "review");
    let blob = git(r, &["hash-object", "calc/ops.py"]);
    assert_eq!(state["base"]["calc/ops.py"]["blob"], blob.trim());
    assert_eq!(state["base"]["calc/util.py"]["blob"], Value::Null);
    assert_eq!(state["files"]["calc/cli.py"]["wave"], 3);
    assert_eq!(state["files"]["calc/cli.py"]["status"], "materialized");

    // A second run does not overwrite a ready result…
    let again = codegen(r, &server, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--redo"));

    // …but --redo archives it and starts again from context.
    let first_run = state["run_id"].as_str().unwrap().to_owned();
    let redo = codegen(r, &server, &["--redo"]);
    assert_eq!(redo.status.code(), Some(0), "{}", String::from_utf8_lossy(&redo.stderr));
    let archive = task.join("code/archive").join(&first_run);
    assert_eq!(std::fs::read_to_string(archive.join("files/calc/util.py")).unwrap(), UTIL);
    assert_eq!(
        std::fs::read(archive.join("diff.patch")).unwrap(),
        std::fs::read(&patch).unwrap(),
        "same inputs, same patch"
    );
    let redo_events = ndjson(&redo.stdout);
    assert!(redo_events.iter().any(|e| e["event"] == "archived"));
    let state2: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_ne!(state2["run_id"], state["run_id"]);
}

#[test]
fn bad_plan_exits_2_and_writes_nothing() {
    let r = repo_with(&[("a.py", "x = 1\n")]);
    let task = write_task(
        r.path(),
        "cyc",
        "# Cycle\n",
        r#"{"files": [
  {"path": "b.py", "action": "create", "depends_on": ["c.py"]},
  {"path": "c.py", "action": "create", "depends_on": ["b.py"]}
]}"#,
    );
    let server = openai_server();
    let out = codegen(r.path(), &server, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plan.files.json:2:") && err.contains("b.py → c.py → b.py"), "{err}");
    assert!(!task.join("state.json").exists());
    assert!(!task.join("code").exists());
    assert!(server.received().is_empty());
}

#[test]
fn unplanned_file_in_a_reply_is_a_scope_mismatch() {
    let r = repo_with(&[("README.md", "x\n")]);
    let task = write_task(r.path(), "s", "# S\n", r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
    let server = serve(|_| {
        Reply::Sse(openai_text_stream("a.py\n```python\nA = 1\n```\n\nsetup.py\n```python\nimport os\n```\n"))
    });
    let out = codegen(r.path(), &server, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let events = ndjson(&out.stdout);
    let failed = events.last().unwrap();
    assert_eq!(failed["status"], "scope_mismatch");
    assert_eq!(failed["next_phase"], "planning");
    assert_eq!(failed["files"], serde_json::json!(["setup.py"]));
    assert_eq!(std::fs::read_to_string(task.join("code/files/a.py")).unwrap(), "A = 1\n");
    assert!(!task.join("code/files/setup.py").exists());
    let state: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["status"], "scope_mismatch");
    assert_eq!(state["next_phase"], "planning");
}

#[test]
fn provider_error_fails_without_a_patch_and_without_the_key() {
    let r = repo_with(&[("README.md", "x\n")]);
    let task = write_task(r.path(), "p", "# P\n", r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
    let server = serve(|_| {
        Reply::Status {
        status: 400,
        headers: vec![],
        body: r#"{"error":{"message":"model `nope` does not exist (key sk-test-loopback-0123456789)","type":"invalid_request_error"}}"#.into(),
    }
    });
    let out = codegen(r.path(), &server, &[]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("invalid_request_error") && all.contains("does not exist"), "{all}");
    assert!(!all.contains("sk-test-loopback"), "the key leaked: {all}");
    assert_eq!(server.received().len(), 1, "a 400 is not retried");
    assert!(!task.join("code/diff.patch").exists());
    let state: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["status"], "failed");
}

#[test]
fn waves_overlap_and_a_failed_dependency_skips_its_dependents() {
    let r = repo_with(&[("README.md", "x\n")]);
    let task = write_task(
        r.path(),
        "w",
        "# W\n",
        r#"{"files": [
  {"path": "slow.py", "action": "create"},
  {"path": "fast.py", "action": "create"},
  {"path": "next.py", "action": "create", "depends_on": ["fast.py"]},
  {"path": "bad.py", "action": "create"},
  {"path": "after_bad.py", "action": "create", "depends_on": ["bad.py"]}
]}"#,
    );
    let server = serve(|req| match req.target().as_deref() {
        Some("slow.py") => Reply::Delayed(
            std::time::Duration::from_millis(1500),
            Box::new(Reply::Sse(openai_text_stream("```python\nSLOW = 1\n```\n"))),
        ),
        // bad.py's reply writes another planned file instead of its target.
        Some("bad.py") => Reply::Sse(openai_text_stream("fast.py\n```python\nX = 1\n```\n")),
        Some(t) => Reply::Sse(openai_text_stream(&format!(
            "```python\n{} = 1\n```\n",
            t.trim_end_matches(".py").to_uppercase()
        ))),
        None => panic!("no target"),
    });
    let out = codegen(r.path(), &server, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let events = ndjson(&out.stdout);
    let idx = |name: &str, path: &str| {
        events.iter().position(|e| e["event"] == name && e["path"] == path).unwrap_or_else(|| panic!("{name} {path}"))
    };
    // next.py (wave 2) starts while slow.py (wave 1) is still generating.
    assert!(idx("file_started", "next.py") < idx("file_generated", "slow.py"), "waves overlap");
    assert!(idx("file_generated", "fast.py") < idx("file_started", "next.py"), "dependencies first");
    assert!(events.iter().any(|e| e["event"] == "file_failed" && e["path"] == "bad.py"));
    assert!(
        !events.iter().any(|e| e["event"] == "file_started" && e["path"] == "after_bad.py"),
        "dependent of a failure never starts"
    );
    let failed = events.last().unwrap();
    assert_eq!(failed["event"], "failed");
    assert!(failed["reason"].as_str().unwrap().contains("bad.py"));
    let state: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["files"]["after_bad.py"]["status"], "skipped");
    assert_eq!(state["files"]["bad.py"]["status"], "failed");
    assert!(!task.join("code/diff.patch").exists(), "no diff for a failed run");
    assert_eq!(std::fs::read_to_string(task.join("code/files/next.py")).unwrap(), "NEXT = 1\n");
}

#[test]
fn a_reply_that_only_writes_outside_the_plan_routes_back_to_planning() {
    let r = repo_with(&[("README.md", "x\n")]);
    write_task(r.path(), "s", "# S\n", r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
    let server = serve(|_| Reply::Sse(openai_text_stream("setup.py\n```python\nimport os\n```\n")));
    let out = codegen(r.path(), &server, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let last = ndjson(&out.stdout).pop().unwrap();
    assert_eq!((last["status"].as_str(), last["next_phase"].as_str()), (Some("scope_mismatch"), Some("planning")));
}

/// `--resume` takes a run id only: a path-like value is bad input (exit 2) before anything runs.
#[test]
fn resume_takes_only_a_run_id() {
    let repo = calc_repo();
    for bad in ["../../etc/passwd", "x/y", "", "20260101-000000-ZZZZ"] {
        let out = ai_tools(repo.path()).args(["codegen", "--resume", bad]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("is not a run id"), "{bad}: {stderr}");
    }
}
