//! The state of the changes view (`/changes`): a diff of candidates as rows to draw
//! ([`crate::ui::tui::panes::changes`] draws it). A leaf module, so the app state can hold it.

use crate::review::candidate::CandidateDiff;
use crate::review::patchset::LineKind;

/// One open changes view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesView {
    /// The target.
    pub path: String,
    /// The archive holding the previous candidate (`code/candidates/<n>/`).
    pub archive: u32,
    /// Rows: `(kind, text)`; a hunk header is `None`.
    pub rows: Vec<(Option<LineKind>, String)>,
    /// First visible row.
    pub scroll: u16,
}

impl ChangesView {
    /// The view of `d` for `path`; `None` when there is nothing to show (no previous
    /// candidate, or the two are identical).
    pub fn of(path: &str, d: &CandidateDiff) -> Option<Self> {
        let f = d.file.as_ref()?;
        let mut rows = Vec::new();
        for h in &f.hunks {
            rows.push((None, h.header.clone()));
            rows.extend(h.lines.iter().map(|l| (Some(l.kind), l.text.clone())));
        }
        Some(Self { path: path.to_owned(), archive: d.archive, rows, scroll: 0 })
    }
}
