//! Keys and slash commands: what each does to the app and which commands it sends the actor.
//!
//! Invariant: [`App::on_key`] never blocks and never does I/O; everything that needs the
//! pipeline is returned as a [`Command`] for the event loop to send.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::orchestrator::Command;
use crate::ui::commands::{self, SlashCommand};
use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::cmdline::LineOutcome;
use crate::ui::tui::review_state::Effect;
use crate::ui::tui::theme::Theme;

/// The keys, for `?` and the README.
pub const KEYS: &[(&str, &str)] = &[
    ("/  :", "open the command line (Enter runs, Esc leaves, Tab completes, ↑↓ history)"),
    ("Tab  Shift-Tab", "next / previous pane"),
    ("j k  ↓ ↑", "move"),
    ("PgDn PgUp", "move a page"),
    ("g  G", "top / bottom"),
    ("n  p", "next / previous hunk"),
    ("]  [", "next / previous file"),
    ("Space", "toggle the hunk under the cursor between accepted and rejected"),
    ("x", "reject the hunk under the cursor, typing a reason (Esc cancels)"),
    ("a  r", "accept / reject every hunk of the file"),
    ("A  R", "accept / reject every hunk of all files"),
    ("Enter", "files: open the diff · validation: jump to the finding"),
    ("v  u", "mark the file viewed (again: unmark) / go to the next unviewed file"),
    ("s", "side-by-side / unified diff"),
    ("e", "edit the file in $VISUAL / $EDITOR (re-validated and re-diffed on save)"),
    ("c", "changes since the previous candidate (after /regen or an edit)"),
    ("mouse", "the wheel scrolls the pane under the pointer; a click selects"),
    ("?", "this help (j/k scroll it, any other key closes it)"),
    ("q", "quit (asks first when accepted hunks were not applied)"),
];

/// Rows a page key moves.
const PAGE: usize = 10;

impl App {
    /// Handles a key; returns the commands to send the actor.
    pub fn on_key(&mut self, k: KeyEvent) -> Vec<Command> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.review.reason.is_some() {
            return self.reason_key(k);
        }
        if self.review.plan.is_some() {
            return self.plan_key(k);
        }
        if self.review.changes.is_some() {
            return self.changes_key(k);
        }
        if self.cmdline.active {
            return match self.cmdline.on_key(k) {
                LineOutcome::Submit(line) => self.run_line(&line),
                LineOutcome::Complete(text) => {
                    let paths: Vec<String> = self.files.iter().map(|f| f.path.clone()).collect();
                    let c = commands::complete(&text, &paths, &self.provider_names, &self.theme_names);
                    self.cmdline.offer(c);
                    Vec::new()
                }
                LineOutcome::Editing | LineOutcome::Cancel => Vec::new(),
            };
        }
        if self.confirm_quit {
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.should_quit = true,
                _ => {
                    self.confirm_quit = false;
                    self.status = "quit cancelled".into();
                }
            }
            return Vec::new();
        }
        if self.help {
            match k.code {
                KeyCode::Char('j') | KeyCode::Down | KeyCode::PageDown => {
                    self.help_scroll = self.help_scroll.saturating_add(3)
                }
                KeyCode::Char('k') | KeyCode::Up | KeyCode::PageUp => {
                    self.help_scroll = self.help_scroll.saturating_sub(3)
                }
                _ => {
                    self.help = false;
                    self.help_scroll = 0;
                }
            }
            return Vec::new();
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return self.quit();
        }
        match k.code {
            KeyCode::Char(c @ ('/' | ':')) => {
                self.cmdline.open(&c.to_string());
                Vec::new()
            }
            KeyCode::Tab => {
                self.focus = self.focus.cycle(true);
                Vec::new()
            }
            KeyCode::BackTab => {
                self.focus = self.focus.cycle(false);
                Vec::new()
            }
            KeyCode::Char('?') => {
                self.help = true;
                Vec::new()
            }
            KeyCode::Char('q') => self.quit(),
            KeyCode::Char(']') => {
                self.select(self.selected + 1);
                Vec::new()
            }
            KeyCode::Char('[') => {
                self.select(self.selected.saturating_sub(1));
                Vec::new()
            }
            KeyCode::Char('A') => self.set_all(None, true),
            KeyCode::Char('R') => self.set_all(None, false),
            KeyCode::Char('a') => {
                self.selected_path().map(str::to_owned).map_or_else(Vec::new, |p| self.set_all(Some(&p), true))
            }
            KeyCode::Char('r') => {
                self.selected_path().map(str::to_owned).map_or_else(Vec::new, |p| self.set_all(Some(&p), false))
            }
            _ => match self.review_key(k) {
                Some(cmds) => cmds,
                None => self.pane_key(k),
            },
        }
    }

    fn quit(&mut self) -> Vec<Command> {
        if self.has_unapplied_accepted() {
            self.confirm_quit = true;
            self.status = "accepted hunks were not applied (/accept applies them). Quit anyway? y/n".into();
        } else {
            self.should_quit = true;
        }
        Vec::new()
    }

    fn pane_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let down = matches!(k.code, KeyCode::Char('j') | KeyCode::Down);
        let up = matches!(k.code, KeyCode::Char('k') | KeyCode::Up);
        match self.focus {
            Pane::Files | Pane::Phases => match k.code {
                _ if down => self.select(self.selected + 1),
                _ if up => self.select(self.selected.saturating_sub(1)),
                KeyCode::PageDown => self.select(self.selected + PAGE),
                KeyCode::PageUp => self.select(self.selected.saturating_sub(PAGE)),
                KeyCode::Char('g') | KeyCode::Home => self.select(0),
                KeyCode::Char('G') | KeyCode::End => self.select(usize::MAX),
                KeyCode::Enter => self.focus = Pane::Diff,
                _ => {}
            },
            Pane::Diff => match k.code {
                _ if down => self.move_diff_cursor(1),
                _ if up => self.move_diff_cursor(-1),
                KeyCode::PageDown => self.move_diff_cursor(PAGE as isize),
                KeyCode::PageUp => self.move_diff_cursor(-(PAGE as isize)),
                KeyCode::Char('g') | KeyCode::Home => self.move_diff_cursor(isize::MIN),
                KeyCode::Char('G') | KeyCode::End => self.move_diff_cursor(isize::MAX),
                KeyCode::Char('n') => self.jump_hunk(true),
                KeyCode::Char('p') => self.jump_hunk(false),
                KeyCode::Char(' ') => return self.toggle_hunk(),
                _ => {}
            },
            Pane::Validation => {
                let last = self.findings.len().saturating_sub(1);
                match k.code {
                    _ if down => self.finding_cursor = (self.finding_cursor + 1).min(last),
                    _ if up => self.finding_cursor = self.finding_cursor.saturating_sub(1),
                    KeyCode::Char('g') | KeyCode::Home => self.finding_cursor = 0,
                    KeyCode::Char('G') | KeyCode::End => self.finding_cursor = last,
                    KeyCode::Enter => self.jump_to_finding(),
                    _ => {}
                }
            }
            Pane::Log => match k.code {
                _ if down => self.log_scroll = self.log_scroll.saturating_sub(1),
                _ if up => self.log_scroll = (self.log_scroll + 1).min(self.log.len()),
                KeyCode::PageDown => self.log_scroll = self.log_scroll.saturating_sub(PAGE),
                KeyCode::PageUp => self.log_scroll = (self.log_scroll + PAGE).min(self.log.len()),
                KeyCode::Char('g') | KeyCode::Home => self.log_scroll = self.log.len(),
                KeyCode::Char('G') | KeyCode::End => self.log_scroll = 0,
                _ => {}
            },
        }
        Vec::new()
    }

    fn jump_hunk(&mut self, forward: bool) {
        let Some(d) = self.selected_path().and_then(|p| self.diffs.get(p)) else { return };
        let cur = self.diff_cursor;
        let target = if forward {
            d.hunks.iter().map(|h| h.row).find(|r| *r > cur)
        } else {
            let here = d.hunk_of(cur).and_then(|h| d.hunks.get(h)).map_or(0, |h| h.row);
            let start = if here < cur { here + 1 } else { here };
            d.hunks.iter().map(|h| h.row).rfind(|r| *r < start)
        };
        if let Some(r) = target {
            self.diff_cursor = r;
            self.diff_scroll = r.saturating_sub(2);
        }
    }

    fn toggle_hunk(&mut self) -> Vec<Command> {
        let cursor = self.diff_cursor;
        let Some(path) = self.selected_path().map(str::to_owned) else { return Vec::new() };
        let Some(d) = self.diffs.get_mut(&path) else { return Vec::new() };
        let Some(h) = d.hunk_of(cursor).and_then(|i| d.hunks.get_mut(i)) else { return Vec::new() };
        h.accepted = !h.accepted;
        let (id, state) = (h.id.clone(), h.accepted);
        if state {
            self.review.reasons.remove(&id);
        }
        self.status = format!("hunk {} {}", &id[..id.len().min(8)], if state { "accepted" } else { "rejected" });
        vec![Command::SetHunks(vec![(id, state)])]
    }

    /// Sets every hunk of `path` (or of every file) to `accepted`.
    fn set_all(&mut self, path: Option<&str>, accepted: bool) -> Vec<Command> {
        let mut changes = Vec::new();
        for (p, d) in &mut self.diffs {
            if path.is_some_and(|x| x != p) {
                continue;
            }
            for h in &mut d.hunks {
                h.accepted = accepted;
                changes.push((h.id.clone(), accepted));
            }
        }
        let what = path.unwrap_or("all files");
        self.status = format!("{} hunks of {what} {}", changes.len(), if accepted { "accepted" } else { "rejected" });
        if changes.is_empty() { Vec::new() } else { vec![Command::SetHunks(changes)] }
    }

    fn jump_to_finding(&mut self) {
        let Some(f) = self.findings.get(self.finding_cursor).cloned() else { return };
        if let Some(i) = self.files.iter().position(|r| r.path == f.file) {
            self.select(i);
        }
        if let Some(row) = self.diffs.get(&f.file).and_then(|d| d.row_of_new_line(f.line)) {
            self.diff_cursor = row;
            self.diff_scroll = row.saturating_sub(3);
        }
        self.focus = Pane::Diff;
    }

    /// Runs one command line; returns the commands for the actor.
    pub fn run_line(&mut self, line: &str) -> Vec<Command> {
        let cmd = match commands::parse(line) {
            Ok(c) => c,
            Err(e) => {
                self.log_line(e.to_string());
                return Vec::new();
            }
        };
        if let Some(c) = cmd.command() {
            return vec![c];
        }
        match cmd {
            SlashCommand::Reject(path) => return self.set_all(path.as_deref(), false),
            SlashCommand::Files => self.focus = Pane::Files,
            SlashCommand::Errors => self.focus = Pane::Validation,
            SlashCommand::Log => self.focus = Pane::Log,
            SlashCommand::Diff(path) => {
                if let Some(p) = path {
                    match self.files.iter().position(|f| f.path == p) {
                        Some(i) => self.select(i),
                        None => {
                            self.log_line(format!("no file {p} in this task"));
                            return Vec::new();
                        }
                    }
                }
                self.focus = Pane::Diff;
            }
            SlashCommand::Provider(None) => {
                let (chain, model) = &self.provider;
                self.log_line(format!(
                    "provider: {} ({model})",
                    if chain.is_empty() { "not chosen yet".to_owned() } else { chain.join(" → ") }
                ));
            }
            SlashCommand::Model(None) => {
                let m = self.provider.1.clone();
                self.log_line(format!("model: {}", if m.is_empty() { "provider default" } else { &m }));
            }
            SlashCommand::Theme(None) => {
                let n = self.theme.name.clone();
                self.log_line(format!("theme: {n} (available: {})", self.theme_names.join(", ")));
            }
            SlashCommand::Theme(Some(t)) => match Theme::load(&t, self.theme.depth) {
                Ok(theme) => {
                    self.hl.set_theme(&theme.syntax_theme, theme.depth);
                    self.theme = theme;
                    self.log_line(format!("theme: {t}"));
                }
                Err(e) => self.log_line(e.to_string()),
            },
            SlashCommand::Plan { edit: false } => self.review.effects.push(Effect::ShowPlan),
            SlashCommand::Plan { edit: true } => self.review.effects.push(Effect::EditPlan),
            SlashCommand::Changes(_) => match self.selected_path() {
                Some(p) => return vec![Command::CandidateDiff { path: p.to_owned() }],
                None => self.log_line("no file selected: /changes PATH"),
            },
            SlashCommand::Edit(_) => match self.selected_path() {
                Some(p) => return vec![Command::EditBegin { path: p.to_owned() }],
                None => self.log_line("no file selected: /edit PATH"),
            },
            SlashCommand::Help => self.help = true,
            SlashCommand::Quit => return self.quit(),
            // Sent to the actor above.
            SlashCommand::Regen { .. }
            | SlashCommand::Codegen
            | SlashCommand::RedoCodegen
            | SlashCommand::Cancel
            | SlashCommand::Accept
            | SlashCommand::Undo
            | SlashCommand::Accepts
            | SlashCommand::Provider(Some(_))
            | SlashCommand::Model(Some(_)) => {}
        }
        Vec::new()
    }
}
