//! Watching a local generation's text as it streams: when a constrained reply is complete, and
//! when the model has started looping on one line.
//!
//! Invariants: both watchers see exactly the text the caller receives, in order, and decide
//! from it alone (no model state); a disabled watcher never stops anything.

use serde::de::IgnoredAny;

/// Repeated lines allowed in a row before the local stream stops, when the configuration sets
/// none (`[providers.local] max_repeated_lines`).
pub const DEFAULT_MAX_REPEATED_LINES: u32 = 6;

/// When a constrained reply is complete (the grammar allows nothing more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// When the model ends it (end-of-generation token or the token cap).
    Model,
    /// When a line after the first starts with `fence` backticks: the closing fence of a
    /// [`crate::broker::grammar::fenced_block`] reply.
    ClosingFence {
        /// Backticks in the fence.
        fence: usize,
    },
    /// When the whole text parses as one JSON value: a
    /// [`crate::broker::grammar::tool_call`] reply.
    JsonValue,
}

impl End {
    /// Whether `text`, which just grew by `piece`, is a complete reply.
    pub fn reached(self, text: &str, piece: &str) -> bool {
        match self {
            End::Model => false,
            End::ClosingFence { fence } => {
                piece.contains('`')
                    && text.find('\n').is_some_and(|i| text[i..].contains(&format!("\n{}", "`".repeat(fence))))
            }
            End::JsonValue => piece.contains(['}', ']']) && serde_json::from_str::<IgnoredAny>(text.trim_end()).is_ok(),
        }
    }
}

/// Counts consecutive copies of the same line in streamed text. Blank lines neither count nor
/// break a run; lines compare with trailing whitespace ignored and indentation kept.
#[derive(Debug, Clone, Default)]
pub struct RepeatGuard {
    limit: u32,
    partial: String,
    last: Option<String>,
    run: u32,
}

impl RepeatGuard {
    /// A guard that trips when a line appears more than `limit` times in a row (0: never).
    pub fn new(limit: u32) -> Self {
        Self { limit, ..Self::default() }
    }

    /// Feeds more text; true once some line has appeared more than `limit` times in a row (the
    /// line counts when its `\n` arrives).
    pub fn push(&mut self, text: &str) -> bool {
        if self.limit == 0 {
            return false;
        }
        let mut tripped = false;
        let mut rest = text;
        while let Some(i) = rest.find('\n') {
            self.partial.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            let line = std::mem::take(&mut self.partial);
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if self.last.as_deref() == Some(line) {
                self.run += 1;
            } else {
                self.last = Some(line.to_owned());
                self.run = 1;
            }
            tripped |= self.run > self.limit;
        }
        self.partial.push_str(rest);
        tripped
    }

    /// The length of the current run of identical lines.
    pub fn run(&self) -> u32 {
        self.run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_on_the_first_copy_past_the_limit_across_pieces() {
        let mut g = RepeatGuard::new(3);
        assert!(!g.push("def f():\n    return 1\n"));
        assert!(!g.push("x = 1\nx = 1\n\nx = 1"));
        assert_eq!(g.run(), 2, "the third copy is not complete until its newline");
        assert!(!g.push("\n"));
        assert!(g.push("x = 1  \n"), "a fourth copy (trailing spaces ignored) is past the limit");
    }

    #[test]
    fn indentation_and_other_lines_break_a_run_and_zero_disables() {
        let mut g = RepeatGuard::new(2);
        assert!(!g.push("}\n  }\n}\n    }\nreturn\nreturn\nx\nreturn\n"));
        let mut off = RepeatGuard::new(0);
        assert!(!off.push(&"same\n".repeat(100)));
    }

    #[test]
    fn a_fenced_reply_ends_at_its_closing_fence_only() {
        let e = End::ClosingFence { fence: 3 };
        assert!(!e.reached("```python\n", "```python\n"), "the opening fence is not the end");
        assert!(!e.reached("```python\nx = '`'\n", "'`'\n"));
        assert!(e.reached("```python\nx = 1\n```", "```"));
        assert!(e.reached("```python\n```", "```"), "an empty block is complete too");
        assert!(!End::Model.reached("```python\n```", "```"));
        let four = End::ClosingFence { fence: 4 };
        assert!(!four.reached("````md\n```sh\n", "```"), "a shorter run is content");
        assert!(four.reached("````md\n```sh\n```\n````", "````"));
    }

    #[test]
    fn a_tool_call_ends_when_its_json_closes() {
        let e = End::JsonValue;
        let call = r#"{"name": "write_file", "arguments": {"content": "}"}}"#;
        assert!(!e.reached(&call[..call.len() - 1], "}"), "the inner object is not the end");
        assert!(!e.reached(r#"{"name": "write_file", "arguments": {"content": "}"#, "}"), "a brace in a string");
        assert!(e.reached(call, "}"));
    }
}
