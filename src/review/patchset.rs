//! The hunk model: code/diff.patch parsed back into files and hunks with stable ids.
//!
//! The parser reads the git-style unified diffs [`crate::codegen::diff`] writes (git-diff(1),
//! "generating patches with -p"): `diff --git` headers (C-quoted paths included), `new file
//! mode` / `deleted file mode` / `old mode` + `new mode`, `index <old>..<new>[ <mode>]` with full
//! blob ids, `---` / `+++`, `@@ -a,b +c,d @@` hunks and `\ No newline at end of file`. Renames,
//! copies and binary patches are refused: our writer never produces them.
//!
//! Invariants:
//! - every line's text is kept as raw bytes including its terminator, so CRLF endings, non-UTF-8
//!   text and a missing final newline survive a parse → apply round trip byte for byte;
//! - a hunk id is `sha256(path NUL kind NUL body)` in hex, cut to [`ID_LEN`] digits, where body
//!   is the hunk's lines exactly as diff.patch spells them *without* the `@@` header, so an id
//!   depends on what the hunk changes and its context, never on its position: a re-diff that
//!   only moves a hunk keeps its id. The n-th repeat (n ≥ 1) of an identical hunk in one file
//!   also hashes `#n`, so ids are unique within a patch;
//! - changes a text hunk cannot carry are pseudo-hunks with no lines, so they can be reviewed
//!   and accepted like any other: a mode change of a modified file ([`HunkKind::Mode`], listed
//!   first, as `git add -p` asks about it first) and the creation or deletion of an empty file
//!   ([`HunkKind::Empty`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::task::relpath::RelPath;

/// Hex digits of a hunk id.
pub const ID_LEN: usize = 12;

/// The all-zero blob id git writes for a missing side.
const NULL_BLOB: &str = "0000000000000000000000000000000000000000";

/// What a file's patch does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    /// The file does not exist in the base and is created.
    Create,
    /// The file exists in both.
    Modify,
    /// The file exists in the base and is deleted.
    Delete,
}

/// What kind of change a hunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HunkKind {
    /// An `@@` hunk of lines.
    Text,
    /// A mode change (`old mode` → `new mode`) of a modified file; no lines.
    Mode,
    /// Creating or deleting an empty file; no lines.
    Empty,
}

/// A hunk line's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Unchanged (` `), on both sides.
    Context,
    /// Removed (`-`), old side only.
    Remove,
    /// Added (`+`), new side only.
    Add,
}

/// One hunk line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its role.
    pub kind: LineKind,
    /// Raw bytes including the terminator (`\n` or `\r\n`); no terminator for a last line that
    /// lacks one.
    pub text: Vec<u8>,
}

/// One hunk of a file's patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// Stable id (see the module invariants).
    pub id: String,
    /// Text or pseudo-hunk.
    pub kind: HunkKind,
    /// The `@@ -a,b +c,d @@` line, or a description of a pseudo-hunk (`mode 100644 → 100755`,
    /// `new empty file`, `deleted empty file`).
    pub header: String,
    /// Old side start as the header writes it (1-based; the line before for an empty range).
    pub old_start: usize,
    /// Old side line count.
    pub old_lines: usize,
    /// New side start as the header writes it.
    pub new_start: usize,
    /// New side line count.
    pub new_lines: usize,
    /// The lines (empty for pseudo-hunks).
    pub lines: Vec<Line>,
}

impl Hunk {
    /// 0-based index of the first old-side line the hunk covers.
    pub fn base_start(&self) -> usize {
        if self.old_lines == 0 { self.old_start } else { self.old_start.saturating_sub(1) }
    }

    /// The old side: context and removed lines, in order.
    pub fn preimage(&self) -> impl Iterator<Item = &[u8]> {
        self.lines.iter().filter(|l| l.kind != LineKind::Add).map(|l| l.text.as_slice())
    }

    /// The new side: context and added lines, in order.
    pub fn postimage(&self) -> impl Iterator<Item = &[u8]> {
        self.lines.iter().filter(|l| l.kind != LineKind::Remove).map(|l| l.text.as_slice())
    }

    /// Added lines.
    pub fn additions(&self) -> usize {
        self.lines.iter().filter(|l| l.kind == LineKind::Add).count()
    }

    /// Removed lines.
    pub fn deletions(&self) -> usize {
        self.lines.iter().filter(|l| l.kind == LineKind::Remove).count()
    }
}

/// One file's patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// Repo-relative path.
    pub path: RelPath,
    /// Create, modify or delete.
    pub action: FileAction,
    /// Permission bits of the base file (`0o644` / `0o755`), `None` when it does not exist.
    pub old_mode: Option<u32>,
    /// Permission bits of the new file, `None` for a deletion.
    pub new_mode: Option<u32>,
    /// Full git blob id of the base (the diff's `index` line), `None` when the base does not
    /// exist or the patch has no `index` line (a pure mode change).
    pub old_blob: Option<String>,
    /// Full git blob id of the new side, `None` for a deletion or without an `index` line.
    pub new_blob: Option<String>,
    /// Hunks: a mode pseudo-hunk first, then text hunks in file order.
    pub hunks: Vec<Hunk>,
    /// The byte range of this file's section (from `diff --git` up to the next) in the parsed
    /// patch.
    pub span: std::ops::Range<usize>,
}

/// A parsed diff.patch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchSet {
    /// Files in patch order (sorted by path, as the writer emits them).
    pub files: Vec<FilePatch>,
}

impl PatchSet {
    /// Finds the file and hunk with id `id`.
    pub fn hunk(&self, id: &str) -> Option<(&FilePatch, &Hunk)> {
        self.files.iter().find_map(|f| f.hunks.iter().find(|h| h.id == id).map(|h| (f, h)))
    }

    /// Every hunk id, in patch order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.files.iter().flat_map(|f| f.hunks.iter().map(|h| h.id.as_str()))
    }

    /// The file patch for `path`.
    pub fn file(&self, path: &str) -> Option<&FilePatch> {
        self.files.iter().find(|f| f.path.as_str() == path)
    }
}

/// diff.patch cannot be read as the patch our writer produces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("code/diff.patch line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError { line: line + 1, message: message.into() }
}

/// Parses diff.patch bytes (see the module docs for the accepted format).
///
/// # Errors
/// [`ParseError`] naming the first line that does not fit.
pub fn parse(patch: &[u8]) -> Result<PatchSet, ParseError> {
    let mut lines: Vec<&[u8]> = patch.split(|&c| c == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    // Byte offset of each line's start, and of the end.
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut at = 0;
    for l in &lines {
        starts.push(at);
        at += l.len() + 1;
    }
    starts.push(patch.len());
    let mut files = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (mut file, next) = parse_file(&lines, i)?;
        file.span = starts[i]..starts[next].min(patch.len());
        files.push(file);
        i = next;
    }
    Ok(PatchSet { files })
}

fn parse_mode(s: &[u8], at: usize) -> Result<u32, ParseError> {
    let text = std::str::from_utf8(s).map_err(|_| err(at, "mode is not ASCII"))?;
    u32::from_str_radix(text.trim(), 8).map(|m| m & 0o777).map_err(|_| err(at, format!("bad mode `{text}`")))
}

fn blob_of(s: &str) -> Option<String> {
    (s != NULL_BLOB).then(|| s.to_owned())
}

/// Parses one file starting at the `diff --git` line `start`; returns it and the next index.
fn parse_file(lines: &[&[u8]], start: usize) -> Result<(FilePatch, usize), ParseError> {
    let head = lines[start].strip_prefix(b"diff --git ").ok_or_else(|| err(start, "expected a `diff --git` header"))?;
    let mut path = header_path(head).ok_or_else(|| err(start, "cannot read the path of the `diff --git` header"))?;
    let (mut action, mut old_mode, mut new_mode) = (FileAction::Modify, None, None);
    let (mut old_blob, mut new_blob) = (None, None);
    let mut i = start + 1;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with(b"diff --git ") || l.starts_with(b"--- ") || l.starts_with(b"@@") {
            break;
        }
        if let Some(m) = l.strip_prefix(b"new file mode ") {
            action = FileAction::Create;
            new_mode = Some(parse_mode(m, i)?);
        } else if let Some(m) = l.strip_prefix(b"deleted file mode ") {
            action = FileAction::Delete;
            old_mode = Some(parse_mode(m, i)?);
        } else if let Some(m) = l.strip_prefix(b"old mode ") {
            old_mode = Some(parse_mode(m, i)?);
        } else if let Some(m) = l.strip_prefix(b"new mode ") {
            new_mode = Some(parse_mode(m, i)?);
        } else if let Some(rest) = l.strip_prefix(b"index ") {
            let mut parts = rest.split(|&c| c == b' ');
            let ids = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let (o, n) = ids.split_once("..").ok_or_else(|| err(i, "bad `index` line"))?;
            (old_blob, new_blob) = (blob_of(o), blob_of(n));
            if let Some(m) = parts.next() {
                let m = parse_mode(m, i)?;
                old_mode.get_or_insert(m);
                new_mode.get_or_insert(m);
            }
        } else if [&b"rename "[..], b"copy ", b"similarity ", b"dissimilarity ", b"Binary files", b"GIT binary patch"]
            .iter()
            .any(|p| l.starts_with(p))
        {
            return Err(err(i, "renames, copies and binary patches are not supported; re-diff"));
        }
        i += 1;
    }
    if i < lines.len() && lines[i].starts_with(b"--- ") {
        let plus =
            lines.get(i + 1).and_then(|l| l.strip_prefix(b"+++ ")).ok_or_else(|| err(i + 1, "expected `+++`"))?;
        let minus = &lines[i][4..];
        let named = if plus == b"/dev/null" { minus } else { plus };
        let p = if named.starts_with(b"\"") { unquote(named) } else { Some(named.to_vec()) };
        if let Some(p) = p.and_then(|p| strip_side(&p)) {
            path = p;
        }
        i += 2;
    }
    let path = String::from_utf8(path)
        .ok()
        .and_then(|p| RelPath::new(&p).ok())
        .ok_or_else(|| err(start, "the path is not a valid repo-relative path"))?;
    let mut hunks = Vec::new();
    if action == FileAction::Modify
        && let (Some(o), Some(n)) = (old_mode, new_mode)
        && (o & 0o111 != 0) != (n & 0o111 != 0)
    {
        let header = format!("mode {} → {}", crate::codegen::diff::git_mode(o), crate::codegen::diff::git_mode(n));
        hunks.push(pseudo(&path, HunkKind::Mode, header));
    }
    let mut texts = 0;
    while i < lines.len() && lines[i].starts_with(b"@@") {
        let (h, next) = parse_hunk(lines, i, &path)?;
        hunks.push(h);
        texts += 1;
        i = next;
    }
    if texts == 0 && action != FileAction::Modify {
        let header = if action == FileAction::Create { "new empty file" } else { "deleted empty file" };
        hunks.push(pseudo(&path, HunkKind::Empty, header.to_owned()));
    }
    if i < lines.len() && !lines[i].starts_with(b"diff --git ") {
        return Err(err(i, "unexpected line between files"));
    }
    dedupe_ids(&path, &mut hunks);
    Ok((FilePatch { path, action, old_mode, new_mode, old_blob, new_blob, hunks, span: 0..0 }, i))
}

fn pseudo(path: &RelPath, kind: HunkKind, header: String) -> Hunk {
    Hunk {
        id: hunk_id(path, kind, header.as_bytes(), 0),
        kind,
        header,
        old_start: 0,
        old_lines: 0,
        new_start: 0,
        new_lines: 0,
        lines: Vec::new(),
    }
}

/// The stable id of a hunk (see the module invariants).
pub fn hunk_id(path: &RelPath, kind: HunkKind, body: &[u8], repeat: usize) -> String {
    let mut h = Sha256::new();
    h.update(path.as_str().as_bytes());
    h.update([0]);
    h.update(match kind {
        HunkKind::Text => b"text".as_slice(),
        HunkKind::Mode => b"mode",
        HunkKind::Empty => b"empty",
    });
    h.update([0]);
    h.update(body);
    if repeat > 0 {
        h.update(format!("#{repeat}").as_bytes());
    }
    let mut s = hex::encode(h.finalize());
    s.truncate(ID_LEN);
    s
}

fn dedupe_ids(path: &RelPath, hunks: &mut [Hunk]) {
    for i in 1..hunks.len() {
        let repeats = hunks[..i].iter().filter(|h| h.id == hunks[i].id).count();
        if repeats > 0 {
            let body = body_bytes(&hunks[i]);
            hunks[i].id = hunk_id(path, hunks[i].kind, &body, repeats);
        }
    }
}

/// A hunk's body as diff.patch spells it (without the `@@` line); a pseudo-hunk's header.
fn body_bytes(h: &Hunk) -> Vec<u8> {
    if h.kind != HunkKind::Text {
        return h.header.as_bytes().to_vec();
    }
    let mut out = Vec::new();
    for l in &h.lines {
        crate::codegen::diff::push_line(
            &mut out,
            match l.kind {
                LineKind::Context => b' ',
                LineKind::Remove => b'-',
                LineKind::Add => b'+',
            },
            &l.text,
        );
    }
    out
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

fn parse_hunk(lines: &[&[u8]], at: usize, path: &RelPath) -> Result<(Hunk, usize), ParseError> {
    let header = String::from_utf8_lossy(lines[at]).into_owned();
    let bad = || err(at, format!("bad hunk header `{header}`"));
    let inner = header.strip_prefix("@@ -").and_then(|r| r.split_once(" @@").map(|(a, _)| a)).ok_or_else(bad)?;
    let (o, n) = inner.split_once(" +").ok_or_else(bad)?;
    let ((old_start, old_lines), (new_start, new_lines)) =
        (parse_range(o).ok_or_else(bad)?, parse_range(n).ok_or_else(bad)?);
    let (mut left_old, mut left_new) = (old_lines, new_lines);
    let mut out: Vec<Line> = Vec::new();
    let mut i = at + 1;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with(b"\\") {
            match out.last_mut() {
                Some(last) if last.text.ends_with(b"\n") => {
                    last.text.pop();
                }
                _ => return Err(err(i, "`\\ No newline` without a line before it")),
            }
            i += 1;
            continue;
        }
        if left_old == 0 && left_new == 0 {
            break;
        }
        let (kind, rest) = match l.first() {
            Some(b' ') => (LineKind::Context, &l[1..]),
            // Some tools strip the space of an empty context line.
            None => (LineKind::Context, l),
            Some(b'-') => (LineKind::Remove, &l[1..]),
            Some(b'+') => (LineKind::Add, &l[1..]),
            _ => return Err(err(i, "expected a hunk line (` `, `-`, `+` or `\\`)")),
        };
        let (uses_old, uses_new) = (kind != LineKind::Add, kind != LineKind::Remove);
        if (uses_old && left_old == 0) || (uses_new && left_new == 0) {
            return Err(err(i, "the hunk has more lines than its header counts"));
        }
        left_old -= usize::from(uses_old);
        left_new -= usize::from(uses_new);
        let mut text = rest.to_vec();
        text.push(b'\n');
        out.push(Line { kind, text });
        i += 1;
    }
    if left_old != 0 || left_new != 0 {
        return Err(err(i.min(lines.len().saturating_sub(1)), "the hunk ends before its header's line counts"));
    }
    let mut h = Hunk {
        id: String::new(),
        kind: HunkKind::Text,
        header: format!("@@ -{o} +{n} @@"),
        old_start,
        old_lines,
        new_start,
        new_lines,
        lines: out,
    };
    h.id = hunk_id(path, HunkKind::Text, &body_bytes(&h), 0);
    Ok((h, i))
}

/// Strips the `a/` or `b/` side prefix.
fn strip_side(p: &[u8]) -> Option<Vec<u8>> {
    p.strip_prefix(b"a/").or_else(|| p.strip_prefix(b"b/")).map(<[u8]>::to_vec)
}

/// The path of a `diff --git a/P b/P` header (both sides name the same path in our patches).
fn header_path(head: &[u8]) -> Option<Vec<u8>> {
    if head.starts_with(b"\"") {
        let end = closing_quote(head)?;
        return strip_side(&unquote(&head[..=end])?);
    }
    // `a/P b/P`: P is the first half of what is left after the prefixes.
    let n = head.len().checked_sub(5)?;
    if n % 2 != 0 {
        return None;
    }
    let p = &head[2..2 + n / 2];
    (head.starts_with(b"a/") && &head[2 + n / 2..2 + n / 2 + 3] == b" b/" && &head[2 + n / 2 + 3..] == p)
        .then(|| p.to_vec())
}

fn closing_quote(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Undoes git's C-quoting of a path (`"a/\303\251.txt"` → `a/é.txt`).
pub fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let inner = s.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let c = *inner.get(i + 1)?;
        i += 2;
        out.push(match c {
            b'a' => 0x07,
            b'b' => 0x08,
            b't' => b'\t',
            b'n' => b'\n',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'r' => b'\r',
            b'"' | b'\\' => c,
            b'0'..=b'7' => {
                let digits = inner.get(i - 1..i + 2)?;
                i += 2;
                u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok()?
            }
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::diff::{Backend, FileInput, unified_diff};

    fn patch_of(path: &str, old: Option<&str>, new: Option<&str>, modes: (u32, u32)) -> Vec<u8> {
        let p = RelPath::new(path).unwrap();
        let mut files = [FileInput {
            path: &p,
            old: old.map(str::as_bytes),
            new: new.map(str::as_bytes),
            old_mode: modes.0,
            new_mode: modes.1,
        }];
        unified_diff(&mut files, Backend::Imara).unwrap().0
    }

    fn numbered(n: usize, changed: &[usize]) -> String {
        (1..=n).map(|i| if changed.contains(&i) { format!("changed {i}\n") } else { format!("{i}\n") }).collect()
    }

    #[test]
    fn parses_what_the_writer_writes() {
        let old = numbered(40, &[]);
        let new = numbered(40, &[5, 30]);
        let patch = patch_of("src/a.py", Some(&old), Some(&new), (0o644, 0o644));
        let set = parse(&patch).unwrap();
        let f = &set.files[0];
        assert_eq!((f.path.as_str(), f.action), ("src/a.py", FileAction::Modify));
        assert_eq!((f.old_mode, f.new_mode), (Some(0o644), Some(0o644)));
        assert_eq!(f.old_blob.as_deref(), Some(crate::codegen::diff::git_blob_id(old.as_bytes()).as_str()));
        assert_eq!(f.hunks.len(), 2);
        assert_eq!(f.span, 0..patch.len());
        assert_eq!(f.hunks[0].header, "@@ -2,7 +2,7 @@");
        assert_eq!((f.hunks[0].additions(), f.hunks[0].deletions()), (1, 1));
        assert_eq!(f.hunks[0].id.len(), ID_LEN);
        assert_ne!(f.hunks[0].id, f.hunks[1].id);
    }

    #[test]
    fn ids_survive_a_shift_but_not_a_content_change() {
        let old = numbered(40, &[]);
        let new = numbered(40, &[30]);
        let a = parse(&patch_of("a.txt", Some(&old), Some(&new), (0o644, 0o644))).unwrap();
        // The same change with ten lines inserted far above it: the hunk moves, its id stays.
        let shift = |s: &str| format!("{}{}", "x\n".repeat(10), s);
        let b = parse(&patch_of("a.txt", Some(&shift(&old)), Some(&shift(&new)), (0o644, 0o644))).unwrap();
        assert_ne!(a.files[0].hunks[0].header, b.files[0].hunks[0].header);
        assert_eq!(a.files[0].hunks[0].id, b.files[0].hunks[0].id);
        let c = parse(&patch_of("other.txt", Some(&old), Some(&new), (0o644, 0o644))).unwrap();
        assert_ne!(a.files[0].hunks[0].id, c.files[0].hunks[0].id, "the path is part of the id");
    }

    #[test]
    fn identical_hunks_get_distinct_ids() {
        let old = "a\n".repeat(30);
        let new: String = (0..30).map(|i| if i == 5 || i == 20 { "b\n" } else { "a\n" }).collect();
        let set = parse(&patch_of("r.txt", Some(&old), Some(&new), (0o644, 0o644))).unwrap();
        let h = &set.files[0].hunks;
        assert_eq!(h.len(), 2);
        assert_ne!(h[0].id, h[1].id);
    }

    #[test]
    fn pseudo_hunks_for_modes_and_empty_files() {
        let mode_only = parse(&patch_of("run.sh", Some("x\n"), Some("x\n"), (0o644, 0o755))).unwrap();
        let h = &mode_only.files[0].hunks;
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].kind, h[0].header.as_str()), (HunkKind::Mode, "mode 100644 → 100755"));
        let both = parse(&patch_of("run.sh", Some("x\n"), Some("y\n"), (0o644, 0o755))).unwrap();
        let kinds: Vec<HunkKind> = both.files[0].hunks.iter().map(|h| h.kind).collect();
        assert_eq!(kinds, vec![HunkKind::Mode, HunkKind::Text]);
        let empty = parse(&patch_of("e.txt", None, Some(""), (0o644, 0o644))).unwrap();
        assert_eq!(empty.files[0].action, FileAction::Create);
        assert_eq!(empty.files[0].hunks[0].kind, HunkKind::Empty);
        let gone = parse(&patch_of("e.txt", Some(""), None, (0o644, 0o644))).unwrap();
        assert_eq!(
            (gone.files[0].action, gone.files[0].hunks[0].header.as_str()),
            (FileAction::Delete, "deleted empty file")
        );
    }

    #[test]
    fn keeps_crlf_and_missing_newline_bytes() {
        let set = parse(&patch_of("w.txt", Some("a\r\nb"), Some("a\r\nc"), (0o644, 0o644))).unwrap();
        let lines: Vec<&[u8]> = set.files[0].hunks[0].lines.iter().map(|l| l.text.as_slice()).collect();
        assert_eq!(lines, vec![&b"a\r\n"[..], b"b", b"c"]);
    }

    #[test]
    fn quoted_and_spaced_paths() {
        let set = parse(&patch_of("dir/é x.txt", None, Some("1\n"), (0o644, 0o644))).unwrap();
        assert_eq!(set.files[0].path.as_str(), "dir/é x.txt");
        let set = parse(&patch_of("a b.txt", None, Some(""), (0o644, 0o644))).unwrap();
        assert_eq!(set.files[0].path.as_str(), "a b.txt");
        assert_eq!(unquote(b"\"a\\tb\\\\c\"").unwrap(), b"a\tb\\c");
    }

    #[test]
    fn rejects_foreign_shapes() {
        assert!(parse(b"garbage\n").is_err());
        let renamed = b"diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to y\n";
        assert!(parse(renamed).is_err());
        let short = b"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n";
        assert!(parse(short).is_err());
    }
}
