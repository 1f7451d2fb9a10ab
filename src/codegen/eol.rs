//! Line-ending style of a `modify` target: generated content follows its base file.
//!
//! Models answer in LF (a fenced reply has no CR), and often end a file with a newline whatever
//! the original did; written as is, a `modify` of a CRLF file would change every line of the
//! diff, and a file without a final newline would gain one. [`conform`] rewrites generated text
//! to the base file's style: its dominant line ending (CRLF when more of its lines end in CRLF
//! than in a lone LF; ties and files without any line ending keep the generated endings) and
//! its final-newline state (present or absent).
//!
//! Invariants: conforming is idempotent; it changes only line terminators (the text of every
//! line is unchanged, a lone `\r` inside a line included); conforming the base to itself
//! changes it only when the base mixes endings (the minority lines take the dominant ending).
//!
//! It runs at the two places generated content for an existing file is produced: materialize
//! (whole-file replies and SEARCH/REPLACE results, [`crate::codegen::materialize`]) and the
//! repair loop's edits ([`crate::repair::edits`]), which conform each candidate to the content
//! it starts from.

/// A line terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    /// `\n`.
    Lf,
    /// `\r\n`.
    Crlf,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::Crlf => "\r\n",
        }
    }
}

/// A text's line-ending style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The dominant terminator; `None` when the text has no line ending or as many CRLF as LF
    /// lines (nothing to follow).
    pub eol: Option<Eol>,
    /// Whether the text ends with a line terminator; `None` for empty text (nothing to
    /// follow).
    pub final_newline: Option<bool>,
}

impl Style {
    /// The style of `text` (see the module docs).
    pub fn of(text: &str) -> Self {
        let crlf = text.matches("\r\n").count();
        let lf = text.matches('\n').count() - crlf;
        let eol = match crlf.cmp(&lf) {
            std::cmp::Ordering::Greater => Some(Eol::Crlf),
            std::cmp::Ordering::Less => Some(Eol::Lf),
            std::cmp::Ordering::Equal => None,
        };
        let final_newline = (!text.is_empty()).then(|| text.ends_with('\n'));
        Self { eol, final_newline }
    }

    /// `text` rewritten to this style: every terminator becomes the dominant one (when there
    /// is one), and a final terminator is added or removed to match (when the style says).
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 32);
        let mut lines = text.split_inclusive('\n').peekable();
        while let Some(line) = lines.next() {
            let (body, term) = split_terminator(line);
            out.push_str(body);
            let last = lines.peek().is_none();
            match term {
                Some(_) if last && self.final_newline == Some(false) => {}
                Some(t) => out.push_str(self.eol.map_or(t, |e| e.as_str())),
                None if last && self.final_newline == Some(true) && !body.is_empty() => {
                    out.push_str(self.eol.map_or("\n", |e| e.as_str()));
                }
                None => {}
            }
        }
        out
    }
}

/// A line (as `split_inclusive('\n')` yields it) and its terminator.
fn split_terminator(line: &str) -> (&str, Option<&str>) {
    if let Some(b) = line.strip_suffix("\r\n") {
        (b, Some("\r\n"))
    } else if let Some(b) = line.strip_suffix('\n') {
        (b, Some("\n"))
    } else {
        (line, None)
    }
}

/// `generated` rewritten to the line-ending style of `base` (see the module docs).
pub fn conform(base: &str, generated: &str) -> String {
    Style::of(base).apply(generated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_crlf_and_the_final_newline_state() {
        assert_eq!(conform("a\r\nb\r\n", "a\nc\n"), "a\r\nc\r\n");
        assert_eq!(conform("a\r\nb", "a\nc\n"), "a\r\nc");
        assert_eq!(conform("a\nb", "a\nc\n"), "a\nc");
        assert_eq!(conform("a\nb\n", "a\r\nc"), "a\nc\n");
        // Mixed: the dominant ending wins.
        assert_eq!(conform("a\r\nb\r\nc\n", "x\ny\nz\n"), "x\r\ny\r\nz\r\n");
        assert_eq!(conform("a\nb\nc\r\n", "x\r\ny\r\n"), "x\ny\n");
    }

    #[test]
    fn nothing_to_follow_keeps_the_generated_text() {
        assert_eq!(conform("", "a\r\nb\n"), "a\r\nb\n");
        assert_eq!(conform("one line", "a\nb\n"), "a\nb");
        assert_eq!(conform("a\r\nb\n", "x\r\ny\n"), "x\r\ny\n");
        assert_eq!(conform("a\n", ""), "");
    }

    #[test]
    fn a_lone_cr_inside_a_line_is_text() {
        assert_eq!(conform("a\r\n", "x\ry\n"), "x\ry\r\n");
    }
}
