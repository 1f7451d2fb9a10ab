//! The workbench: a ratatui TUI over the orchestrator actor.
//!
//! One select loop takes four inputs — actor events, terminal input (keys, mouse, resize),
//! highlighted chunks, and frames — and never blocks on I/O: events and input only change
//! [`App`] state and ask for a frame through a [`FrameRequester`]; requests coalesce, so a
//! burst of streamed tokens costs one frame, and frames are at least [`FRAME`] apart
//! (codex-rs's frame-requester idea, see [`frames`]). Nothing asks while idle, so an idle
//! workbench is never woken; while a run is active a frame is asked for every [`ANIMATION`]
//! for the wave clocks.
//!
//! Syntax highlighting runs on a worker thread that asks for a frame when a chunk is ready
//! (see [`highlight`]), so frames never wait for it.
//!
//! Invariants: the terminal is restored on every exit path, including a panic (the panic
//! hook restores it and turns mouse capture off) and an error, and around the editor;
//! nothing is logged to the screen (tracing goes to a file, see [`log_file`]).

pub mod app;
pub mod changesview;
pub mod cmdline;
pub mod diffmodel;
pub mod effects;
pub mod frames;
pub mod highlight;
pub mod hooks;
pub mod keys;
pub mod layout;
pub mod local;
pub mod mouse;
pub mod panes;
pub mod planview;
pub mod review_state;
pub mod review_ui;
pub mod sbs;
pub mod sidebyside;
pub mod theme;
pub mod view;
pub mod viewed;

use std::path::PathBuf;
use std::time::Duration;

use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::orchestrator::{Command, Event, Handle};
pub use app::App;
use effects::EditJob;
pub use frames::{FrameRequester, FrameTicks, frame_channel};

/// The shortest time between two frames.
pub const FRAME: Duration = Duration::from_millis(16);

/// While a run is active, the longest time between two frames (the wave clocks' resolution).
pub const ANIMATION: Duration = Duration::from_millis(100);

/// What ended the loop.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// Drawing or terminal input failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// Terminal input the loop understands (crossterm's events, or a test's).
pub type InputEvent = crossterm::event::Event;

/// Why [`EventLoop::step`] returned.
#[derive(Debug)]
pub enum Stop {
    /// The app quit or the actor's events ended.
    Quit,
    /// The app needs the editor: suspend the terminal, run it, resume, step again.
    Edit(EditJob),
}

/// The select loop's state across [`EventLoop::step`]s (one step per editor session).
pub struct EventLoop {
    events: UnboundedReceiver<Event>,
    requester: FrameRequester,
    ticks: FrameTicks,
    highlighted: UnboundedReceiver<()>,
    input_open: bool,
}

impl EventLoop {
    /// A loop over `events` for `app` (starts the highlighter's worker; asks for a first frame).
    pub fn new(app: &mut App, events: UnboundedReceiver<Event>) -> Self {
        let (requester, ticks) = frame_channel(FRAME);
        let (hl_tx, highlighted) = unbounded_channel::<()>();
        app.hl.run_in_background(hl_tx);
        requester.schedule_frame();
        Self { events, requester, ticks, highlighted, input_open: true }
    }

    /// A handle that asks this loop for a frame.
    pub fn requester(&self) -> FrameRequester {
        self.requester.clone()
    }

    /// Runs until the app quits, the events end, or the app needs the editor.
    ///
    /// # Errors
    /// [`TuiError`] when drawing or reading input fails.
    pub async fn step<B, S>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &mut App,
        handle: &Handle,
        input: &mut S,
        on_frame: &mut impl FnMut(&Terminal<B>),
    ) -> Result<Stop, TuiError>
    where
        B: Backend,
        B::Error: std::error::Error + Send + Sync + 'static,
        S: Stream<Item = std::io::Result<InputEvent>> + Unpin,
    {
        loop {
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(ev) => {
                        app.on_event(&ev);
                        // Drain what else is queued, so a burst is handled in one go.
                        while let Ok(ev) = self.events.try_recv() {
                            app.on_event(&ev);
                        }
                        self.requester.schedule_frame();
                    }
                    None => return Ok(Stop::Quit),
                },
                inp = input.next(), if self.input_open => {
                    match inp {
                        Some(Ok(InputEvent::Key(k))) => send(handle, app.on_key(k)),
                        Some(Ok(InputEvent::Mouse(m))) => send(handle, app.on_mouse(m)),
                        Some(Ok(InputEvent::Resize(..))) => {}
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(TuiError::Io(e)),
                        None => self.input_open = false,
                    }
                    self.requester.schedule_frame();
                }
                Some(()) = self.highlighted.recv() => self.requester.schedule_frame(),
                true = self.ticks.next() => {
                    terminal.draw(|f| view::draw(app, f)).map_err(|e| TuiError::Io(std::io::Error::other(e)))?;
                    on_frame(terminal);
                    if matches!(app.run, app::RunView::Running(_)) {
                        self.requester.schedule_frame_in(ANIMATION);
                    }
                }
            }
            for e in app.take_effects() {
                if let Some(job) = effects::perform(app, e) {
                    self.requester.schedule_frame();
                    return Ok(Stop::Edit(job));
                }
                self.requester.schedule_frame();
            }
            if app.should_quit {
                return Ok(Stop::Quit);
            }
        }
    }
}

fn send(handle: &Handle, cmds: Vec<Command>) {
    for c in cmds {
        handle.send(c);
    }
}

/// Runs the select loop until the app quits or `events` closes. `input` is the terminal's
/// event stream; `on_frame` is called after each drawn frame (tests and benches use it). An
/// editor session runs without suspending `terminal` (for tests; [`run`] suspends the real
/// one).
///
/// # Errors
/// [`TuiError`] when drawing or reading input fails.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: &Handle,
    events: UnboundedReceiver<Event>,
    mut input: S,
    mut on_frame: impl FnMut(&Terminal<B>),
) -> Result<(), TuiError>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    S: Stream<Item = std::io::Result<InputEvent>> + Unpin,
{
    let mut lp = EventLoop::new(app, events);
    loop {
        match lp.step(terminal, app, handle, &mut input, &mut on_frame).await? {
            Stop::Quit => return Ok(()),
            Stop::Edit(job) => {
                let j = job.clone();
                let status = tokio::task::spawn_blocking(move || effects::run_editor(&j))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                send(handle, effects::finish_edit(app, &job, status));
            }
        }
    }
}

/// The log file for interactive sessions: `<state or cache dir>/ai-tools/ai-tools.log`.
pub fn log_file() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "ai-tools")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir()).to_path_buf();
    Some(dir.join("ai-tools.log"))
}

/// Runs the workbench on the real terminal until the user quits, after sending a snapshot
/// request and then `initial` (e.g. a codegen run to start at once); returns the app's final
/// state (the caller may print its last summary). Mouse capture is on while it runs.
///
/// # Errors
/// [`TuiError`] when the terminal cannot be set up or drawn.
pub async fn run(
    handle: Handle,
    events: UnboundedReceiver<Event>,
    mut app: App,
    initial: Vec<Command>,
) -> Result<App, TuiError> {
    let mut terminal = ratatui::try_init()?;
    install_mouse_restoring_panic_hook();
    mouse_capture(true)?;
    handle.send(Command::Snapshot);
    for c in initial {
        handle.send(c);
    }
    let mut lp = EventLoop::new(&mut app, events);
    let r = loop {
        // A fresh input stream per step: the editor must own the terminal's input while it runs.
        let mut input = crossterm::event::EventStream::new();
        match lp.step(&mut terminal, &mut app, &handle, &mut input, &mut |_| {}).await {
            Ok(Stop::Edit(job)) => {
                drop(input);
                let _ = mouse_capture(false);
                ratatui::restore();
                let j = job.clone();
                let status = tokio::task::spawn_blocking(move || effects::run_editor(&j))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                if let Err(e) = resume(&mut terminal) {
                    break Err(e);
                }
                send(&handle, effects::finish_edit(&mut app, &job, status));
            }
            Ok(Stop::Quit) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let _ = mouse_capture(false);
    ratatui::restore();
    handle.send(Command::Shutdown);
    r.map(|()| app)
}

/// Turns the terminal's mouse reporting on or off.
fn mouse_capture(on: bool) -> std::io::Result<()> {
    use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    if on {
        crossterm::execute!(std::io::stdout(), EnableMouseCapture)
    } else {
        crossterm::execute!(std::io::stdout(), DisableMouseCapture)
    }
}

/// Back into the workbench after the editor: raw mode, the alternate screen (cleared), mouse
/// capture, and both of ratatui's buffers reset so the next frame redraws every cell.
/// (`Terminal::clear` is avoided: it asks the terminal for the cursor position, a read that
/// races the input stream.)
fn resume<B: Backend>(terminal: &mut Terminal<B>) -> Result<(), TuiError> {
    use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, enable_raw_mode};
    enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    mouse_capture(true)?;
    terminal.swap_buffers();
    terminal.swap_buffers();
    Ok(())
}

/// Chains a panic hook that turns mouse capture off before the one ratatui installed (which
/// restores the rest of the terminal).
fn install_mouse_restoring_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = mouse_capture(false);
        prev(info);
    }));
}
