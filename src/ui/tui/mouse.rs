//! The mouse: the wheel scrolls the pane under the pointer; a left click focuses the pane under
//! it and selects the file (files pane), the row and so the hunk (diff pane), or the finding
//! (validation panel).
//!
//! Invariant: positions are mapped through the areas and scroll offsets of the last frame drawn
//! (the screen the user clicked), never recomputed.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::orchestrator::Command;
use crate::ui::tui::app::{App, Pane};

/// Lines one wheel notch scrolls.
pub const WHEEL: usize = 3;

impl App {
    /// Handles a mouse event; returns the commands to send the actor (none today).
    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        let Some(a) = self.review.areas else { return Vec::new() };
        if self.help
            || self.review.plan.is_some()
            || self.review.changes.is_some()
            || self.cmdline.active
            || self.review.reason.is_some()
        {
            return self.overlay_wheel(m);
        }
        let at = Position::new(m.column, m.row);
        let pane = [
            (Pane::Phases, a.phases),
            (Pane::Files, a.files),
            (Pane::Diff, a.diff),
            (Pane::Validation, a.validation),
            (Pane::Log, a.log),
        ]
        .into_iter()
        .find(|(_, r)| r.contains(at));
        let Some((pane, area)) = pane else { return Vec::new() };
        match m.kind {
            MouseEventKind::ScrollDown => self.wheel(pane, WHEEL as isize),
            MouseEventKind::ScrollUp => self.wheel(pane, -(WHEEL as isize)),
            MouseEventKind::Down(MouseButton::Left) => self.click(pane, area, at),
            _ => {}
        }
        Vec::new()
    }

    fn overlay_wheel(&mut self, m: MouseEvent) -> Vec<Command> {
        let down = match m.kind {
            MouseEventKind::ScrollDown => true,
            MouseEventKind::ScrollUp => false,
            _ => return Vec::new(),
        };
        let step = |s: u16| if down { s.saturating_add(WHEEL as u16) } else { s.saturating_sub(WHEEL as u16) };
        if let Some(v) = self.review.plan.as_mut() {
            v.scroll = step(v.scroll);
        } else if let Some(v) = self.review.changes.as_mut() {
            v.scroll = step(v.scroll);
        } else if self.help {
            self.help_scroll = if down {
                self.help_scroll.saturating_add(WHEEL as u16)
            } else {
                self.help_scroll.saturating_sub(WHEEL as u16)
            };
        }
        Vec::new()
    }

    fn wheel(&mut self, pane: Pane, delta: isize) {
        let step =
            |v: usize, len: usize| (v as isize).saturating_add(delta).clamp(0, len.saturating_sub(1) as isize) as usize;
        match pane {
            Pane::Files | Pane::Phases => self.select(step(self.selected, self.files.len())),
            Pane::Diff => {
                // Scroll the view and carry the cursor along, so it stays where it was on screen.
                self.move_diff_cursor(delta);
                self.diff_scroll = (self.diff_scroll as isize + delta).max(0) as usize;
            }
            Pane::Validation => self.finding_cursor = step(self.finding_cursor, self.findings.len()),
            Pane::Log => {
                self.log_scroll = (self.log_scroll as isize - delta).clamp(0, self.log.len() as isize) as usize;
            }
        }
    }

    fn click(&mut self, pane: Pane, area: Rect, at: Position) {
        self.focus = pane;
        // Inside the border.
        let y = at.y.saturating_sub(area.y + 1) as usize;
        match pane {
            // One header row under the border.
            Pane::Files if y >= 1 => {
                let i = self.review.files_offset + y - 1;
                if i < self.files.len() {
                    self.select(i);
                }
            }
            Pane::Diff => self.click_diff(area, at, y),
            _ => {}
        }
    }

    fn click_diff(&mut self, area: Rect, at: Position, y: usize) {
        let Some(path) = self.selected_path().map(str::to_owned) else { return };
        let Some(rows) = self.diffs.get(&path).map(|d| d.rows.len()) else { return };
        if self.review.side_by_side {
            let sbs = crate::ui::tui::sidebyside::cached(self, &path);
            let Some(l) = sbs.get(self.diff_scroll + y) else { return };
            // The right half holds the new side.
            let mid = area.x + 1 + (area.width.saturating_sub(3)) / 2;
            self.diff_cursor = match *l {
                crate::ui::tui::sbs::SbsLine::Pair(left, right) if at.x > mid => right.or(left).unwrap_or(0),
                other => other.anchor(),
            };
        } else if self.diff_scroll + y < rows {
            self.diff_cursor = self.diff_scroll + y;
        }
        if let Some(h) = self.diffs.get(&path).and_then(|d| d.hunk_of(self.diff_cursor)) {
            self.status = format!("hunk {} of {path} (Space toggles it, x rejects it with a reason)", h + 1);
        }
    }
}
