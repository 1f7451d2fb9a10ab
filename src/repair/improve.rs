//! The improvement loop: a file whose [quality score](crate::quality) is below
//! `[quality] min_score` after repair gets up to `max_iterations` more attempts through the same
//! repair loop ([`repair_weighing`], one attempt per iteration, the same guardrails), this time with
//! every finding that weighs — warnings, info and medium/low security findings included.
//!
//! Invariants:
//! - an iteration's candidate is kept only when it scores strictly higher than the content it
//!   started from; a candidate that scores the same or lower is discarded and the loop stops
//!   (the score only ever rises);
//! - the loop stops as soon as the score reaches `min_score`;
//! - when it ends the shadow tree holds the kept content (as after [`repair_weighing`]).

use crate::quality::{QualityConfig, score, weight_of};
use crate::repair::{RepairCtx, RepairError, RepairSettings, repair_weighing};
use crate::report::{RepairAttempt, ValidationReport};
use crate::task::relpath::RelPath;

/// What the improvement loop did for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Improvement {
    /// The content to keep.
    pub content: String,
    /// Its findings.
    pub findings: Vec<ValidationReport>,
    /// The score the loop started from.
    pub score_before: f64,
    /// The score of `content`.
    pub score_after: f64,
    /// Every attempt made, in order (the discarded ones included).
    pub attempts: Vec<RepairAttempt>,
    /// How many candidates were discarded because they did not raise the score.
    pub discarded: u32,
}

/// Runs the improvement loop on `file`, whose current `content` has `findings` (everything the
/// validators reported on it); see the module invariants.
///
/// # Errors
/// [`RepairError`] from the repair loop (a provider failure or cancellation, a template, the
/// shadow tree).
pub async fn improve_file(
    ctx: &RepairCtx<'_>,
    cfg: &QualityConfig,
    file: &RelPath,
    content: &str,
    findings: Vec<ValidationReport>,
) -> Result<Improvement, RepairError> {
    let before = score(&findings);
    let mut out = Improvement {
        content: content.to_owned(),
        findings,
        score_before: before,
        score_after: before,
        attempts: Vec::new(),
        discarded: 0,
    };
    let one = RepairCtx { settings: RepairSettings { max_attempts: 1, ..ctx.settings }, ..*ctx };
    for iteration in 1..=cfg.max_iterations {
        if out.score_after >= cfg.min_score {
            break;
        }
        let weighing: Vec<ValidationReport> = out.findings.iter().filter(|r| weight_of(r).is_some()).cloned().collect();
        if weighing.is_empty() {
            break;
        }
        let r = repair_weighing(&one, file, &out.content, weighing).await?;
        for mut a in r.attempts {
            a.attempt = iteration;
            out.attempts.push(a);
        }
        // The repair loop keeps a candidate with fewer findings than its input; the score
        // decides whether that is an improvement.
        if !r.changed {
            out.discarded += 1;
            break;
        }
        let (cand_content, cand_findings) = (r.content, r.remaining);
        let s = score(&cand_findings);
        if s > out.score_after {
            out.content = cand_content;
            out.findings = cand_findings;
            out.score_after = s;
        } else {
            out.discarded += 1;
            ctx.shadow.overlay(file, out.content.as_bytes())?;
            break;
        }
    }
    Ok(out)
}
