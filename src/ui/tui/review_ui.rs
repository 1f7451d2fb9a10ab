//! The review keys and events: viewed marks (`v`, `u`), the side-by-side toggle (`s`), reject
//! with a reason (`x`), the editor (`e`), the task and scope mismatch from actor events.
//!
//! Invariant: like the rest of [`App`], nothing here does I/O. What needs the disk or the
//! terminal (saving marks, reading the plan, running `$EDITOR`) is queued as an [`Effect`] for
//! the event loop (see [`crate::ui::tui::effects`]); what needs the pipeline is returned as
//! [`Command`]s built by [`crate::ui::tui::hooks`].

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::orchestrator::{Command, Event};
use crate::task::TaskDir;
use crate::task::state::RunStatus;
use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::hooks;
use crate::ui::tui::review_state::{Effect, Mismatch, ReasonPrompt, TaskCtx};
use crate::ui::tui::viewed::ViewedMarks;

impl App {
    /// Tells the app its task (the CLI knows it before any run); queues loading its marks.
    pub fn with_task(mut self, task: TaskDir, repo: PathBuf) -> Self {
        self.set_task(task, repo);
        self
    }

    fn set_task(&mut self, task: TaskDir, repo: PathBuf) {
        if self.review.task.as_ref().is_some_and(|t| t.task == task) {
            return;
        }
        self.review.task = Some(TaskCtx { task, repo });
        self.review.effects.push(Effect::LoadViewed);
    }

    /// Takes the queued effects.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.review.effects)
    }

    /// Whether file `path` carries a viewed mark for its current hunks.
    pub fn is_viewed(&self, path: &str) -> bool {
        self.diffs.get(path).is_some_and(|d| self.review.viewed.is_viewed(path, &d.fingerprint))
    }

    /// Installs marks read from disk, dropping those whose file's hunks changed since.
    pub fn set_viewed(&mut self, marks: ViewedMarks) {
        self.review.viewed = marks;
        let mut dropped = false;
        for (p, d) in &self.diffs {
            dropped |= self.review.viewed.keep_if_current(p, &d.fingerprint);
        }
        if dropped {
            self.review.effects.push(Effect::SaveViewed);
        }
    }

    /// Called whenever a file's hunks were replaced: its mark goes if they changed.
    pub(crate) fn hunks_replaced(&mut self, path: &str) {
        let fp =
            self.diffs.get(path).map_or_else(|| crate::ui::tui::viewed::fingerprint([]), |d| d.fingerprint.clone());
        if self.review.viewed.keep_if_current(path, &fp) {
            self.review.effects.push(Effect::SaveViewed);
        }
    }

    /// The review extras' share of an actor event.
    pub(crate) fn review_event(&mut self, e: &Event) {
        match e {
            Event::RunStarted { task, repo, .. } => {
                self.review.mismatch = None;
                self.set_task(TaskDir::new(task), repo.clone());
            }
            Event::Failed { status: RunStatus::ScopeMismatch, files, suggestion, .. } => {
                self.review.mismatch = Some(Mismatch { files: files.clone(), suggestion: suggestion.clone() });
                self.review.effects.push(Effect::ShowPlan);
            }
            Event::CandidateDiffed { path, diff: Some(d) } => {
                self.review.changes = crate::ui::tui::changesview::ChangesView::of(path, d);
            }
            Event::EditReady { path, file, deny_env } => self.review.effects.push(Effect::OpenEditor {
                path: path.clone(),
                file: file.clone(),
                deny_env: deny_env.clone(),
            }),
            _ => {}
        }
    }

    /// The review keys (`v`, `u`, `s`, `x`, `e`); `None` when `k` is not one of them.
    pub(crate) fn review_key(&mut self, k: KeyEvent) -> Option<Vec<Command>> {
        if k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return None;
        }
        match k.code {
            KeyCode::Char('v') => self.toggle_viewed(),
            KeyCode::Char('u') => self.next_unviewed(),
            KeyCode::Char('s') => {
                self.review.side_by_side = !self.review.side_by_side;
                self.diff_scroll = 0;
                self.status = if self.review.side_by_side { "side-by-side diff" } else { "unified diff" }.into();
            }
            KeyCode::Char('x') if self.focus == Pane::Diff => self.open_reason(),
            KeyCode::Char('c') if matches!(self.focus, Pane::Diff | Pane::Files) => match self.selected_path() {
                Some(p) => return Some(vec![Command::CandidateDiff { path: p.to_owned() }]),
                None => self.status = "no file selected".into(),
            },
            KeyCode::Char('e') if matches!(self.focus, Pane::Diff | Pane::Files) => match self.selected_path() {
                Some(p) => return Some(vec![Command::EditBegin { path: p.to_owned() }]),
                None => self.status = "no file to edit".into(),
            },
            _ => return None,
        }
        Some(Vec::new())
    }

    fn toggle_viewed(&mut self) {
        let Some(path) = self.selected_path().map(str::to_owned) else { return };
        let Some(fp) = self.diffs.get(&path).map(|d| d.fingerprint.clone()) else {
            self.status = format!("{path} has no hunks to mark viewed");
            return;
        };
        let now = self.review.viewed.toggle(&path, &fp);
        self.review.effects.push(Effect::SaveViewed);
        self.status =
            format!("{path} {}", if now { "marked viewed (u jumps to the next unviewed file)" } else { "unmarked" });
    }

    /// Selects the next file (after the selected one, wrapping) that has hunks and no viewed mark.
    fn next_unviewed(&mut self) {
        let n = self.files.len();
        let next = (1..=n)
            .map(|d| (self.selected + d) % n.max(1))
            .find(|&i| self.files.get(i).is_some_and(|f| self.diffs.contains_key(&f.path) && !self.is_viewed(&f.path)));
        match next {
            Some(i) => {
                self.select(i);
                self.status = format!("next unviewed: {}", self.files[i].path);
            }
            None => self.status = "every file with changes is viewed".into(),
        }
    }

    fn open_reason(&mut self) {
        let cursor = self.diff_cursor;
        let hunk = self
            .selected_path()
            .and_then(|p| self.diffs.get(p))
            .and_then(|d| d.hunk_of(cursor).and_then(|i| d.hunks.get(i)))
            .map(|h| h.id.clone());
        match hunk {
            Some(hunk) => {
                let text = self.review.reasons.get(&hunk).cloned().unwrap_or_default();
                self.review.reason = Some(ReasonPrompt { hunk, text });
            }
            None => self.status = "no hunk under the cursor".into(),
        }
    }

    /// A key while the reason line is open: Enter rejects with the reason, Esc cancels.
    pub(crate) fn reason_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let Some(p) = self.review.reason.as_mut() else { return Vec::new() };
        match k.code {
            KeyCode::Esc => {
                self.review.reason = None;
                self.status = "reject cancelled".into();
            }
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => self.review.reason = None,
            KeyCode::Enter => {
                let ReasonPrompt { hunk, text } = p.clone();
                self.review.reason = None;
                let reason = text.trim().to_owned();
                for d in self.diffs.values_mut() {
                    if let Some(h) = d.hunks.iter_mut().find(|h| h.id == hunk) {
                        h.accepted = false;
                    }
                }
                let short = &hunk[..hunk.len().min(8)];
                if reason.is_empty() {
                    self.review.reasons.remove(&hunk);
                    self.status = format!("hunk {short} rejected");
                } else {
                    self.review.reasons.insert(hunk.clone(), reason.clone());
                    self.status = format!("hunk {short} rejected: {reason}");
                }
                return hooks::reject_with_reason(&hunk, &reason);
            }
            KeyCode::Backspace => {
                p.text.pop();
            }
            KeyCode::Char(c) => p.text.push(c),
            _ => {}
        }
        Vec::new()
    }
}
