//! One model attempt of the repair loop: up to `[repair] candidates` replies to the same
//! prompt, each applied, held to the size guardrail and re-checked; the one with the fewest
//! findings is the attempt's result.
//!
//! Invariants:
//! - candidate 1 is exactly the request of a loop without candidates; candidate `i` > 1 is
//!   [`ChatRequest::candidate`]`(i - 1, t)` (seed `seed + i − 1`, `t` = `[generate]
//!   candidate_temperature`), so a rerun draws the same candidates;
//! - ties go to the first; sampling stops at a candidate that leaves no findings;
//! - a provider or validation failure on candidate 1 ends the loop as before; on a later
//!   candidate it is noted on that candidate and the attempt keeps what it has;
//! - with one candidate the record carries no `candidates` (the run log is as before).

use crate::broker::{BrokerError, CallCtx, ChatRequest, Role, StreamDelta, ToolChoice};
use crate::codegen::lang;
use crate::report::{RepairAttempt, RepairCandidate, ValidationReport};
use crate::task::relpath::RelPath;

use super::{PlanHints, PromptCtx, RepairCtx, RepairError, STEP, Works, edits, findings_on};

/// Where a model attempt starts: the content and findings the previous attempt left, and what
/// its prompt must say about the previous attempt.
pub(super) struct AttemptState<'a> {
    /// 1-based model attempt.
    pub attempt: u32,
    /// Its number among the file's attempts (after the autofixes).
    pub number: u32,
    /// The content the attempt edits.
    pub current: &'a str,
    /// The findings on `current`.
    pub errors: &'a [ValidationReport],
    /// The content the loop's model attempts started from (the size guardrail's reference).
    pub start: &'a str,
    /// The previous attempt broke the size guardrail.
    pub warning: bool,
    /// Why the previous attempt's edit did not apply.
    pub edit_error: Option<&'a str>,
}

/// What one model attempt gave: its record, the kept candidate and its findings (`None` when
/// no reply gave a usable edit), and what the next prompt must say.
pub(super) struct Sampled {
    pub record: RepairAttempt,
    pub kept: Option<(String, Vec<ValidationReport>)>,
    pub warning: bool,
    pub edit_error: Option<String>,
}

/// What every candidate of one attempt shares: the loop's context, the file, its plan hints,
/// the findings the loop works on, where the attempt starts, and its prompt — the system
/// prompt and the user prompt rendered with and without tools.
struct Ask<'a> {
    ctx: &'a RepairCtx<'a>,
    hints: &'a PlanHints,
    file: &'a RelPath,
    works: Works,
    st: &'a AttemptState<'a>,
    system: &'a str,
    with_tools: String,
    without_tools: String,
}

/// One model attempt (see the module docs).
///
/// # Errors
/// [`RepairError`] from candidate 1 (provider, cancel, validation); the cancel from any.
pub(super) async fn model_attempt(
    ctx: &RepairCtx<'_>,
    hints: &PlanHints,
    file: &RelPath,
    system: &str,
    st: &AttemptState<'_>,
    works: Works,
) -> Result<Sampled, RepairError> {
    let render = |tools: bool| {
        ctx.prompts.render(
            "repair.md.j2",
            &PromptCtx {
                path: file.as_str(),
                lang: lang::file_type(file).fence,
                content: st.current,
                findings: st.errors,
                attempt: st.attempt,
                max_attempts: ctx.settings.max_attempts,
                tools,
                preservation_warning: st.warning,
                edit_error: st.edit_error,
            },
        )
    };
    let ask = Ask { ctx, hints, file, works, st, system, with_tools: render(true)?, without_tools: render(false)? };
    let record = RepairAttempt {
        step: STEP.into(),
        file: file.to_string(),
        attempt: st.number,
        errors_in: st.errors.to_vec(),
        errors_out: st.errors.to_vec(),
        success: false,
        input_tokens: 0,
        output_tokens: 0,
        kind: crate::report::AttemptKind::Model,
        fix: None,
        rejected: None,
        candidates: Vec::new(),
    };
    let mut out = Sampled { record, kept: None, warning: false, edit_error: None };
    let n = ctx.settings.candidates.max(1);
    for index in 0..n {
        let (note, failed) = match candidate(&ask, index, &mut out).await {
            Ok(note) => (note, false),
            Err(RepairError::Broker(BrokerError::Cancelled)) => return Err(BrokerError::Cancelled.into()),
            Err(e) if index == 0 => return Err(e),
            Err(e) => {
                let number = index as usize + 1;
                (RepairCandidate { number, rejected: Some(format!("failed: {e}")), ..Default::default() }, true)
            }
        };
        out.record.candidates.push(note);
        if failed || out.kept.as_ref().is_some_and(|(_, f)| f.is_empty()) {
            break;
        }
    }
    let record = &mut out.record;
    match &out.kept {
        Some((_, found)) => {
            record.errors_out = found.clone();
            record.success = found.is_empty();
            // A usable candidate was found: the next prompt works on it, without warnings.
            (out.warning, out.edit_error) = (false, None);
        }
        None => record.rejected = record.candidates.first().and_then(|c| c.rejected.clone()),
    }
    if n == 1 {
        out.record.candidates.clear();
    }
    Ok(out)
}

/// Candidate `index` (0-based) of an attempt: asks, applies, size-checks and re-checks it,
/// keeps it in `out` when it beats the kept one, and adds its tokens to `out.record`.
async fn candidate(ask: &Ask<'_>, index: u32, out: &mut Sampled) -> Result<RepairCandidate, RepairError> {
    let Ask { ctx, hints, file, works, st, .. } = *ask;
    let s = ctx.settings;
    let build = |caps: &crate::broker::Capabilities| {
        let text = if caps.tools { &ask.with_tools } else { &ask.without_tools };
        let mut r = ChatRequest::new(ask.system.to_owned(), text.clone(), s.max_tokens);
        r.temperature = s.temperature;
        if caps.tools {
            r.tools = edits::tool_specs();
            r.tool_choice = if caps.tool_choice { ToolChoice::Any } else { ToolChoice::Auto };
        }
        if index == 0 {
            return r;
        }
        r.seed = s.seed;
        r.candidate(index, s.candidate_temperature)
    };
    let sink = |_: StreamDelta| {};
    let call = CallCtx { label: file.as_str(), sink: &sink, notices: ctx.notices, cancel: ctx.cancel };
    let reply = ctx.broker.call(Role::Repair, &build, &call).await?;
    out.record.input_tokens += reply.record.input_tokens;
    out.record.output_tokens += reply.record.output_tokens;
    let mut note =
        RepairCandidate { number: index as usize + 1, output_tokens: reply.record.output_tokens, ..Default::default() };
    let applied = if reply.response.tool_calls.is_empty() {
        edits::apply_text_reply(st.current, &reply.response.text, file)
    } else {
        edits::apply_tool_calls(st.current, &reply.response.tool_calls)
    };
    match applied.map(|c| (edits::check_size(st.start, &c, s.max_changed_fraction, s.min_changed_lines), c)) {
        Err(e) => {
            note.rejected = Some(format!("edit not applied: {e}"));
            out.edit_error.get_or_insert(e);
        }
        Ok((Err(why), _)) => {
            note.rejected = Some(why);
            out.warning = true;
        }
        Ok((Ok(()), c)) => {
            let found = findings_on(ctx, hints, file, &c, works).await?;
            note.findings = Some(found.len());
            if out.kept.as_ref().is_none_or(|(_, f)| found.len() < f.len()) {
                out.kept = Some((c, found));
                out.record.candidates.iter_mut().for_each(|c| c.kept = false);
                note.kept = true;
            }
        }
    }
    Ok(note)
}
