//! The review loop without a model: rejection reasons, hunks held back by findings the run
//! introduced, multi-level undo through the accept journal (with real git), and edits before
//! accepting (with a real editor process).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "review_support/mod.rs"]
mod support;

use ai_tools::config::ValidateConfig;
use ai_tools::report::classify::Category;
use ai_tools::report::{Severity, ValidationReport};
use ai_tools::review::edit::{self, EditOutcome};
use ai_tools::review::{self, AcceptOptions, HunkState, Selection};
use ai_tools::runlog::{RunLog, StepEvent};
use ai_tools::task::state::TaskState;
use support::{Fx, numbered, swap};

/// A 40-line file with changes at lines 5 and 30: two hunks.
fn two_hunks(fx: &Fx, path: &str) -> String {
    let old = numbered(40);
    fx.write(path, &old);
    swap(&swap(&old, 5, "five"), 30, "thirty")
}

fn json_rows(out: &str) -> Vec<serde_json::Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_rejection_carries_its_reason_until_the_hunk_is_accepted() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let ids = fx.ids("a.py");

    let (code, out, err) =
        fx.cli(&["hunks", "--reject", &ids[0][..8], "--reason", "  keep the old numbering  ", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_rows(&out);
    assert_eq!(
        (rows[0]["state"].as_str(), rows[0]["reason"].as_str()),
        (Some("rejected"), Some("keep the old numbering"))
    );
    assert_eq!((rows[1]["state"].as_str(), rows[1]["reason"].as_str()), (Some("accepted"), None));
    let st = TaskState::load(&fx.task).unwrap();
    assert_eq!(st.reasons.get(&ids[0]).map(String::as_str), Some("keep the old numbering"));
    let (_, text, _) = fx.cli(&["hunks"]);
    assert!(text.contains("reason: keep the old numbering"), "{text}");

    // Rejecting again without a reason keeps it; accepting clears it.
    fx.cli(&["hunks", "--reject", &ids[0]]);
    assert_eq!(fx.hunks()[0].hunks[0].reason.as_deref(), Some("keep the old numbering"));
    let (code, _, _) = fx.cli(&["hunks", "--accept", &ids[0]]);
    assert_eq!(code, 0);
    assert_eq!((fx.hunks()[0].hunks[0].state, fx.hunks()[0].hunks[0].reason.clone()), (HunkState::Accepted, None));

    // Bad input: a reason without --reject, an empty one, an unknown id.
    assert_eq!(fx.cli(&["hunks", "--reason", "x"]).0, 2);
    assert_eq!(fx.cli(&["hunks", "--reject", &ids[0], "--reason", "  "]).0, 2);
    assert_eq!(fx.cli(&["hunks", "--reject", "ffffffff", "--reason", "x"]).0, 2);
}

fn finding(file: &str, preexisting: bool) -> ValidationReport {
    ValidationReport {
        step: "validate".into(),
        file: file.into(),
        line: 5,
        column: 1,
        code: "F821".into(),
        category: Category::UndefinedName,
        message: "undefined name `five`".into(),
        tool: "ruff".into(),
        severity: Severity::Error,
        preexisting,
    }
}

/// Records a run `run-1` whose final validation found `findings`, as a codegen run does.
fn run_with_findings(fx: &Fx, findings: Vec<ValidationReport>) {
    let mut st = TaskState::load(&fx.task).unwrap();
    st.run_id = Some("run-1".into());
    st.save(&fx.task).unwrap();
    let mut log = RunLog::new("run-1", "hash");
    let mut step = StepEvent::start("validate", None);
    step.validation_errors = findings;
    log.steps.push(step);
    log.write(&fx.task.logs_dir()).unwrap();
}

#[test]
fn hunks_of_a_file_with_introduced_findings_wait_for_an_explicit_accept() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new)), ("b.txt", Some("b\n"))]);
    run_with_findings(&fx, vec![finding("a.py", false), finding("b.txt", true)]);

    let files = fx.hunks();
    assert!(files[0].held() && files[0].hunks.iter().all(|h| h.state == HunkState::Unreviewed));
    assert!(!files[1].held(), "a pre-existing finding never holds a file");
    assert_eq!(files[1].hunks[0].state, HunkState::Accepted);
    let (_, text, _) = fx.cli(&["hunks"]);
    assert!(text.contains("held: 1 open finding the run introduced"), "{text}");
    assert!(text.contains("a.py:5:1: ruff F821: undefined name `five`"), "{text}");

    // A bare accept lands the clean file only, and says what it left.
    let r = review::accept(&fx.task, &fx.repo, &AcceptOptions::default()).unwrap();
    assert_eq!(r.landed.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), vec!["b.txt"]);
    assert_eq!(r.held, vec!["a.py"]);
    assert_eq!(fx.text("a.py"), numbered(40), "broken code is not accepted by default");

    // An explicitly accepted hunk goes with a bare accept; --files takes the rest.
    let ids = fx.ids("a.py");
    fx.cli(&["hunks", "--accept", &ids[1]]);
    let (code, out, _) = fx.cli(&["accept"]);
    assert_eq!(code, 0);
    assert!(out.contains("1 hunk landed in 1 file"), "{out}");
    assert_eq!(fx.text("a.py"), swap(&numbered(40), 30, "thirty"));
    let (code, _, _) = fx.cli(&["accept", "--files", "a.py"]);
    assert_eq!(code, 0);
    assert_eq!(fx.text("a.py"), new);
}

#[test]
fn a_later_re_validation_supersedes_the_run_log() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    run_with_findings(&fx, vec![finding("a.py", false)]);
    assert!(fx.hunks()[0].held());
    // code/findings.json (what regen and edit write) says the file is clean now.
    let p = ai_tools::task::relpath::RelPath::new("a.py").unwrap();
    review::findings::record(&fx.task, &[(p, new.clone().into_bytes(), vec![])]).unwrap();
    assert!(!fx.hunks()[0].held());
    // Findings of another run's re-validation are ignored.
    let mut st = TaskState::load(&fx.task).unwrap();
    st.run_id = Some("run-2".into());
    st.save(&fx.task).unwrap();
    assert!(review::findings::introduced(&fx.task).unwrap().is_empty(), "run-2 has no log and no re-validation");
}

/// A git repo with a.py (two hunks) and b.txt (new), each accept landing one hunk.
fn three_accepts(fx: &Fx) -> (Vec<String>, std::collections::BTreeMap<String, (Vec<u8>, bool)>) {
    let before = fx.tree();
    let mut ids = fx.ids("a.py");
    ids.extend(fx.ids("b.txt"));
    for id in &ids {
        let (code, _, err) = fx.cli(&["accept", "--hunks", id]);
        assert_eq!(code, 0, "{err}");
    }
    (ids, before)
}

#[test]
fn three_accepts_three_undos_and_undo_to_walk_the_journal_back() {
    let fx = Fx::git_repo();
    let new = two_hunks(&fx, "a.py");
    fx.git(&["add", "-A"]);
    fx.git(&["commit", "-qm", "base"]);
    fx.generate(&[("a.py", Some(&new)), ("b.txt", Some("b\n"))]);

    let (ids, before) = three_accepts(&fx);
    let after_all = fx.tree();
    let (code, out, _) = fx.cli(&["accepts", "--json"]);
    assert_eq!(code, 0);
    let list = json_rows(&out);
    assert_eq!(list.iter().map(|e| e["number"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(list[2]["files"][0]["path"], "b.txt");
    assert_eq!(list[2]["files"][0]["change"], "created");
    assert_eq!(list[0]["hunks"][0].as_str(), Some(ids[0].as_str()));

    for n in [3, 2, 1] {
        let (code, out, err) = fx.cli(&["undo"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("undid accept {n}")), "{out}");
    }
    assert_eq!(fx.tree(), before, "byte-identical to before the first accept");
    assert_eq!(fx.cli(&["undo"]).0, 2, "nothing left to undo");

    // The hunks are reviewable and acceptable again.
    assert_eq!(fx.hunks().iter().map(|f| f.hunks.len()).sum::<usize>(), 3);
    three_accepts(&fx);
    assert_eq!(fx.tree(), after_all);

    // undo --to 2 undoes 3 then 2.
    let (code, out, err) = fx.cli(&["undo", "--to", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["undone"].as_array().unwrap().iter().map(|r| r["accept"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![3, 2]
    );
    assert_eq!(fx.text("a.py"), swap(&numbered(40), 5, "five"), "only accept 1 is left");
    assert!(fx.read("b.txt").is_none());
    assert_eq!(fx.cli(&["undo", "--to", "7"]).0, 2, "no accept 7");

    // A file changed since: refused (exit 4), named, nothing written.
    fx.write("a.py", "edited by hand\n");
    let (code, _, err) = fx.cli(&["undo", "--to", "1"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("a.py") && err.contains("changed since"), "{err}");
    assert_eq!(fx.text("a.py"), "edited by hand\n");
    assert_eq!(review::accepts(&fx.task).unwrap().len(), 1);
}

#[test]
fn undo_to_refuses_a_walk_through_an_edit_made_between_two_accepts() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let ids = fx.ids("a.py");
    let accept = |id: &str| {
        let opts = AcceptOptions { selection: Selection::Hunks(vec![id.to_owned()]), ..AcceptOptions::default() };
        review::accept(&fx.task, &fx.repo, &opts).unwrap()
    };
    assert_eq!(accept(&ids[0]).accept, Some(1));
    // The user edits line 15 between the accepts; accept 2 merges around the edit.
    let edited = swap(&fx.text("a.py"), 15, "fifteen");
    fx.write("a.py", &edited);
    let r = accept(&ids[1]);
    assert_eq!((r.accept, r.landed[0].merged), (Some(2), true));

    let err = review::undo_to(&fx.task, &fx.repo, 1).unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(err.to_string().contains("a.py"), "{err}");
    assert_eq!(fx.text("a.py"), swap(&edited, 30, "thirty"), "nothing was restored");
    // One step back is fine and keeps the edit.
    assert_eq!(review::undo_to(&fx.task, &fx.repo, 2).unwrap().len(), 1);
    assert_eq!(fx.text("a.py"), edited);
}

fn validate_on() -> ValidateConfig {
    ValidateConfig::default()
}

#[test]
fn an_edit_re_diffs_and_untouched_hunks_keep_their_states() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let ids = fx.ids("a.py");
    review::mark(
        &fx.task,
        &fx.repo,
        &[review::Mark { id: ids[1].clone(), accepted: false, reason: Some("no".into()) }],
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // A failed editor changes nothing, even when it wrote the file.
    let s = edit::begin(&fx.task, "a.py").unwrap();
    std::fs::write(s.file(), "garbage\n").unwrap();
    let out = rt.block_on(s.finish(&fx.repo, &validate_on(), &Default::default(), false)).unwrap();
    assert!(matches!(out, EditOutcome::Unchanged { .. }));
    // So does one that leaves the bytes as they were.
    let s = edit::begin(&fx.task, "a.py").unwrap();
    let out = rt.block_on(s.finish(&fx.repo, &validate_on(), &Default::default(), true)).unwrap();
    assert!(matches!(out, EditOutcome::Unchanged { .. }));
    assert_eq!(std::fs::read_to_string(fx.task.files_dir().join("a.py")).unwrap(), new);
    assert_eq!(fx.ids("a.py"), ids);

    // An edit of the first hunk's lines: that hunk is new, the second keeps its state.
    let s = edit::begin(&fx.task, "a.py").unwrap();
    assert_ne!(s.file(), fx.task.files_dir().join("a.py"), "the editor never opens code/files itself");
    std::fs::write(s.file(), swap(&new, 5, "FIVE = 5")).unwrap();
    let scratch = s.file().to_path_buf();
    let out = rt.block_on(s.finish(&fx.repo, &validate_on(), &Default::default(), true)).unwrap();
    let EditOutcome::Changed { archive, installed, .. } = out else { panic!("{out:?}") };
    assert!(!scratch.exists(), "the scratch copy is removed");
    assert_eq!(installed.kept, vec![ids[1].clone()]);
    let files = fx.hunks();
    let h = &files[0].hunks;
    assert_eq!(h.len(), 2);
    assert_ne!(h[0].id, ids[0]);
    assert_eq!(
        (h[1].id.as_str(), h[1].state, h[1].reason.as_deref()),
        (ids[1].as_str(), HunkState::Rejected, Some("no"))
    );
    // The previous candidate is archived, and the diff of candidates shows the edit.
    let prev = std::fs::read_to_string(fx.task.code_dir().join(format!("candidates/{archive}/files/a.py"))).unwrap();
    assert_eq!(prev, new);
    let d = review::candidate::candidate_diff(&fx.task, "a.py").unwrap().unwrap();
    let lines: Vec<String> = d.file.unwrap().hunks[0].lines.iter().map(|l| l.text.clone()).collect();
    assert!(lines.contains(&"five".to_owned()) && lines.contains(&"FIVE = 5".to_owned()), "{lines:?}");
}

#[test]
fn an_edit_that_breaks_the_file_is_re_validated_and_held() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = edit::begin(&fx.task, "a.py").unwrap();
    std::fs::write(s.file(), swap(&new, 5, "def (:")).unwrap();
    let out = rt.block_on(s.finish(&fx.repo, &validate_on(), &Default::default(), true)).unwrap();
    let EditOutcome::Changed { findings, .. } = out else { panic!("{out:?}") };
    assert!(findings.iter().any(|f| f.category == Category::Syntax && f.line == 5), "{findings:?}");
    let files = fx.hunks();
    assert!(files[0].held());
    assert_eq!(files[0].hunks[0].state, HunkState::Unreviewed, "the broken edit waits for an explicit accept");
}

#[test]
fn ai_tools_edit_runs_the_editor_from_the_environment() {
    let fx = Fx::plain();
    let new = two_hunks(&fx, "a.py");
    fx.generate(&[("a.py", Some(&new))]);
    let run_on = |editor: &str, path: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ai-tools"))
            .args(["edit", path, "--repo"])
            .arg(&fx.repo)
            .arg("--task")
            .arg(fx.task.root())
            .env_remove("VISUAL")
            .env("EDITOR", editor)
            .env("OPENAI_API_KEY", "sk-edit-leak-0000")
            .env("DEPLOY_PASSWORD", "hunter2-edit-leak")
            .env("AI_TOOLS_CONFIG", fx.repo.join("none.toml"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let run = |editor: &str| run_on(editor, "a.py");
    let (code, out) = run("sed -i s/^thirty$/THIRTY/");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("edited; the previous candidate is in code/candidates/1/"), "{out}");
    assert_eq!(std::fs::read_to_string(fx.task.files_dir().join("a.py")).unwrap(), swap(&new, 30, "THIRTY"));
    assert!(fx.patch().contains("+THIRTY"));
    let (code, _) = run("false");
    assert_eq!(code, Some(1), "a failing editor is exit 1");
    assert_eq!(std::fs::read_to_string(fx.task.files_dir().join("a.py")).unwrap(), swap(&new, 30, "THIRTY"));
    assert_eq!(run_on("true", "nope.py").0, Some(2), "not a generated target");

    // The editor (started by the CLI, handed its file by the actor) sees no key or password.
    let dump = fx.repo.join("editor-env.txt");
    let (code, out) = run(&format!("sh -c 'env > {}'", dump.display()));
    assert_eq!(code, Some(0), "{out}");
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("EDITOR=") && !env.contains("sk-edit-leak") && !env.contains("hunter2"), "{env}");
    assert!(out.contains("the file is unchanged"), "{out}");

    // A symlinked directory inside code/files/ is never followed: the edit does not start.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.py"), "secret = 1\n").unwrap();
    fx.generate(&[("a.py", Some(&new)), ("sub/x.py", Some("x = 1\n"))]);
    std::fs::remove_dir_all(fx.task.files_dir().join("sub")).unwrap();
    std::os::unix::fs::symlink(outside.path(), fx.task.files_dir().join("sub")).unwrap();
    let (code, out) = run_on(&format!("sh -c 'env > {}'", dump.display()), "sub/x.py");
    assert_ne!(code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(outside.path().join("x.py")).unwrap(), "secret = 1\n");
}
