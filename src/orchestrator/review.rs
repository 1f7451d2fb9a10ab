//! The actor's review commands: snapshot, set hunk states, accept, undo, re-diff. Each runs
//! the [`crate::review`] library on a blocking thread, publishes what happened, and returns
//! the same events as the command's [`Answer`].
//!
//! Invariant: every command is answered — with its event(s), or [`Event::Rejected`] carrying
//! the error and what to do (and the error's exit code in the answer); after anything that
//! changed the working tree or diff.patch, an [`Event::DiffReady`] and a fresh
//! [`Event::Hunks`] follow, so a front end only ever redraws from events.

use std::path::Path;

use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Answer, Command, Event};
use crate::review::{self, AcceptOptions, RecoveryReport, ReviewError};
use crate::task::TaskDir;

/// Collects what a command publishes into its answer.
struct Out {
    bus: EventBus,
    answer: Answer,
}

impl Out {
    fn emit(&mut self, e: Event) {
        self.bus.emit(e.clone());
        self.answer.events.push(e);
    }

    fn reject(&mut self, e: &ReviewError) {
        self.answer.exit_code = e.exit_code();
        self.answer.error = Some(e.to_string());
        self.emit(Event::Rejected { reason: e.to_string() });
    }

    fn recovered(&mut self, r: Option<&RecoveryReport>) {
        if let Some(r) = r {
            self.emit(Event::Recovered { report: r.clone() });
        }
    }
}

/// Carries out `cmd` (a review command), publishes the outcome on `bus` and returns it.
pub(crate) async fn handle(task: TaskDir, repo: std::path::PathBuf, bus: EventBus, cmd: Command) -> Answer {
    let out = Out { bus: bus.clone(), answer: Answer::default() };
    match tokio::task::spawn_blocking(move || run(&task, &repo, out, cmd)).await {
        Ok(a) => a,
        Err(e) => {
            let ev = Event::Rejected { reason: format!("internal error: {e}") };
            bus.emit(ev.clone());
            Answer { events: vec![ev], exit_code: 1, error: Some(format!("internal error: {e}")) }
        }
    }
}

/// Publishes the plan's targets and waves, or a warning when the plan does not load.
fn plan_loaded(task: &TaskDir, repo: &Path, out: &mut Out) {
    match crate::plan::load(task, repo) {
        Ok(plan) => {
            out.emit(Event::plan_loaded(&plan));
        }
        Err(e) => out.emit(Event::log("warn", format!("the plan does not load yet: {e}"))),
    }
}

/// The review view as it stands. No diff.patch (no run produced one, or a redo archived it)
/// is an empty view for front ends — and, when the command itself asked for the view
/// (`asked`), a refusal in the answer, for a caller that lists hunks.
fn snapshot(task: &TaskDir, repo: &Path, out: &mut Out, asked: bool) {
    if !task.diff_patch().exists() {
        out.emit(Event::Hunks { files: Vec::new() });
        if asked {
            out.answer.exit_code = ReviewError::NoPatch.exit_code();
            out.answer.error = Some(ReviewError::NoPatch.to_string());
        }
        return;
    }
    match review::snapshot(task, repo) {
        Ok(files) => out.emit(Event::Hunks { files }),
        Err(e) => out.reject(&e),
    }
}

/// Undoes back to accept `n`: one [`Event::Undone`] per accept, then the new diff and view.
fn undo_to(task: &TaskDir, repo: &Path, out: &mut Out, n: u32) {
    match review::undo_to(task, repo, n) {
        Ok(reports) => {
            let mut stats = Vec::new();
            for report in reports {
                out.recovered(report.recovered.as_ref());
                if report.git_error.is_some() {
                    out.answer.exit_code = 1;
                }
                stats.clone_from(&report.stats);
                out.emit(Event::Undone { report: Box::new(report) });
            }
            out.emit(Event::diff_ready(task, &stats));
            snapshot(task, repo, out, false);
        }
        Err(e) => out.reject(&e),
    }
}

fn run(task: &TaskDir, repo: &Path, mut out: Out, cmd: Command) -> Answer {
    match cmd {
        Command::Snapshot => {
            plan_loaded(task, repo, &mut out);
            snapshot(task, repo, &mut out, true);
        }
        Command::SetHunks(marks) => match review::set_states(task, repo, &marks) {
            Ok(hunks) => out.emit(Event::HunksMarked { hunks }),
            Err(e) => out.reject(&e),
        },
        Command::Accept { selection, commit, message } => {
            match review::accept(task, repo, &AcceptOptions { selection, commit, message, stage: false }) {
                Ok(report) => {
                    out.recovered(report.recovered.as_ref());
                    let landed = report.accept.is_some();
                    if landed {
                        out.emit(Event::diff_ready(task, &report.stats));
                    }
                    let (exit_code, suggestion) = (report.exit_code(), report.suggestion().map(str::to_owned));
                    out.answer.exit_code = exit_code;
                    out.emit(Event::Accepted { report: Box::new(report), exit_code, suggestion });
                    if landed {
                        snapshot(task, repo, &mut out, false);
                    }
                }
                Err(e) => out.reject(&e),
            }
        }
        Command::Undo => match review::undo(task, repo) {
            Ok(report) => {
                out.recovered(report.recovered.as_ref());
                out.emit(Event::diff_ready(task, &report.stats));
                out.answer.exit_code = i32::from(report.git_error.is_some());
                out.emit(Event::Undone { report: Box::new(report) });
                snapshot(task, repo, &mut out, false);
            }
            Err(e) => out.reject(&e),
        },
        Command::MarkHunks(marks) => match review::mark(task, repo, &marks) {
            Ok(hunks) => out.emit(Event::HunksMarked { hunks }),
            Err(e) => out.reject(&e),
        },
        Command::UndoTo(n) => undo_to(task, repo, &mut out, n),
        Command::CandidateDiff { path } => match review::candidate::candidate_diff(task, &path) {
            Ok(diff) => out.emit(Event::CandidateDiffed { path, diff }),
            Err(e) => out.reject(&e),
        },
        Command::ListAccepts => match review::accepts(task) {
            Ok(accepts) => out.emit(Event::AcceptsListed { accepts }),
            Err(e) => out.reject(&e),
        },
        Command::Rediff => match review::rediff(task, repo) {
            Ok(r) => {
                out.emit(Event::diff_ready(task, &r.stats));
                out.emit(Event::Rediffed { report: r });
                snapshot(task, repo, &mut out, false);
            }
            Err(e) => out.reject(&e),
        },
        _ => {}
    }
    out.answer
}
