//! The checked plan's types: a target's [`Action`], one [`PlannedFile`], the whole [`Plan`].
//!
//! Leaf module: the parser ([`crate::plan`]) and the DAG ([`crate::plan::dag`]) both build on
//! it, so neither imports the other's internals.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::task::relpath::RelPath;

/// What a plan entry does to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new file.
    Create,
    /// A change to an existing file.
    Modify,
    /// Removal of an existing file.
    Delete,
}

impl Action {
    /// The action's name as the plan spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Modify => "modify",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One checked entry of plan.files.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    /// The target, relative to the repo root.
    pub path: RelPath,
    /// What to do to it.
    pub action: Action,
    /// What the plan says the file should become.
    pub description: String,
    /// Planned files that must be generated before this one.
    pub depends_on: Vec<RelPath>,
}

/// A checked plan (see [`crate::plan`]'s invariant); the default is the empty plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The first `# ` heading of plan.md, or the task directory's name.
    pub title: String,
    /// plan.md as written.
    pub plan_md: String,
    /// The per-file plan, in the order plan.files.json lists it.
    pub files: Vec<PlannedFile>,
    /// planning.ai.json, pretty-printed, when present.
    pub planning_ai: Option<String>,
    /// review/plan-review.json, pretty-printed, when present.
    pub plan_review: Option<String>,
}

impl Plan {
    /// The entry for `path`, if planned.
    pub fn entry(&self, path: &RelPath) -> Option<&PlannedFile> {
        self.files.iter().find(|f| &f.path == path)
    }

    /// Whether `path` is a planned target.
    pub fn contains(&self, path: &RelPath) -> bool {
        self.entry(path).is_some()
    }
}
