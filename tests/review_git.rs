//! Git and the repo layout: `--repo` at the top of the work tree and `--repo` in a
//! subdirectory of it must behave the same. An accepted file that already held the user's
//! uncommitted edits lands in the working tree but is neither committed (`accept --commit`) nor
//! staged (aggressive mode), and the paths that are committed or staged are exactly the
//! accepted ones, under the repo's prefix.

#![allow(clippy::unwrap_used)]

#[path = "review_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ai_tools::codegen::materialize;
use ai_tools::plan::Action;
use ai_tools::review::{self, AcceptOptions, Selection};
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;

struct Layout {
    _dir: tempfile::TempDir,
    top: PathBuf,
    repo: PathBuf,
    task: TaskDir,
    /// The repo's prefix under the top (`""` or `"sub/"`).
    prefix: &'static str,
}

fn git(top: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(top).args(args).env_remove("GIT_INDEX_FILE").output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git work tree with `a.txt` and `b.txt` committed in the repo (the top, or `sub/`), and
/// an unrelated file at the top; then the user's uncommitted edit to `a.txt`, and generated
/// changes to both files (diff.patch derived as a run leaves it).
fn layout(prefix: &'static str) -> Layout {
    let dir = tempfile::Builder::new().prefix("ai-tools-git-").tempdir_in(support::scratch_base()).unwrap();
    let top = dir.path().join("wt");
    let repo = top.join(prefix.trim_end_matches('/'));
    std::fs::create_dir_all(&repo).unwrap();
    git(&top, &["init", "-q", "."]);
    git(&top, &["config", "user.email", "test@example.com"]);
    git(&top, &["config", "user.name", "Test"]);
    git(&top, &["config", "commit.gpgsign", "false"]);
    std::fs::write(repo.join("a.txt"), "a1\nshared\n").unwrap();
    std::fs::write(repo.join("b.txt"), "b1\n").unwrap();
    std::fs::write(top.join("top.txt"), "t1\n").unwrap();
    git(&top, &["add", "."]);
    git(&top, &["commit", "-qm", "init"]);
    // The user's own work in progress, in a file the plan also changes.
    std::fs::write(repo.join("a.txt"), "a1 wip\nshared\n").unwrap();
    let task = TaskDir::new(dir.path().join("task"));
    std::fs::create_dir_all(task.root().join("planning")).unwrap();
    std::fs::write(task.plan_md(), "# Layout test\n").unwrap();
    let items = vec![
        (RelPath::new("a.txt").unwrap(), Action::Modify, Some("a1 wip\nshared\nadded\n".to_owned())),
        (RelPath::new("b.txt").unwrap(), Action::Modify, Some("b2\n".to_owned())),
    ];
    materialize::materialize(&task, &repo, "20260101-000000-aaaa", &items).unwrap();
    review::rediff(&task, &repo).unwrap();
    Layout { _dir: dir, top, repo, task, prefix }
}

fn check_commit(prefix: &'static str) {
    let l = layout(prefix);
    let opts = AcceptOptions { selection: Selection::All, commit: true, ..AcceptOptions::default() };
    let r = review::accept(&l.task, &l.repo, &opts).unwrap();
    let commit = r.commit.as_ref().unwrap_or_else(|| panic!("[{prefix}] no commit: {:?}", r.git_error));
    assert_eq!(commit.paths, vec!["b.txt"], "[{prefix}]");
    assert!(r.git_error.as_deref().unwrap_or("").contains("a.txt"), "[{prefix}] {:?}", r.git_error);
    let a = format!("{}a.txt", l.prefix);
    let b = format!("{}b.txt", l.prefix);
    assert_eq!(git(&l.top, &["show", &format!("HEAD:{a}")]), "a1\nshared\n", "[{prefix}] the user's WIP was committed");
    assert_eq!(git(&l.top, &["show", &format!("HEAD:{b}")]), "b2\n", "[{prefix}]");
    assert_eq!(git(&l.top, &["show", "--name-only", "--format=", "HEAD"]).trim(), b, "[{prefix}]");
    assert_eq!(std::fs::read_to_string(l.repo.join("a.txt")).unwrap(), "a1 wip\nshared\nadded\n", "[{prefix}] landed");
    assert_eq!(git(&l.top, &["diff", "--name-only"]).trim(), a, "[{prefix}] the WIP stays uncommitted");
}

fn check_stage(prefix: &'static str) {
    let l = layout(prefix);
    std::fs::write(l.top.join("top.txt"), "t2\n").unwrap();
    let opts = AcceptOptions { selection: Selection::All, stage: true, ..AcceptOptions::default() };
    let r = review::accept(&l.task, &l.repo, &opts).unwrap();
    assert_eq!(r.staged, vec!["b.txt"], "[{prefix}] {:?}", r.git_error);
    let b = format!("{}b.txt", l.prefix);
    assert_eq!(
        git(&l.top, &["diff", "--cached", "--name-only"]).trim(),
        b,
        "[{prefix}] only the clean accepted path is staged"
    );
    let unstaged: Vec<String> = git(&l.top, &["diff", "--name-only"]).lines().map(str::to_owned).collect();
    assert_eq!(unstaged, vec![format!("{}a.txt", l.prefix), "top.txt".to_owned()], "[{prefix}]");
    // Undo unstages what the accept staged, in both layouts.
    review::undo(&l.task, &l.repo).unwrap();
    assert_eq!(git(&l.top, &["diff", "--cached", "--name-only"]).trim(), "", "[{prefix}]");
}

#[test]
fn commit_leaves_the_users_uncommitted_edits_out_at_the_top_level() {
    check_commit("");
}

#[test]
fn commit_leaves_the_users_uncommitted_edits_out_in_a_subdirectory() {
    check_commit("sub/");
}

#[test]
fn staging_takes_only_clean_accepted_paths_at_the_top_level() {
    check_stage("");
}

#[test]
fn staging_takes_only_clean_accepted_paths_in_a_subdirectory() {
    check_stage("sub/");
}
