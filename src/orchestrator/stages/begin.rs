//! The start of a fresh run: report a run that was killed, archive earlier outputs (only with
//! `--redo` when they are ready for review), then a new run id, a new state.json and run log,
//! and the run's announcement.

use chrono::Utc;

use crate::codegen::materialize;
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::runlog::{Recorder, RunLog, plan_hash};
use crate::task::state::{self, FileState, Phase, RunStatus, TaskState};

impl Run {
    /// Begins a fresh run (see the module docs); from here on the run writes.
    ///
    /// # Errors
    /// [`Fail::bad_input`] when ready outputs would be overwritten without `--redo`; a
    /// [`Fail`] when they cannot be archived.
    pub(crate) async fn begin(&mut self) -> Result<(), Fail> {
        if self.state.status == RunStatus::Running {
            // We hold the run lock, so no process is running it: it was killed mid-way.
            self.env.bus.emit(Event::log(
                "warn",
                format!(
                    "run {} did not finish (its process stopped); its state and outputs are kept in code/archive/",
                    self.state.run_id.as_deref().unwrap_or("?")
                ),
            ));
        }
        if materialize::has_outputs(&self.env.task) {
            self.archive_outputs().await?;
        }
        self.run_id = state::new_run_id();
        self.summary.run_id = self.run_id.clone();
        let mut st = TaskState {
            phase: Phase::Codegen,
            status: RunStatus::Running,
            run_id: Some(self.run_id.clone()),
            started_at: Some(Utc::now()),
            ..TaskState::default()
        };
        for (wi, wave) in self.waves.iter().enumerate() {
            for p in wave {
                let action = self.plan.entry(p).map(|e| e.action);
                st.files.insert(p.to_string(), FileState { action, wave: wi + 1, ..FileState::default() });
            }
        }
        self.state = st;
        self.began = true;
        let log = RunLog::new(self.run_id.clone(), plan_hash(&self.env.task));
        self.rec = Some(Recorder::new(&self.env.task.logs_dir(), log));
        self.announce_start();
        self.env.bus.emit(Event::plan_loaded(&self.plan, &self.waves));
        Ok(())
    }

    async fn archive_outputs(&mut self) -> Result<(), Fail> {
        let prev =
            self.state.run_id.clone().unwrap_or_else(|| format!("unknown-{}", Utc::now().format("%Y%m%d-%H%M%S")));
        if self.state.status == RunStatus::Ready && !self.opts.redo {
            return Err(Fail::bad_input(
                format!("code/ already holds the output of run {prev}, which is ready for review"),
                "review or accept it, or run `ai-tools codegen --redo` (`/redo codegen`) to archive it and start again",
            ));
        }
        let task = self.env.task.clone();
        let dir = blocking(move || materialize::archive(&task, &prev)).await?.map_err(|e| {
            Fail::failed(format!("cannot archive earlier outputs: {e}"), "check permissions on the task dir")
        })?;
        self.env.bus.emit(Event::Archived { dir });
        Ok(())
    }

    /// Starts the broker's bookkeeping for this run (fresh call records, transcripts under
    /// `logs/provider/<run_id>/`) and publishes the run's start.
    pub(crate) fn announce_start(&mut self) {
        let env = &self.env;
        env.broker.take_records();
        env.broker.set_transcript_dir(Some(env.task.logs_dir().join("provider").join(&self.run_id)));
        env.bus.emit(Event::RunStarted {
            run_id: self.run_id.clone(),
            task: env.task.root().to_path_buf(),
            repo: env.repo.clone(),
            providers: env.broker.chain(crate::broker::Role::Codegen),
            model: env.broker.primary(crate::broker::Role::Codegen).map(|p| p.model().to_owned()).unwrap_or_default(),
            files: self.plan.files.len(),
            waves: self.waves.len(),
        });
        env.bus.emit(Event::PhaseChanged { phase: Phase::Codegen });
    }
}
