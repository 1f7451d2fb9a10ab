//! Process-level broker behaviour: a full codegen over the Anthropic wire format, keys never
//! written anywhere, a configured fallback chain, and `ai-tools providers`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const KEY: &str = "sk-ant-api03-SECRET-loopback-key-42";

fn task_repo() -> tempfile::TempDir {
    let r = repo_with(&[("pkg/__init__.py", ""), ("pkg/core.py", "def f():\n    return 1\n")]);
    write_task(
        r.path(),
        "t",
        "# Add g\n",
        r#"{"files": [
  {"path": "pkg/extra.py", "action": "create", "description": "g()"},
  {"path": "pkg/core.py", "action": "modify", "description": "call g", "depends_on": ["pkg/extra.py"]}
]}"#,
    );
    r
}

fn reply_for(req: &Request) -> Reply {
    let body = match req.target().as_deref() {
        Some("pkg/extra.py") => "```python\ndef g():\n    return 2\n```\n",
        _ => "```python\nfrom pkg.extra import g\n\n\ndef f():\n    return g()\n```\n",
    };
    Reply::Sse(anthropic_text_stream(body))
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in walk(dir) {
        if std::fs::read(&e).map(|b| String::from_utf8_lossy(&b).contains(needle)).unwrap_or(false) {
            hits.push(e.display().to_string());
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn codegen_over_anthropic_keeps_the_key_out_of_everything() {
    let repo = task_repo();
    let r = repo.path();
    let server = serve(reply_for);
    let out = ai_tools(r)
        .args(["codegen", "--provider", "anthropic", "--json"])
        .env("ANTHROPIC_BASE_URL", server.url())
        .env("ANTHROPIC_API_KEY", KEY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let task = r.join(".ai-tools/tasks/t");
    assert_eq!(std::fs::read_to_string(task.join("code/files/pkg/extra.py")).unwrap(), "def g():\n    return 2\n");
    let reqs = server.received();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|q| q.path == "/v1/messages" && q.header("x-api-key") == Some(KEY)));

    // Transcripts exist, sanitized: request and reply, no headers, no key.
    let transcripts = walk(&task.join("logs/provider"));
    assert_eq!(transcripts.len(), 2, "{transcripts:?}");
    let t: Value = serde_json::from_slice(&std::fs::read(&transcripts[0]).unwrap()).unwrap();
    assert!(t["request"]["messages"][0]["content"].as_str().unwrap().contains("Target file:"));
    assert!(t["response"]["text"].as_str().unwrap().contains("```python"));
    assert!(t.get("headers").is_none() && !t.to_string().contains("x-api-key"));

    // The key is nowhere: not in the task dir (state, logs, transcripts, code), not in output.
    assert_eq!(files_containing(&task, KEY), Vec::<String>::new());
    assert_eq!(files_containing(&task, "SECRET-loopback"), Vec::<String>::new());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(KEY) && !stderr.contains(KEY));

    // Usage and cost reach the summary and the task state.
    let events = ndjson(&out.stdout);
    let summary = &events.last().unwrap()["summary"];
    assert_eq!(summary["api_calls"], 2);
    assert_eq!(summary["input_tokens"], 22);
    let state: Value = serde_json::from_slice(&std::fs::read(task.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["usage"]["api_calls"], 2);
}

#[test]
fn configured_chain_falls_back_and_the_summary_says_so() {
    let repo = task_repo();
    let r = repo.path();
    let broken = serve(|_| Reply::Status {
        status: 529,
        headers: vec![],
        body: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
    });
    let good = serve(|req| {
        let body = match req.target().as_deref() {
            Some("pkg/extra.py") => "```python\ndef g():\n    return 2\n```\n",
            _ => "```python\ndef f():\n    return 3\n```\n",
        };
        Reply::Sse(openai_text_stream(body))
    });
    std::fs::write(
        user_config_file(r),
        format!(
            r#"[retry]
base_delay_ms = 10

[providers.primary]
kind = "anthropic"
base_url = "{}"
max_retries = 1
price_input_per_mtok = 3.0
price_output_per_mtok = 15.0

[providers.backup]
kind = "openai"
base_url = "{}/v1"
model = "gpt-test"

[roles]
codegen = ["primary", "backup"]
"#,
            broken.url(),
            good.url()
        ),
    )
    .unwrap();
    let out = ai_tools(r).args(["codegen", "--json"]).env("ANTHROPIC_API_KEY", KEY).output().unwrap();
    let stdout_text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(broken.received().len(), 4, "2 files × (1 attempt + 1 retry)");
    let events = ndjson(&out.stdout);
    let fallbacks: Vec<&Value> =
        events.iter().filter(|e| e["event"] == "provider" && e["notice"] == "fallback").collect();
    assert_eq!(fallbacks.len(), 2);
    assert_eq!(fallbacks[0]["from"], "primary");
    assert_eq!(fallbacks[0]["to"], "backup");
    let summary = &events.last().unwrap()["summary"];
    assert_eq!(summary["fallbacks"], 2);
    assert_eq!(summary["providers"]["primary"]["failures"], 2);
    assert_eq!(summary["providers"]["backup"]["calls"], 2);
    assert!(stderr.contains("Fallbacks: 2 calls answered by a later provider"), "{stderr}");
    assert!(!stdout_text.contains(KEY));
}

#[test]
fn providers_lists_roles_and_checks_each_provider() {
    let repo = task_repo();
    let r = repo.path();
    let good = serve(|req| {
        assert_eq!(req.path, "/v1/models");
        Reply::Status { status: 200, headers: vec![], body: r#"{"object":"list","data":[{"id":"gpt-test"}]}"#.into() }
    });
    let bad = serve(|_| Reply::Status {
        status: 401,
        headers: vec![],
        body: r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.into(),
    });
    std::fs::write(
        user_config_file(r),
        format!(
            "[providers.main]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\n[providers.claude]\nkind = \"anthropic\"\nbase_url = \"{}\"\n\n[roles]\ncodegen = [\"main\"]\nrepair = [\"claude\", \"main\"]\n",
            good.url(),
            bad.url()
        ),
    )
    .unwrap();
    let out = ai_tools(r).args(["providers"]).env("ANTHROPIC_API_KEY", KEY).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a role's provider does not answer: {text}");
    assert!(text.contains("role codegen: main"), "{text}");
    assert!(text.contains("role repair: claude → main"), "{text}");
    let main = text.lines().find(|l| !l.starts_with("role") && l.contains(" main ")).unwrap();
    assert!(main.starts_with("ok ") && main.contains("1 models listed"), "{main}");
    let claude = text.lines().find(|l| !l.starts_with("role") && l.contains(" claude ")).unwrap();
    assert!(
        claude.starts_with("ERR") && claude.contains("API key was refused") && claude.contains("$ANTHROPIC_API_KEY"),
        "{claude}"
    );
    assert!(!text.contains(KEY));
}

/// A repo `.ai-tools.toml` with a duration that is not one (`inf`, used to panic with exit 101
/// when the provider was built) is refused at load: exit 2, naming the file and line.
#[test]
fn a_non_finite_timeout_is_bad_input_not_a_panic() {
    let repo = task_repo();
    let r = repo.path();
    for bad in ["inf", "nan", "-3", "1e30"] {
        std::fs::write(
            r.join(".ai-tools.toml"),
            format!("[providers.local]\nkind = \"local\"\nidle_timeout_secs = {bad}\n"),
        )
        .unwrap();
        let out = ai_tools(r).args(["providers"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains(".ai-tools.toml:3:") && stderr.contains("is not a duration"), "{bad}: {stderr}");
    }
}
