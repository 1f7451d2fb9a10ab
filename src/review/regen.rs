//! Regenerate with feedback: new candidates for some targets, asked for with what the reviewer
//! said about the current ones.
//!
//! Flow of [`regenerate`], under the task's run lock (so no codegen run writes `code/` at the
//! same time):
//! 1. resolve the targets: planned `create`/`modify` files with a candidate in `code/files/`;
//!    with `with_dependents`, every file that depends on one of them (transitively), all in
//!    wave order ([`crate::plan::dag`]);
//! 2. per target, in that order: the prompt ([`crate::codegen::feedback`]) carries the current
//!    candidate, each rejected hunk with its reason, the accepted hunks (to keep), the file's
//!    open findings the run introduced, the reviewer's note, and dependencies as regenerated
//!    just before; the reply is parsed by the codegen rules;
//! 3. the new candidates are validated in a shadow tree and, where they have findings and
//!    repair is on, repaired — the run's verify/repair path ([`crate::review::verify`],
//!    [`crate::repair`]);
//! 4. the previous candidates are archived ([`crate::review::candidate`]), the new ones
//!    written through `SafeDir`, the findings recorded and diff.patch re-derived for those
//!    files: hunks whose content did not change keep their review states.
//!
//! Invariants: nothing in `code/` changes before step 4, so a provider failure, a cancellation
//! or a reply that writes outside the plan (exit 3) leaves the task as it was; the working
//! tree is never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerError, CallCtx, Notice};
use crate::codegen::feedback::{self, Feedback, HunkNote};
use crate::codegen::generate::{GenerateError, GenerateSettings};
use crate::codegen::materialize::Manifest;
use crate::codegen::prompt::Prompts;
use crate::config::{RepairConfig, ValidateConfig};
use crate::context::{self, DependencyContent};
use crate::plan::{self, Action, Plan};
use crate::repair::{self, RepairCtx, RepairError, RepairSettings};
use crate::report::ValidationReport;
use crate::review::candidate::{self, CandidateKind, Installed};
use crate::review::patchset::LineKind;
use crate::review::view::HunkView;
use crate::review::{ReviewError, findings, verify};
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::{RunLock, TaskDir, TaskError};

/// Settings a regeneration needs (the run's, see `Session::run_settings`).
#[derive(Debug, Clone, Default)]
pub struct RegenSettings {
    /// Context package budget, estimated tokens.
    pub context_budget: usize,
    /// Repo summary cap, files.
    pub repo_summary_max_files: usize,
    /// Request settings.
    pub generate: GenerateSettings,
    /// Validation settings.
    pub validate: ValidateConfig,
    /// Repair settings.
    pub repair: RepairConfig,
    /// `[generate] candidate_temperature`: the temperature of repair candidates after the
    /// first (`[repair] candidates`).
    pub candidate_temperature: f32,
    /// The sandbox re-validation runs in (the user's `[sandbox]`, as in a run).
    pub sandbox: crate::sandbox::SandboxConfig,
}

/// What to regenerate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegenRequest {
    /// Target paths (repo-relative).
    pub paths: Vec<String>,
    /// The reviewer's note, sent with every target.
    pub note: Option<String>,
    /// Also regenerate the files that depend on the targets, in wave order.
    pub with_dependents: bool,
}

/// Progress of a regeneration, for front ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum RegenProgress {
    /// A target's request is being sent.
    Generating {
        /// The target.
        path: String,
        /// It is regenerated because it depends on a target.
        dependent: bool,
    },
    /// A target's reply was parsed.
    Generated {
        /// The target.
        path: String,
        /// Whether the content differs from the previous candidate.
        changed: bool,
        /// Prompt tokens.
        input_tokens: u64,
        /// Completion tokens.
        output_tokens: u64,
    },
    /// The broker retried or fell back.
    Provider {
        /// The target.
        path: String,
        /// What happened.
        notice: Notice,
    },
    /// The new candidates were validated.
    Validated {
        /// Findings over every target.
        findings: usize,
    },
    /// A new candidate went through the repair loop.
    Repaired {
        /// The target.
        path: String,
        /// Attempts made.
        attempts: usize,
        /// Findings left.
        remaining: usize,
    },
}

impl RegenProgress {
    /// One line for a person, as `ai-tools regen` prints it on stderr (a target's steps
    /// indented by two spaces).
    pub fn describe(&self) -> String {
        match self {
            RegenProgress::Generating { path, dependent } => {
                format!("regenerating {path}{}", if *dependent { " (depends on a target)" } else { "" })
            }
            RegenProgress::Generated { path, changed, input_tokens, output_tokens } => format!(
                "  {path}: {} ({input_tokens} in / {output_tokens} out tokens)",
                if *changed { "new candidate" } else { "same as before" }
            ),
            RegenProgress::Provider { path, notice } => {
                format!("  {path}: {}", serde_json::to_string(notice).unwrap_or_default())
            }
            RegenProgress::Validated { findings } => format!("validated: {findings} findings"),
            RegenProgress::Repaired { path, attempts, remaining } => {
                format!("  repaired {path}: {attempts} attempts, {remaining} findings left")
            }
        }
    }
}

/// What a regeneration works with.
pub struct RegenCtx<'a> {
    /// Repo root.
    pub repo: &'a Path,
    /// The task.
    pub task: &'a TaskDir,
    /// The broker (codegen and repair roles).
    pub broker: &'a Broker,
    /// Prompt templates.
    pub prompts: &'a Prompts,
    /// Settings.
    pub settings: &'a RegenSettings,
    /// Stops it (between and during model calls).
    pub cancel: &'a CancellationToken,
    /// Receives progress.
    pub progress: &'a (dyn Fn(RegenProgress) + Send + Sync),
}

/// One regenerated target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegenFile {
    /// The target.
    pub path: String,
    /// Regenerated because it depends on a named target.
    pub dependent: bool,
    /// The new candidate differs from the previous one.
    pub changed: bool,
    /// Its open findings the run introduced, after validation and repair.
    pub findings: Vec<ValidationReport>,
    /// Repair attempts made on it.
    pub repair_attempts: usize,
}

/// What a regeneration did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegenReport {
    /// The archive holding the previous candidates (`None` when nothing changed).
    pub archive: Option<u32>,
    /// The targets, in the order regenerated.
    pub files: Vec<RegenFile>,
    /// The re-derived diff and which hunks kept their states.
    pub installed: Installed,
    /// Prompt tokens over every call.
    pub input_tokens: u64,
    /// Completion tokens over every call.
    pub output_tokens: u64,
}

/// Why a regeneration did not happen (`code/` is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum RegenError {
    /// A codegen run or another regeneration holds the task.
    #[error(transparent)]
    Busy(TaskError),
    /// The plan does not load.
    #[error("{0}")]
    Plan(String),
    /// Paths that are not generated targets.
    #[error(
        "cannot regenerate {0}: only planned create/modify targets with a candidate in code/files/ can be; list them with `ai-tools hunks`"
    )]
    UnknownTargets(String),
    /// The model call or its reply failed.
    #[error("regenerating {path} failed: {source}")]
    Generate {
        /// The target.
        path: String,
        /// Why.
        #[source]
        source: GenerateError,
    },
    /// A reply wrote files outside the plan.
    #[error("scope mismatch: the reply tried to write files outside plan.files.json: {}; nothing was changed", .0.join(", "))]
    Scope(Vec<String>),
    /// The user stopped it.
    #[error("the regeneration was cancelled; nothing was changed")]
    Cancelled,
    /// The repair loop failed (not: findings survived).
    #[error("repair of {path} failed: {message}")]
    Repair {
        /// The target.
        path: String,
        /// Why.
        message: String,
    },
    /// Reading, validating or installing failed.
    #[error(transparent)]
    Review(#[from] ReviewError),
}

impl RegenError {
    /// Process exit code: 2 bad input, 3 scope mismatch, 130 cancelled, else 1 (review errors
    /// keep theirs).
    pub fn exit_code(&self) -> i32 {
        match self {
            RegenError::Busy(_) | RegenError::Plan(_) | RegenError::UnknownTargets(_) => 2,
            RegenError::Scope(_) => 3,
            RegenError::Cancelled => 130,
            RegenError::Review(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// Regenerates the requested targets (see the module docs).
///
/// # Errors
/// [`RegenError`]; `code/` is unchanged then.
pub async fn regenerate(ctx: &RegenCtx<'_>, req: &RegenRequest) -> Result<RegenReport, RegenError> {
    let _run = RunLock::acquire(ctx.task).map_err(RegenError::Busy)?;
    let plan = plan::load(ctx.task, ctx.repo).map_err(|e| RegenError::Plan(e.to_string()))?;
    let targets = resolve_targets(ctx.task, &plan, req)?;
    let (repo, max) = (ctx.repo.to_path_buf(), ctx.settings.repo_summary_max_files);
    let summary = tokio::task::spawn_blocking(move || context::repo_summary::summarize(&repo, max).render())
        .await
        .map_err(|e| RegenError::Plan(format!("internal error: {e}")))?;
    let introduced = findings::introduced(ctx.task)?;
    let files = SafeDir::new(ctx.task.files_dir());
    let mut generated: BTreeMap<RelPath, String> = BTreeMap::new();
    let mut previous: BTreeMap<RelPath, String> = BTreeMap::new();
    let mut scope: BTreeSet<String> = BTreeSet::new();
    let (mut input_tokens, mut output_tokens) = (0, 0);
    for (path, dependent) in &targets {
        let entry = plan.entry(path).ok_or_else(|| RegenError::UnknownTargets(format!("`{path}`")))?;
        let candidate = read_text(&files, path)?.unwrap_or_default();
        let changed_dependencies: Vec<String> =
            entry.depends_on.iter().filter(|d| generated.contains_key(*d)).map(ToString::to_string).collect();
        let (rejected, accepted) = candidate::hunks_of(ctx.task, path)?;
        let fb = Feedback {
            rejected: rejected.iter().map(note_of).collect(),
            accepted: accepted.iter().map(note_of).collect(),
            findings: introduced.get(path.as_str()).cloned().unwrap_or_default(),
            note: req.note.clone(),
            changed_dependencies,
        };
        let deps = dependencies(ctx, &plan, entry.depends_on.as_slice(), &generated)?;
        let pkg = context::build(&plan, entry, &summary, Some(candidate.clone()), deps, ctx.settings.context_budget);
        (ctx.progress)(RegenProgress::Generating { path: path.to_string(), dependent: *dependent });
        let g = call(ctx, &plan, &pkg, &fb, path).await?;
        scope.extend(g.scope_violations.iter().cloned());
        input_tokens += g.record.input_tokens;
        output_tokens += g.record.output_tokens;
        (ctx.progress)(RegenProgress::Generated {
            path: path.to_string(),
            changed: g.content != candidate,
            input_tokens: g.record.input_tokens,
            output_tokens: g.record.output_tokens,
        });
        previous.insert(path.clone(), candidate);
        generated.insert(path.clone(), g.content);
    }
    if !scope.is_empty() {
        return Err(RegenError::Scope(scope.into_iter().collect()));
    }
    let (new, validated, attempts) = verify_and_repair(ctx, &generated, &previous).await?;
    let report_files = targets
        .iter()
        .map(|(p, dependent)| RegenFile {
            path: p.to_string(),
            dependent: *dependent,
            changed: new.iter().any(|(n, _)| n == p),
            findings: validated
                .iter()
                .find(|(v, _, _)| v == p)
                .map(|(_, _, f)| f.iter().filter(|r| !r.preexisting).cloned().collect())
                .unwrap_or_default(),
            repair_attempts: attempts.get(p).copied().unwrap_or(0),
        })
        .collect();
    let (archive, installed) = if new.is_empty() {
        if !validated.is_empty() {
            findings::record(ctx.task, &validated)?;
        }
        (None, Installed::default())
    } else {
        let paths: Vec<RelPath> = new.iter().map(|(p, _)| p.clone()).collect();
        let rec = candidate::archive(ctx.task, CandidateKind::Regen, &paths, req.note.as_deref())?;
        (Some(rec.number), candidate::install(ctx.task, ctx.repo, &new, &validated)?)
    };
    Ok(RegenReport { archive, files: report_files, installed, input_tokens, output_tokens })
}

fn read_text(files: &SafeDir, path: &RelPath) -> Result<Option<String>, RegenError> {
    Ok(files.read(path).map_err(ReviewError::from)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// A hunk as the prompt shows it.
fn note_of(h: &HunkView) -> HunkNote {
    let mut diff = String::new();
    for l in &h.lines {
        diff.push(match l.kind {
            LineKind::Context => ' ',
            LineKind::Remove => '-',
            LineKind::Add => '+',
        });
        diff.push_str(&l.text);
        diff.push('\n');
    }
    HunkNote { id: h.id.clone(), header: h.header.clone(), diff, reason: h.reason.clone() }
}

/// The dependencies' contents: as regenerated just now, else the current candidate, else the
/// working tree's.
fn dependencies(
    ctx: &RegenCtx<'_>,
    plan: &Plan,
    deps: &[RelPath],
    generated: &BTreeMap<RelPath, String>,
) -> Result<Vec<DependencyContent>, RegenError> {
    let (files, tree) = (SafeDir::new(ctx.task.files_dir()), SafeDir::new(ctx.repo));
    let mut out = Vec::new();
    for d in deps {
        let (content, is_generated) = match generated.get(d) {
            Some(c) => (c.clone(), true),
            None if plan.entry(d).is_some_and(|e| e.action == Action::Delete) => (String::new(), true),
            None => match read_text(&files, d)? {
                Some(c) => (c, true),
                None => (read_text(&tree, d)?.unwrap_or_default(), false),
            },
        };
        out.push(DependencyContent { path: d.clone(), content, generated: is_generated });
    }
    Ok(out)
}

/// One target's model call.
async fn call(
    ctx: &RegenCtx<'_>,
    plan: &Plan,
    pkg: &context::ContextPackage,
    fb: &Feedback,
    path: &RelPath,
) -> Result<crate::codegen::generate::Generated, RegenError> {
    let label = path.to_string();
    let sink = |_: crate::broker::StreamDelta| {};
    let progress = ctx.progress;
    let notices = |notice: Notice| progress(RegenProgress::Provider { path: label.clone(), notice });
    let call = CallCtx { label: &label, sink: &sink, notices: &notices, cancel: ctx.cancel };
    feedback::regenerate_file(ctx.broker, ctx.prompts, plan, pkg, fb, &ctx.settings.generate, &call).await.map_err(
        |e| match e {
            GenerateError::Broker(BrokerError::Cancelled) => RegenError::Cancelled,
            GenerateError::OutOfScope(paths) => RegenError::Scope(paths),
            source => RegenError::Generate { path: path.to_string(), source },
        },
    )
}

type Validated = Vec<(RelPath, Vec<u8>, Vec<ValidationReport>)>;

/// Validates the changed candidates, repairs those with introduced findings (when repair is
/// on) and validates again after a repair changed something; returns (changed candidates,
/// every target's validated content and findings, repair attempts per target).
async fn verify_and_repair(
    ctx: &RegenCtx<'_>,
    generated: &BTreeMap<RelPath, String>,
    previous: &BTreeMap<RelPath, String>,
) -> Result<(Vec<(RelPath, Vec<u8>)>, Validated, BTreeMap<RelPath, usize>), RegenError> {
    let mut new: Vec<(RelPath, Vec<u8>)> = generated
        .iter()
        .filter(|(p, c)| previous.get(*p) != Some(*c))
        .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
        .collect();
    let mut attempts = BTreeMap::new();
    let s = &ctx.settings;
    let Some(checked) = verify::validate(ctx.repo, ctx.task, &s.validate, &s.sandbox, &new, "regen").await? else {
        return Ok((new, Vec::new(), attempts));
    };
    (ctx.progress)(RegenProgress::Validated { findings: checked.validation.reports.len() });
    if !s.repair.enabled {
        return Ok((new, checked.files, attempts));
    }
    let settings = RepairSettings::new(&s.repair, &s.generate, s.candidate_temperature);
    let mut repaired_any = false;
    for (path, bytes) in &mut new {
        let found: Vec<ValidationReport> =
            checked.validation.reports.iter().filter(|r| r.file == path.as_str() && !r.preexisting).cloned().collect();
        if found.is_empty() {
            continue;
        }
        let label = path.to_string();
        let progress = ctx.progress;
        let notices = |notice: Notice| progress(RegenProgress::Provider { path: label.clone(), notice });
        let rctx = RepairCtx {
            broker: ctx.broker,
            prompts: ctx.prompts,
            validators: &checked.validators,
            shadow: &checked.shadow,
            settings,
            cancel: ctx.cancel,
            on_attempt: &|_| {},
            notices: &notices,
        };
        let text = String::from_utf8_lossy(bytes).into_owned();
        let outcome = match repair::repair_file(&rctx, path, &text, found).await {
            Ok(o) => o,
            Err(RepairError::Broker(BrokerError::Cancelled)) => return Err(RegenError::Cancelled),
            Err(e) => return Err(RegenError::Repair { path: path.to_string(), message: e.to_string() }),
        };
        (ctx.progress)(RegenProgress::Repaired {
            path: path.to_string(),
            attempts: outcome.attempts.len(),
            remaining: outcome.remaining.len(),
        });
        attempts.insert(path.clone(), outcome.attempts.len());
        if outcome.changed {
            *bytes = outcome.content.into_bytes();
            repaired_any = true;
        }
    }
    if !repaired_any {
        return Ok((new, checked.files, attempts));
    }
    let again = verify::validate(ctx.repo, ctx.task, &s.validate, &s.sandbox, &new, "repair").await?;
    Ok((new, again.map(|c| c.files).unwrap_or_default(), attempts))
}

/// The targets in wave order, each with whether it is a dependent (see the module docs).
fn resolve_targets(task: &TaskDir, plan: &Plan, req: &RegenRequest) -> Result<Vec<(RelPath, bool)>, RegenError> {
    let manifest = Manifest::load(task).unwrap_or_default();
    let files = SafeDir::new(task.files_dir());
    let ok = |p: &RelPath| {
        plan.entry(p).is_some_and(|e| e.action != Action::Delete)
            && manifest.files.iter().any(|e| &e.path == p)
            && files.read(p).is_ok_and(|b| b.is_some())
    };
    let mut named: BTreeSet<RelPath> = BTreeSet::new();
    let mut bad = Vec::new();
    for p in &req.paths {
        let p = p.trim();
        match RelPath::new(p.strip_prefix("./").unwrap_or(p)) {
            Ok(r) if ok(&r) => {
                named.insert(r);
            }
            _ => bad.push(format!("`{p}`")),
        }
    }
    if !bad.is_empty() || named.is_empty() {
        let list = if bad.is_empty() { "nothing (name at least one path)".to_owned() } else { bad.join(", ") };
        return Err(RegenError::UnknownTargets(list));
    }
    let mut all = named.clone();
    if req.with_dependents {
        loop {
            let more: Vec<RelPath> = plan
                .files
                .iter()
                .filter(|f| !all.contains(&f.path) && f.depends_on.iter().any(|d| all.contains(d)))
                .map(|f| f.path.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            all.extend(more);
        }
    }
    let waves = crate::plan::dag::waves(&plan.files).map_err(|c| RegenError::Plan(c.to_string()))?;
    Ok(waves
        .into_iter()
        .flatten()
        .filter(|p| all.contains(p) && ok(p))
        .map(|p| (p.clone(), !named.contains(&p)))
        .collect())
}
