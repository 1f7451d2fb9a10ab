//! Workbench-only slash commands, handled before the shared table in
//! [`crate::ui::commands`]: `/plan`, `/plan edit`, `/edit [path]`; and the keys of the plan
//! view.
//!
//! These are here, not in the shared table, until the table is reworked (issue 10): they then
//! move there as entries whose handling is the same effects as below.

use crossterm::event::{KeyCode, KeyEvent};

use crate::orchestrator::Command;
use crate::ui::tui::app::App;
use crate::ui::tui::review_state::Effect;

/// The workbench-only commands with their one-line help, as `/help` lists them.
pub const LOCAL_COMMANDS: &[(&str, &str)] = &[
    ("/plan", "show plan.md and the per-file plan with its waves (Esc closes)"),
    ("/plan edit", "edit plan.files.json in $VISUAL/$EDITOR, then re-check it (errors shown in place)"),
    ("/edit [path]", "edit the file in code/files/ (default: the selected one); re-diffed on save"),
];

impl App {
    /// Runs `line` if it is a workbench-only command; `None` when it is not one.
    pub(crate) fn local_command(&mut self, line: &str) -> Option<Vec<Command>> {
        let t = line.trim();
        let t = t.strip_prefix('/').or_else(|| t.strip_prefix(':')).unwrap_or(t);
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            ["plan"] => self.review.effects.push(Effect::ShowPlan),
            ["plan", "edit"] => self.review.effects.push(Effect::EditPlan),
            ["plan", ..] => self.log_line("usage: /plan or /plan edit"),
            ["edit"] => match self.selected_path() {
                Some(p) => {
                    let p = p.to_owned();
                    self.review.effects.push(Effect::EditFile(p));
                }
                None => self.log_line("no file selected: /edit PATH"),
            },
            ["edit", p] => {
                if self.files.iter().any(|f| f.path == *p) {
                    self.review.effects.push(Effect::EditFile((*p).to_owned()));
                } else {
                    self.log_line(format!("no file {p} in this task"));
                }
            }
            ["edit", ..] => self.log_line("usage: /edit [path]"),
            _ => return None,
        }
        Some(Vec::new())
    }

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
}
