//! The context budget is sized to the model: with a 200k-window model (Anthropic's default,
//! Claude Sonnet 4.5) a 2,800-line file goes to the model whole, and an edit near its end
//! applies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const KEY: &str = "sk-ant-test-context-000111";

fn big_file(lines: usize) -> String {
    (0..lines).map(|i| format!("def test_case_{i:04}():\n    assert {i} + 1 == {}\n", i + 1)).collect()
}

#[test]
fn a_2800_line_file_fits_a_200k_model_whole() {
    let content = big_file(1400); // 2,800 lines, ~24k estimated tokens
    assert_eq!(content.lines().count(), 2800);
    let repo = repo_with(&[("tests/__init__.py", ""), ("tests/test_big.py", &content)]);
    let r = repo.path();
    write_task(
        r,
        "t",
        "# Fix the last case\n",
        r#"{"files": [{"path": "tests/test_big.py", "action": "modify", "description": "make the last case check 1400 + 1"}]}"#,
    );
    let edit = "tests/test_big.py\n```python\n<<<<<<< SEARCH\n    assert 1399 + 1 == 1400\n=======\n    assert 1400 + 1 == 1401\n>>>>>>> REPLACE\n```\n";
    let server = serve(move |_| Reply::Sse(anthropic_text_stream(edit)));
    let out = ai_tools(r)
        .args(["codegen", "--provider", "anthropic", "--json"])
        .env("ANTHROPIC_BASE_URL", server.url())
        .env("ANTHROPIC_API_KEY", KEY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sent = server.received()[0].user_text();
    assert!(sent.contains("def test_case_1399():"), "the end of the file was not sent");
    assert!(!sent.contains("[truncated by ai-tools"), "the file was cut to fit the budget");
    assert!(server.received()[0].body["max_tokens"].as_u64().unwrap() > 4096, "max_tokens sized to the model");
    let written = std::fs::read_to_string(r.join(".ai-tools/tasks/t/code/files/tests/test_big.py")).unwrap();
    assert!(written.ends_with("    assert 1400 + 1 == 1401\n"), "{}", &written[written.len() - 80..]);
    assert_eq!(written.lines().count(), 2800);
}
