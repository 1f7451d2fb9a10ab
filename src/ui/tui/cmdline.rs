//! The command line at the bottom of the workbench: a one-line editor (ratatui-textarea) with
//! history (Up/Down) and Tab completion (cycling through candidates).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};

/// What a key did to the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// Still editing.
    Editing,
    /// Enter: run this line.
    Submit(String),
    /// Esc: leave without running.
    Cancel,
    /// Tab: the caller should offer completions for this text.
    Complete(String),
}

/// The command line.
#[derive(Default)]
pub struct CmdLine {
    /// Whether it has focus.
    pub active: bool,
    area: TextArea<'static>,
    history: Vec<String>,
    hist_pos: Option<usize>,
    completions: Vec<String>,
    comp_pos: usize,
}

impl CmdLine {
    /// Opens the line with `prefix` typed (`/` or `:`).
    pub fn open(&mut self, prefix: &str) {
        self.active = true;
        self.set_text(prefix);
        self.hist_pos = None;
        self.completions.clear();
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.area.lines().join("")
    }

    fn set_text(&mut self, s: &str) {
        self.area = TextArea::new(vec![s.to_owned()]);
        self.area.move_cursor(CursorMove::End);
    }

    /// The editor widget, for drawing.
    pub fn area(&mut self) -> &mut TextArea<'static> {
        &mut self.area
    }

    /// Entered lines, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Shows the next of `candidates` (a fresh list restarts the cycle).
    pub fn offer(&mut self, candidates: Vec<String>) {
        if candidates.is_empty() {
            return;
        }
        if candidates != self.completions {
            self.completions = candidates;
            self.comp_pos = 0;
        } else {
            self.comp_pos = (self.comp_pos + 1) % self.completions.len();
        }
        let c = self.completions[self.comp_pos].clone();
        self.set_text(&c);
    }

    /// Handles a key while active.
    pub fn on_key(&mut self, k: KeyEvent) -> LineOutcome {
        match k.code {
            KeyCode::Enter => {
                let t = self.text();
                self.active = false;
                if !t.trim().is_empty() && t.trim() != "/" && self.history.last() != Some(&t) {
                    self.history.push(t.clone());
                }
                LineOutcome::Submit(t)
            }
            KeyCode::Esc => {
                self.active = false;
                LineOutcome::Cancel
            }
            KeyCode::Tab => {
                if self.completions.is_empty() || !self.completions.contains(&self.text()) {
                    self.completions.clear();
                    LineOutcome::Complete(self.text())
                } else {
                    let next = self.completions.clone();
                    self.offer(next);
                    LineOutcome::Editing
                }
            }
            KeyCode::Up => {
                if !self.history.is_empty() {
                    let p = self.hist_pos.map_or(self.history.len() - 1, |p| p.saturating_sub(1));
                    self.hist_pos = Some(p);
                    let t = self.history[p].clone();
                    self.set_text(&t);
                }
                LineOutcome::Editing
            }
            KeyCode::Down => {
                match self.hist_pos {
                    Some(p) if p + 1 < self.history.len() => {
                        self.hist_pos = Some(p + 1);
                        let t = self.history[p + 1].clone();
                        self.set_text(&t);
                    }
                    Some(_) => {
                        self.hist_pos = None;
                        self.set_text("/");
                    }
                    None => {}
                }
                LineOutcome::Editing
            }
            KeyCode::Backspace if self.text().is_empty() => {
                self.active = false;
                LineOutcome::Cancel
            }
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.active = false;
                LineOutcome::Cancel
            }
            _ => {
                self.completions.clear();
                self.area.input(k);
                LineOutcome::Editing
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn typing_history_and_cancel() {
        let mut c = CmdLine::default();
        c.open("/");
        for ch in "codegen".chars() {
            c.on_key(key(KeyCode::Char(ch)));
        }
        assert_eq!(c.on_key(key(KeyCode::Enter)), LineOutcome::Submit("/codegen".into()));
        assert!(!c.active);
        c.open("/");
        c.on_key(key(KeyCode::Up));
        assert_eq!(c.text(), "/codegen");
        assert_eq!(c.on_key(key(KeyCode::Esc)), LineOutcome::Cancel);
    }

    #[test]
    fn tab_asks_then_cycles() {
        let mut c = CmdLine::default();
        c.open("/");
        c.on_key(key(KeyCode::Char('r')));
        assert_eq!(c.on_key(key(KeyCode::Tab)), LineOutcome::Complete("/r".into()));
        c.offer(vec!["/redo".into(), "/reject".into()]);
        assert_eq!(c.text(), "/redo");
        assert_eq!(c.on_key(key(KeyCode::Tab)), LineOutcome::Editing);
        assert_eq!(c.text(), "/reject");
    }
}
