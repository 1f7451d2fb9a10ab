//! The workbench's state: what the panes show, built only from orchestrator events.
//!
//! Invariants: the app never touches the disk or the network — it changes only through
//! [`App::on_event`] (actor events) and [`App::on_key`] (which returns the commands to send);
//! drawing reads the state and caches highlighting, nothing else.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::orchestrator::Event;
use crate::report::classify::Category;
use crate::review::view::{FileHunks, HunkState, HunkView};
use crate::task::state::{Phase, RunStatus, Stage};
use crate::ui::describe;
use crate::ui::tui::cmdline::CmdLine;
use crate::ui::tui::diffmodel::FileDiffModel;
use crate::ui::tui::highlight::Highlighter;
use crate::ui::tui::review_state::ReviewUi;
use crate::ui::tui::theme::Theme;

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// Phases, stages, waves and per-file progress.
    Phases,
    /// The targets.
    Files,
    /// The selected file's hunks (or its live reply).
    Diff,
    /// Validation findings and repair attempts.
    Validation,
    /// The log.
    Log,
}

impl Pane {
    /// Tab order.
    pub const ORDER: [Pane; 5] = [Pane::Phases, Pane::Files, Pane::Diff, Pane::Validation, Pane::Log];

    /// The next pane (`forward`) or the previous one.
    pub fn cycle(self, forward: bool) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }
}

/// Per-file progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProgress {
    /// Waiting for its wave.
    Queued,
    /// A model is writing it; deltas received so far.
    Streaming(u64),
    /// Generated.
    Done,
    /// Failed, with the reason.
    Failed(String),
}

/// One target in the files pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Path.
    pub path: String,
    /// Planned action (`create`, `modify`, `delete`), when known.
    pub action: String,
    /// Progress.
    pub progress: FileProgress,
    /// 1-based wave.
    pub wave: usize,
    /// Added lines in the diff.
    pub additions: usize,
    /// Removed lines in the diff.
    pub deletions: usize,
    /// Validation findings.
    pub findings: usize,
    /// The best-of-N choice (`[generate] candidates`, [`Event::FileChecked`]): the kept
    /// candidate (1-based) and how many were sampled; `None` until the file was checked.
    pub candidates: Option<(usize, usize)>,
}

/// One wave's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveView {
    /// Its targets.
    pub files: Vec<String>,
    /// Targets finished (generated or failed).
    pub done: usize,
    /// When it started.
    pub started: Instant,
    /// Its wall time, once finished.
    pub elapsed: Option<Duration>,
}

/// A validation finding as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Tool.
    pub tool: String,
    /// Code.
    pub code: String,
    /// Category.
    pub category: String,
    /// Message.
    pub message: String,
}

/// A repair attempt as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairView {
    /// File.
    pub file: String,
    /// 1-based attempt.
    pub attempt: u32,
    /// Findings before.
    pub errors_in: usize,
    /// Findings after.
    pub errors_out: usize,
    /// Whether it fixed everything.
    pub success: bool,
}

/// How the current or last run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunView {
    /// No run in this session yet.
    Idle,
    /// Running since.
    Running(Instant),
    /// Finished with this status and message.
    Finished(RunStatus, String),
}

/// The whole workbench state.
pub struct App {
    /// Colors.
    pub theme: Theme,
    /// Syntax highlighting and its cache.
    pub hl: Highlighter,
    /// The focused pane.
    pub focus: Pane,
    /// The global phase.
    pub phase: Phase,
    /// The current codegen stage.
    pub stage: Option<Stage>,
    /// Run state.
    pub run: RunView,
    /// Provider chain and model.
    pub provider: (Vec<String>, String),
    /// Waves of the current run.
    pub waves: Vec<WaveView>,
    /// Targets in plan order.
    pub files: Vec<FileRow>,
    /// Index into `files`.
    pub selected: usize,
    /// Live reply text per target.
    pub streams: BTreeMap<String, String>,
    /// Diffs per file.
    pub diffs: BTreeMap<String, FileDiffModel>,
    /// Diff pane cursor row and first visible row.
    pub diff_cursor: usize,
    /// First visible diff row.
    pub diff_scroll: usize,
    /// Findings, grouped by file in order.
    pub findings: Vec<FindingView>,
    /// The last test step: `(tests run, failing, preexisting)`.
    pub tests: Option<(usize, usize, usize)>,
    /// Repair attempts.
    pub repairs: Vec<RepairView>,
    /// Validation panel cursor (index into `findings`).
    pub finding_cursor: usize,
    /// Log lines, newest last.
    pub log: VecDeque<(Instant, String)>,
    /// Lines scrolled up from the bottom of the log.
    pub log_scroll: usize,
    /// The command line.
    pub cmdline: CmdLine,
    /// The key help overlay is shown.
    pub help: bool,
    /// Lines the help overlay is scrolled down.
    pub help_scroll: u16,
    /// Asking whether to quit with unapplied accepted hunks.
    pub confirm_quit: bool,
    /// The app should exit.
    pub should_quit: bool,
    /// The last message for the status line.
    pub status: String,
    /// Theme names `/theme` completes.
    pub theme_names: Vec<String>,
    /// Provider names `/provider` completes.
    pub provider_names: Vec<String>,
    /// The summary of the last run that ended ready.
    pub last_summary: Option<crate::orchestrator::summary::Summary>,
    /// Viewed marks, reasons, side by side, the plan view, the task (see [`ReviewUi`]).
    pub review: ReviewUi,
    diff_version: u64,
}

/// Log lines kept.
const LOG_MAX: usize = 2_000;

impl App {
    /// A fresh workbench with `theme`.
    pub fn new(theme: Theme) -> Self {
        let hl = Highlighter::new(&theme.syntax_theme, theme.depth);
        Self {
            theme,
            hl,
            focus: Pane::Files,
            phase: Phase::Codegen,
            stage: None,
            run: RunView::Idle,
            provider: (Vec::new(), String::new()),
            waves: Vec::new(),
            files: Vec::new(),
            selected: 0,
            streams: BTreeMap::new(),
            diffs: BTreeMap::new(),
            diff_cursor: 0,
            diff_scroll: 0,
            findings: Vec::new(),
            tests: None,
            repairs: Vec::new(),
            finding_cursor: 0,
            log: VecDeque::new(),
            log_scroll: 0,
            cmdline: CmdLine::default(),
            help: false,
            help_scroll: 0,
            confirm_quit: false,
            should_quit: false,
            status: "/ opens the command line · ? lists keys · /codegen starts a run".into(),
            theme_names: Theme::names(),
            provider_names: vec!["anthropic".into(), "openai".into(), "ollama".into(), "local".into()],
            last_summary: None,
            review: ReviewUi::default(),
            diff_version: 0,
        }
    }

    /// Appends a log line.
    pub fn log_line(&mut self, s: impl Into<String>) {
        let s = s.into();
        self.status = s.clone();
        self.log.push_back((Instant::now(), s));
        while self.log.len() > LOG_MAX {
            self.log.pop_front();
        }
    }

    /// The selected file's path.
    pub fn selected_path(&self) -> Option<&str> {
        self.files.get(self.selected).map(|f| f.path.as_str())
    }

    fn file_mut(&mut self, path: &str) -> &mut FileRow {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            return &mut self.files[i];
        }
        self.files.push(FileRow {
            path: path.to_owned(),
            action: String::new(),
            progress: FileProgress::Queued,
            wave: 0,
            additions: 0,
            deletions: 0,
            findings: 0,
            candidates: None,
        });
        let last = self.files.len() - 1;
        &mut self.files[last]
    }

    /// Selects file `i` (clamped) and resets the diff cursor.
    pub fn select(&mut self, i: usize) {
        if self.files.is_empty() {
            return;
        }
        let i = i.min(self.files.len() - 1);
        if i != self.selected {
            self.selected = i;
            self.diff_cursor = 0;
            self.diff_scroll = 0;
        }
    }

    /// Replaces the whole diff with `files` (from a snapshot, an accept or a re-diff).
    pub fn set_files(&mut self, files: &[FileHunks]) {
        let stale: Vec<String> = self.diffs.keys().filter(|p| !files.iter().any(|f| &f.path == *p)).cloned().collect();
        for p in stale {
            self.set_hunks(&p, &[]);
        }
        for f in files {
            self.set_hunks(&f.path, &f.hunks);
            let row = self.file_mut(&f.path);
            row.action = crate::orchestrator::events::wire_name(&f.action);
            if row.progress == FileProgress::Queued {
                row.progress = FileProgress::Done;
            }
        }
    }

    /// Replaces a file's hunks.
    pub fn set_hunks(&mut self, path: &str, hunks: &[HunkView]) {
        self.diff_version += 1;
        self.hl.forget(path);
        if hunks.is_empty() {
            self.diffs.remove(path);
        } else {
            self.diffs.insert(path.to_owned(), FileDiffModel::new(path, self.diff_version, hunks));
        }
        let (adds, dels) = hunks.iter().fold((0, 0), |(a, d), h| (a + h.additions, d + h.deletions));
        let f = self.file_mut(path);
        f.additions = adds;
        f.deletions = dels;
        self.hunks_replaced(path);
        if self.selected_path() == Some(path) {
            let max = self.diffs.get(path).map_or(0, |d| d.rows.len().saturating_sub(1));
            self.diff_cursor = self.diff_cursor.min(max);
        }
    }

    /// Whether any hunk is accepted and not yet applied (every hunk in the current diff is
    /// unapplied: applied ones leave the diff when it is recomputed after an accept).
    pub fn has_unapplied_accepted(&self) -> bool {
        self.diffs.values().any(|d| d.hunks.iter().any(|h| h.accepted))
    }

    /// (accepted, total) hunks of `path`.
    pub fn review_counts(&self, path: &str) -> (usize, usize) {
        self.diffs.get(path).map_or((0, 0), |d| (d.hunks.iter().filter(|h| h.accepted).count(), d.hunks.len()))
    }

    /// Applies one orchestrator event: updates the panes' state and logs the event's line.
    pub fn on_event(&mut self, e: &Event) {
        self.apply(e);
        self.review_event(e);
        if let Some(l) = describe::line(e) {
            for part in l.lines() {
                self.log_line(part.to_owned());
            }
        }
        if matches!(e, Event::Ready { .. }) {
            self.status = "ready: review the hunks (Space toggles one), /accept applies the accepted ones".into();
        }
    }

    /// Adds `reports` to the validation panel (sorted by place) and recounts each file's.
    fn add_findings(&mut self, reports: &[crate::report::ValidationReport]) {
        self.findings.extend(reports.iter().map(|r| FindingView {
            file: r.file.clone(),
            line: r.line,
            column: r.column,
            tool: r.tool.clone(),
            code: r.code.clone(),
            category: r.category.to_string(),
            message: panel_message(r),
        }));
        self.findings.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.finding_cursor = self.finding_cursor.min(self.findings.len().saturating_sub(1));
        for f in &mut self.files {
            f.findings = self.findings.iter().filter(|r| r.file == f.path).count();
        }
    }

    fn apply(&mut self, e: &Event) {
        match e {
            Event::RunStarted { providers, model, .. } => {
                self.run = RunView::Running(Instant::now());
                // The previous run's hunks are archived or about to be replaced.
                for p in self.diffs.keys().cloned().collect::<Vec<_>>() {
                    self.hl.forget(&p);
                }
                self.diffs.clear();
                self.waves.clear();
                self.streams.clear();
                self.findings.clear();
                self.tests = None;
                self.repairs.clear();
                self.stage = None;
                for f in &mut self.files {
                    f.progress = FileProgress::Queued;
                    f.findings = 0;
                }
                self.provider = (providers.clone(), model.clone());
            }
            Event::PlanLoaded { files, .. } => {
                for t in files {
                    let f = self.file_mut(&t.path);
                    f.action = t.action.clone();
                    f.wave = t.wave;
                }
            }
            Event::PhaseChanged { phase } => self.phase = *phase,
            Event::StageChanged { stage } => self.stage = Some(*stage),
            Event::WaveStarted { wave, files } => {
                while self.waves.len() < *wave {
                    self.waves.push(WaveView { files: Vec::new(), done: 0, started: Instant::now(), elapsed: None });
                }
                self.waves[wave - 1] =
                    WaveView { files: files.clone(), done: 0, started: Instant::now(), elapsed: None };
                for p in files {
                    let f = self.file_mut(p);
                    f.wave = *wave;
                    f.progress = FileProgress::Queued;
                }
            }
            Event::WaveFinished { wave, elapsed_ms, .. } => {
                if let Some(w) = self.waves.get_mut(wave - 1) {
                    w.elapsed = Some(Duration::from_millis(*elapsed_ms));
                    // Deletes and skipped files finish a wave without a file event.
                    w.done = w.files.len();
                }
            }
            Event::FileStarted { path, .. } => {
                let f = self.file_mut(path);
                f.progress = FileProgress::Streaming(0);
                // A regenerated or retried file is sampled afresh.
                f.candidates = None;
                self.streams.insert(path.clone(), String::new());
            }
            Event::FileDelta { path, text } => {
                self.streams.entry(path.clone()).or_default().push_str(text);
                if let FileProgress::Streaming(n) = &mut self.file_mut(path).progress {
                    *n += 1;
                }
            }
            Event::FileRestart { path } => {
                self.streams.insert(path.clone(), String::new());
                self.file_mut(path).progress = FileProgress::Streaming(0);
            }
            Event::FileChecked { path, candidates, kept, .. } => {
                self.file_mut(path).candidates = Some((*kept, *candidates));
            }
            Event::FileGenerated { path, .. } => {
                self.file_mut(path).progress = FileProgress::Done;
                self.bump_wave(path);
            }
            Event::FileFailed { path, error } => {
                self.file_mut(path).progress = FileProgress::Failed(error.clone());
                self.bump_wave(path);
            }
            Event::FileSkipped { path, reason } => {
                self.file_mut(path).progress = FileProgress::Failed(format!("skipped: {reason}"));
            }
            Event::FileMaterialized { path, action, .. } => {
                let f = self.file_mut(path);
                f.action = action.clone();
                if f.progress == FileProgress::Queued {
                    f.progress = FileProgress::Done;
                }
            }
            Event::DiffReady { files, .. } => {
                for s in files {
                    let f = self.file_mut(&s.path);
                    f.additions = s.additions;
                    f.deletions = s.deletions;
                }
            }
            Event::Ready { summary } => {
                self.run = RunView::Finished(RunStatus::Ready, "ready for review".into());
                self.last_summary = Some((**summary).clone());
            }
            Event::Failed { status, reason, .. } => {
                self.run = RunView::Finished(*status, reason.clone());
                // Nothing streams once the run has ended.
                for f in &mut self.files {
                    if matches!(f.progress, FileProgress::Streaming(_)) {
                        f.progress = FileProgress::Failed("stopped".into());
                    }
                }
            }
            Event::ProviderChanged { providers, model } => self.provider = (providers.clone(), model.clone()),
            Event::ValidationReported { findings, .. } => {
                // Test failures come with their own event; they stay until the tests run again.
                self.findings.retain(|f| f.category == Category::TestFailure.as_str());
                self.add_findings(findings);
            }
            Event::TestsReported { tests_run, tests_failed, preexisting, failures, .. } => {
                self.tests = Some((*tests_run, *tests_failed, *preexisting));
                self.findings.retain(|f| f.category != Category::TestFailure.as_str());
                self.add_findings(failures);
            }
            Event::RepairAttempted { repair } => self.repairs.push(RepairView {
                file: repair.file.clone(),
                attempt: repair.attempt,
                errors_in: repair.errors_in.len(),
                errors_out: repair.errors_out.len(),
                success: repair.success,
            }),
            Event::Hunks { files } => self.set_files(files),
            Event::HunksMarked { hunks } => {
                for m in hunks {
                    for d in self.diffs.values_mut() {
                        if let Some(h) = d.hunks.iter_mut().find(|h| h.id == m.id) {
                            h.accepted = m.state == HunkState::Accepted;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn bump_wave(&mut self, path: &str) {
        let wave = self.files.iter().find(|f| f.path == path).map_or(0, |f| f.wave);
        if let Some(w) = wave.checked_sub(1).and_then(|i| self.waves.get_mut(i)) {
            w.done = (w.done + 1).min(w.files.len());
        }
    }
}

/// A finding's message as the validation panel shows it: marked when it was already in the base
/// (never repaired), with the advice of its category (install the dependencies, for an
/// environment finding).
pub fn panel_message(r: &crate::report::ValidationReport) -> String {
    let mut m = r.message.clone();
    if r.preexisting {
        m.push_str("  (already in the base: not repaired)");
    }
    if let Some(advice) = r.category.suggestion() {
        m.push_str(" — ");
        m.push_str(advice);
    }
    m
}
