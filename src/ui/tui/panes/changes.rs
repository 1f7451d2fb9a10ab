//! The changes view (`/changes`, `c`): what changed between a file's previous candidate (the
//! newest archived by `/regen` or `/edit`) and the current one — a diff of candidates, not
//! against the working tree — so the reviewer sees whether the feedback landed. Drawn over the
//! panes like the plan view; j/k scroll, Esc closes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::review::patchset::LineKind;
use crate::ui::tui::app::App;

/// Draws the changes view over `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let Some(v) = &app.review.changes else { return };
    let t = &app.theme;
    let lines: Vec<Line> = v
        .rows
        .iter()
        .map(|(kind, text)| match kind {
            None => Line::from(Span::styled(text.clone(), t.hunk_header)),
            Some(LineKind::Add) => Line::from(Span::styled(format!("+{text}"), t.add)),
            Some(LineKind::Remove) => Line::from(Span::styled(format!("-{text}"), t.remove)),
            Some(LineKind::Context) => Line::from(Span::styled(format!(" {text}"), t.text)),
        })
        .collect();
    f.render_widget(Clear, area);
    let title = format!(" Changes in {}: previous candidate (code/candidates/{}/) → current ", v.path, v.archive);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(t.border_focused)
        .title(title)
        .title_style(t.title)
        .title_bottom(Line::from(Span::styled(" j/k scroll · Esc closes ", t.muted)));
    f.render_widget(Paragraph::new(lines).block(b).scroll((v.scroll, 0)), area);
}
