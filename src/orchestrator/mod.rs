//! The orchestrator actor: the one owner of the pipeline.
//!
//! Front ends send [`Command`]s through a [`Handle`] and render the [`Event`]s it publishes;
//! they never call stages themselves. The actor runs one codegen run at a time as a child task
//! (so it keeps taking commands — cancel, provider changes — while a run streams), builds the
//! broker lazily from the session's configuration, and rebuilds it when `/provider` or
//! `/model` change it.
//!
//! Invariants: at most one run is active; a command that cannot be carried out is answered
//! with [`Event::Rejected`], never ignored; when the actor stops, an active run is cancelled.

pub mod bus;
pub(crate) mod checks;
pub mod events;
pub mod resume;
mod review;
pub mod run;
mod scheduler;
pub mod summary;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Role, build};
use crate::codegen::diff::Backend;
use crate::codegen::generate::GenerateSettings;
use crate::codegen::prompt::Prompts;
use crate::config::Config;
use crate::task::TaskDir;

pub use bus::EventBus;
pub use events::{Command, Event, RunOptions};
pub use run::Outcome;

/// Reads environment variables (injectable so tests control what providers see).
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the actor works on.
#[derive(Clone)]
pub struct Session {
    /// Repo root.
    pub repo: PathBuf,
    /// The task.
    pub task: TaskDir,
    /// Resolved configuration (flags applied).
    pub config: Config,
    /// Environment lookup for provider keys and endpoints.
    pub env: Env,
    /// Prompt override dir.
    pub prompt_dir: Option<PathBuf>,
}

impl Session {
    /// The run settings the configuration implies; the token limits are those of the codegen
    /// chain's first provider ([`Config::limits_for`]).
    pub fn run_settings(&self) -> run::RunSettings {
        let c = &self.config;
        let env = self.env.clone();
        let primary = build::resolve_roles(c, &|k| env(k)).remove(&Role::Codegen).and_then(|ch| ch.into_iter().next());
        let limits = c.limits_for(primary.as_deref().unwrap_or_default());
        run::RunSettings {
            concurrency: c.concurrency.max(1),
            context_budget: limits.context_budget_tokens,
            repo_summary_max_files: c.repo_summary_max_files,
            generate: GenerateSettings {
                edit_threshold_lines: c.edit_threshold_lines,
                max_tokens: limits.max_tokens,
                temperature: c.temperature,
                top_p: c.top_p,
                seed: c.seed,
            },
            diff_backend: Backend::default(),
            validate: c.validate.clone(),
            repair: c.repair.clone(),
        }
    }
}

/// A front end's connection to the actor.
#[derive(Clone)]
pub struct Handle {
    tx: UnboundedSender<Command>,
    bus: EventBus,
}

impl Handle {
    /// Sends a command (ignored once the actor has stopped).
    pub fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }

    /// A new event subscription.
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        self.bus.subscribe()
    }

    /// A handle with no actor behind it: commands go to the returned receiver and events are
    /// whatever the caller emits on the returned bus. For driving a front end in tests and
    /// benchmarks.
    pub fn detached() -> (Handle, UnboundedReceiver<Command>, EventBus) {
        let (tx, rx) = unbounded_channel();
        let bus = EventBus::new();
        (Handle { tx, bus: bus.clone() }, rx, bus)
    }
}

/// Starts the actor; returns its handle, a first subscription (so no event is missed), and
/// the actor's task.
pub fn spawn(session: Session) -> (Handle, UnboundedReceiver<Event>, JoinHandle<()>) {
    let (tx, rx) = unbounded_channel();
    let bus = EventBus::new();
    let first = bus.subscribe();
    let actor = Actor { session, bus: bus.clone(), broker: None, prompts: None, current: None };
    let join = tokio::spawn(actor.run(rx));
    (Handle { tx, bus }, first, join)
}

struct Actor {
    session: Session,
    bus: EventBus,
    broker: Option<Arc<Broker>>,
    prompts: Option<Arc<Prompts>>,
    current: Option<(JoinHandle<Outcome>, CancellationToken)>,
}

impl Actor {
    async fn run(mut self, mut rx: UnboundedReceiver<Command>) {
        loop {
            let finished = async {
                match self.current.as_mut() {
                    Some((h, _)) => h.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    if !self.handle(cmd).await {
                        break;
                    }
                }
                joined = finished => {
                    self.current = None;
                    if let Err(e) = joined {
                        self.run_died(&e.to_string());
                    }
                    // Front ends draw hunks from events only: publish the new diff's hunks (an
                    // empty list when the run left no diff).
                    review::handle(self.session.task.clone(), self.session.repo.clone(), self.bus.clone(), Command::Snapshot).await;
                }
            }
        }
        if let Some((h, c)) = self.current.take() {
            c.cancel();
            let _ = h.await;
        }
    }

    /// A run task that ended without its final event (it panicked): record the failure in
    /// state.json and tell the front ends, so none waits forever.
    fn run_died(&self, why: &str) {
        let reason = format!("internal error: the run stopped unexpectedly ({why})");
        let suggestion = "report this bug with the log file; run codegen again".to_owned();
        if let Ok(mut st) = crate::task::state::TaskState::load(&self.session.task) {
            st.status = crate::task::state::RunStatus::Failed;
            st.failure = Some(crate::task::state::Failure { reason: reason.clone(), suggestion: suggestion.clone() });
            if let Err(e) = st.save(&self.session.task) {
                tracing::error!("cannot write state.json: {e}");
            }
        }
        self.bus.emit(Event::Failed {
            status: crate::task::state::RunStatus::Failed,
            reason,
            suggestion,
            exit_code: 1,
            next_phase: None,
            files: vec![],
            summary: None,
        });
    }

    fn broker(&mut self) -> Result<Arc<Broker>, String> {
        if let Some(b) = &self.broker {
            return Ok(b.clone());
        }
        let env = self.session.env.clone();
        let b = Arc::new(build::build(&self.session.config, &|k| env(k)).map_err(|e| e.to_string())?);
        self.broker = Some(b.clone());
        Ok(b)
    }

    fn prompts(&mut self) -> Result<Arc<Prompts>, String> {
        if let Some(p) = &self.prompts {
            return Ok(p.clone());
        }
        let p = Arc::new(Prompts::load(self.session.prompt_dir.as_deref()).map_err(|e| e.to_string())?);
        for o in p.overrides() {
            self.bus.emit(Event::log("info", format!("prompt template overridden by {}", o.display())));
        }
        self.prompts = Some(p.clone());
        Ok(p)
    }

    fn running(&self) -> bool {
        self.current.as_ref().is_some_and(|(h, _)| !h.is_finished())
    }

    /// Handles one command; `false` stops the actor.
    async fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Codegen(opts) => {
                if self.running() {
                    self.bus
                        .emit(Event::Rejected { reason: "a codegen run is already active; /cancel it first".into() });
                    return true;
                }
                let setup = self.broker().and_then(|b| self.prompts().map(|p| (b, p)));
                let (broker, prompts) = match setup {
                    Ok(x) => x,
                    Err(reason) => {
                        self.bus.emit(Event::Failed {
                            status: crate::task::state::RunStatus::Failed,
                            reason,
                            suggestion: "fix the provider configuration (see `ai-tools providers`) and run codegen again".into(),
                            exit_code: 2,
                            next_phase: None,
                            files: vec![],
                            summary: None,
                        });
                        return true;
                    }
                };
                let cancel = CancellationToken::new();
                let env = run::RunEnv {
                    repo: self.session.repo.clone(),
                    task: self.session.task.clone(),
                    settings: self.session.run_settings(),
                    broker,
                    prompts,
                    bus: self.bus.clone(),
                    cancel: cancel.clone(),
                };
                self.current = Some((tokio::spawn(run::run(env, opts)), cancel));
            }
            Command::Cancel => match &self.current {
                Some((_, c)) if self.running() => c.cancel(),
                _ => self.bus.emit(Event::Rejected { reason: "no run is active".into() }),
            },
            Command::SetProvider(p) => {
                let before = self.session.config.clone();
                self.session.config.provider = Some(p);
                self.reconfigure(before);
            }
            Command::SetModel(m) => {
                let before = self.session.config.clone();
                self.session.config.model = Some(m);
                self.reconfigure(before);
            }
            cmd @ (Command::SetHunks(_)
            | Command::Accept { .. }
            | Command::Undo
            | Command::Snapshot
            | Command::Rediff) => {
                // A run rewrites code/ and state.json as it goes: review waits for it.
                if self.running() {
                    self.bus.emit(Event::Rejected {
                        reason: "a codegen run is active; review and accept when it ends (or /cancel it)".into(),
                    });
                    return true;
                }
                review::handle(self.session.task.clone(), self.session.repo.clone(), self.bus.clone(), cmd).await;
            }
            Command::Shutdown => return false,
        }
        true
    }

    /// Rebuilds the broker for the changed configuration; when that fails, the change is
    /// refused and `before` stays in force.
    fn reconfigure(&mut self, before: Config) {
        let previous = self.broker.take();
        match self.broker() {
            Ok(b) => {
                let model = b.primary(Role::Codegen).map(|p| p.model().to_owned()).unwrap_or_default();
                self.bus.emit(Event::ProviderChanged { providers: b.chain(Role::Codegen), model });
            }
            Err(e) => {
                self.session.config = before;
                self.broker = previous;
                self.bus.emit(Event::Rejected { reason: format!("{e}; keeping the current provider") });
            }
        }
    }
}
