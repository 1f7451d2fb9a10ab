//! Parsing model replies. Model output is untrusted input: nothing here touches the disk, and a
//! reply can only ever yield content for paths the caller then checks against the plan.
//!
//! Two formats, both parsed leniently:
//! - **whole file**: a fenced code block (CommonMark: 3+ backticks or tildes, any info string, a
//!   closing fence of the same character at least as long as the opening one, or the end of the
//!   reply), or the bare reply when it has no fence;
//! - **SEARCH/REPLACE** blocks (`<<<<<<< SEARCH` / `=======` / `>>>>>>> REPLACE`), each
//!   optionally preceded by a line naming its file.
//!
//! A block may declare its file: in the fence's info string (```` ```python pkg/a.py ````,
//! `path=…`, `file=…`, `title="…"`) or on the line just before it (`pkg/a.py`, `# pkg/a.py`,
//! `**pkg/a.py**`, `` `pkg/a.py` ``, `File: pkg/a.py`, `Target file: pkg/a.py`).

use crate::task::relpath::RelPath;

/// A fenced code block found in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedBlock {
    /// The info string after the opening fence, trimmed.
    pub info: String,
    /// The block's content: its lines, each ending in `\n`.
    pub content: String,
    /// The file the block declares, if any.
    pub declared: Option<String>,
    /// Whether a closing fence was found (false: the block ran to the end of the reply).
    pub closed: bool,
}

/// One SEARCH/REPLACE edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReplace {
    /// The file the block declares, if any.
    pub declared: Option<String>,
    /// Text to find (lines ending in `\n`; empty for "insert into an empty file").
    pub search: String,
    /// Text to put in its place.
    pub replace: String,
}

/// A reply that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Nothing but whitespace.
    #[error("the model's reply is empty")]
    Empty,
    /// A SEARCH block with no `=======` or no `>>>>>>> REPLACE`.
    #[error("SEARCH/REPLACE block {0} is not terminated (expected `=======` then `>>>>>>> REPLACE`)")]
    Unterminated(usize),
}

fn fence_open(line: &str) -> Option<(usize, char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.len() - rest.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((indent, ch, len, info))
}

fn fence_close(line: &str, ch: char, min_len: usize) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return false;
    }
    let rest = &line[indent..];
    let len = rest.len() - rest.trim_start_matches(ch).len();
    len >= min_len && rest[len..].trim().is_empty()
}

/// Splits `text` into lines without their `\n` (and without a `\r` before it).
fn lines(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if text.ends_with('\n') {
        v.pop();
    }
    v
}

/// Whether `s` looks like a repo-relative file path (a valid [`RelPath`] with no spaces whose
/// last segment has an extension or whose text has a `/`).
fn looks_like_path(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && RelPath::new(s).is_ok()
        && (s.contains('/') || RelPath::new(s).ok().and_then(|p| p.extension().map(str::len)).is_some_and(|n| n <= 10))
        && !s.ends_with(':')
}

/// The path a line that stands alone before a block declares, if it declares one.
pub fn declared_path_line(line: &str) -> Option<String> {
    let mut s = line.trim();
    for prefix in ["Target file:", "target file:", "File:", "file:", "Filename:", "filename:", "Path:", "path:"] {
        if let Some(r) = s.strip_prefix(prefix) {
            s = r.trim();
            break;
        }
    }
    s = s.trim_start_matches('#').trim();
    s = s.trim_matches('*').trim_matches('`').trim();
    s = s.strip_suffix(':').unwrap_or(s).trim_matches('`');
    looks_like_path(s).then(|| s.to_owned())
}

fn declared_in_info(info: &str) -> Option<String> {
    for tok in info.split_whitespace() {
        let tok = tok.trim_matches(|c| c == '{' || c == '}');
        for key in ["path=", "file=", "filename=", "title="] {
            if let Some(v) = tok.strip_prefix(key) {
                let v = v.trim_matches('"').trim_matches('\'');
                if looks_like_path(v) {
                    return Some(v.to_owned());
                }
            }
        }
        // ```python:pkg/a.py
        if let Some((_, v)) = tok.split_once(':')
            && looks_like_path(v)
        {
            return Some(v.to_owned());
        }
        if looks_like_path(tok) && tok.contains('.') {
            return Some(tok.to_owned());
        }
    }
    None
}

/// Every fenced block in `reply`, in order.
pub fn fenced_blocks(reply: &str) -> Vec<FencedBlock> {
    let ls = lines(reply);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let Some((indent, ch, len, info)) = fence_open(ls[i]) else {
            i += 1;
            continue;
        };
        let declared = declared_in_info(info).or_else(|| {
            ls[..i].iter().rev().take(2).find(|l| !l.trim().is_empty()).and_then(|l| declared_path_line(l))
        });
        let mut content = String::new();
        let mut j = i + 1;
        let mut closed = false;
        while j < ls.len() {
            if fence_close(ls[j], ch, len) {
                closed = true;
                break;
            }
            let l = ls[j];
            let strip = (l.len() - l.trim_start_matches(' ').len()).min(indent);
            content.push_str(&l[strip..]);
            content.push('\n');
            j += 1;
        }
        out.push(FencedBlock { info: info.to_owned(), content, declared, closed });
        i = j + 1;
    }
    out
}

/// The bare reply as file content: surrounding blank lines dropped, one final `\n`.
///
/// # Errors
/// [`ReplyError::Empty`] for an all-whitespace reply.
pub fn bare_content(reply: &str) -> Result<String, ReplyError> {
    let ls = lines(reply);
    let start = ls.iter().position(|l| !l.trim().is_empty()).ok_or(ReplyError::Empty)?;
    let end = ls.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(start);
    let mut s = ls[start..=end].join("\n");
    s.push('\n');
    Ok(s)
}

fn marker(line: &str, ch: char, word: &str) -> bool {
    let t = line.trim_end();
    let n = t.len() - t.trim_start_matches(ch).len();
    (5..=9).contains(&n) && t[n..].trim() == word
}

/// Every SEARCH/REPLACE block in `reply`, in order (fences around them are ignored).
///
/// # Errors
/// [`ReplyError::Unterminated`] naming the 1-based block number.
pub fn search_replace_blocks(reply: &str) -> Result<Vec<SearchReplace>, ReplyError> {
    let ls = lines(reply);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        if !marker(ls[i], '<', "SEARCH") {
            i += 1;
            continue;
        }
        let n = out.len() + 1;
        let mut declared = None;
        for l in ls[..i].iter().rev().filter(|l| !l.trim().is_empty()).take(2) {
            if let Some((_, _, _, info)) = fence_open(l) {
                declared = declared_in_info(info);
                if declared.is_some() {
                    break;
                }
                continue;
            }
            declared = declared_path_line(l);
            break;
        }
        let mut search = String::new();
        let mut j = i + 1;
        while j < ls.len() && !marker(ls[j], '=', "") {
            search.push_str(ls[j]);
            search.push('\n');
            j += 1;
        }
        if j >= ls.len() {
            return Err(ReplyError::Unterminated(n));
        }
        let mut replace = String::new();
        j += 1;
        while j < ls.len() && !marker(ls[j], '>', "REPLACE") {
            replace.push_str(ls[j]);
            replace.push('\n');
            j += 1;
        }
        if j >= ls.len() {
            return Err(ReplyError::Unterminated(n));
        }
        out.push(SearchReplace { declared, search, replace });
        i = j + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_backtick_fence_with_info() {
        let r = "Here you go:\n\n```python\nprint(1)\n```\nDone.";
        let b = fenced_blocks(r);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].content, "print(1)\n");
        assert_eq!(b[0].info, "python");
        assert!(b[0].closed);
    }

    #[test]
    fn longer_fence_keeps_inner_triple_backticks() {
        let r = "````markdown\n# Doc\n```sh\nls\n```\n````\n";
        let b = fenced_blocks(r);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].content, "# Doc\n```sh\nls\n```\n");
    }

    #[test]
    fn closing_fence_may_be_longer_but_not_shorter_or_other_char() {
        let r = "```\na\n~~~\n``\n`````\nafter\n";
        let b = fenced_blocks(r);
        assert_eq!(b[0].content, "a\n~~~\n``\n");
        let t = fenced_blocks("~~~~\nx = 1\n~~~~\n");
        assert_eq!(t[0].content, "x = 1\n");
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        let b = fenced_blocks("```py\nx = 1\ny = 2");
        assert_eq!(b[0].content, "x = 1\ny = 2\n");
        assert!(!b[0].closed);
    }

    #[test]
    fn indented_fence_strips_its_indent_from_content() {
        let b = fenced_blocks("  ```\n  a\n    b\n c\n  ```\n");
        assert_eq!(b[0].content, "a\n  b\nc\n");
    }

    #[test]
    fn crlf_replies_parse() {
        let b = fenced_blocks("```\r\na\r\n```\r\n");
        assert_eq!(b[0].content, "a\n");
    }

    #[test]
    fn declared_paths_from_info_and_preceding_line() {
        let b =
            fenced_blocks("```python pkg/a.py\nx\n```\n**pkg/b.py**\n```python\ny\n```\nFile: `c.ts`\n```ts\nz\n```\n");
        let d: Vec<_> = b.iter().map(|b| b.declared.as_deref()).collect();
        assert_eq!(d, vec![Some("pkg/a.py"), Some("pkg/b.py"), Some("c.ts")]);
        let b = fenced_blocks("Here is the code:\n```python\nx\n```\n");
        assert_eq!(b[0].declared, None);
        let b = fenced_blocks("```python title=\"x/y.py\"\nx\n```\n");
        assert_eq!(b[0].declared.as_deref(), Some("x/y.py"));
    }

    #[test]
    fn bare_reply_is_trimmed_to_one_final_newline() {
        assert_eq!(bare_content("\n\nx = 1\n\ny = 2\n\n\n").unwrap(), "x = 1\n\ny = 2\n");
        assert_eq!(bare_content(" \n\t\n"), Err(ReplyError::Empty));
    }

    #[test]
    fn search_replace_blocks_with_paths() {
        let r = "pkg/a.py\n```python\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n\n<<<<<<< SEARCH\n=======\nadded\n>>>>>>> REPLACE\n";
        let b = search_replace_blocks(r).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].declared.as_deref(), Some("pkg/a.py"));
        assert_eq!((b[0].search.as_str(), b[0].replace.as_str()), ("old\n", "new\n"));
        assert_eq!(b[1].search, "");
        assert_eq!(b[1].replace, "added\n");
    }

    #[test]
    fn unterminated_search_replace_is_an_error() {
        assert_eq!(search_replace_blocks("<<<<<<< SEARCH\nx\n"), Err(ReplyError::Unterminated(1)));
        assert_eq!(search_replace_blocks("<<<<<<< SEARCH\nx\n=======\ny\n"), Err(ReplyError::Unterminated(1)));
    }
}
