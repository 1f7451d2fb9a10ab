//! Turning a repair reply into the file's next content. The reply is untrusted model output:
//! it can only ever change the one file under repair, because no tool takes a path and text
//! blocks that declare another file are ignored.
//!
//! Two forms:
//! - **tool calls** (providers with tool use): `patch_file(old_string, new_string)` replaces
//!   the one exact occurrence of `old_string` — none or several is an error fed into the next
//!   attempt; `write_file(content)` replaces the whole file and overrides earlier patches of
//!   the same reply (their errors included). Calls apply in order.
//! - **text** (the local model, Ollama): SEARCH/REPLACE blocks applied under
//!   [`crate::codegen::edit`]'s rules, else the largest fenced code block as the whole file.
//!
//! Either way the next content keeps the line-ending style and final-newline state of the
//! content it was made from ([`crate::codegen::eol::conform`]): a model answers in LF, and a
//! repair must not turn every line of a CRLF file into a diff line. Occurrences of
//! `old_string` are counted overlapping, so an `old_string` that fits two overlapping places is
//! not unique.

use serde_json::{Value, json};

use crate::broker::{ToolCall, ToolSpec};
use crate::codegen::{edit, eol, reply};
use crate::task::relpath::RelPath;

/// The two repair tools, in the order they are offered.
pub fn tool_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "patch_file".into(),
            description: "Replace one exact, unique occurrence of old_string in the file under repair with \
                          new_string. old_string must be copied exactly from the file (whitespace included) and \
                          occur exactly once; include surrounding lines to make it unique. Prefer this tool."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "old_string": {"type": "string", "description": "Exact text to replace; must occur exactly once."},
                    "new_string": {"type": "string", "description": "The text to put in its place."}
                },
                "required": ["old_string", "new_string"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "write_file".into(),
            description: "Replace the whole content of the file under repair. Use only when the fix needs many \
                          scattered changes; it overrides earlier patch_file calls in the same reply."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {"content": {"type": "string", "description": "The complete new file content."}},
                "required": ["content"],
                "additionalProperties": false
            }),
        },
    ]
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

/// Applies `calls` to `content` (see the module docs).
///
/// # Errors
/// The problems of the calls that were not overridden by a later `write_file`, joined with
/// `; ` — written for the model to read in its next attempt.
pub fn apply_tool_calls(content: &str, calls: &[ToolCall]) -> Result<String, String> {
    apply_calls(content, calls).map(|next| eol::conform(content, &next))
}

fn apply_calls(content: &str, calls: &[ToolCall]) -> Result<String, String> {
    let mut text = content.to_owned();
    let mut errors: Vec<String> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let n = i + 1;
        let args = &call.arguments;
        match call.name.as_str() {
            "write_file" => match str_arg(args, "content") {
                Some(c) => {
                    text = c.to_owned();
                    errors.clear();
                }
                None => errors.push(format!("tool call {n} (write_file) needs a string `content`")),
            },
            "patch_file" => match (str_arg(args, "old_string"), str_arg(args, "new_string")) {
                (Some(old), Some(new)) if !old.is_empty() => match edit::occurrences(&text, old) {
                    1 => text = text.replacen(old, new, 1),
                    0 => errors.push(format!(
                        "tool call {n} (patch_file): old_string `{}` was not found in the file; copy it exactly",
                        preview(old)
                    )),
                    k => errors.push(format!(
                        "tool call {n} (patch_file): old_string `{}` is not unique: it occurs {k} times; include \
                         surrounding lines so it occurs exactly once",
                        preview(old)
                    )),
                },
                (Some(_), Some(_)) => errors.push(format!("tool call {n} (patch_file): old_string is empty")),
                _ => errors.push(format!("tool call {n} (patch_file) needs string `old_string` and `new_string`")),
            },
            other => {
                errors.push(format!("tool call {n}: unknown tool `{other}`; only patch_file and write_file exist"))
            }
        }
    }
    if errors.is_empty() { Ok(text) } else { Err(errors.join("; ")) }
}

fn preview(s: &str) -> String {
    let first = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut p: String = first.chars().take(60).collect();
    if s.trim().lines().count() > 1 || first.chars().count() > 60 {
        p.push('…');
    }
    p
}

/// Applies a text reply to `content` as the new content of `file` (see the module docs).
///
/// # Errors
/// A message for the model: unterminated or unmatched SEARCH blocks, blocks only for other
/// files, or a reply with no block at all.
pub fn apply_text_reply(content: &str, text: &str, file: &RelPath) -> Result<String, String> {
    text_reply(content, text, file).map(|next| eol::conform(content, &next))
}

fn text_reply(content: &str, text: &str, file: &RelPath) -> Result<String, String> {
    let mine = |d: &Option<String>| d.as_deref().is_none_or(|p| p == file.as_str());
    let blocks = reply::search_replace_blocks(text).map_err(|e| e.to_string())?;
    if !blocks.is_empty() {
        let ours: Vec<_> = blocks.into_iter().filter(|b| mine(&b.declared)).collect();
        if ours.is_empty() {
            return Err(format!("the reply's SEARCH/REPLACE blocks name other files; only {file} may be edited"));
        }
        return edit::apply(content, &ours).map_err(|e| e.to_string());
    }
    reply::fenced_blocks(text)
        .into_iter()
        .filter(|b| mine(&b.declared))
        .max_by_key(|b| b.content.len())
        .map(|b| b.content)
        .ok_or_else(|| "the reply has no SEARCH/REPLACE block and no fenced code block for the file".to_owned())
}

/// The fraction of `a` and `b`'s lines that differ: `1 − 2·M/T` with M the lines the two
/// share in order and T the lines of both (difflib's ratio on lines), so 0 is unchanged and a
/// full rewrite is 1.
pub fn changed_fraction(a: &str, b: &str) -> f64 {
    if a == b {
        return 0.0;
    }
    1.0 - f64::from(similar::TextDiff::from_lines(a, b).ratio())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall { id: String::new(), name: name.into(), arguments: args }
    }

    #[test]
    fn patches_must_match_exactly_once() {
        let c = "a = 1\nb = a\nb = a\n";
        let ok = apply_tool_calls(c, &[call("patch_file", json!({"old_string": "a = 1", "new_string": "a = 2"}))]);
        assert_eq!(ok.unwrap(), "a = 2\nb = a\nb = a\n");
        let dup = apply_tool_calls(c, &[call("patch_file", json!({"old_string": "b = a", "new_string": "b = 0"}))]);
        assert!(dup.unwrap_err().contains("is not unique: it occurs 2 times"));
        let none = apply_tool_calls(c, &[call("patch_file", json!({"old_string": "zzz", "new_string": ""}))]);
        assert!(none.unwrap_err().contains("was not found"));
        let bad = apply_tool_calls(c, &[call("delete_repo", json!({}))]);
        assert!(bad.unwrap_err().contains("unknown tool `delete_repo`"));
        let raw = apply_tool_calls(c, &[call("patch_file", Value::String("{not json".into()))]);
        assert!(raw.is_err());
    }

    #[test]
    fn write_file_overrides_earlier_patches_and_their_errors() {
        let calls = [
            call("patch_file", json!({"old_string": "nope", "new_string": "x"})),
            call("write_file", json!({"content": "x = 1\ny = 2\n"})),
            call("patch_file", json!({"old_string": "y = 2", "new_string": "y = 3"})),
        ];
        assert_eq!(apply_tool_calls("old\n", &calls).unwrap(), "x = 1\ny = 3\n");
    }

    #[test]
    fn text_replies_edit_only_the_target() {
        let f = RelPath::new("pkg/a.py").unwrap();
        let sr = "pkg/a.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = 3\n>>>>>>> REPLACE\n";
        assert_eq!(apply_text_reply("a = 1\nb = 2\n", sr, &f).unwrap(), "a = 1\nb = 3\n");
        let other = "evil.py\n<<<<<<< SEARCH\nb = 2\n=======\nx\n>>>>>>> REPLACE\n";
        assert!(apply_text_reply("b = 2\n", other, &f).unwrap_err().contains("other files"));
        assert_eq!(apply_text_reply("x\n", "Fixed:\n```python\nx = 1\n```\n", &f).unwrap(), "x = 1\n");
        assert!(apply_text_reply("x\n", "I cannot help.", &f).is_err());
    }

    #[test]
    fn changed_fraction_is_zero_for_same_and_one_for_disjoint() {
        assert_eq!(changed_fraction("a\nb\n", "a\nb\n"), 0.0);
        assert!((changed_fraction("a\nb\n", "c\nd\n") - 1.0).abs() < 1e-9);
        let small = changed_fraction("a\nb\nc\nd\n", "a\nB\nc\nd\n");
        assert!((small - 0.25).abs() < 1e-6, "{small}");
    }
}
