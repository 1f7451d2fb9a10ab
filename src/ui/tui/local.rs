//! The keys of the overlay views: the plan view (`/plan`) and the changes view (`/changes`),
//! both rows of the shared table in [`crate::ui::commands`].

use crossterm::event::{KeyCode, KeyEvent};

use crate::orchestrator::Command;
use crate::ui::tui::app::App;
use crate::ui::tui::review_state::Effect;

impl App {
    /// A key while the plan view is open: j/k/PgDn/PgUp scroll, `e` edits plan.files.json,
    /// Esc or `q` closes.
    pub(crate) fn plan_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let Some(v) = self.review.plan.as_mut() else { return Vec::new() };
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => v.scroll = v.scroll.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => v.scroll = v.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => v.scroll = v.scroll.saturating_add(10),
            KeyCode::PageUp => v.scroll = v.scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => v.scroll = 0,
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
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => v.scroll = v.scroll.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => v.scroll = v.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => v.scroll = v.scroll.saturating_add(10),
            KeyCode::PageUp => v.scroll = v.scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => v.scroll = 0,
            KeyCode::Esc | KeyCode::Char('q') => self.review.changes = None,
            _ => {}
        }
        Vec::new()
    }
}
