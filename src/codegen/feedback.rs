//! Regeneration with feedback: one target's new candidate, asked for with the current
//! candidate, the hunks the reviewer rejected (each with its reason) and accepted (to keep),
//! the file's open findings and the reviewer's note (`prompts/regen.md.j2`).
//!
//! Invariants: the reply is untrusted and parsed by the same rules as a first generation
//! ([`generate::parse_reply`]): content only from a block for the target, out-of-plan paths
//! reported, SEARCH/REPLACE edits applied to the current candidate (never to the base) under
//! [`crate::codegen::edit`]'s exact rules. Nothing here writes a file.

use std::time::Instant;

use serde::Serialize;

use crate::broker::{Broker, CallCtx, ChatRequest, Role};
use crate::codegen::generate::{self, GenerateError, GenerateSettings, Generated, ReplyMode};
use crate::codegen::lang;
use crate::codegen::prompt::{PromptError, Prompts};
use crate::context::ContextPackage;
use crate::plan::Plan;
use crate::report::ValidationReport;

/// The template name.
pub const TEMPLATE: &str = "regen.md.j2";

/// One hunk as the prompt shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HunkNote {
    /// Hunk id (see [`crate::review::patchset`]).
    pub id: String,
    /// `@@ -a,b +c,d @@` or a pseudo-hunk's description.
    pub header: String,
    /// The hunk's lines as a unified diff spells them (` `, `-`, `+` prefixes).
    pub diff: String,
    /// Why it was rejected (rejected hunks; `None` when the reviewer gave no reason).
    pub reason: Option<String>,
}

/// Everything the reviewer said about one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Feedback {
    /// Rejected hunks, in file order.
    pub rejected: Vec<HunkNote>,
    /// Accepted hunks (to keep), in file order.
    pub accepted: Vec<HunkNote>,
    /// Open findings of the current candidate the run introduced.
    pub findings: Vec<ValidationReport>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// Dependencies regenerated before this file in the same regeneration.
    pub changed_dependencies: Vec<String>,
}

/// The reply mode for a regeneration: SEARCH/REPLACE against the candidate when the package
/// had to cut it or it is longer than the edit threshold, else the whole file.
pub fn mode_for(pkg: &ContextPackage, settings: &GenerateSettings) -> ReplyMode {
    let lines = pkg.current_full.as_deref().map_or(0, |c| c.lines().count());
    if pkg.current_truncated || lines > settings.edit_threshold_lines {
        ReplyMode::SearchReplace
    } else {
        ReplyMode::WholeFile
    }
}

/// Renders the (system, user) prompts; `pkg.current` is the current candidate.
///
/// # Errors
/// [`PromptError`].
pub fn render(
    prompts: &Prompts,
    pkg: &ContextPackage,
    feedback: &Feedback,
    mode: ReplyMode,
) -> Result<(String, String), PromptError> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        #[serde(flatten)]
        pkg: &'a ContextPackage,
        lang: &'static str,
        mode: ReplyMode,
        feedback: &'a Feedback,
    }
    let ctx = Ctx { pkg, lang: lang::file_type(&pkg.entry.path).fence, mode, feedback };
    Ok((prompts.render("codegen-system.md.j2", &ctx)?, prompts.render(TEMPLATE, &ctx)?))
}

/// Asks the codegen role for a new candidate of `pkg.entry` (whose `current_full` is the current
/// candidate) with `feedback`.
///
/// # Errors
/// [`GenerateError`]: provider failure or cancellation, a broken template, a reply that does
/// not parse or only writes other files, or edits that do not apply.
pub async fn regenerate_file(
    broker: &Broker,
    prompts: &Prompts,
    plan: &Plan,
    pkg: &ContextPackage,
    feedback: &Feedback,
    settings: &GenerateSettings,
    ctx: &CallCtx<'_>,
) -> Result<Generated, GenerateError> {
    let mode = mode_for(pkg, settings);
    let (system, user) = render(prompts, pkg, feedback, mode)?;
    let build = |_: &crate::broker::Capabilities| {
        let mut r = ChatRequest::new(system.clone(), user.clone(), settings.max_tokens);
        r.temperature = settings.temperature;
        r.top_p = settings.top_p;
        r.seed = settings.seed;
        r
    };
    let started = Instant::now();
    let reply = broker.call(Role::Codegen, &build, ctx).await?;
    let (content, scope_violations) = generate::parse_reply(&reply.response.text, pkg, plan, mode)?;
    Ok(Generated { content, mode, record: reply.record, scope_violations, elapsed: started.elapsed() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, PlannedFile};
    use crate::task::relpath::RelPath;

    #[test]
    fn the_prompt_carries_reasons_kept_hunks_findings_and_the_note() {
        let entry = PlannedFile {
            path: RelPath::new("pkg/a.py").unwrap(),
            action: Action::Modify,
            description: "types".into(),
            depends_on: vec![],
        };
        let plan = Plan::new("t".into(), "p".into(), vec![entry.clone()], None, None).unwrap();
        let pkg = crate::context::build(&plan, &entry, "", Some("x = 1\n".into()), vec![], 100_000);
        let note = |id: &str, reason: Option<&str>| HunkNote {
            id: id.into(),
            header: "@@ -1 +1 @@".into(),
            diff: format!("-old {id}\n+new {id}\n"),
            reason: reason.map(str::to_owned),
        };
        let fb = Feedback {
            rejected: vec![note("aaa", Some("use a dataclass"))],
            accepted: vec![note("bbb", None)],
            findings: vec![],
            note: Some("keep it short".into()),
            changed_dependencies: vec![],
        };
        let prompts = Prompts::load(None).unwrap();
        let (_, user) = render(&prompts, &pkg, &fb, ReplyMode::WholeFile).unwrap();
        assert!(user.contains("Reason: use a dataclass"), "{user}");
        assert!(user.contains("+new bbb") && user.contains("keep these exactly"), "{user}");
        assert!(user.contains("keep it short") && user.contains("Target file: pkg/a.py"), "{user}");
        assert!(user.contains("x = 1"), "the current candidate: {user}");
    }
}
