//! `ai-tools codegen` end to end with the embedded model: a process-level run on a small temp
//! repo, with no provider in the environment, so the broker picks `local` and llama.cpp writes
//! the files.
//!
//! Needs the default model in the cache (`cargo run --release -- model pull`, or
//! `.ci/install-model.sh` in CI); without it the test fails, on purpose.

// Test helpers panic on setup failures by design (clippy allows that only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ai-tools");

/// Variables that would make the broker pick a remote provider or another model.
const PROVIDER_ENV: [&str; 7] = [
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "AI_TOOLS_PROVIDER",
    "AI_TOOLS_MODEL",
    "AI_TOOLS_MODEL_PATH",
];

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn git(root: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

fn ai_tools(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).arg("--repo").arg(root).env("AI_TOOLS_CONFIG", root.join("no-user-config.toml"));
    for k in PROVIDER_ENV {
        c.env_remove(k);
    }
    c
}

fn small_repo(root: &Path) {
    write(root, "calc/__init__.py", "");
    write(root, "calc/ops.py", "def add(a, b):\n    return a + b\n");
    // The user's own config (a repo file may not set what a run costs without trust).
    write(root, "no-user-config.toml", "temperature = 0.0\nmax_tokens = 120\n");
    write(
        root,
        ".ai-tools/tasks/sub/planning/plan.md",
        "# Subtraction\n\nAdd `sub(a, b)` to calc/ops.py and a pytest test for it.\n",
    );
    write(
        root,
        ".ai-tools/tasks/sub/planning/plan.files.json",
        r#"{"files": [
  {"path": "calc/ops.py", "action": "modify", "description": "Add `def sub(a, b): return a - b`.", "depends_on": []},
  {"path": "tests/test_ops.py", "action": "create", "description": "pytest test of add and sub.", "depends_on": ["calc/ops.py"]}
]}"#,
    );
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
}

#[test]
fn codegen_with_no_provider_configured_runs_the_embedded_model() {
    let model = ai_tools::models::default_model_path().unwrap();
    if let Err(e) = ai_tools::models::check_gguf(&model) {
        panic!("this test needs the default model: {e}\nrun `cargo run --release -- model pull` first");
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    small_repo(root);
    let out = ai_tools(root, &["codegen", "--json"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |name: &'static str| events.iter().filter(move |e| e["event"] == name);

    let started = of("run_started").next().unwrap_or_else(|| panic!("no run_started\n{stderr}"));
    assert_eq!(started["providers"], serde_json::json!(["local"]), "{started}");
    assert_eq!(started["model"], "SmolLM2-135M-Instruct.Q4_1");

    let streamed: String = of("file_delta").filter_map(|e| e["text"].as_str()).collect();
    assert!(!streamed.trim().is_empty(), "llama.cpp streamed no text\n{stderr}");
    let generated: Vec<&Value> = of("file_generated").collect();
    assert_eq!(generated.len(), 2, "{stderr}");
    for g in &generated {
        assert_eq!(g["provider"], "local");
        assert!(g["input_tokens"].as_u64().unwrap() > 0, "{g}");
        let n = g["output_tokens"].as_u64().unwrap();
        assert!(n > 0 && n <= 120, "{g}");
    }

    assert!(out.status.success(), "codegen failed ({:?})\n{stderr}", out.status.code());
    let task = root.join(".ai-tools/tasks/sub");
    for f in ["calc/ops.py", "tests/test_ops.py"] {
        let text = std::fs::read_to_string(task.join("code/files").join(f)).unwrap_or_default();
        assert!(!text.trim().is_empty(), "code/files/{f} is missing or empty");
    }
    let patch = std::fs::read_to_string(task.join("code/diff.patch")).unwrap();
    assert!(patch.contains("+++ b/tests/test_ops.py"), "{patch}");
    // The working tree is untouched: the result lives in the task dir only.
    assert_eq!(std::fs::read_to_string(root.join("calc/ops.py")).unwrap(), "def add(a, b):\n    return a + b\n");
}

#[test]
fn codegen_without_the_model_says_how_to_pull_it() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    small_repo(&root);
    let out = ai_tools(&root, &["codegen"]).env("AI_TOOLS_CACHE_DIR", t.path().join("empty-cache")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not pulled yet") && stderr.contains("ai-tools model pull"), "{stderr}");
    assert!(!root.join(".ai-tools/tasks/sub/code/diff.patch").exists());
}

#[test]
fn model_list_shows_what_the_cache_holds() {
    let t = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["model", "list"]).env("AI_TOOLS_CACHE_DIR", t.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("no models cached") && stdout.contains("model pull"), "{stdout}");

    let models = t.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let mut gguf = b"GGUF".to_vec();
    gguf.extend_from_slice(&3u32.to_le_bytes());
    gguf.extend_from_slice(&[0u8; 16]);
    std::fs::write(models.join("tiny.gguf"), &gguf).unwrap();
    let out = Command::new(BIN).args(["model", "list"]).env("AI_TOOLS_CACHE_DIR", t.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sha = ai_tools::models::sha256_file(&models.join("tiny.gguf")).unwrap();
    assert!(stdout.contains("tiny") && stdout.contains(&sha) && stdout.contains("tiny.gguf"), "{stdout}");
}
