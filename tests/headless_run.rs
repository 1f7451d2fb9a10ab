#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A full headless `ai-tools codegen` on a test repo (Python and TSX, real validators, a
//! loopback model speaking Anthropic's SSE wire format): both run-log files with the numbers,
//! `ai-tools log`, and `--resume`.

#[path = "validate_support/mod.rs"]
mod common;

use std::path::Path;

use common::{Loopback, TSCONFIG, anth_text, anth_tools, write};
use serde_json::{Value, json};

const MODELS: &str = "\"\"\"Models.\"\"\"\n\n\ndef price(cents: int) -> float:\n    return cents / 100\n";
const SERVICE: &str = "\"\"\"Service.\"\"\"\nfrom app.models import price\n\n\ndef total(items: list[int]) -> float:\n    \"\"\"Sum prices.\"\"\"\n    return sum(price(i) for i in itemz)\n";
const WIDGET: &str = "import type { ReactElement } from \"react\";\n\nexport function Widget(props: { count: number }): ReactElement {\n  const label: string = props.count;\n  return <span>{label}</span>;\n}\n";

async fn ai_tools(repo: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ai-tools"))
        .args(args)
        .arg("--repo")
        .arg(repo)
        .env("AI_TOOLS_CONFIG", repo.join("no-user-config.toml"))
        .env("ANTHROPIC_API_KEY", "sk-ant-loopback-secret-0002")
        .env("ANTHROPIC_BASE_URL", url)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OLLAMA_HOST")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_run_writes_both_run_logs_and_resumes() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "tsconfig.json", TSCONFIG);
    write(repo, "app/__init__.py", "");
    write(repo, "no-user-config.toml", "[retry]\nmax_retries = 0\n");
    let task = common::plan(
        repo,
        &[
            ("app/models.py", "create", &[]),
            ("app/service.py", "create", &["app/models.py"]),
            ("src/Widget.tsx", "create", &["app/service.py"]),
        ],
    );
    let lb = Loopback::start(vec![
        anth_text(&format!("```python\n{MODELS}```\n"), 900, 100),
        anth_text(&format!("```python\n{SERVICE}```\n"), 950, 120),
        anth_text(&format!("```tsx\n{WIDGET}```\n"), 980, 130),
        anth_tools(&[("patch_file", json!({"old_string": "in itemz)", "new_string": "in items)"}))], 400, 30),
        anth_tools(&[("patch_file", json!({"old_string": "const label: string = props.count;", "new_string": "const label: string = String(props.count);"}))], 420, 40),
    ])
    .await;
    let (code, stdout, stderr) =
        ai_tools(repo, &lb.url, &["--provider", "anthropic", "codegen", "--concurrency", "1"]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("Validation: 3 findings before repair, 0 after (2 repair attempts)"), "{stdout}");
    assert!(stderr.contains("validation: 3 findings"), "{stderr}");
    assert!(stderr.contains("repair #1 of app/service.py: 2 → 0 findings"), "{stderr}");
    assert_eq!(lb.bodies().len(), 5);

    let logs = task.join("logs");
    let run_id = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("run-")?.strip_suffix(".json").map(str::to_owned))
        .next()
        .unwrap();
    let log: Value = serde_json::from_slice(&std::fs::read(logs.join(format!("run-{run_id}.json"))).unwrap()).unwrap();
    assert_eq!(
        (log["validation_errors_before_repair"].as_u64(), log["errors_surviving_repair"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(log["status"], "ready");
    let top: Vec<&str> = log["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["parent"].is_null())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        top,
        vec!["context", "generate", "materialize", "format", "diff", "validate", "test", "repair", "ready"]
    );
    let validate = log["steps"].as_array().unwrap().iter().find(|s| s["name"] == "validate").unwrap();
    let found: Vec<(&str, &str, &str)> = validate["validation_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["tool"].as_str().unwrap(), e["category"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("app/service.py", "pyright", "undefined_name"),
            ("app/service.py", "ruff", "undefined_name"),
            ("src/Widget.tsx", "tsc", "type_mismatch"),
        ]
    );
    let repair = log["steps"].as_array().unwrap().iter().find(|s| s["name"] == "repair").unwrap();
    assert_eq!(
        (repair["repair_success_rate"].as_f64(), repair["tokens_spent_on_repair"].as_u64()),
        (Some(1.0), Some(890))
    );

    let md = std::fs::read_to_string(logs.join(format!("run-{run_id}.md"))).unwrap();
    assert!(md.contains("| Step | Start | Duration (s) | Tokens | Val errors | Repairs |"), "{md}");
    assert!(md.contains("## Validation errors"), "{md}");
    assert!(md.contains("| validate | src/Widget.tsx | 4 | tsc | TS2322 | type_mismatch | Type 'number' is not assignable to type 'string'. |"), "{md}");
    let (code, shown, _) = ai_tools(repo, &lb.url, &["log"]).await;
    assert_eq!((code, shown.as_str()), (0, md.as_str()));
    let (code, shown, _) = ai_tools(repo, &lb.url, &["log", &run_id]).await;
    assert_eq!((code, shown.as_str()), (0, md.as_str()));
    let (code, _, err) = ai_tools(repo, &lb.url, &["log", "no-such-run"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no run log for run no-such-run"), "{err}");
    assert!(!md.contains("loopback-secret") && !serde_json::to_string(&log).unwrap().contains("loopback-secret"));

    // --resume: the outputs are current, so no model is asked; diff → validate → test → ready again.
    let quiet = Loopback::start(vec![]).await;
    let (code, stdout, stderr) =
        ai_tools(repo, &quiet.url, &["--provider", "anthropic", "codegen", "--resume", &run_id]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("resuming run"), "{stderr}");
    assert!(quiet.bodies().is_empty(), "a resumed run skips generate");
    let log: Value = serde_json::from_slice(&std::fs::read(logs.join(format!("run-{run_id}.json"))).unwrap()).unwrap();
    let names: Vec<&str> = log["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| **n == "generate").count(), 1);
    assert!(names.ends_with(&["diff (resumed)", "validate", "test", "ready"]), "{names:?}");

    // A changed plan makes the outputs stale: refused as bad input.
    write(&task, "planning/plan.md", "# Test plan\n\nSomething else now.\n");
    let (code, _, stderr) =
        ai_tools(repo, &quiet.url, &["--provider", "anthropic", "codegen", "--resume", &run_id]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot resume: the plan changed since run"), "{stderr}");
    assert!(quiet.bodies().is_empty());
}
