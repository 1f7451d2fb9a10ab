//! `ai-tools regen` as a process against a loopback server speaking the OpenAI wire format:
//! a codegen run, a rejection with a reason, a regeneration whose prompt carries the reason,
//! the accepted hunk and the note, and a new diff in which the accepted hunk keeps its state;
//! dependents in wave order; scope violations and bad targets change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const OLD: &str = "import sys\n\n\ndef add(a, b):\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(1, 2))\n";
const NEW: &str = "import sys\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";
/// The regenerated candidate: the first change redone (a docstring), the second kept.
const NEW2: &str = "import sys\n\n\ndef add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";
const REASON: &str = "keep the signature untyped; document it with a docstring";

fn run(repo: &Path, server: &Server, args: &[&str]) -> (i32, String, String) {
    let out = ai_tools(repo)
        .args(args)
        .args(["--provider", "openai"])
        .env("OPENAI_BASE_URL", format!("{}/v1", server.url()))
        .env("OPENAI_API_KEY", "sk-test-loopback-0123456789")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fenced(text: &str) -> Reply {
    Reply::Sse(openai_text_stream(&format!("```python\n{text}```\n")))
}

/// Whether a request is a regeneration (its prompt shows the current candidate).
fn is_regen(r: &Request) -> bool {
    r.user_text().contains("## Current candidate of")
}

fn hunk_rows(repo: &Path, server: &Server) -> Vec<Value> {
    let (code, out, err) = run(repo, server, &["hunks", "--json"]);
    assert_eq!(code, 0, "{err}");
    ndjson(out.as_bytes())
}

#[test]
fn a_rejected_hunk_with_a_reason_is_regenerated_and_the_accepted_hunk_keeps_its_state() {
    let repo = repo_with(&[("calc/__init__.py", ""), ("calc/ops.py", OLD)]);
    let r = repo.path();
    write_task(
        r,
        "typed",
        "# Type the calculator\n",
        r#"{"files": [{"path": "calc/ops.py", "action": "modify", "description": "types and argv"}]}"#,
    );
    let server = serve(|req| if is_regen(req) { fenced(NEW2) } else { fenced(NEW) });
    let (code, _, err) = run(r, &server, &["codegen", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let rows = hunk_rows(r, &server);
    assert_eq!(rows.len(), 2);
    let (h1, h2) = (rows[0]["id"].as_str().unwrap().to_owned(), rows[1]["id"].as_str().unwrap().to_owned());

    let (code, _, err) = run(r, &server, &["hunks", "--accept", &h2, "--reject", &h1, "--reason", REASON]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(r, &server, &["regen", "calc/ops.py", "-m", "one line is enough"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("previous candidates are in code/candidates/1/"), "{out}");

    // The model saw the candidate, the rejection with its reason, the kept hunk and the note.
    let prompt = server.received().into_iter().filter(is_regen).map(|q| q.user_text()).next_back().unwrap();
    assert!(
        prompt.contains(&format!("Rejected hunk {h1}")) && prompt.contains(&format!("Reason: {REASON}")),
        "{prompt}"
    );
    assert!(prompt.contains(&format!("Accepted hunk {h2}")) && prompt.contains("+    print(add(int(sys.argv[1]), 2))"));
    assert!(prompt.contains("one line is enough") && prompt.contains("def add(a: int, b: int) -> int:"));

    // The new candidate's diff replaces the old one; the accepted hunk kept id and state.
    let task = r.join(".ai-tools/tasks/typed");
    assert_eq!(std::fs::read_to_string(task.join("code/files/calc/ops.py")).unwrap(), NEW2);
    assert_eq!(std::fs::read_to_string(task.join("code/candidates/1/files/calc/ops.py")).unwrap(), NEW);
    let record: Value =
        serde_json::from_slice(&std::fs::read(task.join("code/candidates/1/candidate.json")).unwrap()).unwrap();
    assert_eq!(
        (record["rejected"][0]["id"].as_str(), record["rejected"][0]["reason"].as_str()),
        (Some(h1.as_str()), Some(REASON))
    );
    let rows = hunk_rows(r, &server);
    let ids: Vec<&str> = rows.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&h1.as_str()));
    assert_eq!((rows[1]["id"].as_str(), rows[1]["state"].as_str()), (Some(h2.as_str()), Some("accepted")));
    assert_eq!(rows[0]["state"], "accepted");
    let patch = std::fs::read_to_string(task.join("code/diff.patch")).unwrap();
    assert!(patch.contains("+    \"\"\"Add two numbers.\"\"\"") && !patch.contains("a: int"), "{patch}");

    let (code, _, err) = run(r, &server, &["accept"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(r.join("calc/ops.py")).unwrap(), NEW2);
}

const FILES_JSON: &str = r#"{
  "files": [
    {"path": "calc/util.py", "action": "create", "description": "clamp helper"},
    {"path": "calc/ops.py", "action": "modify", "description": "use clamp in add", "depends_on": ["calc/util.py"]},
    {"path": "calc/cli.py", "action": "create", "description": "a CLI over ops", "depends_on": ["calc/ops.py"]},
    {"path": "calc/other.py", "action": "create", "description": "unrelated"}
  ]
}"#;

fn content(target: &str, regen: bool) -> String {
    let v = if regen { 2 } else { 1 };
    match target {
        "calc/util.py" => format!("def clamp(x, lo, hi):\n    return max(lo, min(x, hi))  # v{v}\n"),
        "calc/ops.py" => {
            format!("from calc.util import clamp\n\n\ndef add(a, b):\n    return clamp(a + b, -{v}, {v})\n")
        }
        "calc/cli.py" => format!("import sys\n\nfrom calc.ops import add\n\nprint(add(int(sys.argv[1]), {v}))\n"),
        "calc/other.py" => format!("OTHER = {v}\n"),
        other => panic!("unexpected target {other}"),
    }
}

fn calc() -> (tempfile::TempDir, Server) {
    let repo = repo_with(&[("calc/__init__.py", ""), ("calc/ops.py", "def add(a, b):\n    return a + b\n")]);
    write_task(repo.path(), "clamp", "# Clamp\n", FILES_JSON);
    let server = serve(|req| {
        let t = req.target().expect("prompt names its target");
        if is_regen(req) && req.user_text().contains("SCOPE") {
            return Reply::Sse(openai_text_stream("evil.py\n```python\nsteal()\n```\n"));
        }
        fenced(&content(&t, is_regen(req)))
    });
    let (code, _, err) = run(repo.path(), &server, &["codegen", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    (repo, server)
}

#[test]
fn with_dependents_regenerates_the_files_that_depend_on_it_in_wave_order() {
    let (repo, server) = calc();
    let r = repo.path();
    let (code, out, err) = run(r, &server, &["regen", "calc/util.py", "--with-dependents", "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    let order: Vec<(&str, bool)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["dependent"].as_bool().unwrap()))
        .collect();
    assert_eq!(order, vec![("calc/util.py", false), ("calc/ops.py", true), ("calc/cli.py", true)]);
    let regen: Vec<Request> = server.received().into_iter().filter(is_regen).collect();
    assert_eq!(
        regen.iter().map(|q| q.target().unwrap()).collect::<Vec<_>>(),
        ["calc/util.py", "calc/ops.py", "calc/cli.py"]
    );
    // ops.py was asked for with util.py as just regenerated.
    let ops = regen[1].user_text();
    assert!(ops.contains("Dependencies regenerated just now") && ops.contains("# v2"), "{ops}");
    let files = r.join(".ai-tools/tasks/clamp/code/files/calc");
    assert_eq!(std::fs::read_to_string(files.join("cli.py")).unwrap(), content("calc/cli.py", true));
    assert_eq!(std::fs::read_to_string(files.join("other.py")).unwrap(), content("calc/other.py", false));

    // A redo moves the review loop's candidates and findings aside with the run's outputs.
    let (code, _, err) = run(r, &server, &["codegen", "--redo", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let code_dir = r.join(".ai-tools/tasks/clamp/code");
    assert!(!code_dir.join("candidates").exists() && !code_dir.join("findings.json").exists());
    let archived: Vec<_> = std::fs::read_dir(code_dir.join("archive")).unwrap().flatten().collect();
    assert_eq!(archived.len(), 1);
    assert!(archived[0].path().join("candidates/1/files/calc/util.py").is_file());
}

#[test]
fn a_reply_outside_the_plan_or_a_bad_target_changes_nothing() {
    let (repo, server) = calc();
    let r = repo.path();
    let task = r.join(".ai-tools/tasks/clamp");
    let patch = std::fs::read(task.join("code/diff.patch")).unwrap();
    let (code, _, err) = run(r, &server, &["regen", "calc/other.py", "-m", "SCOPE"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("evil.py"), "{err}");
    assert_eq!(std::fs::read(task.join("code/diff.patch")).unwrap(), patch);
    assert!(!task.join("code/candidates").exists());
    for bad in ["calc/nope.py", "../etc/passwd"] {
        let (code, _, err) = run(r, &server, &["regen", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(task.join("code/files/calc/other.py")).unwrap(),
        content("calc/other.py", false)
    );
}
