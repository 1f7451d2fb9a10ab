//! The generate stage's scheduler: runs one request per target through the DAG.
//!
//! Invariants:
//! - a target starts only when every file it depends on has been generated, so its context
//!   package carries their generated content; within that rule targets start in wave order
//!   (then path order), at most `concurrency` at a time — waves therefore overlap when a
//!   later wave's dependencies finish early;
//! - a target whose dependency failed is skipped, never generated against a missing input;
//! - a provider failure (the whole chain is down) cancels the requests in flight and starts
//!   no new ones; the user's cancel does the same.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use crate::broker::{BrokerError, CallCtx, StreamDelta};
use crate::codegen::generate::{self, GenerateError, Generated};
use crate::context::{self, DependencyContent};
use crate::orchestrator::events::Event;
use crate::orchestrator::run::{Fail, RunEnv, save, usage_of};
use crate::orchestrator::summary::{Summary, WaveTiming};
use crate::plan::{Action, Plan};
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::{FileStatus, TaskState};

/// What the generate stage produced.
#[derive(Debug, Default)]
pub(crate) struct Generation {
    /// New content per generated target (`None` for deletes).
    pub generated: BTreeMap<RelPath, Option<String>>,
    /// Unplanned paths replies tried to write.
    pub scope: BTreeSet<String>,
    /// Targets that failed.
    pub failed: Vec<String>,
    /// The provider chain's failure, when it went down.
    pub provider_error: Option<String>,
    /// The user cancelled.
    pub cancelled: bool,
}

struct WaveProgress {
    files: Vec<String>,
    /// Calls made for the wave's files, for its run-log step.
    records: Vec<crate::broker::CallRecord>,
    started: Option<Instant>,
    remaining: usize,
    ok: usize,
    bad: usize,
}

type Result1 = (RelPath, Result<Generated, GenerateError>);

/// Runs the generate stage over `waves` (see the module invariants).
///
/// # Errors
/// A [`Fail`] only for internal errors (a panicked task, an unreadable target); per-file and
/// provider failures are reported in the returned [`Generation`].
pub(crate) async fn generate(
    env: &RunEnv,
    plan: &Arc<Plan>,
    waves: &[Vec<RelPath>],
    st: &mut TaskState,
    summary: &mut Summary,
    repo_summary: &Arc<String>,
    rec: &mut Option<crate::runlog::Recorder>,
) -> Result<Generation, Fail> {
    let cancel = env.cancel.child_token();
    let mut out = Generation::default();
    let mut progress: Vec<WaveProgress> = waves
        .iter()
        .map(|w| WaveProgress {
            files: w.iter().map(ToString::to_string).collect(),
            records: Vec::new(),
            started: None,
            remaining: w.len(),
            ok: 0,
            bad: 0,
        })
        .collect();
    let order: Vec<(usize, RelPath)> =
        waves.iter().enumerate().flat_map(|(i, w)| w.iter().map(move |p| (i, p.clone()))).collect();
    let mut started: BTreeSet<RelPath> = BTreeSet::new();
    let mut dead: BTreeSet<RelPath> = BTreeSet::new();
    let mut set: JoinSet<Result1> = JoinSet::new();
    let mut in_flight = 0usize;
    let limit = env.settings.concurrency.max(1);
    let wave_of: BTreeMap<RelPath, usize> = order.iter().map(|(w, p)| (p.clone(), *w)).collect();
    // Looked up for every target on every pass: index once (Plan::entry is a linear search).
    let entries: BTreeMap<&RelPath, &crate::plan::PlannedFile> = plan.files.iter().map(|f| (&f.path, f)).collect();
    loop {
        // Start, skip or complete every target that can move; repeat, since a delete or a skip
        // can unblock others without any request finishing.
        let mut changed = true;
        while changed {
            changed = false;
            let stop = out.provider_error.is_some() || env.cancel.is_cancelled();
            for (w, path) in &order {
                if stop || started.contains(path) || dead.contains(path) {
                    continue;
                }
                let Some(entry) = entries.get(path).copied() else { continue };
                if entry.depends_on.iter().any(|d| dead.contains(d)) {
                    dead.insert(path.clone());
                    if let Some(fs) = st.files.get_mut(path.as_str()) {
                        fs.status = FileStatus::Skipped;
                        fs.error = Some("skipped: a file it depends on failed".into());
                    }
                    env.bus.emit(Event::FileSkipped {
                        path: path.to_string(),
                        reason: "a file it depends on failed".into(),
                    });
                    finish_one(env, &mut progress[*w], *w, false, summary, rec);
                    changed = true;
                    continue;
                }
                if !entry.depends_on.iter().all(|d| out.generated.contains_key(d)) {
                    continue;
                }
                if entry.action == Action::Delete {
                    started.insert(path.clone());
                    wave_started(env, &mut progress[*w], *w);
                    out.generated.insert(path.clone(), None);
                    if let Some(fs) = st.files.get_mut(path.as_str()) {
                        fs.status = FileStatus::Generated;
                    }
                    finish_one(env, &mut progress[*w], *w, true, summary, rec);
                    changed = true;
                    continue;
                }
                if in_flight >= limit {
                    continue;
                }
                started.insert(path.clone());
                wave_started(env, &mut progress[*w], *w);
                if let Some(fs) = st.files.get_mut(path.as_str()) {
                    fs.status = FileStatus::Generating;
                }
                let pkg = package(env, plan, path, &out.generated, repo_summary)?;
                spawn_request(&mut set, env, plan, path.clone(), *w + 1, pkg, cancel.clone());
                in_flight += 1;
                changed = true;
            }
        }
        let Some(joined) = set.join_next().await else { break };
        in_flight -= 1;
        let (path, res) = joined.map_err(|e| Fail::failed(format!("internal error: {e}"), "report this bug"))?;
        let w = wave_of.get(&path).copied().unwrap_or(0);
        let ok = record(env, st, &mut out, &path, res);
        if !ok {
            dead.insert(path.clone());
            if out.provider_error.is_some() {
                cancel.cancel();
            }
        }
        let records = env.broker.take_records();
        summary.add_calls(&records);
        // Records of requests still in flight may come along: file each under its own wave.
        for r in records {
            let wave = RelPath::new(&r.label).ok().and_then(|p| wave_of.get(&p).copied()).unwrap_or(w);
            progress[wave].records.push(r);
        }
        finish_one(env, &mut progress[w], w, ok, summary, rec);
        st.usage = usage_of(summary);
        save(env, st);
    }
    // Whatever never started (the run stopped) is skipped.
    for (_, path) in &order {
        if !started.contains(path)
            && !dead.contains(path)
            && let Some(fs) = st.files.get_mut(path.as_str())
        {
            fs.status = FileStatus::Skipped;
            fs.error = Some("not started: the run stopped".into());
            env.bus.emit(Event::FileSkipped { path: path.to_string(), reason: "the run stopped first".into() });
        }
    }
    out.cancelled = env.cancel.is_cancelled();
    summary.waves.sort_by_key(|w| w.wave);
    Ok(out)
}

fn wave_started(env: &RunEnv, w: &mut WaveProgress, idx: usize) {
    if w.started.is_none() {
        w.started = Some(Instant::now());
        env.bus.emit(Event::WaveStarted { wave: idx + 1, files: w.files.clone() });
    }
}

fn finish_one(
    env: &RunEnv,
    w: &mut WaveProgress,
    idx: usize,
    ok: bool,
    summary: &mut Summary,
    rec: &mut Option<crate::runlog::Recorder>,
) {
    w.remaining = w.remaining.saturating_sub(1);
    if ok {
        w.ok += 1;
    } else {
        w.bad += 1;
    }
    if w.remaining == 0 {
        let secs = w.started.map_or(std::time::Duration::ZERO, |s| s.elapsed());
        summary.waves.push(WaveTiming { wave: idx + 1, files: w.files.len(), seconds: secs.as_secs_f64() });
        env.bus.emit(Event::WaveFinished {
            wave: idx + 1,
            elapsed_ms: secs.as_millis() as u64,
            ok: w.ok,
            failed: w.bad,
        });
        crate::orchestrator::checks::log_wave(rec, idx + 1, secs, &w.records);
    }
}

/// Builds the context package for `path` now that its dependencies are generated.
fn package(
    env: &RunEnv,
    plan: &Plan,
    path: &RelPath,
    generated: &BTreeMap<RelPath, Option<String>>,
    repo_summary: &str,
) -> Result<context::ContextPackage, Fail> {
    let tree = SafeDir::new(&env.repo);
    let entry =
        plan.entry(path).cloned().ok_or_else(|| Fail::failed(format!("{path} is not planned"), "report this bug"))?;
    let read = |p: &RelPath| -> Result<Option<String>, Fail> {
        tree.read(p)
            .map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned()))
            .map_err(|e| Fail::failed(format!("cannot read {p}: {e}"), "check the file"))
    };
    let current = if entry.action == Action::Modify { read(path)? } else { None };
    let mut deps = Vec::new();
    for d in &entry.depends_on {
        let dep = match generated.get(d) {
            Some(c) => DependencyContent { path: d.clone(), content: c.clone().unwrap_or_default(), generated: true },
            None => DependencyContent { path: d.clone(), content: read(d)?.unwrap_or_default(), generated: false },
        };
        deps.push(dep);
    }
    let pkg = context::build(plan, &entry, repo_summary, current, deps, env.settings.context_budget);
    env.bus.emit(Event::ContextBuilt {
        path: path.to_string(),
        tokens: pkg.tokens,
        truncated: pkg.truncated.iter().map(|t| t.part.clone()).collect(),
    });
    Ok(pkg)
}

fn spawn_request(
    set: &mut JoinSet<Result1>,
    env: &RunEnv,
    plan: &Arc<Plan>,
    path: RelPath,
    wave: usize,
    pkg: context::ContextPackage,
    cancel: tokio_util::sync::CancellationToken,
) {
    let (env, plan) = (env.clone(), plan.clone());
    set.spawn(async move {
        let label = path.to_string();
        env.bus.emit(Event::FileStarted { path: label.clone(), wave });
        let sink = {
            let (bus, label) = (env.bus.clone(), label.clone());
            move |d: StreamDelta| match d {
                StreamDelta::Text(text) => bus.emit(Event::FileDelta { path: label.clone(), text }),
                StreamDelta::Restart => bus.emit(Event::FileRestart { path: label.clone() }),
            }
        };
        let notices = {
            let (bus, label) = (env.bus.clone(), label.clone());
            move |notice| bus.emit(Event::Provider { notice, path: label.clone() })
        };
        let ctx = CallCtx { label: &label, sink: &sink, notices: &notices, cancel: &cancel };
        let r = generate::generate_file(&env.broker, &env.prompts, &plan, &pkg, &env.settings.generate, &ctx).await;
        (path, r)
    });
}

/// Records one finished request in the state and events; `true` when it succeeded.
fn record(
    env: &RunEnv,
    st: &mut TaskState,
    out: &mut Generation,
    path: &RelPath,
    res: Result<Generated, GenerateError>,
) -> bool {
    let fs = st.files.entry(path.to_string()).or_default();
    let p = path.to_string();
    match res {
        Ok(g) => {
            fs.status = FileStatus::Generated;
            fs.input_tokens = g.record.input_tokens;
            fs.output_tokens = g.record.output_tokens;
            fs.lines = g.content.lines().count();
            env.bus.emit(Event::FileGenerated {
                path: p.clone(),
                lines: fs.lines,
                input_tokens: g.record.input_tokens,
                output_tokens: g.record.output_tokens,
                elapsed_ms: g.elapsed.as_millis() as u64,
                provider: g.record.provider.clone(),
            });
            if !g.scope_violations.is_empty() {
                env.bus.emit(Event::ScopeViolation { target: p, paths: g.scope_violations.clone() });
                out.scope.extend(g.scope_violations);
            }
            out.generated.insert(path.clone(), Some(g.content));
            true
        }
        Err(GenerateError::Broker(BrokerError::Cancelled)) => {
            fs.status = FileStatus::Skipped;
            fs.error = Some("cancelled".into());
            env.bus.emit(Event::FileSkipped { path: p, reason: "cancelled".into() });
            false
        }
        Err(e) => {
            let msg = e.to_string();
            fs.status = FileStatus::Failed;
            fs.error = Some(msg.clone());
            env.bus.emit(Event::FileFailed { path: p.clone(), error: msg.clone() });
            match e {
                GenerateError::Broker(_) => {
                    out.provider_error.get_or_insert(msg);
                }
                GenerateError::OutOfScope(paths) => {
                    env.bus.emit(Event::ScopeViolation { target: p.clone(), paths: paths.clone() });
                    out.scope.extend(paths);
                }
                _ => {}
            }
            out.failed.push(p);
            false
        }
    }
}
