//! What goes into the actor (commands) and what comes out (events).
//!
//! Events serialize as one JSON object each with an `event` tag, which is what
//! `ai-tools codegen --json` prints as NDJSON. Front ends render events and nothing else.

use std::path::PathBuf;

use serde::Serialize;

use crate::broker::Notice;
use crate::codegen::diff::FileStat;
use crate::orchestrator::summary::Summary;
use crate::plan::Plan;
use crate::report::{RepairAttempt, ValidationReport};
use crate::review::{
    AcceptEntry, AcceptReport, FileHunks, HunkMark, Mark, RecoveryReport, RediffReport, Selection, UndoReport,
};
use crate::task::TaskDir;
use crate::task::relpath::RelPath;
use crate::task::state::{Phase, RunStatus, Stage};
use crate::validate::ValidatorRun;

/// Options of one codegen run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Archive earlier outputs and start again from context.
    pub redo: bool,
    /// Apply the diff to the working tree and stage it (aggressive mode).
    pub apply: bool,
    /// Allow a run whose diff is empty to end ready.
    pub allow_empty: bool,
    /// Resume the named run, skipping stages whose outputs are current.
    pub resume: Option<String>,
}

/// What a front end asks the actor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the codegen phase.
    Codegen(RunOptions),
    /// Stop the current run.
    Cancel,
    /// Use another provider (configured name or kind) from the next run on.
    SetProvider(String),
    /// Use another model from the next run on.
    SetModel(String),
    /// Set review states of hunks: `(hunk id or unique prefix, accepted)`; answered with
    /// [`Event::HunksMarked`].
    SetHunks(Vec<(String, bool)>),
    /// Record review decisions, a rejection with its reason; answered with
    /// [`Event::HunksMarked`].
    MarkHunks(Vec<Mark>),
    /// Apply hunks to the working tree; answered with [`Event::Accepted`], then
    /// [`Event::DiffReady`] and [`Event::Hunks`] when something landed.
    Accept {
        /// Which hunks: the accepted set (the default), all, or named hunks or files.
        selection: Selection,
        /// Commit the accepted paths afterwards.
        commit: bool,
        /// Commit message.
        message: Option<String>,
    },
    /// Undo the last accept; answered with [`Event::Undone`], [`Event::DiffReady`] and
    /// [`Event::Hunks`].
    Undo,
    /// Undo every accept back to and including accept N, newest first (refused whole, naming
    /// the files, when one changed since); answered with one [`Event::Undone`] per accept,
    /// [`Event::DiffReady`] and [`Event::Hunks`].
    UndoTo(u32),
    /// List the accepts that can be undone; answered with [`Event::AcceptsListed`].
    ListAccepts,
    /// Publish the review view of the task as it stands ([`Event::Hunks`]).
    Snapshot,
    /// Re-derive diff.patch against the working tree as it is (after files were edited since the
    /// diff); answered with [`Event::Rediffed`], [`Event::DiffReady`] and [`Event::Hunks`].
    Rediff,
    /// Regenerate some targets with the review feedback ([`crate::review::regen`]): refused
    /// while a run is active; runs as the actor's current run (so [`Command::Cancel`] stops it,
    /// nothing changing then); progress streams as [`Event::RegenProgress`]; answered with
    /// [`Event::Regenerated`] (or [`Event::Rejected`] and the error's exit code: 2 bad input,
    /// 3 scope mismatch, 130 cancelled), then [`Event::DiffReady`] and [`Event::Hunks`].
    Regen {
        /// Target paths (repo-relative, as in plan.files.json).
        paths: Vec<String>,
        /// A note for the model, added to the hunks' rejection reasons.
        note: Option<String>,
        /// Also regenerate the targets that depend on the named ones.
        with_dependents: bool,
    },
    /// The diff of candidates for a target: its previous candidate (the newest archived by a
    /// regeneration or an edit) against the current one in `code/files/` — not against the
    /// working tree — so a reviewer sees whether the feedback landed. Answered with
    /// [`Event::CandidateDiffed`].
    CandidateDiff {
        /// Target path (repo-relative).
        path: String,
    },
    /// Start editing a generated target by hand ([`crate::review::edit`]): the actor copies
    /// `code/files/<path>` to a scratch copy under the task and answers [`Event::EditReady`]
    /// with the file the front end opens in `$VISUAL`/`$EDITOR` (never `code/files/` itself).
    /// Refused while a run is active, or for a path that is not a generated target (exit 2).
    EditBegin {
        /// Target path (repo-relative, as in plan.files.json).
        path: String,
    },
    /// The editor opened by [`Command::EditBegin`] exited: the actor re-validates the edited
    /// copy, archives the previous candidate, installs the edit in `code/files/` and re-derives
    /// the diff (hunks the edit did not touch keep their states) — or changes nothing when the
    /// editor failed or left the bytes as they were. Answered with [`Event::Edited`], then
    /// (when something changed) [`Event::DiffReady`] and [`Event::Hunks`].
    EditFinish {
        /// The path given to [`Command::EditBegin`].
        path: String,
        /// Whether the editor exited with status 0 (a failed editor changes nothing).
        editor_ok: bool,
    },
    /// Stop the actor.
    Shutdown,
}

/// The actor's answer to one [`crate::orchestrator::Handle::request`]: the events it published
/// for that command, in order — for a review command all of them; for a codegen run only its
/// final [`Event::Ready`] or [`Event::Failed`] (the run's progress streams on the bus) — and the
/// exit code a one-shot front end ends with (0 done, 1 failed, 2 bad input, 3 scope mismatch,
/// 4 refused because files changed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    /// The answering events.
    pub events: Vec<Event>,
    /// The exit code.
    pub exit_code: i32,
    /// Why the command was refused, when it was (the message a one-shot front end prints).
    pub error: Option<String>,
}

impl Answer {
    /// The first answering event `pick` maps to something.
    pub fn find<T>(&self, pick: impl Fn(&Event) -> Option<T>) -> Option<T> {
        self.events.iter().find_map(pick)
    }
}

/// One target of the plan, as [`Event::PlanLoaded`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedTarget {
    /// Path.
    pub path: String,
    /// `create`, `modify` or `delete`.
    pub action: String,
    /// 1-based wave.
    pub wave: usize,
}

/// One file's numbers in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiffStat {
    /// Path.
    pub path: String,
    /// Added lines.
    pub additions: usize,
    /// Removed lines.
    pub deletions: usize,
    /// Hunks.
    pub hunks: usize,
}

impl From<&FileStat> for FileDiffStat {
    fn from(s: &FileStat) -> Self {
        Self { path: s.path.to_string(), additions: s.additions, deletions: s.deletions, hunks: s.hunks }
    }
}

/// What the actor publishes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The task's plan as it stands (answers [`Command::Snapshot`], before the hunks): the
    /// targets a run would generate, with their waves.
    PlanLoaded {
        /// The plan's title.
        title: String,
        /// Targets in plan order.
        files: Vec<PlannedTarget>,
    },
    /// A run began.
    RunStarted {
        /// Run id.
        run_id: String,
        /// Task directory.
        task: PathBuf,
        /// Repo root.
        repo: PathBuf,
        /// Codegen provider chain.
        providers: Vec<String>,
        /// Model of the first provider.
        model: String,
        /// Targets in the plan.
        files: usize,
        /// Waves in the DAG.
        waves: usize,
    },
    /// The global phase changed.
    PhaseChanged {
        /// New phase.
        phase: Phase,
    },
    /// A codegen stage started.
    StageChanged {
        /// New stage.
        stage: Stage,
    },
    /// Earlier outputs were archived.
    Archived {
        /// Where they went.
        dir: PathBuf,
    },
    /// A wave started.
    WaveStarted {
        /// 1-based wave number.
        wave: usize,
        /// Its targets.
        files: Vec<String>,
    },
    /// A wave finished.
    WaveFinished {
        /// 1-based wave number.
        wave: usize,
        /// Wall time, milliseconds.
        elapsed_ms: u64,
        /// Targets generated.
        ok: usize,
        /// Targets failed.
        failed: usize,
    },
    /// A context package was built.
    ContextBuilt {
        /// Target.
        path: String,
        /// Estimated tokens.
        tokens: usize,
        /// Parts cut to fit the budget.
        truncated: Vec<String>,
    },
    /// A model started writing a target.
    FileStarted {
        /// Target.
        path: String,
        /// 1-based wave.
        wave: usize,
    },
    /// More reply text for a target.
    FileDelta {
        /// Target.
        path: String,
        /// The text.
        text: String,
    },
    /// A retry or fallback restarted a target's reply: drop what streamed so far.
    FileRestart {
        /// Target.
        path: String,
    },
    /// A generated target was checked as soon as it came (verify as you go): its candidates
    /// (`[generate] candidates`) were checked by the fast verifiers and the best kept, after
    /// the autofixes (`[generate] autofix`). Comes before the target's [`Event::FileGenerated`].
    FileChecked {
        /// Target.
        path: String,
        /// Candidates sampled (1 without best-of-N).
        candidates: usize,
        /// 1-based number of the kept candidate.
        kept: usize,
        /// What the fast verifiers still hold against the kept candidate.
        findings: usize,
        /// The autofixes applied to the kept candidate, in order (`trailing_junk`, `ruff_fix`, …).
        fixes: Vec<String>,
        /// One line: `3 candidates, kept #2 (0 findings)`.
        summary: String,
    },
    /// A target was generated.
    FileGenerated {
        /// Target.
        path: String,
        /// Lines in the new content.
        lines: usize,
        /// Prompt tokens.
        input_tokens: u64,
        /// Completion tokens.
        output_tokens: u64,
        /// Wall time, milliseconds.
        elapsed_ms: u64,
        /// Provider that answered.
        provider: String,
    },
    /// A target failed.
    FileFailed {
        /// Target.
        path: String,
        /// Why.
        error: String,
    },
    /// A target was not generated: a file it depends on failed, or the run stopped first.
    FileSkipped {
        /// Target.
        path: String,
        /// Why.
        reason: String,
    },
    /// A target was written to code/files (or its deletion recorded).
    FileMaterialized {
        /// Target.
        path: String,
        /// Action.
        action: String,
        /// Bytes written.
        bytes: usize,
        /// Lines written.
        lines: usize,
    },
    /// A reply tried to write outside the plan.
    ScopeViolation {
        /// The target whose reply it was.
        target: String,
        /// Unplanned paths.
        paths: Vec<String>,
    },
    /// The broker retried or fell back.
    Provider {
        /// What happened.
        #[serde(flatten)]
        notice: Notice,
        /// The target the call was for.
        path: String,
    },
    /// code/diff.patch was (re)written.
    DiffReady {
        /// The patch file.
        patch: PathBuf,
        /// Per-file numbers.
        files: Vec<FileDiffStat>,
        /// Total added lines.
        additions: usize,
        /// Total removed lines.
        deletions: usize,
    },
    /// Free-form progress for logs.
    Log {
        /// `info`, `warn` or `error`.
        level: String,
        /// The message.
        message: String,
    },
    /// The run ended ready.
    Ready {
        /// The run summary.
        summary: Box<Summary>,
    },
    /// The run ended without being ready.
    Failed {
        /// `failed`, `scope_mismatch` or `cancelled`.
        status: RunStatus,
        /// What went wrong.
        reason: String,
        /// What to do.
        suggestion: String,
        /// Process exit code for one-shot front ends (1 failed, 2 bad input, 3 scope mismatch).
        exit_code: i32,
        /// Where to go next, when codegen cannot fix it.
        next_phase: Option<Phase>,
        /// Files concerned.
        files: Vec<String>,
        /// The summary of what did happen, when the run got that far.
        summary: Option<Box<Summary>>,
    },
    /// A command could not be carried out (e.g. `/codegen` while a run is active).
    Rejected {
        /// Why.
        reason: String,
    },
    /// The review view: every file of diff.patch with its hunks (ids, headers, review states,
    /// lines with old/new numbers). Answers [`Command::Snapshot`]; also follows an accept, an
    /// undo and a re-diff.
    Hunks {
        /// Files by path.
        files: Vec<FileHunks>,
    },
    /// Review states were set and saved (answers [`Command::SetHunks`]).
    HunksMarked {
        /// The hunks and their new states.
        hunks: Vec<HunkMark>,
    },
    /// An accept finished. Files refused because they changed since the diff are in
    /// `report.conflicts` (they were left untouched).
    Accepted {
        /// What landed, what was refused, the commit.
        report: Box<AcceptReport>,
        /// Process exit code for one-shot front ends (0, 4 refused files, 1 git failed).
        exit_code: i32,
        /// What to do about refused files.
        suggestion: Option<String>,
    },
    /// A step of a regeneration ([`Command::Regen`]).
    RegenProgress {
        /// What happened.
        progress: crate::review::regen::RegenProgress,
    },
    /// A regeneration finished (answers [`Command::Regen`]).
    Regenerated {
        /// The archive of the previous candidates, the targets and the re-derived diff.
        report: Box<crate::review::regen::RegenReport>,
    },
    /// The diff of candidates (answers [`Command::CandidateDiff`]).
    CandidateDiffed {
        /// The target.
        path: String,
        /// `None` when the file was never replaced; its `file` is `None` when the previous and
        /// current candidates are identical.
        diff: Option<crate::review::candidate::CandidateDiff>,
    },
    /// An edit can start (answers [`Command::EditBegin`]): open `file` in the editor, then send
    /// [`Command::EditFinish`].
    EditReady {
        /// The target being edited.
        path: String,
        /// The absolute path of the scratch copy to open (under the task's `code/` dir).
        file: PathBuf,
        /// Variable names to keep from the editor besides the built-in deny rules (the
        /// configured providers' `api_key_env`): pass to [`crate::review::edit::editor_process`].
        deny_env: Vec<String>,
    },
    /// An edit ended (answers [`Command::EditFinish`]).
    Edited {
        /// The target that was edited.
        path: String,
        /// Unchanged (and why), or the archive, the findings after re-validation and the hunks
        /// that kept their states.
        outcome: crate::review::edit::EditOutcome,
    },
    /// diff.patch was re-derived on request (answers [`Command::Rediff`]).
    Rediffed {
        /// Files and hunks in the new diff, and the new hunks of drifted files that start rejected.
        report: RediffReport,
    },
    /// The accepts that can be undone, oldest first (answers [`Command::ListAccepts`]).
    AcceptsListed {
        /// Number, time, files, hunks, commit of each.
        accepts: Vec<AcceptEntry>,
    },
    /// The last accept was undone.
    Undone {
        /// What was restored.
        report: Box<UndoReport>,
    },
    /// An accept or undo that was interrupted (the process killed) was rolled back first.
    Recovered {
        /// What was restored.
        report: RecoveryReport,
    },
    /// Provider or model changed for the next run.
    ProviderChanged {
        /// Codegen chain.
        providers: Vec<String>,
        /// Model of the first.
        model: String,
    },
    /// A validator will not run in this run (not installed, not applicable, or skipped by
    /// configuration); reported once per run.
    ValidatorSkipped {
        /// `ruff`, `pyright`, `tsc`, `cargo`, `mypy` or `syntax`.
        tool: String,
        /// Why.
        reason: String,
    },
    /// A validation of the generated files finished.
    ValidationReported {
        /// `before_repair` (the validate stage) or `after_repair` (the end of the repair stage).
        when: ValidationWhen,
        /// Findings for generated files.
        findings: Vec<ValidationReport>,
        /// Each validator's run (wall time, findings, error).
        validators: Vec<ValidatorRun>,
        /// Wall time of the whole validation, milliseconds.
        elapsed_ms: u64,
    },
    /// The test step ran ([`crate::testing`]): before repair (the verify stage) or after it.
    TestsReported {
        /// Before or after repair.
        when: ValidationWhen,
        /// Tests run.
        tests_run: usize,
        /// Tests failing (preexisting ones included).
        tests_failed: usize,
        /// Failing tests that also fail on the base (never repaired).
        preexisting: usize,
        /// Each failing test as a `test_failure` finding, located in a generated file where
        /// the traceback allows, else at the test.
        failures: Vec<ValidationReport>,
    },
    /// The repair loop started on a file.
    RepairStarted {
        /// The file.
        path: String,
        /// Its findings.
        findings: usize,
        /// Attempts allowed.
        max_attempts: u32,
    },
    /// A repair attempt was judged.
    RepairAttempted {
        /// The attempt (file, number, findings in and out, success, tokens, why rejected).
        repair: RepairAttempt,
    },
    /// The repair loop finished a file.
    FileRepaired {
        /// The file.
        path: String,
        /// Whether it ended clean.
        success: bool,
        /// Attempts made.
        attempts: usize,
        /// Findings left on the kept content.
        remaining: usize,
        /// Whether code/files was rewritten.
        changed: bool,
    },
    /// The run log was written.
    RunLogWritten {
        /// `logs/run-<id>.json`.
        json: PathBuf,
        /// `logs/run-<id>.md`.
        markdown: PathBuf,
    },
}

/// Which validation a [`Event::ValidationReported`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationWhen {
    /// The validate stage, before any repair.
    BeforeRepair,
    /// After the repair stage.
    AfterRepair,
}

/// The name serde gives a unit enum variant (`scope_mismatch`, `modify`, …): the same spelling
/// state.json and the NDJSON events use. Empty for values that do not serialize to a string.
pub fn wire_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl Event {
    /// The one way a re-derived diff is announced: [`Event::DiffReady`] for `stats` (one entry per
    /// file of `task`'s diff.patch), with the totals summed.
    pub fn diff_ready(task: &TaskDir, stats: &[FileStat]) -> Self {
        let files: Vec<FileDiffStat> = stats.iter().map(FileDiffStat::from).collect();
        Event::DiffReady {
            patch: task.diff_patch(),
            additions: files.iter().map(|f| f.additions).sum(),
            deletions: files.iter().map(|f| f.deletions).sum(),
            files,
        }
    }

    /// The [`Event::PlanLoaded`] for `plan`, with each target's wave.
    pub fn plan_loaded(plan: &Plan) -> Self {
        let wave_of: std::collections::HashMap<&RelPath, usize> =
            plan.waves.iter().enumerate().flat_map(|(i, w)| w.iter().map(move |p| (p, i + 1))).collect();
        let files = plan
            .files
            .iter()
            .map(|f| PlannedTarget {
                path: f.path.to_string(),
                action: f.action.to_string(),
                wave: wave_of.get(&f.path).copied().unwrap_or(0),
            })
            .collect();
        Event::PlanLoaded { title: plan.title.clone(), files }
    }

    /// A log event.
    pub fn log(level: &str, message: impl Into<String>) -> Self {
        Event::Log { level: level.to_owned(), message: message.into() }
    }
}
