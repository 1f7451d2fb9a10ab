//! The headless front end: progress on stderr (indicatif bars on a terminal, plain lines
//! otherwise) and, with `--json`, every event as one NDJSON line on stdout.
//!
//! Invariant: with `--json`, stdout carries only NDJSON event lines; everything for people goes
//! to stderr.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::orchestrator::{Command, Event, Handle, RunOptions};
use crate::ui::describe;

/// Output options.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadlessOptions {
    /// NDJSON events on stdout.
    pub json: bool,
    /// No progress lines on stderr (errors and the summary still print).
    pub quiet: bool,
}

struct Progress {
    multi: MultiProgress,
    tty: bool,
    quiet: bool,
    waves: HashMap<usize, ProgressBar>,
    /// Each target's wave, from `WaveStarted`.
    wave_of: HashMap<String, usize>,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal() && !quiet;
        let target = if tty { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Self {
            multi: MultiProgress::with_draw_target(target),
            tty,
            quiet,
            waves: HashMap::new(),
            wave_of: HashMap::new(),
        }
    }

    fn line(&self, s: &str) {
        if self.quiet {
            return;
        }
        if self.tty {
            let _ = self.multi.println(s);
        } else {
            eprintln!("{s}");
        }
    }

    fn on(&mut self, e: &Event) {
        match e {
            Event::WaveStarted { wave, files } => {
                let bar = self.multi.add(ProgressBar::new(files.len() as u64));
                bar.set_style(
                    ProgressStyle::with_template("  wave {prefix} [{bar:24}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(wave.to_string());
                for f in files {
                    self.wave_of.insert(f.clone(), *wave);
                }
                bar.enable_steady_tick(Duration::from_millis(200));
                self.waves.insert(*wave, bar);
            }
            Event::FileStarted { path, wave } => {
                if let Some(b) = self.waves.get(wave) {
                    b.set_message(path.clone());
                }
                return;
            }
            Event::FileGenerated { path, .. } | Event::FileFailed { path, .. } | Event::FileSkipped { path, .. } => {
                if let Some(b) = self.wave_of.get(path).and_then(|w| self.waves.get(w)) {
                    b.inc(1);
                }
            }
            Event::WaveFinished { wave, elapsed_ms, .. } => {
                if let Some(b) = self.waves.remove(wave) {
                    b.finish_with_message(format!("done in {:.1}s", *elapsed_ms as f64 / 1000.0));
                }
            }
            // The end of the run is printed by `run_codegen`.
            Event::Ready { .. } | Event::Failed { .. } => return,
            _ => {}
        }
        let bar_shows_it = self.tty && matches!(e, Event::WaveStarted { .. } | Event::WaveFinished { .. });
        if !bar_shows_it && let Some(l) = describe::line(e) {
            self.line(&l);
        }
    }
}

/// Runs codegen through `handle`, rendering `events` until the actor answers the run;
/// returns the exit code (0 ready, 1 failed, 2 bad input, 3 scope mismatch; 130 after Ctrl-C).
pub async fn run_codegen(
    handle: &Handle,
    mut events: UnboundedReceiver<Event>,
    opts: RunOptions,
    out: HeadlessOptions,
) -> i32 {
    let answer = handle.request(Command::Codegen(opts));
    tokio::pin!(answer);
    let mut progress = Progress::new(out.quiet);
    let mut interrupted = false;
    // The run's events end with its final event; what the actor publishes after it (the new
    // review snapshot) belongs to no one here.
    let mut ended = false;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) if !ended => ended = render(&ev, &mut progress, out),
                Some(_) => {}
                None => return 1,
            },
            a = &mut answer => {
                // The run's last events were published before its answer: render what is queued.
                while !ended && let Ok(ev) = events.try_recv() {
                    ended = render(&ev, &mut progress, out);
                }
                if let Some(reason) = &a.error {
                    eprintln!("rejected: {reason}");
                }
                return if interrupted { 130 } else { a.exit_code };
            }
            _ = tokio::signal::ctrl_c() => {
                if interrupted {
                    // A second Ctrl-C: stop now; state.json says where the run was.
                    eprintln!("interrupted again: exiting");
                    std::process::exit(130);
                }
                interrupted = true;
                eprintln!("interrupted: cancelling the run… (Ctrl-C again to exit at once)");
                handle.send(Command::Cancel);
            }
        }
    }
}

/// Renders one event: its NDJSON line with `--json`, progress, and the run's ending; `true`
/// for the run's final event.
fn render(ev: &Event, progress: &mut Progress, out: HeadlessOptions) -> bool {
    if out.json {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, ev);
        let _ = stdout.write_all(b"\n");
        let _ = stdout.flush();
    }
    progress.on(ev);
    match ev {
        Event::Ready { summary } => {
            let _ = progress.multi.clear();
            let text = format!(
                "{}\nready: task {}\n  files: {}\n  diff:  {}\n",
                summary.render(),
                summary.task_dir.display(),
                summary.files_dir.display(),
                summary.diff_patch.display()
            );
            if out.json {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
        }
        Event::Failed { status, reason, suggestion, next_phase, summary, .. } => {
            let _ = progress.multi.clear();
            if let Some(s) = summary {
                eprint!("{}", s.render());
            }
            eprintln!("codegen {}: {reason}", crate::orchestrator::events::wire_name(status));
            if let Some(p) = next_phase {
                eprintln!("  next phase: {p}");
            }
            eprintln!("  what to do: {suggestion}");
        }
        _ => return false,
    }
    true
}
