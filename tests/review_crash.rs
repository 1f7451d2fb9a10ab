//! Crash safety: the `ai-tools` binary is killed with SIGKILL at random moments during a large
//! accept (and during an undo of one). Afterwards, before anything else runs, every file holds
//! its old or its new content; after the recovery that every review command runs first, the
//! files are all old or all new, no temp file or half-written journal is left, and state.json
//! (`landed`, `base`), the accept journal and diff.patch agree with the files.

#![allow(clippy::unwrap_used)]

#[path = "review_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ai_tools::codegen::diff::git_blob_id;
use ai_tools::review::journal::{self, Status};
use ai_tools::task::TaskDir;
use ai_tools::task::state::TaskState;
use support::{Fx, tree_of};

type Tree = BTreeMap<String, (Vec<u8>, bool)>;

const MODIFIED: usize = 200;
const CREATED: usize = 50;
const DELETED: usize = 50;
const ACCEPT_TRIALS: usize = 200;
const UNDO_TRIALS: usize = 60;

/// The template: a repo with MODIFIED + DELETED files and a task whose diff modifies (two
/// hunks each), creates and deletes files.
fn template() -> Fx {
    let fx = Fx::plain();
    let body = |i: usize, tag: &str| -> String {
        (0..60)
            .map(|l| if l == 3 || l == 50 { format!("{tag} {i} line {l}\n") } else { format!("file {i} line {l}\n") })
            .collect()
    };
    let mut generated: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..MODIFIED {
        let p = format!("src/m{}/f{i}.txt", i % 10);
        fx.write(&p, body(i, "old"));
        generated.push((p, Some(body(i, "new"))));
    }
    for i in 0..CREATED {
        generated.push((format!("new/c{}/n{i}.txt", i % 5), Some(body(i, "created"))));
    }
    for i in 0..DELETED {
        let p = format!("gone/d{}/g{i}.txt", i % 5);
        fx.write(&p, body(i, "doomed"));
        generated.push((p, None));
    }
    let refs: Vec<(&str, Option<&str>)> = generated.iter().map(|(p, c)| (p.as_str(), c.as_deref())).collect();
    fx.generate(&refs);
    fx
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

struct Trial {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    task: TaskDir,
}

fn trial_from(t: &Fx) -> Trial {
    let dir = tempfile::Builder::new().prefix("ai-tools-crash-").tempdir_in(support::scratch_base()).unwrap();
    copy_dir(&t.repo, &dir.path().join("repo"));
    copy_dir(t.task.root(), &dir.path().join("task"));
    Trial { repo: dir.path().join("repo"), task: TaskDir::new(dir.path().join("task")), _dir: dir }
}

fn command(tr: &Trial, sub: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ai-tools"));
    c.arg(sub).arg("--repo").arg(&tr.repo).arg("--task").arg(tr.task.root());
    if sub == "accept" {
        c.arg("--all");
    }
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Runs `sub` to completion; returns its wall time.
fn timed(tr: &Trial, sub: &str) -> Duration {
    let start = Instant::now();
    let status = command(tr, sub).status().unwrap();
    assert!(status.success(), "{sub} failed");
    start.elapsed()
}

/// Starts `sub` and SIGKILLs it after `delay` (std's `Child::kill` sends SIGKILL on Unix).
fn kill_after(tr: &Trial, sub: &str, delay: Duration) {
    let mut child = command(tr, sub).spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
}

/// Which side each file is on; panics on a file that is neither. Returns (old count, new count).
/// Unless `strict`, a temp file a killed write left behind is tolerated (recovery removes it).
fn sides(repo: &Path, old: &Tree, new: &Tree, strict: bool) -> (usize, usize) {
    let now = tree_of(repo);
    let (mut o, mut n) = (0, 0);
    for path in old.keys().chain(new.keys().filter(|k| !old.contains_key(*k))) {
        let cur = now.get(path);
        let is_old = cur == old.get(path);
        let is_new = cur == new.get(path);
        assert!(is_old || is_new, "{path} holds neither its old nor its new content");
        o += usize::from(is_old && !is_new);
        n += usize::from(is_new && !is_old);
    }
    for path in now.keys() {
        let temp = path.rsplit('/').next().is_some_and(|n| n.starts_with(ai_tools::task::fsio::TEMP_PREFIX));
        assert!(
            old.contains_key(path) || new.contains_key(path) || (temp && !strict),
            "unexpected file {path} (a stale temp file?)"
        );
    }
    (o, n)
}

/// After recovery: all old or all new, and the task agrees. Returns whether the accept stands.
fn settled(tr: &Trial, old: &Tree, new: &Tree, patch: &[u8], ids: &[String]) -> bool {
    let (o, n) = sides(&tr.repo, old, new, true);
    assert!(o == 0 || n == 0, "after recovery the batch is mixed: {o} old, {n} new");
    let records = journal::records(&tr.task).unwrap();
    assert!(records.iter().all(|r| r.status == Status::Done), "an unfinished record survived recovery");
    let scratch: Vec<String> = std::fs::read_dir(tr.task.accepts_dir())
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| n.starts_with(".t"))
                .collect()
        })
        .unwrap_or_default();
    assert!(scratch.is_empty(), "scratch journal dirs left: {scratch:?}");
    for dir in [tr.task.root().to_path_buf(), tr.task.code_dir()] {
        let stale = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(ai_tools::task::fsio::TEMP_PREFIX)));
        assert!(!stale, "temp file left in {}", dir.display());
    }
    let st = TaskState::load(&tr.task).unwrap();
    let stands = !records.is_empty();
    let diff = std::fs::read(tr.task.diff_patch()).unwrap();
    if stands {
        assert_eq!(o, 0, "an accept that stands has every file new");
        let mut landed: Vec<&String> = st.landed.keys().collect();
        landed.sort();
        let mut want: Vec<&String> = ids.iter().collect();
        want.sort();
        assert_eq!(landed, want, "state.landed names every hunk of the accept");
        assert!(st.landed.values().all(|n| *n == records[0].number));
        assert!(diff.is_empty(), "nothing is left to review");
    } else {
        assert_eq!(n, 0);
        assert!(st.landed.is_empty(), "state.landed is empty after a rollback");
        assert_eq!(diff, patch, "diff.patch is back to what it was");
    }
    for (path, entry) in &st.base {
        let cur = std::fs::read(tr.repo.join(path)).ok();
        assert_eq!(entry.blob, cur.as_deref().map(git_blob_id), "state.base of {path} matches the file");
    }
    stands
}

fn ids_of(task: &TaskDir, repo: &Path) -> Vec<String> {
    ai_tools::review::snapshot(task, repo)
        .unwrap()
        .into_iter()
        .flat_map(|f| f.hunks.into_iter().map(|h| h.id))
        .collect()
}

#[test]
fn sigkill_during_accept_and_undo_leaves_old_or_new_and_a_consistent_task() {
    let started = Instant::now();
    let t = template();
    let old = t.tree();
    let patch = std::fs::read(t.task.diff_patch()).unwrap();
    let ids = ids_of(&t.task, &t.repo);
    assert_eq!(ids.len(), 2 * MODIFIED + CREATED + DELETED);

    // Calibrate: one full accept gives the new tree and the time window to kill in.
    let full = trial_from(&t);
    let accept_time = timed(&full, "accept");
    let new = tree_of(&full.repo);
    assert!(settled(&full, &old, &new, &patch, &ids));
    let undo_time = timed(&full, "undo");
    assert_eq!(tree_of(&full.repo), old);

    let (mut stood, mut rolled, mut mixed, mut temps) = (0, 0, 0, 0);
    for _ in 0..ACCEPT_TRIALS {
        let tr = trial_from(&t);
        let delay = accept_time.mul_f64(rand::random::<f64>() * 1.3);
        kill_after(&tr, "accept", delay);
        let (o, n) = sides(&tr.repo, &old, &new, false);
        mixed += usize::from(o > 0 && n > 0);
        if let Some(r) = ai_tools::review::recover(&tr.task, &tr.repo).unwrap() {
            temps += r.temp_files;
        }
        if settled(&tr, &old, &new, &patch, &ids) { stood += 1 } else { rolled += 1 }
    }

    let (mut undone, mut kept) = (0, 0);
    for _ in 0..UNDO_TRIALS {
        let tr = trial_from(&t);
        timed(&tr, "accept");
        let delay = undo_time.mul_f64(rand::random::<f64>() * 1.3);
        kill_after(&tr, "undo", delay);
        let (o, n) = sides(&tr.repo, &old, &new, false);
        mixed += usize::from(o > 0 && n > 0);
        ai_tools::review::recover(&tr.task, &tr.repo).unwrap();
        if settled(&tr, &old, &new, &patch, &ids) { kept += 1 } else { undone += 1 }
    }
    eprintln!(
        "crash test: {ACCEPT_TRIALS} accept kills ({stood} stood, {rolled} rolled back), {UNDO_TRIALS} undo kills \
         ({undone} undone, {kept} not started), {mixed} caught mid-batch, {temps} stale temp files removed; accept {accept_time:?}, undo {undo_time:?}, \
         total {:?}",
        started.elapsed()
    );
    assert!(mixed > 0, "no kill landed while files were being written; the window is not exercised");
}
