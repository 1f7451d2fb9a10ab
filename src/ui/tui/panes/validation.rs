//! The validation panel: findings grouped by file (tool, code, category, message) with the
//! repair attempts under them; Enter jumps the diff pane to a finding's file and line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::view::block;

/// Draws the pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let tests = app.tests.map_or(String::new(), |(run, failed, pre)| {
        let pre = if pre > 0 { format!(", {pre} preexisting") } else { String::new() };
        format!("· tests: {run} run, {failed} failing{pre} ")
    });
    let title = format!(" Validation ({}) {tests}", app.findings.len());
    let b = block(&app.theme, app.focus, title, Pane::Validation);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_line = 0;
    let mut last_file: Option<&str> = None;
    for (i, fd) in app.findings.iter().enumerate() {
        if last_file != Some(fd.file.as_str()) {
            let n = app.findings.iter().filter(|x| x.file == fd.file).count();
            lines.push(Line::from(Span::styled(format!("{} ({n})", fd.file), t.title)));
            for r in app.repairs.iter().filter(|r| r.file == fd.file) {
                let (mark, style) = if r.success { ("✓", t.ok) } else { ("✗", t.warn) };
                lines.push(Line::from(Span::styled(
                    format!(" repair #{}: {} → {} {mark}", r.attempt, r.errors_in, r.errors_out),
                    style,
                )));
            }
            last_file = Some(fd.file.as_str());
        }
        if i == app.finding_cursor {
            cursor_line = lines.len();
        }
        let style = if i == app.finding_cursor && app.focus == Pane::Validation {
            t.selection
        } else {
            ratatui::style::Style::default()
        };
        lines.push(
            Line::from(vec![
                Span::styled(format!(" {}:{} ", fd.line, fd.column), t.line_number),
                Span::styled(format!("{} {} ", fd.tool, fd.code), t.accent),
                Span::styled(format!("[{}] ", fd.category), t.warn),
                Span::styled(fd.message.clone(), t.text),
            ])
            .style(style),
        );
    }
    for r in app.repairs.iter().filter(|r| !app.findings.iter().any(|f| f.file == r.file)) {
        let (mark, style) = if r.success { ("✓", t.ok) } else { ("✗", t.warn) };
        lines.push(Line::from(Span::styled(
            format!("{} repair #{}: {} → {} {mark}", r.file, r.attempt, r.errors_in, r.errors_out),
            style,
        )));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no findings", t.muted)));
    }
    let inner_h = b.inner(area).height as usize;
    let scroll = cursor_line.saturating_sub(inner_h.saturating_sub(2)) as u16;
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }).scroll((scroll, 0)), area);
}
