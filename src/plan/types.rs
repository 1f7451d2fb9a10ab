//! The checked plan's types: a target's [`Action`], one [`PlannedFile`], the whole [`Plan`].
//!
//! The parser ([`crate::plan`]) and the DAG ([`crate::plan::dag`]) both build on it; a
//! [`Plan`] carries its waves, layered once by `Plan::new` (in [`crate::plan`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

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

/// A checked plan (see the module invariant). Built by [`crate::plan::load`] (or
/// `Plan::new` (in [`crate::plan`])); its `waves` are computed once there, so callers never layer again.
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
    /// The files layered into waves ([`crate::plan::dag::waves`]): wave 0 first, paths sorted
    /// within a wave.
    pub waves: Vec<Vec<RelPath>>,
    /// Index of `files` by path, built on first lookup.
    pub(crate) index: OnceLock<HashMap<RelPath, usize>>,
}

impl Plan {
    /// The entry for `path`, if planned (a hash lookup; linear only if `files` was changed
    /// after the index was built).
    pub fn entry(&self, path: &RelPath) -> Option<&PlannedFile> {
        let index =
            self.index.get_or_init(|| self.files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect());
        match index.get(path).and_then(|&i| self.files.get(i)) {
            Some(f) if &f.path == path => Some(f),
            _ => self.files.iter().find(|f| &f.path == path),
        }
    }

    /// Whether `path` is a planned target.
    pub fn contains(&self, path: &RelPath) -> bool {
        self.entry(path).is_some()
    }
}
