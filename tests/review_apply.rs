//! Aggressive mode end to end: `ai-tools codegen --apply` against a loopback OpenAI-format
//! server writes the generated file into the working tree through the accept engine and stages
//! exactly that path; an unrelated dirty file stays unstaged.

#![allow(clippy::unwrap_used)]

#[path = "review_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

use support::Fx;

/// Serves every chat completion with `reply`, streamed in the OpenAI SSE format.
fn serve(reply: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let v = serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null
        });
        format!("data: {v}\n\n")
    };
    let mut body = chunk(serde_json::json!({"role": "assistant", "content": ""}), None);
    body.push_str(&chunk(serde_json::json!({"content": reply}), None));
    body.push_str(&chunk(serde_json::json!({}), Some("stop")));
    body.push_str(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-test\",\
         \"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\ndata: [DONE]\n\n",
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut req = vec![0; len];
            let _ = reader.read_exact(&mut req);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}

#[test]
fn codegen_apply_writes_through_the_accept_engine_and_stages_the_paths() {
    let fx = Fx::git_repo();
    fx.write("app.py", "def main():\n    print('old')\n");
    fx.write("notes.txt", "n1\n");
    fx.git(&["add", "."]);
    fx.git(&["commit", "-qm", "init"]);
    fx.write("notes.txt", "n2, my own edit\n");
    std::fs::write(
        fx.task.plan_files_json(),
        r#"{"files": [{"path": "app.py", "action": "modify", "description": "print new"}]}"#,
    )
    .unwrap();
    let url = serve("```python\ndef main():\n    print('new')\n```\n");
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ai-tools"))
        .args(["codegen", "--apply", "--quiet", "--provider", "openai", "--model", "gpt-test", "--repo"])
        .arg(&fx.repo)
        .arg("--task")
        .arg(fx.task.root())
        .env("OPENAI_BASE_URL", &url)
        .env("OPENAI_API_KEY", "sk-test")
        .env("AI_TOOLS_CONFIG", home.path().join("none.toml"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OLLAMA_HOST")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(fx.text("app.py"), "def main():\n    print('new')\n");
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]).trim(), "app.py");
    assert_eq!(fx.git(&["diff", "--name-only"]).trim(), "notes.txt", "the user's edit stays unstaged");
    assert!(std::fs::read(fx.task.diff_patch()).unwrap().is_empty(), "everything landed");
    assert!(fx.task.accepts_dir().join("1/accept.json").is_file(), "the apply can be undone");
    // Undo from the same user (the same HOME: the accept's journal is registered in its state dir).
    let undo = Command::new(env!("CARGO_BIN_EXE_ai-tools"))
        .args(["undo", "--repo"])
        .arg(&fx.repo)
        .arg("--task")
        .arg(fx.task.root())
        .env("AI_TOOLS_CONFIG", home.path().join("none.toml"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert_eq!(undo.status.code(), Some(0), "{}", String::from_utf8_lossy(&undo.stderr));
    assert_eq!(fx.text("app.py"), "def main():\n    print('old')\n");
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]).trim(), "", "undo unstages what --apply staged");
}
