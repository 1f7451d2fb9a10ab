//! A task dir is data from the repo (tasks are committed and cloned), so nothing in it may
//! steer a write, a delete or a read outside the task: no symlink under the task is followed,
//! ids read from disk are checked before they become paths, and cleanup deletes only what
//! ai-tools wrote. Plans may not target dependency directories or ai-tools' own config.
//!
//! Each test plants what a hostile clone could contain and runs the real binary (or the review
//! engine), then checks the world outside the task is untouched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "review_support/mod.rs"]
mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::*;

const PLAN_MD: &str = "# Greeting\n\nAdd a greeting module.\n";
const FILES_JSON: &str = r#"{"files": [{"path": "app/greet.py", "action": "create", "description": "greet()"}]}"#;
const GREET: &str = "def greet():\n    return 'hi'\n";

fn server() -> Server {
    serve(|_| Reply::Sse(openai_text_stream(&format!("```python\n{GREET}```\n"))))
}

fn run(repo: &Path, server: &Server, args: &[&str]) -> (i32, String) {
    let quiet: &[&str] = if args[0] == "codegen" { &["--quiet"] } else { &[] };
    let out = ai_tools(repo)
        .args(args)
        .args(quiet)
        .args(["--provider", "openai"])
        .env("OPENAI_BASE_URL", format!("{}/v1", server.url()))
        .env("OPENAI_API_KEY", "sk-test-loopback-0123456789")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// A repo with a task that has been generated once (code/ ready for review).
fn generated() -> (tempfile::TempDir, PathBuf, Server) {
    let r = repo_with(&[("app/__init__.py", "")]);
    let task = write_task(r.path(), "t", PLAN_MD, FILES_JSON);
    let s = server();
    let (code, out) = run(r.path(), &s, &["codegen"]);
    assert_eq!(code, 0, "{out}");
    assert!(task.join("code/files/app/greet.py").is_file());
    (r, task, s)
}

/// A directory outside the repo holding one file, and its listing.
fn outside_with_file() -> (tempfile::TempDir, Vec<String>) {
    let o = tempfile::tempdir().unwrap();
    std::fs::write(o.path().join("precious.txt"), "keep me\n").unwrap();
    std::fs::write(o.path().join("ab".repeat(20)), "not a blob of this content\n").unwrap();
    let listing = listing(o.path());
    (o, listing)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn a_hostile_run_id_in_state_json_never_becomes_a_path() {
    let (r, task, s) = generated();
    let state_path = task.join("state.json");
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    // code/archive/<id> with this id is <repo>/escaped: in the working tree, outside the task.
    state["run_id"] = "../../../../../escaped".into();
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    let (code, out) = run(r.path(), &s, &["codegen", "--redo"]);
    assert_eq!(code, 0, "{out}");
    assert!(!r.path().join("escaped").exists(), "code/files was moved out of the task");
    let archived = listing(&task.join("code/archive"));
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert!(archived[0].starts_with("unknown-"), "{archived:?}");
    assert!(task.join("code/archive").join(&archived[0]).join("files/app/greet.py").is_file());
}

#[test]
fn a_symlinked_code_base_is_refused_and_nothing_it_points_to_is_deleted() {
    let (r, task, s) = generated();
    let (outside, before) = outside_with_file();
    let base = task.join("code/base");
    let _ = std::fs::remove_dir_all(&base);
    symlink(outside.path(), &base).unwrap();
    for args in [&["codegen", "--redo"][..], &["accept"][..], &["hunks", "--rediff"][..]] {
        let (code, out) = run(r.path(), &s, args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains("code/base") && out.contains("symlink"), "{args:?}: {out}");
        assert_eq!(listing(outside.path()), before, "{args:?} deleted files outside the task");
    }
    assert!(!r.path().join("app/greet.py").exists(), "nothing was accepted");
}

#[test]
fn a_symlinked_code_dir_gets_no_generated_files() {
    let r = repo_with(&[("app/__init__.py", "")]);
    let task = write_task(r.path(), "t", PLAN_MD, FILES_JSON);
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), task.join("code")).unwrap();
    let s = server();
    let (code, out) = run(r.path(), &s, &["codegen"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("symlink"), "{out}");
    assert!(listing(outside.path()).is_empty(), "wrote outside the task: {:?}", listing(outside.path()));
    assert!(s.received().is_empty(), "refused before any model call");
}

#[test]
fn a_symlinked_planning_file_is_never_read_or_sent() {
    let r = repo_with(&[("app/__init__.py", "")]);
    let task = write_task(r.path(), "t", PLAN_MD, FILES_JSON);
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("id_rsa"), "# Plan\n\nSECRET-KEY-MATERIAL\n").unwrap();
    std::fs::remove_file(task.join("planning/plan.md")).unwrap();
    symlink(secret.path().join("id_rsa"), task.join("planning/plan.md")).unwrap();
    let s = server();
    let (code, out) = run(r.path(), &s, &["codegen"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("plan.md") && out.contains("symlink"), "{out}");
    assert!(
        s.received().iter().all(|req| !req.user_text().contains("SECRET-KEY-MATERIAL")),
        "the linked file reached the provider"
    );
}

#[test]
fn plans_may_not_target_dependency_dirs_or_the_config() {
    for target in [
        ".venv/bin/ruff",
        "venv/lib/site.py",
        "node_modules/.bin/tsc",
        "web/node_modules/left-pad/index.js",
        ".ai-tools.toml",
    ] {
        let r = repo_with(&[("app/__init__.py", "")]);
        let json = format!(r#"{{"files": [{{"path": "{target}", "action": "create", "description": "x"}}]}}"#);
        let task = write_task(r.path(), "t", PLAN_MD, &json);
        let s = server();
        let (code, out) = run(r.path(), &s, &["codegen"]);
        assert_eq!(code, 2, "{target}: {out}");
        assert!(out.contains("plan.files.json") && out.contains(target), "{target}: {out}");
        assert!(s.received().is_empty(), "{target}: no model call");
        assert!(!task.join("code").exists(), "{target}");
    }
}

#[test]
fn undo_never_reads_a_journal_record_through_a_symlink() {
    let fx = support::Fx::plain();
    fx.write("a.txt", "a1\n");
    fx.generate(&[("a.txt", Some("a2\n"))]);
    ai_tools::review::accept(&fx.task, &fx.repo, &ai_tools::review::AcceptOptions::default()).unwrap();
    assert_eq!(fx.text("a.txt"), "a2\n");
    // The record moved outside the task and linked back: a clone could ship exactly this.
    let outside = tempfile::tempdir_in(support::scratch_base()).unwrap();
    let rec = fx.task.accepts_dir().join("1");
    std::fs::rename(&rec, outside.path().join("1")).unwrap();
    symlink(outside.path().join("1"), &rec).unwrap();
    let err = ai_tools::review::undo(&fx.task, &fx.repo).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(fx.text("a.txt"), "a2\n", "nothing restored from outside the task");
    assert!(outside.path().join("1/accept.json").is_file(), "the outside copy is left alone");
}

#[test]
fn cleanup_deletes_only_what_ai_tools_wrote() {
    let fx = support::Fx::plain();
    fx.write("a.txt", "a1\n");
    fx.write("b.txt", "b1\n");
    fx.generate(&[("a.txt", Some("a2\n")), ("b.txt", Some("b2\n"))]);
    let base = fx.task.root().join("code/base");
    let accepts = fx.task.accepts_dir();
    std::fs::create_dir_all(&accepts).unwrap();
    // Entries ai-tools did not write: a note, a blob-named file whose bytes are not that blob,
    // a directory that only looks like journal scratch.
    std::fs::write(base.join("NOTES.md"), "mine\n").unwrap();
    std::fs::write(base.join("cd".repeat(20)), "not this blob\n").unwrap();
    std::fs::create_dir_all(accepts.join(".tmp-mine/keep")).unwrap();
    std::fs::create_dir_all(accepts.join(".tmp-3-99999")).unwrap();
    // An accept re-derives the diff (pruning code/base) and runs recovery (cleaning scratch).
    ai_tools::review::accept(&fx.task, &fx.repo, &ai_tools::review::AcceptOptions::default()).unwrap();
    assert!(base.join("NOTES.md").is_file());
    assert!(base.join("cd".repeat(20)).is_file());
    assert!(accepts.join(".tmp-mine/keep").is_dir());
    assert!(!accepts.join(".tmp-3-99999").exists(), "its own scratch is still cleaned");
    assert_eq!(fx.text("a.txt"), "a2\n");
}

#[test]
fn accept_lands_only_what_code_files_holds_whatever_diff_patch_says() {
    let fx = support::Fx::plain();
    fx.write("a.txt", "a1\n");
    fx.generate(&[("a.txt", Some("a2\n"))]);
    let patch_path = fx.task.root().join("code/diff.patch");
    let honest = std::fs::read_to_string(&patch_path).unwrap();
    let accept = || ai_tools::review::accept(&fx.task, &fx.repo, &ai_tools::review::AcceptOptions::default());

    // A hunk whose new side is not code/files/: refused whole, nothing written.
    std::fs::write(&patch_path, honest.replace("+a2", "+evil")).unwrap();
    let err = accept().unwrap_err();
    assert!(err.to_string().contains("does not match code/files/ for a.txt"), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(fx.text("a.txt"), "a1\n");

    // A section the run never derived: an executable in .venv/bin with mode 777.
    let body = b"echo pwned\n";
    let blob = ai_tools::codegen::diff::git_blob_id(body);
    let planted = format!(
        "diff --git a/.venv/bin/ruff b/.venv/bin/ruff\nnew file mode 100777\nindex 0000000000000000000000000000000000000000..{blob}\n--- /dev/null\n+++ b/.venv/bin/ruff\n@@ -0,0 +1 @@\n+echo pwned\n"
    );
    std::fs::write(&patch_path, format!("{planted}{honest}")).unwrap();
    let err = accept().unwrap_err();
    assert!(err.to_string().contains(".venv/bin/ruff"), "{err}");
    assert!(fx.read(".venv/bin/ruff").is_none());
    assert_eq!(fx.text("a.txt"), "a1\n");

    // The honest patch still lands.
    std::fs::write(&patch_path, &honest).unwrap();
    accept().unwrap();
    assert_eq!(fx.text("a.txt"), "a2\n");
}

#[test]
fn a_cloned_accept_journal_is_never_replayed_or_undone() {
    let fx = support::Fx::plain();
    fx.write("README", "mine\n");
    fx.generate(&[("a.txt", Some("a2\n"))]);
    // A clone ships a "crashed" accept: recovery would restore .envrc from its snapshot and
    // delete README (its `after`).
    let rec = fx.task.accepts_dir().join("1");
    std::fs::create_dir_all(rec.join("before")).unwrap();
    std::fs::write(rec.join("before/.envrc"), "echo evil\n").unwrap();
    let blob = |b: &[u8]| ai_tools::codegen::diff::git_blob_id(b);
    let record = serde_json::json!({
        "version": 1, "number": 1, "status": "pending", "at": "2026-01-01T00:00:00Z",
        "files": [
            {"path": ".envrc", "before": {"blob": blob(b"echo evil\n"), "mode": 420}, "after": null, "drifted": false},
            {"path": "README", "before": null, "after": {"blob": blob(b"mine\n"), "mode": 420}, "drifted": false}
        ],
        "hunks": [], "staged": false
    });
    std::fs::write(rec.join("accept.json"), serde_json::to_vec(&record).unwrap()).unwrap();
    // Reading the review view (what `ai-tools hunks` and the workbench do) replays nothing.
    ai_tools::review::snapshot(&fx.task, &fx.repo).unwrap();
    assert!(fx.read(".envrc").is_none());
    assert_eq!(fx.text("README"), "mine\n");
    // The same record marked done cannot be undone, and is not listed.
    let mut record = record;
    record["status"] = "done".into();
    std::fs::write(rec.join("accept.json"), serde_json::to_vec(&record).unwrap()).unwrap();
    assert!(ai_tools::review::accepts(&fx.task).unwrap().is_empty());
    assert!(ai_tools::review::undo(&fx.task, &fx.repo).is_err());
    assert!(fx.read(".envrc").is_none());
    assert_eq!(fx.text("README"), "mine\n");
    // An accept made here gets the next number and can be undone as usual.
    let report = ai_tools::review::accept(&fx.task, &fx.repo, &ai_tools::review::AcceptOptions::default()).unwrap();
    assert_eq!(report.accept, Some(2));
    assert_eq!(fx.text("a.txt"), "a2\n");
    ai_tools::review::undo(&fx.task, &fx.repo).unwrap();
    assert!(fx.read("a.txt").is_none());
    assert!(fx.read(".envrc").is_none());
}

#[test]
fn a_symlinked_candidates_dir_gets_no_archive() {
    let fx = support::Fx::plain();
    fx.write("a.txt", "a1\n");
    fx.generate(&[("a.txt", Some("a2\n"))]);
    let (outside, before) = outside_with_file();
    std::os::unix::fs::symlink(outside.path(), fx.task.code_dir().join("candidates")).unwrap();
    let err = ai_tools::review::candidate::archive(
        &fx.task,
        ai_tools::review::candidate::CandidateKind::Edit,
        &[ai_tools::task::relpath::RelPath::new("a.txt").unwrap()],
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(listing(outside.path()), before, "nothing written outside the task");
    assert!(ai_tools::review::candidate::records(&fx.task).is_empty(), "nothing read through it");
}

#[test]
fn a_diff_patch_that_hides_its_base_lands_nothing() {
    let fx = support::Fx::plain();
    fx.write("a.py", "x = 1\n");
    fx.generate(&[("a.py", Some("x = 1\ny = 2\n"))]);
    let patch_path = fx.task.root().join("code/diff.patch");
    let honest = std::fs::read_to_string(&patch_path).unwrap();
    // A null old blob on the `index` line, and a hunk that adds a line code/files/ does not hold.
    let index = honest.lines().find(|l| l.starts_with("index ")).unwrap().to_owned();
    let new_side = index.split("..").nth(1).unwrap();
    let forged = honest
        .replace(&index, &format!("index {}..{new_side}", "0".repeat(40)))
        .replace("+y = 2", "+import os; os.system('echo pwned')");
    std::fs::write(&patch_path, forged).unwrap();
    let err = ai_tools::review::accept(&fx.task, &fx.repo, &ai_tools::review::AcceptOptions::default()).unwrap_err();
    assert!(err.to_string().contains("names no base"), "{err}");
    assert_eq!(fx.text("a.py"), "x = 1\n");
}
