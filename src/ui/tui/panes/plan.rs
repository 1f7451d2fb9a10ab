//! The plan view (`/plan`): the per-file plan by wave, then plan.md; above them the error that
//! stops the plan from loading (located `file:line:column`), and after a scope mismatch the
//! files the run tried to write outside the plan with the way back to planning.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::ui::tui::app::App;
use crate::ui::tui::panes::files::shorten_left;

/// Draws the plan view over `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let Some(v) = &app.review.plan else { return };
    let t = &app.theme;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &v.error {
        for (i, l) in e.lines().enumerate() {
            let mark = if i == 0 { "✗ " } else { "  " };
            lines.push(Line::from(Span::styled(format!("{mark}{l}"), t.error)));
        }
        lines.push(Line::from(Span::styled(
            "  /plan edit (or e here) opens plan.files.json; it is re-checked on save",
            t.muted,
        )));
        lines.push(Line::default());
    }
    if let Some(m) = &app.review.mismatch {
        lines
            .push(Line::from(Span::styled("⚠ scope mismatch: the run tried to write files outside the plan:", t.warn)));
        for p in &m.files {
            lines.push(Line::from(Span::styled(format!("    {p}"), t.text)));
        }
        lines.push(Line::from(Span::styled(format!("  {}", m.suggestion), t.muted)));
        lines.push(Line::from(Span::styled(
            "  way back: e (or /plan edit) adds them to plan.files.json, then /codegen runs the plan again",
            t.accent,
        )));
        lines.push(Line::default());
    }
    let width = area.width.saturating_sub(4) as usize;
    lines.push(Line::from(Span::styled(
        format!("Per-file plan: {} file{} in {} wave{}", v.rows.len(), plural(v.rows.len()), v.waves, plural(v.waves)),
        t.title,
    )));
    let mut wave = 0;
    for r in &v.rows {
        if r.wave != wave {
            wave = r.wave;
            lines.push(Line::from(Span::styled(format!(" wave {wave}"), t.accent)));
        }
        lines.push(Line::from(vec![
            Span::styled(format!("   {:<6} ", r.action), t.muted),
            Span::styled(shorten_left(&r.path, width.saturating_sub(10).max(12)), t.text),
        ]));
        if !r.description.is_empty() {
            lines.push(Line::from(Span::styled(format!("          {}", r.description), t.muted)));
        }
        if !r.depends_on.is_empty() {
            let deps: Vec<String> =
                r.depends_on.iter().map(|d| shorten_left(d, width.saturating_sub(16).max(12))).collect();
            lines.push(Line::from(Span::styled(format!("          after {}", deps.join(", ")), t.muted)));
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("plan.md", t.title)));
    for l in v.plan_md.lines() {
        lines.push(Line::from(Span::styled(l.to_owned(), t.text)));
    }
    f.render_widget(Clear, area);
    let title = format!(" Plan: {} ", v.title);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(t.border_focused)
        .title(title)
        .title_style(t.title);
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }).scroll((v.scroll, 0)), area);
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
