//! The review extras' state (viewed marks, reasons, the side-by-side toggle, the plan view, the
//! task) and the [`Effect`]s the app queues for the event loop. Plain data: the keys that change
//! it are in [`crate::ui::tui::review_ui`], the effects are performed by
//! [`crate::ui::tui::effects`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::task::TaskDir;
use crate::ui::tui::layout::Areas;
use crate::ui::tui::planview::PlanView;
use crate::ui::tui::sbs::SbsLine;
use crate::ui::tui::viewed::ViewedMarks;

/// Where the task lives, for the effects that read or edit its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCtx {
    /// The task directory.
    pub task: TaskDir,
    /// The repo root.
    pub repo: PathBuf,
}

/// Work the event loop does for the app (disk and terminal), in the order queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read the viewed marks of the task (at start, or when the task becomes known).
    LoadViewed,
    /// Write the viewed marks.
    SaveViewed,
    /// Read plan.md and plan.files.json and show the plan view.
    ShowPlan,
    /// Suspend the terminal and open the editor on the scratch copy the actor handed out for
    /// `path` ([`crate::orchestrator::Event::EditReady`]); then tell the actor the editor exited
    /// ([`crate::orchestrator::Command::EditFinish`]), which re-validates and re-diffs.
    OpenEditor {
        /// The target being edited.
        path: String,
        /// The scratch copy to open.
        file: std::path::PathBuf,
        /// Variable names to keep from the editor besides the built-in deny rules.
        deny_env: Vec<String>,
    },
    /// Suspend the terminal, open the editor on plan.files.json, then re-check the plan and
    /// show it (errors in place).
    EditPlan,
}

/// A run that ended in scope mismatch: the unplanned files and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Paths the replies tried to write outside the plan.
    pub files: Vec<String>,
    /// The run's suggestion.
    pub suggestion: String,
}

/// The reason line shown while rejecting a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonPrompt {
    /// The hunk being rejected.
    pub hunk: String,
    /// The reason typed so far.
    pub text: String,
}

/// The review extras' state.
#[derive(Debug, Clone, Default)]
pub struct ReviewUi {
    /// Viewed marks (saved in the task's workbench.json).
    pub viewed: ViewedMarks,
    /// Rejection reasons by hunk id, as typed in this session.
    pub reasons: BTreeMap<String, String>,
    /// Show the diff side by side.
    pub side_by_side: bool,
    /// The reason line, while open.
    pub reason: Option<ReasonPrompt>,
    /// The plan view, while open.
    pub plan: Option<PlanView>,
    /// The changes view (diff of candidates), while open.
    pub changes: Option<crate::ui::tui::changesview::ChangesView>,
    /// The last run's scope mismatch, until the next run starts.
    pub mismatch: Option<Mismatch>,
    /// The task, once known.
    pub task: Option<TaskCtx>,
    /// Effects for the loop.
    pub effects: Vec<Effect>,
    /// Side-by-side lines of the selected file: `(path, diff version, lines)`.
    pub sbs_cache: Option<(String, u64, Vec<SbsLine>)>,
    /// Where the panes were in the last frame (for the mouse).
    pub areas: Option<Areas>,
    /// The files table's first visible row in the last frame.
    pub files_offset: usize,
}
