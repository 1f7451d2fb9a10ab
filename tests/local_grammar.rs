//! The `local` provider's constrained decoding, repetition stop and seeds, against the real
//! default model through llama.cpp (no stubs): codegen replies are always one parseable fence,
//! repair replies are always a valid tool call, llama.cpp accepts exactly the replies our
//! grammars describe.
//!
//! Needs the model in the cache (`$AI_TOOLS_CACHE_DIR/models` or `~/.cache/ai-tools/models`):
//! run `cargo run --release -- model pull` (CI runs `.ci/install-model.sh`). Without it these
//! tests fail, on purpose.

// Test helpers panic on setup failures by design (clippy allows that only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "local_support/mod.rs"]
mod local_support;

use std::sync::Mutex;

use ai_tools::broker::grammar::{self, ROOT};
use ai_tools::broker::local::engine::{Constraint, GenParams, LocalModel, Stop};
use ai_tools::broker::local::guard::End;
use ai_tools::broker::local::{LocalProvider, default_threads};
use ai_tools::broker::{ChatRequest, ChatResponse, Provider, ReplyShape, StreamDelta, ToolChoice, candidate_seed};
use ai_tools::codegen::generate::{self, ReplyMode};
use ai_tools::codegen::prompt::Prompts;
use ai_tools::codegen::reply;
use ai_tools::plan::{Action, Plan, PlannedFile};
use ai_tools::repair::edits;
use ai_tools::task::relpath::RelPath;
use llama_cpp_2::sampling::LlamaSampler;
use serde_json::json;

fn provider(max_repeated_lines: u32) -> LocalProvider {
    local_support::provider(4096, 1.1, max_repeated_lines)
}

async fn collect(p: &LocalProvider, req: &ChatRequest) -> (ChatResponse, String) {
    let deltas = Mutex::new(String::new());
    let sink = |d: StreamDelta| {
        if let StreamDelta::Text(t) = d {
            deltas.lock().unwrap().push_str(&t);
        }
    };
    let r = p.stream(req, &sink).await.expect("generation");
    (r, deltas.into_inner().unwrap())
}

const SYSTEM: &str = "You are a careful Python programmer. Reply with code only.";

/// Small one-function tasks of the kind the pipeline's plans describe.
const TASKS: [&str; 4] = [
    "Write pkg/strings.py: a function `reverse_words(s: str) -> str` that reverses the order of the words in s.",
    "Write pkg/mathx.py: a function `is_prime(n: int) -> bool`.",
    "Write pkg/todo.py: a dataclass `Task` with a title and a done flag, and a function `pending(tasks)` that returns the tasks not done.",
    "Write a Markdown README for a command-line todo app, with a usage section showing shell commands in code blocks.",
];

fn codegen_request(task: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(SYSTEM, format!("{task}\n\nOutput only one fenced code block."), max_tokens);
    r.temperature = Some(0.0);
    r.reply_shape = Some(ReplyShape::FencedBlock { fence: 3, info: "python".into() });
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_codegen_grammar_every_reply_is_exactly_one_parseable_fence() {
    let p = provider(6);
    let mut seen = Vec::new();
    for (i, task) in TASKS.iter().enumerate() {
        // Greedy and sampled replies alike.
        for temperature in [0.0, 0.8] {
            let mut req = codegen_request(task, 256);
            req.temperature = Some(temperature);
            req.seed = Some(candidate_seed(None, i as u32));
            let (r, streamed) = collect(&p, &req).await;
            assert_eq!(streamed, r.text, "codegen text streams as usual");
            assert!(r.text.starts_with("```python\n"), "the reply opens with the fence: {:?}", r.text);
            let blocks = reply::fenced_blocks(&r.text);
            assert_eq!(blocks.len(), 1, "exactly one block: {:?}", r.text);
            if r.stop_reason.as_deref() == Some("stop") {
                assert!(blocks[0].closed && r.text.trim_end().ends_with("\n```"), "{:?}", r.text);
                assert!(r.usage.output_tokens < 256);
            } else {
                assert_eq!(r.stop_reason.as_deref(), Some("length"), "{:?}", r.text);
            }
            seen.push((r.stop_reason.clone(), blocks[0].content.lines().count()));
        }
    }
    // Generation stops at the closing fence: most replies end there, not at the token cap.
    let closed = seen.iter().filter(|(s, _)| s.as_deref() == Some("stop")).count();
    assert!(closed * 2 >= seen.len(), "{seen:?}");
    assert!(seen.iter().all(|(_, lines)| *lines > 0), "every block has code: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_edit_grammar_a_reply_is_search_replace_blocks_for_the_target() {
    let p = provider(6);
    let current = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n";
    let entry = PlannedFile {
        path: RelPath::new("calc/ops.py").unwrap(),
        action: Action::Modify,
        description: "Add `def sub(a, b): return a - b` after `add`.".into(),
        depends_on: vec![],
    };
    let plan = Plan::new(
        "Subtraction".into(),
        "# Subtraction\n\nAdd `sub(a, b)` to calc/ops.py.\n".into(),
        vec![entry.clone()],
        None,
        None,
    )
    .unwrap();
    let pkg = ai_tools::context::build(&plan, &entry, "calc/ops.py (60 B)\n", Some(current.into()), vec![], 3072);
    let (system, user) = generate::render(&Prompts::load(None).unwrap(), &pkg, ReplyMode::SearchReplace).unwrap();
    let mut req = ChatRequest::new(system, user, 300);
    req.temperature = Some(0.0);
    req.reply_shape = Some(generate::reply_shape(&pkg, ReplyMode::SearchReplace));
    let (r, _) = collect(&p, &req).await;
    assert_eq!(r.stop_reason.as_deref(), Some("stop"), "the reply ends after a block: {:?}", r.text);
    let blocks = reply::search_replace_blocks(&r.text).unwrap_or_else(|e| panic!("{e}: {:?}", r.text));
    assert!(!blocks.is_empty(), "{:?}", r.text);
    assert!(blocks.iter().all(|b| b.declared.as_deref() == Some("calc/ops.py")), "{blocks:?}");
}

/// The repair request the loop sends for `content` with `findings`, tools offered.
fn repair_request(path: &str, content: &str, findings: serde_json::Value) -> ChatRequest {
    let prompts = Prompts::load(None).unwrap();
    let system = prompts.render("repair-python.md.j2", &json!({ "path": path })).unwrap();
    let user = prompts
        .render(
            "repair.md.j2",
            &json!({
                "path": path, "lang": "python", "content": content, "findings": findings, "attempt": 1,
                "max_attempts": 2, "tools": true, "preservation_warning": false, "edit_error": null,
            }),
        )
        .unwrap();
    let mut r = ChatRequest::new(system, user, 400);
    r.temperature = Some(0.0);
    r.tools = edits::tool_specs();
    r.tool_choice = ToolChoice::Any;
    r
}

fn finding(line: u32, column: u32, tool: &str, code: &str, category: &str, message: &str) -> serde_json::Value {
    json!({"line": line, "column": column, "tool": tool, "code": code, "category": category, "message": message})
}

const F821: &str = "\"\"\"Order totals.\"\"\"\n\n\ndef total(items: list[int]) -> int:\n    \"\"\"Sum the items.\"\"\"\n    return sum(itms)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_models_repair_of_an_f821_arrives_as_a_patch_file_call() {
    let p = provider(6);
    assert_eq!((p.capabilities().tools, p.capabilities().tool_choice), (true, true), "repair offers the tools");
    let findings = json!([finding(6, 16, "ruff", "F821", "undefined_name", "Undefined name `itms`")]);
    let (r, streamed) = collect(&p, &repair_request("app.py", F821, findings)).await;
    assert_eq!(r.stop_reason.as_deref(), Some("tool_use"), "{r:?}");
    assert!(r.text.is_empty() && streamed.is_empty(), "a tool call is not reply text: {r:?}");
    assert_eq!(r.tool_calls.len(), 1, "{r:?}");
    let call = &r.tool_calls[0];
    assert_eq!(call.name, "patch_file", "{call:?}");
    let (old, new) = (call.arguments["old_string"].as_str(), call.arguments["new_string"].as_str());
    assert!(old.is_some() && new.is_some(), "both arguments are strings: {call:?}");
    // The call goes through the same code as a remote provider's; whether the 135M model's
    // edit applies is its business, but an error must be one the next attempt can read.
    if let Err(e) = edits::apply_tool_calls(F821, &r.tool_calls) {
        assert!(e.contains("patch_file"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tools_offered_every_repair_reply_is_a_valid_tool_call() {
    let p = provider(6);
    let cases = [
        (
            "pkg/util.py",
            "import os\n\n\ndef home() -> str:\n    return os.environ['HOME']\n\n\ndef join(a, b):\n    return os.path.join(a, b\n",
            json!([finding(9, 29, "syntax", "syntax", "syntax", "`(` was never closed")]),
        ),
        (
            "pkg/shapes.py",
            "def area(w: int, h: int) -> int:\n    return w * h\n\n\ndef perimeter(w: int, h: int) -> int:\n    return 2 * (w + h)\n\n\nprint(area(2, '3'))\n",
            json!([finding(
                9,
                15,
                "pyright",
                "reportArgumentType",
                "type_error",
                "Argument of type \"Literal['3']\" cannot be assigned to parameter \"h\" of type \"int\""
            )]),
        ),
        (
            "pkg/io.py",
            "def read(path):\n    with open(path) as f:\n        return json.load(f)\n",
            json!([finding(3, 16, "ruff", "F821", "undefined_name", "Undefined name `json`")]),
        ),
    ];
    for (path, content, findings) in cases {
        let req = repair_request(path, content, findings);
        let (r, _) = collect(&p, &req).await;
        assert_eq!(r.tool_calls.len(), 1, "{path}: {r:?}");
        let call = &r.tool_calls[0];
        let keys: Vec<&str> = call.arguments.as_object().unwrap().keys().map(String::as_str).collect();
        match call.name.as_str() {
            "patch_file" => assert_eq!(keys, ["old_string", "new_string"], "{call:?}"),
            "write_file" => assert_eq!(keys, ["content"], "{call:?}"),
            other => panic!("{path}: not an offered tool: {other}"),
        }
        assert!(call.arguments.as_object().unwrap().values().all(serde_json::Value::is_string), "{call:?}");
        // A named tool choice leaves only that tool.
        let mut named = req.clone();
        named.tool_choice = ToolChoice::Named("write_file".into());
        named.max_tokens = 300;
        let (r, _) = collect(&p, &named).await;
        if r.stop_reason.as_deref() == Some("tool_use") {
            assert_eq!(r.tool_calls[0].name, "write_file", "{r:?}");
        } else {
            assert_eq!(r.stop_reason.as_deref(), Some("length"), "{r:?}");
            assert!(r.text.starts_with(r#"{"name": "write_file", "arguments": {"content": ""#), "{:?}", r.text);
        }
    }
}

#[test]
fn a_line_repeated_past_the_limit_stops_the_stream() {
    // The loop is forced by a grammar (twelve copies of one line and nothing else), so the test
    // does not depend on the 135M model choosing to loop.
    let m = LocalModel::load(&local_support::model_path()).expect("load");
    let loop_grammar = Constraint { gbnf: format!("{ROOT} ::= (\"total = total + 1\\n\"){{12}}"), end: End::Model };
    let prompt = m.prompt(&ChatRequest::new(SYSTEM, "Add one to total, many times.", 10)).unwrap();
    let params = |max_repeated_lines| GenParams {
        max_tokens: 120,
        temperature: Some(0.0),
        top_p: None,
        seed: None,
        threads: default_threads(),
        n_ctx: 2048,
        repeat_penalty: 1.0,
        max_repeated_lines,
    };
    let mut streamed = String::new();
    let g = m.generate(&prompt, &params(4), Some(&loop_grammar), &|| false, &mut |t| streamed.push_str(t)).unwrap();
    assert_eq!(g.stop, Stop::Repetition, "{:?}", g.text);
    assert_eq!(streamed, g.text, "the text keeps what streamed");
    assert_eq!(g.text, "total = total + 1\n".repeat(5), "stops on the fifth copy with a limit of 4");
    let unlimited = m.generate(&prompt, &params(0), Some(&loop_grammar), &|| false, &mut |_| {}).unwrap();
    assert!(matches!(unlimited.stop, Stop::EndOfGeneration | Stop::MaxTokens), "{:?}", unlimited.stop);
    assert!(
        unlimited.text.starts_with(&g.text) && unlimited.text.lines().count() > 5,
        "without a limit the loop goes on: {:?}",
        unlimited.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_seeds_give_distinct_candidates_and_a_seed_repeats_its_sample() {
    let p = provider(6);
    let base = codegen_request(TASKS[0], 120);
    let mut texts = Vec::new();
    for i in 0..3 {
        texts.push(collect(&p, &base.candidate(i, 0.8)).await.0.text);
    }
    assert!(texts[0] != texts[1] && texts[1] != texts[2] && texts[0] != texts[2], "{texts:#?}");
    let again = collect(&p, &base.candidate(1, 0.8)).await.0.text;
    assert_eq!(again, texts[1], "the same seed draws the same sample");
    // Temperature 0 is greedy: the seed does not matter.
    let (g0, g1) =
        (collect(&p, &base.candidate(0, 0.0)).await.0.text, collect(&p, &base.candidate(5, 0.0)).await.0.text);
    assert_eq!(g0, g1);
}

/// Feeds `text`'s tokens to llama.cpp's grammar sampler for `gbnf`; true when every token is
/// accepted.
fn llama_accepts(m: &LocalModel, gbnf: &str, text: &str) -> bool {
    let mut g = LlamaSampler::grammar(m.llama(), gbnf, ROOT).expect("llama.cpp parses the grammar");
    let tokens = m.llama().vocab().tokenize(text.as_bytes(), false, false);
    tokens.iter().all(|t| g.try_accept(*t).is_ok())
}

#[test]
fn llama_cpp_accepts_exactly_the_replies_the_grammars_describe() {
    let m = LocalModel::load(&local_support::model_path()).expect("load");
    let tools = grammar::tool_call(&edits::tool_specs(), &ToolChoice::Any).unwrap();
    let call =
        json!({"name": "patch_file", "arguments": {"old_string": "sum(itms)", "new_string": "sum(items)\n\t\"x\""}});
    let call = call.to_string().replace("\":", "\": ").replace(",\"", ", \"");
    assert!(llama_accepts(&m, &tools, &call), "{call}");
    assert!(llama_accepts(&m, &tools, r#"{"name": "write_file", "arguments": {"content": "x = 1\n"}}"#));
    for bad in [
        r#"{"name": "delete_repo", "arguments": {}}"#,
        r#"{"name": "write_file", "arguments": {"content": "x", "path": "/etc/passwd"}}"#,
        r#"{"name": "patch_file", "arguments": {"new_string": "a", "old_string": "b"}}"#,
        "Sure! Here is the fix:",
        "{\"name\": \"write_file\", \"arguments\": {\"content\": \"raw\nnewline\"}}",
    ] {
        assert!(!llama_accepts(&m, &tools, bad), "accepted {bad}");
    }

    let fence = grammar::fenced_block(3, "python");
    assert!(llama_accepts(&m, &fence, "```python\ndef f():\n    s = '```'\n    ``x\n\n```"));
    assert!(llama_accepts(&m, &fence, "```python\n    ```\n```\n"), "four spaces: content, not a fence");
    assert!(!llama_accepts(&m, &fence, "Here:\n```python\nx = 1\n```"), "nothing before the fence");
    assert!(!llama_accepts(&m, &fence, "```python\nx = 1\n```\nDone."), "nothing after it");
    assert!(!llama_accepts(&m, &fence, "```python\nx = 1\n  ```python\n"), "no early close");

    let sr = grammar::search_replace("calc/ops.py");
    let ok = "calc/ops.py\n<<<<<<< SEARCH\na = 1\n=======\na = 2\n>>>>>>> REPLACE\n";
    assert!(llama_accepts(&m, &sr, &format!("{ok}{ok}")));
    assert!(!llama_accepts(&m, &sr, &ok.replace("calc/ops.py", "evil.py")), "only the target");
    assert!(!llama_accepts(&m, &sr, &ok.replace("a = 1\n", "=====\n")), "no divider inside SEARCH");
}
