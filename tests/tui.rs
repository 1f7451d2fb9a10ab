//! The workbench on ratatui's TestBackend: snapshots of each pane and of whole frames, keys
//! and the commands they send, and the select loop drawing while the actor streams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod tui_support;
use tui_support::diff_files;

use ai_tools::orchestrator::{Command, Event, Handle, RunOptions};
use ai_tools::task::state::{Phase, RunStatus, Stage};
use ai_tools::ui::tui::app::{App, FindingView, Pane, RepairView};
use ai_tools::ui::tui::theme::{ColorDepth, Theme};
use ai_tools::ui::tui::{panes, run_loop, view};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn app() -> App {
    App::new(Theme::load("dark", ColorDepth::TrueColor).unwrap())
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn started(files: usize, waves: usize) -> Event {
    Event::RunStarted {
        run_id: "20261122-101500-ab12".into(),
        task: "/repo/.ai-tools/tasks/t".into(),
        repo: "/repo".into(),
        providers: vec!["local".into()],
        model: "SmolLM2-135M-Instruct".into(),
        files,
        waves,
    }
}

/// A run with wave 1 partly done and wave 2 started: two waves in flight.
fn mid_generation() -> App {
    let mut a = app();
    for e in [
        started(5, 2),
        Event::PhaseChanged { phase: Phase::Codegen },
        Event::StageChanged { stage: Stage::Context },
        Event::StageChanged { stage: Stage::Generate },
        Event::WaveStarted { wave: 1, files: vec!["calc/util.py".into(), "calc/slow.py".into(), "calc/old.py".into()] },
        Event::FileStarted { path: "calc/util.py".into(), wave: 1 },
        Event::FileStarted { path: "calc/slow.py".into(), wave: 1 },
        Event::FileDelta { path: "calc/util.py".into(), text: "```python\ndef clamp(x, lo, hi):\n".into() },
        Event::FileDelta { path: "calc/util.py".into(), text: "    return max(lo, min(x, hi))\n```\n".into() },
        Event::FileGenerated {
            path: "calc/util.py".into(),
            lines: 2,
            input_tokens: 412,
            output_tokens: 24,
            elapsed_ms: 900,
            provider: "local".into(),
        },
        Event::WaveStarted { wave: 2, files: vec!["calc/ops.py".into(), "calc/cli.py".into()] },
        Event::FileStarted { path: "calc/ops.py".into(), wave: 2 },
        Event::FileDelta { path: "calc/ops.py".into(), text: "```python\nfrom calc.util import clamp\n".into() },
        Event::FileDelta { path: "calc/slow.py".into(), text: "```python\nimport time\n".into() },
    ] {
        a.on_event(&e);
    }
    a
}

const OPS_OLD: &str = "import sys\ndef add(a, b):\n    return a + b\n\n# one\n# two\n# three\n# four\n# five\ndef main():\n    print(add(1, 2))\n\n";
const OPS_NEW: &str = "import sys\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n# one\n# two\n# three\n# four\n# five\ndef main():\n    print(add(int(sys.argv[1]), 2))\n\n";

fn with_diff() -> App {
    let mut a = app();
    a.on_event(&started(1, 1));
    a.on_event(&Event::WaveStarted { wave: 1, files: vec!["calc/ops.py".into()] });
    a.on_event(&Event::FileGenerated {
        path: "calc/ops.py".into(),
        lines: 13,
        input_tokens: 1,
        output_tokens: 1,
        elapsed_ms: 1,
        provider: "local".into(),
    });
    a.on_event(&Event::FileMaterialized { path: "calc/ops.py".into(), action: "modify".into(), bytes: 100, lines: 13 });
    a.set_files(&diff_files(&[("calc/ops.py", Some(OPS_OLD), Some(OPS_NEW))], &[1]));
    a.focus = Pane::Diff;
    a
}

fn render(a: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(a, f)).unwrap();
    t
}

fn render_pane(a: &mut App, w: u16, h: u16, pane: Pane) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        let r = f.area();
        match pane {
            Pane::Phases => panes::phases::draw(a, f, r),
            Pane::Files => panes::files::draw(a, f, r),
            Pane::Diff => panes::diff::draw(a, f, r),
            Pane::Validation => panes::validation::draw(a, f, r),
            Pane::Log => panes::log::draw(a, f, r),
        }
    })
    .unwrap();
    t
}

#[test]
fn mid_generation_frame_with_two_waves_in_flight() {
    let mut a = mid_generation();
    insta::assert_snapshot!("mid_generation_160x48", render(&mut a, 160, 48).backend());
    insta::assert_snapshot!("mid_generation_80x24", render(&mut a, 80, 24).backend());
}

#[test]
fn phase_pane() {
    let mut a = mid_generation();
    insta::assert_snapshot!(render_pane(&mut a, 70, 11, Pane::Phases).backend());
}

#[test]
fn files_pane_shows_actions_counts_and_review_state() {
    let mut a = with_diff();
    a.on_event(&Event::FileMaterialized { path: "calc/new.py".into(), action: "create".into(), bytes: 10, lines: 2 });
    a.set_files(&diff_files(
        &[("calc/ops.py", Some(OPS_OLD), Some(OPS_NEW)), ("calc/new.py", None, Some("X = 1\nY = 2\n"))],
        &[1],
    ));
    a.files[0].findings = 2;
    a.focus = Pane::Files;
    insta::assert_snapshot!(render_pane(&mut a, 70, 6, Pane::Files).backend());
}

#[test]
fn highlighted_diff_with_one_rejected_hunk() {
    let mut a = with_diff();
    let t = render_pane(&mut a, 90, 16, Pane::Diff);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    // Syntax colors on an accepted added line: more than one foreground color.
    let row3: Vec<_> = (0..90).map(|x| buf[(x, 4)].fg).collect();
    let colors: std::collections::HashSet<Color> = row3.into_iter().filter(|c| *c != Color::Reset).collect();
    assert!(colors.len() >= 3, "syntax-highlighted: {colors:?}");
    // The added line has the add background, the changed words the emphasis background.
    let theme = Theme::load("dark", ColorDepth::TrueColor).unwrap();
    let bgs: std::collections::HashSet<Color> = (14..60).map(|x| buf[(x, 4)].bg).collect();
    assert!(bgs.contains(&theme.add.bg.unwrap()) && bgs.contains(&theme.add_emph.bg.unwrap()), "{bgs:?}");
    // The rejected hunk's lines carry no add/remove background.
    let rejected_row: Vec<Color> = (14..60).map(|x| buf[(x, 14)].bg).collect();
    assert!(!rejected_row.contains(&theme.add.bg.unwrap()), "{rejected_row:?}");
}

#[test]
fn validation_panel_with_findings_and_repairs() {
    let mut a = with_diff();
    a.findings = vec![
        FindingView {
            file: "calc/ops.py".into(),
            line: 2,
            column: 5,
            tool: "ruff".into(),
            code: "F821".into(),
            category: "undefined_name".into(),
            message: "Undefined name `clamp`".into(),
        },
        FindingView {
            file: "calc/ops.py".into(),
            line: 11,
            column: 11,
            tool: "pyright".into(),
            code: "reportArgumentType".into(),
            category: "type_mismatch".into(),
            message: "Argument of type \"str\" is not assignable".into(),
        },
        FindingView {
            file: "web/App.tsx".into(),
            line: 3,
            column: 1,
            tool: "tsc".into(),
            code: "TS2307".into(),
            category: "missing_import".into(),
            message: "Cannot find module './api'".into(),
        },
    ];
    a.repairs =
        vec![RepairView { file: "calc/ops.py".into(), attempt: 1, errors_in: 3, errors_out: 2, success: false }];
    a.focus = Pane::Validation;
    a.finding_cursor = 1;
    insta::assert_snapshot!(render_pane(&mut a, 60, 12, Pane::Validation).backend());
    // Enter jumps the diff pane to the finding's file and line.
    let cmds = a.on_key(key(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert_eq!(a.focus, Pane::Diff);
    let row = &a.diffs["calc/ops.py"].rows[a.diff_cursor];
    assert_eq!(row.new_no, Some(11));
}

#[test]
fn log_pane_and_help() {
    let mut a = app();
    a.on_event(&started(2, 1));
    a.on_event(&Event::Failed {
        status: RunStatus::Failed,
        reason: "provider error: local: model not found".into(),
        suggestion: "run `ai-tools model pull`".into(),
        exit_code: 1,
        next_phase: None,
        files: vec![],
        summary: None,
    });
    insta::assert_snapshot!(render_pane(&mut a, 80, 6, Pane::Log).backend());
    a.on_key(ch('?'));
    insta::assert_snapshot!("help_overlay", render(&mut a, 100, 36).backend());
}

#[test]
fn keys_send_the_right_commands() {
    let mut a = with_diff();
    // `/` opens the command line with `/` typed; Enter runs it and keeps the focus.
    assert!(a.on_key(ch('/')).is_empty());
    assert!(a.cmdline.active);
    for c in "codegen".chars() {
        a.on_key(ch(c));
    }
    assert_eq!(a.on_key(key(KeyCode::Enter)), vec![Command::Codegen(RunOptions::default())]);
    assert_eq!(a.focus, Pane::Diff);
    a.on_key(ch(':'));
    for c in "redo codegen".chars() {
        a.on_key(ch(c));
    }
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        vec![Command::Codegen(RunOptions { redo: true, ..RunOptions::default() })]
    );
    // Tab completion.
    a.on_key(ch('/'));
    a.on_key(ch('a'));
    a.on_key(ch('c'));
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.cmdline.text(), "/accept");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        vec![Command::Accept { selection: ai_tools::review::Selection::Accepted, commit: false, message: None }]
    );
    let (h0, h1) = (a.diffs["calc/ops.py"].hunks[0].id.clone(), a.diffs["calc/ops.py"].hunks[1].id.clone());
    // Space toggles the hunk under the cursor (row 0 is hunk 1's header).
    a.diff_cursor = 2;
    assert_eq!(a.on_key(ch(' ')), vec![Command::SetHunks(vec![(h0.clone(), false)])]);
    assert!(!a.diffs["calc/ops.py"].hunks[0].accepted);
    // n / p move between hunks.
    a.diff_cursor = 0;
    a.on_key(ch('n'));
    assert_eq!(a.diff_cursor, a.diffs["calc/ops.py"].hunks[1].row);
    a.on_key(ch('p'));
    assert_eq!(a.diff_cursor, 0);
    // a / A accept every hunk of the file / all files.
    assert_eq!(a.on_key(ch('a')), vec![Command::SetHunks(vec![(h0.clone(), true), (h1.clone(), true)])]);
    assert_eq!(a.on_key(ch('R')), vec![Command::SetHunks(vec![(h0, false), (h1, false)])]);
    // Tab cycles panes.
    a.focus = Pane::Files;
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.focus, Pane::Diff);
    a.on_key(key(KeyCode::BackTab));
    assert_eq!(a.focus, Pane::Files);
    // /provider and /model go to the actor.
    a.on_key(ch('/'));
    for c in "provider openai".chars() {
        a.on_key(ch(c));
    }
    assert_eq!(a.on_key(key(KeyCode::Enter)), vec![Command::SetProvider("openai".into())]);
}

#[test]
fn quit_asks_first_when_accepted_hunks_were_not_applied() {
    let mut a = with_diff();
    a.on_key(ch('q'));
    assert!(a.confirm_quit && !a.should_quit);
    a.on_key(ch('n'));
    assert!(!a.confirm_quit && !a.should_quit);
    a.on_key(ch('q'));
    a.on_key(ch('y'));
    assert!(a.should_quit);
    let mut b = app();
    b.on_key(ch('q'));
    assert!(b.should_quit, "nothing accepted: quits at once");
}

#[test]
fn diff_command_selects_the_file_and_focuses_the_diff() {
    let mut a = with_diff();
    a.on_event(&Event::FileMaterialized { path: "calc/zz.py".into(), action: "create".into(), bytes: 1, lines: 1 });
    a.focus = Pane::Log;
    assert!(a.run_line("/diff calc/zz.py").is_empty());
    assert_eq!(a.selected_path(), Some("calc/zz.py"));
    assert_eq!(a.focus, Pane::Diff);
    a.run_line("/diff nope.py");
    assert_eq!(a.selected_path(), Some("calc/zz.py"));
    assert!(a.status.contains("no file nope.py"));
}

#[tokio::test]
async fn keeps_drawing_while_the_actor_streams() {
    let (handle, mut cmds, _bus): (Handle, _, _) = Handle::detached();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
    let input = tokio_stream_from(key_rx);
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let mut a = app();
    a.on_event(&started(1, 1));
    a.on_event(&Event::WaveStarted { wave: 1, files: vec!["a.py".into()] });
    a.focus = Pane::Diff;
    let feeder = tokio::spawn(async move {
        tx.send(Event::FileStarted { path: "a.py".into(), wave: 1 }).unwrap();
        for i in 0..40 {
            tx.send(Event::FileDelta { path: "a.py".into(), text: format!("line_{i} = {i}\n") }).unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        key_tx.send(Ok(crossterm::event::Event::Key(ch('/')))).unwrap();
        for c in "codegen".chars() {
            key_tx.send(Ok(crossterm::event::Event::Key(ch(c)))).unwrap();
        }
        key_tx.send(Ok(crossterm::event::Event::Key(key(KeyCode::Enter)))).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        key_tx.send(Ok(crossterm::event::Event::Key(ch('q')))).unwrap();
        tx
    });
    let mut frames: Vec<String> = Vec::new();
    run_loop(&mut term, &mut a, &handle, rx, input, |t| frames.push(format!("{}", t.backend()))).await.unwrap();
    let _tx = feeder.await.unwrap();
    assert!(frames.len() >= 10, "drew {} frames while streaming", frames.len());
    let with_stream: Vec<&String> = frames.iter().filter(|f| f.contains("a.py — streaming")).collect();
    assert!(with_stream.len() >= 5);
    assert!(frames.iter().any(|f| f.contains("line_39 = 39")), "the last delta reached the screen");
    // Frames showed the stream growing, not just its end.
    assert!(frames.iter().any(|f| f.contains("line_5 = 5") && !f.contains("line_39 = 39")));
    assert_eq!(cmds.try_recv().unwrap(), Command::Codegen(RunOptions::default()));
    assert!(a.should_quit);
}

/// An input stream over a channel.
fn tokio_stream_from(
    rx: tokio::sync::mpsc::UnboundedReceiver<std::io::Result<crossterm::event::Event>>,
) -> impl futures::Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }))
}
