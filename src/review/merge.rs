//! Applying a chosen subset of one file's text hunks, onto the base or — when the file drifted
//! since the diff — onto the file as it is now (a 3-way merge with the base).
//!
//! The base is the file the hunks were diffed against; `current` is the working-tree file. When
//! they are equal every selected hunk lands at its recorded position: that is accepting part of
//! a file (the base with only those hunks applied). When they differ, the user's edits are the
//! regions of a base → current line diff ([`crate::codegen::diff::changed_ranges`]), and a hunk
//! still *applies cleanly* when no edit touches the base lines it covers, context included —
//! the condition `git apply` checks (git-apply(1): context must match), with the hunk's position
//! in the current file found through the 3-way mapping instead of a search. Everything outside
//! the selected hunks' regions is copied from `current`, so an edit made outside ai-tools is never
//! lost; a hunk that an edit touches is a [`Conflict`] and nothing is produced for the file.
//!
//! Why not a merge crate: `diffy::merge_bytes` (the closest fit) merges whole files and reports
//! conflicts only as markers in its output, with diff3's looser rule (changed lines only, not
//! context). Accept needs the per-hunk verdict and the stricter "context intact" rule, and the
//! line diff it rests on is the one the project already uses for diff.patch.
//!
//! Invariants: lines are raw bytes including their terminators (CRLF and a missing final newline
//! pass through unchanged); an insertion by the user exactly at a hunk's edge conflicts only when
//! that edge of the hunk is a changed line rather than context; the output is checked: every
//! placed hunk's old side equals the current lines it replaces.

use std::ops::Range;

use crate::codegen::diff::{Backend, changed_ranges, split_lines};
use crate::review::patchset::{Hunk, HunkKind, LineKind};

/// Why a file's selected hunks could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The hunks' old side does not match the base: diff.patch was not derived from it.
    Stale {
        /// The first hunk that does not match.
        hunk: String,
    },
    /// Edits made since the diff touch these hunks.
    Overlap {
        /// `(hunk id, 1-based line range in the current file the edit covers)`.
        hunks: Vec<(String, Range<usize>)>,
    },
}

/// Applies `hunks` (text hunks of one file, any order) to `base`, carried onto `current`.
///
/// # Errors
/// [`Conflict::Stale`] when a hunk's old side is not in `base` where the header says;
/// [`Conflict::Overlap`] when edits between `base` and `current` touch a selected hunk.
pub fn apply(base: &[u8], current: &[u8], hunks: &[&Hunk]) -> Result<Vec<u8>, Conflict> {
    let b = split_lines(base);
    let c = split_lines(current);
    let mut hunks: Vec<&Hunk> = hunks.iter().copied().filter(|h| h.kind == HunkKind::Text).collect();
    hunks.sort_by_key(|h| h.base_start());
    for h in &hunks {
        let s = h.base_start();
        if s + h.old_lines > b.len() || !h.preimage().eq(b[s..s + h.old_lines].iter().copied()) {
            return Err(Conflict::Stale { hunk: h.id.clone() });
        }
    }
    let edits = if base == current { Vec::new() } else { changed_ranges(&b, &c, Backend::Imara) };
    let mut out = Vec::with_capacity(current.len() + 64);
    let mut cursor = 0usize;
    let mut delta: isize = 0;
    let mut r = 0;
    let mut conflicts = Vec::new();
    for h in hunks {
        let (hs, he) = (h.base_start(), h.base_start() + h.old_lines);
        while r < edits.len() && edits[r].0.end <= hs && !touches(&edits[r], h) {
            delta += edits[r].1.len() as isize - edits[r].0.len() as isize;
            r += 1;
        }
        let mut k = r;
        let mut hit: Option<Range<usize>> = None;
        while k < edits.len() && edits[k].0.start <= he {
            if touches(&edits[k], h) {
                let n = &edits[k].1;
                hit = Some(hit.map_or(n.clone(), |x| x.start.min(n.start)..x.end.max(n.end)));
            }
            k += 1;
        }
        if let Some(n) = hit {
            conflicts.push((h.id.clone(), n.start + 1..n.end.max(n.start + 1) + 1));
            continue;
        }
        let p = hs.checked_add_signed(delta).filter(|p| *p >= cursor && p + h.old_lines <= c.len());
        let Some(p) = p.filter(|p| h.preimage().eq(c[*p..*p + h.old_lines].iter().copied())) else {
            conflicts.push((h.id.clone(), hs + 1..he + 1));
            continue;
        };
        for l in &c[cursor..p] {
            out.extend_from_slice(l);
        }
        for l in h.postimage() {
            out.extend_from_slice(l);
        }
        cursor = p + h.old_lines;
    }
    if !conflicts.is_empty() {
        return Err(Conflict::Overlap { hunks: conflicts });
    }
    for l in &c[cursor..] {
        out.extend_from_slice(l);
    }
    Ok(out)
}

/// Whether the user's edit `(old range, new range)` (base line coordinates) touches hunk `h`
/// (see the module invariants).
fn touches(edit: &(Range<usize>, Range<usize>), h: &Hunk) -> bool {
    let (us, ue) = (edit.0.start, edit.0.end);
    let (hs, he) = (h.base_start(), h.base_start() + h.old_lines);
    if hs == he {
        return us <= hs && hs <= ue;
    }
    if us == ue {
        let first_ctx = h.lines.first().is_some_and(|l| l.kind == LineKind::Context);
        let last_ctx = h.lines.last().is_some_and(|l| l.kind == LineKind::Context);
        return (hs < us && us < he) || (us == hs && !first_ctx) || (us == he && !last_ctx);
    }
    us < he && hs < ue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::diff::{Backend, FileInput, unified_diff};
    use crate::review::patchset::parse;
    use crate::task::relpath::RelPath;

    fn hunks_of(old: &str, new: &str) -> Vec<Hunk> {
        let p = RelPath::new("f.txt").unwrap();
        let mut files = [FileInput {
            path: &p,
            old: Some(old.as_bytes()),
            new: Some(new.as_bytes()),
            old_mode: 0o644,
            new_mode: 0o644,
        }];
        let patch = unified_diff(&mut files, Backend::Imara).unwrap().0;
        parse(&patch).unwrap().files.remove(0).hunks
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("{i}\n")).collect()
    }

    /// `text` with its line `n` (1-based) replaced by `by` (which may hold several lines).
    fn swap(text: &str, n: usize, by: &str) -> String {
        text.lines().enumerate().map(|(i, l)| if i + 1 == n { format!("{by}\n") } else { format!("{l}\n") }).collect()
    }

    #[test]
    fn subsets_apply_at_their_positions() {
        let old = numbered(30);
        let new = swap(&swap(&old, 3, "three"), 25, "twenty-five");
        let h = hunks_of(&old, &new);
        assert_eq!(h.len(), 2);
        assert_eq!(apply(old.as_bytes(), old.as_bytes(), &[&h[0], &h[1]]).unwrap(), new.as_bytes());
        let first = String::from_utf8(apply(old.as_bytes(), old.as_bytes(), &[&h[0]]).unwrap()).unwrap();
        assert_eq!(first, swap(&old, 3, "three"));
        let second = String::from_utf8(apply(old.as_bytes(), old.as_bytes(), &[&h[1]]).unwrap()).unwrap();
        assert_eq!(second, swap(&old, 25, "twenty-five"));
    }

    #[test]
    fn drift_outside_the_hunk_is_kept_and_shifts_positions() {
        let old = numbered(30);
        let new = swap(&old, 25, "twenty-five");
        let h = hunks_of(&old, &new);
        let current = swap(&old, 3, "3\nuser line");
        let out = String::from_utf8(apply(old.as_bytes(), current.as_bytes(), &[&h[0]]).unwrap()).unwrap();
        assert_eq!(out, swap(&current, 26, "twenty-five"));
    }

    #[test]
    fn drift_inside_the_context_conflicts() {
        let old = numbered(30);
        let new = swap(&old, 15, "fifteen");
        let h = hunks_of(&old, &new);
        let current = swap(&old, 13, "thirteen by hand");
        match apply(old.as_bytes(), current.as_bytes(), &[&h[0]]) {
            Err(Conflict::Overlap { hunks }) => assert_eq!(hunks, vec![(h[0].id.clone(), 13..14)]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn insertion_at_a_context_edge_is_clean_but_at_a_changed_edge_conflicts() {
        let old = "a\nb\nc\n";
        let new = "a\nb\nc\nd\n";
        let h = hunks_of(old, new);
        // Appending at the end, where the hunk also appends: ambiguous order, so a conflict.
        assert!(apply(old.as_bytes(), b"a\nb\nc\nmine\n", &[&h[0]]).is_err());
        // Inserting before the first context line is clean.
        let out = apply(old.as_bytes(), b"top\na\nb\nc\n", &[&h[0]]).unwrap();
        assert_eq!(out, b"top\na\nb\nc\nd\n");
    }

    #[test]
    fn crlf_and_missing_final_newline_round_trip() {
        let old = "a\r\nb\r\nc";
        let new = "a\r\nB\r\nc\r\nd";
        let h = hunks_of(old, new);
        let refs: Vec<&Hunk> = h.iter().collect();
        assert_eq!(apply(old.as_bytes(), old.as_bytes(), &refs).unwrap(), new.as_bytes());
    }

    #[test]
    fn stale_hunks_are_refused() {
        let h = hunks_of("a\nb\n", "a\nc\n");
        assert!(matches!(apply(b"x\ny\n", b"x\ny\n", &[&h[0]]), Err(Conflict::Stale { .. })));
    }
}
