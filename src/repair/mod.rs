//! The repair loop: for one file with findings, a bounded number of model attempts, each
//! re-validated, keeping the best content.
//!
//! Each attempt sends the file, its findings and a language-specific system prompt
//! (`prompts/repair-<lang>.md.j2`; the user prompt `repair.md.j2` states `Target file: <path>`)
//! through the broker's repair role and takes edits back ([`edits`]): the `patch_file` and
//! `write_file` tools with tool choice "any" where the provider supports tools, SEARCH/REPLACE
//! or a whole-file fence otherwise.
//!
//! With `[repair] candidates` = N > 1, each model attempt samples up to N replies and keeps the
//! one with the fewest findings ([`attempt`]); the improvement loop, which runs this loop, does
//! the same.
//!
//! Before any model call, the deterministic fixes ([`autofix`]) run in order, each recorded
//! as an attempt of kind `autofix` with 0 tokens, kept when it removes findings (runaway
//! repetition: when it adds none) and recorded as rejected when it adds some; a fix that leaves
//! the count unchanged is not applied. A file they make clean never reaches the model. The plan's examples ([`examples`]), when the
//! caller passes them in [`PlanHints`], are checked with every candidate and their failures
//! are findings like any validator's.
//!
//! Invariants (the seed's guardrails):
//! - at most `max_attempts` model attempts, and the loop never calls itself (no recursion);
//! - an attempt only edits its own file: no tool takes a path;
//! - an edit that does not apply is an error fed into the next attempt's prompt;
//! - a model attempt changing more than `max_changed_fraction` of the lines of the content it
//!   started from (after the autofixes), and more
//!   than `min_changed_lines` lines, is rejected and the next prompt carries a preservation
//!   warning ([`edits::check_size`]);
//! - every candidate is re-validated ([`Validators::check_candidate`]) and, when the file has
//!   failing tests ([`PlanHints::tests`]), re-tested in the sandbox; the attempt after a
//!   checked candidate works on that candidate and its findings;
//! - the result is the content with the fewest findings seen (the original included) — this
//!   module never writes code/files: the caller writes the result through its atomic writer;
//! - when the loop ends the shadow tree holds the result, so later files are checked against
//!   it;
//! - the loop works only on the findings the generation introduced ([`repairable`]): a
//!   preexisting or environment finding is never sent to the model, and an attempt succeeds
//!   when the introduced findings reach zero.

mod attempt;
pub mod autofix;
pub mod candidates;
pub mod edits;
pub mod examples;
pub mod fastcheck;
pub mod improve;
pub mod pysrc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerError, Notice};
use crate::codegen::prompt::{PromptError, Prompts};
use crate::report::{RepairAttempt, ValidationReport};
use crate::task::relpath::RelPath;
use crate::validate::shadow::{ShadowError, ShadowTree};
use crate::validate::{Family, ValidateError, Validators, family, repairable};

/// The step name repair attempts and their findings carry.
pub const STEP: &str = "repair";

/// Settings of the loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepairSettings {
    /// Attempts per file (≥ 1).
    pub max_attempts: u32,
    /// Largest fraction of the original's lines an attempt may change (see
    /// [`edits::changed_fraction`]).
    pub max_changed_fraction: f64,
    /// A change of at most this many lines is always allowed (see [`edits::check_size`]).
    pub min_changed_lines: usize,
    /// Completion token cap per attempt.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Replies sampled per model attempt (`[repair] candidates`, ≥ 1); the one with the fewest
    /// findings is kept, ties to the first.
    pub candidates: u32,
    /// The temperature of candidates after the first (`[generate] candidate_temperature`).
    pub candidate_temperature: f32,
    /// The configured `seed`: candidate `i` > 1 samples with seed `seed + i − 1`
    /// ([`crate::broker::candidate_seed`]); candidate 1 keeps the request as it was.
    pub seed: Option<u64>,
}

impl RepairSettings {
    /// The loop's settings from `[repair]`, the run's request settings (token cap and
    /// temperature) and `[generate] candidate_temperature`.
    pub fn new(
        repair: &crate::config::RepairConfig,
        generate: &crate::codegen::generate::GenerateSettings,
        candidate_temperature: f32,
    ) -> Self {
        Self {
            max_attempts: repair.max_attempts.max(1),
            max_changed_fraction: repair.max_changed_fraction,
            min_changed_lines: repair.min_changed_lines,
            max_tokens: generate.max_tokens,
            temperature: generate.temperature,
            candidates: repair.candidates.max(1),
            candidate_temperature,
            seed: generate.seed,
        }
    }
}

/// What the loop did for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairOutcome {
    /// The file.
    pub file: RelPath,
    /// The content to keep: the one with the fewest findings.
    pub content: String,
    /// Whether `content` differs from the content the loop started with.
    pub changed: bool,
    /// Its introduced findings (empty on success).
    pub remaining: Vec<ValidationReport>,
    /// Every attempt, in order.
    pub attempts: Vec<RepairAttempt>,
}

impl RepairOutcome {
    /// Whether the file ended clean.
    pub fn success(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// Why the loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The provider chain failed or the run was cancelled.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A prompt template failed.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A candidate could not be re-validated.
    #[error(transparent)]
    Validate(#[from] ValidateError),
    /// The shadow tree could not be restored to the result.
    #[error(transparent)]
    Shadow(#[from] ShadowError),
}

/// What the loop works with.
pub struct RepairCtx<'a> {
    /// The broker (repair role).
    pub broker: &'a Broker,
    /// Prompt templates.
    pub prompts: &'a Prompts,
    /// The run's validators.
    pub validators: &'a Validators,
    /// The run's shadow tree.
    pub shadow: &'a ShadowTree,
    /// Loop settings.
    pub settings: RepairSettings,
    /// Stops the loop (between and during model calls).
    pub cancel: &'a CancellationToken,
    /// Called with each attempt as soon as it is judged.
    pub on_attempt: &'a (dyn Fn(&RepairAttempt) + Send + Sync),
    /// Receives the broker's retries and fallbacks.
    pub notices: &'a (dyn Fn(Notice) + Send + Sync),
}

/// The system prompt template for `file`'s language.
pub fn system_template(file: &RelPath) -> &'static str {
    match family(file) {
        Family::Python => "repair-python.md.j2",
        Family::TypeScript => "repair-typescript.md.j2",
        Family::Rust => "repair-rust.md.j2",
        Family::Go => "repair-go.md.j2",
        Family::Other => "repair-system.md.j2",
    }
}

#[derive(Serialize)]
struct PromptCtx<'a> {
    path: &'a str,
    lang: &'a str,
    content: &'a str,
    findings: &'a [ValidationReport],
    attempt: u32,
    max_attempts: u32,
    tools: bool,
    preservation_warning: bool,
    edit_error: Option<&'a str>,
}

/// What the plan says about the file under repair; the default knows nothing (then the
/// trailing-junk fix treats every name it would drop as named, and no examples run).
#[derive(Debug, Clone, Default)]
pub struct PlanHints {
    /// Symbols the file's description names ([`pysrc::named_symbols`]).
    pub named: Vec<pysrc::NamedSymbol>,
    /// The examples for the file ([`PlanHints::for_file`]).
    pub examples: Vec<examples::Example>,
    /// Runs them (`None`: not run).
    pub runner: Option<examples::ExampleRunner>,
    /// The run's tests, when the file has failing tests: every candidate that reaches the
    /// static check is also re-tested (`None`: candidates are only re-validated).
    pub tests: Option<TestRecheck>,
}

/// Re-runs the run's test selection on a candidate (overlaid in the shadow tree, in the
/// sandbox, see [`crate::testing::run_tests`]); the failing tests located in the candidate's
/// file count as its findings, like a validator's.
#[derive(Debug, Clone)]
pub struct TestRecheck {
    /// The repo (the base of the preexisting check, where runners are found).
    pub repo: std::path::PathBuf,
    /// `[test]`.
    pub cfg: crate::testing::TestConfig,
    /// The run's generated files.
    pub targets: Vec<RelPath>,
    /// The run's sandbox.
    pub sandbox: crate::sandbox::Sandbox,
    /// The base's failing tests, shared with the run's test step.
    pub base: std::sync::Arc<crate::testing::BaseCache>,
}

impl TestRecheck {
    /// The non-preexisting failing tests located in `file` with the shadow tree as it is.
    async fn failing_in(&self, shadow: &ShadowTree, file: &RelPath) -> Vec<ValidationReport> {
        let ctx = crate::testing::TestCtx {
            repo: &self.repo,
            scratch: shadow,
            sandbox: &self.sandbox,
            cfg: &self.cfg,
            targets: &self.targets,
            step: STEP,
        };
        match crate::testing::run_tests(&ctx, &self.base).await {
            Ok(o) => o.findings.into_iter().filter(|f| !f.preexisting && f.file == file.as_str()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl PlanHints {
    /// The hints for `file` of `plan`: the symbols its description names, the examples of its
    /// description and those of plan.md that call one of those symbols, and a runner using
    /// the Python the validators use for `repo`, in `sandbox` (the validators' own).
    pub fn for_file(
        plan: &crate::plan::Plan,
        file: &RelPath,
        repo: &std::path::Path,
        sandbox: &crate::sandbox::Sandbox,
    ) -> Self {
        let Some(entry) = plan.entry(file) else { return Self::default() };
        let named = pysrc::named_symbols(&entry.description);
        let mut examples = examples::extract(&entry.description);
        for e in examples::extract(&plan.plan_md) {
            let calls_named = named.iter().any(|s| examples::calls(&e, &s.name));
            if calls_named && !examples.contains(&e) {
                examples.push(e);
            }
        }
        let runner = if family(file) == Family::Python && !examples.is_empty() {
            examples::ExampleRunner::discover(repo, sandbox.clone())
        } else {
            None
        };
        Self { named, examples, runner, tests: None }
    }
}

/// [`repair_file_with`] without plan hints.
///
/// # Errors
/// As [`repair_file_with`].
pub async fn repair_file(
    ctx: &RepairCtx<'_>,
    file: &RelPath,
    original: &str,
    findings: Vec<ValidationReport>,
) -> Result<RepairOutcome, RepairError> {
    repair_file_with(ctx, file, original, findings, &PlanHints::default()).await
}

/// Which findings a loop works on and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Works {
    /// [`repairable`] ones: the repair loop.
    OnErrors,
    /// Every finding that weighs in the [quality score](crate::quality::weight_of): the
    /// improvement loop ([`improve`]).
    OnWeighing,
}

impl Works {
    fn keeps(self, r: &ValidationReport) -> bool {
        match self {
            Works::OnErrors => repairable(r),
            Works::OnWeighing => crate::quality::weight_of(r).is_some(),
        }
    }
}

/// The findings on `content` the loop works on (`works`): those the validators report
/// ([`Validators::check_candidate`]) and the failing examples of `hints`.
async fn findings_on(
    ctx: &RepairCtx<'_>,
    hints: &PlanHints,
    file: &RelPath,
    content: &str,
    works: Works,
) -> Result<Vec<ValidationReport>, RepairError> {
    let checked = ctx.validators.check_candidate(ctx.shadow, file, content, STEP).await?;
    let mut reports: Vec<ValidationReport> = checked.reports.into_iter().filter(|r| works.keeps(r)).collect();
    if let Some(tests) = hints.tests.as_ref().filter(|_| works == Works::OnErrors) {
        // check_candidate may have checked on stdin only: the tests need the candidate on disk.
        ctx.shadow.overlay(file, content.as_bytes())?;
        reports.extend(tests.failing_in(ctx.shadow, file).await);
    }
    if let Some(runner) = &hints.runner
        && let Ok(o) = runner.run(ctx.shadow, file, content, &hints.examples).await
    {
        reports.extend(o.reports(file, STEP));
    }
    Ok(reports)
}

fn autofix_record(file: &RelPath, attempt: u32, step: autofix::Step, errors_in: &[ValidationReport]) -> RepairAttempt {
    RepairAttempt {
        step: STEP.into(),
        file: file.to_string(),
        attempt,
        errors_in: errors_in.to_vec(),
        errors_out: errors_in.to_vec(),
        success: false,
        input_tokens: 0,
        output_tokens: 0,
        kind: crate::report::AttemptKind::Autofix,
        fix: Some(step.name().to_owned()),
        rejected: None,
        candidates: Vec::new(),
    }
}

/// The deterministic fixes on `content` with `errors` (see the module docs); returns the
/// content and findings after the kept fixes, and one attempt per fix that changed something.
async fn run_autofixes(
    ctx: &RepairCtx<'_>,
    hints: &PlanHints,
    file: &RelPath,
    content: &str,
    errors: Vec<ValidationReport>,
    works: Works,
) -> Result<(String, Vec<ValidationReport>, Vec<RepairAttempt>), RepairError> {
    let fast = fastcheck::FastCheck::for_validators(ctx.validators, ctx.shadow);
    let (mut current, mut errors) = (content.to_owned(), errors);
    let mut attempts: Vec<RepairAttempt> = Vec::new();
    for step in autofix::Step::ALL {
        if errors.is_empty() {
            break;
        }
        let undefined = autofix::undefined_names(errors.iter().map(|e| (e.code.as_str(), e.message.as_str())));
        let next = match step.apply(&fast, file, &current, &hints.named, &undefined).await {
            Ok(Some(n)) => n,
            Ok(None) | Err(_) => continue,
        };
        let mut record = autofix_record(file, attempts.len() as u32 + 1, step, &errors);
        let found = findings_on(ctx, hints, file, &next, works).await?;
        // Kept when it removes findings (runaway repetition: when it adds none); a fix that
        // changes nothing the validators count (ruff dropping a preexisting unused import) is
        // not applied at all.
        let keep = found.len() < errors.len() || (step == autofix::Step::Repetition && found.len() <= errors.len());
        if !keep && found.len() == errors.len() {
            continue;
        }
        record.errors_out = found.clone();
        record.success = found.is_empty();
        if keep {
            current = next;
            errors = found;
        } else {
            record.rejected = Some(format!("the fix left {} findings where there were {}", found.len(), errors.len()));
        }
        (ctx.on_attempt)(&record);
        attempts.push(record);
    }
    Ok((current, errors, attempts))
}

/// Runs the loop on `file`, whose current content `original` has `findings`, with what the
/// plan says about it (see the module docs and invariants; findings that are not
/// [`repairable`] are dropped here).
///
/// # Errors
/// [`RepairError`]: a provider failure or cancellation, a broken template, or a shadow tree
/// failure. Findings that survive are not an error.
pub async fn repair_file_with(
    ctx: &RepairCtx<'_>,
    file: &RelPath,
    original: &str,
    findings: Vec<ValidationReport>,
    hints: &PlanHints,
) -> Result<RepairOutcome, RepairError> {
    repair_loop(ctx, file, original, findings, hints, Works::OnErrors).await
}

/// The repair loop working on every finding that weighs in the quality score (warnings, info
/// and medium/low security findings included, see [`crate::quality::weight_of`]) rather than
/// errors only: the improvement loop's ([`improve`]) step. Candidates are judged on the same
/// findings, so a candidate's `remaining` findings are comparable by score.
///
/// # Errors
/// As [`repair_file_with`].
pub async fn repair_weighing(
    ctx: &RepairCtx<'_>,
    file: &RelPath,
    original: &str,
    findings: Vec<ValidationReport>,
) -> Result<RepairOutcome, RepairError> {
    repair_loop(ctx, file, original, findings, &PlanHints::default(), Works::OnWeighing).await
}

async fn repair_loop(
    ctx: &RepairCtx<'_>,
    file: &RelPath,
    original: &str,
    findings: Vec<ValidationReport>,
    hints: &PlanHints,
    works: Works,
) -> Result<RepairOutcome, RepairError> {
    let s = ctx.settings;
    let mut findings: Vec<ValidationReport> = findings.into_iter().filter(|r| works.keeps(r)).collect();
    if let Some(runner) = &hints.runner
        && let Ok(o) = runner.run(ctx.shadow, file, original, &hints.examples).await
    {
        findings.extend(o.reports(file, STEP));
    }
    let (fixed, findings, mut attempts) = run_autofixes(ctx, hints, file, original, findings, works).await?;
    let start = fixed.as_str();
    if findings.is_empty() {
        ctx.shadow.overlay(file, start.as_bytes())?;
        return Ok(RepairOutcome {
            file: file.clone(),
            changed: start != original,
            content: start.to_owned(),
            remaining: findings,
            attempts,
        });
    }
    let system = ctx.prompts.render(system_template(file), &serde_json::json!({ "path": file.as_str() }))?;
    let mut current = start.to_owned();
    let mut errors = findings.clone();
    let mut best = (start.to_owned(), findings);
    let autofixes = attempts.len() as u32;
    let (mut warning, mut edit_error) = (false, None::<String>);
    for attempt in 1..=s.max_attempts.max(1) {
        if ctx.cancel.is_cancelled() {
            return Err(BrokerError::Cancelled.into());
        }
        let state = attempt::AttemptState {
            attempt,
            number: autofixes + attempt,
            current: &current,
            errors: &errors,
            start,
            warning,
            edit_error: edit_error.as_deref(),
        };
        let sampled = attempt::model_attempt(ctx, hints, file, &system, &state, works).await?;
        (warning, edit_error) = (sampled.warning, sampled.edit_error);
        if let Some((c, found)) = sampled.kept {
            if found.len() < best.1.len() {
                best = (c.clone(), found.clone());
            }
            current = c;
            errors = found;
        }
        (ctx.on_attempt)(&sampled.record);
        let done = sampled.record.success;
        attempts.push(sampled.record);
        if done {
            break;
        }
    }
    ctx.shadow.overlay(file, best.0.as_bytes())?;
    Ok(RepairOutcome { file: file.clone(), changed: best.0 != original, content: best.0, remaining: best.1, attempts })
}
