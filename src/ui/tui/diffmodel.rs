//! The diff pane's model of one file: display rows built once from the file's hunks, with
//! old/new line numbers, hunk review states, and word-level (intraline) emphasis computed
//! lazily for the rows on screen.
//!
//! Invariant: building rows is linear in the diff's size and done once per diff version;
//! per-frame work touches only visible rows.

use std::collections::HashMap;
use std::ops::Range;

use crate::review::patchset::LineKind;
use crate::review::view::{HunkState, HunkView};

/// Pairs the i-th removed row with the i-th added row of a change block, for emphasis.
fn pair_up(rows: &mut [Row], removes: &mut Vec<usize>, adds: &mut Vec<usize>) {
    for (r, a) in removes.iter().zip(adds.iter()) {
        rows[*r].pair = Some(*a);
        rows[*a].pair = Some(*r);
    }
    removes.clear();
    adds.clear();
}

/// What a row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A hunk header.
    Header,
    /// An unchanged line.
    Context,
    /// An added line.
    Add,
    /// A removed line.
    Remove,
    /// `\ No newline at end of file`.
    NoNewline,
}

/// One display row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Kind.
    pub kind: RowKind,
    /// Hunk index.
    pub hunk: usize,
    /// Line number in the old file.
    pub old_no: Option<u32>,
    /// Line number in the new file.
    pub new_no: Option<u32>,
    /// Text without the sign.
    pub text: String,
    /// For context/add rows: index among the hunk's new-side lines; for remove rows: among
    /// its old-side lines.
    pub side_idx: usize,
    /// The row this one is paired with for intraline emphasis.
    pub pair: Option<usize>,
}

/// A hunk's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkMeta {
    /// Stable id.
    pub id: String,
    /// Header text.
    pub header: String,
    /// Review state.
    pub accepted: bool,
    /// Row index of the header.
    pub row: usize,
    /// Row indices of the new-side lines (context + add), in order.
    pub new_rows: Vec<usize>,
    /// Row indices of the old-side lines (remove), in order.
    pub old_rows: Vec<usize>,
}

/// A file's diff as rows.
#[derive(Debug, Clone, Default)]
pub struct FileDiffModel {
    /// File path.
    pub path: String,
    /// Changes whenever the hunks change (cache key).
    pub version: u64,
    /// Rows in display order.
    pub rows: Vec<Row>,
    /// Hunks in order.
    pub hunks: Vec<HunkMeta>,
    /// The fingerprint of the hunks (see [`crate::ui::tui::viewed::fingerprint`]).
    pub fingerprint: String,
    emphasis: HashMap<usize, Vec<Range<usize>>>,
}

/// Longest line (in characters) the pane computes emphasis for.
const EMPH_MAX: usize = 500;

impl FileDiffModel {
    /// Rows for `hunks` of `path` (as the review engine lists them, with line numbers).
    pub fn new(path: &str, version: u64, hunks: &[HunkView]) -> Self {
        let fingerprint = crate::ui::tui::viewed::fingerprint(hunks.iter().map(|h| h.id.as_str()));
        let mut m = FileDiffModel { path: path.to_owned(), version, fingerprint, ..Default::default() };
        for (hi, h) in hunks.iter().enumerate() {
            let mut meta = HunkMeta {
                id: h.id.clone(),
                header: h.header.clone(),
                accepted: h.state == HunkState::Accepted,
                row: m.rows.len(),
                new_rows: Vec::new(),
                old_rows: Vec::new(),
            };
            m.rows.push(Row {
                kind: RowKind::Header,
                hunk: hi,
                old_no: None,
                new_no: None,
                text: h.header.clone(),
                side_idx: 0,
                pair: None,
            });
            let (mut removes, mut adds): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
            for l in &h.lines {
                let idx = m.rows.len();
                let kind = match l.kind {
                    LineKind::Add => RowKind::Add,
                    LineKind::Remove => RowKind::Remove,
                    LineKind::Context => RowKind::Context,
                };
                if kind == RowKind::Context || (kind == RowKind::Remove && !adds.is_empty()) {
                    pair_up(&mut m.rows, &mut removes, &mut adds);
                }
                let side_idx = match kind {
                    RowKind::Remove => {
                        removes.push(idx);
                        meta.old_rows.push(idx);
                        meta.old_rows.len() - 1
                    }
                    _ => {
                        if kind == RowKind::Add {
                            adds.push(idx);
                        }
                        meta.new_rows.push(idx);
                        meta.new_rows.len() - 1
                    }
                };
                let no = |n: Option<usize>| n.and_then(|n| u32::try_from(n).ok());
                m.rows.push(Row {
                    kind,
                    hunk: hi,
                    old_no: no(l.old),
                    new_no: no(l.new),
                    text: l.text.clone(),
                    side_idx,
                    pair: None,
                });
                if l.no_newline {
                    m.rows.push(Row {
                        kind: RowKind::NoNewline,
                        hunk: hi,
                        old_no: None,
                        new_no: None,
                        text: "\\ No newline at end of file".into(),
                        side_idx: 0,
                        pair: None,
                    });
                }
            }
            pair_up(&mut m.rows, &mut removes, &mut adds);
            m.hunks.push(meta);
        }
        m
    }

    /// The hunk index the row belongs to.
    pub fn hunk_of(&self, row: usize) -> Option<usize> {
        self.rows.get(row).map(|r| r.hunk)
    }

    /// The first row showing new-file line `line` (or the nearest after it).
    pub fn row_of_new_line(&self, line: u32) -> Option<usize> {
        self.rows.iter().position(|r| r.new_no.is_some_and(|n| n >= line))
    }

    /// Byte ranges of `row`'s text that differ from its paired row (empty when unpaired or
    /// when most of the line changed, where emphasis would only add noise).
    pub fn emphasis(&mut self, row: usize) -> &[Range<usize>] {
        if !self.emphasis.contains_key(&row) {
            let ranges = self.compute_emphasis(row);
            self.emphasis.insert(row, ranges);
        }
        self.emphasis.get(&row).map_or(&[], Vec::as_slice)
    }

    fn compute_emphasis(&self, row: usize) -> Vec<Range<usize>> {
        let Some(r) = self.rows.get(row) else { return Vec::new() };
        let Some(p) = r.pair.and_then(|p| self.rows.get(p)) else { return Vec::new() };
        if r.text.len() > EMPH_MAX || p.text.len() > EMPH_MAX {
            return Vec::new();
        }
        let (old, new) = if r.kind == RowKind::Remove { (&r.text, &p.text) } else { (&p.text, &r.text) };
        let (old_ranges, new_ranges) = word_diff(old, new);
        let mine = if r.kind == RowKind::Remove { old_ranges } else { new_ranges };
        let changed: usize = mine.iter().map(ExactSizeIterator::len).sum();
        if changed * 10 > r.text.len().max(1) * 6 { Vec::new() } else { mine }
    }
}

/// Splits into words (runs of alphanumerics/underscore), whitespace runs, and single other
/// characters, as byte ranges.
fn tokens(s: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None::<(usize, u8)>;
    for (i, c) in s.char_indices() {
        let class = if c.is_alphanumeric() || c == '_' {
            1
        } else if c.is_whitespace() {
            2
        } else {
            0
        };
        match start {
            Some((_, cl)) if cl == class && class != 0 => {}
            Some((st, _)) => {
                out.push(st..i);
                start = Some((i, class));
            }
            None => start = Some((i, class)),
        }
    }
    if let Some((st, _)) = start {
        out.push(st..s.len());
    }
    out
}

/// Byte ranges that differ between `old` and `new`, word by word (similar's Myers diff).
pub fn word_diff(old: &str, new: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let (ot, nt) = (tokens(old), tokens(new));
    let ow: Vec<&str> = ot.iter().map(|r| &old[r.clone()]).collect();
    let nw: Vec<&str> = nt.iter().map(|r| &new[r.clone()]).collect();
    let mut o_out: Vec<Range<usize>> = Vec::new();
    let mut n_out: Vec<Range<usize>> = Vec::new();
    let push = |v: &mut Vec<Range<usize>>, r: Range<usize>| match v.last_mut() {
        Some(last) if last.end == r.start => last.end = r.end,
        _ if !r.is_empty() => v.push(r),
        _ => {}
    };
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ow, &nw) {
        let (tag, o, n) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        if !o.is_empty() {
            push(&mut o_out, ot[o.start].start..ot[o.end - 1].end);
        }
        if !n.is_empty() {
            push(&mut n_out, nt[n.start].start..nt[n.end - 1].end);
        }
    }
    (o_out, n_out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::single_range_in_vec_init)]
    use super::*;

    /// The hunk a one-hunk patch of `a.py` parses to, through the review engine.
    fn hunk(header: &str, lines: &[&str]) -> HunkView {
        let text = format!("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n{header}\n{}\n", lines.join("\n"));
        let patch = crate::review::patchset::parse(text.as_bytes()).unwrap();
        let files = crate::review::view::files(&patch, &crate::task::state::TaskState::default());
        files[0].hunks[0].clone()
    }

    #[test]
    fn rows_carry_old_and_new_line_numbers() {
        let m = FileDiffModel::new("a.py", 1, &[hunk("@@ -3,3 +3,4 @@", &[" a", "-b", "+B", "+C", " d"])]);
        let nums: Vec<(Option<u32>, Option<u32>)> = m.rows.iter().map(|r| (r.old_no, r.new_no)).collect();
        assert_eq!(
            nums,
            vec![
                (None, None),
                (Some(3), Some(3)),
                (Some(4), None),
                (None, Some(4)),
                (None, Some(5)),
                (Some(5), Some(6))
            ]
        );
        assert_eq!(m.rows[2].pair, Some(3));
        assert_eq!(m.hunks[0].new_rows, vec![1, 3, 4, 5]);
        assert_eq!(m.row_of_new_line(5), Some(4));
    }

    #[test]
    fn new_file_numbers_start_at_one() {
        let m = FileDiffModel::new("n.py", 1, &[hunk("@@ -0,0 +1,2 @@", &["+x", "+y"])]);
        assert_eq!(m.rows[1].new_no, Some(1));
        assert_eq!(m.rows[2].new_no, Some(2));
    }

    #[test]
    fn emphasis_marks_only_changed_words() {
        let mut m = FileDiffModel::new(
            "a.py",
            1,
            &[hunk("@@ -1 +1 @@", &["-total = price * count + tax", "+total = price * amount + tax"])],
        );
        assert_eq!(m.emphasis(1).to_vec(), vec![16..21]);
        assert_eq!(m.emphasis(2).to_vec(), vec![16..22]);
        let mut w = FileDiffModel::new("a.py", 1, &[hunk("@@ -1 +1 @@", &["-abc", "+xyz"])]);
        assert!(w.emphasis(1).is_empty(), "a wholly changed line gets no emphasis");
    }
}
