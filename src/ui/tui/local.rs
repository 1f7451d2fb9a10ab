//! The keys of the overlay views: the plan view (`/plan`) and the changes view (`/changes`),
//! both rows of the shared table in [`crate::ui::commands`].

use crossterm::event::{KeyCode, KeyEvent};

use crate::orchestrator::Command;
use crate::ui::tui::app::App;
use crate::ui::tui::review_state::Effect;

/// Moves an overlay's `scroll` for a scrolling key (j/k, arrows, PgDn/PgUp, Space, g/Home);
/// `false` for any other key.
fn scroll_key(scroll: &mut u16, code: KeyCode) -> bool {
    *scroll = match code {
        KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
        KeyCode::PageUp => scroll.saturating_sub(10),
        KeyCode::Char('g') | KeyCode::Home => 0,
        _ => return false,
    };
    true
}

impl App {
    /// A key while the plan view is open: j/k/PgDn/PgUp scroll, `e` edits plan.files.json,
    /// Esc or `q` closes.
    pub(crate) fn plan_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let Some(v) = self.review.plan.as_mut() else { return Vec::new() };
        if scroll_key(&mut v.scroll, k.code) {
            return Vec::new();
        }
        match k.code {
            KeyCode::Char('e') => self.review.effects.push(Effect::EditPlan),
            KeyCode::Esc | KeyCode::Char('q') => self.review.plan = None,
            KeyCode::Char(c @ ('/' | ':')) => {
                self.review.plan = None;
                self.cmdline.open(&c.to_string());
            }
            _ => {}
        }
        Vec::new()
    }

    /// A key while the changes view is open: j/k/PgDn/PgUp scroll, Esc or `q` closes.
    pub(crate) fn changes_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let Some(v) = self.review.changes.as_mut() else { return Vec::new() };
        if !scroll_key(&mut v.scroll, k.code) && matches!(k.code, KeyCode::Esc | KeyCode::Char('q')) {
            self.review.changes = None;
        }
        Vec::new()
    }
}
