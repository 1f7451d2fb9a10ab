//! The repair loop: for one file with findings, a bounded number of model attempts, each
//! re-validated, keeping the best content.
//!
//! Each attempt sends the file, its findings and a language-specific system prompt
//! (`prompts/repair-<lang>.md.j2`; the user prompt `repair.md.j2` states `Target file: <path>`)
//! through the broker's repair role and takes edits back ([`edits`]): the `patch_file` and
//! `write_file` tools with tool choice "any" where the provider supports tools, SEARCH/REPLACE
//! or a whole-file fence otherwise.
//!
//! Invariants (the seed's guardrails):
//! - at most `max_attempts` attempts, and the loop never calls itself (no recursion);
//! - an attempt only edits its own file: no tool takes a path;
//! - an edit that does not apply is an error fed into the next attempt's prompt;
//! - an attempt changing more than `max_changed_fraction` of the original's lines is rejected
//!   and the next prompt carries a preservation warning;
//! - every candidate is re-validated ([`Validators::check_candidate`]); the attempt after a
//!   checked candidate works on that candidate and its findings;
//! - the result is the content with the fewest findings seen (the original included) — this
//!   module never writes code/files: the caller writes the result through its atomic writer;
//! - when the loop ends the shadow tree holds the result, so later files are checked against
//!   it;
//! - the loop works only on the findings the generation introduced ([`repairable`]): a
//!   preexisting or environment finding is never sent to the model, and an attempt succeeds
//!   when the introduced findings reach zero.

pub mod edits;
pub mod improve;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerError, CallCtx, ChatRequest, Notice, Role, StreamDelta, ToolChoice};
use crate::codegen::lang;
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
    /// Completion token cap per attempt.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
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

/// Runs the loop on `file`, whose current content `original` has `findings` (see the module
/// invariants; findings that are not [`repairable`] are dropped here).
///
/// # Errors
/// [`RepairError`]: a provider failure or cancellation, a broken template, or a shadow tree
/// failure. Findings that survive are not an error.
pub async fn repair_file(
    ctx: &RepairCtx<'_>,
    file: &RelPath,
    original: &str,
    findings: Vec<ValidationReport>,
) -> Result<RepairOutcome, RepairError> {
    let s = ctx.settings;
    let fence = lang::file_type(file).fence;
    let system = ctx.prompts.render(system_template(file), &serde_json::json!({ "path": file.as_str() }))?;
    let findings: Vec<ValidationReport> = findings.into_iter().filter(repairable).collect();
    let mut current = original.to_owned();
    let mut errors = findings.clone();
    let mut best = (original.to_owned(), findings);
    let mut attempts: Vec<RepairAttempt> = Vec::new();
    let mut warning = false;
    let mut edit_error: Option<String> = None;
    for attempt in 1..=s.max_attempts.max(1) {
        if ctx.cancel.is_cancelled() {
            return Err(BrokerError::Cancelled.into());
        }
        let render = |tools: bool| {
            ctx.prompts.render(
                "repair.md.j2",
                &PromptCtx {
                    path: file.as_str(),
                    lang: fence,
                    content: &current,
                    findings: &errors,
                    attempt,
                    max_attempts: s.max_attempts,
                    tools,
                    preservation_warning: warning,
                    edit_error: edit_error.as_deref(),
                },
            )
        };
        let (with_tools, without_tools) = (render(true)?, render(false)?);
        let build = |caps: &crate::broker::Capabilities| {
            let mut r = ChatRequest::new(
                system.clone(),
                if caps.tools { with_tools.clone() } else { without_tools.clone() },
                s.max_tokens,
            );
            r.temperature = s.temperature;
            if caps.tools {
                r.tools = edits::tool_specs();
                r.tool_choice = if caps.tool_choice { ToolChoice::Any } else { ToolChoice::Auto };
            }
            r
        };
        let sink = |_: StreamDelta| {};
        let call = CallCtx { label: file.as_str(), sink: &sink, notices: ctx.notices, cancel: ctx.cancel };
        let reply = ctx.broker.call(Role::Repair, &build, &call).await?;
        let (input_tokens, output_tokens) = (reply.record.input_tokens, reply.record.output_tokens);
        let mut record = RepairAttempt {
            step: STEP.into(),
            file: file.to_string(),
            attempt,
            errors_in: errors.clone(),
            errors_out: errors.clone(),
            success: false,
            input_tokens,
            output_tokens,
            kind: crate::report::AttemptKind::Model,
            fix: None,
            rejected: None,
        };
        let candidate = if reply.response.tool_calls.is_empty() {
            edits::apply_text_reply(&current, &reply.response.text, file)
        } else {
            edits::apply_tool_calls(&current, &reply.response.tool_calls)
        };
        warning = false;
        edit_error = None;
        match candidate {
            Err(e) => {
                record.rejected = Some(format!("edit not applied: {e}"));
                edit_error = Some(e);
            }
            Ok(c) => {
                let frac = edits::changed_fraction(original, &c);
                if frac > s.max_changed_fraction {
                    record.rejected = Some(format!(
                        "changed {:.0}% of the file's lines (limit {:.0}%)",
                        frac * 100.0,
                        s.max_changed_fraction * 100.0
                    ));
                    warning = true;
                } else {
                    let v = ctx.validators.check_candidate(ctx.shadow, file, &c, STEP).await?;
                    let introduced = v.introduced();
                    record.errors_out = introduced.clone();
                    record.success = introduced.is_empty();
                    if introduced.len() < best.1.len() {
                        best = (c.clone(), introduced.clone());
                    }
                    current = c;
                    errors = introduced;
                }
            }
        }
        (ctx.on_attempt)(&record);
        let done = record.success;
        attempts.push(record);
        if done {
            break;
        }
    }
    ctx.shadow.overlay(file, best.0.as_bytes())?;
    Ok(RepairOutcome { file: file.clone(), changed: best.0 != original, content: best.0, remaining: best.1, attempts })
}
