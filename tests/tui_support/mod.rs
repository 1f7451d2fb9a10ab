//! Helpers for the workbench tests on ratatui's TestBackend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ai_tools::codegen::diff::{Backend, FileInput, unified_diff};
use ai_tools::review::{
    patchset,
    view::{self as rview, FileHunks},
};
use ai_tools::task::relpath::RelPath;
use ai_tools::task::state::TaskState;
use ai_tools::ui::tui::app::App;
use ai_tools::ui::tui::theme::{ColorDepth, Theme};
use ai_tools::ui::tui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A fresh app with the dark theme in true color.
pub fn app() -> App {
    App::new(Theme::load("dark", ColorDepth::TrueColor).unwrap())
}

/// A key without modifiers.
pub fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A character key.
pub fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// Types `text` and presses Enter.
pub fn type_line(a: &mut App, text: &str) -> Vec<ai_tools::orchestrator::Command> {
    for c in text.chars() {
        a.on_key(ch(c));
    }
    a.on_key(key(KeyCode::Enter))
}

/// Files as the review engine lists them for `(path, old, new)` triples diffed by our own
/// diff writer; the hunks numbered in `rejected` (in diff order, 0-based) start rejected.
pub fn diff_files(pairs: &[(&str, Option<&str>, Option<&str>)], rejected: &[usize]) -> Vec<FileHunks> {
    let paths: Vec<RelPath> = pairs.iter().map(|(p, _, _)| RelPath::new(p).unwrap()).collect();
    let mut inputs: Vec<FileInput<'_>> = pairs
        .iter()
        .zip(&paths)
        .map(|((_, o, n), p)| FileInput {
            path: p,
            old: o.map(str::as_bytes),
            new: n.map(str::as_bytes),
            old_mode: 0o644,
            new_mode: 0o644,
        })
        .collect();
    let (bytes, _) = unified_diff(&mut inputs, Backend::Imara).unwrap();
    let patch = patchset::parse(&bytes).unwrap();
    let mut st = TaskState::default();
    for (i, id) in patch.ids().enumerate() {
        if rejected.contains(&i) {
            st.hunks.insert(id.to_owned(), false);
        }
    }
    rview::files(&patch, &st)
}

/// Draws the whole workbench on a `w`×`h` TestBackend.
pub fn render(a: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(a, f)).unwrap();
    t
}

/// The screen as text, one line per row.
pub fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

pub const OPS_OLD: &str = "import sys\ndef add(a, b):\n    return a + b\n\n# one\n# two\n# three\n# four\n# five\ndef main():\n    print(add(1, 2))\n\n";
pub const OPS_NEW: &str = "import sys\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n# one\n# two\n# three\n# four\n# five\ndef main():\n    print(add(int(sys.argv[1]), 2))\n\n";
