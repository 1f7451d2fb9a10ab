#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Findings measured against the base, end to end at the library level (the validate and
//! repair stages' entry points, as the orchestrator calls them): a repo whose modified file
//! imports an uninstalled third-party package and already has an unused import, plus a
//! model-introduced F821. Real ruff and pyright, real bwrap, and a loopback provider speaking
//! Anthropic's SSE wire format for repair.

#[path = "validate_support/mod.rs"]
mod common;

use ai_tools::broker::Role;
use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::codegen::prompt::Prompts;
use ai_tools::config::{Config, ValidateConfig};
use ai_tools::plan::Action;
use ai_tools::repair::{self, RepairCtx, RepairSettings};
use ai_tools::report::classify::Category;
use ai_tools::runlog::RunLog;
use ai_tools::sandbox::{Sandbox, SandboxConfig};
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;
use ai_tools::validate::shadow::ShadowTree;
use ai_tools::validate::{Validators, baseline, record_counts};
use common::{Loopback, anth_tools, user_text, write};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The file as it is in the repo: an unused `os` import (ruff F401) and `numpy`, which is
/// not installed (pyright reportMissingImports → environment).
const BASE: &str = "\"\"\"Orders.\"\"\"\nimport os\nimport numpy\n\n\ndef fetch(url: str) -> str:\n    return str(numpy.asarray(url))\n";

/// The model's version: a new function above `fetch` (so old findings move down) using an
/// undefined name.
const GENERATED: &str = "\"\"\"Orders.\"\"\"\nimport os\nimport numpy\n\n\ndef total(items: list[int]) -> int:\n    return sum(itms)\n\n\ndef fetch(url: str) -> str:\n    return str(numpy.asarray(url))\n";

#[tokio::test(flavor = "multi_thread")]
async fn only_introduced_findings_are_repaired_and_counted() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "app.py", BASE);
    // pyright's undefined-variable rule is off in this repo, so the defect is reported once (F821).
    write(repo, "pyrightconfig.json", "{\"reportUndefinedVariable\": \"none\"}\n");
    let task = TaskDir::new(repo.join(".ai-tools/tasks/t"));
    write(&task.files_dir(), "app.py", GENERATED);
    let app = RelPath::new("app.py").unwrap();
    let manifest =
        Manifest { run_id: "r".into(), files: vec![ManifestEntry { path: app.clone(), action: Action::Modify }] };

    // Validate: the base first (cached under the task), then the generated files.
    let sandbox = Sandbox::detect(&SandboxConfig::default());
    assert!(sandbox.is_isolated());
    let validators = Validators::discover_with(repo, &ValidateConfig::default(), std::slice::from_ref(&app), sandbox);
    let bases = baseline::bases(&task, repo, &manifest, &Default::default());
    assert_eq!(bases, vec![(app.clone(), BASE.as_bytes().to_vec())]);
    let cache = baseline::cache_dir(&task);
    let base = baseline::measure(&validators, repo, bases.clone(), Some(&cache)).await.unwrap();
    assert_eq!(base.ran, ["ruff", "pyright", "syntax"]);
    let again = baseline::measure(&validators, repo, bases, Some(&cache)).await.unwrap();
    assert!(again.ran.is_empty() && again.cached.len() == 3, "a redo reads the cache: {again:?}");
    assert_eq!(again.findings, base.findings);
    let validators = validators.with_baseline(base);
    let shadow = ShadowTree::build(repo, &task.files_dir(), &manifest).unwrap();
    let before = validators.validate(&shadow, "validate").await.unwrap();

    let shown: Vec<(String, String, Category, bool, u32)> =
        before.reports.iter().map(|r| (r.tool.clone(), r.code.clone(), r.category, r.preexisting, r.line)).collect();
    assert_eq!(
        shown,
        vec![
            ("ruff".into(), "F401".into(), Category::MissingImport, true, 2),
            ("pyright".into(), "reportMissingImports".into(), Category::Environment, true, 3),
            ("ruff".into(), "F821".into(), Category::UndefinedName, false, 7),
        ]
    );
    assert!(Category::Environment.suggestion().unwrap().contains("install the project's dependencies"));
    let introduced = before.introduced();
    assert_eq!(introduced.len(), 1);

    // Repair: the loopback model fixes the F821 (and leaves the imports alone).
    let fixed = GENERATED.replace("sum(itms)", "sum(items)");
    let lb = Loopback::start(vec![anth_tools(&[("write_file", json!({ "content": fixed }))], 300, 40)]).await;
    let url = lb.url.clone();
    let env = move |k: &str| match k {
        "ANTHROPIC_API_KEY" => Some("sk-ant-loopback-secret-0009".to_owned()),
        "ANTHROPIC_BASE_URL" => Some(url.clone()),
        _ => None,
    };
    let mut cfg = Config { provider: Some("anthropic".into()), ..Config::default() };
    cfg.retry.max_retries = 0;
    let broker = ai_tools::broker::build::build(&cfg, &env).unwrap();
    assert!(!broker.chain(Role::Repair).is_empty());
    let prompts = Prompts::load(None).unwrap();
    let cancel = CancellationToken::new();
    let ctx = RepairCtx {
        broker: &broker,
        prompts: &prompts,
        validators: &validators,
        shadow: &shadow,
        settings: RepairSettings {
            max_attempts: 2,
            max_changed_fraction: 0.5,
            min_changed_lines: 6,
            max_tokens: 1024,
            temperature: None,
            candidates: 1,
            candidate_temperature: 0.7,
            seed: None,
        },
        cancel: &cancel,
        on_attempt: &|_| {},
        notices: &|_| {},
    };
    // The stage hands over every finding of the file; the loop keeps only the introduced ones.
    let outcome = repair::repair_file(&ctx, &app, GENERATED, before.reports.clone()).await.unwrap();
    assert_eq!(outcome.content, fixed);
    assert!(outcome.success(), "{:?}", outcome.remaining);
    assert_eq!(outcome.attempts.len(), 1);
    let a = &outcome.attempts[0];
    assert!(a.success);
    assert_eq!(a.errors_in.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(), ["F821"]);
    let bodies = lb.bodies();
    assert_eq!(bodies.len(), 1);
    let prompt = user_text(&bodies[0]);
    assert!(prompt.contains("F821"), "{prompt}");
    assert!(!prompt.contains("reportMissingImports") && !prompt.contains("F401"), "only introduced findings: {prompt}");

    // After repair: the preexisting findings are still shown, nothing introduced survives.
    let after = validators.validate(&shadow, "repair").await.unwrap();
    assert_eq!(after.preexisting(), 2);
    assert!(after.introduced().is_empty(), "{:?}", after.reports);
    let mut log = RunLog::new("r", "h");
    record_counts(&mut log, &before, Some(&after));
    let v = serde_json::to_value(&log).unwrap();
    assert_eq!(
        (&v["validation_errors_before_repair"], &v["errors_surviving_repair"], &v["preexisting_errors"]),
        (&json!(1), &json!(0), &json!(2))
    );
    assert!(log.to_markdown().contains("Preexisting (already in the base, not repaired): 2"));
}
