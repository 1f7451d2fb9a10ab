//! The files pane: each target with its action, +/− counts, validation findings and review
//! state (all / some / none of its hunks accepted).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::ui::tui::app::{App, FileProgress, Pane};
use crate::ui::tui::view::block;

/// Draws the pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let b = block(&app.theme, app.focus, format!(" Files ({}) ", app.files.len()), Pane::Files);
    let rows: Vec<Row> = app
        .files
        .iter()
        .map(|r| {
            let (acc, total) = app.review_counts(&r.path);
            let review = match (acc, total) {
                (_, 0) => Span::styled("—", t.muted),
                (a, n) if a == n => Span::styled("all", t.ok),
                (0, _) => Span::styled("none", t.error),
                (a, n) => Span::styled(format!("{a}/{n}"), t.warn),
            };
            let status = match &r.progress {
                FileProgress::Failed(_) => Span::styled("✗", t.error),
                FileProgress::Streaming(_) => Span::styled("…", t.accent),
                FileProgress::Done => Span::styled("✓", t.ok),
                FileProgress::Queued => Span::styled("·", t.muted),
            };
            let findings =
                if r.findings > 0 { Span::styled(r.findings.to_string(), t.error) } else { Span::styled("0", t.muted) };
            Row::new(vec![
                Cell::from(status),
                Cell::from(Span::styled(r.path.clone(), t.text)),
                Cell::from(Span::styled(r.action.clone(), t.muted)),
                Cell::from(Line::from(vec![
                    Span::styled(format!("+{}", r.additions), t.ok),
                    Span::raw(" "),
                    Span::styled(format!("−{}", r.deletions), t.error),
                ])),
                Cell::from(findings),
                Cell::from(review),
            ])
        })
        .collect();
    let header = Row::new(["", "path", "action", "+/−", "err", "review"]).style(t.muted);
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Min(12),
            Constraint::Length(6),
            Constraint::Length(11),
            Constraint::Length(3),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(b)
    .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected((!app.files.is_empty()).then_some(app.selected));
    f.render_stateful_widget(table, area, &mut state);
}
