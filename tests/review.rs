//! Accepting changes: partial acceptance, new files, deletions, modes, CRLF, missing final
//! newlines, drift (clean and conflicting), undo, recovery, git commit isolation and staging,
//! the CLI's output and exit codes, and the actor's review commands.

#![allow(clippy::unwrap_used)]

#[path = "review_support/mod.rs"]
mod support;

use std::collections::HashSet;

use ai_tools::review::accept::Change;
use ai_tools::review::journal::{self, Status};
use ai_tools::review::{self, AcceptOptions, HunkState, ReviewError, Selection};
use support::{Fx, TITLE, numbered, swap};

fn accept(fx: &Fx, selection: Selection) -> review::AcceptReport {
    review::accept(&fx.task, &fx.repo, &AcceptOptions { selection, ..AcceptOptions::default() }).unwrap()
}

/// A 40-line file with changes at lines 5 and 30: two hunks.
fn two_hunks(fx: &Fx, path: &str) -> (String, String) {
    let old = numbered(40);
    let new = swap(&swap(&old, 5, "five"), 30, "thirty\nthirty-one-and-a-half");
    fx.write(path, &old);
    (old, new)
}

#[test]
fn partial_acceptance_lands_accepted_hunks_and_keeps_rejected_ones_reviewable() {
    let fx = Fx::plain();
    let (old, new) = two_hunks(&fx, "src/app.py");
    fx.generate(&[("src/app.py", Some(&new))]);
    let ids = fx.ids("src/app.py");
    assert_eq!(ids.len(), 2);

    review::set_states(&fx.task, &fx.repo, &[(ids[1].clone(), false)]).unwrap();
    let r = accept(&fx, Selection::Accepted);
    assert_eq!((r.accept, r.hunks.clone(), r.exit_code()), (Some(1), vec![ids[0].clone()], 0));
    assert_eq!(fx.text("src/app.py"), swap(&old, 5, "five"), "the base with only the accepted hunk");

    // The rejected hunk is still in the re-derived diff, with the same id and state.
    let files = fx.hunks();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].hunks.len(), 1);
    assert_eq!((files[0].hunks[0].id.as_str(), files[0].hunks[0].state), (ids[1].as_str(), HunkState::Rejected));
    assert_eq!(std::fs::read_to_string(fx.task.files_dir().join("src/app.py")).unwrap(), new, "code/files untouched");
    let st = ai_tools::task::state::TaskState::load(&fx.task).unwrap();
    assert_eq!(st.landed.get(&ids[0]), Some(&1));

    // A default accept now has nothing to do; choosing the rejected hunk lands it.
    assert_eq!(accept(&fx, Selection::Accepted).accept, None);
    let r = accept(&fx, Selection::Hunks(vec![ids[1][..6].to_owned()]));
    assert_eq!(r.accept, Some(2));
    assert_eq!(fx.text("src/app.py"), new);
    assert!(fx.patch().is_empty());
}

#[test]
fn new_files_deletions_and_empty_files_then_undo_without_git() {
    let fx = Fx::plain();
    fx.write("old/gone.txt", "bye\n");
    fx.chmod("old/gone.txt", 0o750);
    fx.write("keep.txt", "k\n");
    fx.write("old/empty-gone.txt", "");
    fx.generate(&[
        ("pkg/sub/new.py", Some("print('hi')\n")),
        ("pkg/empty.txt", Some("")),
        ("old/gone.txt", None),
        ("old/empty-gone.txt", None),
    ]);
    let before = fx.tree();
    let r = accept(&fx, Selection::All);
    let changes: Vec<(String, Change)> = r.landed.iter().map(|f| (f.path.clone(), f.change)).collect();
    assert_eq!(
        changes,
        vec![
            ("old/empty-gone.txt".into(), Change::Deleted),
            ("old/gone.txt".into(), Change::Deleted),
            ("pkg/empty.txt".into(), Change::Created),
            ("pkg/sub/new.py".into(), Change::Created),
        ]
    );
    assert_eq!(fx.text("pkg/sub/new.py"), "print('hi')\n");
    assert_eq!(fx.mode("pkg/sub/new.py"), 0o644);
    assert_eq!(fx.read("pkg/empty.txt").unwrap(), b"");
    assert!(!fx.path("old").exists(), "a deletion removes the directories it empties");
    assert!(fx.patch().is_empty());

    let u = review::undo(&fx.task, &fx.repo).unwrap();
    assert_eq!(u.accept, 1);
    assert_eq!(fx.tree(), before, "undo restores every file, content and mode");
    assert_eq!(fx.mode("old/gone.txt"), 0o750);
    assert!(!fx.path("pkg").exists());
    assert_eq!(fx.hunks().iter().map(|f| f.hunks.len()).sum::<usize>(), 4, "the diff is back");
    assert!(!fx.task.accepts_dir().join("1").exists());
    assert!(matches!(review::undo(&fx.task, &fx.repo), Err(ReviewError::NothingToUndo(_))));
}

#[test]
fn modes_are_preserved_and_mode_changes_are_hunks() {
    let fx = Fx::plain();
    fx.write("run.sh", "#!/bin/sh\necho a\n");
    fx.chmod("run.sh", 0o755);
    fx.write("secret.txt", "s1\n");
    fx.chmod("secret.txt", 0o600);
    fx.write("tool.py", "print(1)\n");
    fx.generate(&[
        ("run.sh", Some("#!/bin/sh\necho b\n")),
        ("secret.txt", Some("s2\n")),
        ("tool.py", Some("print(2)\n")),
        ("new.sh", Some("#!/bin/sh\n")),
    ]);
    // Make tool.py executable in code/files: the diff carries a mode change as its own hunk.
    std::fs::set_permissions(fx.task.files_dir().join("tool.py"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    review::rediff(&fx.task, &fx.repo).unwrap();
    let tool = fx.hunks().into_iter().find(|f| f.path == "tool.py").unwrap();
    assert_eq!(tool.hunks[0].header, "mode 100644 → 100755");
    assert_eq!(tool.hunks.len(), 2);

    // Accept everything except tool.py's mode change.
    review::set_states(&fx.task, &fx.repo, &[(tool.hunks[0].id.clone(), false)]).unwrap();
    accept(&fx, Selection::Accepted);
    assert_eq!((fx.text("run.sh").as_str(), fx.mode("run.sh")), ("#!/bin/sh\necho b\n", 0o755));
    assert_eq!((fx.text("secret.txt").as_str(), fx.mode("secret.txt")), ("s2\n", 0o600));
    assert_eq!((fx.text("tool.py").as_str(), fx.mode("tool.py")), ("print(2)\n", 0o644));
    assert_eq!(fx.mode("new.sh"), 0o755);
    // Then the mode change alone.
    let left = fx.hunks();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].hunks[0].id, tool.hunks[0].id, "the mode hunk keeps its id");
    accept(&fx, Selection::All);
    assert_eq!(fx.mode("tool.py"), 0o755);
}

#[test]
fn crlf_files_and_files_without_a_final_newline() {
    let fx = Fx::plain();
    let old: String = (1..=30).map(|i| format!("line {i}\r\n")).collect();
    let new = swap(&swap(&old, 3, "LINE 3"), 27, "LINE 27");
    fx.write("win.txt", &old);
    fx.write("tail.txt", "a\nb\nc");
    fx.write("grow.txt", "x\ny");
    fx.generate(&[("win.txt", Some(&new)), ("tail.txt", Some("a\nb\nC")), ("grow.txt", Some("x\ny\nz\n"))]);
    let win = fx.ids("win.txt");
    assert_eq!(win.len(), 2);
    accept(&fx, Selection::Hunks(vec![win[1].clone()]));
    assert_eq!(fx.read("win.txt").unwrap(), swap(&old, 27, "LINE 27").as_bytes(), "CRLF kept byte for byte");
    accept(&fx, Selection::All);
    assert_eq!(fx.read("win.txt").unwrap(), new.as_bytes());
    assert_eq!(fx.read("tail.txt").unwrap(), b"a\nb\nC");
    // A modify keeps its base's final-newline state (materialize conforms the generated text).
    assert_eq!(fx.read("grow.txt").unwrap(), b"x\ny\nz");
}

#[test]
fn drift_that_applies_cleanly_is_merged_and_never_reverted_by_default() {
    let fx = Fx::plain();
    let (old, new) = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let ids = fx.ids("a.py");
    // The user edits line 18, far from both hunks, after the diff.
    let edited = swap(&old, 18, "eighteen, by hand");
    fx.write("a.py", &edited);
    let r = accept(&fx, Selection::Hunks(vec![ids[0].clone()]));
    assert_eq!(r.exit_code(), 0);
    assert!(r.landed[0].merged);
    assert_eq!(fx.text("a.py"), swap(&edited, 5, "five"), "the hunk landed around the edit");
    // The re-derived diff now also holds a hunk that would undo the edit: it starts rejected,
    // so the default accept keeps the edit.
    assert!(!r.reset.is_empty());
    accept(&fx, Selection::Accepted);
    let text = fx.text("a.py");
    assert!(text.contains("eighteen, by hand") && text.contains("thirty-one-and-a-half"), "{text}");
}

#[test]
fn drift_that_conflicts_exits_4_and_leaves_the_file_untouched() {
    let fx = Fx::plain();
    let (old, new) = two_hunks(&fx, "a.py");
    fx.write("b.py", "b1\n");
    fx.generate(&[("a.py", Some(&new)), ("b.py", Some("b2\n"))]);
    let edited = swap(&old, 6, "six, by hand"); // inside hunk 1's context
    fx.write("a.py", &edited);
    let (code, _out, err) = fx.cli(&["accept"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("a.py") && err.contains("/redo codegen") && err.contains("edit at line 6"), "{err}");
    assert_eq!(fx.text("a.py"), edited, "a conflicting file is never written");
    assert_eq!(fx.text("b.py"), "b2\n", "other files still land");
    // The refused file keeps its diff (and its drift) until a re-diff: asking again, even for
    // every hunk of it, is refused again. JSON reports the conflict too.
    let (code, out, _) = fx.cli(&["accept", "--json", "--files", "a.py"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, v["exit_code"].as_i64()), (4, Some(4)));
    assert_eq!(v["conflicts"][0]["path"], "a.py");
    assert_eq!(fx.text("a.py"), edited);
    // After a re-diff, the hunks that touch the edit start rejected; the default accept lands
    // the rest and keeps the edit.
    let (code, out, _) = fx.cli(&["hunks", "--rediff"]);
    assert_eq!(code, 0);
    assert!(out.contains("start rejected"), "{out}");
    let (code, _, err) = fx.cli(&["accept"]);
    assert_eq!(code, 0, "{err}");
    let text = fx.text("a.py");
    assert!(
        text.contains("six, by hand") && text.contains("thirty-one-and-a-half") && !text.contains("five\n"),
        "{text}"
    );
}

#[test]
fn undo_is_refused_after_a_later_edit_and_works_once_it_is_gone() {
    let fx = Fx::plain();
    let (old, new) = two_hunks(&fx, "a.py");
    fx.write("b.py", "b1\n");
    fx.generate(&[("a.py", Some(&new)), ("b.py", Some("b2\n"))]);
    accept(&fx, Selection::All);
    fx.write("b.py", "b3 by hand\n");
    let (code, _, err) = fx.cli(&["undo"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("b.py") && !err.contains("a.py,"), "{err}");
    assert_eq!((fx.text("a.py"), fx.text("b.py")), (new.clone(), "b3 by hand\n".to_owned()), "nothing restored");
    fx.write("b.py", "b2\n");
    let (code, out, err) = fx.cli(&["undo"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("undid accept 1"), "{out}");
    assert_eq!((fx.text("a.py"), fx.text("b.py")), (old, "b1\n".to_owned()));
}

#[test]
fn an_accept_interrupted_before_its_commit_point_is_rolled_back() {
    let fx = Fx::plain();
    let (old, new) = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new)), ("n.txt", Some("n\n"))]);
    let patch = fx.patch();
    accept(&fx, Selection::All);
    // Pretend the process died after its writes, before marking the record done.
    let mut rec = journal::records(&fx.task).unwrap().remove(0);
    journal::set_status(&fx.task, &mut rec, Status::Pending).unwrap();
    std::fs::write(fx.path(".ai-tools-tmp-x1"), "half").unwrap();
    let rep = review::recover(&fx.task, &fx.repo).unwrap().unwrap();
    assert_eq!(rep.rolled_back, vec![1]);
    assert_eq!(rep.temp_files, 1);
    assert_eq!(fx.text("a.py"), old);
    assert!(!fx.path("n.txt").exists());
    assert_eq!(fx.patch(), patch);
    let st = ai_tools::task::state::TaskState::load(&fx.task).unwrap();
    assert!(st.landed.is_empty());
    assert!(journal::records(&fx.task).unwrap().is_empty());
    assert!(review::recover(&fx.task, &fx.repo).unwrap().is_none());
}

/// `accept --commit` runs the user's git hooks: a pre-commit hook (via `core.hooksPath`) that
/// dumps its environment sees git's own variables but no API key.
#[test]
fn a_commit_hook_never_sees_an_api_key() {
    let fx = Fx::git_repo();
    fx.write("a.txt", "a1\n");
    fx.git(&["add", "."]);
    fx.git(&["commit", "-qm", "init"]);
    let hooks = fx.task.root().parent().unwrap().join("hooks");
    let dump = hooks.join("env.txt");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("pre-commit"), format!("#!/bin/sh\nenv > {}\n", dump.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    fx.git(&["config", "core.hooksPath", &hooks.display().to_string()]);
    fx.generate(&[("a.txt", Some("a2\n"))]);
    // The user keeps a key in a variable with an unusual name, named by their own config.
    let cfg = hooks.join("user.toml");
    std::fs::write(&cfg, "[providers.mine]\nkind = \"openai\"\napi_key_env = \"MY_LLM\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ai-tools"))
        .args(["accept", "--all", "--commit", "--repo"])
        .arg(&fx.repo)
        .arg("--task")
        .arg(fx.task.root())
        .env_remove("GIT_INDEX_FILE")
        .env("AI_TOOLS_CONFIG", &cfg)
        .env("MY_LLM", "custom-var-key-0002")
        .env("OPENAI_API_KEY", "sk-hook-test-0001")
        .env("GITHUB_TOKEN", "ghp-hook-test")
        .env("KEEP_ME", "visible")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let env = std::fs::read_to_string(&dump).expect("the hook ran");
    assert!(env.contains("KEEP_ME=visible") && env.contains("GIT_"), "{env}");
    assert!(!env.contains("sk-hook-test") && !env.contains("ghp-hook-test"), "{env}");
    assert!(!env.contains("custom-var-key"), "a configured api_key_env is kept from hooks too: {env}");
}

#[test]
fn commit_takes_exactly_the_accepted_paths() {
    let fx = Fx::git_repo();
    let (_, new) = two_hunks(&fx, "a.py");
    fx.write("unrelated.txt", "u1\n");
    fx.write("staged.txt", "s1\n");
    fx.write("gone.txt", "g\n");
    fx.git(&["add", "."]);
    fx.git(&["commit", "-qm", "init"]);
    fx.generate(&[("a.py", Some(&new)), ("new/b.py", Some("b\n")), ("gone.txt", None)]);
    // The user's own work: an unstaged edit and a staged one.
    fx.write("unrelated.txt", "u2 dirty\n");
    fx.write("staged.txt", "s2 staged\n");
    fx.git(&["add", "staged.txt"]);

    let (code, out, err) = fx.cli(&["accept", "--commit"]);
    assert_eq!(code, 0, "{out}{err}");
    let files = fx.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    let mut lines: Vec<&str> = files.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.remove(0), TITLE, "the message is the plan title");
    lines.sort_unstable();
    assert_eq!(lines, vec!["a.py", "gone.txt", "new/b.py"]);
    assert_eq!(fx.git(&["diff", "--name-only"]).trim(), "unrelated.txt", "still unstaged");
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]).trim(), "staged.txt", "still staged, not committed");
    assert_eq!(fx.text("unrelated.txt"), "u2 dirty\n");
    assert_eq!(fx.git(&["show", "HEAD:staged.txt"]), "s1\n");

    // -m and a later accept: only its own paths.
    fx.write("c.txt", "c1\n");
    fx.generate(&[("c.txt", Some("c2\n"))]);
    let (code, _, err) = fx.cli(&["accept", "--all", "--commit", "-m", "custom message"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fx.git(&["show", "--name-only", "--format=%s", "HEAD"]).trim(), "custom message\n\nc.txt");
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]).trim(), "staged.txt");
}

#[test]
fn a_file_with_the_users_own_uncommitted_changes_lands_but_is_not_committed() {
    let fx = Fx::git_repo();
    fx.write("a.txt", "a1\nshared\n");
    fx.write("b.txt", "b1\n");
    fx.git(&["add", "."]);
    fx.git(&["commit", "-qm", "init"]);
    // The user's edit in a file the plan also changes, made before the diff.
    fx.write("a.txt", "a1 wip\nshared\n");
    fx.generate(&[("a.txt", Some("a1 wip\nshared\nadded\n")), ("b.txt", Some("b2\n"))]);
    let opts = AcceptOptions { selection: Selection::All, commit: true, ..AcceptOptions::default() };
    let r = review::accept(&fx.task, &fx.repo, &opts).unwrap();
    assert_eq!(r.commit.as_ref().unwrap().paths, vec!["b.txt"]);
    assert!(r.git_error.as_deref().unwrap_or("").contains("a.txt"), "{:?}", r.git_error);
    assert_eq!(fx.git(&["show", "HEAD:a.txt"]), "a1\nshared\n", "the user's WIP was not committed");
    assert_eq!(fx.text("a.txt"), "a1 wip\nshared\nadded\n", "the hunk still landed");
}

#[test]
fn commit_outside_git_is_bad_input() {
    let fx = Fx::plain();
    fx.generate(&[("a.txt", Some("a\n"))]);
    let (code, _, err) = fx.cli(&["accept", "--commit"]);
    assert_eq!(code, 2, "{err}");
    assert!(!fx.path("a.txt").exists());
}

#[test]
fn aggressive_mode_stages_the_accepted_paths_only() {
    let fx = Fx::git_repo();
    fx.write("a.txt", "a1\n");
    fx.write("gone.txt", "g\n");
    fx.write("other.txt", "o1\n");
    fx.git(&["add", "."]);
    fx.git(&["commit", "-qm", "init"]);
    fx.generate(&[("a.txt", Some("a2\n")), ("gone.txt", None), ("new.txt", Some("n\n"))]);
    fx.write("other.txt", "o2\n");
    let opts = AcceptOptions { selection: Selection::All, stage: true, ..AcceptOptions::default() };
    let r = review::accept(&fx.task, &fx.repo, &opts).unwrap();
    assert_eq!(r.staged, vec!["a.txt", "gone.txt", "new.txt"]);
    let staged: HashSet<String> = fx.git(&["diff", "--cached", "--name-only"]).lines().map(str::to_owned).collect();
    assert_eq!(staged, ["a.txt", "gone.txt", "new.txt"].iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(fx.git(&["diff", "--name-only"]).trim(), "other.txt");
}

#[test]
fn hunks_lists_ids_headers_counts_and_states() {
    let fx = Fx::plain();
    let (_, new) = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new)), ("b.txt", Some("b\n"))]);
    let ids = fx.ids("a.py");
    review::set_states(&fx.task, &fx.repo, &[(ids[0].clone(), false)]).unwrap();
    let (code, out, _) = fx.cli(&["hunks", "--json"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["id"], ids[0].as_str());
    assert_eq!(rows[0]["file"], "a.py");
    assert_eq!(rows[0]["header"], "@@ -2,7 +2,7 @@");
    assert_eq!(rows[0]["state"], "rejected");
    assert_eq!((rows[0]["additions"].as_u64(), rows[0]["deletions"].as_u64()), (Some(1), Some(1)));
    assert_eq!((rows[2]["file"].as_str(), rows[2]["action"].as_str()), (Some("b.txt"), Some("create")));
    let (code, text, _) = fx.cli(&["hunks"]);
    assert_eq!(code, 0);
    assert!(text.contains(&format!("  {}  rejected  @@ -2,7 +2,7 @@  +1 −1", ids[0])), "{text}");
    let (code, _, err) = fx.cli(&["accept", "--hunks", "ffffffffffff"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = fx.cli(&["accept", "--hunks", "x", "--all"]);
    assert_eq!(code, 2, "selectors are exclusive");
}

#[test]
fn the_diff_line_view_numbers_old_and_new_lines() {
    let fx = Fx::plain();
    // As many CRLF as LF lines: no dominant ending, so materialize keeps the generated ones.
    fx.write("v.txt", "a\nb\nc\r\nd\r\ne");
    fx.generate(&[("v.txt", Some("a\nB\nc\r\nd\r\ne\nf"))]);
    let h = &fx.hunks()[0].hunks[0];
    let rows: Vec<(Option<usize>, Option<usize>, &str, bool, bool)> =
        h.lines.iter().map(|l| (l.old, l.new, l.text.as_str(), l.crlf, l.no_newline)).collect();
    assert_eq!(
        rows,
        vec![
            (Some(1), Some(1), "a", false, false),
            (Some(2), None, "b", false, false),
            (None, Some(2), "B", false, false),
            (Some(3), Some(3), "c", true, false),
            (Some(4), Some(4), "d", true, false),
            (Some(5), None, "e", false, true),
            (None, Some(5), "e", false, false),
            (None, Some(6), "f", false, true),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actor_answers_review_commands_with_events() {
    use ai_tools::orchestrator::{self, Command, Event, Session};
    let fx = Fx::plain();
    let (_, new) = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let session = Session {
        repo: fx.repo.clone(),
        task: fx.task.clone(),
        config: ai_tools::config::Config::default(),
        env: std::sync::Arc::new(|_: &str| None),
        prompt_dir: None,
    };
    let (handle, mut events, join) = orchestrator::spawn(session);
    let mut next =
        async || tokio::time::timeout(std::time::Duration::from_secs(20), events.recv()).await.unwrap().unwrap();

    handle.send(Command::Snapshot);
    // The plan (or a warning that it does not load) comes first, then the hunks.
    let first = next().await;
    assert!(matches!(first, Event::PlanLoaded { .. } | Event::Log { .. }), "{first:?}");
    let Event::Hunks { files } = next().await else { panic!("expected hunks") };
    let ids: Vec<String> = files[0].hunks.iter().map(|h| h.id.clone()).collect();
    handle.send(Command::SetHunks(vec![(ids[1].clone(), false)]));
    let Event::HunksMarked { hunks } = next().await else { panic!("expected marks") };
    assert_eq!(hunks[0].state, HunkState::Rejected);
    handle.send(Command::Accept { selection: ai_tools::review::Selection::Accepted, commit: false, message: None });
    assert!(matches!(next().await, Event::DiffReady { .. }));
    let Event::Accepted { report, exit_code, .. } = next().await else { panic!("expected accepted") };
    assert_eq!((report.hunks.clone(), exit_code), (vec![ids[0].clone()], 0));
    let Event::Hunks { files } = next().await else { panic!("expected hunks") };
    assert_eq!(files[0].hunks.len(), 1);
    handle.send(Command::Undo);
    assert!(matches!(next().await, Event::DiffReady { .. }));
    assert!(matches!(next().await, Event::Undone { .. }));
    let Event::Hunks { files } = next().await else { panic!("expected hunks") };
    assert_eq!(files[0].hunks.len(), 2);
    handle.send(Command::Undo);
    assert!(matches!(next().await, Event::Rejected { .. }));
    // A front end that needs the answer gets it on the command's reply channel: the events the
    // command published, the refusal and its exit code.
    let answer = handle.request(Command::Undo).await;
    assert_eq!(answer.exit_code, 2, "nothing to undo is bad input");
    assert!(answer.error.as_deref().is_some_and(|e| e.contains("undo")), "{answer:?}");
    assert!(matches!(answer.events.as_slice(), [Event::Rejected { .. }]));
    assert!(matches!(next().await, Event::Rejected { .. }), "the refusal is published too");
    let answer = handle.request(Command::Snapshot).await;
    assert_eq!(answer.exit_code, 0);
    assert!(answer.find(|e| if let Event::Hunks { files } = e { Some(files.len()) } else { None }) == Some(1));
    handle.send(Command::Shutdown);
    join.await.unwrap();
}

#[test]
fn targets_behind_symlinks_are_refused_and_never_written_through() {
    let fx = Fx::plain();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.txt"), "keep\n").unwrap();
    fx.write("a.txt", "a1\n");
    fx.generate(&[("a.txt", Some("a2\n")), ("link/new.txt", Some("n\n"))]);
    // After the diff, a.txt becomes a symlink to a file outside the repo, and link/ one to a
    // directory outside it.
    std::fs::remove_file(fx.path("a.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("target.txt"), fx.path("a.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), fx.path("link")).unwrap();
    let r = accept(&fx, Selection::All);
    assert_eq!((r.exit_code(), r.conflicts.len(), r.accept), (4, 2, None));
    assert!(r.conflicts.iter().all(|c| c.reason.contains("symlink")), "{:?}", r.conflicts);
    assert_eq!(std::fs::read_to_string(outside.path().join("target.txt")).unwrap(), "keep\n");
    assert!(!outside.path().join("new.txt").exists());
}
