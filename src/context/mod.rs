//! The context stage: one context package per target file.
//!
//! A package holds plan.md, the file's plan entry, planning.ai.json and plan-review.json when
//! present, a repo summary, the target's current content, and the content of the files it
//! depends on (their generated version once an earlier wave produced it).
//!
//! Invariant: a package's estimated size ([`approx_tokens`]) stays within the budget. Parts are
//! cut in reverse order of importance — repo summary, planning.ai.json, plan-review.json,
//! dependencies (last first), plan.md, the current content — and every cut is recorded in
//! [`ContextPackage::truncated`]. The plan entry itself is never cut.

pub mod repo_summary;

use serde::Serialize;

use crate::plan::{Plan, PlannedFile};
use crate::task::relpath::RelPath;

/// The token estimator: ⌈characters / 4⌉, the usual rule of thumb for English and code with
/// BPE tokenizers. Approximate by design; budgets leave headroom for it.
pub fn approx_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// A dependency's content as the package carries it.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyContent {
    /// The dependency's path.
    pub path: RelPath,
    /// Its content (generated version when available, else the working tree's; empty when it
    /// is being deleted or does not exist yet).
    pub content: String,
    /// Whether `content` came from this run's generation.
    pub generated: bool,
}

/// A record of one part cut to fit the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// Which part (`repo_summary`, `plan_md`, `dependency:pkg/a.py`, …).
    pub part: String,
    /// Its estimated size before the cut, in tokens.
    pub original_tokens: usize,
    /// What was kept, in tokens.
    pub kept_tokens: usize,
}

/// Everything the codegen prompt gets for one target.
#[derive(Debug, Clone, Serialize)]
pub struct ContextPackage {
    /// The plan's title.
    pub title: String,
    /// plan.md (possibly cut).
    pub plan_md: String,
    /// The target's plan entry.
    pub entry: PlannedFile,
    /// planning.ai.json, when present.
    pub planning_ai: Option<String>,
    /// plan-review.json, when present.
    pub plan_review: Option<String>,
    /// Files and sizes of the repo.
    pub repo_summary: String,
    /// The target's current content (`None` for a new file), possibly cut to fit the budget.
    pub current: Option<String>,
    /// Whether `current` was cut (then only SEARCH/REPLACE edits against
    /// [`ContextPackage::current_full`] can be applied; a whole-file reply would lose the rest).
    pub current_truncated: bool,
    /// The target's whole current content, never cut and never sent as is: edits apply to it.
    #[serde(skip)]
    pub current_full: Option<String>,
    /// Its dependencies' contents.
    pub dependencies: Vec<DependencyContent>,
    /// Parts cut to fit the budget.
    pub truncated: Vec<Truncation>,
    /// The package's estimated size after cuts.
    pub tokens: usize,
}

/// Keeps at most `tokens` estimated tokens of `text` (whole lines where possible) and marks the
/// cut.
fn cut(text: &str, tokens: usize) -> String {
    let max_chars = tokens * 4;
    let marker_room = 60;
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let keep = max_chars.saturating_sub(marker_room);
    let mut s: String = text.chars().take(keep).collect();
    if let Some(nl) = s.rfind('\n') {
        s.truncate(nl + 1);
    }
    s.push_str("\n… [truncated by ai-tools to fit the context budget]\n");
    s
}

/// Builds the package for `entry` within `budget` tokens.
///
/// `current` is the target's working-tree text; `deps` are its dependencies' contents.
pub fn build(
    plan: &Plan,
    entry: &PlannedFile,
    repo_summary: &str,
    current: Option<String>,
    deps: Vec<DependencyContent>,
    budget: usize,
) -> ContextPackage {
    let mut pkg = ContextPackage {
        title: plan.title.clone(),
        plan_md: plan.plan_md.clone(),
        entry: entry.clone(),
        planning_ai: plan.planning_ai.clone(),
        plan_review: plan.plan_review.clone(),
        repo_summary: repo_summary.to_owned(),
        current_full: current.clone(),
        current,
        current_truncated: false,
        dependencies: deps,
        truncated: Vec::new(),
        tokens: 0,
    };
    let fixed = approx_tokens(&entry.description) + approx_tokens(entry.path.as_str()) + 50;
    let size = |p: &ContextPackage| -> usize {
        fixed
            + approx_tokens(&p.plan_md)
            + p.planning_ai.as_deref().map_or(0, approx_tokens)
            + p.plan_review.as_deref().map_or(0, approx_tokens)
            + approx_tokens(&p.repo_summary)
            + p.current.as_deref().map_or(0, approx_tokens)
            + p.dependencies.iter().map(|d| approx_tokens(&d.content) + approx_tokens(d.path.as_str())).sum::<usize>()
    };
    // Parts in cutting order; each closure gives access to one text slot.
    let dep_count = pkg.dependencies.len();
    let mut order: Vec<String> = vec!["repo_summary".into(), "planning_ai".into(), "plan_review".into()];
    order.extend((0..dep_count).rev().map(|i| format!("dep:{i}")));
    order.push("plan_md".into());
    order.push("current".into());
    for part in order {
        let total = size(&pkg);
        if total <= budget {
            break;
        }
        let over = total - budget;
        let (slot, name): (Option<&mut String>, String) = match part.as_str() {
            "repo_summary" => (Some(&mut pkg.repo_summary), "repo_summary".into()),
            "planning_ai" => (pkg.planning_ai.as_mut(), "planning_ai_json".into()),
            "plan_review" => (pkg.plan_review.as_mut(), "plan_review_json".into()),
            "plan_md" => (Some(&mut pkg.plan_md), "plan_md".into()),
            "current" => (pkg.current.as_mut(), "current_content".into()),
            d => {
                let i: usize = d.trim_start_matches("dep:").parse().unwrap_or(0);
                let dep = &mut pkg.dependencies[i];
                let name = format!("dependency:{}", dep.path);
                (Some(&mut dep.content), name)
            }
        };
        let Some(text) = slot else { continue };
        let have = approx_tokens(text);
        if have == 0 {
            continue;
        }
        let keep = have.saturating_sub(over);
        *text = if keep == 0 { String::new() } else { cut(text, keep) };
        pkg.truncated.push(Truncation { part: name, original_tokens: have, kept_tokens: approx_tokens(text) });
    }
    pkg.tokens = size(&pkg);
    pkg.current_truncated = pkg.truncated.iter().any(|t| t.part == "current_content");
    pkg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn plan(md: &str) -> Plan {
        Plan {
            title: "T".into(),
            plan_md: md.into(),
            files: vec![],
            planning_ai: None,
            plan_review: None,
            ..Plan::default()
        }
    }

    fn entry() -> PlannedFile {
        PlannedFile {
            path: RelPath::new("a.py").unwrap(),
            action: Action::Modify,
            description: "d".into(),
            depends_on: vec![],
        }
    }

    #[test]
    fn estimator_is_chars_over_four_rounded_up() {
        assert_eq!(approx_tokens(""), 0);
        assert_eq!(approx_tokens("abcd"), 1);
        assert_eq!(approx_tokens("abcde"), 2);
        assert_eq!(approx_tokens("éééé"), 1);
    }

    #[test]
    fn fits_untouched_when_under_budget() {
        let p = build(&plan("small plan"), &entry(), "a.py (10 B)\n", Some("x = 1\n".into()), vec![], 10_000);
        assert!(p.truncated.is_empty());
        assert_eq!(p.plan_md, "small plan");
    }

    #[test]
    fn cuts_least_important_first_and_records_it() {
        let summary = "file.py (1 B)\n".repeat(2000);
        let p = build(&plan("the plan"), &entry(), &summary, Some("x = 1\n".into()), vec![], 1_000);
        assert!(p.tokens <= 1_000, "{}", p.tokens);
        assert_eq!(p.truncated.len(), 1);
        assert_eq!(p.truncated[0].part, "repo_summary");
        assert_eq!(p.current.as_deref(), Some("x = 1\n"), "current content kept");
        assert!(p.repo_summary.contains("[truncated"));
    }

    #[test]
    fn cuts_dependencies_before_plan_and_current() {
        let dep =
            DependencyContent { path: RelPath::new("b.py").unwrap(), content: "y = 2\n".repeat(1000), generated: true };
        let p = build(&plan(&"plan line\n".repeat(50)), &entry(), "", Some("x\n".into()), vec![dep], 800);
        assert!(p.tokens <= 800);
        assert_eq!(p.truncated[0].part, "dependency:b.py");
        assert!(!p.plan_md.contains("[truncated"));
    }
}
