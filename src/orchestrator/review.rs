//! The actor's review commands: snapshot, set hunk states, accept, undo, re-diff. Each runs
//! the [`crate::review`] library on a blocking thread and publishes what happened.
//!
//! Invariant: every command is answered — with its event(s), or [`Event::Rejected`] carrying
//! the error and what to do; after anything that changed the working tree or diff.patch, a
//! [`Event::DiffReady`] and a fresh [`Event::Hunks`] follow, so a front end only ever redraws
//! from events.

use std::path::Path;

use crate::codegen::diff::FileStat;
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Command, Event, FileDiffStat};
use crate::review::{self, AcceptOptions, RecoveryReport, Selection};
use crate::task::TaskDir;

/// Carries out `cmd` (a review command) and publishes the outcome.
pub(crate) async fn handle(task: TaskDir, repo: std::path::PathBuf, bus: EventBus, cmd: Command) {
    let b = bus.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || run(&task, &repo, &b, cmd)).await {
        bus.emit(Event::Rejected { reason: format!("internal error: {e}") });
    }
}

/// The DiffReady event for a re-derived diff.
pub(crate) fn diff_ready(task: &TaskDir, stats: &[FileStat]) -> Event {
    let files: Vec<FileDiffStat> = stats.iter().map(FileDiffStat::from).collect();
    Event::DiffReady {
        patch: task.diff_patch(),
        additions: files.iter().map(|f| f.additions).sum(),
        deletions: files.iter().map(|f| f.deletions).sum(),
        files,
    }
}

fn recovered(bus: &EventBus, r: Option<&RecoveryReport>) {
    if let Some(r) = r {
        bus.emit(Event::Recovered { report: r.clone() });
    }
}

/// Publishes the plan's targets and waves, or a warning when the plan does not load.
fn plan_loaded(task: &TaskDir, repo: &Path, bus: &EventBus) {
    let plan = match crate::plan::load(task, repo) {
        Ok(p) => p,
        Err(e) => {
            bus.emit(Event::log("warn", format!("the plan does not load yet: {e}")));
            return;
        }
    };
    let waves = crate::plan::dag::waves(&plan.files).unwrap_or_default();
    bus.emit(crate::orchestrator::run::plan_loaded(&plan, &waves));
}

fn snapshot(task: &TaskDir, repo: &Path, bus: &EventBus) {
    if !task.diff_patch().exists() {
        // No run has produced a diff (or a redo archived it): nothing to review.
        bus.emit(Event::Hunks { files: Vec::new() });
        return;
    }
    match review::snapshot(task, repo) {
        Ok(files) => bus.emit(Event::Hunks { files }),
        Err(e) => bus.emit(Event::Rejected { reason: e.to_string() }),
    }
}

fn run(task: &TaskDir, repo: &Path, bus: &EventBus, cmd: Command) {
    let rejected = |e: review::ReviewError| bus.emit(Event::Rejected { reason: e.to_string() });
    match cmd {
        Command::Snapshot => {
            plan_loaded(task, repo, bus);
            snapshot(task, repo, bus);
        }
        Command::SetHunks(marks) => match review::set_states(task, repo, &marks) {
            Ok(hunks) => bus.emit(Event::HunksMarked { hunks }),
            Err(e) => rejected(e),
        },
        Command::Accept { hunks, commit, message } => {
            let selection = hunks.map_or(Selection::Accepted, Selection::Hunks);
            match review::accept(task, repo, &AcceptOptions { selection, commit, message, stage: false }) {
                Ok(report) => {
                    recovered(bus, report.recovered.as_ref());
                    let landed = report.accept.is_some();
                    if landed {
                        bus.emit(diff_ready(task, &report.stats));
                    }
                    let (exit_code, suggestion) = (report.exit_code(), report.suggestion().map(str::to_owned));
                    bus.emit(Event::Accepted { report: Box::new(report), exit_code, suggestion });
                    if landed {
                        snapshot(task, repo, bus);
                    }
                }
                Err(e) => rejected(e),
            }
        }
        Command::Undo => match review::undo(task, repo) {
            Ok(report) => {
                recovered(bus, report.recovered.as_ref());
                bus.emit(diff_ready(task, &report.stats));
                bus.emit(Event::Undone { report: Box::new(report) });
                snapshot(task, repo, bus);
            }
            Err(e) => rejected(e),
        },
        Command::Rediff => match review::rediff(task, repo) {
            Ok(r) => {
                bus.emit(diff_ready(task, &r.stats));
                snapshot(task, repo, bus);
            }
            Err(e) => rejected(e),
        },
        _ => {}
    }
}
