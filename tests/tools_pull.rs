#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `tools pull` for real (pip from PyPI, into a temp cache dir), then discovery: with no ruff or
//! pyright in the repo or on PATH, the validators resolve to the cache, `tools list` says so
//! with their versions, and validation runs them (sandboxed).
//!
//! Runs itself again in a child test process with `AI_TOOLS_CACHE_DIR` and a bare `PATH`.

use ai_tools::config::ValidateConfig;
use ai_tools::task::relpath::RelPath;
use ai_tools::validate::Validators;
use ai_tools::validate::tools::{self, Source};

#[tokio::test(flavor = "multi_thread")]
async fn pulled_validators_are_found_in_the_cache_and_run() {
    let Ok(cache) = std::env::var("AI_TOOLS_CACHE_DIR") else {
        let t = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["pulled_validators_are_found_in_the_cache_and_run", "--exact", "--nocapture"])
            .env("AI_TOOLS_CACHE_DIR", t.path())
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
        return;
    };
    let dir = tools::tools_dir(&|k| std::env::var(k).ok()).unwrap();
    assert!(dir.starts_with(&cache));
    let repo = tempfile::tempdir().unwrap();
    let before = tools::resolve_all(repo.path(), false);
    assert!(before.iter().filter(|r| r.name == "ruff" || r.name == "pyright").all(|r| r.source == Source::Missing));
    assert!(tools::render(&before).contains("run `ai-tools tools pull`"));

    let pulled = tools::ensure(&dir).unwrap().expect("a first ensure pulls");
    assert_eq!(pulled.iter().map(|t| (t.name.as_str(), t.version.as_str())).collect::<Vec<_>>(), tools::PINNED);
    assert_eq!(tools::installed(&dir), pulled, "recorded in tools.json");
    assert!(tools::ensure(&dir).unwrap().is_none(), "a second ensure reuses the cache");

    let list = tools::resolve_all(repo.path(), true);
    let ruff = list.iter().find(|r| r.name == "ruff").unwrap();
    assert_eq!(ruff.source, Source::Cache);
    assert_eq!(ruff.version.as_deref(), Some("ruff 0.17.6"));
    let pyright = list.iter().find(|r| r.name == "pyright").unwrap();
    assert_eq!((pyright.source, pyright.version.as_deref()), (Source::Cache, Some("pyright 1.1.414")));

    std::fs::write(repo.path().join("a.py"), "print(valu)\n").unwrap();
    let a = RelPath::new("a.py").unwrap();
    let v = Validators::discover(repo.path(), &ValidateConfig::default(), std::slice::from_ref(&a));
    assert!(v.skipped().is_empty(), "{:?}", v.skipped());
    let shadow = ai_tools::validate::shadow::ShadowTree::mirror_of(repo.path()).unwrap();
    let out = v.validate(&shadow, "validate").await.unwrap();
    let codes: Vec<(&str, &str)> = out.reports.iter().map(|r| (r.tool.as_str(), r.code.as_str())).collect();
    assert_eq!(codes, [("pyright", "reportUndefinedVariable"), ("ruff", "F821")], "{:?}", out.runs);
}

/// `tools pull` and `model pull` run pip outside the sandbox: started in a repo that ships
/// `pip/__main__.py` and `venv/__main__.py`, neither module runs (pip is isolated and runs in
/// the cache dir), so the key in the environment cannot be read by the repo's code. pip is
/// pointed at a closed loopback port so both pulls fail fast without the network.
#[test]
fn a_repo_pip_or_venv_module_never_runs_with_the_keys() {
    let repo = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let marker = repo.path().join("pwned");
    let payload = format!("import os\nopen({:?}, 'a').write(os.environ.get('OPENAI_API_KEY', '-') + '\\n')\n", marker);
    for m in ["pip", "venv"] {
        std::fs::create_dir_all(repo.path().join(m)).unwrap();
        std::fs::write(repo.path().join(m).join("__init__.py"), "").unwrap();
        std::fs::write(repo.path().join(m).join("__main__.py"), &payload).unwrap();
    }
    for args in [["tools", "pull"], ["model", "pull"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ai-tools"))
            .args(args)
            .current_dir(repo.path())
            .env("AI_TOOLS_CACHE_DIR", cache.path())
            .env("OPENAI_API_KEY", "sk-pip-test")
            .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
            .env("PIP_RETRIES", "0")
            .env("PIP_TIMEOUT", "1")
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?} cannot succeed offline");
        assert!(!marker.exists(), "{args:?} ran the repo's module: {:?}", std::fs::read_to_string(&marker));
    }
}
