//! The generate stage for one target file: render the prompt, call the codegen role, and turn
//! the reply into the file's new content.
//!
//! Invariants: one request per `create`/`modify` target (a `delete` needs none); the reply is
//! untrusted — content is taken only from a block that declares the target or declares
//! nothing, blocks that declare an unplanned path are reported as scope violations and never
//! used, and SEARCH/REPLACE edits apply only under [`crate::codegen::edit`]'s exact rules.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::broker::{Broker, BrokerError, CallCtx, CallRecord, ChatRequest, ReplyShape, Role};
use crate::codegen::edit::{self, EditError};
use crate::codegen::lang;
use crate::codegen::prompt::{PromptError, Prompts};
use crate::codegen::reply::{self, ReplyError};
use crate::context::ContextPackage;
use crate::plan::{Action, Plan};

/// How a reply is asked for and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMode {
    /// The complete file in one fenced block.
    WholeFile,
    /// SEARCH/REPLACE blocks against the current content (large `modify` targets).
    SearchReplace,
}

/// Sampling and size settings for codegen requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateSettings {
    /// A `modify` target with more lines than this gets SEARCH/REPLACE mode.
    pub edit_threshold_lines: usize,
    /// Completion token cap.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// `(index, temperature)` when the request is candidate `index` (0-based) of a best-of-N
    /// sample: the request gets [`ChatRequest::candidate`]'s seed and that temperature;
    /// `None`: `seed` and `temperature` as they are.
    pub candidate: Option<(u32, f32)>,
}

impl Default for GenerateSettings {
    fn default() -> Self {
        Self {
            edit_threshold_lines: 400,
            max_tokens: 4096,
            temperature: Some(0.2),
            top_p: None,
            seed: None,
            candidate: None,
        }
    }
}

/// A generated target.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The new content.
    pub content: String,
    /// How it was asked for.
    pub mode: ReplyMode,
    /// The broker's record of the call.
    pub record: CallRecord,
    /// Paths outside the plan that the reply tried to write.
    pub scope_violations: Vec<String>,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// Why a target could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The provider chain failed (or the run was cancelled).
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The prompt template failed.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// The reply did not parse.
    #[error("{0}")]
    Reply(#[from] ReplyError),
    /// A SEARCH/REPLACE edit did not apply.
    #[error("{0}")]
    Edit(#[from] EditError),
    /// The reply wrote another planned file instead of the target.
    #[error("the reply wrote {wrote} instead of {target}")]
    WrongFile {
        /// What it wrote.
        wrote: String,
        /// What was asked.
        target: String,
    },
    /// The file is larger than the context budget and the reply had no SEARCH/REPLACE edits.
    #[error(
        "{0} is larger than the context budget, so only SEARCH/REPLACE edits can be applied, and the reply had none; raise context_budget_tokens or split the file"
    )]
    NeedsEdits(String),
    /// Every block of the reply targets files outside the plan.
    #[error("the reply only wrote files outside the plan: {}", .0.join(", "))]
    OutOfScope(Vec<String>),
}

/// The reply mode for a package: SEARCH/REPLACE for a `modify` whose file has more lines
/// than the threshold, or whose content had to be cut to fit the context budget (a whole-file
/// reply written from a cut view would drop the rest of the file).
pub fn mode_for(pkg: &ContextPackage, s: &GenerateSettings) -> ReplyMode {
    match (&pkg.entry.action, &pkg.current_full) {
        (Action::Modify, Some(c)) if pkg.current_truncated || c.lines().count() > s.edit_threshold_lines => {
            ReplyMode::SearchReplace
        }
        _ => ReplyMode::WholeFile,
    }
}

/// The reply shape the prompt for `pkg` in `mode` asks for, so providers that constrain
/// decoding (the local model) can only write it: one fence as long as the prompt's (longer than
/// any backtick run in the current content) with the target's fence info, or SEARCH/REPLACE
/// blocks naming the target.
pub fn reply_shape(pkg: &ContextPackage, mode: ReplyMode) -> ReplyShape {
    match mode {
        ReplyMode::WholeFile => ReplyShape::FencedBlock {
            fence: lang::fence_for(pkg.current.as_deref().unwrap_or("")).len(),
            info: lang::file_type(&pkg.entry.path).fence.to_owned(),
        },
        ReplyMode::SearchReplace => ReplyShape::SearchReplace { path: pkg.entry.path.as_str().to_owned() },
    }
}

/// Renders the (system, user) prompts for a package.
///
/// # Errors
/// [`PromptError`].
pub fn render(prompts: &Prompts, pkg: &ContextPackage, mode: ReplyMode) -> Result<(String, String), PromptError> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        #[serde(flatten)]
        pkg: &'a ContextPackage,
        lang: &'static str,
    }
    let ctx = Ctx { pkg, lang: lang::file_type(&pkg.entry.path).fence };
    let system = prompts.render("codegen-system.md.j2", &ctx)?;
    let name = match mode {
        ReplyMode::WholeFile => "codegen.md.j2",
        ReplyMode::SearchReplace => "codegen-edit.md.j2",
    };
    Ok((system, prompts.render(name, &ctx)?))
}

/// Generates one target through the broker's codegen role.
///
/// # Errors
/// [`GenerateError`].
pub async fn generate_file(
    broker: &Broker,
    prompts: &Prompts,
    plan: &Plan,
    pkg: &ContextPackage,
    settings: &GenerateSettings,
    ctx: &CallCtx<'_>,
) -> Result<Generated, GenerateError> {
    let mode = mode_for(pkg, settings);
    let (system, user) = render(prompts, pkg, mode)?;
    let shape = reply_shape(pkg, mode);
    let build = |_: &crate::broker::Capabilities| {
        let mut r = ChatRequest::new(system.clone(), user.clone(), settings.max_tokens);
        r.temperature = settings.temperature;
        r.top_p = settings.top_p;
        r.seed = settings.seed;
        r.reply_shape = Some(shape.clone());
        match settings.candidate {
            Some((index, temperature)) => r.candidate(index, temperature),
            None => r,
        }
    };
    let started = Instant::now();
    let reply = broker.call(Role::Codegen, &build, ctx).await?;
    let (content, scope_violations) = parse_reply(&reply.response.text, pkg, plan, mode)?;
    Ok(Generated { content, mode, record: reply.record, scope_violations, elapsed: started.elapsed() })
}

/// Turns reply text into the target's content (see the module invariants). Returns the
/// content and the out-of-plan paths the reply declared.
///
/// # Errors
/// [`GenerateError`] for unparseable replies, failed edits, or replies that only wrote other
/// files.
pub fn parse_reply(
    text: &str,
    pkg: &ContextPackage,
    plan: &Plan,
    mode: ReplyMode,
) -> Result<(String, Vec<String>), GenerateError> {
    let target = pkg.entry.path.as_str();
    let in_plan = |p: &str| plan.files.iter().any(|f| f.path.as_str() == p);
    let mut out_of_scope: Vec<String> = Vec::new();
    let mut other_planned: Vec<String> = Vec::new();
    let mut note = |declared: &Option<String>| -> bool {
        match declared.as_deref() {
            None => true,
            Some(p) if p == target => true,
            Some(p) if in_plan(p) => {
                other_planned.push(p.to_owned());
                false
            }
            Some(p) => {
                if !out_of_scope.iter().any(|x| x == p) {
                    out_of_scope.push(p.to_owned());
                }
                false
            }
        }
    };
    if mode == ReplyMode::SearchReplace {
        let blocks = reply::search_replace_blocks(text)?;
        if !blocks.is_empty() {
            let mine: Vec<_> = blocks.into_iter().filter(|b| note(&b.declared)).collect();
            if mine.is_empty() {
                return Err(wrong(target, other_planned, out_of_scope));
            }
            let content = edit::apply(pkg.current_full.as_deref().unwrap_or(""), &mine)?;
            return Ok((content, out_of_scope));
        }
        if pkg.current_truncated {
            return Err(GenerateError::NeedsEdits(target.to_owned()));
        }
    }
    let blocks = reply::fenced_blocks(text);
    if blocks.is_empty() {
        return Ok((reply::bare_content(text)?, out_of_scope));
    }
    let candidates: Vec<_> = blocks.into_iter().filter(|b| note(&b.declared)).collect();
    let best = candidates.into_iter().max_by_key(|b| (b.declared.is_some(), b.content.len()));
    match best {
        Some(b) => Ok((b.content, out_of_scope)),
        None => Err(wrong(target, other_planned, out_of_scope)),
    }
}

fn wrong(target: &str, other_planned: Vec<String>, out_of_scope: Vec<String>) -> GenerateError {
    match other_planned.into_iter().next() {
        Some(wrote) if out_of_scope.is_empty() => GenerateError::WrongFile { wrote, target: target.to_owned() },
        _ => GenerateError::OutOfScope(out_of_scope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedFile;
    use crate::task::relpath::RelPath;

    fn setup(action: Action, current: Option<&str>) -> (Plan, ContextPackage) {
        let entry = PlannedFile {
            path: RelPath::new("pkg/a.py").unwrap(),
            action,
            description: String::new(),
            depends_on: vec![],
        };
        let other = PlannedFile { path: RelPath::new("pkg/b.py").unwrap(), ..entry.clone() };
        let plan = Plan {
            title: "t".into(),
            plan_md: "p".into(),
            files: vec![entry.clone(), other],
            planning_ai: None,
            plan_review: None,
            ..Plan::default()
        };
        let pkg = crate::context::build(&plan, &entry, "", current.map(str::to_owned), vec![], 100_000);
        (plan, pkg)
    }

    #[test]
    fn takes_the_target_block_and_reports_unplanned_ones() {
        let (plan, pkg) = setup(Action::Create, None);
        let reply = "pkg/a.py\n```python\nx = 1\n```\n\nsecrets.py\n```python\nsteal()\n```\n";
        let (content, oos) = parse_reply(reply, &pkg, &plan, ReplyMode::WholeFile).unwrap();
        assert_eq!(content, "x = 1\n");
        assert_eq!(oos, vec!["secrets.py"]);
    }

    #[test]
    fn reply_for_another_planned_file_is_an_error() {
        let (plan, pkg) = setup(Action::Create, None);
        let err = parse_reply("pkg/b.py\n```python\ny = 2\n```\n", &pkg, &plan, ReplyMode::WholeFile).unwrap_err();
        assert!(matches!(err, GenerateError::WrongFile { .. }), "{err}");
        let err = parse_reply("evil.py\n```python\ny = 2\n```\n", &pkg, &plan, ReplyMode::WholeFile).unwrap_err();
        assert!(matches!(err, GenerateError::OutOfScope(ref v) if v == &["evil.py"]), "{err}");
    }

    #[test]
    fn search_replace_mode_applies_edits() {
        let (plan, pkg) = setup(Action::Modify, Some("a = 1\nb = 2\n"));
        let reply = "pkg/a.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = 3\n>>>>>>> REPLACE\n";
        let (content, _) = parse_reply(reply, &pkg, &plan, ReplyMode::SearchReplace).unwrap();
        assert_eq!(content, "a = 1\nb = 3\n");
        let bad = "<<<<<<< SEARCH\nzzz\n=======\nq\n>>>>>>> REPLACE\n";
        assert!(matches!(parse_reply(bad, &pkg, &plan, ReplyMode::SearchReplace), Err(GenerateError::Edit(_))));
        let unplanned = "other.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = 3\n>>>>>>> REPLACE\n";
        assert!(matches!(
            parse_reply(unplanned, &pkg, &plan, ReplyMode::SearchReplace),
            Err(GenerateError::OutOfScope(_))
        ));
    }

    #[test]
    fn a_file_cut_by_the_budget_is_edited_whole_never_rewritten_from_the_cut() {
        let big: String = (0..300).map(|i| format!("line_{i} = {i}\n")).collect();
        let entry = PlannedFile {
            path: RelPath::new("pkg/a.py").unwrap(),
            action: Action::Modify,
            description: String::new(),
            depends_on: vec![],
        };
        let plan = Plan {
            title: "t".into(),
            plan_md: "p".into(),
            files: vec![entry.clone()],
            planning_ai: None,
            plan_review: None,
            ..Plan::default()
        };
        let pkg = crate::context::build(&plan, &entry, "", Some(big.clone()), vec![], 600);
        assert!(pkg.current_truncated && pkg.current.as_ref().unwrap().len() < big.len());
        assert_eq!(mode_for(&pkg, &GenerateSettings::default()), ReplyMode::SearchReplace);
        // The edit near the end applies to the whole file, not to the cut view.
        let reply = "<<<<<<< SEARCH\nline_299 = 299\n=======\nline_299 = 0\n>>>>>>> REPLACE\n";
        let (content, _) = parse_reply(reply, &pkg, &plan, ReplyMode::SearchReplace).unwrap();
        assert_eq!(content, big.replace("line_299 = 299", "line_299 = 0"));
        // A whole-file reply is refused rather than truncating the file.
        let err = parse_reply("```python\nline_0 = 0\n```\n", &pkg, &plan, ReplyMode::SearchReplace).unwrap_err();
        assert!(matches!(err, GenerateError::NeedsEdits(_)), "{err}");
    }

    #[test]
    fn bare_reply_is_the_file() {
        let (plan, pkg) = setup(Action::Create, None);
        assert_eq!(parse_reply("x = 1\n", &pkg, &plan, ReplyMode::WholeFile).unwrap().0, "x = 1\n");
    }
}
