//! End to end through a real terminal: the `ai-tools` workbench in a tmux pseudo-terminal
//! against a loopback provider speaking the OpenAI wire format. Types `/codegen`, waits for
//! ready, `/diff`s a file with two hunks, rejects the first with Space, `/accept`s, and checks
//! the working tree holds exactly the second hunk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::*;

const OLD: &str = "import sys\n\n\ndef add(a, b):\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(1, 2))\n";
const NEW: &str = "import sys\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";
/// OLD with only the second change.
const SECOND_ONLY: &str = "import sys\n\n\ndef add(a, b):\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";

/// A repo whose plan modifies calc/ops.py, a loopback provider answering NEW, and `ai-tools
/// [subcommand]` running in a tmux session of `w`×`h` with `env` set.
fn start(tag: &str, env: &str, subcommand: &str, w: u16, h: u16) -> (tempfile::TempDir, Tmux, Server) {
    let repo = repo_with(&[("calc/__init__.py", ""), ("calc/ops.py", OLD)]);
    write_task(
        repo.path(),
        "typed",
        "# Type the calculator\n",
        r#"{"files": [{"path": "calc/ops.py", "action": "modify", "description": "types and argv"}]}"#,
    );
    let server = serve(|_| Reply::Sse(openai_text_stream(&format!("```python\n{NEW}```\n"))));
    let t = start_in(repo.path(), &server, tag, env, subcommand, w, h);
    (repo, t, server)
}

/// `ai-tools [subcommand]` on `repo` against `server`, in a tmux session of `w`×`h`.
fn start_in(repo: &std::path::Path, server: &Server, tag: &str, env: &str, subcommand: &str, w: u16, h: u16) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_ai-tools");
    let name = format!("ai-tools-{tag}-{}", std::process::id());
    let cmd = format!(
        "env -u ANTHROPIC_API_KEY -u OLLAMA_HOST OPENAI_BASE_URL={}/v1 OPENAI_API_KEY=sk-test-e2e-0000 AI_TOOLS_CONFIG={}/none.toml {env} {bin} --repo {} --provider openai {subcommand}",
        server.url(),
        repo.display(),
        repo.display()
    );
    Tmux::run(&["new-session", "-d", "-s", &name, "-x", &w.to_string(), "-y", &h.to_string(), &cmd]);
    Tmux(name)
}

#[test]
fn codegen_review_and_accept_in_a_real_terminal() {
    let (repo, t, _server) = start("e2e", "TERM=xterm-256color", "", 160, 48);
    let r = repo.path();
    t.wait_for("Phases", 20);

    t.keys(&["/"]);
    t.literal("codegen");
    t.keys(&["Enter"]);
    t.wait_for("ready: review the hunks", 60);

    t.keys(&["/"]);
    t.literal("diff calc/ops.py");
    t.keys(&["Enter"]);
    let s = t.wait_for("hunk 1/2", 10);
    assert!(s.contains("Diff: calc/ops.py"), "{s}");

    // The cursor starts on hunk 1's header: Space rejects hunk 1.
    t.keys(&["Space"]);
    t.wait_for("hunk 1/2 ✗ rejected", 10);

    t.keys(&["/"]);
    t.literal("accept");
    t.keys(&["Enter"]);
    let s = t.wait_for("accept #1", 20);
    assert!(s.contains("1 hunks landed in 1 files"), "{s}");
    assert_eq!(std::fs::read_to_string(r.join("calc/ops.py")).unwrap(), SECOND_ONLY);

    // Nothing accepted is left unapplied: q quits at once.
    t.keys(&["q"]);
    let end = Instant::now() + Duration::from_secs(10);
    while !Tmux::run(&["list-sessions"]).lines().all(|l| !l.starts_with(&t.0)) {
        assert!(Instant::now() < end, "the workbench did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn repl_codegen_and_a_git_add_p_style_accept() {
    let (repo, t, _server) = start("repl", "NO_COLOR=1", "repl", 140, 50);
    let r = repo.path();
    t.wait_for("ai-tools>", 20);
    t.literal("/codegen");
    t.keys(&["Enter"]);
    t.wait_for("ready: the diff is at", 60);
    t.literal("/accept");
    t.keys(&["Enter"]);
    t.wait_for("(1/2) Accept this hunk", 10);
    t.literal("n");
    t.keys(&["Enter"]);
    t.wait_for("(2/2) Accept this hunk", 10);
    t.literal("y");
    t.keys(&["Enter"]);
    let s = t.wait_for("accept #1", 20);
    assert!(s.contains("1 hunks landed in 1 files"), "{s}");
    assert_eq!(std::fs::read_to_string(r.join("calc/ops.py")).unwrap(), SECOND_ONLY);
    t.literal("/quit");
    t.keys(&["Enter"]);
}

/// Runs codegen in the workbench and shows calc/ops.py's diff (cursor on hunk 1's header).
fn codegen_and_show_the_diff(t: &Tmux) {
    t.wait_for("Phases", 20);
    t.keys(&["/"]);
    t.literal("codegen");
    t.keys(&["Enter"]);
    t.wait_for("ready: review the hunks", 60);
    t.keys(&["/"]);
    t.literal("diff calc/ops.py");
    t.keys(&["Enter"]);
    t.wait_for("hunk 1/2", 10);
}

#[test]
fn viewed_marks_in_a_real_terminal_survive_a_restart() {
    let (repo, t, server) = start("viewed", "TERM=xterm-256color", "", 160, 48);
    codegen_and_show_the_diff(&t);
    assert!(!t.screen().contains("✓ ● calc/ops.py"));
    t.keys(&["v"]);
    let s = t.wait_for("calc/ops.py marked viewed", 10);
    assert!(s.contains("✓ ● calc/ops.py"), "{s}");
    // Quit (accepted hunks are not applied: confirm) and start again on the same task.
    t.keys(&["q"]);
    t.wait_for("Quit anyway?", 10);
    t.keys(&["y"]);
    t.wait_gone(10);
    assert!(repo.path().join(".ai-tools/tasks/typed/workbench.json").is_file());
    let t2 = start_in(repo.path(), &server, "viewed2", "TERM=xterm-256color", "", 160, 48);
    let s = t2.wait_for("✓ ● calc/ops.py", 20);
    assert!(s.contains("Files (1)"), "{s}");
    // `v` again unmarks; the mark is gone after the next restart too.
    t2.keys(&["v"]);
    t2.wait_for("calc/ops.py unmarked", 10);
    assert!(!t2.screen().contains("✓ ● calc/ops.py"));
}

/// An SGR mouse report (what a terminal sends with mouse capture on): `button` at the 1-based
/// `col`, `row`.
fn sgr_mouse(button: u8, col: u16, row: u16) -> String {
    format!("\x1b[<{button};{col};{row}M")
}

#[test]
fn the_mouse_wheel_scrolls_the_diff_in_a_real_terminal() {
    let (_repo, t, _server) = start("wheel", "TERM=xterm-256color", "", 160, 48);
    codegen_and_show_the_diff(&t);
    // Hunk 1 is 9 rows (header, 3 context, −/+, 3 context); three notches of 3 rows reach
    // hunk 2's header. The diff pane spans columns 1-112, rows 12-40 at 160×48.
    for _ in 0..3 {
        t.literal(&sgr_mouse(65, 30, 20));
        std::thread::sleep(Duration::from_millis(100));
    }
    t.wait_for("hunk 2/2", 10);
    // The wheel over the log pane leaves the diff alone.
    t.literal(&sgr_mouse(64, 30, 44));
    std::thread::sleep(Duration::from_millis(300));
    assert!(t.screen().contains("hunk 2/2"));
    // Wheel up over the diff goes back to hunk 1.
    t.literal(&sgr_mouse(64, 30, 20));
    t.wait_for("hunk 1/2", 10);
}

#[test]
fn edit_in_the_editor_rediffs_and_untouched_hunks_keep_their_state() {
    let scripts = tempfile::tempdir().unwrap();
    let editor = scripts.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/, 2))/, 3))/' \"$1\"\n").unwrap();
    Command::new("chmod").arg("755").arg(&editor).status().unwrap();
    let (repo, t, _server) = start("edit", &format!("TERM=xterm-256color EDITOR={}", editor.display()), "", 160, 48);
    let r = repo.path();
    codegen_and_show_the_diff(&t);
    // Reject hunk 1, then edit the file from hunk 2.
    t.keys(&["Space"]);
    t.wait_for("hunk 1/2 ✗ rejected", 10);
    t.keys(&["n"]);
    t.wait_for("hunk 2/2 ✓ accepted", 10);
    t.keys(&["e"]);
    // The actor re-validated and re-diffed the edit.
    t.wait_for("int(sys.argv[1]), 3))", 20);
    let files = std::fs::read_to_string(r.join(".ai-tools/tasks/typed/code/files/calc/ops.py")).unwrap();
    assert!(files.contains("print(add(int(sys.argv[1]), 3))"), "{files}");
    // The re-diff shows the edit; hunk 1, untouched, is still rejected.
    t.wait_for("int(sys.argv[1]), 3))", 20);
    t.keys(&["g"]);
    t.wait_for("hunk 1/2 ✗ rejected", 10);
    // Accepting lands exactly the edited hunk 2.
    t.keys(&["/"]);
    t.literal("accept");
    t.keys(&["Enter"]);
    t.wait_for("accept #1", 20);
    assert_eq!(std::fs::read_to_string(r.join("calc/ops.py")).unwrap(), SECOND_ONLY.replace(", 2))", ", 3))"));
}
