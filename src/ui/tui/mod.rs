//! The workbench: a ratatui TUI over the orchestrator actor.
//!
//! One select loop takes three inputs — actor events, terminal input, and a frame tick — and
//! never blocks on I/O: events and keys only change [`App`] state and mark the screen dirty;
//! the tick draws at most one frame per [`FRAME`] when something changed, so a burst of streamed
//! tokens costs one redraw, not one per token (codex-rs's frame-requester idea).
//!
//! Syntax highlighting runs on a worker thread that asks for a redraw when a chunk is ready
//! (see [`highlight`]), so frames never wait for it.
//!
//! Invariants: the terminal is restored on every exit path, including a panic (ratatui's
//! `init` installs the restoring panic hook) and an error; nothing is logged to the screen
//! (tracing goes to a file, see [`log_file`]).

pub mod app;
pub mod cmdline;
pub mod diffmodel;
pub mod highlight;
pub mod keys;
pub mod panes;
pub mod theme;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::orchestrator::{Command, Event, Handle};
pub use app::App;

/// The shortest time between two frames.
pub const FRAME: Duration = Duration::from_millis(16);

/// What ended the loop.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// Drawing or terminal input failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// Terminal input the loop understands (crossterm's events, or a test's).
pub type InputEvent = crossterm::event::Event;

/// Runs the select loop until the app quits or `events` closes. `input` is the terminal's
/// event stream; `on_frame` is called after each drawn frame (tests and benches use it).
///
/// # Errors
/// [`TuiError`] when drawing or reading input fails.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: &Handle,
    mut events: UnboundedReceiver<Event>,
    mut input: S,
    mut on_frame: impl FnMut(&Terminal<B>),
) -> Result<(), TuiError>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    S: Stream<Item = std::io::Result<InputEvent>> + Unpin,
{
    let mut dirty = true;
    let (redraw_tx, mut redraw) = tokio::sync::mpsc::unbounded_channel::<()>();
    app.hl.run_in_background(redraw_tx);
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut input_open = true;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) => {
                    app.on_event(&ev);
                    // Drain what else is queued, so a burst costs one frame.
                    while let Ok(ev) = events.try_recv() {
                        app.on_event(&ev);
                    }
                    dirty = true;
                }
                None => break,
            },
            inp = input.next(), if input_open => match inp {
                Some(Ok(InputEvent::Key(k))) => {
                    for c in app.on_key(k) {
                        handle.send(c);
                    }
                    dirty = true;
                }
                Some(Ok(InputEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(TuiError::Io(e)),
                None => input_open = false,
            },
            Some(()) = redraw.recv() => dirty = true,
            _ = tick.tick() => {
                let streaming = app.files.iter().any(|f| matches!(f.progress, app::FileProgress::Streaming(_)));
                if dirty || streaming {
                    terminal.draw(|f| view::draw(app, f)).map_err(|e| TuiError::Io(std::io::Error::other(e)))?;
                    on_frame(terminal);
                    dirty = false;
                }
            }
        }
        if app.should_quit {
            break;
        }
    }
    Ok(())
}

/// The log file for interactive sessions: `<state or cache dir>/ai-tools/ai-tools.log`.
pub fn log_file() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "ai-tools")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir()).to_path_buf();
    Some(dir.join("ai-tools.log"))
}

/// Runs the workbench on the real terminal until the user quits, after sending a snapshot
/// request and then `initial` (e.g. a codegen run to start at once); returns the app's final
/// state (the caller may print its last summary).
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
    handle.send(Command::Snapshot);
    for c in initial {
        handle.send(c);
    }
    let input = crossterm::event::EventStream::new();
    let r = run_loop(&mut terminal, &mut app, &handle, events, input, |_| {}).await;
    ratatui::restore();
    handle.send(Command::Shutdown);
    r.map(|()| app)
}
