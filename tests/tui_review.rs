//! The workbench's review loop on ratatui's TestBackend: side-by-side diff, plan view, shortened
//! paths, viewed marks, the mouse, reject with a reason, the editor flow, and the select loop's
//! frames on request (paused time: no request, no frame).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tui_support;

use std::time::Duration;

use ai_tools::orchestrator::{Command, Event, Handle};
use ai_tools::task::TaskDir;
use ai_tools::task::state::RunStatus;
use ai_tools::ui::tui::app::{App, Pane};
use ai_tools::ui::tui::effects::{self, EditTarget};
use ai_tools::ui::tui::review_state::Effect;
use ai_tools::ui::tui::theme::{ColorDepth, Theme};
use ai_tools::ui::tui::{panes, run_loop};
use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_support::*;

const MODELS_OLD: &str = "class Invoice:\n    pass\n";
const MODELS_NEW: &str = "from dataclasses import dataclass\n\n\n@dataclass\nclass Invoice:\n    total: int\n";

/// A reviewed run: calc/ops.py (two hunks, the second rejected) and two files with long paths.
fn reviewed() -> App {
    let mut a = app();
    for (p, action) in [
        ("calc/ops.py", "modify"),
        ("services/billing/app/models.py", "modify"),
        ("services/billing/app/api/handlers.py", "create"),
    ] {
        a.on_event(&Event::FileMaterialized { path: p.into(), action: action.into(), bytes: 1, lines: 1 });
    }
    a.set_files(&diff_files(
        &[
            ("calc/ops.py", Some(OPS_OLD), Some(OPS_NEW)),
            ("services/billing/app/api/handlers.py", None, Some("def list_invoices():\n    return []\n")),
            ("services/billing/app/models.py", Some(MODELS_OLD), Some(MODELS_NEW)),
        ],
        &[1],
    ));
    a.focus = Pane::Diff;
    a
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
    MouseEvent { kind, column, row, modifiers: crossterm::event::KeyModifiers::NONE }
}

#[test]
fn side_by_side_view_at_80x24_and_160x48() {
    let mut a = reviewed();
    a.on_key(ch('s'));
    assert!(a.review.side_by_side);
    insta::assert_snapshot!("side_by_side_80x24", render(&mut a, 80, 24).backend());
    let t = render(&mut a, 160, 48);
    insta::assert_snapshot!("side_by_side_160x48", t.backend());
    // Same highlighting as the unified view: syntax colors, the add background and the
    // intraline emphasis on the changed words, on the right half's added line.
    let theme = Theme::load("dark", ColorDepth::TrueColor).unwrap();
    let screen = text(&t);
    let y = screen.lines().position(|l| l.contains("def add(a: int")).unwrap() as u16;
    let buf = t.backend().buffer();
    let bgs: std::collections::HashSet<_> = (0..112).map(|x| buf[(x, y)].bg).collect();
    assert!(bgs.contains(&theme.add.bg.unwrap()) && bgs.contains(&theme.add_emph.bg.unwrap()), "{bgs:?}");
    assert!(bgs.contains(&theme.remove.bg.unwrap()), "the old line sits beside the new one: {bgs:?}");
    let fgs: std::collections::HashSet<_> = (60..112).map(|x| buf[(x, y)].fg).collect();
    assert!(fgs.len() >= 3, "syntax-highlighted: {fgs:?}");
    // j/k walk the side-by-side lines and `s` switches back with the cursor kept.
    a.diff_cursor = 0;
    a.on_key(ch('j'));
    a.on_key(ch('j'));
    assert_eq!(a.diffs["calc/ops.py"].rows[a.diff_cursor].text, "def add(a, b):");
    // The removed line and its added partner are one line: the next is the docstring.
    a.on_key(ch('j'));
    let row = a.diff_cursor;
    assert_eq!(a.diffs["calc/ops.py"].rows[row].text, "    \"\"\"Add two numbers.\"\"\"");
    a.on_key(ch('s'));
    assert_eq!(a.diff_cursor, row);
}

/// A task with a two-wave plan in a repo holding app/main.py.
fn planned() -> (tempfile::TempDir, TaskDir) {
    let d = tempfile::tempdir().unwrap();
    let t = TaskDir::new(d.path().join(".ai-tools/tasks/billing"));
    std::fs::create_dir_all(t.plan_md().parent().unwrap()).unwrap();
    std::fs::write(
        t.plan_md(),
        "# Invoices as dataclasses\n\nMove the invoice model to a dataclass and list invoices from the API.\n\n- models first\n- then the handler that uses them\n",
    )
    .unwrap();
    std::fs::write(
        t.plan_files_json(),
        r#"{"files": [
  {"path": "services/billing/app/api/handlers.py", "action": "create", "description": "list invoices", "depends_on": ["services/billing/app/models.py"]},
  {"path": "services/billing/app/models.py", "action": "modify", "description": "Invoice as a dataclass"}
]}"#,
    )
    .unwrap();
    std::fs::create_dir_all(d.path().join("services/billing/app")).unwrap();
    std::fs::write(d.path().join("services/billing/app/models.py"), MODELS_OLD).unwrap();
    (d, t)
}

#[test]
fn plan_view_at_80x24_and_160x48() {
    let (d, task) = planned();
    let mut a = reviewed().with_task(task.clone(), d.path().to_path_buf());
    assert!(a.run_line("/plan").is_empty());
    for e in a.take_effects() {
        assert!(effects::perform(&mut a, e).is_none());
    }
    let v = a.review.plan.as_ref().unwrap();
    assert_eq!(v.waves, 2);
    insta::assert_snapshot!("plan_view_80x24", render(&mut a, 80, 24).backend());
    insta::assert_snapshot!("plan_view_160x48", render(&mut a, 160, 48).backend());
    // Esc closes it.
    a.on_key(key(KeyCode::Esc));
    assert!(a.review.plan.is_none());
}

#[test]
fn changes_view_shows_the_diff_of_candidates_at_80x24_and_160x48() {
    let mut a = reviewed();
    a.select(0);
    // c (and /changes) asks the actor for the diff of candidates of the selected file.
    assert_eq!(a.on_key(ch('c')), vec![Command::CandidateDiff { path: "calc/ops.py".into() }]);
    a.on_key(ch('/'));
    assert_eq!(type_line(&mut a, "changes"), vec![Command::CandidateDiff { path: "calc/ops.py".into() }]);
    // The actor's answer: previous candidate → current one, archived in code/candidates/2/.
    let prev = OPS_NEW.replace(", 2))", ", 3))");
    let file = diff_files(&[("calc/ops.py", Some(&prev), Some(OPS_NEW))], &[]).remove(0);
    let diff = ai_tools::review::candidate::CandidateDiff { archive: 2, file: Some(file) };
    a.on_event(&Event::CandidateDiffed { path: "calc/ops.py".into(), diff: Some(diff) });
    let v = a.review.changes.as_ref().expect("the changes view opens");
    assert!(v.rows.iter().any(|(_, t)| t.contains(", 3))")) && v.rows.iter().any(|(_, t)| t.contains(", 2))")));
    insta::assert_snapshot!("changes_view_80x24", render(&mut a, 80, 24).backend());
    insta::assert_snapshot!("changes_view_160x48", render(&mut a, 160, 48).backend());
    // Keys go to the view while it is open; Esc closes it.
    assert!(a.on_key(ch(' ')).is_empty(), "Space scrolls the view, it toggles no hunk");
    a.on_key(key(KeyCode::Esc));
    assert!(a.review.changes.is_none());
    // A file never regenerated: nothing opens, the log says why.
    a.on_event(&Event::CandidateDiffed { path: "calc/ops.py".into(), diff: None });
    assert!(a.review.changes.is_none());
    assert!(a.status.contains("no previous candidate"), "{}", a.status);
}

#[test]
fn plan_errors_show_in_place_with_their_location() {
    let (d, task) = planned();
    std::fs::write(task.plan_files_json(), "{\"files\": [\n  {\"path\": \"a.py\", \"action\": \"rename\"}\n]}")
        .unwrap();
    let mut a = app().with_task(task, d.path().to_path_buf());
    a.run_line("/plan");
    for e in a.take_effects() {
        effects::perform(&mut a, e);
    }
    let s = text(&render(&mut a, 160, 48));
    assert!(s.contains("plan.files.json:2:"), "{s}");
    assert!(s.contains("/plan edit (or e here) opens plan.files.json"), "{s}");
    assert!(s.contains("Move the invoice model"), "plan.md still shows: {s}");
    // `e` in the plan view asks for the plan editor.
    a.on_key(ch('e'));
    assert_eq!(a.take_effects(), vec![Effect::EditPlan]);
}

#[test]
fn a_scope_mismatch_opens_the_plan_with_the_offending_files() {
    let (d, task) = planned();
    let mut a = app().with_task(task, d.path().to_path_buf());
    a.take_effects();
    a.on_event(&Event::Failed {
        status: RunStatus::ScopeMismatch,
        reason: "scope mismatch: replies tried to write files outside plan.files.json: services/billing/app/db.py"
            .into(),
        suggestion: "revisit the plan: add those files to plan.files.json if they are needed, then run codegen again"
            .into(),
        exit_code: 3,
        next_phase: None,
        files: vec!["services/billing/app/db.py".into()],
        summary: None,
    });
    for e in a.take_effects() {
        effects::perform(&mut a, e);
    }
    let s = text(&render(&mut a, 100, 30));
    assert!(s.contains("scope mismatch: the run tried to write files outside the plan"), "{s}");
    assert!(s.contains("services/billing/app/db.py"), "{s}");
    assert!(s.contains("way back: e (or /plan edit)"), "{s}");
}

#[test]
fn paths_shorten_from_the_left_at_80_columns() {
    let mut a = reviewed();
    a.focus = Pane::Files;
    let t = render(&mut a, 80, 24);
    insta::assert_snapshot!("files_at_80_columns", t.backend());
    let s = text(&t);
    assert!(s.contains("…/handlers.py") || s.contains("…/api/handlers.py"), "{s}");
    assert!(s.contains("…/models.py") || s.contains("…/app/models.py"), "{s}");
}

#[test]
fn viewed_marks_show_survive_and_drop_when_hunks_change() {
    let mut a = reviewed();
    a.focus = Pane::Files;
    a.select(0);
    assert!(a.on_key(ch('v')).is_empty());
    assert!(a.is_viewed("calc/ops.py"));
    assert_eq!(a.take_effects(), vec![Effect::SaveViewed]);
    // `u` goes to the next file without a mark, skipping marked ones.
    a.on_key(ch('u'));
    assert_eq!(a.selected_path(), Some("services/billing/app/models.py"));
    a.on_key(ch('v'));
    a.on_key(ch('u'));
    assert_eq!(a.selected_path(), Some("services/billing/app/api/handlers.py"));
    a.on_key(ch('v'));
    a.on_key(ch('u'));
    assert!(a.status.contains("every file with changes is viewed"), "{}", a.status);
    insta::assert_snapshot!("viewed_marks", panes_files(&mut a));
    // A re-diff with the same hunks keeps the marks; a changed file loses its mark.
    a.take_effects();
    a.set_files(&diff_files(
        &[
            ("calc/ops.py", Some(OPS_OLD), Some(OPS_NEW)),
            ("services/billing/app/api/handlers.py", None, Some("def list_invoices():\n    return [1]\n")),
            ("services/billing/app/models.py", Some(MODELS_OLD), Some(MODELS_NEW)),
        ],
        &[1],
    ));
    assert!(a.is_viewed("calc/ops.py") && a.is_viewed("services/billing/app/models.py"));
    assert!(!a.is_viewed("services/billing/app/api/handlers.py"));
    assert_eq!(a.take_effects(), vec![Effect::SaveViewed]);
    // `v` again unmarks.
    a.select(0);
    a.on_key(ch('v'));
    assert!(!a.is_viewed("calc/ops.py"));
}

fn panes_files(a: &mut App) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 6)).unwrap();
    t.draw(|f| panes::files::draw(a, f, f.area())).unwrap();
    format!("{}", t.backend())
}

#[test]
fn viewed_marks_are_saved_and_loaded_with_the_task() {
    let (d, task) = planned();
    let mut a = reviewed().with_task(task.clone(), d.path().to_path_buf());
    for e in a.take_effects() {
        effects::perform(&mut a, e);
    }
    a.focus = Pane::Files;
    a.select(0);
    a.on_key(ch('v'));
    for e in a.take_effects() {
        effects::perform(&mut a, e);
    }
    let saved = std::fs::read_to_string(task.root().join("workbench.json")).unwrap();
    assert!(saved.contains("\"calc/ops.py\""), "{saved}");
    // A new session on the same task finds the mark once the same hunks arrive.
    let mut b = reviewed().with_task(task, d.path().to_path_buf());
    for e in b.take_effects() {
        effects::perform(&mut b, e);
    }
    assert!(b.is_viewed("calc/ops.py"));
    assert!(!b.is_viewed("services/billing/app/models.py"));
}

#[test]
fn reject_with_a_reason_and_the_review_keys() {
    let mut a = reviewed();
    a.select(0);
    let h0 = a.diffs["calc/ops.py"].hunks[0].id.clone();
    a.diff_cursor = 1;
    // x opens the reason line; Esc cancels without a command.
    assert!(a.on_key(ch('x')).is_empty());
    assert!(a.review.reason.is_some());
    assert!(a.on_key(key(KeyCode::Esc)).is_empty());
    assert!(a.diffs["calc/ops.py"].hunks[0].accepted);
    // x, a reason, Enter: the hunk is rejected and the reason shows on its header.
    a.on_key(ch('x'));
    let cmds = type_line(&mut a, "keep the untyped signature");
    let reason = Some("keep the untyped signature".to_owned());
    assert_eq!(
        cmds,
        vec![Command::MarkHunks(vec![ai_tools::review::view::Mark { id: h0.clone(), accepted: false, reason }])]
    );
    assert!(!a.diffs["calc/ops.py"].hunks[0].accepted);
    assert_eq!(a.review.reasons[&h0], "keep the untyped signature");
    let mut t = Terminal::new(TestBackend::new(100, 8)).unwrap();
    t.draw(|f| panes::diff::draw(&mut a, f, f.area())).unwrap();
    assert!(text(&t).contains("[✗ rejected: keep the untyped signature]"), "{}", text(&t));
    // Space accepts it again and drops the reason.
    assert_eq!(a.on_key(ch(' ')), vec![Command::SetHunks(vec![(h0.clone(), true)])]);
    assert!(!a.review.reasons.contains_key(&h0));
    // e asks the actor for an edit of the selected file; /edit PATH likewise, /edit alone
    // edits the selected file; /plan and /plan edit are the workbench's own.
    assert_eq!(a.on_key(ch('e')), vec![Command::EditBegin { path: "calc/ops.py".into() }]);
    a.on_key(ch('/'));
    assert_eq!(
        type_line(&mut a, "edit services/billing/app/models.py"),
        vec![Command::EditBegin { path: "services/billing/app/models.py".into() }]
    );
    a.on_key(ch('/'));
    assert_eq!(type_line(&mut a, "edit"), vec![Command::EditBegin { path: "calc/ops.py".into() }]);
    a.on_key(ch('/'));
    type_line(&mut a, "plan edit");
    a.on_key(ch('/'));
    type_line(&mut a, "plan");
    assert_eq!(a.take_effects(), vec![Effect::EditPlan, Effect::ShowPlan]);
    // The actor's EditReady opens the editor on the scratch copy it names.
    let file = std::path::PathBuf::from("/tmp/scratch/calc/ops.py");
    a.on_event(&Event::EditReady { path: "calc/ops.py".into(), file: file.clone(), deny_env: vec!["MY_KEY".into()] });
    assert_eq!(
        a.take_effects(),
        vec![Effect::OpenEditor { path: "calc/ops.py".into(), file, deny_env: vec!["MY_KEY".into()] }]
    );
    a.on_key(ch('/'));
    assert_eq!(
        type_line(&mut a, "regen calc/ops.py -- keep main"),
        vec![Command::Regen {
            paths: vec!["calc/ops.py".into()],
            note: Some("keep main".into()),
            with_dependents: false
        }]
    );
}

#[test]
fn the_wheel_scrolls_the_pane_under_the_pointer_and_a_click_selects() {
    let mut a = reviewed();
    a.select(0);
    render(&mut a, 160, 48);
    let ar = a.review.areas.unwrap();
    // Wheel over the diff: the cursor and the view move three rows.
    a.on_mouse(mouse(MouseEventKind::ScrollDown, ar.diff.x + 10, ar.diff.y + 3));
    assert_eq!(a.diff_cursor, 3);
    a.on_mouse(mouse(MouseEventKind::ScrollDown, ar.diff.x + 10, ar.diff.y + 3));
    a.on_mouse(mouse(MouseEventKind::ScrollUp, ar.diff.x + 10, ar.diff.y + 3));
    assert_eq!(a.diff_cursor, 3);
    // Wheel over the files pane moves the selection there, not the diff.
    a.on_mouse(mouse(MouseEventKind::ScrollDown, ar.files.x + 5, ar.files.y + 3));
    assert_eq!(a.selected, 2);
    assert_eq!(a.diff_cursor, 0, "a new file starts at its top");
    // A click on the files pane's second row selects that file and focuses the pane.
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), ar.files.x + 5, ar.files.y + 3));
    assert_eq!((a.selected, a.focus), (1, Pane::Files));
    // A click in the diff selects the row under it, and so its hunk.
    a.select(0);
    render(&mut a, 160, 48);
    let hunk2 = a.diffs["calc/ops.py"].hunks[1].row;
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), ar.diff.x + 20, ar.diff.y + 1 + hunk2 as u16 + 1));
    assert_eq!(a.focus, Pane::Diff);
    assert_eq!(a.diffs["calc/ops.py"].hunk_of(a.diff_cursor), Some(1));
    assert_eq!(a.on_key(ch(' ')).len(), 1, "Space now toggles the clicked hunk");
}

/// An editor session on a scratch copy of `calc/ops.py`, as the actor hands it out, with the
/// environment's editor set to `editor`.
fn edit_with(editor: &str) -> (tempfile::TempDir, App, Vec<Command>, String) {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("ops.py");
    std::fs::write(&file, OPS_NEW).unwrap();
    let mut a = reviewed();
    a.on_event(&Event::EditReady { path: "calc/ops.py".into(), file: file.clone(), deny_env: Vec::new() });
    let eff = a.take_effects().pop().unwrap();
    let job = effects::perform(&mut a, eff).expect("an editor session");
    assert_eq!((job.target.clone(), job.file.clone()), (EditTarget::File("calc/ops.py".into()), file.clone()));
    let words = ["sh".to_owned(), "-c".to_owned(), format!("{editor} \"$0\"")];
    let status = ai_tools::review::edit::editor_process(&words, &job.file, &job.deny_env).status();
    let cmds = effects::finish_edit(&mut a, &job, status);
    let after = std::fs::read_to_string(&file).unwrap();
    (d, a, cmds, after)
}

#[test]
fn after_the_editor_the_actor_is_told_whether_it_succeeded() {
    let (_d, _a, cmds, after) = edit_with("sed -i 's/, 2))/, 3))/'");
    assert_eq!(cmds, vec![Command::EditFinish { path: "calc/ops.py".into(), editor_ok: true }]);
    assert!(after.contains("print(add(int(sys.argv[1]), 3))"), "{after}");
    let (_d, a, cmds, _) = edit_with("exit 3; :");
    assert_eq!(cmds, vec![Command::EditFinish { path: "calc/ops.py".into(), editor_ok: false }]);
    assert!(a.status.contains("exited with"), "{}", a.status);
}

/// Feeds the loop: nothing for 10 s, then 20 deltas 1 ms apart, then `q`.
#[tokio::test(start_paused = true)]
async fn the_loop_draws_on_request_only() {
    let (handle, _cmds, _bus): (Handle, _, _) = Handle::detached();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
    let input = Box::pin(futures::stream::unfold(key_rx, |mut r| async move { r.recv().await.map(|x| (x, r)) }));
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut a = app();
    a.on_event(&Event::FileStarted { path: "a.py".into(), wave: 1 });
    let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::<tokio::time::Instant>::new()));
    let f2 = frames.clone();
    let t0 = tokio::time::Instant::now();
    let feeder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        for i in 0..20 {
            tx.send(Event::FileDelta { path: "a.py".into(), text: format!("x{i}\n") }).unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        key_tx.send(Ok(crossterm::event::Event::Key(ch('q')))).unwrap();
        tx
    });
    run_loop(&mut term, &mut a, &handle, rx, input, move |_| f2.lock().unwrap().push(tokio::time::Instant::now()))
        .await
        .unwrap();
    let _tx = feeder.await.unwrap();
    let at: Vec<Duration> = frames.lock().unwrap().iter().map(|t| *t - t0).collect();
    // One frame at start, none in ten idle seconds, then 20 deltas over 20 ms in at most 3
    // frames, each at least a frame interval after the previous one.
    assert_eq!(at[0], Duration::ZERO);
    assert!(at[1] >= Duration::from_secs(10), "no frame while idle: {at:?}");
    assert!(at.len() <= 4, "20 requests coalesced: {at:?}");
    for w in at.windows(2) {
        assert!(w[1] - w[0] >= ai_tools::ui::tui::FRAME, "{at:?}");
    }
}

#[test]
fn the_validation_panel_marks_preexisting_findings_and_gives_environment_advice() {
    use ai_tools::report::classify::Category;
    let mut a = reviewed();
    let finding = |code: &str, category: Category, preexisting: bool| ai_tools::report::ValidationReport {
        step: "validate".into(),
        file: "calc/ops.py".into(),
        line: 1,
        column: 1,
        code: code.into(),
        category,
        message: format!("{code} here"),
        tool: "pyright".into(),
        severity: ai_tools::report::Severity::Error,
        preexisting,
    };
    a.on_event(&Event::ValidationReported {
        when: ai_tools::orchestrator::events::ValidationWhen::BeforeRepair,
        findings: vec![
            finding("reportMissingImports", Category::Environment, true),
            finding("reportUndefinedVariable", Category::UndefinedName, false),
        ],
        validators: vec![],
        elapsed_ms: 1,
    });
    let msgs: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(msgs[0].contains("already in the base: not repaired"), "{msgs:?}");
    assert!(msgs[0].contains("install the project's dependencies"), "{msgs:?}");
    assert_eq!(msgs[1], "reportUndefinedVariable here", "an introduced finding is shown as the tool said it");
}

#[test]
fn the_validation_panel_counts_tests_and_lists_each_failure_with_a_jump_to_it() {
    use ai_tools::orchestrator::events::ValidationWhen;
    use ai_tools::report::classify::Category;
    let mut a = reviewed();
    let failure = ai_tools::report::ValidationReport {
        step: "test".into(),
        file: "calc/ops.py".into(),
        line: 17,
        column: 1,
        code: "tests/test_ops.py::test_main".into(),
        category: Category::TestFailure,
        message: "assert 4 == 3".into(),
        tool: "pytest".into(),
        severity: ai_tools::report::Severity::Error,
        preexisting: false,
    };
    a.on_event(&Event::TestsReported {
        when: ValidationWhen::BeforeRepair,
        tests_run: 2,
        tests_failed: 1,
        preexisting: 0,
        failures: vec![failure],
    });
    // A later static validation keeps the test failure in the panel.
    a.on_event(&Event::ValidationReported {
        when: ValidationWhen::AfterRepair,
        findings: vec![],
        validators: vec![],
        elapsed_ms: 1,
    });
    let s = text(&render(&mut a, 160, 48));
    assert!(s.contains("Validation (1) · tests: 2 run, 1 failing"), "{s}");
    assert!(s.contains("pytest tests/test_ops.py::test_main") && s.contains("assert 4 == 3"), "{s}");
    // Enter on it jumps the diff to its line.
    a.focus = Pane::Validation;
    a.on_key(key(KeyCode::Enter));
    assert_eq!((a.focus, a.selected_path()), (Pane::Diff, Some("calc/ops.py")));
    // The re-run after repair passes: the failure leaves the panel.
    a.on_event(&Event::TestsReported {
        when: ValidationWhen::AfterRepair,
        tests_run: 2,
        tests_failed: 0,
        preexisting: 0,
        failures: vec![],
    });
    assert!(a.findings.is_empty());
    assert!(text(&render(&mut a, 160, 48)).contains("tests: 2 run, 0 failing"));
}

#[test]
fn the_files_pane_shows_each_file_quality_score_after_a_run() {
    let mut a = reviewed();
    assert!(!text(&render(&mut a, 160, 48)).contains("score"), "no column before a run scored the files");
    let summary = ai_tools::orchestrator::summary::Summary {
        quality_score: Some(0.9),
        file_scores: [("calc/ops.py".to_owned(), 0.85), ("services/billing/app/models.py".to_owned(), 1.0)].into(),
        ..Default::default()
    };
    a.on_event(&Event::Ready { summary: Box::new(summary) });
    let s = text(&render(&mut a, 160, 48));
    assert!(s.contains("score"), "{s}");
    let row = s.lines().find(|l| l.contains("calc/ops.py") && l.contains("modify")).unwrap();
    assert!(row.contains("0.85"), "{row}");
    let row = s.lines().find(|l| l.contains("models.py") && l.contains("modify")).unwrap();
    assert!(row.contains("1.00"), "{row}");
}

#[test]
fn the_files_pane_shows_which_candidate_was_kept() {
    let mut a = reviewed();
    let checked = |path: &str, candidates: usize, kept: usize| Event::FileChecked {
        path: path.into(),
        candidates,
        kept,
        findings: 0,
        fixes: vec![],
        summary: format!("{candidates} candidates, kept #{kept} (0 findings)"),
    };
    a.on_event(&checked("calc/ops.py", 1, 1));
    let header = |s: &str| s.lines().find(|l| l.contains("path") && l.contains("review")).unwrap().to_owned();
    let s = text(&render(&mut a, 160, 48));
    assert!(!header(&s).contains("cand"), "no column while every file had one candidate: {s}");
    a.on_event(&checked("services/billing/app/models.py", 3, 2));
    a.on_event(&checked("services/billing/app/api/handlers.py", 3, 1));
    let t = render(&mut a, 160, 48);
    let s = text(&t);
    assert!(header(&s).contains("cand"), "{s}");
    let row = |name: &str| s.lines().find(|l| l.contains(name)).unwrap().to_owned();
    assert!(row("models.py").contains("#2/3"), "{s}");
    assert!(row("handlers.py").contains("#1/3"), "{s}");
    assert!(row("calc/ops.py").contains('—') && !row("calc/ops.py").contains("#1/"), "{s}");
    insta::assert_snapshot!("files_candidates_160x48", t.backend());
    assert!(!text(&render(&mut a, 80, 24)).contains("#2/3"), "narrow panes keep the compact columns");
    // A regenerated file is sampled afresh: its old choice goes.
    a.on_event(&Event::FileStarted { path: "services/billing/app/models.py".into(), wave: 1 });
    assert!(!text(&render(&mut a, 160, 48)).contains("#2/3"));
}

#[test]
fn the_plan_editor_never_opens_through_a_symlink() {
    let (d, task) = planned();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("bashrc"), "export PATH\n").unwrap();
    std::fs::remove_file(task.plan_files_json()).unwrap();
    std::os::unix::fs::symlink(outside.path().join("bashrc"), task.plan_files_json()).unwrap();
    let mut a = app().with_task(task, d.path().to_path_buf());
    a.take_effects();
    assert!(effects::perform(&mut a, Effect::EditPlan).is_none(), "no editor session");
    assert!(a.status.contains("cannot edit plan.files.json"), "{}", a.status);
}
