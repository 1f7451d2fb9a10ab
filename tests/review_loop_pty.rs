//! The review loop from a real terminal: a shell in a tmux pseudo-terminal types the CLI flow
//! — codegen against a loopback model, `hunks --reject ID --reason TEXT`, `regen PATH -m NOTE`,
//! `hunks`, `accept` — and the test reads the screen and the loopback's requests: the model got
//! the reason and the accepted hunk, the new candidate's diff replaced the old one, and the
//! accepted hunk kept its state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::*;

const OLD: &str = "import sys\n\n\ndef add(a, b):\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(1, 2))\n";
const NEW: &str = "import sys\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";
const NEW2: &str = "import sys\n\n\ndef add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n\n# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n\n\ndef main():\n    print(add(int(sys.argv[1]), 2))\n";

/// A bash in a tmux pseudo-terminal in `r`, with a clean environment pointing the OpenAI
/// provider at `server`, and `at` aliased to the binary.
fn shell(r: &std::path::Path, server: &Server, tag: &str) -> Tmux {
    let name = format!("ai-tools-{tag}-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_ai-tools");
    let shell = format!(
        "env -i PATH={} HOME={} TERM=xterm-256color PS1='$ ' OPENAI_BASE_URL={}/v1 OPENAI_API_KEY=sk-test-pty-0000 \
         AI_TOOLS_CONFIG={}/none.toml bash --norc --noprofile",
        std::env::var("PATH").unwrap(),
        r.display(),
        server.url(),
        r.display()
    );
    Tmux::run(&["new-session", "-d", "-s", &name, "-x", "200", "-y", "50", "-c", &r.display().to_string(), &shell]);
    let t = Tmux(name);
    t.line(&format!("alias at='{bin} --provider openai'"));
    t
}

#[test]
fn reject_with_a_reason_regen_and_accept_from_a_terminal() {
    let repo = repo_with(&[("calc/__init__.py", ""), ("calc/ops.py", OLD)]);
    let r = repo.path();
    write_task(
        r,
        "typed",
        "# Type the calculator\n",
        r#"{"files": [{"path": "calc/ops.py", "action": "modify", "description": "types and argv"}]}"#,
    );
    let server = serve(|req| {
        let regen = req.user_text().contains("## Current candidate of");
        Reply::Sse(openai_text_stream(&format!("```python\n{}```\n", if regen { NEW2 } else { NEW })))
    });
    let t = shell(r, &server, "loop");
    t.line("at codegen --quiet; echo codegen\"-exit=$?\"");
    t.wait_for_in("codegen-exit=0", 60, true);

    let ids: Vec<String> = ndjson(&ai_tools(r).args(["hunks", "--json"]).output().unwrap().stdout)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    t.line(&format!("at hunks --accept {} --reject {} --reason 'no annotations, add a docstring'", ids[1], ids[0]));
    t.wait_for_in(&format!("{}  rejected: no annotations, add a docstring", ids[0]), 20, true);
    t.line("at regen calc/ops.py -m 'keep main as it is'; echo regen\"-exit=$?\"");
    let s = t.wait_for_in("\nregen-exit=", 60, true);
    assert!(s.contains("regen-exit=0") && s.contains("regenerating calc/ops.py"), "{s}");
    assert!(s.contains("1 kept their review state, 1 new"), "{s}");

    let prompt = server.received().last().unwrap().user_text();
    assert!(prompt.contains("Reason: no annotations, add a docstring"), "{prompt}");
    assert!(prompt.contains(&format!("Accepted hunk {}", ids[1])) && prompt.contains("keep main as it is"), "{prompt}");

    t.line("clear");
    std::thread::sleep(Duration::from_millis(200));
    Tmux::run(&["clear-history", "-t", &t.0]);
    t.line("at hunks");
    let s = t.wait_for_in("2 accepted", 20, true);
    assert!(s.contains(&format!("{}  accepted", ids[1])) && !s.contains(&ids[0]), "{s}");
    t.line("at accept; echo accept\"-exit=$?\"");
    t.wait_for_in("accept-exit=0", 20, true);
    assert_eq!(std::fs::read_to_string(r.join("calc/ops.py")).unwrap(), NEW2);
}

/// Three changes far enough apart to be three hunks.
const THREE_OLD: &str = "A = 1\n# a\n# b\n# c\n# d\n# e\n# f\n# g\nB = 2\n# h\n# i\n# j\n# k\n# l\n# m\n# n\nC = 3\n";
const THREE_NEW: &str =
    "A = 10\n# a\n# b\n# c\n# d\n# e\n# f\n# g\nB = 20\n# h\n# i\n# j\n# k\n# l\n# m\n# n\nC = 30\n";

#[test]
fn three_accepts_and_three_undos_from_a_terminal_restore_the_tree_byte_for_byte() {
    let repo = repo_with(&[("calc/__init__.py", ""), ("calc/consts.py", THREE_OLD)]);
    let r = repo.path();
    write_task(
        r,
        "consts",
        "# Scale the constants\n",
        r#"{"files": [{"path": "calc/consts.py", "action": "modify", "description": "x10"}]}"#,
    );
    let server = serve(|_| Reply::Sse(openai_text_stream(&format!("```python\n{THREE_NEW}```\n"))));
    let before = std::fs::read(r.join("calc/consts.py")).unwrap();
    let t = shell(r, &server, "undo3");
    t.line("at codegen --quiet; echo codegen\"-exit=$?\"");
    t.wait_for_in("codegen-exit=0", 60, true);
    let ids: Vec<String> = ndjson(&ai_tools(r).args(["hunks", "--json"]).output().unwrap().stdout)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    for (k, id) in ids.iter().enumerate() {
        t.line(&format!("at accept --hunks {id}; echo accept{k}\"-exit=$?\""));
        t.wait_for_in(&format!("accept{k}-exit=0"), 20, true);
    }
    assert_eq!(std::fs::read_to_string(r.join("calc/consts.py")).unwrap(), THREE_NEW);
    t.line("at accepts");
    t.wait_for_in("accept 3", 20, true);
    for k in 0..3 {
        t.line(&format!("at undo; echo undo{k}\"-exit=$?\""));
        t.wait_for_in(&format!("undo{k}-exit=0"), 20, true);
    }
    assert_eq!(std::fs::read(r.join("calc/consts.py")).unwrap(), before, "byte-identical to before the first accept");
    t.line("at undo; echo undo-again\"-exit=$?\"");
    let s = t.wait_for_in("undo-again-exit=", 20, true);
    assert!(s.contains("undo-again-exit=2") && s.contains("nothing to undo"), "{s}");
}
