//! The markdown form of a [`RunLog`]: a header with the run totals, a step table with Val
//! errors and Repairs columns (sub-steps indented under their step), then a Validation errors
//! section listing every finding of the top-level steps.
//!
//! Invariant: tool and model text is escaped for table cells (`|` escaped, newlines as
//! `<br>`), so a message can never break the table.

use std::fmt::Write as _;

use crate::runlog::RunLog;

fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "\n").replace('\n', "<br>")
}

/// Renders `log` (see the module docs).
pub fn render(log: &RunLog) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Run {}\n", log.run_id);
    let _ = writeln!(s, "- Status: {}", log.status);
    let _ = writeln!(s, "- Started: {}", log.started_at.to_rfc3339());
    if let Some(e) = log.ended_at {
        let _ = writeln!(s, "- Ended: {}", e.to_rfc3339());
    }
    let _ = writeln!(s, "- Validation errors before repair: {}", log.validation_errors_before_repair);
    let _ = writeln!(s, "- Errors surviving repair: {}", log.errors_surviving_repair);
    if log.preexisting_errors > 0 {
        let _ = writeln!(s, "- Preexisting (already in the base, not repaired): {}", log.preexisting_errors);
    }
    if log.tests_run > 0 || log.tests_failed_before_repair > 0 {
        let _ = writeln!(
            s,
            "- Tests: {} run, {} failing before repair, {} after",
            log.tests_run, log.tests_failed_before_repair, log.tests_failed_after_repair
        );
    }
    if let Some(q) = log.quality_score {
        let files: Vec<String> = log.file_scores.iter().map(|(f, v)| format!("{} {v:.2}", cell(f))).collect();
        let _ = writeln!(s, "- Quality score: {q:.2} ({})", files.join(", "));
    }
    let attempts: Vec<_> = log.repair_attempts().collect();
    let ok = attempts.iter().filter(|a| a.success).count();
    let spent: u64 = attempts.iter().map(|a| a.input_tokens + a.output_tokens).sum();
    let _ = writeln!(s, "- Repair attempts: {} ({} succeeded, {} tokens)", attempts.len(), ok, spent);

    let _ = writeln!(s, "\n## Steps\n");
    let _ =
        writeln!(s, "| Step | Start | Duration (s) | Tokens | Val errors | Repairs | Repair success | Repair tokens |");
    let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for st in &log.steps {
        let name = match &st.parent {
            Some(_) => format!("&nbsp;&nbsp;└ {}", cell(&st.name)),
            None => cell(&st.name),
        };
        let rate = st.repair_success_rate().map_or_else(|| "–".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let _ = writeln!(
            s,
            "| {name} | {} | {:.2} | {} | {} | {} | {rate} | {} |",
            st.start.format("%H:%M:%S"),
            st.duration,
            st.tokens(),
            st.validation_errors.len(),
            st.repair_attempts.len(),
            st.tokens_spent_on_repair(),
        );
    }

    let errors: Vec<_> = log.top_steps().flat_map(|st| st.validation_errors.iter()).collect();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n## Validation errors\n");
        let _ = writeln!(s, "| Step | File | Line | Tool | Code | Category | Message |");
        let _ = writeln!(s, "| --- | --- | ---: | --- | --- | --- | --- |");
        for e in errors {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&e.step),
                cell(&e.file),
                e.line,
                cell(&e.tool),
                cell(&e.code),
                e.category,
                cell(&e.message)
            );
        }
    }
    candidates(&mut s, log);
    if !attempts.is_empty() {
        let _ = writeln!(s, "\n## Repair attempts\n");
        let _ = writeln!(s, "| File | Attempt | Errors in | Errors out | Success | Tokens in/out | Note |");
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | --- | --- | --- |");
        for a in attempts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {}/{} | {} |",
                cell(&a.file),
                a.attempt,
                a.errors_in.len(),
                a.errors_out.len(),
                if a.success { "yes" } else { "no" },
                a.input_tokens,
                a.output_tokens,
                cell(&attempt_note(a))
            );
        }
    }
    s
}

/// A repair attempt's note: its sampled candidates and the choice (`[repair] candidates`),
/// then why it was rejected.
fn attempt_note(a: &crate::report::RepairAttempt) -> String {
    let parts: Vec<String> = a.candidates_summary().into_iter().chain(a.rejected.clone()).collect();
    parts.join("; ")
}

/// The Candidates section: every candidate of every best-of-N sample, its checks and the choice.
fn candidates(s: &mut String, log: &RunLog) {
    let all: Vec<_> = log.steps.iter().flat_map(|st| st.candidates.iter()).collect();
    if all.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Candidates\n");
    let _ = writeln!(
        s,
        "| File | # | Seed | Temp | Tokens | Autofixes | Syntax | Ruff | Missing | Examples failed | Kept | Note |"
    );
    let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | --- | --- |");
    for c in all {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "–".to_owned());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&c.file),
            c.number,
            opt(c.seed.map(|x| x.to_string())),
            opt(c.temperature.map(|t| format!("{t:.2}"))),
            c.output_tokens,
            cell(&c.fixes.join(", ")),
            c.syntax,
            c.ruff,
            cell(&[c.missing.clone(), c.signature.iter().map(|n| format!("{n}()")).collect()].concat().join(", ")),
            c.examples_failed,
            if c.kept { "yes" } else { "" },
            cell(c.error.as_deref().unwrap_or("")),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::runlog::{RunLog, StepEvent, tests::report};

    #[test]
    fn table_columns_and_error_section_with_escaping() {
        let mut log = RunLog::new("r1", "h");
        let mut v = StepEvent::start("validate", None);
        let mut e = report("a.py", 7, "tsc", "TS2322");
        e.message = "Type 'A | B' is not assignable\n  to 'C'".into();
        v.validation_errors.push(e);
        v.finish();
        log.steps.push(v);
        let mut w = StepEvent::start("wave 1", Some("generate"));
        w.validation_errors.push(report("dup.py", 1, "ruff", "F821"));
        log.steps.push(w);
        let md = log.to_markdown();
        assert!(md.contains("| Step | Start | Duration (s) | Tokens | Val errors | Repairs |"), "{md}");
        assert!(md.contains("## Validation errors"), "{md}");
        assert!(
            md.contains(
                "| validate | a.py | 7 | tsc | TS2322 | type_mismatch | Type 'A \\| B' is not assignable<br>  to 'C' |"
            ),
            "{md}"
        );
        assert!(!md.contains("dup.py"), "sub-step findings are not listed twice: {md}");
        assert!(md.contains("└ wave 1"), "{md}");
    }
}
