//! Where each pane goes at any terminal size (usable at 80×24, roomier at 160×48). Pure
//! geometry: the drawing ([`crate::ui::tui::view`]) and the mouse use the same areas.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// The areas of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Phase pane.
    pub phases: Rect,
    /// Files pane.
    pub files: Rect,
    /// Diff pane.
    pub diff: Rect,
    /// Validation panel.
    pub validation: Rect,
    /// Log pane.
    pub log: Rect,
    /// Command / status line.
    pub cmd: Rect,
}

/// Splits `area` into the panes.
pub fn areas(area: Rect) -> Areas {
    let top_h = if area.height >= 40 { 11 } else { 8 };
    let log_h = if area.height >= 40 { 8 } else { 5 };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(top_h), Constraint::Min(5), Constraint::Length(log_h), Constraint::Length(1)])
        .split(area);
    let top = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(rows[0]);
    let side = (area.width * 3 / 10).clamp(24, 60);
    let mid = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Min(30), Constraint::Length(side)])
        .split(rows[1]);
    Areas { phases: top[0], files: top[1], diff: mid[0], validation: mid[1], log: rows[2], cmd: rows[3] }
}
