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
    /// Why the attempt's edits were not used (a patch that did not apply, the size guardrail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}
