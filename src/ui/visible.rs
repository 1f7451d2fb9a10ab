//! Untrusted text made safe to print on a terminal. Diff lines, findings, model replies and run
//! logs are bytes from a model or a cloned repo; a raw `ESC` in them can move the cursor, erase
//! lines (hiding a line from review), retitle the window or write the clipboard (OSC 52).
//!
//! Invariant: every control character except tab and newline — C0 (`U+0000`–`U+001F`), `DEL`
//! and C1 (`U+0080`–`U+009F`) — comes out as a visible escape (`\x1b` style), so what a
//! reviewer sees is exactly what the bytes are.

use std::borrow::Cow;

/// `text` with every control character but `\t` and `\n` shown as `\xNN` (`\u{NNNN}` for C1).
pub fn visible(text: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if bad(c) && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if bad(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(visible("a\x1b[1A\x1b[2Kb"), "a\\x1b[1A\\x1b[2Kb");
        assert_eq!(visible("\x1b]52;c;ZXZpbA==\x07"), "\\x1b]52;c;ZXZpbA==\\x07");
        assert_eq!(visible("cr\rdel\x7f c1\u{9b}"), "cr\\x0ddel\\x7f c1\\u{009b}");
    }
}
