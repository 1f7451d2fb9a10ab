//! One line of text per event, for every front end that shows progress as lines (the headless
//! CLI's stderr, the REPL, the TUI's log pane). `None` for events that are not worth a line
//! (stream deltas, context packages).

use crate::orchestrator::Event;
use crate::orchestrator::events::{ValidationWhen, wire_name};

/// The line for `e`, its control characters made visible ([`crate::ui::visible`]: paths,
/// findings and errors carry model and repo text).
pub fn line(e: &Event) -> Option<String> {
    raw_line(e).map(|l| crate::ui::visible::visible(&l).into_owned())
}

fn raw_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::RunStarted { run_id, providers, model, files, waves, .. } => {
            format!("codegen run {run_id}: {files} files in {waves} waves via {} ({model})", providers.join(" → "))
        }
        Event::PhaseChanged { phase } => format!("phase: {phase}"),
        Event::StageChanged { stage } => format!("stage: {stage}"),
        Event::Archived { dir } => format!("archived earlier outputs to {}", dir.display()),
        Event::WaveStarted { wave, files } => format!("wave {wave}: {}", files.join(", ")),
        Event::WaveFinished { wave, elapsed_ms, ok, failed } => {
            format!("wave {wave} finished: {ok} ok, {failed} failed, {:.1}s", *elapsed_ms as f64 / 1000.0)
        }
        Event::FileStarted { path, .. } => format!("  generating {path}…"),
        Event::FileGenerated { path, lines, output_tokens, elapsed_ms, .. } => {
            format!("  generated {path}: {lines} lines, {output_tokens} tokens, {:.1}s", *elapsed_ms as f64 / 1000.0)
        }
        Event::FileChecked { path, summary, fixes, .. } if fixes.is_empty() => format!("  checked {path}: {summary}"),
        Event::FileChecked { path, summary, fixes, .. } => {
            format!("  checked {path}: {summary}; autofixed: {}", fixes.join(", "))
        }
        Event::FileFailed { path, error } => format!("  FAILED {path}: {error}"),
        Event::FileSkipped { path, reason } => format!("  skipped {path}: {reason}"),
        Event::ScopeViolation { target, paths } => {
            format!("  scope: the reply for {target} tried to write {}", paths.join(", "))
        }
        Event::Provider { notice, path } => {
            format!("  provider ({path}): {}", serde_json::to_string(notice).unwrap_or_default())
        }
        Event::DiffReady { patch, files, additions, deletions } => {
            format!("diff: {} files, +{additions} -{deletions} → {}", files.len(), patch.display())
        }
        Event::Log { level, message } => format!("{level}: {message}"),
        Event::Ready { summary } => {
            format!("{}ready: the diff is at {}", summary.render(), summary.diff_patch.display())
        }
        Event::Failed { status, reason, suggestion, .. } => {
            format!("run ended {}: {reason}\n  what to do: {suggestion}", wire_name(status))
        }
        Event::Rejected { reason } => format!("not done: {reason}"),
        Event::RegenProgress { progress } => progress.describe(),
        Event::Regenerated { report } => match report.archive {
            Some(n) => format!(
                "regenerated {} targets; the previous candidates are in code/candidates/{n}/",
                report.files.len()
            ),
            None => "regenerated; every new candidate equals the previous one, nothing changed".to_owned(),
        },
        Event::EditReady { path, file, .. } => format!("editing {path} (a scratch copy: {})", file.display()),
        Event::Edited { path, outcome } => edited(path, outcome),
        Event::CandidateDiffed { path, diff } => match diff {
            None => format!("{path}: never regenerated or edited, so there is no previous candidate"),
            Some(d) if d.file.is_none() => {
                format!("{path}: the current candidate equals the previous one (code/candidates/{}/)", d.archive)
            }
            Some(d) => format!("{path}: changes since the previous candidate (code/candidates/{}/)", d.archive),
        },
        Event::Rediffed { report } => {
            format!("re-derived code/diff.patch: {} hunks in {} files", report.hunks, report.files)
        }
        Event::ProviderChanged { providers, model } => {
            format!("provider for the next run: {} ({model})", providers.join(" → "))
        }
        Event::TestsReported { when, tests_run, tests_failed, preexisting, failures } => {
            let w = if *when == ValidationWhen::BeforeRepair { "before repair" } else { "after repair" };
            let mut s = format!("tests {w}: {tests_run} run, {tests_failed} failing ({preexisting} preexisting)");
            for f in failures.iter().take(10) {
                let first = f.message.lines().next().unwrap_or("");
                s.push_str(&format!("\n  {}:{}: {} {first}", f.file, f.line, f.code));
            }
            s
        }
        Event::ValidatorSkipped { tool, reason } => format!("validator {tool} skipped: {reason}"),
        Event::ValidationReported { when, findings, validators, elapsed_ms } => {
            let w = if *when == ValidationWhen::BeforeRepair { "validation" } else { "after repair" };
            let tools: Vec<String> = validators.iter().map(|v| format!("{} {}", v.tool, v.findings)).collect();
            let mut s = format!(
                "{w}: {} findings in {:.1}s ({})",
                findings.len(),
                *elapsed_ms as f64 / 1000.0,
                tools.join(", ")
            );
            for f in findings.iter().take(20) {
                let first = f.message.lines().next().unwrap_or("");
                s.push_str(&format!(
                    "\n  {}:{}:{}: {} {} [{}] {first}",
                    f.file, f.line, f.column, f.tool, f.code, f.category
                ));
            }
            if findings.len() > 20 {
                s.push_str(&format!("\n  … and {} more", findings.len() - 20));
            }
            s
        }
        Event::RepairStarted { path, findings, max_attempts } => {
            format!("repairing {path}: {findings} findings, up to {max_attempts} attempts")
        }
        Event::RepairAttempted { repair } => {
            let mut why = repair.candidates_summary().map(|c| format!(" — {c}")).unwrap_or_default();
            if let Some(r) = &repair.rejected {
                why.push_str(&format!(" (rejected: {r})"));
            }
            format!(
                "  repair #{} of {}: {} → {} findings{why}",
                repair.attempt,
                repair.file,
                repair.errors_in.len(),
                repair.errors_out.len()
            )
        }
        Event::FileRepaired { path, success, attempts, remaining, .. } => {
            let how = if *success { "repaired".to_owned() } else { format!("{remaining} findings left") };
            format!("{path}: {how} after {attempts} attempts")
        }
        Event::RunLogWritten { markdown, .. } => format!("run log: {}", markdown.display()),
        Event::HunksMarked { hunks } => format!("{} hunk states saved", hunks.len()),
        Event::Accepted { report, suggestion, .. } => {
            let n: usize = report.landed.iter().map(|l| l.hunks.len()).sum();
            let files: Vec<&str> = report.landed.iter().map(|l| l.path.as_str()).collect();
            let mut s = match report.accept {
                Some(k) => format!("accept #{k}: {n} hunks landed in {} files: {}", files.len(), files.join(", ")),
                None => "accept: nothing to apply (no accepted hunks)".to_owned(),
            };
            for c in &report.conflicts {
                s.push_str(&format!("\n  REFUSED {}: {}", c.path, c.reason));
            }
            if let Some(c) = &report.commit {
                s.push_str(&format!("\n  committed {}", c.id));
            }
            if let Some(e) = &report.git_error {
                s.push_str(&format!("\n  git: {e}"));
            }
            if let Some(x) = suggestion {
                s.push_str(&format!("\n  what to do: {x}"));
            }
            s.push_str(&format!("\n  {} hunks remain for review; /undo reverts this accept", report.remaining));
            s
        }
        Event::Undone { report } => format!("undid accept #{}: restored {}", report.accept, report.restored.join(", ")),
        Event::AcceptsListed { accepts } if accepts.is_empty() => "no accepts to undo".to_owned(),
        Event::AcceptsListed { accepts } => accepts
            .iter()
            .map(|a| {
                let files: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
                let commit =
                    a.commit.as_deref().map(|c| format!(", commit {}", &c[..c.len().min(12)])).unwrap_or_default();
                format!(
                    "accept #{} at {}: {} hunks in {}{commit}",
                    a.number,
                    a.at.format("%H:%M:%S"),
                    a.hunks.len(),
                    files.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Event::Recovered { report } => format!(
            "recovered an interrupted accept: restored {} files, removed {} temp files",
            report.restored.len(),
            report.temp_files
        ),
        Event::PlanLoaded { .. }
        | Event::ContextBuilt { .. }
        | Event::FileDelta { .. }
        | Event::FileRestart { .. }
        | Event::FileMaterialized { .. }
        | Event::Hunks { .. } => {
            return None;
        }
    })
}

/// The line for an ended edit: unchanged and why, or what was archived, kept and found.
fn edited(path: &str, outcome: &crate::review::edit::EditOutcome) -> String {
    use crate::review::edit::EditOutcome;
    match outcome {
        EditOutcome::Unchanged { why } => format!("{path}: {why}"),
        EditOutcome::Changed { archive, findings, installed } => {
            let mut s = format!(
                "{path}: edited; the previous candidate is in code/candidates/{archive}/; {} kept their review state, {} new; {} findings after re-validation",
                installed.kept.len(),
                installed.new.len(),
                findings.len()
            );
            for r in findings.iter().take(5) {
                s.push_str(&format!("\n    {}", crate::review::findings::describe(r)));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_file_shows_the_choice_and_its_autofixes() {
        let e = |fixes: Vec<&str>| Event::FileChecked {
            path: "pkg/add.py".into(),
            candidates: 3,
            kept: 2,
            findings: 0,
            fixes: fixes.into_iter().map(str::to_owned).collect(),
            summary: "3 candidates, kept #2 (0 findings)".into(),
        };
        assert_eq!(line(&e(vec![])).unwrap(), "  checked pkg/add.py: 3 candidates, kept #2 (0 findings)");
        assert_eq!(
            line(&e(vec!["unclosed_docstring", "stdlib_imports"])).unwrap(),
            "  checked pkg/add.py: 3 candidates, kept #2 (0 findings); autofixed: unclosed_docstring, stdlib_imports"
        );
    }
}
