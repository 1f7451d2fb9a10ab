//! The orchestrator actor: the one owner of the pipeline.
//!
//! Front ends send [`Command`]s through a [`Handle`] and render the [`Event`]s it publishes;
//! they never call stages themselves. A front end that needs an answer (a one-shot CLI
//! command, the REPL listing hunks) asks with [`Handle::request`] and gets the command's
//! [`Answer`] on a reply channel. The actor runs one codegen run at a time as a child task
//! (so it keeps taking commands — cancel, provider changes — while a run streams), builds the
//! broker lazily from the session's configuration, and rebuilds it when `/provider` or
//! `/model` change it.
//!
//! Layout: [`run`] is the run context and its driver, [`stages`] the stages (one `impl Run`
//! file each), [`review`] the review commands, [`events`] the commands and events, [`fail`]
//! the one way to fail.
//!
//! Invariants: at most one run is active; a command that cannot be carried out is answered
//! with [`Event::Rejected`], never ignored, and every request gets an answer; when the actor
//! stops, an active run is cancelled; the actor never writes the task (the run and the review
//! engine do).
//!
//! A new command goes in [`events::Command`], is handled in `Actor::handle` (a review command
//! in [`review`]), answers with events, and gets a slash command in [`crate::ui::commands`]
//! when people type it.

pub mod bus;
mod edit;
pub mod events;
pub(crate) mod fail;
mod regen;
mod review;
pub mod run;
pub mod stages;
pub mod summary;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Role, build};
use crate::codegen::diff::Backend;
use crate::codegen::generate::GenerateSettings;
use crate::codegen::prompt::Prompts;
use crate::config::Config;
use crate::task::TaskDir;

pub use bus::EventBus;
pub use events::{Answer, Command, Event, RunOptions};

use crate::orchestrator::fail::Fail;

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
        let kind = primary.as_deref().map(|p| c.providers.get(p).and_then(|pc| pc.kind.as_deref()).unwrap_or(p));
        let mut generate_quality = c.generate.clone();
        generate_quality.candidates = Some(generate_quality.candidates_for(kind.unwrap_or_default()));
        run::RunSettings {
            concurrency: c.concurrency.max(1),
            context_budget: limits.context_budget_tokens,
            repo_summary_max_files: c.repo_summary_max_files,
            generate: GenerateSettings {
                edit_threshold_lines: c.edit_threshold_lines,
                max_tokens: limits.max_tokens,
                temperature: Some(
                    c.temperature
                        .unwrap_or_else(|| crate::codegen::quality::default_temperature(kind.unwrap_or_default())),
                ),
                top_p: c.top_p,
                seed: c.seed,
                candidate: None,
            },
            generate_quality,
            diff_backend: Backend::default(),
            validate: c.validate.clone(),
            repair: c.repair.clone(),
            test: c.test.clone(),
            format: c.format.clone(),
            quality: c.quality.clone(),
            sandbox: {
                let mut s = c.sandbox.clone();
                s.deny_env.extend(c.providers.values().filter_map(|p| p.api_key_env.clone()));
                s
            },
        }
    }

    /// The regeneration settings: those of a run ([`Session::run_settings`]).
    pub fn regen_settings(&self) -> crate::review::regen::RegenSettings {
        let r = self.run_settings();
        crate::review::regen::RegenSettings {
            context_budget: r.context_budget,
            repo_summary_max_files: r.repo_summary_max_files,
            generate: r.generate,
            validate: r.validate,
            repair: r.repair,
            candidate_temperature: r.generate_quality.candidate_temperature,
            sandbox: r.sandbox,
        }
    }
}

/// A command on its way to the actor, with where its answer goes.
#[derive(Debug)]
pub struct Request {
    /// The command.
    pub command: Command,
    reply: Option<oneshot::Sender<Answer>>,
}

/// A front end's connection to the actor.
#[derive(Clone)]
pub struct Handle {
    tx: UnboundedSender<Request>,
    bus: EventBus,
}

/// The answer when the actor is gone before answering.
fn actor_gone() -> Answer {
    Answer { events: Vec::new(), exit_code: 1, error: Some("the orchestrator stopped before answering".into()) }
}

impl Handle {
    /// Sends a command without waiting for its answer (ignored once the actor has stopped).
    pub fn send(&self, c: Command) {
        let _ = self.tx.send(Request { command: c, reply: None });
    }

    /// Sends a command and waits for its [`Answer`]: the events it published (for a codegen
    /// run, its final event) and its exit code.
    pub async fn request(&self, c: Command) -> Answer {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request { command: c, reply: Some(tx) }).is_err() {
            return actor_gone();
        }
        rx.await.unwrap_or_else(|_| actor_gone())
    }

    /// [`Handle::request`] from a thread that is not async (the REPL's line editor).
    pub fn request_blocking(&self, c: Command) -> Answer {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request { command: c, reply: Some(tx) }).is_err() {
            return actor_gone();
        }
        rx.blocking_recv().unwrap_or_else(|_| actor_gone())
    }

    /// A new event subscription.
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        self.bus.subscribe()
    }

    /// A handle with no actor behind it: commands go to the returned [`SentCommands`] and
    /// events are whatever the caller emits on the returned bus. For driving a front end in
    /// tests and benchmarks.
    pub fn detached() -> (Handle, SentCommands, EventBus) {
        let (tx, rx) = unbounded_channel();
        let bus = EventBus::new();
        (Handle { tx, bus: bus.clone() }, SentCommands(rx), bus)
    }
}

/// What front ends sent through a [`Handle::detached`] handle (requests go unanswered).
pub struct SentCommands(UnboundedReceiver<Request>);

impl SentCommands {
    /// The next command sent, if any is waiting.
    ///
    /// # Errors
    /// When none is waiting (or every handle is gone).
    pub fn try_recv(&mut self) -> Result<Command, tokio::sync::mpsc::error::TryRecvError> {
        self.0.try_recv().map(|r| r.command)
    }

    /// The next command sent; `None` once every handle is gone.
    pub async fn recv(&mut self) -> Option<Command> {
        self.0.recv().await.map(|r| r.command)
    }

    /// Whether no command is waiting.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Starts the actor; returns its handle, a first subscription (so no event is missed), and
/// the actor's task.
pub fn spawn(session: Session) -> (Handle, UnboundedReceiver<Event>, JoinHandle<()>) {
    let (tx, rx) = unbounded_channel();
    let bus = EventBus::new();
    let first = bus.subscribe();
    let actor =
        Actor { session, bus: bus.clone(), broker: None, prompts: None, current: None, edits: edit::Edits::default() };
    let join = tokio::spawn(actor.run(rx));
    (Handle { tx, bus }, first, join)
}

/// The active run: its task (ending with its final event), its cancel token, and who waits
/// for its answer.
struct Current {
    join: JoinHandle<Answer>,
    cancel: CancellationToken,
    reply: Option<oneshot::Sender<Answer>>,
}

struct Actor {
    session: Session,
    bus: EventBus,
    broker: Option<Arc<Broker>>,
    prompts: Option<Arc<Prompts>>,
    current: Option<Current>,
    edits: edit::Edits,
}

/// Answers `reply` (if anyone waits) with `answer`.
fn answer(reply: Option<oneshot::Sender<Answer>>, answer: Answer) {
    if let Some(r) = reply {
        let _ = r.send(answer);
    }
}

impl Actor {
    async fn run(mut self, mut rx: UnboundedReceiver<Request>) {
        loop {
            let finished = async {
                match self.current.as_mut() {
                    Some(c) => (&mut c.join).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                req = rx.recv() => {
                    let Some(req) = req else { break };
                    if !self.handle(req).await {
                        break;
                    }
                }
                joined = finished => self.run_ended(joined).await,
            }
        }
        if let Some(c) = self.current.take() {
            c.cancel.cancel();
            let _ = c.join.await;
        }
    }

    /// A run's task ended: answer whoever waits for it, then publish the new diff's hunks
    /// (front ends draw hunks from events only; an empty list when the run left no diff).
    async fn run_ended(&mut self, joined: Result<Answer, tokio::task::JoinError>) {
        let reply = self.current.take().and_then(|c| c.reply);
        let a = match joined {
            Ok(a) => a,
            Err(e) => {
                // The run catches its own panics and records them; this is a task that was
                // aborted: tell the front ends, so none waits forever.
                let ev = Fail::internal(e).event(None);
                self.bus.emit(ev.clone());
                Answer { events: vec![ev], exit_code: 1, error: None }
            }
        };
        answer(reply, a);
        review::handle(self.session.task.clone(), self.session.repo.clone(), self.bus.clone(), Command::Snapshot).await;
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
        self.current.as_ref().is_some_and(|c| !c.join.is_finished())
    }

    /// Publishes a refusal and answers it (exit code 1).
    fn reject(&self, reply: Option<oneshot::Sender<Answer>>, reason: impl Into<String>) {
        let reason = reason.into();
        let ev = Event::Rejected { reason: reason.clone() };
        self.bus.emit(ev.clone());
        answer(reply, Answer { events: vec![ev], exit_code: 1, error: Some(reason) });
    }

    /// Handles one request; `false` stops the actor.
    async fn handle(&mut self, req: Request) -> bool {
        let Request { command, reply } = req;
        match command {
            Command::Codegen(opts) => self.codegen(opts, reply),
            Command::Cancel => match &self.current {
                Some(c) if self.running() => {
                    c.cancel.cancel();
                    answer(reply, Answer::default());
                }
                _ => self.reject(reply, "no run is active"),
            },
            Command::SetProvider(p) => {
                let before = self.session.config.clone();
                self.session.config.provider = Some(p);
                self.reconfigure(before, reply);
            }
            Command::SetModel(m) => {
                let before = self.session.config.clone();
                self.session.config.model = Some(m);
                self.reconfigure(before, reply);
            }
            cmd @ (Command::SetHunks(_)
            | Command::MarkHunks(_)
            | Command::Accept { .. }
            | Command::Undo
            | Command::UndoTo(_)
            | Command::ListAccepts
            | Command::Snapshot
            | Command::CandidateDiff { .. }
            | Command::Rediff) => {
                // A run rewrites code/ and state.json as it goes: review waits for it.
                if self.running() {
                    self.reject(reply, "a codegen run is active; review and accept when it ends (or /cancel it)");
                    return true;
                }
                let a =
                    review::handle(self.session.task.clone(), self.session.repo.clone(), self.bus.clone(), cmd).await;
                answer(reply, a);
            }
            Command::Regen { paths, note, with_dependents } => {
                let req = crate::review::regen::RegenRequest { paths, note, with_dependents };
                self.regen(req, reply);
            }
            Command::EditBegin { path } => {
                if self.running() {
                    self.reject(reply, "a codegen run is active; edit when it ends (or /cancel it)");
                    return true;
                }
                let deny = self.session.run_settings().sandbox.deny_env;
                answer(reply, self.edits.begin(&self.session.task, &self.bus, path, deny));
            }
            Command::EditFinish { path, editor_ok } => {
                if self.running() {
                    self.reject(reply, "a codegen run is active; send the edit again when it ends (/edit PATH)");
                    return true;
                }
                let s = &self.session;
                let (validate, sandbox) = {
                    let r = s.run_settings();
                    (r.validate, r.sandbox)
                };
                let a = self.edits.finish(&s.task, &s.repo, (&validate, &sandbox), &self.bus, &path, editor_ok).await;
                answer(reply, a);
            }
            Command::Shutdown => {
                answer(reply, Answer::default());
                return false;
            }
        }
        true
    }

    /// Starts a run, or refuses: one is active, or the providers or prompts do not load.
    fn codegen(&mut self, opts: RunOptions, reply: Option<oneshot::Sender<Answer>>) {
        if self.running() {
            self.reject(reply, "a codegen run is already active; /cancel it first");
            return;
        }
        let setup = self.broker().and_then(|b| self.prompts().map(|p| (b, p)));
        let (broker, prompts) = match setup {
            Ok(x) => x,
            Err(reason) => {
                let f = Fail::bad_input(
                    reason,
                    "fix the provider configuration (see `ai-tools providers`) and run codegen again",
                );
                let ev = f.event(None);
                self.bus.emit(ev.clone());
                answer(reply, Answer { events: vec![ev], exit_code: 2, error: None });
                return;
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
        let join = tokio::spawn(async move {
            let last = run::run(env, opts).await;
            let exit_code = match &last {
                Event::Failed { exit_code, .. } => *exit_code,
                _ => 0,
            };
            Answer { events: vec![last], exit_code, error: None }
        });
        self.current = Some(Current { join, cancel, reply });
    }

    /// Starts a regeneration as the current run ([`regen::run`]), or refuses: a run is
    /// active, or the providers or prompts do not load (exit code 2).
    fn regen(&mut self, req: crate::review::regen::RegenRequest, reply: Option<oneshot::Sender<Answer>>) {
        if self.running() {
            self.reject(reply, "a codegen run is active; regenerate when it ends (or /cancel it)");
            return;
        }
        let setup = self.broker().and_then(|b| self.prompts().map(|p| (b, p)));
        let (broker, prompts) = match setup {
            Ok(x) => x,
            Err(reason) => {
                let ev = Event::Rejected { reason: reason.clone() };
                self.bus.emit(ev.clone());
                answer(reply, Answer { events: vec![ev], exit_code: 2, error: Some(reason) });
                return;
            }
        };
        let cancel = CancellationToken::new();
        let env = regen::RegenEnv {
            repo: self.session.repo.clone(),
            task: self.session.task.clone(),
            settings: self.session.regen_settings(),
            broker,
            prompts,
            bus: self.bus.clone(),
            cancel: cancel.clone(),
        };
        self.current = Some(Current { join: tokio::spawn(regen::run(env, req)), cancel, reply });
    }

    /// Rebuilds the broker for the changed configuration; when that fails, the change is
    /// refused and `before` stays in force.
    fn reconfigure(&mut self, before: Config, reply: Option<oneshot::Sender<Answer>>) {
        let previous = self.broker.take();
        match self.broker() {
            Ok(b) => {
                let model = b.primary(Role::Codegen).map(|p| p.model().to_owned()).unwrap_or_default();
                let ev = Event::ProviderChanged { providers: b.chain(Role::Codegen), model };
                self.bus.emit(ev.clone());
                answer(reply, Answer { events: vec![ev], exit_code: 0, error: None });
            }
            Err(e) => {
                self.session.config = before;
                self.broker = previous;
                self.reject(reply, format!("{e}; keeping the current provider"));
            }
        }
    }
}
