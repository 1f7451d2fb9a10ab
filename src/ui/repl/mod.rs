//! The plain REPL: a rustyline line editor (history file, Tab completion) with the workbench's
//! slash commands, progress as lines, diffs printed with syntax colors, and a `git add -p`-style
//! per-hunk review for `/accept`.
//!
//! Two threads: the line editor runs on its own (blocking) thread and sends commands to the
//! actor — a command whose output needs the actor's answer (the hunks for `/diff`, `/files`,
//! `/accept`) waits for it on the command's reply channel; an async task renders the actor's
//! events as lines through rustyline's external printer (so output never tramples the prompt)
//! and keeps a [`Shared`] view of the latest findings, provider and log for the commands that
//! print them.
//!
//! Invariant: like every front end, the REPL only sends commands and renders events; it never
//! calls a stage.

mod render;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, ExternalPrinter, Helper};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::orchestrator::{Command, Event, Handle};
use crate::review::Selection;
use crate::review::view::FileHunks;
use crate::ui::commands::{self, SlashCommand};
use crate::ui::tui::highlight::Highlighter as SyntaxHighlighter;
use crate::ui::tui::theme::{ColorDepth, Theme};

/// What the event task knows that commands print.
#[derive(Default)]
pub struct Shared {
    /// The latest hunks, by file (for Tab completion of paths).
    pub files: Vec<FileHunks>,
    /// The latest findings, as lines.
    pub findings: Vec<String>,
    /// Provider chain and model.
    pub provider: String,
    /// A run is active.
    pub running: bool,
    /// Recent log lines.
    pub log: Vec<String>,
}

type SharedState = Arc<Mutex<Shared>>;

struct ReplHelper {
    shared: SharedState,
    themes: Vec<String>,
}

impl Completer for ReplHelper {
    type Candidate = String;
    fn complete(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let paths: Vec<String> =
            self.shared.lock().map(|s| s.files.iter().map(|f| f.path.clone()).collect()).unwrap_or_default();
        let providers = ["anthropic", "openai", "ollama", "local"].map(str::to_owned);
        Ok((0, commands::complete(&line[..pos], &paths, &providers, &self.themes)))
    }
}
impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

/// The REPL's history file: `<state or cache dir>/ai-tools/repl_history`.
pub fn history_file() -> Option<PathBuf> {
    let d = directories::ProjectDirs::from("", "", "ai-tools")?;
    Some(d.state_dir().unwrap_or_else(|| d.cache_dir()).join("repl_history"))
}

/// A REPL failure.
#[derive(Debug, thiserror::Error)]
#[error("repl: {0}")]
pub struct ReplError(String);

/// Runs the REPL until `/quit` or end of input.
///
/// # Errors
/// [`ReplError`] when the line editor cannot start.
pub async fn run(handle: Handle, events: UnboundedReceiver<Event>, theme: Theme) -> Result<(), ReplError> {
    let shared: SharedState = Arc::new(Mutex::new(Shared::default()));
    let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::new().map_err(|e| ReplError(e.to_string()))?;
    editor.set_helper(Some(ReplHelper { shared: shared.clone(), themes: Theme::names() }));
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let printer = editor.create_external_printer().map_err(|e| ReplError(e.to_string()))?;
    let color = theme.depth != ColorDepth::None;
    let renderer = tokio::spawn(render_events(events, printer, shared.clone(), color));
    handle.send(Command::Snapshot);
    let (h2, s2) = (handle.clone(), shared.clone());
    let lines = tokio::task::spawn_blocking(move || read_loop(editor, &h2, &s2, theme, history));
    let _ = lines.await;
    handle.send(Command::Shutdown);
    // Let the last events (an accept's report, a cancelled run) print before leaving.
    if tokio::time::timeout(Duration::from_millis(500), renderer).await.is_err() {
        tracing::debug!("repl renderer still running at exit");
    }
    Ok(())
}

fn read_loop(
    mut editor: Editor<ReplHelper, DefaultHistory>,
    handle: &Handle,
    shared: &SharedState,
    mut theme: Theme,
    history: Option<PathBuf>,
) {
    let mut hl = SyntaxHighlighter::new(&theme.syntax_theme, theme.depth);
    println!("ai-tools repl — /help lists commands, Tab completes, /quit leaves");
    loop {
        let line = match editor.readline("ai-tools> ") {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                if shared.lock().map(|s| s.running).unwrap_or(false) {
                    handle.send(Command::Cancel);
                }
                continue;
            }
            Err(_) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        let cmd = match commands::parse(&line) {
            Ok(c) => c,
            Err(e) => {
                println!("{e}");
                continue;
            }
        };
        if cmd == SlashCommand::Accept {
            // The REPL's accept is a `git add -p`-style review first.
            accept(&mut editor, handle, &mut hl, &theme);
            continue;
        }
        if let SlashCommand::Edit(Some(path)) = &cmd {
            edit(handle, path);
            continue;
        }
        if let SlashCommand::Changes(Some(path)) = &cmd {
            let answer = handle.request_blocking(Command::CandidateDiff { path: path.clone() });
            if let Some(f) = answer.find(|e| match e {
                Event::CandidateDiffed { diff: Some(d), .. } => d.file.clone(),
                _ => None,
            }) {
                print!("{}", render::file(&f, &mut hl, &theme));
            }
            continue;
        }
        if let Some(c) = cmd.command() {
            handle.send(c);
            continue;
        }
        match cmd {
            SlashCommand::Reject(path) => {
                let marks: Vec<(String, bool)> = with_files(handle, |files| {
                    files
                        .iter()
                        .filter(|f| path.as_ref().is_none_or(|p| *p == f.path))
                        .flat_map(|f| f.hunks.iter().map(|h| (h.id.clone(), false)))
                        .collect()
                });
                println!("rejecting {} hunks", marks.len());
                handle.send(Command::SetHunks(marks));
            }
            SlashCommand::Files => with_files(handle, |files| {
                for f in files {
                    let acc = f.hunks.iter().filter(|h| h.state == crate::review::view::HunkState::Accepted).count();
                    println!(
                        "{:<40} +{:<4} -{:<4} {acc}/{} hunks accepted",
                        f.path,
                        f.additions,
                        f.deletions,
                        f.hunks.len()
                    );
                }
            }),
            SlashCommand::Diff(path) => with_files(handle, |files| {
                for f in files.iter().filter(|f| path.as_ref().is_none_or(|p| *p == f.path)) {
                    print!("{}", render::file(f, &mut hl, &theme));
                }
            }),
            SlashCommand::Errors => {
                let s = shared.lock().map(|s| s.findings.clone()).unwrap_or_default();
                if s.is_empty() {
                    println!("no findings");
                }
                for l in s {
                    println!("{l}");
                }
            }
            SlashCommand::Log => {
                for l in shared.lock().map(|s| s.log.clone()).unwrap_or_default().iter().rev().take(40).rev() {
                    println!("{l}");
                }
            }
            SlashCommand::Provider(None) | SlashCommand::Model(None) => {
                println!("{}", shared.lock().map(|s| s.provider.clone()).unwrap_or_default());
            }
            SlashCommand::Theme(None) => println!("theme: {} (available: {})", theme.name, Theme::names().join(", ")),
            SlashCommand::Theme(Some(t)) => match Theme::load(&t, theme.depth) {
                Ok(th) => {
                    hl.set_theme(&th.syntax_theme, th.depth);
                    theme = th;
                    println!("theme: {t}");
                }
                Err(e) => println!("{e}"),
            },
            SlashCommand::Help => {
                for (c, d) in commands::help_lines() {
                    println!("{c:<18} {d}");
                }
            }
            SlashCommand::Plan { edit: false } => print_plan(handle),
            SlashCommand::Plan { edit: true } => {
                println!("/plan edit is a workbench command: edit the task's plan.files.json, then /plan checks it");
            }
            SlashCommand::Edit(None) => println!("usage: /edit PATH (a generated file; Tab completes)"),
            SlashCommand::Changes(None) => println!("usage: /changes PATH (a regenerated or edited file)"),
            SlashCommand::Quit => break,
            // Sent to the actor above.
            SlashCommand::Edit(Some(_))
            | SlashCommand::Changes(Some(_))
            | SlashCommand::Regen { .. }
            | SlashCommand::Codegen
            | SlashCommand::RedoCodegen
            | SlashCommand::Cancel
            | SlashCommand::Accept
            | SlashCommand::Undo
            | SlashCommand::Accepts
            | SlashCommand::Provider(Some(_))
            | SlashCommand::Model(Some(_)) => {}
        }
    }
    if let Some(h) = &history {
        if let Some(d) = h.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = editor.save_history(h);
    }
}

/// `/plan`: the targets by wave, from the actor's answer to a snapshot (a plan that does not
/// load prints its error as an event).
fn print_plan(handle: &Handle) {
    let answer = handle.request_blocking(Command::Snapshot);
    let Some((title, files)) = answer.find(|e| match e {
        Event::PlanLoaded { title, files } => Some((title.clone(), files.clone())),
        _ => None,
    }) else {
        return;
    };
    println!("{title}");
    let waves = files.iter().map(|f| f.wave).max().unwrap_or(0);
    for w in 1..=waves {
        println!("wave {w}:");
        for f in files.iter().filter(|f| f.wave == w) {
            println!("  {:<7} {}", f.action, f.path);
        }
    }
}

/// `/edit PATH`: the actor hands out a scratch copy, the editor runs on this (the line
/// editor's) thread, which owns the terminal between prompts, and the actor re-validates and
/// re-diffs; its events print the outcome.
fn edit(handle: &Handle, path: &str) {
    let editor = match crate::review::edit::editor_command(|k| std::env::var(k).ok()) {
        Ok(e) => e,
        Err(e) => {
            println!("{e}");
            return;
        }
    };
    let begun = handle.request_blocking(Command::EditBegin { path: path.to_owned() });
    let Some((file, deny)) = begun.find(|e| match e {
        Event::EditReady { file, deny_env, .. } => Some((file.clone(), deny_env.clone())),
        _ => None,
    }) else {
        return;
    };
    let editor_ok = match crate::review::edit::editor_process(&editor, &file, &deny).status() {
        Ok(s) => s.success(),
        Err(e) => {
            println!("cannot start the editor `{}`: {e}", editor.join(" "));
            false
        }
    };
    handle.request_blocking(Command::EditFinish { path: path.to_owned(), editor_ok });
}

/// Asks the actor for fresh hunks (its answer to a snapshot; none when it refused, e.g. during
/// a run — the refusal prints as an event) and runs `f` on them.
fn with_files<T>(handle: &Handle, f: impl FnOnce(&[FileHunks]) -> T) -> T {
    let answer = handle.request_blocking(Command::Snapshot);
    let files = answer
        .find(|e| match e {
            Event::Hunks { files } => Some(files.clone()),
            _ => None,
        })
        .unwrap_or_default();
    f(&files)
}

/// `git add -p`-style review: y accept, n reject, a accept this and the rest of the file,
/// d reject this and the rest of the file, q stop (the rest keep their states), ? help; then
/// applies what is accepted.
fn accept(editor: &mut Editor<ReplHelper, DefaultHistory>, handle: &Handle, hl: &mut SyntaxHighlighter, theme: &Theme) {
    let files = with_files(handle, <[FileHunks]>::to_vec);
    let total: usize = files.iter().map(|f| f.hunks.len()).sum();
    if total == 0 {
        println!("nothing to accept: the diff is empty");
        return;
    }
    let mut marks: Vec<(String, bool)> = Vec::new();
    let mut n = 0;
    'files: for f in &files {
        println!("{}", render::header(f, theme));
        let mut rest: Option<bool> = None;
        for h in &f.hunks {
            n += 1;
            if let Some(all) = rest {
                marks.push((h.id.clone(), all));
                continue;
            }
            print!("{}", render::hunk(f, h, hl, theme));
            loop {
                let ans = match editor.readline(&format!("({n}/{total}) Accept this hunk [y,n,a,d,q,?]? ")) {
                    Ok(a) => a,
                    Err(_) => {
                        // Ctrl-C or end of input aborts the review: nothing is marked or applied.
                        println!("accept aborted; nothing applied");
                        return;
                    }
                };
                match ans.trim() {
                    "y" => marks.push((h.id.clone(), true)),
                    "n" => marks.push((h.id.clone(), false)),
                    "a" => {
                        marks.push((h.id.clone(), true));
                        rest = Some(true);
                    }
                    "d" => {
                        marks.push((h.id.clone(), false));
                        rest = Some(false);
                    }
                    "q" => break 'files,
                    _ => {
                        println!(
                            "y - accept this hunk\nn - reject this hunk\na - accept this hunk and the rest of the file\nd - reject this hunk and the rest of the file\nq - stop here; apply what was accepted\n? - this help"
                        );
                        continue;
                    }
                }
                break;
            }
        }
    }
    let accepted: Vec<String> = marks.iter().filter(|(_, a)| *a).map(|(id, _)| id.clone()).collect();
    handle.send(Command::SetHunks(marks));
    if accepted.is_empty() {
        println!("no hunks accepted; nothing applied");
        return;
    }
    handle.send(Command::Accept { selection: Selection::Hunks(accepted), commit: false, message: None });
}

async fn render_events(
    mut events: UnboundedReceiver<Event>,
    mut printer: impl ExternalPrinter + Send,
    shared: SharedState,
    color: bool,
) {
    while let Some(e) = events.recv().await {
        let line = render::event_line(&e, color);
        if let Ok(mut s) = shared.lock() {
            match &e {
                Event::Hunks { files } => s.files = files.clone(),
                Event::RunStarted { providers, model, .. } => {
                    s.running = true;
                    s.provider = format!("provider: {} ({model})", providers.join(" → "));
                }
                Event::ProviderChanged { providers, model } => {
                    s.provider = format!("provider: {} ({model})", providers.join(" → "))
                }
                Event::Ready { .. } | Event::Failed { .. } => s.running = false,
                Event::ValidationReported { findings, .. } => {
                    s.findings = findings
                        .iter()
                        .map(|r| {
                            format!(
                                "{}:{}:{} {} {} [{}] {}",
                                r.file, r.line, r.column, r.tool, r.code, r.category, r.message
                            )
                        })
                        .collect();
                }
                _ => {}
            }
            if let Some(l) = &line {
                s.log.push(l.clone());
                if s.log.len() > 1000 {
                    s.log.remove(0);
                }
            }
        }
        if let Some(l) = line {
            let _ = printer.print(l);
        }
    }
}
