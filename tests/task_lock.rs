//! One lock for every command that mutates a task: `codegen --redo` runs as a process while
//! other processes accept and undo on the same task, over and over. Whatever interleaving the
//! lock allows, when everything has ended state.json, the accept journal, diff.patch and the
//! working tree must agree:
//!
//! - diff.patch is what deriving it again from code/files against the working tree gives;
//! - state.json's base names, for every target, the blob the working tree holds;
//! - state.json's `landed` names exactly the hunks of the accepts made since the run started
//!   (each with its accept's number), and every record in the journal is `done`;
//! - every file holds what the newest accept that touched it wrote.
//!
//! The model replies through a loopback server in the OpenAI wire format, slowly, and the
//! first version of `app/b.py` has a syntax error, so every run spends a while in its repair
//! stage — after it has written diff.patch and before its final state.json — which is where an
//! unlocked accept would interleave.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ai_tools::codegen::diff::{Backend, git_blob_id};
use ai_tools::review::journal::{self, Status};
use ai_tools::task::TaskDir;
use ai_tools::task::state::{RunStatus, TaskState};
use common::*;

const FILES_JSON: &str = r#"{"files": [
  {"path": "app/a.py", "action": "modify", "description": "return a new number"},
  {"path": "app/b.py", "action": "modify", "description": "return a new number"}
]}"#;

fn server() -> Server {
    let n = Arc::new(AtomicUsize::new(0));
    serve(move |req| {
        let k = n.fetch_add(1, Ordering::SeqCst);
        let repair = req.body["tools"].is_array();
        let target = req.target().unwrap_or_default();
        let text = if repair {
            // Fix the syntax error, keeping the rest.
            format!("```python\ndef b():\n    return {k}\n\n\nB = 2\n```\n")
        } else if target.ends_with("b.py") {
            format!("```python\ndef b(:\n    return {k}\n\n\nB = 2\n```\n")
        } else {
            format!("```python\ndef a():\n    return {k}\n\n\nA = 1\n```\n")
        };
        Reply::Delayed(
            Duration::from_millis(if repair { 500 } else { 150 }),
            Box::new(Reply::Sse(openai_text_stream(&text))),
        )
    })
}

fn cmd(repo: &Path, server: &Server, args: &[&str]) -> i32 {
    ai_tools(repo)
        .args(args)
        .args(["--provider", "openai"])
        .env("OPENAI_BASE_URL", format!("{}/v1", server.url()))
        .env("OPENAI_API_KEY", "sk-test-loopback-0123456789")
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

/// Checks the agreement the module docs list; returns what disagrees.
fn disagreements(task: &TaskDir, repo: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let st = TaskState::load(task).unwrap();
    if st.status == RunStatus::Running {
        bad.push("state.json says a run is still going".into());
    }
    let on_disk = std::fs::read(task.diff_patch()).unwrap_or_default();
    let derived = ai_tools::codegen::patch::derive(task, repo, Backend::default()).unwrap();
    if on_disk != derived.patch {
        bad.push(format!(
            "diff.patch is not derived from code/files against the tree:\n--- on disk\n{}\n--- derived\n{}",
            String::from_utf8_lossy(&on_disk),
            String::from_utf8_lossy(&derived.patch)
        ));
    }
    for (path, entry) in &st.base {
        let tree = std::fs::read(repo.join(path)).ok().map(|b| git_blob_id(&b));
        if entry.blob != tree {
            bad.push(format!("state.json's base for {path} is {:?}, the tree holds {tree:?}", entry.blob));
        }
    }
    // The binary registered its journals under the repo's state dir, not this process's.
    let records = journal::all_records(task).unwrap();
    let mut want: BTreeMap<String, u32> = BTreeMap::new();
    let mut newest: BTreeMap<String, (u32, Option<String>)> = BTreeMap::new();
    for r in &records {
        if r.status != Status::Done {
            bad.push(format!("accept {} is left {:?}", r.number, r.status));
        }
        if st.started_at.is_some_and(|s| r.at >= s) {
            want.extend(r.hunks.iter().map(|h| (h.clone(), r.number)));
        }
        for f in &r.files {
            newest.insert(f.path.to_string(), (r.number, f.after.as_ref().map(|s| s.blob.clone())));
        }
    }
    if st.landed != want {
        bad.push(format!("state.json's landed is {:?}; the journal's accepts since the run are {want:?}", st.landed));
    }
    for (path, (n, after)) in newest {
        let tree = std::fs::read(repo.join(&path)).ok().map(|b| git_blob_id(&b));
        if tree != after {
            bad.push(format!("{path} is not what accept {n} (the newest to touch it) wrote"));
        }
    }
    bad
}

#[test]
fn codegen_and_accept_undo_as_concurrent_processes_leave_state_journal_and_diff_in_agreement() {
    let r = repo_with(&[
        ("app/__init__.py", ""),
        ("app/a.py", "def a():\n    return 0\n\n\nA = 1\n"),
        ("app/b.py", "def b():\n    return 0\n\n\nB = 2\n"),
    ]);
    let repo = r.path().to_path_buf();
    let task = TaskDir::new(write_task(&repo, "t", "# Numbers\n\nNew numbers.\n", FILES_JSON));
    let s = server();
    assert_eq!(cmd(&repo, &s, &["codegen", "--quiet"]), 0);
    assert!(disagreements(&task, &repo).is_empty(), "{:?}", disagreements(&task, &repo));

    let stop = Arc::new(AtomicBool::new(false));
    let reviewer = {
        let (repo, s, stop) = (repo.clone(), s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut codes = Vec::new();
            let mut k = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let args: &[&str] = if k % 3 == 2 { &["undo"] } else { &["accept", "--all"] };
                codes.push((args[0], cmd(&repo, &s, args)));
                k += 1;
            }
            codes
        })
    };
    let mut runs = Vec::new();
    for _ in 0..6 {
        runs.push(cmd(&repo, &s, &["codegen", "--redo", "--quiet"]));
    }
    stop.store(true, Ordering::SeqCst);
    let reviews = reviewer.join().unwrap();

    // Every outcome is one the user can act on: done, busy (another command holds the task),
    // nothing to review or undo, or a refused file — never a crash.
    assert!(runs.iter().all(|c| matches!(c, 0 | 2)), "codegen exit codes {runs:?}");
    assert!(runs.contains(&0), "no run completed: {runs:?}");
    assert!(reviews.iter().all(|(_, c)| matches!(c, 0 | 1 | 2 | 4)), "{reviews:?}");
    assert!(reviews.iter().any(|(a, c)| *a == "accept" && *c == 0), "no accept landed: {reviews:?}");
    let bad = disagreements(&task, &repo);
    assert!(bad.is_empty(), "after codegen runs {runs:?} and reviews {reviews:?}:\n{}", bad.join("\n"));
}
