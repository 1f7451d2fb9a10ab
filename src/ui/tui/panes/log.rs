//! The log pane: run progress, provider notices, summaries and command results, newest last.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::view::block;

/// Draws the pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let b = block(&app.theme, app.focus, " Log ", Pane::Log);
    let inner = b.inner(area);
    let h = inner.height as usize;
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = app
        .log
        .range(start..end)
        .map(|(_, s)| {
            let style = if s.contains("FAILED") || s.starts_with("error") || s.starts_with("run ended") {
                app.theme.error
            } else if s.starts_with("warn") || s.starts_with("not done") {
                app.theme.warn
            } else {
                app.theme.text
            };
            Line::from(Span::styled(s.clone(), style))
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(b), area);
}
