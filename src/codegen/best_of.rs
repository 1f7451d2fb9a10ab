//! Best-of-N generation and "verify as you go": up to N replies are sampled for a target
//! (`[generate] candidates`), each autofixed as soon as it arrives (`[generate] autofix`,
//! [`crate::repair::autofix`]) and checked by the fast verifiers ([`crate::repair::candidates`]:
//! syntax, ruff on stdin, the plan-named symbols and signatures, the plan's examples); the best
//! is kept — ties to the first — and sampling stops at a candidate they find nothing in, which
//! nothing after it could beat. A target the model gets right the first time costs one reply.
//!
//! Invariants:
//! - candidate 1 is exactly the request a run without best-of-N makes (the configured seed and
//!   temperature), so N > 1 can only replace it by a candidate the verifiers like strictly
//!   better; candidate `i` > 1 is [`crate::broker::ChatRequest::candidate`]`(i - 1, t)` with
//!   `t` = `[generate] candidate_temperature`, so every candidate has its own seed and a
//!   rerun draws the same ones;
//! - a provider failure (or the user's cancel) ends the target at once with that error, as for
//!   a single reply; a candidate whose reply does not parse is recorded and never kept; when no
//!   candidate parses, the first candidate's error is the target's;
//! - the kept content — after its autofixes — is what the target gets, so the context of the
//!   files that depend on it holds the fixed version; [`Verifier::overlay`] puts it into the
//!   scratch tree, where the examples of its dependents import it;
//! - nothing is written to the working tree or the task dir: ruff and the examples run through
//!   the run's sandbox in a scratch copy of the repo ([`Scratch`]), with the content on stdin
//!   or in the scratch area's TMPDIR.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::broker::{Broker, CallCtx, StreamDelta, candidate_seed};
use crate::codegen::generate::{self, GenerateError, GenerateSettings, Generated};
use crate::codegen::prompt::Prompts;
use crate::codegen::quality::GenerateConfig;
use crate::config::ValidateConfig;
use crate::context::ContextPackage;
use crate::plan::{Action, Plan};
use crate::repair::PlanHints;
use crate::repair::autofix;
use crate::repair::candidates::{self, CandidateCheck, SelectCtx};
use crate::repair::fastcheck::{FastCheck, RUFF_TIMEOUT};
use crate::report::CandidateRecord;
use crate::sandbox::{Sandbox, SandboxConfig, Scratch, ScratchError};
use crate::task::relpath::RelPath;
use crate::validate::{Tool, Validators};

/// What a generate stage checks its replies with; one per stage, shared by its requests.
pub struct Verifier {
    scratch: Scratch,
    ruff: Option<PathBuf>,
    /// ruff comes from the repo's own dependency dirs (project code: sandbox only).
    ruff_is_repo_code: bool,
    sandbox: Sandbox,
    /// Replies sampled per target (≥ 1).
    candidates: u32,
    /// The temperature of candidates after the first.
    temperature: f32,
    /// Autofix each reply before it is checked.
    autofix: bool,
}

/// A target's candidates, their checks and the choice (for the run log and the event).
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Every candidate in order with its checks, the kept one marked.
    pub records: Vec<CandidateRecord>,
}

impl Checked {
    /// The kept candidate (`None` when no candidate parsed).
    pub fn kept(&self) -> Option<&CandidateRecord> {
        self.records.iter().find(|r| r.kept)
    }

    /// The line to show: `3 candidates, kept #2 (0 findings)`.
    pub fn summary(&self) -> String {
        let kept = self.kept();
        crate::report::candidates_line(self.records.len(), kept.map_or(1, |r| r.number), kept.map_or(0, |r| r.findings))
    }
}

/// What the stage passes to [`sample`] besides the verifier.
pub struct SampleCtx<'a> {
    /// The broker the codegen role calls.
    pub broker: &'a Broker,
    /// Prompt templates.
    pub prompts: &'a Prompts,
    /// The run's request settings (candidate 1's).
    pub settings: &'a GenerateSettings,
    /// The repo root (for the examples' Python).
    pub repo: &'a Path,
}

impl Verifier {
    /// The verifier for a generate stage over `plan` in `repo`: ruff as the validators find it
    /// (`[validate] skip` honoured), the sandbox of `sandbox`, a scratch copy of `repo`.
    /// `None` when there is nothing to check: one candidate and `[generate] autofix = false`
    /// (`quality.candidates` unset counts as 1; resolve it per provider first).
    ///
    /// # Errors
    /// [`ScratchError`] when the scratch copy cannot be made.
    pub fn for_plan(
        repo: &Path,
        plan: &Plan,
        quality: &GenerateConfig,
        validate: &ValidateConfig,
        sandbox: &SandboxConfig,
    ) -> Result<Option<Self>, ScratchError> {
        let candidates = quality.candidates.unwrap_or(1).max(1);
        if candidates == 1 && !quality.autofix {
            return Ok(None);
        }
        let targets: Vec<RelPath> =
            plan.files.iter().filter(|f| f.action != Action::Delete).map(|f| f.path.clone()).collect();
        let sandbox = Sandbox::detect(sandbox);
        let validators = Validators::discover_with(repo, validate, &targets, sandbox.clone());
        let ruff = validators
            .tools()
            .iter()
            .find(|(t, _)| *t == Tool::Ruff)
            .map(|(_, p)| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        let ruff_is_repo_code = ruff.as_deref().is_some_and(|p| validators.is_repo_local(p));
        let scratch = Scratch::mirror_of(repo)?;
        Ok(Some(Self {
            scratch,
            ruff,
            ruff_is_repo_code,
            sandbox,
            candidates,
            temperature: quality.candidate_temperature,
            autofix: quality.autofix,
        }))
    }

    /// Replies sampled per target.
    pub fn candidates(&self) -> u32 {
        self.candidates
    }

    /// Puts a kept target into the scratch tree, so the examples of the files that depend on
    /// it import this version.
    ///
    /// # Errors
    /// [`ScratchError`] when it cannot be written.
    pub fn overlay(&self, path: &RelPath, content: &str) -> Result<(), ScratchError> {
        self.scratch.overlay(path, content.as_bytes())
    }

    /// Candidate `i`'s (0-based) request settings: candidate 0 keeps `base` (see the module
    /// invariants).
    fn settings_for(&self, base: &GenerateSettings, i: u32) -> GenerateSettings {
        let mut s = *base;
        if i > 0 {
            s.candidate = Some((i, self.temperature));
        }
        s
    }
}

/// Samples `pkg`'s target through `v` (see the module docs), checking each candidate as it
/// arrives and stopping at one the verifiers find nothing in: the kept candidate as the
/// target's [`Generated`] (its content autofixed, its elapsed time that of every candidate)
/// and what was checked. The [`Checked`] is `None` only when a provider failure or the cancel
/// ended the target.
///
/// # Errors
/// The first candidate's [`GenerateError`] when no candidate parsed; a provider failure at
/// once.
pub async fn sample(
    v: &Verifier,
    sx: &SampleCtx<'_>,
    plan: &Plan,
    pkg: &ContextPackage,
    ctx: &CallCtx<'_>,
) -> (Result<Generated, GenerateError>, Option<Checked>) {
    let started = Instant::now();
    let path = &pkg.entry.path;
    let hints = PlanHints::for_file(plan, path, sx.repo, &v.sandbox);
    let fast =
        FastCheck::new(v.ruff.clone(), v.sandbox.clone(), &v.scratch, RUFF_TIMEOUT).repo_code(v.ruff_is_repo_code);
    let sctx = SelectCtx {
        fast: &fast,
        scratch: &v.scratch,
        named: &hints.named,
        examples: &hints.examples,
        runner: hints.runner.as_ref(),
    };
    let mut records: Vec<CandidateRecord> = Vec::new();
    let mut ok: Vec<(usize, CandidateCheck, Generated)> = Vec::new();
    let mut first_err: Option<GenerateError> = None;
    for i in 0..v.candidates {
        if i > 0 {
            (ctx.sink)(StreamDelta::Restart);
        }
        let settings = v.settings_for(sx.settings, i);
        let mut rec = CandidateRecord {
            file: path.to_string(),
            number: i as usize + 1,
            seed: if i > 0 { Some(candidate_seed(settings.seed, i)) } else { settings.seed },
            temperature: settings.candidate.map(|(_, t)| t).or(settings.temperature),
            ..CandidateRecord::default()
        };
        match generate::generate_file(sx.broker, sx.prompts, plan, pkg, &settings, ctx).await {
            Ok(mut g) => {
                rec.output_tokens = g.record.output_tokens;
                if v.autofix {
                    fix(&fast, path, &hints, &mut g, &mut rec).await;
                }
                let c = candidates::check(&sctx, path, &g.content, rec.number).await;
                note_check(&mut rec, &c);
                let clean = c.findings() == 0;
                ok.push((records.len(), c, g));
                records.push(rec);
                // Nothing can beat a candidate the verifiers find nothing in (ties go to the
                // first), so sampling stops there.
                if clean {
                    break;
                }
            }
            Err(e @ GenerateError::Broker(_)) => return (Err(e), None),
            Err(e) => {
                rec.error = Some(e.to_string());
                first_err.get_or_insert(e);
                records.push(rec);
            }
        }
    }
    let (kept, checked) = choose(records, ok);
    match (kept, first_err) {
        (Some(mut g), _) => {
            g.elapsed = started.elapsed();
            (Ok(g), Some(checked))
        }
        (None, Some(e)) => (Err(e), Some(checked)),
        (None, None) => (Err(GenerateError::OutOfScope(Vec::new())), Some(checked)),
    }
}

/// Applies the autofixes to `g`'s content, noting them (or why they could not run) in `rec`.
async fn fix(fast: &FastCheck<'_>, path: &RelPath, hints: &PlanHints, g: &mut Generated, rec: &mut CandidateRecord) {
    match autofix::autofix(fast, path, &g.content, &hints.named).await {
        Ok(fixes) => {
            rec.fixes = fixes.iter().map(|f| f.name.to_owned()).collect();
            if let Some(last) = fixes.into_iter().last() {
                g.content = last.content;
            }
        }
        Err(e) => rec.check_errors.push(format!("autofix: {e}")),
    }
}

/// Copies a candidate's checks into its run-log record.
fn note_check(r: &mut CandidateRecord, c: &CandidateCheck) {
    (r.syntax, r.ruff, r.examples_passed, r.examples_failed) = (c.syntax, c.ruff, c.examples_passed, c.examples_failed);
    (r.missing, r.signature, r.findings) = (c.missing.clone(), c.signature.clone(), c.findings());
    r.check_errors.extend(c.errors.iter().cloned());
}

/// Keeps the best of the checked candidates (`ok`: index into `records`, checks, reply) —
/// the smallest [`CandidateCheck::key`], ties to the first — and marks it in `records`.
fn choose(
    mut records: Vec<CandidateRecord>,
    mut ok: Vec<(usize, CandidateCheck, Generated)>,
) -> (Option<Generated>, Checked) {
    let Some(best) = candidates::best_index(ok.iter().map(|(_, c, _)| c)) else {
        return (None, Checked { records });
    };
    let (ri, _, g) = ok.swap_remove(best);
    records[ri].kept = true;
    (Some(g), Checked { records })
}
