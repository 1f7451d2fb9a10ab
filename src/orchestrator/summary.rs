//! The run summary (seed 002, "Typical Code Generation Output"): files generated, total LOC,
//! LOC by file type, generation time per wave and in total, API calls, tokens in/out, cost.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::broker::CallRecord;

/// One wave's timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveTiming {
    /// 1-based wave number.
    pub wave: usize,
    /// Targets in it.
    pub files: usize,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Per-provider call totals.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ProviderTotals {
    /// Successful calls.
    pub calls: u64,
    /// Failed calls (after retries).
    pub failures: u64,
    /// Retries.
    pub retries: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Dollars.
    pub cost_usd: f64,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Summary {
    /// Run id.
    pub run_id: String,
    /// Files written to code/files.
    pub files_generated: usize,
    /// Deletions recorded.
    pub files_deleted: usize,
    /// Lines written in total.
    pub total_loc: usize,
    /// Lines by file type ("Python", …).
    pub loc_by_type: BTreeMap<String, usize>,
    /// Files by file type.
    pub files_by_type: BTreeMap<String, usize>,
    /// Per-wave timings.
    pub waves: Vec<WaveTiming>,
    /// Generate-stage wall time, seconds.
    pub generation_seconds: f64,
    /// Whole-run wall time, seconds.
    pub total_seconds: f64,
    /// Model calls that succeeded.
    pub api_calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Dollars, from the price table.
    pub cost_usd: f64,
    /// Totals by provider.
    pub providers: BTreeMap<String, ProviderTotals>,
    /// Calls answered by a fallback provider.
    pub fallbacks: u64,
    /// Files in the diff, lines added and removed.
    pub diff_files: usize,
    /// Lines added.
    pub additions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Findings the generation introduced, before repair.
    pub validation_errors_before_repair: usize,
    /// Introduced findings left after repair.
    pub errors_surviving_repair: usize,
    /// Findings already in the base version (shown, never repaired).
    pub preexisting_errors: usize,
    /// Repair attempts made.
    pub repair_attempts: usize,
    /// Tests the test step ran.
    pub tests_run: usize,
    /// Failing tests introduced by the generation, before repair.
    pub tests_failed_before_repair: usize,
    /// Of those, still failing after repair.
    pub tests_failed_after_repair: usize,
    /// Failing tests that also fail on the base (never repaired).
    pub tests_preexisting: usize,
    /// Improvement-loop attempts (also counted in `repair_attempts`).
    pub improvement_attempts: usize,
    /// Improvement candidates discarded because they did not raise the score.
    pub improvements_discarded: usize,
    /// The run's quality score (the mean of its files', 0.0–1.0), once verified.
    pub quality_score: Option<f64>,
    /// Each generated file's quality score, by path.
    pub file_scores: BTreeMap<String, f64>,
    /// The task directory.
    pub task_dir: PathBuf,
    /// code/files.
    pub files_dir: PathBuf,
    /// code/diff.patch.
    pub diff_patch: PathBuf,
    /// The run log (markdown), when written.
    pub run_log: Option<PathBuf>,
}

impl Summary {
    /// Adds the broker's call records to the totals.
    pub fn add_calls(&mut self, records: &[CallRecord]) {
        for r in records {
            let t = self.providers.entry(r.provider.clone()).or_default();
            t.retries += u64::from(r.retries);
            if r.ok {
                t.calls += 1;
                self.api_calls += 1;
                if r.fell_back_from.is_some() {
                    self.fallbacks += 1;
                }
            } else {
                t.failures += 1;
            }
            t.input_tokens += r.input_tokens;
            t.output_tokens += r.output_tokens;
            t.cost_usd += r.cost_usd;
            self.input_tokens += r.input_tokens;
            self.output_tokens += r.output_tokens;
            self.cost_usd += r.cost_usd;
        }
    }

    /// The summary as the seed's text block.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Code Generation Summary (run {}):", self.run_id);
        let _ = writeln!(s, "  Files Generated: {} ({} deleted)", self.files_generated, self.files_deleted);
        let _ = writeln!(s, "  Total Lines of Code: {}", self.total_loc);
        let _ = writeln!(s, "  Diff: {} files, +{} -{}", self.diff_files, self.additions, self.deletions);
        if self.validation_errors_before_repair > 0 || self.repair_attempts > 0 {
            let _ = writeln!(
                s,
                "  Validation: {} findings before repair, {} after ({} repair attempts)",
                self.validation_errors_before_repair, self.errors_surviving_repair, self.repair_attempts
            );
        }
        if self.preexisting_errors > 0 {
            let _ =
                writeln!(s, "  Preexisting findings (already in the base, not repaired): {}", self.preexisting_errors);
        }
        if self.tests_run > 0 || self.tests_failed_before_repair > 0 {
            let _ = writeln!(
                s,
                "  Tests: {} run, {} failing before repair, {} after ({} preexisting)",
                self.tests_run, self.tests_failed_before_repair, self.tests_failed_after_repair, self.tests_preexisting
            );
        }
        if let Some(q) = self.quality_score {
            let files: Vec<String> = self.file_scores.iter().map(|(f, v)| format!("{f} {v:.2}")).collect();
            let _ = writeln!(s, "  Quality score: {q:.2} ({})", files.join(", "));
        }
        if self.improvement_attempts > 0 {
            let _ = writeln!(
                s,
                "  Improvement: {} attempts, {} candidates discarded",
                self.improvement_attempts, self.improvements_discarded
            );
        }
        if let Some(p) = &self.run_log {
            let _ = writeln!(s, "  Run log: {}", p.display());
        }
        let _ = writeln!(s, "\nGeneration Time:");
        for w in &self.waves {
            let _ = writeln!(s, "  - Wave {}: {:.1}s ({} files)", w.wave, w.seconds, w.files);
        }
        let _ = writeln!(s, "  Total: {:.1} seconds (whole run {:.1}s)", self.generation_seconds, self.total_seconds);
        if !self.loc_by_type.is_empty() {
            let _ = writeln!(s, "\nCode Distribution:");
            for (ty, loc) in &self.loc_by_type {
                let pct = if self.total_loc > 0 { *loc as f64 * 100.0 / self.total_loc as f64 } else { 0.0 };
                let files = self.files_by_type.get(ty).copied().unwrap_or(0);
                let _ = writeln!(s, "  - {ty}: {loc} LOC ({pct:.0}%), {files} files");
            }
        }
        let _ = writeln!(s, "\nAPI Calls:");
        for (name, t) in &self.providers {
            let _ = writeln!(
                s,
                "  - {name}: {} calls, {} failed, {} retries, {} in / {} out tokens, ${:.4}",
                t.calls, t.failures, t.retries, t.input_tokens, t.output_tokens, t.cost_usd
            );
        }
        if self.fallbacks > 0 {
            let _ = writeln!(s, "  Fallbacks: {} calls answered by a later provider in the chain", self.fallbacks);
        }
        let _ = writeln!(
            s,
            "  Total: {} calls, {} in / {} out tokens, ${:.4}",
            self.api_calls, self.input_tokens, self.output_tokens, self.cost_usd
        );
        s
    }
}
