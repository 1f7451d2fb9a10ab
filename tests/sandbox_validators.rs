#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile generated code against the real tools, through the sandbox (real bwrap): a file an
//! existing `build.rs` includes (cargo check), a `tsconfig.json` whose `tsBuildInfoFile` points
//! into the repo or at an absolute path (tsc), a `mypy.ini` naming a generated plugin (mypy), a
//! `conftest.py` (pytest). Each leaves every file outside the scratch area byte-identical and
//! reaches neither the network nor a key — and each proves its payload really ran, by a marker
//! it writes inside the scratch view. The same cases without the sandbox (`[sandbox] enabled =
//! false`, or no `bwrap` on PATH) show the notice and skip what can execute code.
//!
//! Each test re-runs itself in a child test process whose environment holds the API keys.

#[path = "validate_support/mod.rs"]
mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::config::ValidateConfig;
use ai_tools::plan::Action;
use ai_tools::sandbox::{Job, Sandbox, SandboxConfig, SandboxError};
use ai_tools::task::relpath::RelPath;
use ai_tools::validate::shadow::ShadowTree;
use ai_tools::validate::{Validation, Validators};
use common::write;

const KEY: &str = "sk-hostile-test-secret-0077";

/// Every file under `dir` (following no symlinks) with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A hostile world: the repo, a victim dir outside it, a loopback listener.
struct World {
    _t: tempfile::TempDir,
    repo: PathBuf,
    victim: PathBuf,
    listener: TcpListener,
    port: u16,
}

impl World {
    fn new() -> Self {
        let t = common::repo();
        let repo = t.path().to_path_buf();
        let victim = tempfile::tempdir().unwrap().keep();
        write(&victim, "file", "precious\n");
        write(&repo, "README.md", "the user's readme\n");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        Self { _t: t, repo, victim, listener, port }
    }
    fn before(&self) -> (Vec<(PathBuf, Vec<u8>)>, Vec<(PathBuf, Vec<u8>)>) {
        (snapshot(&self.repo), snapshot(&self.victim))
    }
    fn network_reached(&self) -> bool {
        match self.listener.accept() {
            Ok((mut s, _)) => {
                let mut b = Vec::new();
                let _ = s.read_to_end(&mut b);
                true
            }
            Err(_) => false,
        }
    }
    /// Python that writes outside, reads the keys, dials the listener and leaves `MARK`.
    fn python_payload(&self) -> String {
        format!(
            "import os, socket\n\ndef _evil():\n    key = os.environ.get('OPENAI_API_KEY', '') + os.environ.get('ANTHROPIC_API_KEY', '')\n    for p in [{v:?}, {r:?}, os.path.expanduser('~/pwned')]:\n        try:\n            open(p, 'w').write('pwned ' + key)\n        except Exception:\n            pass\n    try:\n        socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n        net = 'open'\n    except Exception:\n        net = 'blocked'\n    open('MARK', 'w').write('key=[%s] net=%s' % (key, net))\n\n_evil()\n",
            v = self.victim.join("file").display().to_string(),
            r = self.repo.join("README.md").display().to_string(),
            port = self.port
        )
    }
    fn unchanged(&self, before: &(Vec<(PathBuf, Vec<u8>)>, Vec<(PathBuf, Vec<u8>)>)) {
        assert!(!self.network_reached(), "the loopback listener outside got a connection");
        let now = self.before();
        let names = |v: &[(PathBuf, Vec<u8>)]| {
            v.iter().map(|(p, b)| format!("{} ({} bytes)", p.display(), b.len())).collect::<Vec<_>>()
        };
        assert!(now.1 == before.1, "outside the repo: {:?} became {:?}", names(&before.1), names(&now.1));
        assert!(now.0 == before.0, "the working tree: {:?} became {:?}", names(&before.0), names(&now.0));
    }
}

/// Writes `generated` into the task's code/files (before a test snapshots the repo).
fn stage(repo: &Path, generated: &[(&str, &str)]) {
    for (p, c) in generated {
        write(&repo.join(".ai-tools/tasks/t/code/files"), p, c);
    }
}

/// Validates `generated` over `repo` with `sandbox`; returns the shadow tree too, so a test can
/// look at the marker the payload left inside it.
async fn validate(
    repo: &Path,
    generated: &[(&str, &str)],
    cfg: ValidateConfig,
    sandbox: &SandboxConfig,
) -> (Validation, Validators, ShadowTree) {
    let files = repo.join(".ai-tools/tasks/t/code/files");
    let mut entries = Vec::new();
    for (p, c) in generated {
        write(&files, p, c);
        let action = if repo.join(p).exists() { Action::Modify } else { Action::Create };
        entries.push(ManifestEntry { path: RelPath::new(p).unwrap(), action });
    }
    let targets: Vec<RelPath> = entries.iter().map(|e| e.path.clone()).collect();
    let manifest = Manifest { run_id: "r".into(), files: entries };
    let shadow = ShadowTree::build(repo, &files, &manifest).unwrap();
    let validators = Validators::discover_with(repo, &cfg, &targets, Sandbox::detect(sandbox));
    let v = validators.validate(&shadow, "validate").await.unwrap();
    (v, validators, shadow)
}

fn off() -> SandboxConfig {
    SandboxConfig { enabled: false, ..SandboxConfig::default() }
}

fn mark(shadow: &ShadowTree) -> Option<String> {
    std::fs::read_to_string(shadow.root().join("MARK")).ok()
}

fn assert_notice(v: &Validators) {
    let n = &v.skipped()[0];
    assert_eq!(n.tool, "sandbox");
    assert!(n.reason.contains("apt install bubblewrap") && n.reason.contains("allow_unsandboxed"), "{}", n.reason);
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_check_runs_a_hostile_build_script_only_in_the_sandbox() {
    if !common::in_child_with_keys("cargo_check_runs_a_hostile_build_script_only_in_the_sandbox", KEY) {
        return;
    }
    let w = World::new();
    write(&w.repo, "Cargo.toml", "[package]\nname = \"victimcrate\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(&w.repo, "build.rs", "include!(\"gen/hook.rs\");\n\nfn main() {\n    hook();\n}\n");
    write(&w.repo, "src/lib.rs", "pub fn a() -> u32 {\n    1\n}\n");
    let hook = format!(
        "fn hook() {{\n    let key = std::env::var(\"OPENAI_API_KEY\").unwrap_or_default() + &std::env::var(\"ANTHROPIC_API_KEY\").unwrap_or_default();\n    for p in [{v:?}, {r:?}] {{\n        let _ = std::fs::write(p, format!(\"pwned {{key}}\"));\n    }}\n    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], {port}));\n    let net = if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok() {{ \"open\" }} else {{ \"blocked\" }};\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    std::fs::write(format!(\"{{dir}}/MARK\"), format!(\"key=[{{key}}] net={{net}}\")).unwrap();\n}}\n",
        v = w.victim.join("file").display().to_string(),
        r = w.repo.join("README.md").display().to_string(),
        port = w.port
    );
    let generated = [("gen/hook.rs", hook.as_str())];
    stage(&w.repo, &generated);
    let before = w.before();
    let (v, validators, shadow) =
        validate(&w.repo, &generated, ValidateConfig::default(), &SandboxConfig::default()).await;
    let cargo = v.runs.iter().find(|r| r.tool == "cargo").expect("cargo ran");
    assert!(cargo.error.is_none(), "{cargo:?}");
    assert!(validators.skipped().is_empty(), "{:?}", validators.skipped());
    assert_eq!(mark(&shadow).as_deref(), Some("key=[] net=blocked"), "the build script ran, without key or network");
    w.unchanged(&before);

    // Without the sandbox: the notice, and cargo check is skipped without a finding.
    let (v, validators, shadow) = validate(&w.repo, &generated, ValidateConfig::default(), &off()).await;
    assert_notice(&validators);
    let cargo = validators.skipped().iter().find(|s| s.tool == "cargo").expect("cargo skipped");
    assert!(cargo.reason.contains("build scripts") && cargo.reason.contains("allow_unsandboxed"), "{}", cargo.reason);
    assert!(v.runs.iter().all(|r| r.tool != "cargo") && v.reports.iter().all(|r| r.tool != "cargo"));
    assert_eq!(mark(&shadow), None, "the build script never ran");
    w.unchanged(&before);
}

#[tokio::test(flavor = "multi_thread")]
async fn tsc_build_info_cannot_reach_the_repo_or_an_absolute_path() {
    if !common::in_child_with_keys("tsc_build_info_cannot_reach_the_repo_or_an_absolute_path", KEY) {
        return;
    }
    let w = World::new();
    write(&w.repo, "tsconfig.json", common::TSCONFIG);
    write(&w.repo, "src/a.ts", "export const a: number = 1;\n");
    let victim = w.victim.join("file").display().to_string();
    for info in ["./README.md", victim.as_str()] {
        let tsconfig = format!(
            "{{\"compilerOptions\": {{\"incremental\": true, \"tsBuildInfoFile\": {info:?}, \"strict\": true, \"noEmit\": true, \"types\": []}}, \"include\": [\"src\"]}}\n"
        );
        let generated = [("tsconfig.json", tsconfig.as_str()), ("src/b.ts", "export const b: string = 2;\n")];
        stage(&w.repo, &generated);
        let before = w.before();
        for sandbox in [SandboxConfig::default(), off(), SandboxConfig { allow_unsandboxed: true, ..off() }] {
            let (v, validators, shadow) = validate(&w.repo, &generated, ValidateConfig::default(), &sandbox).await;
            let tsc = v.runs.iter().find(|r| r.tool == "tsc").expect("tsc is tried either way");
            let readme = std::fs::read_to_string(shadow.root().join("README.md")).unwrap();
            if !sandbox.enabled && !sandbox.allow_unsandboxed {
                // The repo's own node_modules/.bin/tsc is the repo's code: never run unsandboxed.
                assert!(tsc.error.as_deref().unwrap_or("").starts_with("skipped: "), "{tsc:?}");
                assert!(v.reports.iter().all(|r| r.tool != "tsc"));
                assert_eq!(readme, "the user's readme\n");
            } else if sandbox.enabled {
                assert!(validators.skipped().is_empty(), "{:?}", validators.skipped());
                if info == "./README.md" {
                    assert!(readme.contains("\"version\""), "tsc really wrote its build info (in the view): {readme}");
                }
            } else {
                assert_notice(&validators);
                assert_eq!(readme, "the user's readme\n", "--incremental false: tsc writes nothing");
                let b = v.reports.iter().find(|r| r.file == "src/b.ts").expect("the type error is still found");
                assert_eq!(b.code, "TS2322");
            }
            w.unchanged(&before);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_mypy_plugin_runs_only_in_the_sandbox() {
    if !common::in_child_with_keys("a_generated_mypy_plugin_runs_only_in_the_sandbox", KEY) {
        return;
    }
    let w = World::new();
    write(&w.repo, "app/__init__.py", "");
    let plugin = format!(
        "{}\nfrom mypy.plugin import Plugin\n\n\ndef plugin(version):\n    return Plugin\n",
        w.python_payload()
    );
    let generated = [
        ("mypy.ini", "[mypy]\nplugins = evil_plugin.py\n"),
        ("evil_plugin.py", plugin.as_str()),
        ("app/typed.py", "def f(x: int) -> str:\n    return x\n"),
    ];
    stage(&w.repo, &generated);
    let before = w.before();
    let cfg = ValidateConfig { mypy: true, ..ValidateConfig::default() };
    let (v, _, shadow) = validate(&w.repo, &generated, cfg.clone(), &SandboxConfig::default()).await;
    let mypy = v.runs.iter().find(|r| r.tool == "mypy").unwrap();
    assert!(mypy.error.is_none(), "{mypy:?}");
    assert!(v.reports.iter().any(|r| r.tool == "mypy" && r.code == "return-value"), "{:?}", v.reports);
    assert_eq!(mark(&shadow).as_deref(), Some("key=[] net=blocked"), "the plugin ran, without key or network");
    w.unchanged(&before);

    // No bwrap on PATH: mypy with a plugin is skipped with a notice, and so is the repo's own
    // ruff (.venv/bin/ruff is the repo's code).
    let sandbox = Sandbox::detect_with(&SandboxConfig::default(), Some("/nonexistent"));
    let targets: Vec<RelPath> = generated.iter().map(|(p, _)| RelPath::new(p).unwrap()).collect();
    let validators = Validators::discover_with(&w.repo, &cfg, &targets, sandbox);
    assert_notice(&validators);
    let shadow =
        ShadowTree::build(&w.repo, &w.repo.join(".ai-tools/tasks/t/code/files"), &manifest(&generated)).unwrap();
    let v = validators.validate(&shadow, "validate").await.unwrap();
    let mypy = v.runs.iter().find(|r| r.tool == "mypy").unwrap();
    assert!(mypy.error.as_deref().unwrap_or("").starts_with("skipped: "), "{mypy:?}");
    assert!(v.reports.iter().all(|r| r.tool != "mypy"));
    let ruff = v.runs.iter().find(|r| r.tool == "ruff").unwrap();
    assert!(ruff.error.as_deref().unwrap_or("").starts_with("skipped: "), "{ruff:?}");
    assert_eq!(mark(&shadow), None, "the plugin never ran");
    w.unchanged(&before);
}

fn manifest(generated: &[(&str, &str)]) -> Manifest {
    let files = generated
        .iter()
        .map(|(p, _)| ManifestEntry { path: RelPath::new(p).unwrap(), action: Action::Create })
        .collect();
    Manifest { run_id: "r".into(), files }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_conftest_runs_under_pytest_only_in_the_sandbox() {
    if !common::in_child_with_keys("a_generated_conftest_runs_under_pytest_only_in_the_sandbox", KEY) {
        return;
    }
    let w = World::new();
    let pytest = common::root().join(".venv/bin/pytest");
    assert!(pytest.exists(), "pytest is missing: run `bash .ci/install-validators.sh`");
    let conftest = w.python_payload();
    let generated = [("conftest.py", conftest.as_str()), ("test_x.py", "def test_x():\n    assert 1 + 1 == 2\n")];
    stage(&w.repo, &generated);
    let before = w.before();
    let shadow =
        ShadowTree::build(&w.repo, &w.repo.join(".ai-tools/tasks/t/code/files"), &manifest(&generated)).unwrap();
    let job = || {
        Job::new(shadow.root().join(".venv/bin/pytest"), &shadow).args(["-q", "-p", "no:cacheprovider", "test_x.py"])
    };
    let out = Sandbox::detect(&SandboxConfig::default()).run(job()).await.unwrap();
    assert!(out.sandboxed && out.stdout.contains("1 passed"), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(mark(&shadow).as_deref(), Some("key=[] net=blocked"), "conftest.py ran, without key or network");
    w.unchanged(&before);

    std::fs::remove_file(shadow.root().join("MARK")).unwrap();
    let sb = Sandbox::detect(&off());
    let err = sb.run(job()).await.unwrap_err();
    assert!(matches!(err, SandboxError::Refused { .. }), "{err}");
    assert!(sb.notice().unwrap().contains("tests) are skipped"));
    assert_eq!(mark(&shadow), None);
    w.unchanged(&before);
}
