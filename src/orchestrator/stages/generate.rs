//! The generate stage: one request per target through the DAG.
//!
//! Invariants:
//! - a target starts only when every file it depends on has been generated, so its context
//!   package carries their generated content; within that rule targets start in wave order
//!   (then path order), at most `concurrency` at a time — waves therefore overlap when a
//!   later wave's dependencies finish early;
//! - a target whose dependency failed is skipped, never generated against a missing input;
//! - a provider failure (the whole chain is down) cancels the requests in flight and starts
//!   no new ones; the user's cancel does the same;
//! - state.json is saved after every finished request;
//! - verify as you go ([`crate::codegen::best_of`]): with `[generate] candidates` > 1 or
//!   `[generate] autofix`, a target's candidates are autofixed and checked as they come and
//!   the best is kept before its dependents start, so their context holds the fixed version;
//!   every candidate, its checks and the choice go in the run log (a `check <path>` sub-step
//!   of `generate`) and an [`Event::FileChecked`]; the validate stage re-checks the whole.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::broker::{BrokerError, CallCtx, CallRecord, StreamDelta};
use crate::codegen::best_of::{self, Checked, SampleCtx, Verifier};
use crate::codegen::generate::{self, GenerateError, Generated};
use crate::context::{self, DependencyContent};
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, RunEnv, blocking};
use crate::orchestrator::summary::WaveTiming;
use crate::plan::{Action, Plan, PlannedFile};
use crate::runlog::StepEvent;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::task::state::{FileStatus, Stage};

/// One wave's progress, for its events and its run-log sub-step.
struct WaveProgress {
    files: Vec<String>,
    /// Calls made for the wave's files.
    records: Vec<CallRecord>,
    started: Option<Instant>,
    remaining: usize,
    ok: usize,
    bad: usize,
}

type Finished = (RelPath, Result<Generated, GenerateError>, Option<Checked>);

/// The scheduler's bookkeeping for one generate stage.
struct Scheduler {
    progress: Vec<WaveProgress>,
    /// Targets in start order: wave, then path.
    order: Vec<(usize, RelPath)>,
    /// Each target's 0-based wave and its index in the plan.
    index: BTreeMap<RelPath, (usize, usize)>,
    started: BTreeSet<RelPath>,
    /// Failed or skipped targets.
    dead: BTreeSet<RelPath>,
    set: JoinSet<Finished>,
    in_flight: usize,
    /// Cancels the requests in flight (the user's cancel, or the provider chain went down).
    cancel: CancellationToken,
    repo_summary: Arc<String>,
    /// Checks each target as it comes (`None`: one reply, taken as it is).
    verifier: Option<Arc<Verifier>>,
}

impl Scheduler {
    fn new(plan: &Plan, cancel: CancellationToken, repo_summary: Arc<String>, verifier: Option<Arc<Verifier>>) -> Self {
        let waves = &plan.waves;
        let pos: BTreeMap<&RelPath, usize> = plan.files.iter().enumerate().map(|(i, f)| (&f.path, i)).collect();
        let order: Vec<(usize, RelPath)> =
            waves.iter().enumerate().flat_map(|(i, w)| w.iter().map(move |p| (i, p.clone()))).collect();
        let index = order.iter().filter_map(|(w, p)| pos.get(p).map(|i| (p.clone(), (*w, *i)))).collect();
        let progress = waves
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
        Self {
            progress,
            order,
            index,
            started: BTreeSet::new(),
            dead: BTreeSet::new(),
            set: JoinSet::new(),
            in_flight: 0,
            cancel,
            repo_summary,
            verifier,
        }
    }
}

impl Run {
    /// Runs the generate stage over the plan's waves (see the module invariants); what it
    /// produced is in `self.generation`.
    ///
    /// # Errors
    /// The provider error (the chain went down) or the cancelled ending, and internal errors
    /// (a panicked task, an unreadable target); per-file failures are left for materialize.
    pub(crate) async fn generate(&mut self, repo_summary: Arc<String>) -> Result<(), Fail> {
        self.enter(Stage::Generate, "generate")?;
        let t = Instant::now();
        let verifier = self.verifier().await?;
        let mut s = Scheduler::new(&self.plan, self.env.cancel.child_token(), repo_summary, verifier);
        loop {
            self.start_ready(&mut s)?;
            let Some(joined) = s.set.join_next().await else { break };
            s.in_flight -= 1;
            let (path, res, checked) = joined.map_err(Fail::internal)?;
            self.on_finished(&mut s, &path, res, checked);
        }
        self.skip_unstarted(&s);
        self.summary.waves.sort_by_key(|w| w.wave);
        self.summary.generation_seconds = t.elapsed().as_secs_f64();
        self.save();
        if let Some(e) = self.generation.provider_error.clone() {
            return Err(Fail::failed(
                format!("provider error: {e}"),
                "check the provider (key, base URL, model) with `ai-tools providers`, then run codegen again",
            )
            .with_files(self.generation.failed.clone()));
        }
        if self.env.cancel.is_cancelled() {
            return Err(Fail::cancelled());
        }
        Ok(())
    }

    /// The stage's verifier ([`Verifier::for_plan`]), shared by its requests.
    async fn verifier(&self) -> Result<Option<Arc<Verifier>>, Fail> {
        let (repo, plan, st) = (self.env.repo.clone(), self.plan.clone(), self.env.settings.clone());
        let v = blocking(move || Verifier::for_plan(&repo, &plan, &st.generate_quality, &st.validate, &st.sandbox))
            .await?
            .map_err(|e| {
                Fail::failed(
                    format!("cannot set up the checks of generated files: {e}"),
                    "check disk space and permissions of the temp dir, or set `[generate] autofix = false`",
                )
            })?;
        Ok(v.map(Arc::new))
    }

    /// Starts, skips or completes every target that can move; repeats, since a delete or a
    /// skip can unblock others without any request finishing.
    fn start_ready(&mut self, s: &mut Scheduler) -> Result<(), Fail> {
        let mut changed = true;
        while changed && self.generation.provider_error.is_none() && !self.env.cancel.is_cancelled() {
            changed = false;
            for i in 0..s.order.len() {
                let (w, path) = s.order[i].clone();
                changed |= self.try_start(s, w, &path)?;
            }
        }
        Ok(())
    }

    /// Moves `path` (in 0-based wave `w`) if it can; `true` when it did.
    fn try_start(&mut self, s: &mut Scheduler, w: usize, path: &RelPath) -> Result<bool, Fail> {
        if s.started.contains(path) || s.dead.contains(path) {
            return Ok(false);
        }
        let plan = self.plan.clone();
        let Some(entry) = s.index.get(path).map(|(_, i)| &plan.files[*i]) else { return Ok(false) };
        if entry.depends_on.iter().any(|d| s.dead.contains(d)) {
            s.dead.insert(path.clone());
            self.set_status(path, FileStatus::Skipped, Some("skipped: a file it depends on failed"));
            self.env
                .bus
                .emit(Event::FileSkipped { path: path.to_string(), reason: "a file it depends on failed".into() });
            self.finish_one(&mut s.progress[w], w, false);
            return Ok(true);
        }
        if !entry.depends_on.iter().all(|d| self.generation.generated.contains_key(d)) {
            return Ok(false);
        }
        if entry.action == Action::Delete {
            s.started.insert(path.clone());
            self.wave_started(&mut s.progress[w], w);
            self.generation.generated.insert(path.clone(), None);
            self.set_status(path, FileStatus::Generated, None);
            self.finish_one(&mut s.progress[w], w, true);
            return Ok(true);
        }
        if s.in_flight >= self.env.settings.concurrency.max(1) {
            return Ok(false);
        }
        s.started.insert(path.clone());
        self.wave_started(&mut s.progress[w], w);
        self.set_status(path, FileStatus::Generating, None);
        let pkg = self.package(entry, &s.repo_summary)?;
        spawn_request(s, &self.env, &plan, path.clone(), w + 1, pkg);
        s.in_flight += 1;
        Ok(true)
    }

    fn set_status(&mut self, path: &RelPath, status: FileStatus, error: Option<&str>) {
        if let Some(fs) = self.state.files.get_mut(path.as_str()) {
            fs.status = status;
            if let Some(e) = error {
                fs.error = Some(e.to_owned());
            }
        }
    }

    /// Files one finished request: state, events, the calls' records under their waves.
    fn on_finished(
        &mut self,
        s: &mut Scheduler,
        path: &RelPath,
        res: Result<Generated, GenerateError>,
        checked: Option<Checked>,
    ) {
        let w = s.index.get(path).map_or(0, |(w, _)| *w);
        if let Some(c) = checked {
            self.note_checked(path, c, res.is_ok());
        }
        if let (Some(v), Ok(g)) = (&s.verifier, &res)
            && let Err(e) = v.overlay(path, &g.content)
        {
            self.env.bus.emit(Event::log("warn", format!("checks of files that depend on {path}: {e}")));
        }
        let ok = self.record(path, res);
        if !ok {
            s.dead.insert(path.clone());
            if self.generation.provider_error.is_some() {
                s.cancel.cancel();
            }
        }
        let records = self.env.broker.take_records();
        self.summary.add_calls(&records);
        // Records of requests still in flight may come along: file each under its own wave.
        for r in records {
            let wave = RelPath::new(&r.label).ok().and_then(|p| s.index.get(&p).map(|(w, _)| *w)).unwrap_or(w);
            s.progress[wave].records.push(r);
        }
        self.finish_one(&mut s.progress[w], w, ok);
        self.save();
    }

    /// Records a target's candidates and the choice: a `check <path>` sub-step of `generate` in
    /// the run log and, when a candidate was kept, an [`Event::FileChecked`].
    fn note_checked(&mut self, path: &RelPath, c: Checked, kept: bool) {
        if kept && let Some(best) = c.kept() {
            self.env.bus.emit(Event::FileChecked {
                path: path.to_string(),
                candidates: c.records.len(),
                kept: best.number,
                findings: best.findings,
                fixes: best.fixes.clone(),
                summary: c.summary(),
            });
        }
        let Some(r) = self.rec.as_mut() else { return };
        let mut step = StepEvent::start(format!("check {path}"), Some(Stage::Generate.as_str()));
        step.output_tokens = c.records.iter().map(|r| r.output_tokens).sum();
        step.candidates = c.records;
        step.finish();
        r.sub_step(step);
    }

    /// Whatever never started (the run stopped) is skipped.
    fn skip_unstarted(&mut self, s: &Scheduler) {
        for (_, path) in &s.order {
            if !s.started.contains(path) && !s.dead.contains(path) && self.state.files.contains_key(path.as_str()) {
                self.set_status(path, FileStatus::Skipped, Some("not started: the run stopped"));
                self.env
                    .bus
                    .emit(Event::FileSkipped { path: path.to_string(), reason: "the run stopped first".into() });
            }
        }
    }

    fn wave_started(&self, w: &mut WaveProgress, idx: usize) {
        if w.started.is_none() {
            w.started = Some(Instant::now());
            self.env.bus.emit(Event::WaveStarted { wave: idx + 1, files: w.files.clone() });
        }
    }

    /// Counts one target of wave `idx` as done; the wave's last one closes it (timing, event,
    /// run-log sub-step).
    fn finish_one(&mut self, w: &mut WaveProgress, idx: usize, ok: bool) {
        w.remaining = w.remaining.saturating_sub(1);
        if ok {
            w.ok += 1;
        } else {
            w.bad += 1;
        }
        if w.remaining > 0 {
            return;
        }
        let secs = w.started.map_or(std::time::Duration::ZERO, |s| s.elapsed());
        self.summary.waves.push(WaveTiming { wave: idx + 1, files: w.files.len(), seconds: secs.as_secs_f64() });
        self.env.bus.emit(Event::WaveFinished {
            wave: idx + 1,
            elapsed_ms: secs.as_millis() as u64,
            ok: w.ok,
            failed: w.bad,
        });
        let Some(r) = self.rec.as_mut() else { return };
        let mut step = StepEvent::start(format!("wave {}", idx + 1), Some(Stage::Generate.as_str()));
        step.start -= chrono::Duration::from_std(secs).unwrap_or_default();
        step.input_tokens = w.records.iter().map(|c| c.input_tokens).sum();
        step.output_tokens = w.records.iter().map(|c| c.output_tokens).sum();
        step.finish();
        r.sub_step(step);
    }

    /// Builds the context package for `entry` now that its dependencies are generated.
    fn package(&self, entry: &PlannedFile, repo_summary: &str) -> Result<context::ContextPackage, Fail> {
        let tree = SafeDir::new(&self.env.repo);
        let read = |p: &RelPath| -> Result<Option<String>, Fail> {
            tree.read(p)
                .map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .map_err(|e| Fail::failed(format!("cannot read {p}: {e}"), "check the file"))
        };
        let current = if entry.action == Action::Modify { read(&entry.path)? } else { None };
        let mut deps = Vec::new();
        for d in &entry.depends_on {
            let dep = match self.generation.generated.get(d) {
                Some(c) => {
                    DependencyContent { path: d.clone(), content: c.clone().unwrap_or_default(), generated: true }
                }
                None => DependencyContent { path: d.clone(), content: read(d)?.unwrap_or_default(), generated: false },
            };
            deps.push(dep);
        }
        let pkg = context::build(&self.plan, entry, repo_summary, current, deps, self.env.settings.context_budget);
        self.env.bus.emit(Event::ContextBuilt {
            path: entry.path.to_string(),
            tokens: pkg.tokens,
            truncated: pkg.truncated.iter().map(|t| t.part.clone()).collect(),
        });
        Ok(pkg)
    }

    /// Records one finished request in the state and events; `true` when it succeeded.
    fn record(&mut self, path: &RelPath, res: Result<Generated, GenerateError>) -> bool {
        let fs = self.state.files.entry(path.to_string()).or_default();
        let (p, out, bus) = (path.to_string(), &mut self.generation, &self.env.bus);
        match res {
            Ok(g) => {
                fs.status = FileStatus::Generated;
                fs.input_tokens = g.record.input_tokens;
                fs.output_tokens = g.record.output_tokens;
                fs.lines = g.content.lines().count();
                bus.emit(Event::FileGenerated {
                    path: p.clone(),
                    lines: fs.lines,
                    input_tokens: g.record.input_tokens,
                    output_tokens: g.record.output_tokens,
                    elapsed_ms: g.elapsed.as_millis() as u64,
                    provider: g.record.provider.clone(),
                });
                if !g.scope_violations.is_empty() {
                    bus.emit(Event::ScopeViolation { target: p, paths: g.scope_violations.clone() });
                    out.scope.extend(g.scope_violations);
                }
                out.generated.insert(path.clone(), Some(g.content));
                true
            }
            Err(GenerateError::Broker(BrokerError::Cancelled)) => {
                fs.status = FileStatus::Skipped;
                fs.error = Some("cancelled".into());
                bus.emit(Event::FileSkipped { path: p, reason: "cancelled".into() });
                false
            }
            Err(e) => {
                let msg = e.to_string();
                fs.status = FileStatus::Failed;
                fs.error = Some(msg.clone());
                bus.emit(Event::FileFailed { path: p.clone(), error: msg.clone() });
                match e {
                    GenerateError::Broker(_) => {
                        out.provider_error.get_or_insert(msg);
                    }
                    GenerateError::OutOfScope(paths) => {
                        bus.emit(Event::ScopeViolation { target: p.clone(), paths: paths.clone() });
                        out.scope.extend(paths);
                    }
                    _ => {}
                }
                out.failed.push(p);
                false
            }
        }
    }
}

/// Spawns the request for `path` (in 1-based `wave`) — through the verifier when there is one
/// — streaming its reply as events.
fn spawn_request(
    s: &mut Scheduler,
    env: &RunEnv,
    plan: &Arc<Plan>,
    path: RelPath,
    wave: usize,
    pkg: context::ContextPackage,
) {
    let (env, plan, cancel, verifier) = (env.clone(), plan.clone(), s.cancel.clone(), s.verifier.clone());
    s.set.spawn(async move {
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
        let (broker, prompts, settings) = (&env.broker, &env.prompts, &env.settings.generate);
        let (r, checked) = match &verifier {
            Some(v) => {
                let sx = SampleCtx { broker, prompts, settings, repo: &env.repo };
                best_of::sample(v, &sx, &plan, &pkg, &ctx).await
            }
            None => (generate::generate_file(broker, prompts, &plan, &pkg, settings, &ctx).await, None),
        };
        (path, r, checked)
    });
}
