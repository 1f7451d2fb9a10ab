//! Applying SEARCH/REPLACE edits to a file's text.
//!
//! Invariant: an edit is applied only where its SEARCH text matches exactly once — first
//! byte-exactly, then (if it matched nowhere) line by line ignoring leading and trailing
//! whitespace. A SEARCH that matches more than once or nowhere is an error for the file, never a
//! guess; overlapping occurrences count as separate matches. CRLF files are matched on their
//! LF form and keep CRLF endings (materialize then brings any result to the base file's
//! line-ending style, see [`crate::codegen::eol`]).

use crate::codegen::reply::SearchReplace;

/// An edit that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The SEARCH text matches in more than one place.
    #[error(
        "SEARCH block {block} matches {count} places (first line `{first_line}`); make it unique by including more lines"
    )]
    Ambiguous {
        /// 1-based block number.
        block: usize,
        /// Number of matches.
        count: usize,
        /// The SEARCH text's first line, for the message.
        first_line: String,
    },
    /// The SEARCH text matches nowhere, even ignoring whitespace.
    #[error("SEARCH block {block} matches nothing (first line `{first_line}`); copy the lines exactly from the file")]
    NotFound {
        /// 1-based block number.
        block: usize,
        /// The SEARCH text's first line.
        first_line: String,
    },
    /// An empty SEARCH on a non-empty file.
    #[error("SEARCH block {block} is empty but the file is not; an empty SEARCH only fills an empty file")]
    EmptySearch {
        /// 1-based block number.
        block: usize,
    },
}

/// Byte offsets where `search` occurs starting at the beginning of a line (a SEARCH block is
/// whole lines: a match in the middle of a line is not a match). Overlapping occurrences all
/// count — `a\na\n` occurs twice in `a\na\na\n` — so a SEARCH that fits two overlapping places
/// is ambiguous, never silently applied at one of them.
fn line_matches(text: &str, search: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = text.get(from..).and_then(|t| t.find(search)) {
        let at = from + k;
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            out.push(at);
        }
        // Only line starts count: resume at the line after the one this occurrence starts on.
        match text[at..].find('\n') {
            Some(nl) => from = at + nl + 1,
            None => break,
        }
    }
    out
}

/// How many times `pat` occurs in `text`, overlapping occurrences included (`str::matches`
/// skips them): the count a "replace the unique occurrence" rule must check. 0 for an empty
/// `pat`.
pub fn occurrences(text: &str, pat: &str) -> usize {
    if pat.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut from = 0;
    while let Some(k) = text.get(from..).and_then(|t| t.find(pat)) {
        n += 1;
        let at = from + k;
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    n
}

fn first_line(s: &str) -> String {
    let l = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    l.chars().take(60).collect()
}

fn leading_ws(s: &str) -> &str {
    &s[..s.len() - s.trim_start().len()]
}

/// Applies `blocks` in order to `content`.
///
/// # Errors
/// The first [`EditError`]; nothing is applied partially (the caller gets no content).
pub fn apply(content: &str, blocks: &[SearchReplace]) -> Result<String, EditError> {
    let crlf = content.contains("\r\n") && !content.replace("\r\n", "").contains('\n');
    let mut text = if crlf { content.replace("\r\n", "\n") } else { content.to_owned() };
    for (k, b) in blocks.iter().enumerate() {
        let block = k + 1;
        text = apply_one(&text, b, block)?;
    }
    Ok(if crlf { text.replace('\n', "\r\n") } else { text })
}

fn apply_one(text: &str, b: &SearchReplace, block: usize) -> Result<String, EditError> {
    if b.search.trim().is_empty() {
        return if text.trim().is_empty() { Ok(b.replace.clone()) } else { Err(EditError::EmptySearch { block }) };
    }
    let count = line_matches(text, &b.search).len();
    if count == 1 {
        let at = line_matches(text, &b.search)[0];
        return Ok(format!("{}{}{}", &text[..at], b.replace, &text[at + b.search.len()..]));
    }
    // A search without its final newline may still match the file's last line.
    if count == 0
        && let Some(s) = b.search.strip_suffix('\n')
        && text.ends_with(s)
        && line_matches(text, s).len() == 1
        && line_matches(text, s)[0] == text.len() - s.len()
    {
        let r = b.replace.strip_suffix('\n').unwrap_or(&b.replace);
        return Ok(format!("{}{}", &text[..text.len() - s.len()], r));
    }
    if count > 1 {
        return Err(EditError::Ambiguous { block, count, first_line: first_line(&b.search) });
    }
    fuzzy(text, b, block)
}

/// Line-by-line match ignoring surrounding whitespace; re-indents the replacement by the
/// indentation the file has beyond the SEARCH's.
fn fuzzy(text: &str, b: &SearchReplace, block: usize) -> Result<String, EditError> {
    let file: Vec<&str> = text.split_inclusive('\n').collect();
    let search: Vec<&str> = b.search.lines().collect();
    // Ignore blank lines at the SEARCH's edges, which models add and drop freely.
    let s0 = search.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let s1 = search.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |x| x + 1);
    let search = &search[s0..s1];
    let n = search.len();
    let matches: Vec<usize> = (0..file.len().saturating_sub(n - 1))
        .filter(|&i| (0..n).all(|k| file[i + k].trim() == search[k].trim()))
        .collect();
    match matches.len() {
        0 => Err(EditError::NotFound { block, first_line: first_line(&b.search) }),
        1 => {
            let at = matches[0];
            let actual = leading_ws(file[at]);
            let expected = leading_ws(search[0]);
            let extra = actual.strip_prefix(expected).unwrap_or("");
            let mut out: String = file[..at].concat();
            for l in b.replace.lines() {
                if !l.trim().is_empty() {
                    out.push_str(extra);
                }
                out.push_str(l);
                out.push('\n');
            }
            let rest = &file[at + n..];
            let last_had_newline = file[at + n - 1].ends_with('\n');
            if !last_had_newline && rest.is_empty() && out.ends_with('\n') {
                out.pop();
            }
            out.push_str(&rest.concat());
            Ok(out)
        }
        count => Err(EditError::Ambiguous { block, count, first_line: first_line(&b.search) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sr(search: &str, replace: &str) -> SearchReplace {
        SearchReplace { declared: None, search: search.into(), replace: replace.into() }
    }

    #[test]
    fn exact_unique_match_replaces() {
        let out = apply("a\nb\nc\n", &[sr("b\n", "B\nB2\n")]).unwrap();
        assert_eq!(out, "a\nB\nB2\nc\n");
    }

    #[test]
    fn ambiguous_match_is_an_error() {
        let err = apply("x = 1\nx = 1\n", &[sr("x = 1\n", "x = 2\n")]).unwrap_err();
        assert!(matches!(err, EditError::Ambiguous { block: 1, count: 2, .. }), "{err}");
    }

    #[test]
    fn overlapping_matches_are_ambiguous() {
        let err = apply("a\na\na\n", &[sr("a\na\n", "b\n")]).unwrap_err();
        assert!(matches!(err, EditError::Ambiguous { block: 1, count: 2, .. }), "{err}");
        let err = apply("x\n}\n}\n}\ny\n", &[sr("}\n}\n", "}\n")]).unwrap_err();
        assert!(matches!(err, EditError::Ambiguous { count: 2, .. }), "{err}");
        // Non-overlapping unique matches still apply.
        assert_eq!(apply("a\na\nb\n", &[sr("a\nb\n", "c\n")]).unwrap(), "a\nc\n");
    }

    #[test]
    fn missing_match_is_an_error() {
        let err = apply("a\n", &[sr("zzz\n", "y\n")]).unwrap_err();
        assert!(matches!(err, EditError::NotFound { block: 1, .. }), "{err}");
    }

    #[test]
    fn whitespace_tolerant_second_pass_reindents() {
        let file = "def f():\n    if x:\n        return 1\n    return 2\n";
        let out = apply(file, &[sr("if x:\n    return 1\n", "if x:\n    return 10\n")]).unwrap();
        assert_eq!(out, "def f():\n    if x:\n        return 10\n    return 2\n");
    }

    #[test]
    fn whitespace_tolerant_ambiguity_is_still_an_error() {
        let file = "  a\n  b\n    a\n    b\n";
        let err = apply(file, &[sr("a\nb\n", "c\n")]).unwrap_err();
        assert!(matches!(err, EditError::Ambiguous { count: 2, .. }), "{err}");
    }

    #[test]
    fn blocks_apply_in_order_and_fail_whole() {
        let out = apply("1\n2\n3\n", &[sr("1\n", "one\n"), sr("3\n", "three\n")]).unwrap();
        assert_eq!(out, "one\n2\nthree\n");
        assert!(apply("1\n2\n", &[sr("1\n", "one\n"), sr("9\n", "x\n")]).is_err());
    }

    #[test]
    fn a_match_in_the_middle_of_a_line_is_not_a_match() {
        let file = "    subtotal = sum(items)\n";
        let err = apply(file, &[sr("total = sum(items)\n", "total = 0\n")]).unwrap_err();
        assert!(matches!(err, EditError::NotFound { .. }), "{err}");
        // …and does not make a real match ambiguous.
        let file = "subtotal = 1\ntotal = 1\n";
        assert_eq!(apply(file, &[sr("total = 1\n", "total = 2\n")]).unwrap(), "subtotal = 1\ntotal = 2\n");
    }

    #[test]
    fn crlf_file_keeps_crlf() {
        let out = apply("a\r\nb\r\n", &[sr("b\n", "c\n")]).unwrap();
        assert_eq!(out, "a\r\nc\r\n");
    }

    #[test]
    fn empty_search_fills_only_an_empty_file() {
        assert_eq!(apply("", &[sr("", "new\n")]).unwrap(), "new\n");
        assert!(matches!(apply("x\n", &[sr("", "new\n")]), Err(EditError::EmptySearch { block: 1 })));
    }

    #[test]
    fn last_line_without_newline() {
        assert_eq!(apply("a\nb", &[sr("b\n", "c\n")]).unwrap(), "a\nc");
    }
}
