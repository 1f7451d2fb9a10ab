//! Layout: which pane goes where, at any terminal size (usable at 80×24, roomier at 160×48),
//! plus the command line, the status line and the help overlay.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::ui::commands::{TABLE, help_lines};
use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::keys::KEYS;
use crate::ui::tui::panes;
use crate::ui::tui::theme::Theme;

pub use crate::ui::tui::layout::{Areas, areas};

/// A pane's frame: rounded borders, the title, and the focus color (thick when `pane` has
/// `focus`).
pub fn block<'a>(theme: &Theme, focus: Pane, title: impl Into<Line<'a>>, pane: Pane) -> Block<'a> {
    let focused = focus == pane;
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Rounded })
        .border_style(if focused { theme.border_focused } else { theme.border })
        .title(title)
        .title_style(theme.title)
}

/// Draws the whole workbench.
pub fn draw(app: &mut App, f: &mut Frame) {
    let a = areas(f.area());
    app.review.areas = Some(a);
    panes::phases::draw(app, f, a.phases);
    panes::files::draw(app, f, a.files);
    panes::diff::draw(app, f, a.diff);
    panes::validation::draw(app, f, a.validation);
    panes::log::draw(app, f, a.log);
    if app.review.plan.is_some() {
        let full = f.area();
        panes::plan::draw(app, f, Rect { height: full.height.saturating_sub(1), ..full });
    }
    if app.review.changes.is_some() {
        let full = f.area();
        panes::changes::draw(app, f, Rect { height: full.height.saturating_sub(1), ..full });
    }
    draw_cmdline(app, f, a.cmd);
    if app.help {
        draw_help(app, f);
    }
}

fn draw_cmdline(app: &mut App, f: &mut Frame, area: Rect) {
    if let Some(p) = &app.review.reason {
        let id = &p.hunk[..p.hunk.len().min(8)];
        let line = Line::from(vec![
            Span::styled(format!("reject hunk {id} — reason (Enter rejects, Esc cancels): "), app.theme.warn),
            Span::styled(format!("{}█", p.text), app.theme.text),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    if app.cmdline.active {
        let style = app.theme.text;
        let ta = app.cmdline.area();
        ta.set_style(style);
        ta.set_cursor_line_style(Style::default());
        f.render_widget(&*ta, area);
        return;
    }
    let style = if app.confirm_quit { app.theme.warn } else { app.theme.muted };
    let text: String = app.status.chars().take(area.width as usize).collect();
    f.render_widget(Paragraph::new(Line::from(Span::styled(text, style))), area);
}

fn draw_help(app: &App, f: &mut Frame) {
    let area = f.area();
    let w = area.width.saturating_sub(4).min(96);
    let h = area.height.saturating_sub(2).min((KEYS.len() + TABLE.len() + 5) as u16);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let mut lines = vec![Line::from(Span::styled("Keys", app.theme.title))];
    for (k, d) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:<16}"), app.theme.accent),
            Span::styled(*d, app.theme.text),
        ]));
    }
    lines.push(Line::from(Span::styled("Commands", app.theme.title)));
    for (c, d) in help_lines() {
        lines.push(Line::from(vec![
            Span::styled(format!("{c:<18}"), app.theme.accent),
            Span::styled(d, app.theme.text),
        ]));
    }
    f.render_widget(Clear, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(app.theme.border_focused)
        .title(" help — j/k scroll, any other key closes ")
        .title_style(app.theme.title);
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }).scroll((app.help_scroll, 0)), r);
}
