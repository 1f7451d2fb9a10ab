#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The sandbox with real bubblewrap: a hostile process cannot write outside its scratch area,
//! reach the network or see a key; timeouts kill the whole process group; memory is limited;
//! and where bwrap is missing, pure analyzers still run scrubbed while code runners are refused.
//!
//! Tests that check keys re-run themselves in a child test process whose environment holds
//! `OPENAI_API_KEY`/`ANTHROPIC_API_KEY`, so the sandbox has real secrets to leak.

use std::io::Read;
#[path = "validate_support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use ai_tools::sandbox::{Job, Sandbox, SandboxConfig, SandboxError, Scratch};

const KEY: &str = "sk-sandbox-test-secret-0042";

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push((e.display().to_string(), std::fs::read(&e).unwrap_or_default()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                v.extend(walk(&e.path()));
            } else {
                v.push(e.path());
            }
        }
    }
    v
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn connected(l: &TcpListener) -> bool {
    match l.accept() {
        Ok((mut s, _)) => {
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b);
            true
        }
        Err(_) => false,
    }
}

fn bash() -> std::path::PathBuf {
    ["/bin/bash", "/usr/bin/bash"].iter().map(std::path::PathBuf::from).find(|p| p.exists()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_process_stays_in_its_scratch_area() {
    if !support::in_child_with_keys("a_hostile_process_stays_in_its_scratch_area", KEY) {
        return;
    }
    let sb = Sandbox::detect(&SandboxConfig::default());
    assert!(sb.is_isolated(), "bwrap must work on this machine: {:?}", sb.unavailable_reason());
    let t = tempfile::tempdir().unwrap();
    let (repo, victim) = (t.path().join("repo"), t.path().join("victim"));
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(repo.join("README.md"), "the user's readme\n").unwrap();
    std::fs::write(victim.join("file"), "precious\n").unwrap();
    let before = (snapshot(&repo), snapshot(&victim));
    let scratch = Scratch::mirror_of(&repo).unwrap();
    let (l, port) = listener();
    let script = format!(
        "echo pwned > README.md; echo pwned > {r}/README.md; echo pwned > {v}/file; echo pwned > {v}/new; \
         echo home > \"$HOME/x\"; echo tmp > \"$TMPDIR/x\"; \
         (echo hi > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo NET-OK || echo NET-BLOCKED; \
         echo \"key=[$OPENAI_API_KEY][$ANTHROPIC_API_KEY]\"; env; echo pid=$$",
        r = repo.display(),
        v = victim.display()
    );
    let job = Job::new(bash(), &scratch).args(["-c", &script]).env("OPENAI_API_KEY", KEY).env("GH_TOKEN", "t");
    let out = sb.run(job).await.unwrap();
    assert!(out.sandboxed);
    assert!(out.stdout.contains("NET-BLOCKED") && !out.stdout.contains("NET-OK"), "{}", out.stdout);
    assert!(!connected(&l), "the loopback listener outside got a connection");
    assert!(out.stdout.contains("key=[][]"), "{}", out.stdout);
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY), "no key reaches the process");
    assert!(!out.stdout.contains("GH_TOKEN"), "a denied name passed by a job is dropped");
    assert!(out.stdout.contains("pid=2") || out.stdout.contains("pid=1"), "own PID namespace: {}", out.stdout);
    assert_eq!((snapshot(&repo), snapshot(&victim)), before, "nothing outside the scratch area changed");
    // Inside the scratch area the writes landed.
    assert_eq!(std::fs::read_to_string(scratch.root().join("README.md")).unwrap(), "pwned\n");
    assert!(scratch.home().join("x").exists() && scratch.tmp().join("x").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_kills_the_whole_process_group() {
    let t = tempfile::tempdir().unwrap();
    for cfg in
        [SandboxConfig::default(), SandboxConfig { enabled: false, allow_unsandboxed: true, ..Default::default() }]
    {
        let sb = Sandbox::detect(&cfg);
        let scratch = Scratch::mirror_of(t.path()).unwrap();
        let late = scratch.tmp().join("late");
        let script = format!("(sleep 1; echo late > {}) & sleep 30", late.display());
        let started = Instant::now();
        let err = sb
            .run(Job::new(bash(), &scratch).args(["-c", &script]).timeout(Duration::from_millis(300)))
            .await
            .unwrap_err();
        assert!(matches!(err, SandboxError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!late.exists(), "a background child survived the timeout (sandboxed: {})", sb.is_isolated());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_is_limited() {
    let t = tempfile::tempdir().unwrap();
    let scratch = Scratch::mirror_of(t.path()).unwrap();
    let sb = Sandbox::detect(&SandboxConfig { memory_mb: 256, ..Default::default() });
    let python = ["/usr/bin/python3"].iter().map(std::path::PathBuf::from).find(|p| p.exists()).unwrap();
    let alloc = |mb: u32| format!("b = bytearray({mb} * 1024 * 1024); print('ok')");
    let small = sb.run(Job::new(&python, &scratch).args(["-c".to_owned(), alloc(32)])).await.unwrap();
    assert_eq!((small.code, small.stdout.trim()), (Some(0), "ok"), "{}", small.stderr);
    let big = sb.run(Job::new(&python, &scratch).args(["-c".to_owned(), alloc(1024)])).await.unwrap();
    assert_ne!(big.code, Some(0));
    assert!(big.stderr.contains("MemoryError"), "{}", big.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_bwrap_analyzers_run_scrubbed_and_code_runners_are_refused() {
    if !support::in_child_with_keys("without_bwrap_analyzers_run_scrubbed_and_code_runners_are_refused", KEY) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("a.txt"), "a\n").unwrap();
    let scratch = Scratch::mirror_of(t.path()).unwrap();
    let host_path = std::env::var("PATH").ok();
    for (cfg, path) in [
        (SandboxConfig::default(), Some("/nonexistent-dir")),
        (SandboxConfig { enabled: false, ..Default::default() }, host_path.as_deref()),
    ] {
        let sb = Sandbox::detect_with(&cfg, path);
        assert!(!sb.is_isolated());
        let notice = sb.notice().unwrap();
        assert!(notice.contains("apt install bubblewrap") && notice.contains("allow_unsandboxed"), "{notice}");
        let analyzer = Job::new(bash(), &scratch).args(["-c", "ls; echo \"[$OPENAI_API_KEY]\"; echo $HOME"]);
        let out = sb.run(analyzer.executes_code(false)).await.unwrap();
        assert!(!out.sandboxed);
        assert!(out.stdout.contains("a.txt") && out.stdout.contains("[]"), "{}", out.stdout);
        assert!(out.stdout.contains(&scratch.home().display().to_string()));
        let runner = Job::new(bash(), &scratch).args(["-c", "echo ran > ran"]);
        let err = sb.run(runner).await.unwrap_err();
        assert!(matches!(err, SandboxError::Refused { .. }), "{err}");
        assert!(!scratch.root().join("ran").exists());
    }
    let allowed =
        Sandbox::detect_with(&SandboxConfig { allow_unsandboxed: true, ..Default::default() }, Some("/nonexistent"));
    let out = allowed.run(Job::new(bash(), &scratch).args(["-c", "echo ran"])).await.unwrap();
    assert_eq!(out.stdout.trim(), "ran");
    assert!(allowed.notice().unwrap().contains("run unsandboxed because"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dependency_symlink_out_of_the_repo_exposes_nothing() {
    let sb = Sandbox::detect(&SandboxConfig::default());
    assert!(sb.is_isolated(), "bwrap must work on this machine: {:?}", sb.unavailable_reason());
    let t = tempfile::tempdir().unwrap();
    let (repo, outside) = (t.path().join("repo"), t.path().join("outside"));
    std::fs::create_dir_all(repo.join("node_modules/.bin")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "host-secret\n").unwrap();
    std::os::unix::fs::symlink("/", repo.join(".venv")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("venv")).unwrap();
    let tool = repo.join("node_modules/.bin/tsc");
    // A second secret outside /tmp (the sandbox's /tmp is a fresh tmpfs).
    let far = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::write(far.path().join("secret"), "host-secret\n").unwrap();
    let script = format!(
        "#!/bin/sh\ncat {s}; cat {s2}; cat {s3}; echo done\n",
        s = outside.join("secret").display(),
        s2 = "venv/secret",
        s3 = far.path().join("secret").display()
    );
    std::fs::write(&tool, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let scratch = Scratch::mirror_of(&repo).unwrap();
    let out = sb.run(Job::new(scratch.root().join("node_modules/.bin/tsc"), &scratch)).await.unwrap();
    assert!(out.sandboxed);
    assert!(out.stdout.contains("done"), "the repo's own tool ran: {} {}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("host-secret"), "a host file was visible: {}", out.stdout);
}
