//! What verification reports: one [`ValidationReport`] per finding, one [`RepairAttempt`] per
//! attempt of the repair loop, and the [categories](classify) findings fall in.
//!
//! A leaf module: the validators ([`crate::validate`]), the repair loop ([`crate::repair`]),
//! the run log ([`crate::runlog`]) and the events all import these types from here, so none of
//! them depends on another for its vocabulary.

pub mod classify;

use serde::{Deserialize, Serialize};

use crate::report::classify::Category;

/// One finding of a validator, as the run log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// The step that found it (`validate`, `repair`).
    pub step: String,
    /// Repo-relative path of the generated file.
    pub file: String,
    /// 1-based line (0 when the tool gave none).
    pub line: u32,
    /// 1-based column (0 when the tool gave none).
    pub column: u32,
    /// The tool's code (`F821`, `reportUndefinedVariable`, `TS2304`, `E0425`, …).
    pub code: String,
    /// `classify_error(tool, code)`.
    pub category: Category,
    /// The tool's message (continuation lines joined with `\n`).
    pub message: String,
    /// Which validator: `ruff`, `pyright`, `tsc`, `cargo`, `mypy` or `syntax`.
    pub tool: String,
    /// How bad the tool says it is; findings from tools without severities are errors.
    #[serde(default, skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
    /// The same finding (tool, code, message, the text of its line and neighbours) is in the
    /// base version of the file: shown and logged, never sent to repair, counted apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preexisting: bool,
}

/// A finding's severity, as the quality score weighs it (seed 003: error 10, warning 5,
/// info 1; security and performance findings carry their own weights by category).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Must be fixed: the code is wrong.
    #[default]
    Error,
    /// Should be fixed.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// Whether this is [`Severity::Error`] (the default, left out of serialized reports).
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}

/// What produced a repair attempt's candidate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// A model call (tool call, SEARCH/REPLACE or whole-file reply).
    #[default]
    Model,
    /// A deterministic fix that needs no model (0 tokens): ruff's safe fixes, trailing-junk
    /// salvage, duplicate-definition removal, standard-library imports, repetition collapse.
    Autofix,
}

/// One attempt of the repair loop on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairAttempt {
    /// The step it belongs to (`repair`).
    pub step: String,
    /// Repo-relative path of the file.
    pub file: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// The findings the attempt was asked to fix.
    pub errors_in: Vec<ValidationReport>,
    /// The findings on its result (equal to `errors_in` when the attempt was rejected or its
    /// edits did not apply).
    pub errors_out: Vec<ValidationReport>,
    /// Whether the result is clean.
    pub success: bool,
    /// Prompt tokens of the attempt's model call.
    pub input_tokens: u64,
    /// Completion tokens of the attempt's model call.
    pub output_tokens: u64,
    /// What produced the candidate.
    #[serde(default)]
    pub kind: AttemptKind,
    /// Which autofix (`ruff_fix`, `trailing_junk`, …) when `kind` is `autofix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Why the attempt's edits were not used (a patch that did not apply, the size guardrail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// With `[repair] candidates` > 1: every reply sampled for this attempt, in order (the
    /// attempt's tokens are their sum; its result is the kept one's); sampling stops at a
    /// reply that leaves no findings, so this may hold one. Empty when `candidates` is 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<RepairCandidate>,
}

impl RepairAttempt {
    /// `3 candidates, kept #2 (0 findings)` for an attempt that sampled with `[repair]
    /// candidates` > 1 (`None` otherwise); `… kept none` when no reply gave a usable edit.
    pub fn candidates_summary(&self) -> Option<String> {
        if self.candidates.is_empty() {
            return None;
        }
        let n = self.candidates.len();
        Some(match self.candidates.iter().find(|c| c.kept) {
            Some(c) => candidates_line(n, c.number, c.findings.unwrap_or_default()),
            None => format!("{}, kept none", counted(n, "candidate")),
        })
    }
}

/// `n` and `word`, plural when `n` ≠ 1: `1 candidate`, `3 findings`.
fn counted(n: usize, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

/// The line the TUI, the log pane and the run log show for a best-of-N choice: `3 candidates,
/// kept #2 (0 findings)` (`kept` is 1-based).
pub fn candidates_line(n: usize, kept: usize, findings: usize) -> String {
    format!("{}, kept #{kept} ({})", counted(n, "candidate"), counted(findings, "finding"))
}

/// One reply sampled for a model repair attempt (`[repair] candidates`; candidate 1 is the
/// plain request, the others use [`crate::broker::candidate_seed`] seeds at `[generate]
/// candidate_temperature`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairCandidate {
    /// 1-based candidate number.
    pub number: usize,
    /// Completion tokens of its reply.
    pub output_tokens: u64,
    /// The findings on its result (`None` when it was rejected before the check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<usize>,
    /// Why its edit was not used (did not apply, the size guardrail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// Whether it became the attempt's result: the fewest findings, ties to the first.
    pub kept: bool,
}

/// One candidate of a best-of-N sample for a generated file, as the run log records it
/// (`[generate] candidates`; see `crate::repair::candidates` for the checks and the order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    /// Repo-relative path of the file.
    pub file: String,
    /// 1-based candidate number.
    pub number: usize,
    /// The sampling seed of its request (`None`: the provider's default).
    pub seed: Option<u64>,
    /// The sampling temperature of its request.
    pub temperature: Option<f32>,
    /// Completion tokens of its reply.
    pub output_tokens: u64,
    /// Why the reply gave no content (it did not parse, or wrote another file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The autofixes applied to it before it was checked (`trailing_junk`, `ruff_fix`, …), in
    /// order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
    /// Built-in syntax check findings on the (autofixed) content.
    pub syntax: usize,
    /// ruff findings (`--select F,E9`).
    pub ruff: usize,
    /// Plan-named symbols it does not define.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Plan-named functions whose parameters differ from the plan's `def` line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signature: Vec<String>,
    /// The plan's examples that passed.
    pub examples_passed: usize,
    /// The plan's examples that failed.
    pub examples_failed: usize,
    /// Everything the checks held against it (the sum of the counts above).
    pub findings: usize,
    /// Verifiers that could not run on it (ruff crashed, Python missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_errors: Vec<String>,
    /// Whether it was kept.
    pub kept: bool,
}
