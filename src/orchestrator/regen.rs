//! The actor's regeneration ([`Command::Regen`](crate::orchestrator::Command::Regen)): runs
//! [`crate::review::regen::regenerate`] as the actor's current run, publishing each step as
//! [`Event::RegenProgress`].
//!
//! Invariant: the answer carries every event this published, in order — the progress, then
//! [`Event::Regenerated`] and [`Event::DiffReady`], or one [`Event::Rejected`] with the error's
//! exit code (2 bad input, 3 scope mismatch, 130 cancelled; `code/` unchanged then). The actor
//! publishes a fresh [`Event::Hunks`] after it, as after every run.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::codegen::prompt::Prompts;
use crate::orchestrator::bus::EventBus;
use crate::orchestrator::events::{Answer, Event};
use crate::review::regen::{self, RegenCtx, RegenProgress, RegenRequest, RegenSettings};
use crate::task::TaskDir;

/// What a regeneration runs with (owned, for the spawned task).
pub(crate) struct RegenEnv {
    pub repo: PathBuf,
    pub task: TaskDir,
    pub settings: RegenSettings,
    pub broker: Arc<Broker>,
    pub prompts: Arc<Prompts>,
    pub bus: EventBus,
    pub cancel: CancellationToken,
}

/// Regenerates `req`'s targets and returns the answer (see the module docs).
pub(crate) async fn run(env: RegenEnv, req: RegenRequest) -> Answer {
    let events = Arc::new(Mutex::new(Vec::new()));
    let (bus, seen) = (env.bus.clone(), events.clone());
    let publish = move |e: Event| {
        bus.emit(e.clone());
        if let Ok(mut v) = seen.lock() {
            v.push(e);
        }
    };
    let progress = {
        let publish = publish.clone();
        move |p: RegenProgress| publish(Event::RegenProgress { progress: p })
    };
    let ctx = RegenCtx {
        repo: &env.repo,
        task: &env.task,
        broker: &env.broker,
        prompts: &env.prompts,
        settings: &env.settings,
        cancel: &env.cancel,
        progress: &progress,
    };
    let (exit_code, error) = match regen::regenerate(&ctx, &req).await {
        Ok(report) => {
            let stats = report.installed.rediff.stats.clone();
            publish(Event::Regenerated { report: Box::new(report) });
            publish(Event::diff_ready(&env.task, &stats));
            (0, None)
        }
        Err(e) => {
            publish(Event::Rejected { reason: e.to_string() });
            (e.exit_code(), Some(e.to_string()))
        }
    };
    drop(progress);
    let events = events.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    Answer { events, exit_code, error }
}
