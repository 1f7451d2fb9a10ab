#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The repair loop end to end: a codegen run whose model is a loopback server speaking
//! Anthropic's real SSE wire format, the real validators (ruff, pyright, the syntax check), and
//! the outcome in code/files, diff.patch, the events and the run log.

#[path = "validate_support/mod.rs"]
mod common;

use std::sync::Arc;

use ai_tools::config::Config;
use ai_tools::orchestrator::{Event, Session};
use ai_tools::task::TaskDir;
use common::{Loopback, anth_text, anth_tools, user_text};
use serde_json::{Value, json};

const BROKEN: &str = "\"\"\"Order totals.\"\"\"\n\n\ndef total(items: list[int]) -> int:\n    \"\"\"Sum the items.\"\"\"\n    return sum(itms)\n\n\ndef count(items: list[int]) -> int:\n    \"\"\"Count the items.\"\"\"\n    return len(items)\n";

fn fixed(s: &str) -> String {
    s.replace("sum(itms)", "sum(items)")
}

fn codegen_reply(content: &str) -> String {
    anth_text(&format!("app.py\n```python\n{content}```\n"), 1000, 200)
}

struct Run {
    events: Vec<Event>,
    task: TaskDir,
    bodies: Vec<Value>,
    log: Value,
    _repo: tempfile::TempDir,
}

impl Run {
    fn file(&self) -> String {
        std::fs::read_to_string(self.task.files_dir().join("app.py")).unwrap()
    }
    fn attempts(&self) -> Vec<Value> {
        let steps = self.log["steps"].as_array().unwrap();
        let repair = steps.iter().find(|s| s["name"] == "repair" && s["parent"].is_null()).unwrap();
        repair["repair_attempts"].as_array().unwrap().clone()
    }
    fn step(&self, name: &str) -> Value {
        self.log["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned().unwrap()
    }
}

/// Runs codegen for a one-file plan (`app.py`) with `replies` scripted.
async fn run(replies: Vec<String>) -> Run {
    run_as("anthropic", replies).await
}

/// As [`run`], through provider kind `provider` (`anthropic` or `ollama`).
async fn run_as(provider: &str, replies: Vec<String>) -> Run {
    run_with(provider, replies, |_| {}).await
}

/// As [`run_as`], with the configuration changed by `tweak`.
async fn run_with(provider: &str, replies: Vec<String>, tweak: impl FnOnce(&mut Config)) -> Run {
    let t = common::repo();
    let task = TaskDir::new(common::plan(t.path(), &[("app.py", "create", &[])]));
    let lb = if provider == "ollama" { Loopback::start_ndjson(replies).await } else { Loopback::start(replies).await };
    let mut config = Config { provider: Some(provider.into()), ..Config::default() };
    config.retry.max_retries = 0;
    tweak(&mut config);
    let url = lb.url.clone();
    let session = Session {
        repo: t.path().to_path_buf(),
        task: task.clone(),
        config,
        env: Arc::new(move |k: &str| match k {
            "ANTHROPIC_API_KEY" => Some("sk-ant-loopback-secret-0001".into()),
            "OPENAI_API_KEY" => Some("sk-oai-loopback-secret-0003".into()),
            "ANTHROPIC_BASE_URL" | "OLLAMA_HOST" => Some(url.clone()),
            "OPENAI_BASE_URL" => Some(format!("{url}/v1")),
            _ => None,
        }),
        prompt_dir: None,
    };
    let (events, run_id, log) = common::codegen_through_actor(session, 120).await;
    assert!(task.logs_dir().join(format!("run-{run_id}.md")).exists());
    let bodies = lb.bodies();
    let secret_free = bodies.iter().chain(std::iter::once(&log)).all(|b| !b.to_string().contains("loopback-secret"));
    assert!(secret_free, "the API key never reaches a request body or a log");
    Run { events, task, bodies, log, _repo: t }
}

fn ready(r: &Run) -> &ai_tools::orchestrator::summary::Summary {
    match r.events.last() {
        Some(Event::Ready { summary }) => summary,
        other => panic!("not ready: {other:#?}"),
    }
}

fn repair_request_ok(body: &Value) {
    let tools: Vec<&str> = body["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tools, vec!["patch_file", "write_file"]);
    for t in body["tools"].as_array().unwrap() {
        assert!(t["input_schema"]["properties"].get("path").is_none(), "no tool takes a path");
    }
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert!(body["system"].as_str().unwrap().contains("Python source file"), "{}", body["system"]);
    assert!(user_text(body).starts_with("Target file: app.py\n"), "{}", user_text(body));
}

#[tokio::test(flavor = "multi_thread")]
async fn success_on_attempt_one_with_write_file() {
    let r =
        run(vec![codegen_reply(BROKEN), anth_tools(&[("write_file", json!({ "content": fixed(BROKEN) }))], 300, 50)])
            .await;
    assert_eq!(r.file(), fixed(BROKEN));
    assert_eq!(r.bodies.len(), 2);
    repair_request_ok(&r.bodies[1]);
    let prompt = user_text(&r.bodies[1]);
    assert!(prompt.contains("line 6, column 16: ruff F821 (undefined_name): Undefined name `itms`"), "{prompt}");
    assert!(prompt.contains("pyright reportUndefinedVariable (undefined_name)"), "{prompt}");

    let s = ready(&r);
    assert_eq!((s.validation_errors_before_repair, s.errors_surviving_repair, s.repair_attempts), (2, 0, 1));
    assert_eq!(s.run_log.as_deref().map(|p| p.exists()), Some(true));
    let patch = std::fs::read_to_string(r.task.diff_patch()).unwrap();
    assert!(patch.contains("+    return sum(items)") && !patch.contains("itms"), "diff.patch is re-derived: {patch}");

    assert_eq!(
        (r.log["validation_errors_before_repair"].as_u64(), r.log["errors_surviving_repair"].as_u64()),
        (Some(2), Some(0))
    );
    let a = r.attempts();
    assert_eq!(a.len(), 1);
    assert_eq!((a[0]["attempt"].as_u64(), a[0]["success"].as_bool()), (Some(1), Some(true)));
    assert_eq!((a[0]["errors_in"].as_array().unwrap().len(), a[0]["errors_out"].as_array().unwrap().len()), (2, 0));
    assert_eq!((a[0]["input_tokens"].as_u64(), a[0]["output_tokens"].as_u64()), (Some(300), Some(50)));
    assert!(a[0].get("candidates").is_none(), "one reply per attempt records no candidates: {}", a[0]);
    let repair = r.step("repair");
    assert_eq!(
        (repair["repair_success_rate"].as_f64(), repair["tokens_spent_on_repair"].as_u64()),
        (Some(1.0), Some(350))
    );
    let validate = r.step("validate");
    let cats: Vec<&str> =
        validate["validation_errors"].as_array().unwrap().iter().map(|e| e["category"].as_str().unwrap()).collect();
    assert_eq!(cats, vec!["undefined_name", "undefined_name"]);
    let names: Vec<&str> = r.log["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        // `check app.py`: the file's candidate and its checks, as soon as it was generated.
        vec![
            "context",
            "generate",
            "check app.py",
            "wave 1",
            "materialize",
            "format",
            "diff",
            "validate",
            "test",
            "repair",
            "repair app.py",
            "ready"
        ]
    );
    assert_eq!(r.step("generate")["tokens"].as_u64(), Some(1200));
    assert_eq!(r.log["status"], "ready");

    // The live event stream carries the findings and the attempt.
    assert!(r.events.iter().any(|e| matches!(e, Event::ValidationReported { findings, .. } if findings.len() == 2)));
    assert!(r.events.iter().any(|e| matches!(e, Event::RepairAttempted { repair } if repair.success)));
    assert!(r.events.iter().any(|e| matches!(e, Event::FileRepaired { success: true, changed: true, .. })));
    assert!(r.events.iter().any(|e| matches!(e, Event::RunLogWritten { .. })));
}

const TWICE: &str = "\"\"\"Values.\"\"\"\n\nvalue = 1\n\n\ndef first() -> int:\n    return valu\n\n\ndef second() -> int:\n    return valu\n\n\ndef third() -> int:\n    return value\n";

#[tokio::test(flavor = "multi_thread")]
async fn success_on_attempt_two_after_a_non_unique_patch() {
    let unique = |f: &str| json!({"old_string": format!("def {f}() -> int:\n    return valu\n"), "new_string": format!("def {f}() -> int:\n    return value\n")});
    let r = run(vec![
        anth_text(&format!("```python\n{TWICE}```\n"), 1000, 200),
        anth_tools(
            &[("patch_file", json!({"old_string": "    return valu\n", "new_string": "    return value\n"}))],
            400,
            30,
        ),
        anth_tools(&[("patch_file", unique("first")), ("patch_file", unique("second"))], 500, 60),
    ])
    .await;
    assert_eq!(r.file(), TWICE.replace("return valu\n", "return value\n"));
    let second = user_text(&r.bodies[2]);
    assert!(second.contains("Repair attempt 2 of 2."), "{second}");
    assert!(second.contains("is not unique: it occurs 2 times"), "the patch error is fed into attempt 2: {second}");
    let a = r.attempts();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["success"], false);
    assert!(a[0]["rejected"].as_str().unwrap().contains("not unique"));
    assert_eq!(a[0]["errors_out"], a[0]["errors_in"]);
    assert_eq!(a[0]["errors_in"].as_array().unwrap().len(), 4);
    assert_eq!((a[1]["success"].as_bool(), a[1]["errors_out"].as_array().unwrap().len()), (Some(true), 0));
    let repair = r.step("repair");
    assert_eq!(
        (repair["repair_success_rate"].as_f64(), repair["tokens_spent_on_repair"].as_u64()),
        (Some(0.5), Some(990))
    );
    let s = ready(&r);
    assert_eq!((s.validation_errors_before_repair, s.errors_surviving_repair, s.repair_attempts), (4, 0, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fifty_percent_guardrail_rejects_a_rewrite_and_warns_the_next_attempt() {
    let rewrite = "from functools import reduce\n\n\ndef total(xs):\n    return reduce(lambda a, b: a + b, xs, 0)\n\n\ndef count(xs):\n    return len(xs)\n";
    let r = run(vec![
        codegen_reply(BROKEN),
        anth_tools(&[("write_file", json!({ "content": rewrite }))], 300, 80),
        anth_tools(&[("patch_file", json!({"old_string": "sum(itms)", "new_string": "sum(items)"}))], 320, 20),
    ])
    .await;
    assert_eq!(r.file(), fixed(BROKEN), "the rewrite never reaches code/files");
    let second = user_text(&r.bodies[2]);
    assert!(second.contains("WARNING: your previous attempt changed more than half of the file's lines"), "{second}");
    assert!(!user_text(&r.bodies[1]).contains("WARNING"));
    let a = r.attempts();
    assert_eq!(a.len(), 2);
    assert!(
        a[0]["rejected"].as_str().unwrap().contains("of the file's lines (limit 50%, or at most 6 lines)"),
        "{}",
        a[0]["rejected"]
    );
    assert_eq!(a[0]["success"], false);
    assert_eq!(a[1]["success"], true);
    let s = ready(&r);
    assert_eq!((s.errors_surviving_repair, s.repair_attempts), (0, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn exhaustion_keeps_the_content_with_the_fewest_findings() {
    let two = BROKEN.replace("len(items)", "len(cnt)");
    let after_one = fixed(&two);
    let r = run(vec![
        codegen_reply(&two),
        anth_tools(&[("patch_file", json!({"old_string": "sum(itms)", "new_string": "sum(items)"}))], 300, 20),
        anth_tools(
            &[("patch_file", json!({"old_string": "len(cnt)", "new_string": "len(cnt) + bogus_one + bogus_two"}))],
            310,
            25,
        ),
    ])
    .await;
    assert_eq!(r.file(), after_one, "the best attempt (fewest findings) is kept");
    let a = r.attempts();
    let counts: Vec<(usize, usize, bool)> = a
        .iter()
        .map(|x| {
            (
                x["errors_in"].as_array().unwrap().len(),
                x["errors_out"].as_array().unwrap().len(),
                x["success"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, vec![(4, 2, false), (2, 6, false)]);
    let s = ready(&r);
    assert_eq!((s.validation_errors_before_repair, s.errors_surviving_repair, s.repair_attempts), (4, 2, 2));
    assert_eq!(r.log["errors_surviving_repair"], 2);
    let left = r.step("repair")["validation_errors"].as_array().unwrap().clone();
    assert!(left.iter().all(|e| e["message"].as_str().unwrap().contains("cnt")), "{left:?}");
    assert!(
        r.events.iter().any(|e| matches!(e, Event::FileRepaired { success: false, remaining: 2, changed: true, .. }))
    );
    let md = std::fs::read_to_string(ready(&r).run_log.as_ref().unwrap()).unwrap();
    assert!(md.contains("- Errors surviving repair: 2"), "{md}");
    assert!(md.contains("| repair | app.py | 11 | ruff | F821 | undefined_name | Undefined name `cnt` |"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_candidates_keep_the_reply_with_the_fewest_findings() {
    // `[repair] candidates = 3`: the first reply leaves both findings, the second fixes the
    // file, so the attempt keeps #2 and samples no third.
    let no_op = json!({"old_string": "return len(items)", "new_string": "return len(list(items))"});
    let r = run_with(
        "anthropic",
        vec![
            codegen_reply(BROKEN),
            anth_tools(&[("patch_file", no_op)], 300, 20),
            anth_tools(&[("patch_file", json!({"old_string": "sum(itms)", "new_string": "sum(items)"}))], 310, 25),
        ],
        |c| c.repair.candidates = 3,
    )
    .await;
    assert_eq!(r.file(), fixed(BROKEN));
    assert_eq!(r.bodies.len(), 3, "sampling stops at a clean candidate");
    assert_eq!(user_text(&r.bodies[1]), user_text(&r.bodies[2]), "candidates answer the same prompt");
    let t1 = r.bodies[1]["temperature"].as_f64().unwrap_or_default();
    assert!((t1 - 0.7).abs() > 1e-3, "#1 is the plain request: {t1}");
    let t = r.bodies[2]["temperature"].as_f64().unwrap();
    assert!((t - 0.7).abs() < 1e-6, "#2 samples at [generate] candidate_temperature: {t}");

    let a = r.attempts();
    assert_eq!(a.len(), 1, "one attempt, two candidates");
    assert_eq!(
        (a[0]["success"].as_bool(), a[0]["input_tokens"].as_u64(), a[0]["output_tokens"].as_u64()),
        (Some(true), Some(610), Some(45)),
        "an attempt's tokens are the sum of its candidates'"
    );
    let c: Vec<(u64, u64, bool)> = a[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["number"].as_u64().unwrap(), c["findings"].as_u64().unwrap(), c["kept"].as_bool().unwrap()))
        .collect();
    assert_eq!(c, vec![(1, 2, false), (2, 0, true)]);
    let s = ready(&r);
    assert_eq!((s.errors_surviving_repair, s.repair_attempts), (0, 1));
    let md = std::fs::read_to_string(s.run_log.as_ref().unwrap()).unwrap();
    assert!(md.contains("2 candidates, kept #2 (0 findings)"), "{md}");
    let line = r.events.iter().find_map(|e| match e {
        Event::RepairAttempted { .. } => ai_tools::ui::describe::line(e),
        _ => None,
    });
    assert!(line.is_some_and(|l| l.contains("2 candidates, kept #2")), "the event line names the choice");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_no_repair_candidate_applies_the_attempt_keeps_none_and_the_next_hears_why() {
    let missing = |text: &str| json!({"old_string": text, "new_string": "x"});
    let r = run_with(
        "anthropic",
        vec![
            codegen_reply(BROKEN),
            anth_tools(&[("patch_file", missing("sum(ghost)"))], 300, 20),
            anth_tools(&[("patch_file", missing("len(ghost)"))], 300, 20),
            anth_tools(&[("patch_file", json!({"old_string": "sum(itms)", "new_string": "sum(items)"}))], 310, 25),
        ],
        |c| c.repair.candidates = 2,
    )
    .await;
    assert_eq!(r.file(), fixed(BROKEN));
    let a = r.attempts();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["success"], false);
    assert!(a[0]["rejected"].as_str().unwrap().contains("`sum(ghost)` was not found"), "{}", a[0]);
    let c = a[0]["candidates"].as_array().unwrap();
    assert!(c.iter().all(|c| c["kept"] == false && c["findings"].is_null()), "{c:?}");
    assert!(user_text(&r.bodies[3]).contains("Your previous edit could not be applied"), "{}", user_text(&r.bodies[3]));
    assert_eq!(a[1]["success"], true);
    let md = std::fs::read_to_string(ready(&r).run_log.as_ref().unwrap()).unwrap();
    assert!(md.contains("2 candidates, kept none"), "{md}");
    assert!(md.contains("1 candidate, kept #1 (0 findings)"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_tool_call_a_search_replace_reply_repairs_the_file() {
    // Ollama has tools but no tool choice: a model may answer in text, which is parsed as in
    // codegen (SEARCH/REPLACE blocks here).
    let r = run_as(
        "ollama",
        vec![
            common::ollama_text(&format!("```python\n{BROKEN}```\n"), 800, 150),
            common::ollama_text(
                "app.py\n<<<<<<< SEARCH\n    return sum(itms)\n=======\n    return sum(items)\n>>>>>>> REPLACE\n",
                250,
                30,
            ),
        ],
    )
    .await;
    assert_eq!(r.file(), fixed(BROKEN));
    let body = &r.bodies[1];
    assert!(body.get("tool_choice").is_none(), "Ollama takes tools but no tool choice");
    assert_eq!(body["tools"].as_array().map(Vec::len), Some(2));
    let a = r.attempts();
    assert_eq!((a.len(), a[0]["success"].as_bool(), a[0]["input_tokens"].as_u64()), (1, Some(true), Some(250)));
    assert_eq!(ready(&r).errors_surviving_repair, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_tool_calls_repair_the_file_with_tool_choice_required() {
    let r = run_as(
        "openai",
        vec![
            common::oai_text(&format!("```python\n{BROKEN}```\n"), 700, 140),
            common::oai_tools(
                &[("patch_file", json!({"old_string": "sum(itms)", "new_string": "sum(items)"}))],
                260,
                35,
            ),
        ],
    )
    .await;
    assert_eq!(r.file(), fixed(BROKEN));
    let body = &r.bodies[1];
    assert_eq!(body["tool_choice"], "required", "tool choice \"any\" on the OpenAI wire");
    let tools: Vec<&str> =
        body["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(tools, vec!["patch_file", "write_file"]);
    let a = r.attempts();
    assert_eq!((a.len(), a[0]["success"].as_bool(), a[0]["output_tokens"].as_u64()), (1, Some(true), Some(35)));
    let s = ready(&r);
    assert_eq!((s.validation_errors_before_repair, s.errors_surviving_repair), (2, 0));
}

const INSECURE: &str = "\"\"\"Run commands.\"\"\"\n\nimport subprocess\n\n\ndef run(cmd: str) -> int:\n    \"\"\"Run a shell command.\"\"\"\n    return subprocess.call(cmd, shell=True)\n\n\ndef calc() -> object:\n    \"\"\"Evaluate what the user types.\"\"\"\n    return eval(input())\n";

#[tokio::test(flavor = "multi_thread")]
async fn security_findings_from_ruff_are_repaired_like_errors() {
    let secure = INSECURE
        .replace("import subprocess\n", "import ast\nimport shlex\nimport subprocess\n")
        .replace("subprocess.call(cmd, shell=True)", "subprocess.call(shlex.split(cmd))")
        .replace("eval(input())", "ast.literal_eval(input())");
    let r =
        run(vec![codegen_reply(INSECURE), anth_tools(&[("write_file", json!({ "content": secure }))], 300, 50)]).await;
    let validate = r.step("validate");
    let found: Vec<(u64, String, String, String)> = validate["validation_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("error").to_owned();
            (e["line"].as_u64().unwrap(), s("code"), s("category"), s("severity"))
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (8, "S602".into(), "security".into(), "error".into()),
            (13, "S307".into(), "security".into(), "error".into()),
        ],
        "high-severity security findings (severity error is left out of the log as the default)"
    );
    let prompt = user_text(&r.bodies[1]);
    assert!(prompt.contains("ruff S602 (security)"), "{prompt}");
    assert_eq!(r.file(), secure);
    let s = ready(&r);
    assert_eq!((s.validation_errors_before_repair, s.errors_surviving_repair, s.repair_attempts), (2, 0, 1));
}
