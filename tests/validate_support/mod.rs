//! Shared test helpers: the real validators installed by `.ci/install-validators.sh`, test
//! repos that use them, and a loopback provider speaking Anthropic's real SSE wire format.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The worktree root, where `.venv/` and `node_modules/` live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (never skips) when a validator the tests need is missing.
pub fn require_tools() {
    let r = root();
    for p in [
        ".venv/bin/ruff",
        ".venv/bin/pyright",
        ".venv/bin/mypy",
        "node_modules/.bin/tsc",
        "node_modules/@types/react/index.d.ts",
        ".venv/bin/pytest",
        "node_modules/.bin/prettier",
        "node_modules/.bin/eslint",
        "node_modules/eslint-plugin-security/package.json",
        "node_modules/@typescript-eslint/parser/package.json",
    ] {
        assert!(
            r.join(p).exists(),
            "{p} is missing: these tests run the real validators; install them with `bash .ci/install-validators.sh` (the CI install script)"
        );
    }
}

/// Writes `content` to `root/rel`, creating parents.
pub fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A temp repo whose `.venv` and `node_modules` link to the worktree's installed validators,
/// as a real project's would hold its own.
pub fn repo() -> tempfile::TempDir {
    require_tools();
    let t = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join(".venv"), t.path().join(".venv")).unwrap();
    std::os::unix::fs::symlink(root().join("node_modules"), t.path().join("node_modules")).unwrap();
    t
}

/// A tsconfig for TSX with React's types from node_modules.
pub const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "ES2020",
    "module": "ESNext",
    "moduleResolution": "bundler",
    "jsx": "react-jsx",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "types": []
  },
  "include": ["src"]
}
"#;

/// Writes a task `t` with plan.md and plan.files.json listing `files` as `(path, action,
/// depends_on)`; returns the task dir.
pub fn plan(repo: &Path, files: &[(&str, &str, &[&str])]) -> PathBuf {
    let task = repo.join(".ai-tools/tasks/t");
    write(&task, "planning/plan.md", "# Test plan\n\nMake the files.\n");
    let entries: Vec<Value> = files
        .iter()
        .map(|(p, a, d)| json!({"path": p, "action": a, "description": format!("the {p} module"), "depends_on": d}))
        .collect();
    write(&task, "planning/plan.files.json", &serde_json::to_string_pretty(&json!({ "files": entries })).unwrap());
    task
}

/// One scripted reply of the loopback provider, as an SSE body.
pub type Reply = String;

fn sse(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn start(input: u64) -> String {
    sse(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_loop","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":input,"output_tokens":1}}}),
    )
}

fn stop(reason: &str, output: u64) -> String {
    sse(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":reason,"stop_sequence":null},"usage":{"output_tokens":output}}),
    ) + &sse("message_stop", json!({"type":"message_stop"}))
}

/// An Anthropic streamed text reply (as `anth_text.sse` records it).
pub fn anth_text(text: &str, input: u64, output: u64) -> Reply {
    let mut s = start(input);
    s += &sse(
        "content_block_start",
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    );
    s += &sse("ping", json!({"type": "ping"}));
    let mid = text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i);
    for part in [&text[..mid], &text[mid..]] {
        s += &sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":part}}),
        );
    }
    s += &sse("content_block_stop", json!({"type":"content_block_stop","index":0}));
    s + &stop("end_turn", output)
}

/// An Anthropic streamed reply of tool calls `(name, input)` (as `anth_tool.sse` records it:
/// the input arrives as `input_json_delta` fragments).
pub fn anth_tools(calls: &[(&str, Value)], input: u64, output: u64) -> Reply {
    let mut s = start(input);
    for (i, (name, args)) in calls.iter().enumerate() {
        s += &sse(
            "content_block_start",
            json!({"type":"content_block_start","index":i,"content_block":{"type":"tool_use","id":format!("toolu_{i}"),"name":name,"input":{}}}),
        );
        let j = args.to_string();
        let mid = j.char_indices().nth(j.chars().count() / 2).map_or(0, |(k, _)| k);
        for part in ["", &j[..mid], &j[mid..]] {
            s += &sse(
                "content_block_delta",
                json!({"type":"content_block_delta","index":i,"delta":{"type":"input_json_delta","partial_json":part}}),
            );
        }
        s += &sse("content_block_stop", json!({"type":"content_block_stop","index":i}));
    }
    s + &stop("tool_use", output)
}

fn oai_chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id":"chatcmpl-loop","object":"chat.completion.chunk","created":1723024761,"model":"gpt-test","choices":[{"index":0,"delta":delta,"logprobs":null,"finish_reason":finish}],"usage":null});
    format!("data: {c}\n\n")
}

fn oai_end(prompt: u64, completion: u64) -> String {
    let u = json!({"id":"chatcmpl-loop","object":"chat.completion.chunk","created":1723024761,"model":"gpt-test","choices":[],"usage":{"prompt_tokens":prompt,"completion_tokens":completion,"total_tokens":prompt + completion}});
    format!("data: {u}\n\ndata: [DONE]\n\n")
}

/// An OpenAI Chat Completions streamed text reply (as `oai_text.sse` records it).
pub fn oai_text(text: &str, prompt: u64, completion: u64) -> Reply {
    let mut s = oai_chunk(json!({"role":"assistant","content":"","refusal":null}), None);
    for line in text.split_inclusive('\n') {
        s += &oai_chunk(json!({ "content": line }), None);
    }
    s + &oai_chunk(json!({}), Some("stop")) + &oai_end(prompt, completion)
}

/// An OpenAI streamed reply of tool calls (as `oai_tool.sse` records it: arguments arrive as
/// string fragments accumulated by index).
pub fn oai_tools(calls: &[(&str, Value)], prompt: u64, completion: u64) -> Reply {
    let mut s = String::new();
    for (i, (name, args)) in calls.iter().enumerate() {
        let head =
            json!({"index":i,"id":format!("call_{i}"),"type":"function","function":{"name":name,"arguments":""}});
        s += &oai_chunk(json!({"role":"assistant","content":null,"tool_calls":[head]}), None);
        let j = args.to_string();
        let mid = j.char_indices().nth(j.chars().count() / 2).map_or(0, |(k, _)| k);
        for part in [&j[..mid], &j[mid..]] {
            s += &oai_chunk(json!({"tool_calls":[{"index":i,"function":{"arguments":part}}]}), None);
        }
    }
    s + &oai_chunk(json!({}), Some("tool_calls")) + &oai_end(prompt, completion)
}

/// An Ollama `/api/chat` streamed text reply (as `ollama_text.ndjson` records it).
pub fn ollama_text(text: &str, prompt_tokens: u64, eval_tokens: u64) -> Reply {
    let mut s = String::new();
    for line in text.split_inclusive('\n') {
        s += &json!({"model":"qwen2.5-coder:1.5b","created_at":"2026-11-22T05:30:00.000Z","message":{"role":"assistant","content":line},"done":false}).to_string();
        s.push('\n');
    }
    s += &json!({"model":"qwen2.5-coder:1.5b","created_at":"2026-11-22T05:30:00.150Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":prompt_tokens,"eval_count":eval_tokens}).to_string();
    s + "\n"
}

/// A loopback HTTP server playing scripted replies in order and keeping each request body.
pub struct Loopback {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Request bodies, in order.
    pub requests: Arc<Mutex<Vec<Value>>>,
}

impl Loopback {
    /// Starts serving `replies` as SSE (Anthropic, OpenAI); a request past the script gets
    /// HTTP 400.
    pub async fn start(replies: Vec<Reply>) -> Self {
        Self::start_as("text/event-stream", replies).await
    }

    /// Starts serving `replies` as NDJSON (Ollama's `/api/chat`).
    pub async fn start_ndjson(replies: Vec<Reply>) -> Self {
        Self::start_as("application/x-ndjson", replies).await
    }

    async fn start_as(content_type: &'static str, replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(replies.into_iter().collect::<std::collections::VecDeque<_>>()));
        let reqs = requests.clone();
        tokio::spawn(async move {
            // Bounded: a test never makes more than a few dozen requests.
            for _ in 0..64 {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let (reqs, script) = (reqs.clone(), script.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
                    reqs.lock().unwrap().push(body);
                    let next = script.lock().unwrap().pop_front();
                    let resp = match next {
                        Some(sse) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nrequest-id: req_loop\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{sse}",
                            sse.len()
                        ),
                        None => {
                            let b = r#"{"type":"error","error":{"type":"invalid_request_error","message":"no scripted reply left"}}"#;
                            format!(
                                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                                b.len()
                            )
                        }
                    };
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { url, requests }
    }

    /// The request bodies so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

/// The text of a request's (only) user message.
pub fn user_text(body: &Value) -> String {
    body["messages"][0]["content"].as_str().unwrap_or_default().to_owned()
}

/// Runs one codegen run on `session` through a real actor and collects its events until it is
/// ready or failed (each event within `secs` seconds); returns the events, the run id and the
/// run's JSON log.
pub async fn codegen_through_actor(
    session: ai_tools::orchestrator::Session,
    secs: u64,
) -> (Vec<ai_tools::orchestrator::Event>, String, serde_json::Value) {
    use ai_tools::orchestrator::{self, Command, Event, RunOptions};
    let task = session.task.clone();
    let (handle, mut rx, join) = orchestrator::spawn(session);
    handle.send(Command::Codegen(RunOptions::default()));
    let mut events = Vec::new();
    while let Some(e) = tokio::time::timeout(std::time::Duration::from_secs(secs), rx.recv()).await.unwrap() {
        let end = matches!(e, Event::Ready { .. } | Event::Failed { .. });
        events.push(e);
        if end {
            break;
        }
    }
    handle.send(Command::Shutdown);
    join.await.unwrap();
    let run_id = match events.iter().find(|e| matches!(e, Event::RunStarted { .. })) {
        Some(Event::RunStarted { run_id, .. }) => run_id.clone(),
        _ => panic!("no run: {events:#?}"),
    };
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(task.logs_dir().join(format!("run-{run_id}.json"))).unwrap()).unwrap();
    (events, run_id, log)
}

/// True in the child (run the body); in the parent, re-runs test `name` of this test binary
/// with `OPENAI_API_KEY` and `ANTHROPIC_API_KEY` set to `key` and asserts it passed — so a
/// test can check what its children see when the user's keys are in the environment.
pub fn in_child_with_keys(name: &str, key: &str) -> bool {
    if std::env::var("OPENAI_API_KEY").as_deref() == Ok(key) {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("OPENAI_API_KEY", key)
        .env("ANTHROPIC_API_KEY", key)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child test {name} failed:\n{text}");
    false
}
