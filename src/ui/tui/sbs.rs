//! The side-by-side layout of a file's diff rows: old lines on the left, new on the right, a
//! change block's i-th removed line beside its i-th added line (the pairs intraline emphasis
//! uses). Pure: built once per diff version, drawn by [`crate::ui::tui::panes::diff`].

use crate::ui::tui::diffmodel::{FileDiffModel, RowKind};

/// One line of the side-by-side view: a full-width row (a hunk header, a no-newline note), or
/// a pair of model rows (either side may be empty; a context row is on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbsLine {
    /// A row drawn across both halves.
    Full(usize),
    /// The old side's row and the new side's row.
    Pair(Option<usize>, Option<usize>),
}

impl SbsLine {
    /// The model row the cursor lands on for this line (left first).
    pub fn anchor(self) -> usize {
        match self {
            SbsLine::Full(i) => i,
            SbsLine::Pair(l, r) => l.or(r).unwrap_or(0),
        }
    }

    /// Whether model row `row` is shown on this line.
    pub fn holds(self, row: usize) -> bool {
        match self {
            SbsLine::Full(i) => i == row,
            SbsLine::Pair(l, r) => l == Some(row) || r == Some(row),
        }
    }
}

/// Lays out `model`'s rows side by side.
pub fn lines(model: &FileDiffModel) -> Vec<SbsLine> {
    let mut out = Vec::with_capacity(model.rows.len());
    let (mut removes, mut adds): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<SbsLine>, removes: &mut Vec<usize>, adds: &mut Vec<usize>| {
        for k in 0..removes.len().max(adds.len()) {
            out.push(SbsLine::Pair(removes.get(k).copied(), adds.get(k).copied()));
        }
        removes.clear();
        adds.clear();
    };
    for (i, row) in model.rows.iter().enumerate() {
        match row.kind {
            RowKind::Remove => {
                if !adds.is_empty() {
                    flush(&mut out, &mut removes, &mut adds);
                }
                removes.push(i);
            }
            RowKind::Add => adds.push(i),
            RowKind::Context => {
                flush(&mut out, &mut removes, &mut adds);
                out.push(SbsLine::Pair(Some(i), Some(i)));
            }
            RowKind::Header | RowKind::NoNewline => {
                flush(&mut out, &mut removes, &mut adds);
                out.push(SbsLine::Full(i));
            }
        }
    }
    flush(&mut out, &mut removes, &mut adds);
    out
}
